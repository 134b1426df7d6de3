"""The condition trace: every condition of a rule with its actual value, threshold and verdict.

durable_rules says which rules fired, not why others did not. This module walks the same typed
tree that was compiled for durable_rules and reports each elementary condition (a comparison, a
flag, a quantifier, a negated definition) as a ``ConditionCheck``. Positive definitions are
opened up so that an explanation shows ``perCapitaNetIncome < incomeLine`` rather than
``lowIncome``. The flattening is planned once per tree; each evaluation only fills in values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from engine.results import ConditionCheck
from engine.tree import LazyTree, Names, Relabelled, reads, scope_of
from engine.values import Bindings, closure, fmt, is_money
from policy.cache import BoundedCache
from policy.conditions import ast as a
from policy.conditions.printer import unparse
from policy.exact import Number
from policy.schema import FACTS
from policy.semantics import COMPARISONS, NEGATED, QUANTIFIERS, UNKNOWN, Value


class Check(NamedTuple):
    check: ConditionCheck
    missing: tuple[str, ...]  # input facts whose absence left this check open


@dataclass(frozen=True)
class _Plan:
    """One elementary condition, with everything that does not depend on the facts."""

    node: a.Node
    negated: bool
    expression: str
    # (the atom's own value, actual, expected) for a scope and the members' ids
    detail: Callable[[Bindings, tuple[str, ...]], tuple[Value, str | None, str | None]]


_PLANS: BoundedCache[int, tuple[a.Node, list[_Plan]]] = BoundedCache(
    "engine.condition_plans", 2048)
Detail = tuple[Value, str | None, str | None]


def checks(node: a.Node, scope: Bindings, member_ids: tuple[str, ...] = ()) -> list[Check]:
    """The elementary conditions of ``node`` with their values in ``scope``."""
    out = []
    for plan in _plans(node):
        passed, actual, expected = plan.detail(scope, member_ids)
        if passed is UNKNOWN:
            out.append(Check(ConditionCheck(plan.expression, actual, expected, None),
                             missing_facts(plan.node, scope)))
        else:
            out.append(Check(ConditionCheck(plan.expression, actual, expected,
                                            passed is not plan.negated), ()))
    return out


def _plans(node: a.Node) -> list[_Plan]:
    hit = _PLANS.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    plans: list[_Plan] = []
    _flatten(node, False, plans)
    _PLANS.put(id(node), (node, plans))
    return plans


def _flatten(node: a.Node, negated: bool, out: list[_Plan]) -> None:
    match node:
        case a.And(operands=ops) | a.Or(operands=ops):
            for x in ops:
                _flatten(x, negated, out)
            return
        case a.Not(operand=o):
            _flatten(o, not negated, out)
            return
        case a.DefRef(body=body) if not negated:
            assert body is not None
            _flatten(body, negated, out)
            return
    out.append(_plan(node, negated))


def _plan(node: a.Node, negated: bool) -> _Plan:
    text = unparse(node)
    f_all = closure(node)
    if negated:
        wrapped = isinstance(node, a.FactRef | a.DefRef | a.Quantifier | a.Bool)
        expression = f"not {text}" if wrapped else f"not ({text})"
    else:
        expression = text
    detail: Callable[[Bindings, tuple[str, ...]], tuple[Value, str | None, str | None]]
    match node:
        case a.Compare(op=op, left=l, right=r):
            fl, fr = closure(l), closure(r)
            cmp = COMPARISONS[op]
            shown_op = NEGATED[op] if negated else op
            money = is_money(l) or is_money(r)

            def detail(s: Bindings, ids: tuple[str, ...]) -> Detail:
                lv, rv = fl(s), fr(s)
                shown = fmt(rv, money)
                return (cmp(lv, rv), fmt(lv, money),
                        f"{shown_op} {shown}" if shown is not None else None)

        case a.In(subject=subj, items=items, negated=neg):
            fs = closure(subj)
            fitems = [closure(x) for x in items]
            kw = "not in" if neg != negated else "in"
            money = is_money(subj)

            def detail(s: Bindings, ids: tuple[str, ...]) -> Detail:
                values = ", ".join(fmt(f(s), money) or "?" for f in fitems)
                return f_all(s), fmt(fs(s), money), f"{kw} {{{values}}}"

        case a.Between(subject=subj, low=lo, high=hi):
            fs, flo, fhi = closure(subj), closure(lo), closure(hi)
            prefix = "not " if negated else ""
            money = is_money(subj)

            def detail(s: Bindings, ids: tuple[str, ...]) -> Detail:
                return (f_all(s), fmt(fs(s), money),
                        f"{prefix}between {fmt(flo(s), money)} and {fmt(fhi(s), money)}")

        case a.Quantifier(kind=kind, body=b):
            fb = closure(b)
            want = kind == "any"
            quantify = QUANTIFIERS[kind]
            if kind == "any":
                expected = "no member" if negated else "at least one member"
            else:
                expected = "some member fails" if negated else "no member fails"

            def detail(s: Bindings, ids: tuple[str, ...]) -> Detail:
                # "any": the members that satisfy the body; "all": those that do not.
                results = [fb(Bindings(m, s.params)) for m in s.members]
                hits = [mid for mid, v in zip(ids, results, strict=True) if v is want]
                value = quantify(results)
                return value, (", ".join(hits) if hits else "none"), expected

        case _:
            f = closure(node)
            shown = "false" if negated else "true"

            def detail(s: Bindings, ids: tuple[str, ...]) -> Detail:
                v = f(s)
                return v, fmt(v), shown

    return _Plan(node, negated, expression, detail)


def missing_facts(node: a.Node, scope: Bindings) -> tuple[str, ...]:
    """The input facts, unknown in ``scope``, that ``node`` reads (definitions included)."""
    found: dict[str, None] = {}

    def visit(n: a.Node, s: Bindings) -> None:
        if isinstance(n, a.FactRef) and s.facts.get(n.name, UNKNOWN) is UNKNOWN:
            for src in FACTS[n.name].sources or (n.name,):
                found.setdefault(src, None)
        elif isinstance(n, a.DefRef) and n.body is not None:
            visit(n.body, s)
        elif isinstance(n, a.Quantifier):
            for m in s.members:
                visit(n.body, Bindings(m, s.params))
            return
        for c in a.children(n):
            visit(c, s)

    visit(node, scope)
    return tuple(found)


# --- memoised explanations --------------------------------------------------------------------
#
# A condition's verdict and checks depend only on the values of the facts it reads (and, for a
# household condition over members, on the members' values and ids). Many members and many
# households share those values (every non-student member reads the same for an education
# rule), so results are memoised by that key. The cache is bounded and cleared when full; it
# holds only values computed by the code above, so a hit and a miss give identical results.

class LazyChecks:
    """A condition's checks, computed when first read (from the values the memo keeps: those of
    the facts the condition reads, the parameters and the member ids, not the household)."""

    __slots__ = ("_args", "_found")

    def __init__(self, node: a.Node, outer: tuple[object, ...], inner: tuple[object, ...],
                 params: Mapping[str, Number], member_ids: tuple[str, ...],
                 names: Names | None = None):
        self._args = (node, outer, inner, params, member_ids, names)
        self._found: tuple[Check, ...] | None = None

    def get(self) -> tuple[Check, ...]:
        found = self._found
        if found is None:
            node, outer, inner, params, ids, names = self._args
            found = self._found = tuple(
                checks(node, scope_of(node, outer, inner, params, names), ids))
        return found

    def conditions(self) -> tuple[ConditionCheck, ...]:
        return tuple([c.check for c in self.get()])

    def missing(self) -> tuple[str, ...]:
        """The input facts whose absence left a check open, in order, once each."""
        return tuple(dict.fromkeys(f for c in self.get() for f in c.missing))


Traced = tuple[Value, LazyChecks, LazyTree | Relabelled]
# An entry keeps its node (the id in its key) and a hit checks it: a node whose tracer was
# evicted may be freed and its id reused. The explainer remembers outcomes by the identity of
# these traces (engine.explain), so an evicted trace that comes back is a new object and the
# outcomes decided from it are decided again: 60,000 entries hold what a stream of a few thousand
# never-seen households reads (about 10 new entries each; 20,000 evicted traces the outcome memo
# still kept alive, for about the same memory).
_MEMO: BoundedCache[tuple[object, ...], tuple[a.Node, Traced]] = BoundedCache(
    "engine.trace_memo", 60_000)


Tracer = Callable[[Bindings, tuple[str, ...]], Traced]
# A condition over members by its values and its members' values, whatever their ids: the
# trace made for some members' ids, and those ids. Members whose ids are never seen again (real
# households') get that trace's verdict and its tree with their own ids (``Relabelled``)
# instead of evaluating and building them again; their checks show ids and are made afresh.
_OVER_MEMBERS: BoundedCache[tuple[object, ...], tuple[a.Node, Traced, tuple[str, ...]]] = (
    BoundedCache("engine.trace_memo_over_members", 20_000))
_TRACERS: BoundedCache[int, tuple[a.Node, Tracer]] = BoundedCache(
    "engine.condition_tracers", 2048)


def tracer(node: a.Node) -> Tracer:
    """``explain_condition`` for one node, with what does not depend on the facts (the getters
    of the values it reads, its closure, its tree builder) bound once."""
    hit = _TRACERS.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    found_reads = reads(node)
    outer, inner = found_reads.outer, found_reads.inner
    names: Names = (found_reads.outer_names, found_reads.inner_names)
    node_id = id(node)
    verdict = closure(node)
    get, put = _MEMO.get, _MEMO.put
    get_over, put_over = _OVER_MEMBERS.get, _OVER_MEMBERS.put

    def trace(scope: Bindings, member_ids: tuple[str, ...] = ()) -> Traced:
        values: tuple[object, ...] = outer(scope.facts)
        if inner is None:
            members: tuple[object, ...] = ()
            full: tuple[object, ...] = (node_id, values)
        else:
            members = tuple([inner(m) for m in scope.members])
            full = (node_id, values, member_ids, members)
        found = get(full)
        if found is not None and found[0] is node:
            return found[1]
        params = scope.params
        if inner is not None:
            over = (node_id, values, members)
            other = get_over(over)
            if other is not None and other[0] is node and other[2] != member_ids:
                value, _, tree = other[1]
                result: Traced = (
                    value, LazyChecks(node, values, members, params, member_ids, names),
                    Relabelled(tree, dict(zip(other[2], member_ids, strict=True))))
                put(full, (node, result))
                return result
        value = verdict(scope)
        result = (value, LazyChecks(node, values, members, params, member_ids, names),
                  LazyTree(node, values, members, params, member_ids, names, value))
        put(full, (node, result))
        if inner is not None:
            put_over(over, (node, result, member_ids))
        return result

    _TRACERS.put(node_id, (node, trace))
    return trace


def explain_condition(
    node: a.Node, scope: Bindings, member_ids: tuple[str, ...] = ()
) -> Traced:
    """The condition's Kleene verdict, its checks and its tree, memoised by the values it reads
    (a derived fact's definition included)."""
    return tracer(node)(scope, member_ids)
