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
from typing import NamedTuple

from engine.results import ConditionNode
from engine.values import Bindings, closure, fmt, is_money
from policy.cache import BoundedCache
from policy.conditions import ast as a
from policy.conditions.printer import unparse
from policy.derived import definition
from policy.exact import Number
from policy.semantics import (
    COMPARISONS,
    QUANTIFIERS,
    UNKNOWN,
    VALUES,
    Value,
    effective,
    k_and,
    k_not,
    k_or,
)

# A builder makes a node, told whether it is decided; it marks its children from their values
# (read through the engine's closures, which cost far less than building a node twice).
Build = Callable[[Bindings, tuple[str, ...], bool], ConditionNode]
_BUILDERS: dict[int, tuple[a.Node, Build]] = {}
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
_SUBTREES: dict[tuple[int, bool, tuple[object, ...]], ConditionNode] = {}


def _memoised(node: a.Node, make: Build) -> Build:
    _, outer, _, inner = reads(node)
    node_id = id(node)  # ``reads`` keeps the node alive in ``_READS``: the id stays its own

    def memo(s: Bindings, ids: tuple[str, ...], decided: bool) -> ConditionNode:
        key: tuple[object, ...] = outer(s.facts)
        if inner is not None:
            key += (ids, tuple(inner(m) for m in s.members))
        full = (node_id, decided, key)
        hit = _SUBTREES.get(full)
        if hit is None:
            hit = make(s, ids, decided)
            if len(_SUBTREES) >= SUBTREE_LIMIT:
                _SUBTREES.clear()
            _SUBTREES[full] = hit
        return hit

    return memo


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
            assert self._args is not None
            node, outer, inner, params, ids = self._args
            names = reads(node)
            facts: dict[str, Value] = dict(zip(names.outer_names, outer, strict=True))  # type: ignore[arg-type]
            members: list[dict[str, Value]] = [
                dict(zip(names.inner_names, values, strict=True))  # type: ignore[call-overload]
                for values in inner]
            tree = self._tree = build(node, Bindings(facts, params, members), ids)
            self._args = None
        return tree


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
    """The node's tree builder, made once per node (cached by identity; the cache keeps the
    node alive so an id is never reused)."""
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


def _operands(nodes: Sequence[a.Node]) -> list[Build]:
    # Literal operands are shown in the parent's ``expected``; they get no node of their own.
    return [builder(x) for x in nodes if not _literal(x)]


def _sides(nodes: Sequence[a.Node]) -> list[Build]:
    """A comparison's sides that have more to show than their value: the value itself is the
    comparison's ``actual`` or ``expected``, so an input fact, a parameter or a literal gets no
    node of its own; a derived fact (its definition), arithmetic or a call does."""
    return [builder(x) for x in nodes
            if not (_literal(x) or isinstance(x, a.ParamRef)
                    or (isinstance(x, a.FactRef) and definition(x.name) is None))]


def _make(node: a.Node) -> Build:
    text = unparse(node)
    value = closure(node)
    match node:
        case a.And(operands=ops) | a.Or(operands=ops):
            kind = "AND" if isinstance(node, a.And) else "OR"
            combine = k_and if kind == "AND" else k_or
            fvals = [closure(x) for x in ops]
            subs = [builder(x) for x in ops]
            undecided = [False] * len(subs)

            def junction(s: Bindings, ids: tuple[str, ...], d: bool) -> ConditionNode:
                vals = [f(s) for f in fvals]
                res = combine(vals)
                flags = marks(kind, res, vals) if d else undecided
                return _node(text, kind, _result(res), fmt(res), None, d,
                             tuple([b(s, ids, f) for b, f in zip(subs, flags, strict=True)]))

            return junction
        case a.Not(operand=o):
            sub = builder(o)

            def not_(s: Bindings, ids: tuple[str, ...], d: bool) -> ConditionNode:
                res = value(s)
                return _node(text, "NOT", _result(res), fmt(res), None, d, (sub(s, ids, d),))

            return not_
        case a.Quantifier(kind=q, body=body):
            every = q == "all"
            kind = "ALL_MEMBERS" if every else "ANY_MEMBER"
            fb = closure(body)
            quantify = QUANTIFIERS[q]
            sub = _memoised(body, builder(body))

            def quantifier(s: Bindings, ids: tuple[str, ...], d: bool) -> ConditionNode:
                scopes = [Bindings(m, s.params) for m in s.members]
                vals = [fb(x) for x in scopes]
                res = quantify(vals)
                flags = marks(kind, res, vals) if d else [False] * len(vals)
                kids = []
                for x, f, mid in zip(scopes, flags, ids, strict=True):
                    k = sub(x, ids, f)
                    kids.append(_new(ConditionNode, (*k[:6], (mid,), k[7])))
                held = tuple(mid for mid, v in zip(ids, vals, strict=True) if v is True)
                return _node(text, kind, _result(res), fmt(res), None, d, tuple(kids), held)

            return quantifier
        case a.Compare(op=op, left=l, right=r):
            fl, fr = closure(l), closure(r)
            cmp = COMPARISONS[op]
            subs = _sides((l, r))

            money = is_money(l) or is_money(r)

            def compare_(s: Bindings, ids: tuple[str, ...], d: bool) -> ConditionNode:
                lv, rv = fl(s), fr(s)
                shown = fmt(rv, money)
                return _node(text, "COMPARE", _result(cmp(lv, rv)), fmt(lv, money),
                             f"{op} {shown}" if shown is not None else None, d,
                             tuple([b(s, ids, d) for b in subs]))

            return compare_
        case a.In(subject=subj, items=items, negated=negated):
            fs = closure(subj)
            fitems = [closure(x) for x in items]
            subs = _sides((subj, *items))
            kw = "not in" if negated else "in"
            money_in = is_money(subj)

            def in_(s: Bindings, ids: tuple[str, ...], d: bool) -> ConditionNode:
                shown = ", ".join(fmt(f(s), money_in) or "?" for f in fitems)
                return _node(text, "IN", _result(value(s)), fmt(fs(s), money_in),
                             f"{kw} {{{shown}}}", d,
                             tuple([b(s, ids, d) for b in subs]))

            return in_
        case a.Between(subject=subj, low=lo, high=hi):
            fs, flo, fhi = closure(subj), closure(lo), closure(hi)
            subs = _sides((subj, lo, hi))
            mb = is_money(subj)

            def between(s: Bindings, ids: tuple[str, ...], d: bool) -> ConditionNode:
                return _node(text, "BETWEEN", _result(value(s)), fmt(fs(s), mb),
                             f"between {fmt(flo(s), mb) or '?'} and {fmt(fhi(s), mb) or '?'}", d,
                             tuple([b(s, ids, d) for b in subs]))

            return between
        case a.FactRef(name=name):
            body = definition(name)
            money_fact = is_money(node)
            if body is None:
                def fact(s: Bindings, ids: tuple[str, ...], d: bool) -> ConditionNode:
                    v = s.facts[name]
                    return _node(text, "FACT", _result(v), fmt(v, money_fact), None, d, ())

                return fact
            expand = _memoised(body, builder(body))

            def derived(s: Bindings, ids: tuple[str, ...], d: bool) -> ConditionNode:
                v = s.facts[name]
                return _node(text, "FACT", _result(v), fmt(v, money_fact), None, d,
                             (expand(s, ids, d),))

            return derived
        case a.DefRef(name=name, body=body):
            assert body is not None
            inner = _memoised(body, builder(body))

            def definition_(s: Bindings, ids: tuple[str, ...], d: bool) -> ConditionNode:
                kid = inner(s, ids, d)
                return _node(name, "DEFINITION", kid.result, kid.actual, None, d, (kid,))

            return definition_
        case a.ParamRef():
            return _leaf(text, "PARAMETER", value)
        case a.Num() | a.EnumLit() | a.Bool():
            return _leaf(text, "CONSTANT", value)
    named = {a.Neg: "NEG", a.Arith: "ARITH", a.Call: "CALL"}.get(type(node))
    if named is None:
        raise TypeError(f"cannot explain {type(node).__name__}")
    computed_kind: str = named
    subs = _operands(a.children(node))
    money_value = is_money(node)

    def computed(s: Bindings, ids: tuple[str, ...], d: bool) -> ConditionNode:
        v = value(s)
        return _node(text, computed_kind, _result(v), fmt(v, money_value), None, d,
                     tuple([b(s, ids, d) for b in subs]))

    return computed


def _leaf(text: str, kind: str, value: Callable[[Bindings], Value]) -> Build:
    def leaf(s: Bindings, ids: tuple[str, ...], d: bool) -> ConditionNode:
        v = value(s)
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
    joined = ConditionNode(f"{text} and {guard.expression}", "AND", _result(root_value),
                           fmt(root_value), None, True, (), (tree, guard))
    return remark(joined, True)


def remark(node: ConditionNode, decided: bool) -> ConditionNode:
    """The same tree with its decided marks computed afresh, the root ``decided``."""
    kids = node.children
    if not kids:
        return node._replace(decided=decided)
    if decided and node.kind in ("AND", "OR", "ANY_MEMBER", "ALL_MEMBERS"):
        flags = marks(node.kind, _value(node), [_value(c) for c in kids])
    else:
        flags = [decided] * len(kids)
    return node._replace(decided=decided,
                         children=tuple(remark(c, f) for c, f in zip(kids, flags, strict=True)))


def walk(node: ConditionNode) -> list[ConditionNode]:
    """Every node of the tree, parents before children."""
    out = [node]
    for c in node.children:
        out.extend(walk(c))
    return out
