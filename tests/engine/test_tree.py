"""Explanation trees: for every shipped version on households drawn field by field, each reason's
tree has the outcome's status as its result, follows Kleene logic node by node, and its
``decided`` marks are a minimal set of nodes that alone justify the result."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings

from engine.determine import determine
from engine.results import ConditionNode, Determination, Status, at_depth
from engine.tree import walk
from engine.values import k_and, k_not, k_or
from engine.warning import determine_events, parse_case_events
from policy.semantics import UNKNOWN, Value
from services.rulesets import load_catalog
from tests.strategies import households

CATALOG = load_catalog()
RECORDS = list(CATALOG.records)
AS_OF = date(2024, 6, 1)
WANT = {Status.GRANTED: True, Status.NOT_GRANTED: False, Status.UNDETERMINED: None}
JUNCTIONS = {"AND": k_and, "ALL_MEMBERS": k_and, "OR": k_or, "ANY_MEMBER": k_or}
BOOLEAN_KINDS = {"AND", "OR", "NOT", "ANY_MEMBER", "ALL_MEMBERS", "COMPARE", "IN", "BETWEEN",
                 "PRIORITY"}


def value(node: ConditionNode) -> Value:
    return UNKNOWN if node.result is None else node.result


def check_logic(node: ConditionNode) -> None:
    """Every junction and negation has the Kleene value of its children."""
    for n in walk(node):
        kids = [value(c) for c in n.children]
        if n.kind in JUNCTIONS:
            assert value(n) is JUNCTIONS[n.kind](kids), n.expression
        elif n.kind == "NOT":
            assert value(n) is k_not(kids[0]), n.expression
        elif n.kind in ("FACT", "DEFINITION") and n.children:
            # A derived fact is what its definition computes.
            (body,) = n.children
            if body.kind in BOOLEAN_KINDS or n.actual in ("true", "false"):
                assert n.result is body.result, n.expression
            else:
                assert n.actual == body.actual, n.expression
        if n.kind in ("ANY_MEMBER", "ALL_MEMBERS"):
            assert list(n.member_ids) == [c.member_ids[0] for c in n.children
                                          if c.result is True]


def _justified(combine: object, fixed: list[Value], free: int, want: Value) -> bool:
    """Whether the junction's result is ``want`` whatever values the free operands take."""
    for rest in itertools.product((True, False, UNKNOWN), repeat=free):
        if combine([*fixed, *rest]) is not want:  # type: ignore[operator]
            return False
    return True


def check_decided(node: ConditionNode, decided: bool = True) -> None:
    assert node.decided is decided, node.expression
    if not decided:
        for c in node.children:
            check_decided(c, False)
        return
    if node.kind in JUNCTIONS:
        combine = JUNCTIONS[node.kind]
        marked = [value(c) for c in node.children if c.decided]
        free = len(node.children) - len(marked)
        # The decided operands alone justify the result ...
        assert _justified(combine, marked, free, value(node)), node.expression
        # ... and none of them can be left out.
        for i in range(len(marked)):
            rest = marked[:i] + marked[i + 1:]
            assert not _justified(combine, rest, free + 1, value(node)), node.expression
        for c in node.children:
            check_decided(c, c.decided)
    else:
        for c in node.children:
            check_decided(c, True)


def check_cut(full: ConditionNode, cut: ConditionNode, depth: int | None = 0) -> None:
    """``cut`` is ``full`` with derived facts opened ``depth`` levels (None: all): the same
    nodes down to the cut, a derived fact below it without its definition."""
    assert full._replace(children=()) == cut._replace(children=()), full.expression
    if full.kind == "FACT" and full.children:
        if depth == 0:
            assert cut.children == (), cut.expression
            return
        depth = None if depth is None else depth - 1
    assert len(full.children) == len(cut.children), full.expression
    for f, c in zip(full.children, cut.children, strict=True):
        check_cut(f, c, depth)


def check_trees(det: Determination) -> None:
    for outcome in det.outcomes():
        assert outcome.reasons
        for reason in outcome.reasons:
            tree = reason.condition
            assert tree.result is WANT[outcome.status], (outcome.code, tree.expression)
            check_logic(tree)
            check_decided(tree)
            # Cutting derived facts' expansions keeps every node above the cut as it was.
            check_cut(tree, at_depth(tree, 0))
            check_cut(tree, at_depth(tree, None), None)
            check_cut(tree, at_depth(tree, 1), 1)


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.id)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hh=households(AS_OF))
def test_trees_give_the_status_and_minimal_decided_marks(record, hh) -> None:  # type: ignore[no-untyped-def]
    check_trees(determine(hh, AS_OF, [(record.program, CATALOG.ref(record))]))


# Drawn households reach some outcomes rarely (a member unemployed in a poor household of
# working age, a monitored household ready to be marked risk-eliminated, catastrophic medical
# costs outside the higher tiers): each version's own test cases grant and refuse every
# outcome, so every rule's tree is checked granted and not granted on every run.
CASES = [(record, case) for record in RECORDS for case in record.program.document.tests
         if not case.events]


@pytest.mark.parametrize(("record", "case"), CASES,
                         ids=[f"{r.id}: {c.name}" for r, c in CASES])
def test_trees_of_each_versions_own_test_cases(record, case) -> None:  # type: ignore[no-untyped-def]
    check_trees(determine(case.household, case.asOf, [(record.program, CATALOG.ref(record))]))


# The early-warning rules read a department's event with the household: their trees are
# checked on their version's own cases, each a household with its events.
WARNING = load_catalog(events=True)
EVENT_CASES = [(record, case) for record in WARNING.records
               for case in record.program.document.tests if case.events]


@pytest.mark.parametrize(("record", "case"), EVENT_CASES,
                         ids=[f"{r.id}: {c.name}" for r, c in EVENT_CASES])
def test_trees_of_the_early_warning_rules(record, case) -> None:  # type: ignore[no-untyped-def]
    det = determine_events(record.program, WARNING.ref(record), case.household,
                           parse_case_events(case.events, case.asOf), case.asOf)
    check_trees(det)


def test_the_test_cases_grant_and_refuse_every_outcome() -> None:
    seen: dict[tuple[str, str], set[Status]] = {}
    for record, case in CASES:
        det = determine(case.household, case.asOf, [(record.program, CATALOG.ref(record))])
        for o in det.outcomes():
            seen.setdefault((record.id, o.code), set()).add(o.status)
    for record, case in EVENT_CASES:
        det = determine_events(record.program, WARNING.ref(record), case.household,
                               parse_case_events(case.events, case.asOf), case.asOf)
        for o in det.outcomes():
            seen.setdefault((record.id, o.code), set()).add(o.status)
    for record in [*RECORDS, *WARNING.records]:
        for code in record.program.outcome_codes():
            got = seen.get((record.id, code), set())
            assert {Status.GRANTED, Status.NOT_GRANTED} <= got, (record.id, code, got)


def test_the_issue_examples_read_as_written() -> None:
    """``not tekun`` shows the expression's value; alternatives are an ``or`` with the branch
    that carried it decided; a quantifier names its members; derived facts open up."""
    hh = {"id": "x", "dibao": True, "annualNetIncome": 9000,
          "members": [{"id": "m1", "birthDate": "1960-01-01", "disabilityGrade": 1,
                       "disabilityKind": "PHYSICAL"},
                      {"id": "m2", "birthDate": "1990-01-01"}]}
    det = determine(hh, AS_OF, CATALOG.in_force(AS_OF))
    living = next(o for o in det.outcomes() if o.code == "disability.living_subsidy"
                  and o.member_id == "m1")
    assert living.status is Status.GRANTED
    tree = living.reasons[0].condition
    assert tree.kind == "AND" and tree.result is True
    either = next(c for c in tree.children if c.expression == "dibao or monitored")
    assert either.kind == "OR"
    assert [(c.expression, c.result, c.decided) for c in either.children] == [
        ("dibao", True, True), ("monitored", False, False)]
    negation = next(c for c in tree.children if c.expression == "not tekun")
    assert (negation.kind, negation.result, negation.actual) == ("NOT", True, "true")
    assert negation.children[0].actual == "false"

    home = next(o for o in det.outcomes() if o.code == "disability.home_accessibility")
    quantifier = next(n for n in walk(home.reasons[0].condition) if n.kind == "ANY_MEMBER")
    assert quantifier.member_ids == ("m1",)
    assert [c.member_ids for c in quantifier.children] == [("m1",), ("m2",)]

    marginal = next(o for o in det.outcomes() if o.code == "monitoring.marginal_at_risk")
    low = next(n for n in walk(marginal.reasons[0].condition)
               if n.expression == "perCapitaNetIncome")
    assert low.kind == "FACT" and low.actual == "4500.00"
    (definition,) = low.children
    assert definition.expression == "annualNetIncome / householdSize"
    assert [c.actual for c in definition.children] == ["9000.00", "2"]


def test_a_superseded_rule_says_so_in_its_tree() -> None:
    hh = {"id": "x", "dibao": True, "members": [{"id": "m1", "birthDate": "1960-01-01",
                                                  "tekun": True}]}
    det = determine(hh, AS_OF, CATALOG.in_force(AS_OF))
    tier2 = next(o for o in det.outcomes() if o.code == "medical.tier2")
    assert tier2.status is Status.NOT_GRANTED
    tree = tier2.reasons[0].condition
    assert tree.result is False and tree.children[0].result is True
    guard = tree.children[1]
    assert guard.kind == "PRIORITY" and guard.decided and guard.actual == "medical.tier1"
    assert not tree.children[0].decided
    # In words, the item above by its title, not its code or its group's.
    from engine.words import actual_text, node_text

    title = "医疗救助第一档（特困人员、孤儿）"
    assert node_text(guard) == f"同组更高优先级的项目（{title}）不适用"
    assert actual_text(guard) == title
    assert node_text(tree) == f"低保户 且 同组更高优先级的项目（{title}）不适用"
    assert node_text(guard, "EN").startswith("no higher-priority item of the group applies "
                                             "(Medical relief tier 1")
