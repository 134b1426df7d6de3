"""The explanation tree: a condition as written, node by node, with values and decided marks.

Every ``and``, ``or``, ``not``, quantifier, comparison, fact, parameter, arithmetic and call of a
rule's condition becomes a ``ConditionNode`` with its text, its three-valued result and (for
comparisons) the actual value of each side. A rule-set definition (``eligibleStudent``) and a
derived fact with a definition in the fact schema (``perCapitaNetIncome``) have that definition
as their child, so a client can open them up; ``at_depth`` cuts derived facts' expansions to a
number of levels.

``decided`` marks the minimal set of nodes that justify the root's result: a true ``and`` needs
all its operands, a false one only the first false operand; an ``or`` the other way round; an
unknown ``and``/``or`` needs every operand (any other value of one of them could change it);
``any member`` is an ``or`` over the members, ``all members`` an ``and``. A decided comparison
needs its operands, a decided fact its definition. Nodes under an undecided node are undecided.

Each node's builder is made once per typed tree (like ``engine.values.closure``) and reads the
values through the same closures that decide the rules, so the tree cannot disagree with them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any, NamedTuple

from engine.results import ConditionNode
from engine.values import Bindings, closure, fmt, is_money
from policy.cache import BoundedCache
from policy.conditions import ast as a
from policy.conditions.printer import unparse
from policy.derived import definition
from policy.exact import Number
from policy.semantics import (
    COMPARISONS,
    MEMBER_SUM,
    QUANTIFIERS,
    UNKNOWN,
    VALUES,
    Value,
    arith,
    between,
    call,
    effective,
    k_and,
    k_not,
    k_or,
    member_of,
    negate,
)

# A tree is built in two steps. ``Eval`` reads a scope once and records every node's value
# (``Rec``: the value and what the node's children recorded); ``Make`` turns a record into nodes,
# told whether the node is decided (which needs the children's values, already recorded). Each
# node is evaluated once, whatever the depth of the tree.
Rec = tuple[Value, Any]
Eval = Callable[[Bindings], Rec]
Make = Callable[[Rec, tuple[str, ...], bool], ConditionNode]
Build = Callable[[Bindings, tuple[str, ...], bool], ConditionNode]
_BUILDERS: dict[int, tuple[a.Node, tuple[Eval, Make]]] = {}
_new = tuple.__new__  # ConditionNode's own constructor, without the keyword handling


def _node(expression: str, kind: str, result: bool | None, actual: str | None,
          expected: str | None, decided: bool, children: tuple[ConditionNode, ...],
          member_ids: tuple[str, ...] = ()) -> ConditionNode:
    return _new(ConditionNode, (expression, kind, result, actual, expected, decided,
                                member_ids, children))


_Getter = Callable[[Mapping[str, Value]], tuple[Value, ...]]


class Reads(NamedTuple):
    """The facts a node reads in its own scope and, if it quantifies over members, those each
    member's scope contributes (None when it does not), with getters of their values."""

    outer_names: tuple[str, ...]
    outer: _Getter
    inner_names: tuple[str, ...]
    inner: _Getter | None


_READS: BoundedCache[int, tuple[a.Node, Reads]] = BoundedCache("engine.condition_reads", 2048)


def _getter(names: tuple[str, ...]) -> _Getter:
    if not names:
        return lambda facts: ()
    if len(names) == 1:
        (name,) = names
        return lambda facts: (facts[name],)
    return itemgetter(*names)


def reads(node: a.Node) -> Reads:
    """What a node reads (a derived fact's definition and a rule-set definition included)."""
    hit = _READS.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    outer: dict[str, None] = {}
    inner: dict[str, None] = {}

    def visit(n: a.Node, inside: bool) -> None:
        if isinstance(n, a.FactRef):
            (inner if inside else outer).setdefault(n.name, None)
            # The tree shows a derived fact's definition: what it reads is read too.
            body = definition(n.name)
            if body is not None:
                visit(body, inside)
        elif isinstance(n, a.DefRef) and n.body is not None:
            visit(n.body, inside)
        elif isinstance(n, a.Quantifier):
            visit(n.body, True)
            return
        for c in a.children(n):
            visit(c, inside)

    visit(node, False)
    quantified = bool(inner) or any(isinstance(x, a.Quantifier) for x in a.walk(node))
    found = Reads(tuple(outer), _getter(tuple(outer)), tuple(inner),
                  _getter(tuple(inner)) if quantified else None)
    _READS.put(id(node), (node, found))
    return found


# Subtrees by the values they read: a rule-set definition, a derived fact's definition and a
# quantifier's body for one member recur across rules and households (every member with the
# same age and school stage has the same ``schoolAgeOutOfSchool``). Bounded; an entry holds only
# what the builders computed, so a hit and a miss give the same tree.
SUBTREE_LIMIT = 50_000
_SUBTREES: BoundedCache[tuple[int, bool, tuple[object, ...]], ConditionNode] = BoundedCache(
    "engine.condition_subtrees", SUBTREE_LIMIT)


def _memoised(node: a.Node, ev: Eval, mk: Make) -> tuple[Eval, Make]:
    """The node's steps with its nodes remembered by the values it reads. A subtree already
    remembered is not recorded: its value alone is read (through the engine's closure, which
    stops at the first operand that decides), for its parent."""
    _, outer, _, inner = reads(node)
    node_id = id(node)  # ``reads`` keeps the node alive in ``_READS``: the id stays its own
    whole = closure(node)

    def memo_ev(s: Bindings) -> Rec:
        if inner is None:  # the key does not depend on the member ids: look it up now
            key = outer(s.facts)
            if (node_id, True, key) in _SUBTREES or (node_id, False, key) in _SUBTREES:
                return whole(s), (None, s, key)
            r = ev(s)
            return r[0], (r, s, key)
        r = ev(s)
        return r[0], (r, s, None)

    def memo_mk(p: Rec, ids: tuple[str, ...], decided: bool) -> ConditionNode:
        r, s, key = p[1]
        if key is None:
            assert inner is not None
            key = (*outer(s.facts), ids, tuple(inner(m) for m in s.members))
        full = (node_id, decided, key)
        hit = _SUBTREES.get(full)
        if hit is None:
            hit = _SUBTREES.put(full, mk(ev(s) if r is None else r, ids, decided))
        return hit

    return memo_ev, memo_mk


def build(node: a.Node, scope: Bindings, member_ids: tuple[str, ...] = ()) -> ConditionNode:
    """The explanation tree of a typed condition in ``scope`` (the root is decided)."""
    return builder(node)(scope, member_ids, True)


class LazyTree:
    """A condition's tree, built when first read (most explanations are never read in full).

    It keeps only what the tree reads: the values of the facts it reads (the explanation memo's
    key), the parameters and the member ids, not the household."""

    __slots__ = ("_args", "_tree")

    def __init__(self, node: a.Node, outer: tuple[object, ...], inner: tuple[object, ...],
                 params: Mapping[str, Number], member_ids: tuple[str, ...]):
        self._args: tuple[a.Node, tuple[object, ...], tuple[object, ...],
                          Mapping[str, Number], tuple[str, ...]] | None = (
            node, outer, inner, params, member_ids)
        self._tree: ConditionNode | None = None

    def get(self) -> ConditionNode:
        tree = self._tree
        if tree is None:
            args = self._args
            if args is None:  # another thread built it meanwhile
                return self._tree  # type: ignore[return-value]
            node, outer, inner, params, ids = args
            tree = self._tree = build(node, scope_of(node, outer, inner, params), ids)
            self._args = None
        return tree


def scope_of(node: a.Node, outer: tuple[object, ...], inner: tuple[object, ...],
             params: Mapping[str, Number]) -> Bindings:
    """A scope holding only what ``node`` reads, from the values ``reads(node)`` got."""
    names = reads(node)
    facts: dict[str, Value] = dict(zip(names.outer_names, outer, strict=True))  # type: ignore[arg-type]
    members: list[dict[str, Value]] = [
        dict(zip(names.inner_names, values, strict=True))  # type: ignore[call-overload]
        for values in inner]
    return Bindings(facts, params, members)


class Ready:
    """A tree already built, read like a ``LazyTree``."""

    __slots__ = ("_tree",)

    def __init__(self, tree: ConditionNode):
        self._tree = tree

    def get(self) -> ConditionNode:
        return self._tree


class Superseded:
    """A rule's tree joined with the condition that no higher-priority rule of its group
    applies (``priority``), built when first read."""

    __slots__ = ("_args", "_tree")

    def __init__(self, inner: LazyTree | Ready | Superseded, group: str, applies: Value,
                 outcomes: str):
        self._args: tuple[LazyTree | Ready | Superseded, str, Value, str] | None = (
            inner, group, applies, outcomes)
        self._tree: ConditionNode | None = None

    def get(self) -> ConditionNode:
        tree = self._tree
        if tree is None:
            assert self._args is not None
            inner, group, applies, outcomes = self._args
            tree = self._tree = priority(inner.get(), group, applies, outcomes)
            self._args = None
        return tree


def builder(node: a.Node) -> Build:
    """The node's tree builder (cached by identity; the cache keeps the node alive so an id is
    never reused)."""
    ev, mk = _steps(node)

    def build_(s: Bindings, ids: tuple[str, ...], d: bool) -> ConditionNode:
        return mk(ev(s), ids, d)

    return build_


def _steps(node: a.Node) -> tuple[Eval, Make]:
    hit = _BUILDERS.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    made = _make(node)
    _BUILDERS[id(node)] = (node, made)
    return made


def _result(v: Value) -> bool | None:
    return v if isinstance(v, bool) else None


def _value(node: ConditionNode) -> Value:
    return UNKNOWN if node.result is None else node.result


def marks(kind: str, result: Value, values: Sequence[Value]) -> list[bool]:
    """Which operands of a node of ``kind`` with this result justify it (the node decided)."""
    if kind in ("AND", "ALL_MEMBERS") and result is False:
        first = next(i for i, v in enumerate(values) if v is False)
        return [i == first for i in range(len(values))]
    if kind in ("OR", "ANY_MEMBER") and result is True:
        first = next(i for i, v in enumerate(values) if v is True)
        return [i == first for i in range(len(values))]
    return [True] * len(values)


def _literal(node: a.Node) -> bool:
    return isinstance(node, a.Num | a.EnumLit | a.Bool)


def _shown(nodes: Sequence[a.Node]) -> list[int]:
    """A comparison's sides that have more to show than their value: the value itself is the
    comparison's ``actual`` or ``expected``, so an input fact, a parameter or a literal gets no
    node of its own; a derived fact (its definition), arithmetic or a call does."""
    return [i for i, x in enumerate(nodes)
            if not (_literal(x) or isinstance(x, a.ParamRef)
                    or (isinstance(x, a.FactRef) and definition(x.name) is None))]


def _make(node: a.Node) -> tuple[Eval, Make]:
    text = unparse(node)
    match node:
        case a.And(operands=ops) | a.Or(operands=ops):
            kind = "AND" if isinstance(node, a.And) else "OR"
            combine = k_and if kind == "AND" else k_or
            steps = [_steps(x) for x in ops]
            evs = [e for e, _ in steps]
            mks = [m for _, m in steps]
            undecided = [False] * len(steps)

            def junction_ev(s: Bindings) -> Rec:
                recs = [e(s) for e in evs]
                return combine([r[0] for r in recs]), recs

            def junction(r: Rec, ids: tuple[str, ...], d: bool) -> ConditionNode:
                res, recs = r
                flags = marks(kind, res, [x[0] for x in recs]) if d else undecided
                return _node(text, kind, _result(res), fmt(res), None, d,
                             tuple([m(x, ids, f) for m, x, f in zip(mks, recs, flags,
                                                                       strict=True)]))

            return junction_ev, junction
        case a.Not(operand=o):
            sub_ev, sub_mk = _steps(o)

            def not_ev(s: Bindings) -> Rec:
                r = sub_ev(s)
                return k_not(r[0]), r

            def not_(r: Rec, ids: tuple[str, ...], d: bool) -> ConditionNode:
                res, p = r
                return _node(text, "NOT", _result(res), fmt(res), None, d, (sub_mk(p, ids, d),))

            return not_ev, not_
        case a.Quantifier(kind=q, body=body):
            every = q == "all"
            kind = "ALL_MEMBERS" if every else "ANY_MEMBER"
            quantify = QUANTIFIERS[q]
            body_ev, body_mk = _memoised(body, *_steps(body))

            def quantifier_ev(s: Bindings) -> Rec:
                params = s.params
                recs = [body_ev(Bindings(m, params)) for m in s.members]
                return quantify([x[0] for x in recs]), recs

            def quantifier(r: Rec, ids: tuple[str, ...], d: bool) -> ConditionNode:
                res, recs = r
                vals = [x[0] for x in recs]
                flags = marks(kind, res, vals) if d else [False] * len(vals)
                kids = []
                for x, f, mid in zip(recs, flags, ids, strict=True):
                    k = body_mk(x, ids, f)
                    kids.append(_new(ConditionNode, (*k[:6], (mid,), k[7])))
                held = tuple(mid for mid, v in zip(ids, vals, strict=True) if v is True)
                return _node(text, kind, _result(res), fmt(res), None, d, tuple(kids), held)

            return quantifier_ev, quantifier
        case a.Compare(op=op, left=l, right=r):
            cmp = COMPARISONS[op]
            (lev, lmk), (rev, rmk) = _steps(l), _steps(r)
            shown = [(0, lmk), (1, rmk)]
            shown = [shown[i] for i in _shown((l, r))]
            money = is_money(l) or is_money(r)

            def compare_ev(s: Bindings) -> Rec:
                lr, rr = lev(s), rev(s)
                return cmp(lr[0], rr[0]), (lr, rr)

            def compare_(r: Rec, ids: tuple[str, ...], d: bool) -> ConditionNode:
                res, sides = r
                shown_r = fmt(sides[1][0], money)
                return _node(text, "COMPARE", _result(res), fmt(sides[0][0], money),
                             f"{op} {shown_r}" if shown_r is not None else None, d,
                             tuple([m(sides[i], ids, d) for i, m in shown]))

            return compare_ev, compare_
        case a.In(subject=subj, items=items, negated=negated):
            all_steps = [_steps(x) for x in (subj, *items)]
            evs = [e for e, _ in all_steps]
            shown = [(i, all_steps[i][1]) for i in _shown((subj, *items))]
            kw = "not in" if negated else "in"
            money_in = is_money(subj)

            def in_ev(s: Bindings) -> Rec:
                recs = [e(s) for e in evs]
                return member_of(recs[0][0], [x[0] for x in recs[1:]], negated), recs

            def in_(r: Rec, ids: tuple[str, ...], d: bool) -> ConditionNode:
                res, recs = r
                listed = ", ".join(fmt(x[0], money_in) or "?" for x in recs[1:])
                return _node(text, "IN", _result(res), fmt(recs[0][0], money_in),
                             f"{kw} {{{listed}}}", d,
                             tuple([m(recs[i], ids, d) for i, m in shown]))

            return in_ev, in_
        case a.Between(subject=subj, low=lo, high=hi):
            all_steps = [_steps(x) for x in (subj, lo, hi)]
            (sev, _), (loev, _), (hiev, _) = all_steps
            shown = [(i, all_steps[i][1]) for i in _shown((subj, lo, hi))]
            mb = is_money(subj)

            def between_ev(s: Bindings) -> Rec:
                recs = (sev(s), loev(s), hiev(s))
                return between(recs[0][0], recs[1][0], recs[2][0]), recs

            def between_(r: Rec, ids: tuple[str, ...], d: bool) -> ConditionNode:
                res, recs = r
                return _node(text, "BETWEEN", _result(res), fmt(recs[0][0], mb),
                             f"between {fmt(recs[1][0], mb) or '?'} and "
                             f"{fmt(recs[2][0], mb) or '?'}", d,
                             tuple([m(recs[i], ids, d) for i, m in shown]))

            return between_ev, between_
        case a.FactRef(name=name):
            body = definition(name)
            money_fact = is_money(node)
            if body is None:
                def fact_ev(s: Bindings) -> Rec:
                    return s.facts[name], None

                def fact(r: Rec, ids: tuple[str, ...], d: bool) -> ConditionNode:
                    v = r[0]
                    return _node(text, "FACT", _result(v), fmt(v, money_fact), None, d, ())

                return fact_ev, fact
            expand_ev, expand_mk = _memoised(body, *_steps(body))

            def derived_ev(s: Bindings) -> Rec:
                return s.facts[name], expand_ev(s)

            def derived(r: Rec, ids: tuple[str, ...], d: bool) -> ConditionNode:
                v, p = r
                return _node(text, "FACT", _result(v), fmt(v, money_fact), None, d,
                             (expand_mk(p, ids, d),))

            return derived_ev, derived
        case a.DefRef(name=name, body=body):
            assert body is not None
            inner_ev, inner_mk = _memoised(body, *_steps(body))

            def definition_(r: Rec, ids: tuple[str, ...], d: bool) -> ConditionNode:
                kid = inner_mk(r, ids, d)
                return _node(name, "DEFINITION", kid.result, kid.actual, None, d, (kid,))

            return inner_ev, definition_
        case a.ParamRef(name=name):
            def param_ev(s: Bindings) -> Rec:
                return s.params[name], None

            return param_ev, _leaf(text, "PARAMETER")
        case a.Num() | a.EnumLit() | a.Bool():
            const = closure(node)(Bindings({}, {}))
            constant: Rec = (const, None)

            def const_ev(s: Bindings) -> Rec:
                return constant

            return const_ev, _leaf(text, "CONSTANT")
    named = {a.Neg: "NEG", a.Arith: "ARITH", a.Call: "CALL"}.get(type(node))
    if named is None:
        raise TypeError(f"cannot explain {type(node).__name__}")
    computed_kind: str = named
    children = a.children(node)
    kid_steps = [_steps(x) for x in children]
    kid_evs = [e for e, _ in kid_steps]
    shown_kids = [(i, kid_steps[i][1]) for i, x in enumerate(children) if not _literal(x)]
    money_value = is_money(node)
    compute: Callable[[Bindings, list[Value]], Value]
    match node:
        case a.Neg():
            def compute(s: Bindings, vals: list[Value]) -> Value:
                return negate(vals[0])
        case a.Arith(op=op):
            def compute(s: Bindings, vals: list[Value]) -> Value:
                return arith(op, vals[0], vals[1])
        case a.Call(func=func) if func != MEMBER_SUM:
            def compute(s: Bindings, vals: list[Value]) -> Value:
                return call(func, vals)
        case _:
            whole = closure(node)

            def compute(s: Bindings, vals: list[Value]) -> Value:
                return whole(s)

    def computed_ev(s: Bindings) -> Rec:
        recs = [e(s) for e in kid_evs]
        return compute(s, [x[0] for x in recs]), recs

    def computed(r: Rec, ids: tuple[str, ...], d: bool) -> ConditionNode:
        v, recs = r
        return _node(text, computed_kind, _result(v), fmt(v, money_value), None, d,
                     tuple([m(recs[i], ids, d) for i, m in shown_kids]))

    return computed_ev, computed


def _leaf(text: str, kind: str) -> Make:
    def leaf(r: Rec, ids: tuple[str, ...], d: bool) -> ConditionNode:
        v = r[0]
        return _node(text, kind, _result(v), fmt(v), None, d, ())

    return leaf


def priority(tree: ConditionNode, group: str, applies: Value, outcomes: str) -> ConditionNode:
    """A rule's tree joined with the condition that no higher-priority rule of its exclusive
    group applies (whose verdict ``applies`` is, naming those rules' ``outcomes``); the marks
    are those of the joined tree."""
    clear = k_not(applies)
    guard = ConditionNode(f"no higher-priority rule of group {group} applies", "PRIORITY",
                          _result(clear), outcomes, "none", False, (), ())
    root_value = effective(VALUES, _value(tree), [applies])
    text = tree.expression if tree.kind not in ("OR",) else f"({tree.expression})"
    # The joined tree's marks: a tree built decided keeps its own marks when it stays decided
    # (they are a function of its values), so only a tree that no longer decides is re-marked.
    inner, outer = marks("AND", root_value, [_value(tree), clear])
    kept = tree if inner and tree.decided else remark(tree, inner)
    return ConditionNode(f"{text} and {guard.expression}", "AND", _result(root_value),
                         fmt(root_value), None, True, (), (kept, guard._replace(decided=outer)))


def remark(node: ConditionNode, decided: bool) -> ConditionNode:
    """The same tree with its decided marks computed afresh, the root ``decided``."""
    kids = node.children
    if not kids:
        return node if node.decided is decided else _new(
            ConditionNode, (*node[:5], decided, node.member_ids, kids))
    if decided and node.kind in ("AND", "OR", "ANY_MEMBER", "ALL_MEMBERS"):
        flags = marks(node.kind, _value(node), [_value(c) for c in kids])
    else:
        flags = [decided] * len(kids)
    return _new(ConditionNode, (*node[:5], decided, node.member_ids,
                                tuple([remark(c, f) for c, f in zip(kids, flags, strict=True)])))


def walk(node: ConditionNode) -> list[ConditionNode]:
    """Every node of the tree, parents before children."""
    out = [node]
    for c in node.children:
        out.extend(walk(c))
    return out
