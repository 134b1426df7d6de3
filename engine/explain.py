"""From verdicts to outcomes: status, amount, terms, reasons and missing facts per outcome."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import NamedTuple

from engine.evaluator import MemberTraces, Verdicts
from engine.evaluator import Traced as TracedRules
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
from engine.tree import Superseded
from engine.values import Bindings, closure
from policy.cache import BoundedCache, remember
from policy.conditions import ast as a
from policy.document import CompiledRule, Program
from policy.evaluation import Fn
from policy.exact import result_number
from policy.facts import FactSet
from policy.schema import Scope as FactScope
from policy.semantics import MEMBER_SUM, UNKNOWN, VALUES, Value, effective, granting, k_or
from policy.semantics import outcome as outcome_verdict
from policy.semantics import status as semantic_status

_Reads = Callable[[Mapping[str, Value]], tuple[object, ...]]


@dataclass(frozen=True)
class _Code:
    """One outcome code of a version: its rules by priority and what deciding it reads."""

    index: int
    rule_ids: tuple[int, ...]
    per_member: bool
    # Every rule whose verdict the outcome depends on (its own rules, then the higher-priority
    # rules of their groups): the traces the outcome memo below is keyed by.
    reads: tuple[int, ...]
    single: bool  # one rule, in no group above which another rule stands
    slot: int  # a member code's place among the version's member codes (-1: a household code)


@dataclass(frozen=True)
class _Plan:
    """What explaining a version needs that does not depend on the household, built once."""

    codes: tuple[tuple[tuple[int, ...], bool], ...]  # (rule ids by priority, per member)
    decides: tuple[_Code, ...]                         # the same, with what deciding reads
    higher: tuple[tuple[int, ...], ...]                # per rule: rules above it in its group
    citations: tuple[Citation, ...]
    # Per rule: what its reasons share (rule id, texts, citation), in ``Reason``'s order.
    heads: tuple[tuple[str, str, str, Citation], ...]
    # Per rule: whether its amount, and each of its terms, reads a parameter marked sample.
    samples: tuple[tuple[bool, tuple[bool, ...]], ...]
    # Per rule: its amount's and its terms' closures (None: no amount).
    amounts: tuple[tuple[Fn | None, tuple[Fn, ...]], ...]
    # Per rule: the values of the facts its amount and terms read, from the facts in scope
    # (None: they read more than facts in scope, and a granted outcome is not remembered).
    amount_reads: tuple[_Reads | None, ...]
    # Outcomes decided, by (code index, ids of the traces of the code's ``reads``):
    # see ``explain_program``.
    decided: OrderedDict[tuple[object, ...], _Decided] = field(default_factory=OrderedDict,
                                                                compare=False)
    # The member codes, in ``slot`` order.
    member_codes: tuple[_Code, ...] = ()
    # A member's outcomes of every member code, by the id of the member's traces of the
    # version's member rules (``trace_by_member``'s tuple, kept alive in the entry).
    by_member: OrderedDict[int, tuple[tuple[Traced, ...], tuple[_Decided, ...]]] = field(
        default_factory=OrderedDict, compare=False)


class _Decided(NamedTuple):
    traced: tuple[Traced, ...]  # kept alive: their ids are in the key
    outcome: Outcome | None     # the outcome, or None when it depends on the amount's reads
    granted: int                # the granting rule (when ``outcome`` is None)
    # The granted outcome by the values its amount and terms read (None: not remembered).
    by_amount: OrderedDict[tuple[object, ...], Outcome] | None


_STATUS = {s.value: s for s in Status}  # ``Status(value)``, without the enum's call
_new = tuple.__new__  # a named tuple's own constructor, without the keyword handling
_PLANS: BoundedCache[str, _Plan] = BoundedCache("engine.explain_plans", 64)
_DECIDED_LIMIT = 50_000  # outcomes remembered per version's plan


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
    slots = 0
    for index, rule_ids in enumerate(by_code.values()):
        rule_ids.sort(key=lambda i: (program.rules[i].spec.priority or 0, i))
        reads = tuple(dict.fromkeys([*rule_ids, *(h for i in rule_ids for h in higher[i])]))
        per_member = program.rules[rule_ids[0]].scope is FactScope.MEMBER
        codes.append(_Code(index, tuple(rule_ids), per_member, reads,
                           len(rule_ids) == 1 and not higher[rule_ids[0]],
                           slots if per_member else -1))
        slots += per_member
    citations = tuple(
        Citation(r.spec.citation.document, r.spec.citation.clause, r.spec.citation.quote,
                 r.spec.citation.url)
        for r in program.rules
    )
    sample_params = {name for name, p in program.document.parameters.items() if p.sample}

    def sample(node: a.Node | None) -> bool:
        return node is not None and any(
            isinstance(n, a.ParamRef) and n.name in sample_params for n in _walk(node))

    samples = tuple((sample(r.amount), tuple(sample(t.expr) for t in r.terms))
                    for r in program.rules)
    amounts = tuple((None if r.amount is None else closure(r.amount),
                     tuple(closure(t.expr) for t in r.terms)) for r in program.rules)
    amount_reads = tuple(
        _fact_reads([*([] if r.amount is None else [r.amount]), *(t.expr for t in r.terms)])
        for r in program.rules)
    heads = tuple((r.id, r.spec.reason.zh, r.spec.reason.en, c)
                  for r, c in zip(program.rules, citations, strict=True))
    plan = _Plan(tuple((c.rule_ids, c.per_member) for c in codes), tuple(codes),
                 tuple(higher), citations, heads, samples, amounts, amount_reads,
                 member_codes=tuple(c for c in codes if c.per_member))
    _PLANS.put(program.content_hash, plan)
    return plan


def _fact_reads(nodes: Sequence[a.Node]) -> _Reads | None:
    """A getter of the values of the facts ``nodes`` read in their own scope (their values are
    a function of these and the version's parameters), or None when they read anything else (a
    member's facts through a quantifier or a sum over members)."""
    names: dict[str, None] = {}
    for node in nodes:
        for n in _walk(node):
            if isinstance(n, a.Quantifier | a.Name) or (
                    isinstance(n, a.Call) and n.func == MEMBER_SUM):
                return None
            if isinstance(n, a.FactRef):
                names.setdefault(n.name, None)
    if not names:
        return lambda facts: ()
    if len(names) == 1:
        (name,) = names
        return lambda facts: (facts[name],)
    getter = itemgetter(*names)
    return lambda facts: getter(facts)


def explain_program(
    program: Program,
    version: VersionRef,
    facts: FactSet,
    verdicts: Verdicts,
    tree: TracedRules,
    members: MemberTraces = None,
) -> ProgramResult:
    """The version's outcomes for the household. ``verdicts`` are durable_rules' and must agree
    with the condition tree's (``check_agreement``, which every caller runs first, or the
    tree's own): the statuses are read from the tree's traces.

    An outcome is a function of the member (its id), of the traces of its rules and of the
    higher-priority rules of their groups (verdicts and checks, the trace memo's objects, which
    also decide whether a rule is superseded), and, when granted, of the values the granting
    rule's amount and terms read. Outcomes are remembered under all of these but the member's
    id (an entry keeps its traces alive, so a key found names these very objects): a member's
    outcome found is the one decided for the member it was first decided for, given this
    member's id (the only field that depends on the member beyond the traces and, granted, the
    values its amount and terms read), so members whose ids were never seen, as real
    households' are, find the outcomes of others. The answer never depends on what was
    explained before.

    ``members`` (``trace_by_member``'s): each member's traces of the member rules as one
    object, the same for members with the same values: a member's outcomes of all member codes
    are then found in one lookup by it (a member code's traces are among them) instead of one
    per code."""
    del verdicts  # equal to the tree's (see above)
    plan = _plan(program)
    ids = facts.member_ids
    in_household = range(len(ids))
    household: tuple[int | None, ...] = (None,)
    rows: list[tuple[_Decided, ...]] = []
    if members is not None and plan.member_codes:
        by_member = plan.by_member
        for k, found in enumerate(members):
            entry = by_member.get(id(found))
            if entry is None or entry[0] is not found:
                entry = (found, tuple([_hit(program, plan, code, k, ids, tree)
                                       for code in plan.member_codes]))
                remember(by_member, id(found), entry, _DECIDED_LIMIT)
            rows.append(entry[1])
    outcomes: list[Outcome] = []
    append = outcomes.append
    for code in plan.decides:
        slot = code.slot if rows else -1
        for m in (in_household if code.per_member else household):
            hit = rows[m][slot] if slot >= 0 else _hit(  # type: ignore[index]
                program, plan, code, m, ids, tree)
            outcome = hit.outcome
            if outcome is None:  # granted
                by_amount = hit.by_amount
                if by_amount is None:
                    outcome = _granted_outcome(program, plan, hit.granted, m, facts, tree)
                else:
                    amount_key = plan.amount_reads[hit.granted](  # type: ignore[misc]
                        facts.household if m is None else facts.member_context(m))
                    outcome = by_amount.get(amount_key)
                    if outcome is None:
                        outcome = remember(by_amount, amount_key, _granted_outcome(
                            program, plan, hit.granted, m, facts, tree), _DECIDED_LIMIT)
            if m is not None and outcome[3] != ids[m]:
                # Decided for another member (of this household or another) with the same
                # traces: the same outcome with this member's id. Made afresh, not remembered
                # by the id: a real household's member ids are not seen again, and outcomes
                # kept for them only fed the collector (never-seen households with their own
                # member ids: 0.15 ms a household in collections instead of 0.23-0.28).
                outcome = _new(Outcome, (*outcome[:3], ids[m], *outcome[4:]))
            append(outcome)
    return ProgramResult(program.code, version, tuple(outcomes))


def _hit(program: Program, plan: _Plan, code: _Code, m: int | None, ids: tuple[str, ...],
         tree: TracedRules) -> _Decided:
    """The code's outcome for the member (or household) as decided from its traces: found by
    their ids, decided (``_decide``) and remembered when not found."""
    read = code.reads
    if code.single:
        traced: tuple[Traced, ...] = (tree[(read[0], m)],)
        key: tuple[object, ...] = (code.index, id(traced[0]))
    else:
        traced = tuple([tree[(i, m)] for i in read])
        key = (code.index, *map(id, traced))
    decided = plan.decided
    hit = decided.get(key)
    if hit is None:
        hit = _decide(program, plan, code, m, ids, traced, tree)
        remember(decided, key, hit, _DECIDED_LIMIT)
    return hit


def _why(plan: _Plan, i: int, m: int | None, tree: TracedRules) -> _Why:
    """What the rule's reason for the member (or household) is built from, when read: its
    trace and the verdicts of the rules above it in its group that may apply."""
    higher = plan.higher[i]
    return (i, tree[(i, m)],
            tuple([(h, v) for h in higher if (v := tree[(h, m)][0]) is not False])
            if higher else ())


def _decide(program: Program, plan: _Plan, code: _Code, m: int | None, ids: tuple[str, ...],
            traced: tuple[Traced, ...], tree: TracedRules) -> _Decided:
    """An outcome from its rules' traces; a granted one whose amount or terms read facts is
    made for each of their values (``_granted_outcome``)."""
    rules = program.rules
    rule_ids = code.rule_ids
    if code.single:  # the outcome's verdict is its rule's own
        i = rule_ids[0]
        own = traced[0]
        verdict = own[0]
        if verdict is True:
            return _Decided(traced, None, i,
                            None if plan.amount_reads[i] is None else OrderedDict())
        why: _Why = (i, own, ())
        return _Decided(traced, _outcome(
            rules[i], m, ids, _STATUS[semantic_status(verdict)],
            Lazy(_reasons, program, plan, why),
            Lazy(_missing, own[1]) if verdict is UNKNOWN else (), None, None, (), False), -1, None)
    effs = [effective(VALUES, tree[(i, m)][0], [tree[(h, m)][0] for h in plan.higher[i]])
            for i in rule_ids]
    first_true = granting(effs)
    if first_true is not None:
        granted = rule_ids[first_true]
        return _Decided(traced, None, granted,
                        None if plan.amount_reads[granted] is None else OrderedDict())
    status = _STATUS[semantic_status(outcome_verdict(VALUES, effs))]
    open_ = [i for i, v in zip(rule_ids, effs, strict=True) if v is UNKNOWN]
    explained = tuple([_why(plan, i, m, tree) for i in (open_ or rule_ids)])
    # The reasons and the missing facts are found when first read; they keep only the
    # traces and verdicts they are built from (not the household's other rules).
    missing: Sequence[str] = Lazy(_missing, *[w[1][1] for w in explained]) if open_ else ()
    return _Decided(traced, _outcome(rules[rule_ids[0]], m, ids, status,
                                     Lazy(_reasons, program, plan, *explained), missing,
                                     None, None, (), False), -1, None)


def _granted_outcome(program: Program, plan: _Plan, granted: int, m: int | None,
                     facts: FactSet, tree: TracedRules) -> Outcome:
    """The outcome granted by rule ``granted``, its amount and terms computed in the member's
    (or the household's) scope."""
    rule = program.rules[granted]
    params = program.parameters
    if m is None:
        scope = Bindings(facts.household, params,
                         [facts.member_context(k) for k in range(len(facts.members))])
    else:
        scope = Bindings(facts.member_context(m), params)
    # The reason is built when first read (most readers want statuses and amounts).
    return _outcome(rule, m, facts.member_ids, Status.GRANTED,
                    Lazy(_granted, program, plan, *_why(plan, granted, m, tree)), (),
                    *_amounts(rule, scope, plan.samples[granted], plan.amounts[granted]))


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
    one may. Made for each outcome decided (an outcome found again keeps its reasons)."""
    conditions = Conditions(traced[1].conditions)
    if not above:
        return _new(Reason, (*plan.heads[i], conditions, traced[2]))
    rules = program.rules
    applies = k_or([v for _, v in above])
    group = rules[i].spec.group or ""
    outcomes_above = ", ".join(rules[h].spec.outcome for h, _ in above)
    superseded = _new(ConditionCheck, (f"no higher-priority rule of group {group} applies",
                                       outcomes_above, "none",
                                       None if applies is UNKNOWN else not applies))
    # The outcomes above by their titles: the words of the guard's names (engine.words).
    titles = tuple({rules[h].spec.outcome: (rules[h].spec.outcome, rules[h].spec.title.zh,
                                            rules[h].spec.title.en, False)
                    for h, _ in above}.values())
    return _new(Reason, (*plan.heads[i], Conditions(_joined, conditions, superseded),
                         Superseded(traced[2], group, applies, outcomes_above, titles)))


def _joined(conditions: Sequence[ConditionCheck], last: ConditionCheck,
            ) -> tuple[ConditionCheck, ...]:
    return (*conditions, last)


def _walk(node: a.Node) -> list[a.Node]:
    out = a.walk(node)
    for n in list(out):
        if isinstance(n, a.DefRef) and n.body is not None:
            out.extend(_walk(n.body))
    return out


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


def _outcome(
    rule: CompiledRule, member: int | None, ids: tuple[str, ...], status: Status,
    reasons: Sequence[Reason], missing: Sequence[str], amount: float | None,
    period: str | None, terms: tuple[Term, ...], amount_is_sample: bool,
) -> Outcome:
    spec = rule.spec
    return _new(Outcome, (spec.outcome, spec.title.zh, spec.title.en,
                          None if member is None else ids[member], status, amount, period,
                          terms, reasons, missing,
                          spec.flagsMonitoring and status is Status.GRANTED, amount_is_sample))
