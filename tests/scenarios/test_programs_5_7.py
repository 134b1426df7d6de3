"""Programs 5-7 (temporary assistance, public-welfare jobs, rural housing) at their boundaries,
with the two facts they brought (temporaryAssistanceLast12Months, employmentStatus). Every
household evaluated here is also screened by the batch backend, which must give the interactive
engine's rows exactly, at every boundary."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from engine.batch import screen_households
from engine.batch.table import determination_rows
from engine.determine import determine
from engine.results import Determination, Outcome, Status
from policy.document import compile_document, load_document
from policy.errors import DocumentInvalid, FactsInvalid
from policy.facts import parse_household
from services.rulesets import load_catalog
from tests.batch.reference import normalise

CATALOG = load_catalog()
AS_OF = date(2024, 6, 30)


def evaluate(data: dict[str, Any], *programs: str, as_of: date = AS_OF) -> Determination:
    """The interactive determination, checked against the batch backend's rows."""
    versions = CATALOG.in_force(as_of, list(programs))
    det = determine(data, as_of, versions)
    batch = screen_households([data], as_of, versions).to_dicts()
    interactive = determination_rows(det, data.get("regionCode", "000000"))
    assert normalise(batch) == normalise(interactive)
    return det


def outcome(det: Determination, code: str, member: str | None = None) -> Outcome:
    found = [o for o in det.outcomes() if o.code == code and o.member_id == member]
    assert len(found) == 1, (code, member, [(o.code, o.member_id) for o in det.outcomes()])
    return found[0]


def household(members: int = 1, **facts: Any) -> dict[str, Any]:
    return {"id": "h", **facts,
            "members": [{"id": f"m{i + 1}", "birthDate": "1975-01-01"} for i in range(members)]}


def test_new_facts_take_the_contracts_defaults_and_are_checked() -> None:
    hh = parse_household(household(), AS_OF)
    assert hh.temporaryAssistanceLast12Months is False
    assert hh.members[0].employmentStatus == "EMPLOYED"
    bad = household(temporaryAssistanceLast12Months="yes")
    bad["members"][0]["employmentStatus"] = "RETIRED"
    with pytest.raises(FactsInvalid) as info:
        parse_household(bad, AS_OF)
    assert [(e.field, e.code) for e in info.value.errors] == [
        ("members[0].employmentStatus", "INVALID_VALUE"),
        ("temporaryAssistanceLast12Months", "WRONG_TYPE")]


def test_programs_are_owned_and_in_force_from_2023() -> None:
    owners = {r.program.code: r.program.document.owner for r in CATALOG.records}
    assert owners["temporary_assistance"] == "县民政局"
    assert owners["employment"] == "县人社局"
    assert owners["housing"] == "县住建局"
    assert CATALOG.in_force(date(2022, 12, 31), ["housing"]) == []
    assert [p.code for p, _ in CATALOG.in_force(date(2023, 1, 1), ["housing"])] == ["housing"]


# --- temporary assistance ---------------------------------------------------------------------


@pytest.mark.parametrize(("members", "amount"), [(1, 3600), (5, 18000), (6, 20000), (8, 20000)])
def test_emergency_amount_is_six_months_of_the_standard_up_to_the_cap(
        members: int, amount: float) -> None:
    det = evaluate(household(members, annualNetIncome=1000, accidentLoss=100),
                   "temporary_assistance")
    o = outcome(det, "temporary_assistance.emergency")
    assert (o.status, o.amount, o.period) == (Status.GRANTED, amount, "ONCE")
    assert outcome(det, "temporary_assistance.ordinary").status is Status.NOT_GRANTED


@pytest.mark.parametrize(("income", "status"), [(12000.99, Status.GRANTED),
                                                (12001, Status.NOT_GRANTED)])
def test_emergency_needs_income_after_rigid_expenses_below_the_line(
        income: float, status: Status) -> None:
    # Two members and 1 yuan of rigid expenses: (12001 - 1) / 2 is the line itself.
    det = evaluate(household(2, annualNetIncome=income, disasterLoss=1),
                   "temporary_assistance")
    assert outcome(det, "temporary_assistance.emergency").status is status


def test_emergency_needs_rigid_expenses() -> None:
    det = evaluate(household(2, annualNetIncome=0, previousAnnualNetIncome=1000),
                   "temporary_assistance")
    assert outcome(det, "temporary_assistance.emergency").status is Status.NOT_GRANTED
    # income fell by all of it: ordinary assistance instead.
    o = outcome(det, "temporary_assistance.ordinary")
    assert (o.status, o.amount) == (Status.GRANTED, 3600)


@pytest.mark.parametrize(("income", "status"), [(12000, Status.GRANTED),
                                                (12000.01, Status.NOT_GRANTED)])
def test_ordinary_at_a_drop_ratio_of_exactly_one_half(income: float, status: Status) -> None:
    det = evaluate(household(2, annualNetIncome=income, previousAnnualNetIncome=24000),
                   "temporary_assistance")
    assert outcome(det, "temporary_assistance.ordinary").status is status


@pytest.mark.parametrize(("income", "status"), [(17999.99, Status.GRANTED),
                                                (18000, Status.NOT_GRANTED)])
def test_ordinary_needs_per_capita_income_below_the_hardship_band(
        income: float, status: Status) -> None:
    # One member: 1.5 x 6000 = 9000 a person; previous income high enough for a sharp drop.
    det = evaluate(household(2, annualNetIncome=income, previousAnnualNetIncome=100000),
                   "temporary_assistance")
    assert outcome(det, "temporary_assistance.ordinary").status is status


def test_ordinary_is_undetermined_without_the_previous_income() -> None:
    for previous in ({}, {"previousAnnualNetIncome": 0}):
        det = evaluate(household(2, annualNetIncome=12000, **previous), "temporary_assistance")
        o = outcome(det, "temporary_assistance.ordinary")
        assert o.status is Status.UNDETERMINED
        assert o.missing_facts == ("previousAnnualNetIncome",)


def test_unknown_previous_income_does_not_matter_when_emergency_is_granted_or_income_high(
) -> None:
    det = evaluate(household(2, annualNetIncome=10000, disasterLoss=1), "temporary_assistance")
    assert outcome(det, "temporary_assistance.emergency").status is Status.GRANTED
    assert outcome(det, "temporary_assistance.ordinary").status is Status.NOT_GRANTED
    det = evaluate(household(2, annualNetIncome=18000), "temporary_assistance")
    assert outcome(det, "temporary_assistance.ordinary").status is Status.NOT_GRANTED


def test_no_assistance_within_twelve_months_of_the_last() -> None:
    for facts in ({"annualNetIncome": 1000, "accidentLoss": 100},
                  {"annualNetIncome": 1000, "previousAnnualNetIncome": 50000}):
        assisted = evaluate(household(2, temporaryAssistanceLast12Months=True, **facts),
                            "temporary_assistance")
        assert {o.status for o in assisted.outcomes()} == {Status.NOT_GRANTED}
        fresh = evaluate(household(2, **facts), "temporary_assistance")
        assert Status.GRANTED in {o.status for o in fresh.outcomes()}


# --- employment --------------------------------------------------------------------------------


def _job(birth: str, **member: Any) -> Outcome:
    data = household(1, povertyAlleviated=True)
    data["members"][0].update({"birthDate": birth, "employmentStatus": "UNEMPLOYED", **member})
    return outcome(evaluate(data, "employment"), "employment.public_welfare_job", "m1")


@pytest.mark.parametrize(("birth", "status"), [
    ("2008-07-01", Status.NOT_GRANTED),  # 15 on 2024-06-30
    ("2008-06-30", Status.GRANTED),      # 16 that day
    ("1963-07-01", Status.GRANTED),      # 60
    ("1963-06-30", Status.NOT_GRANTED),  # 61 that day
])
def test_public_welfare_job_ages_16_to_60(birth: str, status: Status) -> None:
    o = _job(birth)
    assert o.status is status
    if status is Status.GRANTED:
        assert (o.amount, o.period) == (500, "MONTH")


@pytest.mark.parametrize(("member", "status"), [
    ({"laborCapacity": "PARTIAL"}, Status.GRANTED),
    ({"laborCapacity": "NONE"}, Status.NOT_GRANTED),
    ({"employmentStatus": "EMPLOYED"}, Status.NOT_GRANTED),
    ({"employmentStatus": "NOT_SEEKING"}, Status.NOT_GRANTED),
    ({"schoolStage": "SENIOR"}, Status.NOT_GRANTED),
])
def test_public_welfare_job_needs_capacity_unemployment_and_no_school(
        member: dict[str, Any], status: Status) -> None:
    assert _job("1980-01-01", **member).status is status


def test_public_welfare_job_only_for_alleviated_or_monitored_households() -> None:
    for flags, status in (({"monitored": True}, Status.GRANTED),
                          ({"dibao": True}, Status.NOT_GRANTED), ({}, Status.NOT_GRANTED)):
        data = household(1, **flags)
        data["members"][0]["employmentStatus"] = "UNEMPLOYED"
        det = evaluate(data, "employment")
        assert outcome(det, "employment.public_welfare_job", "m1").status is status


# --- housing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("grade", "repair", "rebuild"), [
    ("A", Status.NOT_GRANTED, Status.NOT_GRANTED),
    ("B", Status.NOT_GRANTED, Status.NOT_GRANTED),
    ("C", Status.GRANTED, Status.NOT_GRANTED),
    ("D", Status.NOT_GRANTED, Status.GRANTED),
])
def test_housing_grade_c_repairs_grade_d_rebuilds(
        grade: str, repair: Status, rebuild: Status) -> None:
    det = evaluate(household(1, dibao=True, housingSafetyGrade=grade), "housing")
    assert outcome(det, "housing.repair").status is repair
    assert outcome(det, "housing.rebuild").status is rebuild
    amounts = {o.code: o.amount for o in det.outcomes() if o.status is Status.GRANTED}
    assert amounts == {"C": {"housing.repair": 10000}, "D": {"housing.rebuild": 35000}}.get(
        grade, {})


@pytest.mark.parametrize("flags", [{"povertyAlleviated": True}, {"monitored": True},
                                   {"dibao": True}, {"dibaoMarginal": True}, {"tekun": True}])
def test_housing_for_each_kind_of_low_income_household(flags: dict[str, Any]) -> None:
    data = household(2, housingSafetyGrade="D")
    if "tekun" in flags:
        data["members"][1]["tekun"] = True
    else:
        data.update(flags)
    det = evaluate(data, "housing")
    assert outcome(det, "housing.rebuild").status is Status.GRANTED
    assert outcome(evaluate(household(2, housingSafetyGrade="D"), "housing"),
                   "housing.rebuild").status is Status.NOT_GRANTED


# --- the catalogue version ---------------------------------------------------------------------


def test_a_rule_set_of_catalogue_version_1_cannot_name_the_new_facts() -> None:
    doc = {"program": "x", "version": 1, "title": {"zh": "x", "en": "x"}, "owner": "o",
           "rules": [{"id": "x.a", "outcome": "x.a", "title": {"zh": "a", "en": "a"},
                      "per": "household", "condition": "temporaryAssistanceLast12Months",
                      "reason": {"zh": "r", "en": "r"},
                      "citation": {"document": "d", "clause": "c"}}]}
    with pytest.raises(DocumentInvalid) as info:
        compile_document(load_document(doc))
    assert [(e.field, e.code) for e in info.value.errors] == [("rules[0]", "FACT_TOO_NEW")]
    doc["factsVersion"] = 2
    assert compile_document(load_document(doc)).code == "x"
