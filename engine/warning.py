"""Early warning: one department event, its household's facts and window -> the alerts it raises.

An event is evaluated like a household: its facts (``policy.events.event_facts``: the stored
facts derived as of the event's date, the event's own facts and the window's aggregates) go
through the same durable_rules ruleset, condition tree and explainer as a determination, under
the ``early_warning`` version in force on the event's date. Every GRANTED outcome is an alert,
explained like any outcome (conditions with actual and expected values, the rule's citation).

An alert is keyed by (household, rule, cause). The cause is a function of the firing event
alone (never of the order events arrived in), so replays, duplicates and out-of-order events
give the same alerts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from engine.evaluator import Traced, Verdicts, check_agreement, fire, load, trace_rules
from engine.explain import explain_program
from engine.results import (
    Citation,
    ConditionNode,
    Determination,
    Outcome,
    ProgramResult,
    Reason,
    Status,
    VersionRef,
)
from engine.trace import checks
from engine.tree import build
from engine.values import Bindings, closure
from policy.conditions import ast as a
from policy.document import Program
from policy.events import (
    DEFAULT_WINDOW_DAYS,
    DepartmentEvent,
    event_facts,
    in_window,
    parse_event,
    suggested_facts,
)
from policy.facts import FactSet, Household, derive, parse_household
from policy.schema import Scope as FactScope
from policy.semantics import Value

# What makes two firings of a rule the same alert. "year": one alert a calendar year per
# household (repeats within it attach their events); "member": one per member named;
# "grant": one per kind and date of grant (a household can be granted relief again).
CAUSES: dict[str, str] = {
    "alert.large_medical_expense": "year",
    "alert.new_dibao_or_temporary_relief": "grant",
    "alert.new_severe_disability": "member",
    "alert.school_dropout": "member-year",
    "alert.housing_unsafe": "year",
    "alert.income_drop": "year",
}


def cause_of(rule: str, event: DepartmentEvent) -> str:
    """The cause an event's firing of ``rule`` is filed under (see ``CAUSES``)."""
    kind = CAUSES.get(rule, "year")
    year = str(event.occurred_on.year)
    if kind == "grant":
        return f"{event.kind}:{event.occurred_on.isoformat()}"
    if kind == "member":
        return f"member:{event.member_id or '-'}"
    if kind == "member-year":
        return f"member:{event.member_id or '-'}:{year}"
    return year


@dataclass(frozen=True)
class RaisedAlert:
    """One alert an event raised: its rule (the outcome code), cause and explanation."""

    rule: str
    cause: str
    event: DepartmentEvent
    member_id: str | None
    outcome: Outcome
    version: VersionRef
    suggested: tuple[tuple[str, str], ...]
    # The events behind it: the firing event, and for a rule that reads a windowed sum the
    # window's events that make up the sum.
    evidence: tuple[DepartmentEvent, ...] = ()


def window_days(program: Program) -> int:
    """The version's window length (parameter ``windowDays``, 365 by default)."""
    return int(program.parameters.get("windowDays", DEFAULT_WINDOW_DAYS))


def evaluate_event(
    program: Program, ref: VersionRef, household: Household, event: DepartmentEvent,
    window: Sequence[DepartmentEvent], *, explain_all: bool = False,
) -> tuple[ProgramResult, list[RaisedAlert]]:
    """Evaluate one event; the explained result and the alerts (its GRANTED outcomes).
    ``window`` holds the household's other events (any order; those outside the window of the
    event's date are not counted). Most events raise nothing: then the outcomes are explained
    only with ``explain_all`` (the condition tree still checks durable_rules' verdict)."""
    days = window_days(program)
    facts = event_facts(derive(household, event.occurred_on), event, window, days)
    verdicts = fire(load(program), facts)
    if explain_all:
        tree = trace_rules(program, facts)
        check_agreement(program, verdicts, tree)
        result = explain_program(program, ref, facts, verdicts, tree)
    else:
        # Event facts (amounts, sums) seldom repeat, so the engine's memos (keyed by the
        # values a condition reads) would only fill up: the tree is evaluated without them,
        # and only the rules that fire are explained.
        check_agreement(program, verdicts, _tree_verdicts(program, facts))
        result = ProgramResult(program.code, ref, _granted(program, facts, verdicts))
    granted = [o for o in result.outcomes if o.status is Status.GRANTED]
    if not granted:  # most events: no alert, nothing more to work out
        return result, []
    member_index = (next((i for i, m in enumerate(household.members) if m.id == event.member_id),
                         None) if event.member_id else None)
    stored = household.model_dump(mode="json", exclude_none=True)
    reads_window = _window_rules(program)
    summed = tuple(sorted(
        {e.key: e for e in [*window, event] if e.kind == "INPATIENT_COST"
         and in_window(e.occurred_on, event.occurred_on, days)}.values(),
        key=lambda e: (e.occurred_on, e.key)))
    raised = [
        RaisedAlert(
            rule=o.code, cause=cause_of(o.code, event), event=event,
            member_id=event.member_id if member_index is not None else None,
            outcome=o, version=ref,
            suggested=tuple(suggested_facts(event, member_index, stored, window, days)),
            evidence=(summed if any(reads_window.get(r.rule_id) for r in o.reasons)
                      else (event,)),
        )
        for o in granted
    ]
    return result, raised


_CLOSURES: dict[str, tuple[Callable[[Bindings], Value], ...]] = {}


def _closures(program: Program) -> tuple[Callable[[Bindings], Value], ...]:
    found = _CLOSURES.get(program.content_hash)
    if found is None:
        found = _CLOSURES[program.content_hash] = tuple(closure(r.condition)
                                                        for r in program.rules)
    return found


def _scopes(program: Program, facts: FactSet) -> tuple[Bindings, list[Bindings]]:
    members = [facts.member_context(i) for i in range(len(facts.members))]
    return (Bindings(facts.household, program.parameters, members),
            [Bindings(m, program.parameters) for m in members])


def _tree_verdicts(program: Program, facts: FactSet) -> Traced:
    """Every rule's Kleene verdict from the condition tree (no checks, no memo)."""
    household, members = _scopes(program, facts)
    out: Traced = {}
    for i, (rule, verdict) in enumerate(zip(program.rules, _closures(program), strict=True)):
        # Only the verdicts are read (check_agreement): no checks, no tree.
        if rule.scope is FactScope.HOUSEHOLD:
            out[(i, None)] = (verdict(household), (), _NO_TREE)  # type: ignore[assignment]
        else:
            for m, scope in enumerate(members):
                out[(i, m)] = (verdict(scope), (), _NO_TREE)  # type: ignore[assignment]
    return out


_NO_TREE = None


class _Tree:
    """An alert's condition tree (``engine.tree``), built when first read."""

    __slots__ = ("_args",)

    def __init__(self, node: a.Node, scope: Bindings, member_ids: tuple[str, ...]):
        self._args = (node, scope, member_ids)

    def get(self) -> ConditionNode:
        return build(*self._args)


def _granted(program: Program, facts: FactSet, verdicts: Verdicts) -> tuple[Outcome, ...]:
    """The outcomes of the rules that fired, each explained by its rule's checks (actual and
    expected values) and citation. Early-warning rules have no exclusive groups."""
    household, members = _scopes(program, facts)
    out = []
    fired = [(i, None) for i in sorted(verdicts.household)] + [
        (i, m) for m, rules in enumerate(verdicts.members) for i in sorted(rules)]
    for i, m in fired:
        rule = program.rules[i]
        scope = household if m is None else members[m]
        c = rule.spec.citation
        reason = Reason(rule.id, rule.spec.reason.zh, rule.spec.reason.en,
                        Citation(c.document, c.clause, c.quote, c.url),
                        tuple(x.check for x in checks(rule.condition, scope,
                                                      facts.member_ids)),
                        _Tree(rule.condition, scope, facts.member_ids))
        out.append(Outcome(rule.spec.outcome, rule.spec.title.zh, rule.spec.title.en,
                           None if m is None else facts.member_ids[m], Status.GRANTED, None,
                           None, (), (reason,), (), rule.spec.flagsMonitoring))
    return tuple(out)


_WINDOW_RULES: dict[str, dict[str, bool]] = {}


def _window_rules(program: Program) -> dict[str, bool]:
    """Per rule id: does its condition read the window's sum (definitions included)?"""
    found = _WINDOW_RULES.get(program.content_hash)
    if found is None:
        def reads(node: a.Node) -> bool:
            for n in a.walk(node):
                if isinstance(n, a.FactRef) and n.name == "windowInpatientSelfPaid":
                    return True
                if isinstance(n, a.DefRef) and n.body is not None and reads(n.body):
                    return True
            return False

        found = _WINDOW_RULES[program.content_hash] = {
            r.id: reads(r.condition) for r in program.rules}
    return found


def determine_events(
    program: Program, ref: VersionRef, household: Household | dict[str, object],
    events: Sequence[DepartmentEvent], as_of: date,
) -> Determination:
    """All of a household's events evaluated, as one determination: an alert's outcome is
    GRANTED when some event raised it (for a version's own test cases)."""
    hh = household if isinstance(household, Household) else parse_household(household, as_of)
    best: dict[tuple[str, str | None], Outcome] = {}
    for event in events:
        result, _ = evaluate_event(program, ref, hh, event, events, explain_all=True)
        for o in result.outcomes:
            key = (o.code, o.member_id)
            if key not in best or (o.status is Status.GRANTED
                                   and best[key].status is not Status.GRANTED):
                best[key] = o
    return Determination(as_of=as_of, household_id=hh.id,
                         programs=(ProgramResult(program.code, ref, tuple(best.values())),),
                         flagged_for_monitoring=False)


def parse_case_events(data: Sequence[dict[str, object]], as_of: date) -> list[DepartmentEvent]:
    """A test case's events (EventInput JSON), validated as of the case's date."""
    return [parse_event(e, today=as_of, path=f"events[{i}]") for i, e in enumerate(data)]
