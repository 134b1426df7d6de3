"""The shipped early_warning rules: each fires on its trigger and not one yuan, one day or one
grade short of it; the 365-day window's edges; durable_rules and the condition tree agree on
every event; every alert is explained like a determination's outcome."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from engine.results import Status
from engine.testcases import draft_ref
from engine.warning import evaluate_event
from policy.document import Program
from policy.errors import DocumentInvalid
from policy.events import parse_event
from policy.facts import parse_household
from services.rulesets import RULESETS, load_file

PROGRAM: Program = load_file(RULESETS / "early_warning" / "v1.yaml")
REF = draft_ref(PROGRAM, "PUBLISHED")
ON = date(2023, 6, 1)


def hh(**facts: Any) -> dict[str, Any]:
    members = facts.pop("members", None) or [
        {"id": "m1", "relation": "HEAD", "birthDate": "1970-05-01"},
        {"id": "m2", "relation": "CHILD", "birthDate": "2010-06-01", "schoolStage": "PRIMARY"},
    ]
    return {"id": "h", "annualNetIncome": 30000, "members": members, **facts}


def ev(kind: str, on: date = ON, n: int = 1, **more: Any) -> dict[str, Any]:
    return {"source": "医保", "eventId": f"e{n}", "kind": kind, "householdId": "h",
            "occurredOn": on.isoformat(), **more}


def raised(household: dict[str, Any], *events: dict[str, Any]) -> set[str]:
    """The alert rules the last event raises, with the others as its window."""
    parsed = [parse_event(e, today=date(2030, 1, 1)) for e in events]
    facts = parse_household(household, parsed[-1].occurred_on)
    _, alerts = evaluate_event(PROGRAM, REF, facts, parsed[-1], parsed)
    return {a.rule for a in alerts}


MEDICAL = "alert.large_medical_expense"


@pytest.mark.parametrize(("facts", "line"), [
    ({"povertyAlleviated": True}, 5000), ({"monitored": True, "monitoredSince": "2023-01-01"},
                                          5000), ({}, 20000)])
def test_large_medical_expense_at_the_line_and_one_cent_short(facts: dict[str, Any],
                                                              line: int) -> None:
    assert MEDICAL in raised(hh(**facts), ev("INPATIENT_COST", memberId="m1", amount=line))
    assert MEDICAL not in raised(hh(**facts),
                                 ev("INPATIENT_COST", memberId="m1", amount=line - 0.01))


def test_medical_costs_summed_over_the_window_edges() -> None:
    # 12000 + 8000 reach 20000 when the first stay is 364 days before the second (inside the
    # 365-day window), not when it is 365 days before.
    inside = ev("INPATIENT_COST", ON - timedelta(days=364), 1, memberId="m1", amount=12000)
    outside = ev("INPATIENT_COST", ON - timedelta(days=365), 1, memberId="m1", amount=12000)
    last = ev("INPATIENT_COST", ON, 2, memberId="m2", amount=8000)
    assert MEDICAL in raised(hh(), inside, last)
    assert MEDICAL not in raised(hh(), outside, last)
    # Events after the evaluated one are not in its window.
    later = ev("INPATIENT_COST", ON + timedelta(days=1), 3, memberId="m1", amount=12000)
    assert MEDICAL not in raised(hh(), later, last)


def test_dibao_or_relief_for_a_household_not_monitored() -> None:
    rule = "alert.new_dibao_or_temporary_relief"
    assert rule in raised(hh(), ev("DIBAO_GRANTED"))
    assert rule in raised(hh(), ev("TEMPORARY_RELIEF_GRANTED", amount=800))
    assert rule not in raised(hh(dibao=True), ev("DIBAO_GRANTED"))  # not new
    assert rule not in raised(hh(monitored=True, monitoredSince="2023-01-01"),
                              ev("TEMPORARY_RELIEF_GRANTED"))


@pytest.mark.parametrize(("grade", "fires"), [("1", True), ("2", True), ("3", False),
                                              ("4", False)])
def test_severe_disability_is_grade_one_or_two(grade: str, fires: bool) -> None:
    rule = "alert.new_severe_disability"
    assert (rule in raised(hh(), ev("DISABILITY_CERTIFIED", memberId="m1", value=grade))) is fires


def test_severe_disability_already_certified_is_not_new() -> None:
    members = [{"id": "m1", "relation": "HEAD", "birthDate": "1970-05-01",
                "disabilityGrade": 2, "disabilityKind": "PHYSICAL"}]
    assert "alert.new_severe_disability" not in raised(
        hh(members=members), ev("DISABILITY_CERTIFIED", memberId="m1", value="1"))


@pytest.mark.parametrize(("born", "fires"), [
    ("2017-06-01", True),    # 6 on the day
    ("2017-06-02", False),   # one day short of 6
    ("2007-06-02", True),    # 15, a day short of 16
    ("2007-06-01", False),   # 16 on the day
])
def test_school_dropout_of_a_member_aged_6_to_15(born: str, fires: bool) -> None:
    members = [{"id": "m1", "relation": "HEAD", "birthDate": "1980-05-01"},
               {"id": "m2", "relation": "CHILD", "birthDate": born}]
    got = raised(hh(members=members), ev("SCHOOL_DROPOUT", memberId="m2"))
    assert ("alert.school_dropout" in got) is fires
    # The report is about m2: the head's age does not count.
    assert "alert.school_dropout" not in raised(hh(members=members),
                                                ev("SCHOOL_DROPOUT", memberId="m1"))


@pytest.mark.parametrize(("grade", "fires"), [("A", False), ("B", False), ("C", True),
                                              ("D", True)])
def test_housing_regraded_c_or_d(grade: str, fires: bool) -> None:
    assert ("alert.housing_unsafe" in raised(hh(), ev("HOUSING_REGRADED", value=grade))) is fires


def test_income_drop_at_the_ratio_and_one_yuan_short() -> None:
    rule = "alert.income_drop"
    assert rule in raised(hh(annualNetIncome=30000), ev("INCOME_REPORTED", amount=15000))
    assert rule not in raised(hh(annualNetIncome=30000), ev("INCOME_REPORTED", amount=15001))
    # No registered income: the drop is unknown, so no alert (and no crash).
    assert rule not in raised(hh(annualNetIncome=0), ev("INCOME_REPORTED", amount=0))


def test_an_alert_is_explained_like_an_outcome() -> None:
    parsed = [parse_event(ev("INPATIENT_COST", memberId="m1", amount=21000), today=ON)]
    _, (alert,) = evaluate_event(PROGRAM, REF, parse_household(hh(), ON), parsed[0], parsed)
    assert alert.outcome.status is Status.GRANTED and alert.member_id == "m1"
    (reason,) = alert.outcome.reasons
    assert reason.citation.clause == "二、2" and "预警监测" in (reason.citation.quote or "")
    checks = {c.expression: (c.actual, c.expected, c.passed) for c in reason.conditions}
    # An event amount is money: two decimals, as every amount.
    assert checks["eventAmount >= medicalLargeOther"] == ("21000.00", ">= 20000.00", True)
    assert alert.suggested == (("members[0].medicalOutOfPocket", "21000"),)


def test_event_facts_are_refused_outside_event_programs() -> None:
    from policy.document import compile_document, load_document

    doc = load_document((RULESETS / "monitoring" / "v1.yaml").read_text(encoding="utf-8"))
    first = doc.rules[0].model_copy(update={"condition": "eventAmount > 1"})
    bad = doc.model_copy(update={"rules": (first, *doc.rules[1:])})
    with pytest.raises(DocumentInvalid) as exc:
        compile_document(bad)
    assert exc.value.errors[0].code == "EVENT_FACT_OUTSIDE_EVENTS"
