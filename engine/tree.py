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

A condition's builder is Python source written for it once and compiled (``builder``); it
computes every value with the functions of ``policy.semantics`` that the engine's closures use,
so the tree cannot disagree with them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import is_not, itemgetter
from typing import Any, Generic, NamedTuple, TypeVar

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

Build = Callable[[Bindings, tuple[str, ...], bool], ConditionNode]
_BUILDERS: dict[int, tuple[a.Node, Build]] = {}
_new = tuple.__new__  # ConditionNode's own constructor, without the keyword handling


Said = tuple[tuple[str, str, str, bool], ...]


def _node(expression: str, kind: str, result: bool | None, actual: str | None,
          expected: str | None, decided: bool, children: tuple[ConditionNode, ...],
          member_ids: tuple[str, ...] = (), names: Said = ()) -> ConditionNode:
    return _new(ConditionNode, (expression, kind, result, actual, expected, decided,
                                member_ids, children, names))


def names_of(node: a.Node) -> Said:
    """The rule set's parameters and definitions that ``node``'s expression names, with their
    words (``ConditionNode.names``): those with a label, once each, in the order written (a
    definition's body is its own node's expression, not this one's)."""
    found: dict[str, tuple[str, str, str, bool]] = {}
    for n in a.walk(node):  # a definition's body is not among its children
        if isinstance(n, a.ParamRef | a.DefRef) and n.label is not None:
            found.setdefault(n.name, (n.name, *n.label))
    return tuple(found.values())


_Getter = Callable[[Mapping[str, Value]], tuple[Value, ...]]


class Reads(NamedTuple):
    """The facts a node reads in its own scope and, if it quantifies over members, those each
    member's scope contributes (None when it does not), with getters of their values."""

    outer_names: tuple[str, ...]
    outer: _Getter
    inner_names: tuple[str, ...]
    inner: _Getter | None


# The names of the facts a node reads in its own scope and in each member's (``Reads``').
Names = tuple[tuple[str, ...], tuple[str, ...]]
_READS: BoundedCache[int, tuple[a.Node, Reads]] = BoundedCache("engine.condition_reads", 2048)


def getter(names: tuple[str, ...]) -> _Getter:
    """A function giving the values of these facts, in this order, as a tuple."""
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
    found = Reads(tuple(outer), getter(tuple(outer)), tuple(inner),
                  getter(tuple(inner)) if quantified else None)
    _READS.put(id(node), (node, found))
    return found


# Nodes by the values they read: a fact's or a parameter's node (by its value), a derived fact's
# node with its definition, a rule-set definition's node and a quantifier's body for one member
# (by the member's id as well) recur across rules and households (every member with the same
# age and school stage has the same ``schoolAgeOutOfSchool``). Bounded; an entry holds only what
# the builders computed from the values in its key, so a hit and a miss give the same tree.
SUBTREE_LIMIT = 50_000
_SUBTREES: BoundedCache[tuple[object, ...], ConditionNode] = BoundedCache(
    "engine.condition_subtrees", SUBTREE_LIMIT)


def build(node: a.Node, scope: Bindings, member_ids: tuple[str, ...] = ()) -> ConditionNode:
    """The explanation tree of a typed condition in ``scope`` (the root is decided)."""
    return builder(node)(scope, member_ids, True)


_Args = TypeVar("_Args")


class _Lazy(Generic[_Args]):
    """A tree built from ``_args`` when first read (``_build``), which are dropped then."""

    __slots__ = ("_args", "_tree")

    _args: _Args | None
    _tree: ConditionNode | None

    def get(self) -> ConditionNode:
        tree = self._tree
        if tree is None:
            args = self._args
            if args is None:  # another thread built it meanwhile
                return self._tree  # type: ignore[return-value]
            tree = self._tree = self._build(args)
            self._args = None
        return tree

    def _build(self, args: _Args) -> ConditionNode:
        raise NotImplementedError


_TreeArgs = tuple[a.Node, tuple[object, ...], tuple[object, ...], Mapping[str, Number],
                  tuple[str, ...], Names | None]


class LazyTree(_Lazy[_TreeArgs]):
    """A condition's tree, built when first read (most explanations are never read in full).

    It keeps only what the tree reads: the values of the facts it reads (the explanation memo's
    key), the parameters and the member ids, not the household."""

    __slots__ = ("_verdict",)

    def __init__(self, node: a.Node, outer: tuple[object, ...], inner: tuple[object, ...],
                 params: Mapping[str, Number], member_ids: tuple[str, ...],
                 names: Names | None = None, verdict: Value | None = None):
        self._args = (node, outer, inner, params, member_ids, names)
        self._tree = None
        # The condition's value, when the caller has it (the trace computed it): ``joined``
        # does not compute it again.
        self._verdict = verdict

    def _build(self, args: _TreeArgs) -> ConditionNode:
        node, outer, inner, params, ids, names = args
        return builder(node)(scope_of(node, outer, inner, params, names), ids, True)

    def joined(self, applies: Value) -> ConditionNode | None:
        """The tree as ``priority`` joins it with a guard whose rules' verdict is ``applies``:
        decided when it still decides the joined condition, built undecided otherwise (rather
        than built decided and re-marked). None when it is already built."""
        args = self._args
        if self._tree is not None or args is None:
            return None
        node, outer, inner, params, ids, names = args
        scope = scope_of(node, outer, inner, params, names)
        own = self._verdict
        if own is None:
            own = closure(node)(scope)
        clear = k_not(applies)
        keep = marks("AND", k_and([own, clear]), [own, clear])[0]
        tree = builder(node)(scope, ids, keep)
        if keep:  # the tree ``get`` gives
            self._tree = tree
            self._args = None
        return tree


def scope_of(node: a.Node, outer: tuple[object, ...], inner: tuple[object, ...],
             params: Mapping[str, Number], names: Names | None = None) -> Bindings:
    """A scope holding only what ``node`` reads, from the values ``reads(node)`` got (``names``:
    the names of ``reads(node)``, when the caller has them)."""
    if names is None:
        found = reads(node)
        names = found.outer_names, found.inner_names
    outer_names, inner_names = names
    facts: dict[str, Value] = dict(zip(outer_names, outer, strict=True))  # type: ignore[arg-type]
    if not inner:
        return Bindings(facts, params)
    members: list[dict[str, Value]] = [
        dict(zip(inner_names, values, strict=True))  # type: ignore[call-overload]
        for values in inner]
    return Bindings(facts, params, members)


class Ready:
    """A tree already built, read like a ``LazyTree``."""

    __slots__ = ("_tree",)

    def __init__(self, tree: ConditionNode):
        self._tree = tree

    def get(self) -> ConditionNode:
        return self._tree


class Relabelled(_Lazy[tuple["LazyTree | Relabelled", Mapping[str, str]]]):
    """The tree of a condition over members, read from the tree of the same condition with the
    same values for members whose ids were others (``ids``: theirs -> these): the member ids it
    shows are the only part of a tree that depends on them. Built when first read."""

    __slots__ = ()

    def __init__(self, other: LazyTree | Relabelled, ids: Mapping[str, str]):
        self._args = (other, ids)
        self._tree = None

    def _build(self, args: tuple[LazyTree | Relabelled, Mapping[str, str]]) -> ConditionNode:
        other, ids = args
        return relabel(other.get(), ids)


def relabel(node: ConditionNode, ids: Mapping[str, str]) -> ConditionNode:
    """The same tree with each member id shown replaced as ``ids`` says (nodes without one
    below them are the same objects)."""
    kids = node[7]
    shown = node[6]
    if not kids:  # most nodes: a leaf without a member id is itself
        if not shown:
            return node
        return _new(ConditionNode, (*node[:6], tuple([ids[i] for i in shown]), kids, node[8]))
    # A leaf without a member id (most children) is itself: not a call each.
    made = [c if not (c[7] or c[6]) else relabel(c, ids) for c in kids]
    if shown:
        return _new(ConditionNode, (*node[:6], tuple([ids[i] for i in shown]), tuple(made),
                                    node[8]))
    if any(map(is_not, made, kids)):
        return _new(ConditionNode, (*node[:6], shown, tuple(made), node[8]))
    return node


class Superseded(_Lazy[tuple["LazyTree | Ready | Superseded | Relabelled", str, Value, str,
                             Said]]):
    """A rule's tree joined with the condition that no higher-priority rule of its group
    applies (``priority``), built when first read."""

    __slots__ = ()

    def __init__(self, inner: LazyTree | Ready | Superseded | Relabelled, group: str,
                 applies: Value, outcomes: str, titles: Said = ()):
        self._args = (inner, group, applies, outcomes, titles)
        self._tree = None

    def _build(self, args: tuple[LazyTree | Ready | Superseded | Relabelled, str, Value, str,
                                 Said]) -> ConditionNode:
        inner, group, applies, outcomes, titles = args
        made = inner.joined(applies) if isinstance(inner, LazyTree) else None
        if made is not None:
            return priority(made, group, applies, outcomes, marked=True, titles=titles)
        return priority(inner.get(), group, applies, outcomes, titles=titles)


def builder(node: a.Node) -> Build:
    """The node's tree builder: Python source written for this condition and compiled once
    (cached by identity; the cache keeps the node alive so an id is never reused)."""
    hit = _BUILDERS.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    made = _Writer().function(node)
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


Member = Callable[[Mapping[str, Value], Mapping[str, Number], tuple[str, ...], bool, str],
                 ConditionNode]


# A quantifier's body for one member, by (the body's node id, decided, the values it reads): the
# body's tree, from which each member's node is made with the member's id. Apart from
# ``_SUBTREES``, so that bodies do not take the place of others there. A member's node itself is
# made afresh each time, not remembered by the member's id: real persons' ids seldom recur, and
# nodes kept for them only fed the collector.
_MEMBER_BODIES: BoundedCache[tuple[object, ...], ConditionNode] = BoundedCache(
    "engine.member_bodies", 10_000)


def _memo(node: a.Node, make: Build) -> Member:
    """A quantifier's body as one member's node (``make``'s tree with that member's id),
    the body's tree remembered by the values ``node`` reads."""
    _, outer, _, inner = reads(node)
    node_id = id(node)  # the closure keeps ``node`` alive: the id stays its own
    get, put = _MEMBER_BODIES.get, _MEMBER_BODIES.put

    def member(facts: Mapping[str, Value], params: Mapping[str, Number],
               ids: tuple[str, ...], d: bool, mid: str) -> ConditionNode:
        key = (node_id, d, outer(facts) if inner is None else (*outer(facts), ids, ()))
        tree = get(key)
        if tree is None:
            tree = put(key, make(Bindings(facts, params), ids, d))
        return _new(ConditionNode, (*tree[:6], (mid,), tree[7], tree[8]))

    return member


_MARKS: dict[tuple[str, str, object], object] = {}


def _mark(kind: str, name: str, label: object = None) -> object:
    """An object standing for the leaves of one fact or parameter (with its label: its words)
    in ``_SUBTREES``' keys (kept for good: its id stays its own)."""
    return _MARKS.setdefault((kind, name, label), object())


# How a tree is built. For each condition (and each quantifier's body, built per member) the
# builder is Python source written once and compiled: a first part computes the value of every
# node as a local variable (each distinct sub-expression once), a second part makes the nodes
# from those values, bottom-up, each told whether it is decided (a local computed from its
# parent's mark and the operands' values, as ``marks`` says). The remembered nodes (above) are
# looked up first; the values only a derived fact's definition shows are computed in the block
# that makes its node when it is not found, and a value's text once however many nodes show it.

_FALSE_DECIDES = {"AND": False, "ALL_MEMBERS": False, "OR": True, "ANY_MEMBER": True}


class _Writer:
    """Writes and compiles one scope's builder (``function``)."""

    def __init__(self) -> None:
        self.ns: dict[str, Any] = {
            "new": _new, "CN": ConditionNode, "fmt": fmt, "Bindings": Bindings,
            "SUBGET": _SUBTREES.get, "SUBPUT": _SUBTREES.put, "negate": negate,
            "arith": arith, "call": call, "member_of": member_of, "between": between,
            "k_not": k_not, "k_and": k_and, "k_or": k_or,
        }
        self.first: list[str] = []   # computing the values the nodes outside definitions need
        self.second: list[str] = []  # making the nodes
        # Where a value is computed (the first part, or a block that makes a definition's
        # tree when it is not remembered), at which indent, and the values computed there or
        # before it, by node.
        self.sink, self.indent = self.first, 1
        self.values: dict[object, str] = {}
        self.quantified: dict[int, str] = {}
        self.count = 0
        self.texts: dict[tuple[str, bool], str] = {}  # a value's text, once per value
        self.scoped = False  # the source reads the scope ``s`` itself (``memberSum``)

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def const(self, obj: object, prefix: str = "K") -> str:
        n = self.name(prefix)
        self.ns[n] = obj
        return n

    def function(self, node: a.Node) -> Build:
        self.ns["ROOT"] = node  # keeps the node (and the ids of its parts) alive
        self.value(node)
        root = self.node(node, "d", 1)
        source = "\n".join([
            "def build(s, ids, d):",
            "    F = s.facts",
            "    P = s.params",
            "    M = s.members",
            *[f"    {t} = None" for t in self.texts.values()],
            *self.first, *self.second,
            f"    return {root}",
            "",
        ])
        code = compile(source, f"<tree of {unparse(node)[:60]}>", "exec")
        exec(code, self.ns)
        made: Build = self.ns["build"]
        return made

    def member_value(self, node: a.Node) -> Callable[[Mapping[str, Value], Mapping[str, Number]],
                                               Value]:
        """The value of ``node`` in a member's scope (its facts, the parameters), as straight
        Python (a quantifier's body, evaluated for each member); ``closure``'s when it reads
        the scope itself."""
        root = self.value(node)
        if self.scoped:
            whole = closure(node)
            return lambda facts, params: whole(Bindings(facts, params))
        source = "\n".join(["def value(F, P):", "    M = ()", *self.first,
                            f"    return {root}", ""])
        exec(compile(source, f"<value of {unparse(node)[:60]}>", "exec"), self.ns)
        made: Callable[[Mapping[str, Value], Mapping[str, Number]], Value] = self.ns["value"]
        return made

    # --- the values ------------------------------------------------------------------------

    def value(self, node: a.Node) -> str:
        key: object
        match node:
            case a.FactRef(name=n):
                key = ("F", n)
            case a.ParamRef(name=n):
                key = ("P", n)
            case _:
                key = id(node)
        hit = self.values.get(key)
        if hit is None:
            hit = self.values[key] = self._value(node)
        return hit

    def let(self, expression: str) -> str:
        v = self.name("v")
        self.sink.append(f"{'    ' * self.indent}{v} = {expression}")
        return v

    def _value(self, node: a.Node) -> str:
        match node:
            case a.Num() | a.EnumLit() | a.Bool():
                return self.const(closure(node)(Bindings({}, {})))
            case a.FactRef(name=name):
                return self.let(f"F[{name!r}]")
            case a.ParamRef(name=name):
                return self.let(f"P[{name!r}]")
            case a.DefRef(body=body):
                assert body is not None
                return self.value(body)
            case a.And(operands=ops) | a.Or(operands=ops):
                combine = "k_and" if isinstance(node, a.And) else "k_or"
                return self.let(f"{combine}([{', '.join(self.value(x) for x in ops)}])")
            case a.Not(operand=o):
                return self.let(f"k_not({self.value(o)})")
            case a.Quantifier(kind=q, body=body):
                each = self.name("q")
                fb = self.const(_Writer().member_value(body), "FB")
                self.sink.append(f"{'    ' * self.indent}{each} = [{fb}(m, P) for m in M]")
                self.quantified[id(node)] = each
                return self.let(f"{self.const(QUANTIFIERS[q], 'QF')}({each})")
            case a.Compare(op=op, left=l, right=r):
                cmp = self.const(COMPARISONS[op], "CMP")
                return self.let(f"{cmp}({self.value(l)}, {self.value(r)})")
            case a.In(subject=subj, items=items, negated=negated):
                listed = ", ".join(self.value(x) for x in items)
                return self.let(f"member_of({self.value(subj)}, [{listed}], {negated})")
            case a.Between(subject=subj, low=lo, high=hi):
                return self.let(
                    f"between({self.value(subj)}, {self.value(lo)}, {self.value(hi)})")
            case a.Neg(operand=o):
                return self.let(f"negate({self.value(o)})")
            case a.Arith(op=op, left=l, right=r):
                return self.let(f"arith({op!r}, {self.value(l)}, {self.value(r)})")
            case a.Call(func=func, args=args):
                kids = [self.value(x) for x in args]
                if func == MEMBER_SUM:
                    self.scoped = True
                    return self.let(f"{self.const(closure(node), 'W')}(s)")
                return self.let(f"call({func!r}, [{', '.join(kids)}])")
        raise TypeError(f"cannot explain {type(node).__name__}")

    # --- the nodes -------------------------------------------------------------------------

    def emit(self, indent: int, line: str) -> None:
        self.second.append("    " * indent + line)

    def make(self, indent: int, text: str, kind: str, v: str, actual: str, expected: str,
             d: str, kids: Sequence[str], source: a.Node | None = None) -> str:
        """A node of ``source`` (whose names it carries with their words)."""
        n = self.name("n")
        children = f"({', '.join(kids)},)" if kids else "()"
        said = repr(names_of(source)) if source is not None else "()"
        self.emit(indent, f"{n} = new(CN, ({text}, {kind!r}, "
                          f"({v} if {v}.__class__ is bool else None), {actual}, {expected}, "
                          f"{d}, (), {children}, {said}))")
        return n

    @staticmethod
    def truth(v: str) -> str:
        return f"('true' if {v} is True else 'false' if {v} is False else fmt({v}))"

    def shown(self, v: str, money: bool) -> str:
        """``fmt`` of a value, computed once (the first time a node shows it)."""
        t = self.texts.get((v, money))
        if t is None:
            t = self.texts[(v, money)] = self.name("t")
        return f"({t} if {t} is not None else ({t} := fmt({v}{', True' if money else ''})))"

    def shown_or(self, node: a.Node, money: bool) -> str:
        """``fmt(value) or '?'`` as a Python expression (a literal's text once and for all)."""
        if _literal(node):
            return repr(fmt(closure(node)(Bindings({}, {})), money) or "?")
        return f"({self.shown(self.value(node), money)} or '?')"

    def node(self, node: a.Node, d: str, ind: int) -> str:
        text = repr(unparse(node))
        v = self.value(node)
        match node:
            case a.And() | a.Or() | a.Quantifier():
                return self.junction(node, v, d, ind)
            case a.Not(operand=o):
                kid = self.node(o, d, ind)
                return self.make(ind, text, "NOT", v, self.truth(v), "None", d, [kid], node)
            case a.Compare(op=op, left=l, right=r):
                money = is_money(l) or is_money(r)
                kids = [self.node((l, r)[i], d, ind) for i in _shown((l, r))]
                if _literal(r):
                    right = fmt(closure(r)(Bindings({}, {})), money)
                    expected = repr(f"{op} {right}") if right is not None else "None"
                else:
                    e = self.name("e")
                    self.emit(ind, f"{e} = {self.shown(self.value(r), money)}")
                    expected = f"({op!r} + ' ' + {e} if {e} is not None else None)"
                return self.make(ind, text, "COMPARE", v, self.shown(self.value(l), money),
                                 expected, d, kids, node)
            case a.In(subject=subj, items=items, negated=negated):
                money = is_money(subj)
                every = (subj, *items)
                kids = [self.node(every[i], d, ind) for i in _shown(every)]
                kw = "not in" if negated else "in"
                if all(_literal(x) for x in items):
                    listed = ", ".join(
                        fmt(closure(x)(Bindings({}, {})), money) or "?" for x in items)
                    expected = repr(f"{kw} {{{listed}}}")
                else:
                    parts = ", ".join(self.shown_or(x, money) for x in items)
                    expected = f"({kw!r} + ' {{' + ', '.join([{parts}]) + '}}')"
                return self.make(ind, text, "IN", v, self.shown(self.value(subj), money),
                                 expected, d, kids, node)
            case a.Between(subject=subj, low=lo, high=hi):
                money = is_money(subj)
                every = (subj, lo, hi)
                kids = [self.node(every[i], d, ind) for i in _shown(every)]
                expected = (f"('between ' + {self.shown_or(lo, money)} + ' and ' + "
                            f"{self.shown_or(hi, money)})")
                return self.make(ind, text, "BETWEEN", v, self.shown(self.value(subj), money),
                                 expected, d, kids, node)
            case a.FactRef(name=name):
                shown = self.shown(v, is_money(node))
                body = definition(name)
                if body is None:
                    return self.leaf(ind, "FACT", name, text, v, shown, d, None)
                expansion: a.Node = body

                def fact(i: int) -> str:
                    kid = self.node(expansion, d, i)
                    return self.make(i, text, "FACT", v, shown, "None", d, [kid])

                # Remembered by the values the definition reads and the fact's own.
                return self.remembered(body, d, ind, f"{v}, ", fact)
            case a.DefRef(name=name, body=body):
                assert body is not None
                inside: a.Node = body

                def definition_(i: int) -> str:
                    kid = self.node(inside, d, i)
                    n = self.name("n")
                    self.emit(i, f"{n} = new(CN, ({name!r}, 'DEFINITION', {kid}[2], {kid}[3], "
                                 f"None, {d}, (), ({kid},), {names_of(node)!r}))")
                    return n

                return self.remembered(body, d, ind, "", definition_)
            case a.ParamRef(name=name):
                return self.leaf(ind, "PARAMETER", name, text, v, self.shown(v, False), d, node)
            case a.Num() | a.EnumLit() | a.Bool():
                const = closure(node)(Bindings({}, {}))
                made = [_node(unparse(node), "CONSTANT", _result(const), fmt(const), None,
                              decided, ()) for decided in (True, False)]
                yes, no = self.const(made[0], "C"), self.const(made[1], "C")
                n = self.name("n")
                self.emit(ind, f"{n} = {yes} if {d} else {no}")
                return n
        kind = {a.Neg: "NEG", a.Arith: "ARITH", a.Call: "CALL"}[type(node)]
        kids = [self.node(x, d, ind) for x in a.children(node) if not _literal(x)]
        return self.make(ind, text, kind, v, self.shown(v, is_money(node)), "None", d, kids,
                         node)

    def junction(self, node: a.Node, v: str, d: str, ind: int) -> str:
        """An ``and``, ``or`` or quantifier: the operands' marks from their values."""
        text = repr(unparse(node))
        if isinstance(node, a.Quantifier):
            kind = "ALL_MEMBERS" if node.kind == "all" else "ANY_MEMBER"
        else:
            kind = "AND" if isinstance(node, a.And) else "OR"
        x = _FALSE_DECIDES[kind]
        first = self.name("f")
        if isinstance(node, a.Quantifier):
            each = self.quantified[id(node)]
            body = self.const(_memo(node.body, _Writer().function(node.body)), "BODY")
            found, held = self.name("c"), self.name("h")
            self.emit(ind, f"{first} = -1 if not ({d} and {v} is {x}) else "
                           f"next(i for i, x in enumerate({each}) if x is {x})")
            self.emit(ind, f"if {first} < 0:")
            self.emit(ind + 1, f"{found} = tuple([{body}(m, P, ids, {d}, mid) "
                               f"for m, mid in zip(M, ids, strict=True)])")
            self.emit(ind, "else:")
            self.emit(ind + 1, f"{found} = tuple([{body}(m, P, ids, {first} == j, mid) "
                               f"for j, (m, mid) in enumerate(zip(M, ids, strict=True))])")
            self.emit(ind, f"{held} = tuple([mid for mid, x in zip(ids, {each}, strict=True) "
                           f"if x is True])")
            n = self.name("n")
            self.emit(ind, f"{n} = new(CN, ({text}, {kind!r}, "
                           f"({v} if {v}.__class__ is bool else None), {self.truth(v)}, None, "
                           f"{d}, {held}, {found}, {names_of(node)!r}))")
            return n
        ops = node.operands  # type: ignore[attr-defined]
        vals = [self.value(o) for o in ops]
        chain = " ".join(f"{i} if {vals[i]} is {x} else" for i in range(len(ops) - 1))
        self.emit(ind, f"{first} = -1 if not ({d} and {v} is {x}) else {chain} {len(ops) - 1}")
        kids = []
        for i, o in enumerate(ops):
            flag = self.name("d")
            self.emit(ind, f"{flag} = {d} if {first} < 0 else {first} == {i}")
            kids.append(self.node(o, flag, ind))
        return self.make(ind, text, kind, v, self.truth(v), "None", d, kids, node)

    def leaf(self, ind: int, kind: str, name: str, text: str, v: str, shown: str,
             d: str, source: a.ParamRef | None) -> str:
        """A fact's or a parameter's node, remembered by its value (and whether it is a truth
        value: ``True == 1``) and, for a parameter (``source``), its words."""
        key, n = self.name("key"), self.name("n")
        mark = _mark(kind, name, None if source is None else source.label)
        self.emit(ind, f"{key} = ({id(mark)}, {d}, ({v}, {v}.__class__ is bool))")
        self.emit(ind, f"{n} = SUBGET({key})")
        self.emit(ind, f"if {n} is None:")
        made = self.make(ind + 1, text, kind, v, shown, "None", d, [], source)
        self.emit(ind + 1, f"{n} = SUBPUT({key}, {made})")
        return n

    def remembered(self, body: a.Node, d: str, ind: int, extra: str,
                   make: Callable[[int], str]) -> str:
        """A definition's node (``make``, at an indent), looked up by the values the definition
        reads (and ``extra``) and made when not found; the values only the definition's tree
        shows are computed there."""
        names = reads(body)
        self.const(body, "B")  # keeps the body alive: its id stays its own
        outer = "".join(f"F[{n!r}], " for n in names.outer_names) + extra
        key = self.name("key")
        if names.inner is None:
            self.emit(ind, f"{key} = ({id(body)}, {d}, ({outer}))")
        else:
            inner = "".join(f"m[{n!r}], " for n in names.inner_names)
            self.emit(ind, f"{key} = ({id(body)}, {d}, ({outer}ids, "
                           f"tuple([({inner}) for m in M])))")
        n = self.name("n")
        self.emit(ind, f"{n} = SUBGET({key})")
        self.emit(ind, f"if {n} is None:")
        outside = self.sink, self.indent, self.values
        self.sink, self.indent, self.values = self.second, ind + 1, dict(self.values)
        try:
            made = make(ind + 1)
        finally:
            self.sink, self.indent, self.values = outside
        self.emit(ind + 1, f"{n} = SUBPUT({key}, {made})")
        return n


def priority(tree: ConditionNode, group: str, applies: Value, outcomes: str,
             marked: bool = False, titles: Said = ()) -> ConditionNode:
    """A rule's tree joined with the condition that no higher-priority rule of its exclusive
    group applies (whose verdict ``applies`` is, naming those rules' ``outcomes``, with their
    ``titles`` as the guard's names); the marks are those of the joined tree (``marked``:
    ``tree`` was built with them already)."""
    clear = k_not(applies)
    guard_text = f"no higher-priority rule of group {group} applies"
    root_value = effective(VALUES, _value(tree), [applies])
    text = tree.expression if tree.kind not in ("OR",) else f"({tree.expression})"
    # The joined tree's marks: a tree built decided keeps its own marks when it stays decided
    # (they are a function of its values), so only a tree that no longer decides is re-marked.
    inner, outer = marks("AND", root_value, [_value(tree), clear])
    kept = tree if marked or (inner and tree.decided) else remark(tree, inner)
    guard = _node(guard_text, "PRIORITY", _result(clear), outcomes, "none", outer, (),
                  names=titles)
    return _node(f"{text} and {guard_text}", "AND", _result(root_value), fmt(root_value), None,
                 True, (kept, guard))


def remark(node: ConditionNode, decided: bool) -> ConditionNode:
    """The same tree with its decided marks computed afresh, the root ``decided``."""
    kids = node.children
    if not kids:
        return node if node.decided is decided else _new(
            ConditionNode, (*node[:5], decided, node.member_ids, kids, node.names))
    if decided and node.kind in ("AND", "OR", "ANY_MEMBER", "ALL_MEMBERS"):
        flags = marks(node.kind, _value(node), [_value(c) for c in kids])
    else:
        flags = [decided] * len(kids)
    return _new(ConditionNode, (*node[:5], decided, node.member_ids,
                                tuple([remark(c, f) for c, f in zip(kids, flags, strict=True)]),
                                node.names))


def walk(node: ConditionNode) -> list[ConditionNode]:
    """Every node of the tree, parents before children."""
    out = [node]
    for c in node.children:
        out.extend(walk(c))
    return out
