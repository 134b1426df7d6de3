"""Compile a type-checked version into polars expressions (the vectorised backend).

The same typed trees that the interactive engine evaluates one household at a time
(``engine.values``) are turned into column expressions over two frames:

* the **household frame**, one row per household, with the household's facts (input and
  derived) as columns;
* the **member frame**, one row per member in household order, with the member's facts and the
  household facts that member-scope trees read, gathered from the household frame.

Unknown facts are nulls, and Kleene logic is polars' own: ``&``, ``|`` and ``~`` on nullable
booleans are three-valued (``false & null`` is false, ``true | null`` is true). Everything that
is not Kleene in polars is written out so that it gives what ``engine.values`` gives:

* numbers are exact, as in the engine (``policy.exact``, docs/decisions/0006-exact-numbers.md):
  a number expression compiles to a ``Rat``, an integer numerator column over a positive
  integer denominator (a constant or a column). Money columns are integer fen over 100,
  ``perCapitaNetIncome`` is fen over ``100 * householdSize``; sums, differences, products and
  quotients are integer arithmetic on numerators and denominators, and ``x < y`` compares
  ``x.num * y.den < y.num * x.den``. The largest value every step can reach is bounded at
  compile time from the facts' ranges: Int64 where that suffices, Int128 beyond, and a tree
  that could exceed Int128 is ``Unsupported``;
* a comparison or arithmetic with an unknown operand is unknown (null propagates);
* ``a / 0`` is unknown (``when(b == 0).then(null)``);
* ``min``/``max`` are unknown when any argument is;
* ``x in {..}`` is unknown only when ``x`` is; an unknown item is simply not equal;
* ``round`` is half up (a tie away from zero) on the exact value, in integers;
* an amount or term leaves as the double nearest its exact value, money rounded half up to
  the cent first (``policy.exact.result_number``);
* ``any member(..)`` / ``all members(..)`` become per-household Kleene OR / AND aggregations
  (``Quantifier`` columns the evaluator computes on the member frame first).

Constant sub-trees (literals, parameters, ``asOf``) are folded at compile time with the
meanings themselves (``policy.semantics.compare``, ``arith``, ``call``), so a folded value is
the value the interactive engine computes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from engine.batch.exact import RATIONAL_FACTS, Overflow, Rat, const_rat, fact_rat
from policy.catalog import VersionRef
from policy.conditions import ast as a
from policy.document import Program
from policy.exact import Number, result_number
from policy.schema import FACTS, Kind, Scope
from policy.semantics import UNKNOWN, Value, arith, call, compare, k_and, k_not, k_or, negate

# Input facts that may be unknown, and the derived facts that are unknown with them.
OPTIONAL_FACTS = tuple(name for name, f in FACTS.items() if f.optional)


class Unsupported(Exception):
    """A tree the vectorised backend does not compile (none of the shipped versions has one)."""


@dataclass(frozen=True)
class Const:
    """A compile-time constant: a number, truth value, date, enum value, or UNKNOWN."""

    value: Value


Compiled = Const | pl.Expr


def dtype_of(node: a.Node) -> pl.DataType:
    t = node.type
    if t is None:
        raise Unsupported(f"untyped node {type(node).__name__}")
    match t.kind:
        case Kind.NUMBER:
            return pl.Float64()
        case Kind.BOOL:
            return pl.Boolean()
        case Kind.DATE:
            return pl.Date()
        case _:
            return pl.String()


def lit(c: Const, dtype: pl.DataType) -> pl.Expr:
    if c.value is UNKNOWN:
        return pl.lit(None, dtype=dtype)
    value: Any = c.value
    if isinstance(dtype, pl.Float64) and not isinstance(value, bool):
        value = float(value)
    return pl.lit(value, dtype=dtype)


Num = Const | Rat


@dataclass(frozen=True)
class QuantifierColumn:
    """A household column computed from the member frame: Kleene OR (any) or AND (all) of a
    member-scope condition over the household's members."""

    name: str
    every: bool
    body: pl.Expr
    nullable: bool = True   # whether the condition can be unknown for a member


@dataclass
class _Sink:
    """Collects the quantifier columns a version's household trees need."""

    prefix: str
    quantifiers: list[QuantifierColumn] = field(default_factory=list)
    by_node: dict[int, str] = field(default_factory=dict)
    keep: list[a.Node] = field(default_factory=list)  # keeps ids valid


class _ColumnCompiler:
    def __init__(self, params: dict[str, Number], as_of: date, scope: Scope, sink: _Sink,
                 household_reads: set[str]):
        self.params = params
        self.as_of = as_of
        self.scope = scope
        self.sink = sink
        self.household_reads = household_reads  # household facts read in member scope

    def expr(self, node: a.Node) -> pl.Expr:
        c = self.compile(node)
        return lit(c, dtype_of(node)) if isinstance(c, Const) else c

    def number(self, node: a.Node, unit: str) -> pl.Expr:
        """A number tree (an amount or a term) as a Float64 column: the double nearest its
        exact value, money (``unit`` yuan...) rounded half up to the cent first."""
        c = self.num(node)
        if isinstance(c, Const):
            if c.value is UNKNOWN:
                return pl.lit(None, pl.Float64)
            return pl.lit(result_number(c.value, unit), pl.Float64)  # type: ignore[arg-type]
        if unit.startswith("yuan"):
            c = c.round_half_up(2)
        return c.to_float()

    def num(self, node: a.Node) -> Num:
        """A number tree, exactly: a constant or a ``Rat``."""
        match node:
            case a.FactRef(name=n, scope=fact_scope) if n in RATIONAL_FACTS:
                rat = fact_rat(n)
                if self.scope is Scope.MEMBER and fact_scope is Scope.HOUSEHOLD:
                    self.household_reads.update(rat.columns)
                return rat
            case a.DefRef(body=body):
                assert body is not None
                return self.num(body)
            case a.Neg(operand=o):
                c = self.num(o)
                if isinstance(c, Const):
                    return Const(negate(c.value))
                return c.neg()
            case a.Arith(op=op, left=left, right=right):
                return self._arith(op, self.num(left), self.num(right))
            case a.Call(func="min" | "max" as func, args=args):
                cs = [self.num(x) for x in args]
                if all(isinstance(c, Const) for c in cs):
                    return Const(call(func, [c.value for c in cs]))  # type: ignore[union-attr]
                if any(_unknown(c) for c in cs):
                    return Const(UNKNOWN)
                rats = [c if isinstance(c, Rat) else const_rat(c.value) for c in cs]  # type: ignore[arg-type]
                cur = rats[0]
                for r in rats[1:]:
                    cur = cur.pick(r, r.lt(cur) if func == "min" else cur.lt(r))
                return cur
            case a.Call(func="round", args=args):
                x = self.num(args[0])
                places_c = self.compile(args[1])
                assert isinstance(places_c, Const)
                if isinstance(x, Const):
                    return Const(call("round", [x.value, places_c.value]))
                return x.round_half_up(int(places_c.value))  # type: ignore[arg-type]
        other = self.compile(node)
        if isinstance(other, Const):
            return other
        raise Unsupported(f"a number tree the exact backend does not compile: {type(node)}")

    def compile(self, node: a.Node) -> Compiled:
        match node:
            case a.Num(value=v) | a.Bool(value=v):
                return Const(v)
            case a.EnumLit(name=n):
                return Const(n)
            case a.ParamRef(name=n):
                return Const(self.params[n])
            case a.FactRef(name=n, scope=fact_scope):
                if n == "asOf":
                    return Const(self.as_of)
                if self.scope is Scope.MEMBER and fact_scope is Scope.HOUSEHOLD:
                    self.household_reads.add(n)
                return pl.col(n)
            case a.DefRef(body=body):
                assert body is not None
                return self.compile(body)
            case a.Neg() | a.Arith() | a.Call(func="min" | "max" | "round"):
                folded = self.num(node)
                if isinstance(folded, Rat):
                    raise Unsupported("a number where a column is needed")
                return folded
            case a.Call(func=func, args=args):
                return self._call(func, args)
            case a.Compare(op=op, left=left, right=right) if _is_number(left):
                ln, rn = self.num(left), self.num(right)
                if isinstance(ln, Const) and isinstance(rn, Const):
                    return Const(compare(op, ln.value, rn.value))
                if _unknown(ln) or _unknown(rn):
                    return Const(UNKNOWN)
                lr = ln if isinstance(ln, Rat) else const_rat(ln.value)  # type: ignore[arg-type]
                rr = rn if isinstance(rn, Rat) else const_rat(rn.value)  # type: ignore[arg-type]
                return lr.compare(op, rr)
            case a.Compare(op=op, left=left, right=right):
                lc, rc = self.compile(left), self.compile(right)
                if isinstance(lc, Const) and isinstance(rc, Const):
                    return Const(compare(op, lc.value, rc.value))
                if _unknown(lc) or _unknown(rc):
                    return Const(UNKNOWN)
                le = lc if isinstance(lc, pl.Expr) else lit(lc, dtype_of(left))
                re = rc if isinstance(rc, pl.Expr) else lit(rc, dtype_of(right))
                return _COMPARE[op](le, re)
            case a.In(subject=subj, items=items, negated=negated):
                return self._in(subj, items, negated)
            case a.Between(subject=subj, low=lo, high=hi):
                low = self.compile(a.Compare(">=", subj, lo, type=node.type))
                high = self.compile(a.Compare("<=", subj, hi, type=node.type))
                return _and([low, high])
            case a.Not(operand=o):
                c = self.compile(o)
                return Const(k_not(c.value)) if isinstance(c, Const) else ~c
            case a.And(operands=ops):
                return _and([self.compile(x) for x in ops])
            case a.Or(operands=ops):
                return _or([self.compile(x) for x in ops])
            case a.Quantifier(kind=kind, body=body):
                return self._quantifier(node, kind, body)
        raise Unsupported(f"cannot compile {type(node).__name__}")

    def _arith(self, op: str, lc: Num, rc: Num) -> Num:
        if isinstance(lc, Const) and isinstance(rc, Const):
            return Const(arith(op, lc.value, rc.value))
        if _unknown(lc) or _unknown(rc):
            return Const(UNKNOWN)
        if op == "/" and isinstance(rc, Const) and rc.value == 0:
            return Const(UNKNOWN)
        lr = lc if isinstance(lc, Rat) else const_rat(lc.value)  # type: ignore[arg-type]
        rr = rc if isinstance(rc, Rat) else const_rat(rc.value)  # type: ignore[arg-type]
        match op:
            case "+":
                return lr.add(rr)
            case "-":
                return lr.sub(rr)
            case "*":
                return lr.mul(rr)
            case "/":
                return lr.div(rr)
        raise Unsupported(f"operator {op}")

    def _call(self, func: str, args: tuple[a.Node, ...]) -> Compiled:
        if func == "addMonths":
            d = self.compile(args[0])
            n = self.num(args[1])
            if isinstance(d, Const) and isinstance(n, Const):
                return Const(call("addMonths", [d.value, n.value]))
            if _unknown(d) or _unknown(n):
                return Const(UNKNOWN)
            de = d if isinstance(d, pl.Expr) else lit(d, pl.Date())
            months = (
                pl.lit(int(n.value), pl.Int64)  # type: ignore[arg-type]
                if isinstance(n, Const) else n.trunc()  # int() truncates towards zero
            )
            return _add_months(de, months)
        raise Unsupported(f"function {func}")

    def _in(self, subj: a.Node, items: tuple[a.Node, ...], negated: bool) -> Compiled:
        if _is_number(subj):
            return self._in_numbers(subj, items, negated)
        sc = self.compile(subj)
        ics = [self.compile(x) for x in items]
        if isinstance(sc, Const):
            if sc.value is UNKNOWN:
                return Const(UNKNOWN)
            if all(isinstance(c, Const) for c in ics):
                found = any(sc.value == c.value for c in ics)  # type: ignore[union-attr]
                return Const(not found if negated else found)
        se = sc if isinstance(sc, pl.Expr) else lit(sc, dtype_of(subj))
        consts = [c.value for c in ics if isinstance(c, Const) and c.value is not UNKNOWN]
        parts: list[pl.Expr] = []
        if consts and isinstance(dtype_of(subj), pl.Float64):
            # Numbers compare as Python compares them (-0.0 == 0.0), not by their bits.
            parts += [se == pl.lit(float(c), pl.Float64) for c in consts]  # type: ignore[arg-type]
        elif consts:
            parts.append(se.is_in(pl.Series(consts, dtype=dtype_of(subj)).implode()))
        for c in ics:
            if isinstance(c, pl.Expr):
                # An unknown item is not equal to anything (``v == UNKNOWN`` is False).
                parts.append((se == c).fill_null(False))
        found_e = pl.any_horizontal(parts) if parts else pl.lit(False)
        out = ~found_e if negated else found_e
        return pl.when(se.is_null()).then(pl.lit(None, pl.Boolean)).otherwise(out)

    def _in_numbers(self, subj: a.Node, items: tuple[a.Node, ...], negated: bool) -> Compiled:
        sn = self.num(subj)
        ins = [self.num(x) for x in items]
        if isinstance(sn, Const):
            if sn.value is UNKNOWN:
                return Const(UNKNOWN)
            if all(isinstance(c, Const) for c in ins):
                found = any(sn.value == c.value for c in ins)  # type: ignore[union-attr]
                return Const(not found if negated else found)
        sr = sn if isinstance(sn, Rat) else const_rat(sn.value)  # type: ignore[arg-type]
        parts: list[pl.Expr] = []
        for c in ins:
            if isinstance(c, Const) and c.value is UNKNOWN:
                continue  # an unknown item is not equal to anything
            r = c if isinstance(c, Rat) else const_rat(c.value)  # type: ignore[arg-type]
            parts.append(sr.compare("==", r).fill_null(False))
        found_e = pl.any_horizontal(parts) if parts else pl.lit(False)
        out = ~found_e if negated else found_e
        return pl.when(sr.is_null()).then(pl.lit(None, pl.Boolean)).otherwise(out)

    def _quantifier(self, node: a.Node, kind: str, body: a.Node) -> Compiled:
        if self.scope is Scope.MEMBER:
            raise Unsupported("a quantifier in member scope")
        name = self.sink.by_node.get(id(node))
        if name is not None:
            return pl.col(name)
        inner = _ColumnCompiler(self.params, self.as_of, Scope.MEMBER, self.sink,
                          self.household_reads)
        c = inner.compile(body)
        if isinstance(c, Const):
            # Every household has at least one member: any/all of a constant is the constant.
            return c
        every = kind == "all"
        # The same quantifier written again (another rule's copy of it) is one column.
        for q in self.sink.quantifiers:
            if q.every == every and q.body.meta.eq(c):
                self.sink.by_node[id(node)] = q.name
                self.sink.keep.append(node)
                return pl.col(q.name)
        name = f"{self.sink.prefix}q{len(self.sink.quantifiers)}"
        self.sink.quantifiers.append(QuantifierColumn(name, every, c, _can_be_unknown(body)))
        self.sink.by_node[id(node)] = name
        self.sink.keep.append(node)
        return pl.col(name)


def _is_number(node: a.Node) -> bool:
    return node.type is not None and node.type.kind is Kind.NUMBER


def _unknown(c: Compiled | Num) -> bool:
    return isinstance(c, Const) and c.value is UNKNOWN


def _and(parts: list[Compiled]) -> Compiled:
    consts = [c.value for c in parts if isinstance(c, Const)]
    exprs = [c for c in parts if isinstance(c, pl.Expr)]
    folded = k_and(consts) if consts else True
    if folded is False or not exprs:
        return Const(folded)
    out = exprs[0]
    for e in exprs[1:]:
        out = out & e
    return out & pl.lit(None, pl.Boolean) if folded is UNKNOWN else out


def _or(parts: list[Compiled]) -> Compiled:
    consts = [c.value for c in parts if isinstance(c, Const)]
    exprs = [c for c in parts if isinstance(c, pl.Expr)]
    folded = k_or(consts) if consts else False
    if folded is True or not exprs:
        return Const(folded)
    out = exprs[0]
    for e in exprs[1:]:
        out = out | e
    return out | pl.lit(None, pl.Boolean) if folded is UNKNOWN else out


_COMPARE: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "<": lambda x, y: x < y,
    "<=": lambda x, y: x <= y,
    ">": lambda x, y: x > y,
    ">=": lambda x, y: x >= y,
    "==": lambda x, y: x == y,
    "!=": lambda x, y: x != y,
}


def column_of(value: float) -> pl.Expr:
    """A constant as a full column. polars' kernels for a *scalar* operand take shortcuts that
    IEEE arithmetic (and so Python) does not: ``x / c`` is computed as ``x * (1 / c)``, and
    ``x + 0.0`` or ``x - 0.0`` return ``x`` unchanged (so ``-0.0 + 0.0`` stays ``-0.0``). With
    a column on both sides the elementwise kernel is plain IEEE."""
    base = pl.int_range(pl.len(), dtype=pl.UInt32).cast(pl.Float64)
    if value == 0:
        return base * value  # k * ±0.0 is ±0.0 for k >= 0: the zero keeps its sign
    return base * 0.0 + value


def _add_months(d: pl.Expr, months: pl.Expr) -> pl.Expr:
    """``policy.facts.add_months`` on columns: calendar months, clamped to the month's end."""
    index = d.dt.year().cast(pl.Int64) * 12 + d.dt.month().cast(pl.Int64) - 1 + months
    year = index.floordiv(12)
    month = index - year * 12 + 1
    first = pl.date(year, month, 1)
    last_day = first.dt.month_end().dt.day().cast(pl.Int64)
    day = pl.min_horizontal(d.dt.day().cast(pl.Int64), last_day)
    return pl.date(year, month, day)


def compile_definition(tree: a.Node, scope: Scope, household_reads: set[str]) -> Num | Compiled:
    """A derived fact's typed definition for the frames (``engine.batch.derived``): a number
    as a ``Rat`` (or a constant), anything else as a column expression. ``household_reads``
    gets the household facts a member definition reads."""
    sink = _Sink("_def_")
    comp = _ColumnCompiler({}, date.min, scope, sink, household_reads)
    out = comp.num(tree) if _is_number(tree) else comp.compile(tree)
    if sink.quantifiers:
        raise Unsupported("a derived fact defined by a quantifier")
    return out


# --- a version -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RulePlan:
    index: int
    rule_id: str
    per_member: bool
    condition: pl.Expr          # nullable boolean on the rule's frame
    amount: pl.Expr | None      # Float64 on the rule's frame
    period: str | None
    terms: tuple[tuple[str, pl.Expr, str], ...]
    terms_nullable: bool        # whether a term's value can be unknown
    flags_monitoring: bool
    higher: tuple[int, ...]     # rules above it in its exclusive group, by priority
    # For missing facts: per elementary condition (as the trace flattens it), its verdict and
    # the unknowable facts it reads (depth first), when the rule can be unknown at all.
    atoms: tuple[tuple[pl.Expr, tuple[str, ...]], ...]


@dataclass(frozen=True)
class CodePlan:
    code: str
    per_member: bool
    rules: tuple[int, ...]      # by (priority, index): the first true one grants


@dataclass(frozen=True)
class CompiledVersion:
    """One version's rules as polars expressions, with the columns they need."""

    program: Program
    ref: VersionRef
    prefix: str
    rules: tuple[RulePlan, ...]
    codes: tuple[CodePlan, ...]
    quantifiers: tuple[QuantifierColumn, ...]
    member_household_reads: frozenset[str]  # household facts the member frame must carry

    @property
    def code(self) -> str:
        return self.program.code

    def rule_column(self, i: int) -> str:
        return f"{self.prefix}r{i}"


def compile_version(program: Program, ref: VersionRef, as_of: date, prefix: str
                    ) -> CompiledVersion:
    """Compile every rule (condition, amount, terms) of a version for evaluation on ``as_of``.

    Raises ``Unsupported`` for a construct the vectorised backend does not handle."""
    import engine.batch.derived  # noqa: F401 - registers the derived facts' columns

    sink = _Sink(prefix)
    reads: set[str] = set()
    params = program.parameters
    rules = program.rules
    groups: dict[str, list[int]] = {}
    by_code: dict[str, list[int]] = {}
    for i, r in enumerate(rules):
        by_code.setdefault(r.spec.outcome, []).append(i)
        if r.spec.group is not None:
            groups.setdefault(r.spec.group, []).append(i)
    for members in groups.values():
        members.sort(key=lambda i: rules[i].spec.priority or 0)
    plans = []
    for i, r in enumerate(rules):
        per_member = r.scope is Scope.MEMBER
        comp = _ColumnCompiler(params, as_of, r.scope, sink, reads)
        try:
            cond = comp.expr(r.condition)
            amount = comp.number(r.amount, "yuan") if r.amount is not None else None
            terms = tuple((t.key, comp.number(t.expr, t.unit), t.unit) for t in r.terms)
        except Overflow as exc:
            raise Unsupported(f"rule {r.id}: {exc}") from exc
        higher: tuple[int, ...] = ()
        if r.spec.group is not None:
            order = groups[r.spec.group]
            higher = tuple(order[: order.index(i)])
            if any(rules[h].scope is not r.scope for h in higher):
                raise Unsupported(f"group {r.spec.group} mixes household and member rules")
        atoms = tuple(
            (comp.expr(node), facts)
            for node, facts in _atoms(r.condition)
        ) if _can_be_unknown(r.condition) else ()
        terms_nullable = any(_can_be_unknown(t.expr) for t in r.terms)
        plans.append(RulePlan(i, r.id, per_member, cond, amount, r.spec.period, terms,
                              terms_nullable, r.spec.flagsMonitoring, higher, atoms))
    codes = []
    for code, ids in by_code.items():
        ids.sort(key=lambda i: (rules[i].spec.priority or 0, i))
        codes.append(CodePlan(code, rules[ids[0]].scope is Scope.MEMBER, tuple(ids)))
    return CompiledVersion(program, ref, prefix, tuple(plans), tuple(codes),
                           tuple(sink.quantifiers), frozenset(reads))


# --- missing facts (as engine.trace computes them) ---------------------------------------------


def _atoms(node: a.Node) -> list[tuple[a.Node, tuple[str, ...]]]:
    """The elementary conditions ``engine.trace`` reports, each with the facts that may be
    unknown which it reads, in the order ``engine.trace.missing_facts`` visits them."""
    out: list[tuple[a.Node, tuple[str, ...]]] = []

    def flatten(n: a.Node, negated: bool) -> None:
        match n:
            case a.And(operands=ops) | a.Or(operands=ops):
                for x in ops:
                    flatten(x, negated)
                return
            case a.Not(operand=o):
                flatten(o, not negated)
                return
            case a.DefRef(body=body) if not negated:
                assert body is not None
                flatten(body, negated)
                return
        out.append((n, _unknowable_reads(n)))

    flatten(node, False)
    return out


def _unknowable_reads(node: a.Node) -> tuple[str, ...]:
    found: dict[str, None] = {}

    def visit(n: a.Node) -> None:
        if isinstance(n, a.FactRef) and n.name in OPTIONAL_FACTS:
            found.setdefault(n.name, None)
        elif isinstance(n, a.DefRef) and n.body is not None:
            visit(n.body)
        elif isinstance(n, a.Quantifier):
            visit(n.body)
            return
        for c in a.children(n):
            visit(c)

    visit(node)
    return tuple(found)


def _can_be_unknown(node: a.Node) -> bool:
    """Whether a tree can evaluate to UNKNOWN: it reads a fact that may be unknown or divides."""
    def visit(n: a.Node) -> bool:
        if isinstance(n, a.FactRef) and n.name in OPTIONAL_FACTS:
            return True
        if isinstance(n, a.Arith) and n.op == "/":
            return True
        if isinstance(n, a.DefRef) and n.body is not None:
            return visit(n.body)
        return any(visit(c) for c in a.children(n))

    return visit(node)


def fact_column(fact: str) -> str:
    """The frame column that is null where ``fact`` is unknown (a number's numerator)."""
    return fact_rat(fact).columns[0] if fact in RATIONAL_FACTS else fact


def source_facts(fact: str) -> tuple[str, ...]:
    """The input facts to name as missing when ``fact`` is unknown."""
    return FACTS[fact].sources or (fact,)
