"""From verdicts to outcomes: status, amount, terms, reasons and missing facts per outcome."""

from __future__ import annotations

from collections.abc import Sequence

from engine.evaluator import Verdicts
from engine.results import (
    Citation,
    ConditionCheck,
    Outcome,
    ProgramResult,
    Reason,
    Status,
    Term,
    VersionRef,
)
from engine.trace import checks
from engine.values import Scope, evaluate, k_and, k_not, k_or
from policy.document import CompiledRule, Program
from policy.facts import UNKNOWN, FactSet, Value
from policy.schema import Scope as FactScope

Key = tuple[int, int | None]


def explain_program(
    program: Program,
    version: VersionRef,
    facts: FactSet,
    verdicts: Verdicts,
    tree: dict[Key, Value],
) -> ProgramResult:
    params = program.parameters
    member_scopes = [Scope(facts.member_context(i), params) for i in range(len(facts.members))]
    hh_scope = Scope(facts.household, params, [s.facts for s in member_scopes])
    ids = facts.member_ids

    def scope_of(member: int | None) -> Scope:
        return hh_scope if member is None else member_scopes[member]

    # The rule's own verdict comes from durable_rules when it fired; otherwise the tree tells a
    # false condition from an unknown one.
    def verdict(i: int, m: int | None) -> Value:
        return True if verdicts.fired(i, m) else tree[(i, m)]

    groups: dict[str, list[int]] = {}
    for i, r in enumerate(program.rules):
        if r.spec.group is not None:
            groups.setdefault(r.spec.group, []).append(i)
    for members in groups.values():
        members.sort(key=lambda i: program.rules[i].spec.priority or 0)

    def higher(i: int) -> list[int]:
        g = program.rules[i].spec.group
        if g is None:
            return []
        order = groups[g]
        return order[: order.index(i)]

    def effective(i: int, m: int | None) -> Value:
        return k_and([verdict(i, m), *[k_not(verdict(h, m)) for h in higher(i)]])

    def reason(i: int, m: int | None) -> tuple[Reason, tuple[str, ...]]:
        rule = program.rules[i]
        found = checks(rule.condition, scope_of(m), ids)
        conditions = [c.check for c in found]
        missing: dict[str, None] = {}
        for c in found:
            for f in c.missing:
                missing.setdefault(f, None)
        above = [h for h in higher(i) if verdict(h, m) is not False]
        if above:
            applies = k_or([verdict(h, m) for h in above])
            conditions.append(ConditionCheck(
                expression=f"no higher-priority rule of group {rule.spec.group} applies",
                actual=", ".join(program.rules[h].spec.outcome for h in above),
                expected="none",
                passed=None if applies is UNKNOWN else not applies,
            ))
        return _reason(rule, conditions), tuple(missing)

    outcomes: list[Outcome] = []
    by_code: dict[str, list[int]] = {}
    for i, rule in enumerate(program.rules):
        by_code.setdefault(rule.spec.outcome, []).append(i)
    for rule_ids in by_code.values():
        rule_ids.sort(key=lambda i: (program.rules[i].spec.priority or 0, i))
        first = program.rules[rule_ids[0]]
        instances: Sequence[int | None] = (
            [None] if first.scope is FactScope.HOUSEHOLD else range(len(member_scopes))
        )
        for m in instances:
            effs = [(i, effective(i, m)) for i in rule_ids]
            granted = next((i for i, v in effs if v is True), None)
            if granted is not None:
                granting = program.rules[granted]
                why, _ = reason(granted, m)
                outcomes.append(_outcome(granting, m, ids, Status.GRANTED, (why,), (),
                                         *_amounts(granting, scope_of(m))))
                continue
            open_ = [i for i, v in effs if v is UNKNOWN]
            status = Status.UNDETERMINED if open_ else Status.NOT_GRANTED
            explained = [reason(i, m) for i in (open_ or rule_ids)]
            missing: dict[str, None] = {}
            for _, ms in explained:
                for f in ms:
                    missing.setdefault(f, None)
            outcomes.append(_outcome(first, m, ids, status, tuple(x for x, _ in explained),
                                     tuple(missing) if open_ else (), None, None, ()))
    return ProgramResult(program.code, version, tuple(outcomes))


def _reason(rule: CompiledRule, conditions: list[ConditionCheck]) -> Reason:
    c = rule.spec.citation
    return Reason(
        rule_id=rule.id,
        text_zh=rule.spec.reason.zh,
        text_en=rule.spec.reason.en,
        citation=Citation(c.document, c.clause, c.quote, c.url),
        conditions=tuple(conditions),
    )


def _amounts(rule: CompiledRule, scope: Scope) -> tuple[float | None, str | None, tuple[Term, ...]]:
    amount: float | None = None
    if rule.amount is not None:
        v = evaluate(rule.amount, scope)
        amount = None if v is UNKNOWN else float(v)  # type: ignore[arg-type]
    terms = []
    for t in rule.terms:
        v = evaluate(t.expr, scope)
        if v is not UNKNOWN:
            terms.append(Term(t.key, float(v), t.unit))  # type: ignore[arg-type]
    return amount, rule.spec.period if amount is not None else None, tuple(terms)


def _outcome(
    rule: CompiledRule, member: int | None, ids: tuple[str, ...], status: Status,
    reasons: tuple[Reason, ...], missing: tuple[str, ...], amount: float | None,
    period: str | None, terms: tuple[Term, ...],
) -> Outcome:
    return Outcome(
        code=rule.spec.outcome,
        title_zh=rule.spec.title.zh,
        title_en=rule.spec.title.en,
        member_id=None if member is None else ids[member],
        status=status,
        amount=amount,
        period=period,
        terms=terms,
        reasons=reasons,
        missing_facts=missing,
        flags_monitoring=rule.spec.flagsMonitoring and status is Status.GRANTED,
    )
