"""From verdicts to outcomes: status, amount, terms, reasons and missing facts per outcome."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.evaluator import Traced as TracedRules
from engine.evaluator import Verdicts
from engine.results import (
    Citation,
    ConditionCheck,
    Conditions,
    Lazy,
    Outcome,
    ProgramResult,
    Reason,
    Status,
    Term,
    VersionRef,
)
from engine.trace import LazyChecks, Traced
from engine.tree import LazyTree, Superseded
from engine.values import Bindings, closure
from policy.cache import BoundedCache
from policy.conditions import ast as a
from policy.document import CompiledRule, Program
from policy.evaluation import Fn
from policy.exact import Number, round_half_up, to_float
from policy.facts import FactSet
from policy.schema import Scope as FactScope
from policy.semantics import UNKNOWN, VALUES, Value, effective, granting, k_or
from policy.semantics import outcome as outcome_verdict
from policy.semantics import status as semantic_status


@dataclass(frozen=True)
class _Plan:
    """What explaining a version needs that does not depend on the household, built once."""

    codes: tuple[tuple[tuple[int, ...], bool], ...]  # (rule ids by priority, per member)
    higher: tuple[tuple[int, ...], ...]                # per rule: rules above it in its group
    # Per code: every rule whose verdict its outcome depends on (its own rules, then the
    # higher-priority rules of their groups), the key of the outcome memo below.
    reads: tuple[tuple[int, ...], ...]
    citations: tuple[Citation, ...]
    # Per rule: whether its amount, and each of its terms, reads a parameter marked sample.
    samples: tuple[tuple[bool, tuple[bool, ...]], ...]
    # Per rule: its amount's and its terms' closures (None: no amount).
    amounts: tuple[tuple[Fn | None, tuple[Fn, ...]], ...]
    # Outcomes no rule of which applies, by (code index, member id, ids of the rules' traces).
    unfired: dict[tuple[object, ...], tuple[tuple[object, ...], Outcome]] = field(
        default_factory=dict, compare=False)


_PLANS: BoundedCache[str, _Plan] = BoundedCache("engine.explain_plans", 64)
_REASONS: BoundedCache[tuple[str, int, int], tuple[LazyChecks, Reason]] = (
    BoundedCache("engine.reasons", 10_000))
_UNFIRED_LIMIT = 50_000  # outcomes no rule of which applies, memoised per version's plan


def _plan(program: Program) -> _Plan:
    plan = _PLANS.get(program.content_hash)
    if plan is not None:
        return plan
    groups: dict[str, list[int]] = {}
    by_code: dict[str, list[int]] = {}
    for i, r in enumerate(program.rules):
        by_code.setdefault(r.spec.outcome, []).append(i)
        if r.spec.group is not None:
            groups.setdefault(r.spec.group, []).append(i)
    for members in groups.values():
        members.sort(key=lambda i: program.rules[i].spec.priority or 0)
    higher = []
    for r in program.rules:
        order = groups.get(r.spec.group or "", [])
        i = program.rules.index(r)
        higher.append(tuple(order[: order.index(i)]) if r.spec.group else ())
    codes = []
    for rule_ids in by_code.values():
        rule_ids.sort(key=lambda i: (program.rules[i].spec.priority or 0, i))
        codes.append((tuple(rule_ids), program.rules[rule_ids[0]].scope is FactScope.MEMBER))
    citations = tuple(
        Citation(r.spec.citation.document, r.spec.citation.clause, r.spec.citation.quote,
                 r.spec.citation.url)
        for r in program.rules
    )
    reads = tuple(
        tuple(dict.fromkeys([*rule_ids, *(h for i in rule_ids for h in higher[i])]))
        for rule_ids, _ in codes
    )
    sample_params = {name for name, p in program.document.parameters.items() if p.sample}

    def sample(node: a.Node | None) -> bool:
        return node is not None and any(
            isinstance(n, a.ParamRef) and n.name in sample_params for n in _walk(node))

    samples = tuple((sample(r.amount), tuple(sample(t.expr) for t in r.terms))
                    for r in program.rules)
    amounts = tuple((None if r.amount is None else closure(r.amount),
                     tuple(closure(t.expr) for t in r.terms)) for r in program.rules)
    plan = _Plan(tuple(codes), tuple(higher), reads, citations, samples, amounts)
    _PLANS.put(program.content_hash, plan)
    return plan


def explain_program(
    program: Program,
    version: VersionRef,
    facts: FactSet,
    verdicts: Verdicts,
    tree: TracedRules,
) -> ProgramResult:
    plan = _plan(program)
    rules = program.rules
    params = program.parameters
    member_scopes = [Bindings(facts.member_context(i), params) for i in range(len(facts.members))]
    hh_scope = Bindings(facts.household, params, [s.facts for s in member_scopes])
    ids = facts.member_ids

    def scope_of(member: int | None) -> Bindings:
        return hh_scope if member is None else member_scopes[member]

    # The rule's own verdict comes from durable_rules when it fired; otherwise the tree tells a
    # false condition from an unknown one.
    verdict_of: dict[tuple[int, int | None], Value] = {key: t[0] for key, t in tree.items()}
    for i in verdicts.household:
        verdict_of[(i, None)] = True
    for index, fired in enumerate(verdicts.members):
        for i in fired:
            verdict_of[(i, index)] = True

    def effective_of(i: int, m: int | None) -> Value:
        return effective(VALUES, verdict_of[(i, m)], [verdict_of[(h, m)] for h in plan.higher[i]])

    def why(i: int, m: int | None) -> _Why:
        """What the rule's reason for the member (or household) is built from, when read: its
        trace and the verdicts of the rules above it in its group that may apply."""
        higher = plan.higher[i]
        return (i, tree[(i, m)],
                tuple([(h, v) for h in higher if (v := verdict_of[(h, m)]) is not False])
                if higher else ())

    outcomes: list[Outcome] = []
    instances_all: Sequence[int | None] = range(len(member_scopes))
    unfired = plan.unfired
    for code_index, (rule_ids, per_member) in enumerate(plan.codes):
        first = rules[rule_ids[0]]
        single = len(rule_ids) == 1 and not plan.higher[rule_ids[0]]
        read = plan.reads[code_index]
        for m in (instances_all if per_member else (None,)):
            # An outcome none of whose rules applies is a function of the member and of the
            # traces (verdicts and checks, the trace memo's objects) of its rules and of the
            # higher-priority rules of their groups, which decide whether a rule is superseded:
            # remembered under all of them, so the answer never depends on what was explained
            # before.
            memo_key: tuple[object, ...] | None = None
            member_id = None if m is None else ids[m]
            if single:
                only = rule_ids[0]
                traced: tuple[object, ...] = (tree[(only, m)],)
                if verdict_of[(only, m)] is not True:
                    memo_key = (code_index, member_id, id(traced[0]))
            else:
                traced = tuple([tree[(i, m)] for i in read])
                if not any(verdict_of[(i, m)] is True for i in rule_ids):
                    memo_key = (code_index, member_id, *map(id, traced))
            if memo_key is not None:
                # An entry keeps its traces alive, so a key found names these very objects.
                hit = unfired.get(memo_key)
                if hit is not None:
                    outcomes.append(hit[1])
                    continue
            effs = [effective_of(i, m) for i in rule_ids]
            first_true = granting(effs)
            if first_true is not None:
                granted = rule_ids[first_true]
                granting_rule = rules[granted]
                # The reason is built when first read (most readers want statuses and amounts).
                outcomes.append(_outcome(granting_rule, m, ids, Status.GRANTED,
                                         Lazy(_granted, program, plan, *why(granted, m)), (),
                                         *_amounts(granting_rule, scope_of(m),
                                                   plan.samples[granted],
                                                   plan.amounts[granted])))
                continue
            status = Status(semantic_status(outcome_verdict(VALUES, effs)))
            open_ = [i for i, v in zip(rule_ids, effs, strict=True) if v is UNKNOWN]
            explained = tuple([why(i, m) for i in (open_ or rule_ids)])
            # The reasons and the missing facts are found when first read; they keep only the
            # traces and verdicts they are built from (not the household's other rules).
            missing: Sequence[str] = (
                Lazy(_missing, *[w[1][1] for w in explained]) if open_ else ())
            outcome = _outcome(first, m, ids, status, Lazy(_reasons, program, plan, *explained),
                               missing, None, None, (), False)
            if memo_key is not None:
                if len(unfired) >= _UNFIRED_LIMIT:
                    unfired.clear()
                unfired[memo_key] = (traced, outcome)
            outcomes.append(outcome)
    return ProgramResult(program.code, version, tuple(outcomes))


# A reason's sources: the rule's index, its trace, and (rule index, verdict) of each rule above
# it in its group whose verdict is not false.
_Why = tuple[int, Traced, tuple[tuple[int, Value], ...]]


def _reasons(program: Program, plan: _Plan, *explained: _Why) -> tuple[Reason, ...]:
    return tuple([_reason_of(program, plan, *w) for w in explained])


def _granted(program: Program, plan: _Plan, i: int, traced: Traced,
             above: tuple[tuple[int, Value], ...]) -> tuple[Reason, ...]:
    return (_reason_of(program, plan, i, traced, above),)


def _missing(*found: LazyChecks) -> tuple[str, ...]:
    """The input facts whose absence left the open rules' checks open, in order, once each."""
    missing: dict[str, None] = {}
    for checks in found:
        for f in checks.missing():
            missing.setdefault(f, None)
    return tuple(missing)


def _reason_of(program: Program, plan: _Plan, i: int, traced: Traced,
               above: tuple[tuple[int, Value], ...]) -> Reason:
    """The rule's reason from its trace, with the condition that no rule above it applies when
    one may."""
    rules = program.rules
    found = traced[1]
    # The checks are the trace memo's own object: its identity is the key (the entry keeps
    # it alive, so the id cannot be reused while the entry exists).
    key = (program.content_hash, i, id(found))
    entry = _REASONS.get(key)
    cached = entry[1] if entry is not None and entry[0] is found else None
    if cached is None:
        cached = _reason(rules[i], plan.citations[i], Conditions(found.conditions), traced[2])
        _REASONS.put(key, (found, cached))
    if not above:
        return cached
    applies = k_or([v for _, v in above])
    group = rules[i].spec.group or ""
    outcomes_above = ", ".join(rules[h].spec.outcome for h, _ in above)
    superseded = ConditionCheck(
        expression=f"no higher-priority rule of group {group} applies",
        actual=outcomes_above,
        expected="none",
        passed=None if applies is UNKNOWN else not applies,
    )
    r = cached
    return Reason(r.rule_id, r.text_zh, r.text_en, r.citation,
                  Conditions(lambda: (*r.conditions, superseded)),
                  Superseded(r.tree, group, applies, outcomes_above))


def _walk(node: a.Node) -> list[a.Node]:
    out = a.walk(node)
    for n in list(out):
        if isinstance(n, a.DefRef) and n.body is not None:
            out.extend(_walk(n.body))
    return out


def _reason(rule: CompiledRule, citation: Citation, conditions: Conditions,
            tree: LazyTree) -> Reason:
    return Reason(
        rule_id=rule.id,
        text_zh=rule.spec.reason.zh,
        text_en=rule.spec.reason.en,
        citation=citation,
        conditions=conditions,
        tree=tree,
    )


def _amounts(rule: CompiledRule, scope: Bindings, samples: tuple[bool, tuple[bool, ...]],
             fns: tuple[Fn | None, tuple[Fn, ...]],
             ) -> tuple[float | None, str | None, tuple[Term, ...], bool]:
    amount: float | None = None
    amount_of, term_fns = fns
    if amount_of is not None:
        v = amount_of(scope)
        amount = None if v is UNKNOWN else result_number(v, "yuan")  # type: ignore[arg-type]
    terms = []
    for t, sample, term_of in zip(rule.terms, samples[1], term_fns, strict=True):
        v = term_of(scope)
        if v is not UNKNOWN:
            terms.append(Term(t.key, result_number(v, t.unit), t.unit,  # type: ignore[arg-type]
                              sample))
    return (amount, rule.spec.period if amount is not None else None, tuple(terms),
            amount is not None and samples[0])


def result_number(value: Number, unit: str) -> float:
    """An exact amount or term as the result carries it (a JSON number): money to the cent
    (half up; a no-op for the shipped rules, whose amounts are cents already), so the double
    prints back as its two-decimal form (``25000.01``); other units as the nearest double."""
    if unit.startswith("yuan"):
        value = round_half_up(value, 2)
    return to_float(value)


def _outcome(
    rule: CompiledRule, member: int | None, ids: tuple[str, ...], status: Status,
    reasons: Sequence[Reason], missing: Sequence[str], amount: float | None,
    period: str | None, terms: tuple[Term, ...], amount_is_sample: bool,
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
        amount_is_sample=amount_is_sample,
    )
