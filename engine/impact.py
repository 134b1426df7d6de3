"""Impact of a new version: every household's outcomes under two versions of a program,
compared and counted (who gains, who loses, whose tier or amount changes, by region).

``outcome_tables`` is the one place that evaluates; it gives, per household, each version's
outcome *summaries* (status, amount, period, granting rule) without explanations, which is what
a preview of 100,000 households needs. It evaluates the typed condition trees directly, with
the semantics of ``engine.explain`` (Kleene unknowns; in an exclusive group the highest-priority
rule that applies wins): the agreement test proves the trees and durable_rules fire the same
rules. When the vectorised batch evaluator (``engine.batch``) is available, this function is
the seam to switch to it. Explanations for the few households a person will read are made by
``engine.determine`` as usual.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

from engine.values import Scope, closure, evaluate, k_and, k_not
from policy.conditions import ast as a
from policy.conditions.printer import unparse
from policy.document import Program
from policy.facts import UNKNOWN, Household, Value, derive
from policy.schema import Scope as FactScope

Key = tuple[str, str | None]  # (outcome code, member id or None)
Table = dict[Key, "Summary"]
ChangeKind = Literal["GAINED", "LOST", "AMOUNT", "TIER", "STATUS"]
HouseholdKind = Literal["GAINED", "LOST", "CHANGED"]

ANNUAL_FACTOR = {"YEAR": 1, "MONTH": 12}


@dataclass(frozen=True)
class Summary:
    """One outcome, without its explanation."""

    status: str  # GRANTED | NOT_GRANTED | UNDETERMINED
    amount: float | None = None
    period: str | None = None
    rule_id: str | None = None  # the rule that granted it (the tier, in a group)


NOT_GRANTED = Summary("NOT_GRANTED")


def signature(node: a.Node, params: Mapping[str, float]) -> str:
    """A condition with its definitions spelled out and its parameters' values in place:
    two rules with the same signature (and scope) have the same verdict on every household,
    whatever version they belong to.

    >>> from policy.conditions import Environment, check, parse
    >>> from policy.schema import Scope
    >>> tree = check(parse("age < limit"), Environment(frozenset({"limit"})), Scope.MEMBER).tree
    >>> signature(tree, {"limit": 6})
    'age < 6'
    """
    return unparse(_inline(node, params))


def _inline(node: a.Node, params: Mapping[str, float]) -> a.Node:
    match node:
        case a.DefRef(body=body) if body is not None:
            return _inline(body, params)
        case a.ParamRef(name=n):
            return a.Num(params[n])
        case a.Neg(operand=o):
            return replace(node, operand=_inline(o, params))
        case a.Not(operand=o):
            return replace(node, operand=_inline(o, params))
        case a.Arith(left=l, right=r) | a.Compare(left=l, right=r):
            return replace(node, left=_inline(l, params), right=_inline(r, params))
        case a.Call(args=args):
            return replace(node, args=tuple(_inline(x, params) for x in args))
        case a.In(subject=sub, items=items):
            return replace(node, subject=_inline(sub, params),
                           items=tuple(_inline(x, params) for x in items))
        case a.Between(subject=sub, low=lo, high=hi):
            return replace(node, subject=_inline(sub, params), low=_inline(lo, params),
                           high=_inline(hi, params))
        case a.And(operands=ops) | a.Or(operands=ops):
            return replace(node, operands=tuple(_inline(x, params) for x in ops))
        case a.Quantifier(body=b):
            return replace(node, body=_inline(b, params))
    return node


class _Plan:
    """What summarising a version needs that does not depend on the household."""

    def __init__(self, program: Program):
        self.program = program
        rules = program.rules
        self.conditions = [closure(r.condition) for r in rules]
        # Verdicts are shared, per household, between versions whose rules read alike.
        self.signatures = [f"{r.scope.value}:{signature(r.condition, program.parameters)}"
                           for r in rules]
        self.member_rules = [i for i, r in enumerate(rules) if r.scope is FactScope.MEMBER]
        self.household_rules = [i for i, r in enumerate(rules)
                                if r.scope is FactScope.HOUSEHOLD]
        groups: dict[str, list[int]] = {}
        by_code: dict[str, list[int]] = {}
        for i, r in enumerate(rules):
            by_code.setdefault(r.spec.outcome, []).append(i)
            if r.spec.group is not None:
                groups.setdefault(r.spec.group, []).append(i)
        for members in groups.values():
            members.sort(key=lambda i: rules[i].spec.priority or 0)
        self.higher: list[tuple[int, ...]] = []
        for i, r in enumerate(rules):
            order = groups.get(r.spec.group or "", [])
            self.higher.append(tuple(order[: order.index(i)]) if r.spec.group else ())
        self.codes: list[tuple[str, tuple[int, ...], bool]] = []
        for code, ids in by_code.items():
            ids.sort(key=lambda i: (rules[i].spec.priority or 0, i))
            self.codes.append((code, tuple(ids), rules[ids[0]].scope is FactScope.MEMBER))


_PLANS: dict[str, _Plan] = {}


def _plan(program: Program) -> _Plan:
    plan = _PLANS.get(program.content_hash)
    if plan is None:
        plan = _PLANS[program.content_hash] = _Plan(program)
    return plan


def _summarise(plan: _Plan, household: dict[str, Value],
               members: Sequence[dict[str, Value]], member_ids: Sequence[str],
               seen: dict[str, Value | list[Value]]) -> Table:
    program = plan.program
    params = program.parameters
    hh_scope = Scope(household, params, members)
    m_scopes = [Scope(m, params) for m in members]
    verdicts: dict[tuple[int, int | None], Value] = {}
    for i in plan.household_rules:
        sig = plan.signatures[i]
        v = seen.get(sig)
        if v is None:
            v = seen[sig] = plan.conditions[i](hh_scope)
        verdicts[(i, None)] = v  # type: ignore[assignment]
    for i in plan.member_rules:
        sig = plan.signatures[i]
        vs = seen.get(sig)
        if vs is None:
            f = plan.conditions[i]
            vs = seen[sig] = [f(s) for s in m_scopes]
        for index, v in enumerate(vs):  # type: ignore[arg-type]
            verdicts[(i, index)] = v

    def effective(i: int, m: int | None) -> Value:
        above = plan.higher[i]
        if not above:
            return verdicts[(i, m)]
        return k_and([verdicts[(i, m)], *[k_not(verdicts[(h, m)]) for h in above]])

    table: Table = {}
    for code, ids, per_member in plan.codes:
        instances: Sequence[int | None] = range(len(members)) if per_member else (None,)
        for m in instances:
            key = (code, None if m is None else member_ids[m])
            unknown = False
            for i in ids:
                v = effective(i, m)
                if v is True:
                    rule = program.rules[i]
                    amount: float | None = None
                    if rule.amount is not None:
                        value = evaluate(rule.amount, hh_scope if m is None else m_scopes[m])
                        amount = None if value is UNKNOWN else float(value)  # type: ignore[arg-type]
                    table[key] = Summary("GRANTED", amount,
                                         rule.spec.period if amount is not None else None,
                                         rule.id)
                    break
                if v is UNKNOWN:
                    unknown = True
            else:
                table[key] = Summary("UNDETERMINED") if unknown else NOT_GRANTED
    return table


def outcome_tables(
    households: Sequence[Household], as_of: date, programs: Sequence[Program | None]
) -> list[tuple[Table, ...]]:
    """Per household, one outcome table per program (an empty table for None: a program with
    no version in force). The seam for the batch evaluator: same answers, other engine."""
    plans = [None if p is None else _plan(p) for p in programs]
    out = []
    for hh in households:
        facts = derive(hh, as_of)
        members = [facts.member_context(i) for i in range(len(facts.members))]
        seen: dict[str, Value | list[Value]] = {}
        out.append(tuple(
            {} if plan is None else _summarise(plan, facts.household, members,
                                               facts.member_ids, seen)
            for plan in plans
        ))
    return out


# --- comparing and counting ------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeChange:
    code: str
    member_id: str | None
    kind: ChangeKind
    before: Summary
    after: Summary


@dataclass(frozen=True)
class HouseholdImpact:
    household_id: str
    region_code: str
    kind: HouseholdKind
    changes: tuple[OutcomeChange, ...]
    annual_before: float
    annual_after: float


@dataclass(kw_only=True)
class Totals:
    """Households counted, how many gain, lose or change, and the amounts before and after."""

    households: int = 0
    gained: int = 0
    lost: int = 0
    changed: int = 0
    annual_before: float = 0.0
    annual_after: float = 0.0
    once_before: float = 0.0
    once_after: float = 0.0


@dataclass(kw_only=True)
class RegionImpact(Totals):
    region_code: str


def compare(before: Table, after: Table) -> tuple[OutcomeChange, ...]:
    """The outcomes whose status, amount or granting rule differ between the two tables."""
    changes = []
    for key in [*after, *(k for k in before if k not in after)]:
        b, a = before.get(key, NOT_GRANTED), after.get(key, NOT_GRANTED)
        if b == a:
            continue
        kind: ChangeKind
        if a.status == "GRANTED" and b.status != "GRANTED":
            kind = "GAINED"
        elif b.status == "GRANTED" and a.status != "GRANTED":
            kind = "LOST"
        elif a.status == "GRANTED":
            kind = "AMOUNT" if (a.amount, a.period) != (b.amount, b.period) else "TIER"
            if a.rule_id != b.rule_id and kind == "AMOUNT":
                kind = "TIER"
        else:
            kind = "STATUS"
        changes.append(OutcomeChange(key[0], key[1], kind, b, a))
    return tuple(changes)


def classify(changes: Sequence[OutcomeChange]) -> HouseholdKind | None:
    """A household gains when it gets something and loses nothing, loses when the reverse,
    and otherwise (a new tier, amount or status, or gains and losses at once) changes."""
    if not changes:
        return None
    gained = any(c.kind == "GAINED" for c in changes)
    lost = any(c.kind == "LOST" for c in changes)
    if gained and not lost:
        return "GAINED"
    if lost and not gained:
        return "LOST"
    return "CHANGED"


def money(table: Table) -> tuple[float, float]:
    """(annual amount, one-off amount) granted: a monthly amount counts twelve times."""
    annual = once = 0.0
    for s in table.values():
        if s.status != "GRANTED" or s.amount is None:
            continue
        if s.period == "ONCE":
            once += s.amount
        else:
            annual += s.amount * ANNUAL_FACTOR.get(s.period or "YEAR", 1)
    return annual, once


@dataclass(kw_only=True)
class Tally(Totals):
    """Counts and totals over households, and the first ``keep`` changed ones in full."""

    keep: int = 100
    regions: dict[str, RegionImpact] = field(default_factory=dict)
    examples: list[HouseholdImpact] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        return self.households - self.gained - self.lost - self.changed

    @property
    def changed_total(self) -> int:
        return self.gained + self.lost + self.changed

    def add(self, household_id: str, region_code: str, before: Table, after: Table) -> None:
        region = self.regions.get(region_code)
        if region is None:
            region = self.regions[region_code] = RegionImpact(region_code=region_code)
        (ab, ob), (aa, oa) = money(before), money(after)
        for target in (self, region):
            target.households += 1
            target.annual_before += ab
            target.annual_after += aa
            target.once_before += ob
            target.once_after += oa
        changes = compare(before, after)
        kind = classify(changes)
        if kind is None:
            return
        for target in (self, region):
            if kind == "GAINED":
                target.gained += 1
            elif kind == "LOST":
                target.lost += 1
            else:
                target.changed += 1
        if len(self.examples) < self.keep:
            self.examples.append(HouseholdImpact(household_id, region_code, kind, changes,
                                                 ab, aa))
