"""Compile a type-checked version into a durable_rules ruleset.

Each rule becomes one durable_rules rule over a single fact (no joins): household rules match the
household fact (``t: "hh"``), member rules match member facts (``t: "m"``), which carry the
household's facts beside their own. Conditions are put in negation normal form so that a rule
fires exactly when its condition is *true* under Kleene logic: an unknown fact is left out of
the fact, and durable_rules never matches a comparison on a missing field.

A household condition quantified over members (``any member(...)``) compiles to an auxiliary
member rule; our code counts its firings per household and hands the verdict to the household
fact as a boolean field (``_q0``) before asserting it.

durable_rules' own arithmetic is not used: it raises SIGFPE on a zero divisor and treats a
missing operand as zero (both measured on 2.0.28). A comparison operand that is neither a fact
nor a constant is computed by ``engine.values`` and handed over as a field (``_v0``); constants
(literals and parameters) are folded at compile time. The comparison itself, the boolean
structure and the choice of rules stay with durable_rules.

A comparison of two fields also requires the right one to exist (``$ex``): durable_rules
matches ``a < $m.b`` when ``b`` is missing, though not when ``a`` is.

durable_rules compares doubles, and money is exact (``policy.exact``): ``11495.21`` and
``20000 / 3`` have no double. A numeric comparison is handed over as it is only when both sides
are exact in a double (whole-number facts such as ``age``, and constants a double holds);
otherwise ``L op R`` becomes ``L - R op 0``, with ``L - R`` computed exactly by
``engine.values`` and handed over as a double (``_v0``). Rounding a number to the nearest double
never changes its sign and never makes a non-zero number zero, so durable_rules' verdict is the
exact one (docs/decisions/0006-exact-numbers.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from engine.values import Bindings, evaluate
from policy.conditions import ast as a
from policy.document import Program
from policy.exact import exact_in_double, is_integral
from policy.schema import FACTS, NUMBER, Kind, Scope
from policy.semantics import FLIPPED, NEGATED, UNKNOWN, Value, compare

HOUSEHOLD_TAG = "hh"
MEMBER_TAG = "m"

_OPS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}


class _Const:
    """A compile-time constant (TRUE/FALSE markers for folded conditions)."""

    def __init__(self, value: bool):
        self.value = value


TRUE = _Const(True)
FALSE = _Const(False)


@dataclass(frozen=True)
class Quantified:
    field: str           # the household fact's boolean field, e.g. "_q0"
    rule: str            # the auxiliary member rule's name
    every: bool          # True: all members must fire; False: at least one


@dataclass
class CompiledRuleset:
    name: str
    definition: dict[str, Any]
    rule_index: dict[str, int]                 # durable rule name -> index in Program.rules
    household_lifts: list[tuple[str, a.Node]] = field(default_factory=list)
    member_lifts: list[tuple[str, a.Node]] = field(default_factory=list)
    quantifiers: list[Quantified] = field(default_factory=list)
    # The facts the conditions read, by the scope of the condition that reads them: a member
    # fact need carry only what member conditions read (household facts among them), a
    # household fact likewise.
    member_fields: set[str] = field(default_factory=set)
    household_fields: set[str] = field(default_factory=set)

    @property
    def has_member_rules(self) -> bool:
        return any(rule["all"][0]["m"].get("t") == MEMBER_TAG
                   or any(part.get("t") == MEMBER_TAG
                          for part in rule["all"][0]["m"].get("$and", []))
                   for rule in self.definition.values())


def encode(value: Value) -> Any:
    """A value as durable_rules sees it: dates as day numbers, whole numbers as integers, other
    numbers as the nearest double (only differences are handed over so, whose sign is exact)."""
    if isinstance(value, date):
        return value.toordinal()
    if isinstance(value, Decimal | Fraction):
        return int(value) if is_integral(value) else float(value)
    return value


class _RulesetCompiler:
    def __init__(self, program: Program, prefix: str = ""):
        self.program = program
        self.prefix = prefix
        self.params_scope = Bindings({}, program.parameters)
        self.out = CompiledRuleset(f"pe_{program.code}_{program.content_hash[:20]}", {}, {})
        self.lift_ids: dict[tuple[Scope, a.Node], str] = {}
        self.quant_ids: dict[tuple[a.Node, bool, bool], Quantified] = {}

    def compile(self) -> CompiledRuleset:
        for i, rule in enumerate(self.program.rules):
            tag = "h" if rule.scope is Scope.HOUSEHOLD else "m"
            name = f"{self.prefix}{tag}{i}"
            self.out.rule_index[name] = i
            expr = self.cond(rule.condition, rule.scope, negated=False)
            self.out.definition[name] = _rule(rule.scope, expr)
        return self.out

    def _reads(self, name: str, scope: Scope) -> None:
        (self.out.member_fields if scope is Scope.MEMBER else self.out.household_fields).add(name)

    # -- conditions --------------------------------------------------------------------

    def cond(self, node: a.Node, scope: Scope, negated: bool) -> Any:
        match node:
            case a.Bool(value=v):
                return TRUE if v != negated else FALSE
            case a.Not(operand=o):
                return self.cond(o, scope, not negated)
            case a.And(operands=ops) | a.Or(operands=ops):
                conj = isinstance(node, a.And) != negated
                return _junction(conj, [self.cond(x, scope, negated) for x in ops])
            case a.DefRef(body=body):
                assert body is not None
                return self.cond(body, scope, negated)
            case a.FactRef(name=n):
                self._reads(n, scope)
                return {n: not negated}
            case a.Quantifier(kind=kind, body=body):
                # not any(P) == all(not P); not all(P) == any(not P)
                every = (kind == "all") != negated
                body_negated = negated
                q = self.quantifier(body, body_negated, every)
                return {q.field: True}
            case a.Compare(op=op, left=l, right=r):
                return self.compare(NEGATED[op] if negated else op, l, r, scope)
            case a.In(items=items) if not all(map(_is_constant, items)):
                # An item that is a fact may be unknown, and an unknown item equals nothing
                # (policy.semantics.member_of), so ``x not in {y, 5}`` can hold without ``y``:
                # the membership is computed by the semantics and handed over as a field.
                _, name = self.operand(node, scope)
                return {name: not negated}
            case a.In(subject=s, items=items, negated=neg):
                inside = neg == negated  # True: the subject must equal one of the items
                parts = [self.compare("==" if inside else "!=", s, x, scope) for x in items]
                return _junction(not inside, parts)
            case a.Between(subject=s, low=lo, high=hi):
                if negated:
                    return _junction(False, [self.compare("<", s, lo, scope),
                                             self.compare(">", s, hi, scope)])
                return _junction(True, [self.compare(">=", s, lo, scope),
                                        self.compare("<=", s, hi, scope)])
        raise TypeError(f"cannot compile {type(node).__name__} as a condition")

    def quantifier(self, body: a.Node, body_negated: bool, every: bool) -> Quantified:
        key = (body, body_negated, every)
        if key not in self.quant_ids:
            k = len(self.quant_ids)
            q = Quantified(f"_{self.prefix}q{k}", f"{self.prefix}q{k}", every)
            self.quant_ids[key] = q
            self.out.quantifiers.append(q)
            self.out.definition[q.rule] = _rule(Scope.MEMBER,
                                                self.cond(body, Scope.MEMBER, body_negated))
        return self.quant_ids[key]

    def compare(self, op: str, left: a.Node, right: a.Node, scope: Scope) -> Any:
        if (_is_number(left) and not (_is_constant(left) and _is_constant(right))
                and not (self._exact_in_double(left) and self._exact_in_double(right))):
            # L op R as L - R op 0: the difference is exact, and so is the sign of its double.
            diff = a.Arith("-", left, right, type=NUMBER)
            _, name = self.operand(diff, scope)
            return {name: 0} if op == "==" else {_OPS[op]: {name: 0}}
        lk, lv = self.operand(left, scope)
        rk, rv = self.operand(right, scope)
        if lk == "const" and rk == "const":
            return TRUE if compare(op, lv, rv) is True else FALSE
        if lk == "const":
            lk, lv, rk, rv, op = rk, rv, lk, lv, FLIPPED[op]
        target = {"$m": rv} if rk == "field" else encode(rv)
        test = {lv: target} if op == "==" else {_OPS[op]: {lv: target}}
        if rk == "field":
            # durable_rules 2.0.28 matches ``a < $m.b`` when ``b`` is missing (measured; the
            # conformance table's ``addMonths(asOf, -12) < monitoredSince`` found it): an
            # unknown right side must be ruled out explicitly.
            return {"$and": [{"$ex": {rv: 1}}, test]}
        return test

    def _exact_in_double(self, node: a.Node) -> bool:
        """Whether every value of a number operand is exact in a double: a whole-number fact,
        or a constant a double holds."""
        if isinstance(node, a.FactRef):
            return FACTS[node.name].integer
        if _is_constant(node):
            value = evaluate(node, self.params_scope)
            return value is not UNKNOWN and exact_in_double(value)  # type: ignore[arg-type]
        return False

    def operand(self, node: a.Node, scope: Scope) -> tuple[str, Any]:
        if isinstance(node, a.FactRef):
            self._reads(node.name, scope)
            return "field", node.name
        if _is_constant(node):
            value = evaluate(node, self.params_scope)
            if value is UNKNOWN:
                raise ValueError("a constant expression has no value (division by zero?)")
            return "const", value
        key = (scope, node)
        if key not in self.lift_ids:
            lifts = self.out.member_lifts if scope is Scope.MEMBER else self.out.household_lifts
            name = f"_{self.prefix}v{len(self.lift_ids)}"
            self.lift_ids[key] = name
            lifts.append((name, node))
        return "field", self.lift_ids[key]


def _is_number(node: a.Node) -> bool:
    return node.type is not None and node.type.kind is Kind.NUMBER


def _is_constant(node: a.Node) -> bool:
    if isinstance(node, a.FactRef | a.DefRef | a.Quantifier):
        return False
    return all(_is_constant(c) for c in a.children(node))


def _junction(conj: bool, parts: list[Any]) -> Any:
    """``$and`` (conj) or ``$or`` of parts, folding constant parts away."""
    neutral, absorbing = (TRUE, FALSE) if conj else (FALSE, TRUE)
    if any(p is absorbing for p in parts):
        return absorbing
    kept = [p for p in parts if p is not neutral]
    if not kept:
        return neutral
    if len(kept) == 1:
        return kept[0]
    return {"$and" if conj else "$or": kept}


def _rule(scope: Scope, expr: Any) -> dict[str, Any]:
    tag = {"t": MEMBER_TAG if scope is Scope.MEMBER else HOUSEHOLD_TAG}
    if expr is TRUE:
        match: dict[str, Any] = tag
    elif expr is FALSE:
        match = {"t": "never"}  # a condition that can never hold still needs a valid rule
    else:
        match = {"$and": [tag, expr]}
    return {"all": [{"m": match}]}


def compile_program(program: Program, prefix: str = "") -> CompiledRuleset:
    """Compile a version; the result is deterministic for a given content hash. ``prefix``
    keeps rule and field names apart when several versions share one ruleset."""
    return _RulesetCompiler(program, prefix).compile()
