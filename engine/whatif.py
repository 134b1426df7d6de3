"""What would change the answer: the smallest single changes of one input fact that would grant
an outcome that is NOT_GRANTED or UNDETERMINED.

For each input fact the outcome's rules read (through rule-set definitions, derived facts'
definitions in the fact schema and sums over the members), the outcome's status is a piecewise
constant function of that fact, with steps where one of the rules' comparisons changes value.
Those steps are solved exactly: every number a comparison reads is, as a function of the fact,
``(a*x + b) / (c*x + d)`` in rational arithmetic (per-capita incomes, rigid expenses, drop
ratios), so each step is a fraction. The household is then evaluated again, through the
engine's own validation, derivation and condition closures, on the cent (or day) on each side
of every step and at the domain's ends; the cent values that grant form intervals, and the one
nearest the current value is the change reported ("granted if annualNetIncome < 18000.00").
Booleans are flipped and enums tried value by value the same way. A fact whose comparisons the
algebra cannot solve (a ``min``, ``max`` or ``round`` of it) is left out rather than guessed.
A fact the rules read that is unknown is reported as "decided once it is known: granted if ...".

Computed on request (the GraphQL field, the CLI), not with every determination: it evaluates the
household again for every candidate value. Results are remembered per determination.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, get_args

from engine.explain import _plan as explain_plan
from engine.results import Determination, FactChange, Outcome, Status
from engine.values import Bindings, closure
from engine.words import value_text
from policy import semantics
from policy.cache import BoundedCache
from policy.conditions import ast as a
from policy.derived import definition
from policy.document import Program
from policy.errors import FactsInvalid
from policy.exact import Number
from policy.fact_catalogue import CATALOGUE
from policy.facts import (
    MAX_MONEY,
    MONEY_FIELDS,
    FactSet,
    Household,
    Member,
    derive,
    parse_household,
)
from policy.schema import FACTS, Kind
from policy.schema import Scope as FactScope
from policy.semantics import UNKNOWN, VALUES, Value

# The input facts a caseworker may change, with their names for people (the fact catalogue's
# labels, Chinese): every fact conditions may name, except those the catalogue marks as not
# changeable (a date of birth, the region).
LABELS: dict[str, str] = {
    f.name: f.label.zh
    for scope in ("household", "member")
    for f in CATALOGUE.inputs(scope)
    if f.condition and f.changeable
}
_CENT = Fraction(1, 100)
_ONE_DAY = Fraction(1)


@dataclass(frozen=True)
class _Target:
    """One input fact of the household: a household fact (member None) or a member's."""

    name: str
    member: int | None

    def path(self) -> str:
        return self.name if self.member is None else f"members[{self.member}].{self.name}"


# --- the outcome's status, for a household changed in one fact --------------------------------


def _status(program: Program, code: str, facts: FactSet, member: int | None) -> Value:
    """Whether the outcome ``code`` (for ``member``) is granted: True, False or UNKNOWN, by the
    rules of its code, each superseded by a higher-priority rule of its group that applies."""
    plan = explain_plan(program)
    rules = program.rules
    params = program.parameters
    contexts = [facts.member_context(i) for i in range(len(facts.members))]
    scope = (Bindings(facts.household, params, contexts) if member is None
             else Bindings(contexts[member], params))
    verdicts: dict[int, Value] = {}

    def verdict(i: int) -> Value:
        if i not in verdicts:
            verdicts[i] = closure(rules[i].condition)(scope)
        return verdicts[i]

    for rule_ids, _per_member in plan.codes:
        if rules[rule_ids[0]].spec.outcome == code:
            return semantics.outcome(VALUES, [
                semantics.effective(VALUES, verdict(i), [verdict(h) for h in plan.higher[i]])
                for i in rule_ids])
    raise ValueError(f"no outcome {code} in {program.code}")


class _Household:
    """The household of a determination, evaluated again with one input fact changed (each
    changed household derived once, whatever the outcomes that ask about it)."""

    def __init__(self, household: Household, as_of: date):
        self.household = household
        self.as_of = as_of
        self.data = household.model_dump(exclude_unset=True)
        self.data.setdefault("members", [m.model_dump(exclude_unset=True)
                                         for m in household.members])
        self._facts: dict[tuple[_Target, object], FactSet | None] = {}

    def current(self, target: _Target) -> Any:
        if target.member is None:
            return getattr(self.household, target.name)
        return getattr(self.household.members[target.member], target.name)

    def changed(self, target: _Target, value: object) -> FactSet | None:
        key = (target, value)
        if key in self._facts:
            return self._facts[key]
        data = dict(self.data)
        if target.member is None:
            data[target.name] = value
        else:
            members = [dict(m) for m in data["members"]]
            members[target.member][target.name] = value
            data["members"] = members
        try:
            facts: FactSet | None = derive(parse_household(data, self.as_of), self.as_of)
        except FactsInvalid:
            facts = None  # not a household anyone could have: never suggested
        self._facts[key] = facts
        return facts


# --- which input facts an outcome reads -------------------------------------------------------


def _targets(program: Program, code: str, member: int | None, size: int) -> list[_Target]:
    plan = explain_plan(program)
    rules = program.rules
    found: dict[_Target, None] = {}

    def visit(node: a.Node, where: int | None) -> None:
        if isinstance(node, a.FactRef):
            fact = FACTS[node.name]
            body = definition(node.name)
            if body is not None:
                visit(body, where)
            elif fact.total_of:
                for j in range(size):
                    found.setdefault(_Target(fact.total_of, j), None)
            elif not fact.derived and node.name in LABELS:
                owner = where if fact.scope is FactScope.MEMBER else None
                found.setdefault(_Target(node.name, owner), None)
            return
        if isinstance(node, a.DefRef) and node.body is not None:
            visit(node.body, where)
            return
        if isinstance(node, a.Quantifier):
            for j in range(size):
                visit(node.body, j)
            return
        for c in a.children(node):
            visit(c, where)

    for rule_ids, _ in plan.codes:
        if rules[rule_ids[0]].spec.outcome != code:
            continue
        for i in rule_ids:
            for r in (i, *plan.higher[i]):
                visit(rules[r].condition, member)
    return list(found)


# --- exact steps of a numeric or date fact ----------------------------------------------------

# A value as a function of the fact x: (a*x + b) / (c*x + d), in fractions.
_LF = tuple[Fraction, Fraction, Fraction, Fraction]


class _Unsolvable(Exception):
    """A comparison depends on the fact in a way the algebra here does not solve."""


def _exact(v: Value) -> Fraction | None:
    if v is UNKNOWN or isinstance(v, bool | str):
        return None
    if isinstance(v, date):
        return Fraction(v.toordinal())
    if isinstance(v, float):
        return Fraction(repr(v))
    if isinstance(v, int | Decimal | Fraction):
        return Fraction(v)
    return Fraction(str(v))


def _const(k: Fraction) -> _LF:
    return (Fraction(0), k, Fraction(0), Fraction(1))


def _is_const(f: _LF) -> bool:
    return f[0] == 0 and f[2] == 0


def _value_of(f: _LF) -> Fraction:
    return f[1] / f[3]


def _add(p: _LF, q: _LF) -> _LF:
    if _is_const(q):
        p, q = q, p
    if _is_const(p):
        k = _value_of(p)
        return (q[0] + k * q[2], q[1] + k * q[3], q[2], q[3])
    if p[2] == 0 and q[2] == 0:
        return (p[0] / p[3] + q[0] / q[3], p[1] / p[3] + q[1] / q[3], Fraction(0), Fraction(1))
    raise _Unsolvable


def _neg(p: _LF) -> _LF:
    return (-p[0], -p[1], p[2], p[3])


def _mul(p: _LF, q: _LF) -> _LF:
    if _is_const(q):
        p, q = q, p
    if not _is_const(p):
        raise _Unsolvable
    k = _value_of(p)
    return (q[0] * k, q[1] * k, q[2], q[3])


def _div(p: _LF, q: _LF) -> _LF:
    if _is_const(q):
        k = _value_of(q)
        if k == 0:
            raise _Unsolvable
        return (p[0], p[1], p[2] * k, p[3] * k)
    if p[2] == 0 and q[2] == 0:  # linear over linear
        return (p[0] / p[3], p[1] / p[3], q[0] / q[3], q[1] / q[3])
    raise _Unsolvable


class _Solver:
    """The steps of one target fact in the conditions of an outcome's rules."""

    def __init__(self, target: _Target, facts: FactSet, params: dict[str, Number]):
        self.target = target
        self.facts = facts
        self.params = params
        self.roots: set[Fraction] = set()

    def scope(self, where: int | None) -> Bindings:
        contexts = [self.facts.member_context(i) for i in range(len(self.facts.members))]
        if where is None:
            return Bindings(self.facts.household, self.params, contexts)
        return Bindings(contexts[where], self.params)

    def is_target(self, name: str, where: int | None) -> bool:
        t = self.target
        if name != t.name:
            return False
        return t.member is None or t.member == where

    def depends(self, node: a.Node, where: int | None) -> bool:
        if isinstance(node, a.FactRef):
            if self.is_target(node.name, where):
                return True
            body = definition(node.name)
            if body is not None:
                return self.depends(body, where)
            fact = FACTS[node.name]
            return bool(fact.total_of) and fact.total_of == self.target.name
        if isinstance(node, a.DefRef) and node.body is not None:
            return self.depends(node.body, where)
        if isinstance(node, a.Quantifier):
            return any(self.depends(node.body, j) for j in range(len(self.facts.members)))
        return any(self.depends(c, where) for c in a.children(node))

    def lf(self, node: a.Node, where: int | None) -> _LF:
        if not self.depends(node, where):
            v = _exact(closure(node)(self.scope(where)))
            if v is None:
                raise _Unsolvable
            return _const(v)
        match node:
            case a.FactRef(name=name):
                if self.is_target(name, where):
                    return (Fraction(1), Fraction(0), Fraction(0), Fraction(1))
                body = definition(name)
                if body is not None:
                    return self.lf(body, where)
                # A sum over the members: the others' part stays, the target's moves.
                total = _exact(self.facts.household[name])
                assert self.target.member is not None and total is not None
                own = _exact(self.facts.members[self.target.member][self.target.name])
                if own is None:
                    raise _Unsolvable
                return (Fraction(1), total - own, Fraction(0), Fraction(1))
            case a.Neg(operand=o):
                return _neg(self.lf(o, where))
            case a.Arith(op=op, left=l, right=r):
                p, q = self.lf(l, where), self.lf(r, where)
                if op == "+":
                    return _add(p, q)
                if op == "-":
                    return _add(p, _neg(q))
                if op == "*":
                    return _mul(p, q)
                return _div(p, q)
            case a.DefRef(body=body) if body is not None:
                return self.lf(body, where)
        raise _Unsolvable

    def equal(self, left: a.Node, right: a.Node, where: int | None) -> None:
        """Record where ``left`` and ``right`` are equal (and where either is undefined)."""
        if not (self.depends(left, where) or self.depends(right, where)):
            return
        p, q = self.lf(left, where), self.lf(right, where)
        for f in (p, q):
            if f[2] != 0:
                self.roots.add(-f[3] / f[2])  # division by zero: the value is unknown there
        if _is_const(q):
            p, q = q, p
        if _is_const(p):  # k = (a x + b) / (c x + d)  <=>  x (a - k c) = k d - b
            k = _value_of(p)
            slope = q[0] - k * q[2]
            if slope != 0:
                self.roots.add((k * q[3] - q[1]) / slope)
            return
        if p[2] == 0 and q[2] == 0:
            slope = p[0] / p[3] - q[0] / q[3]
            if slope != 0:
                self.roots.add((q[1] / q[3] - p[1] / p[3]) / slope)
            return
        raise _Unsolvable

    def visit(self, node: a.Node, where: int | None) -> None:
        match node:
            case a.Compare(left=l, right=r):
                self.equal(l, r, where)
            case a.Between(subject=s, low=lo, high=hi):
                self.equal(s, lo, where)
                self.equal(s, hi, where)
            case a.In(subject=s, items=items):
                for x in items:
                    if not isinstance(x, a.EnumLit):
                        self.equal(s, x, where)
            case a.Quantifier(body=b):
                for j in range(len(self.facts.members)):
                    self.visit(b, j)
            case a.DefRef(body=b) if b is not None:
                self.visit(b, where)
            case a.FactRef(name=name):
                body = definition(name)
                if body is not None:
                    self.visit(body, where)
            case a.Call() | a.Arith() | a.Neg():
                if self.depends(node, where):
                    self.lf(node, where)  # raises when the algebra cannot follow it
            case _:
                for c in a.children(node):
                    self.visit(c, where)


# --- the changes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Domain:
    low: Fraction
    high: Fraction
    step: Fraction
    is_date: bool

    def clip(self, values: Iterator[Fraction]) -> list[Fraction]:
        return sorted({v for v in values if self.low <= v <= self.high})

    def native(self, v: Fraction) -> object:
        if self.is_date:
            return date.fromordinal(int(v))
        return float(v)

    def text(self, v: Fraction) -> str:
        if self.is_date:
            return date.fromordinal(int(v)).isoformat()
        return f"{Decimal(v.numerator) / Decimal(v.denominator):.2f}"

    def json(self, v: Fraction) -> str:
        return json.dumps(self.text(v)) if self.is_date else self.text(v)


def _domain(target: _Target, as_of: date) -> _Domain | None:
    if target.name in MONEY_FIELDS:
        return _Domain(Fraction(0), Fraction(int(MAX_MONEY)), _CENT, False)
    if FACTS[target.name].type.kind is Kind.DATE:
        # Dates up to the evaluation date; ten years back is far enough for any rule shipped.
        end = Fraction(as_of.toordinal())
        return _Domain(end - 3653, end, _ONE_DAY, True)
    return None


def _choices(target: _Target) -> list[object]:
    """The values a boolean or closed-set fact can take in household JSON."""
    model = Household if target.member is None else Member
    annotation = model.model_fields[target.name].annotation
    values: list[object] = []

    def collect(t: Any) -> None:
        if t is bool:
            values.extend([True, False])
        for x in get_args(t):
            if isinstance(x, str | bool | int) and not isinstance(x, type):
                values.append(x)
            else:
                collect(x)

    collect(annotation)
    fact = CATALOGUE.input("household" if target.member is None else "member", target.name)
    if fact.type == "integer" and fact.bounds.min is not None and fact.bounds.max is not None:
        values = list(range(int(fact.bounds.min), int(fact.bounds.max) + 1))  # a grade: 1 to 4
    return list(dict.fromkeys(values))


def _shown(v: object) -> str:
    if v is None or v is UNKNOWN:
        return "?"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float | Decimal):
        return f"{Decimal(repr(v)) if isinstance(v, float) else v:.2f}"
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def _zh(text: str) -> str:
    return {"true": "是", "false": "否"}.get(text, text)


def _texts(target: _Target, op: str, shown: str, current: str | None, member_id: str | None,
           unit: str, zh_shown: str | None = None,
           zh_current: str | None = None) -> tuple[str, str]:
    """The change in words: ZH as "家庭年纯收入低于 18000.00 元（现为 18600.00 元）", EN as
    "granted if annualNetIncome < 18000.00 (now 18600.00)". ``zh_shown`` and ``zh_current``:
    the values as the Chinese text names them (an enumeration value by its label), when not
    as ``shown`` and ``current``."""
    zh_name = LABELS[target.name]
    who_zh = f"成员 {member_id} 的" if member_id is not None else ""
    who_en = f"member {member_id} " if member_id is not None else ""
    zh_op = {"<": "低于", "<=": "不高于", ">": "高于", ">=": "不低于", "==": "为",
             "in": "为以下之一", "between": "在以下区间内（含两端）", "known": "已知"}[op]
    zh_value = _zh(shown) if zh_shown is None else zh_shown
    zh = f"{who_zh}{zh_name}{zh_op}{'' if op == 'known' else ' ' + zh_value + unit}"
    en = f"{who_en}{target.name} {op}{'' if op == 'known' else ' ' + shown}"
    if current is None:
        return (f"{who_zh}{zh_name}明确后即可判定：{zh}则符合",
                f"decided once {who_en}{target.name} is known: granted if {en}")
    zh_now = _zh(current) if zh_current is None else zh_current
    return (f"{zh}（现为 {zh_now}{unit}）", f"granted if {en} (now {current})")


def _intervals(points: Sequence[Fraction], granted: Sequence[bool],
               ) -> list[tuple[Fraction, Fraction]]:
    out: list[tuple[Fraction, Fraction]] = []
    start: Fraction | None = None
    for i, (p, g) in enumerate(zip(points, granted, strict=True)):
        if g and start is None:
            start = p
        if start is not None and (not g or i == len(points) - 1):
            out.append((start, p if g else points[i - 1]))
            start = None
    return out


def _numeric_change(target: _Target, program: Program, code: str, member: int | None,
                    hh: _Household, member_id: str | None) -> list[FactChange]:
    domain = _domain(target, hh.as_of)
    if domain is None:
        return []
    facts = derive(hh.household, hh.as_of)
    solver = _Solver(target, facts, program.parameters)
    plan = explain_plan(program)
    try:
        for rule_ids, _ in plan.codes:
            if program.rules[rule_ids[0]].spec.outcome != code:
                continue
            for i in rule_ids:
                for r in (i, *plan.higher[i]):
                    solver.visit(program.rules[r].condition, member)
    except _Unsolvable:
        return []
    step = domain.step
    current_raw = hh.current(target)
    current = _exact(current_raw) if current_raw is not None else None
    candidates: set[Fraction] = {domain.low, domain.high}
    for root in solver.roots:
        below = Fraction(math.floor(root / step)) * step
        above = Fraction(math.ceil(root / step)) * step
        candidates.update((below - step, below, above, above + step))
    if current is not None:
        candidates.add(current)
    points = domain.clip(iter(candidates))
    granted = []
    for p in points:
        changed = hh.changed(target, domain.native(p))
        granted.append(changed is not None
                       and _status(program, code, changed, member) is True)
    spans = _intervals(points, granted)
    if not spans:
        return []
    if current is not None:
        spans = [min(spans, key=lambda s: s[0] - current if current < s[0] else current - s[1])]
    unit = "" if domain.is_date else " 元"
    out = []
    for lo, hi in spans:
        if lo == domain.low and hi == domain.high:
            op, value = "known", "null"
            shown = ""
        elif lo == domain.low:
            op, bound = ("<", hi + step) if hi + step in solver.roots else ("<=", hi)
            value = domain.json(bound)
            shown = domain.text(bound)
        elif hi == domain.high:
            op, bound = (">", lo - step) if lo - step in solver.roots else (">=", lo)
            value = domain.json(bound)
            shown = domain.text(bound)
        else:
            op = "between"
            value = f"[{domain.json(lo)}, {domain.json(hi)}]"
            shown = f"[{domain.text(lo)}, {domain.text(hi)}]"
        now = None if current is None else domain.text(current)
        zh, en = _texts(target, op, shown, now, member_id, unit)
        out.append(FactChange(target.path(), op, value, now, zh, en))
    return out


def _choice_change(target: _Target, program: Program, code: str, member: int | None,
                   hh: _Household, member_id: str | None) -> list[FactChange]:
    current = hh.current(target)
    if target.name == "disabilityGrade" and current is None:
        return []  # a grade needs a kind too: two facts, not one
    if target.name == "disabilityKind" and current is None:
        return []
    granting = []
    for v in _choices(target):
        if v == current:
            continue
        changed = hh.changed(target, v)
        if changed is not None and _status(program, code, changed, member) is True:
            granting.append(v)
    if not granting:
        return []
    now = _shown(current)

    def label(v: object) -> str:  # an enumeration value by its label, a flag as 是 or 否
        return value_text(_shown(v), target.name, "ZH") or _shown(v)

    if len(granting) == 1:
        op, value, shown = "==", json.dumps(granting[0]), _shown(granting[0])
        zh_shown = label(granting[0])
    else:
        op, value = "in", json.dumps(granting)
        shown = "{" + ", ".join(_shown(v) for v in granting) + "}"
        zh_shown = "{" + "、".join(label(v) for v in granting) + "}"
    zh, en = _texts(target, op, shown, now, member_id, "", zh_shown,
                    None if current is None else label(current))
    return [FactChange(target.path(), op, value, now, zh, en)]


def changes_for(program: Program, code: str, member: int | None, household: Household,
                as_of: date, hh: _Household | None = None) -> tuple[FactChange, ...]:
    """The single-fact changes that would grant outcome ``code`` (of ``member``) of this
    household under ``program``."""
    hh = hh or _Household(household, as_of)
    member_ids = tuple(m.id for m in household.members)  # as derive() names them
    out: list[FactChange] = []
    for target in _targets(program, code, member, len(household.members)):
        member_id = None if target.member is None else member_ids[target.member]
        if target.name in MONEY_FIELDS or FACTS[target.name].type.kind is Kind.DATE:
            out.extend(_numeric_change(target, program, code, member, hh, member_id))
        else:
            out.extend(_choice_change(target, program, code, member, hh, member_id))
    return tuple(out)


_MEMO: BoundedCache[int, tuple[Determination, _Household, dict[tuple[str, str | None],
                                                                tuple[FactChange, ...]]]] = \
    BoundedCache("engine.what_would_change", 256)


def what_would_change(det: Determination, outcome: Outcome) -> tuple[FactChange, ...]:
    """For a NOT_GRANTED or UNDETERMINED outcome of ``det``: the single input-fact changes that
    would grant it (empty when no single fact suffices); for a GRANTED one, empty. Needs a
    determination made by ``engine.determine`` (which keeps its inputs)."""
    if outcome.status is Status.GRANTED or det.inputs is None:
        return ()
    household, as_of, versions = det.inputs
    entry = _MEMO.get(id(det))
    if entry is None or entry[0] is not det:
        entry = _MEMO.put(id(det), (det, _Household(household, as_of), {}))
    key = (outcome.code, outcome.member_id)
    found = entry[2].get(key)
    if found is not None:
        return found
    program = _program_of(det, versions, outcome)
    member = None if outcome.member_id is None else \
        [m.id for m in household.members].index(outcome.member_id)
    found = changes_for(program, outcome.code, member, household, as_of, entry[1])
    entry[2][key] = found
    return found


def _program_of(det: Determination, versions: Sequence[tuple[Program, Any]],
                outcome: Outcome) -> Program:
    for (program, _), result in zip(versions, det.programs, strict=True):
        if any(o.code == outcome.code for o in result.outcomes):
            return program
    raise ValueError(f"outcome {outcome.code} is not one of this determination's")

