"""Household facts: defaults, derived facts, and every invalid case of the contract."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Any

import pytest

from policy.errors import FactsInvalid
from policy.facts import age_on, derive, parse_household
from policy.semantics import UNKNOWN, add_months

AS_OF = date(2024, 6, 1)


def hh(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "h1", "members": [{"id": "m1", "birthDate": "1980-01-01"}]}
    base.update(kw)
    return base


def errors(data: Any, as_of: date = AS_OF) -> list[tuple[str, str]]:
    with pytest.raises(FactsInvalid) as info:
        parse_household(data, as_of)
    return [(e.field, e.code) for e in info.value.errors]


def test_defaults_follow_the_contract() -> None:
    h = parse_household(hh(), AS_OF)
    m = h.members[0]
    assert (h.povertyAlleviated, h.monitored, h.dibao, h.dibaoMarginal) == (False,) * 4
    assert (h.annualNetIncome, h.disasterLoss, h.accidentLoss) == (0, 0, 0)
    assert h.housingSafetyGrade == "A"
    assert h.foodAndClothingSecure and h.drinkingWaterSafe and m.medicallyInsured
    assert (m.schoolStage, m.laborCapacity) == ("NONE", "FULL")
    assert h.previousAnnualNetIncome is None and h.monitoredSince is None


def test_derived_facts() -> None:
    data = hh(
        annualNetIncome=18000, previousAnnualNetIncome=40000, disasterLoss=1000, accidentLoss=500,
        dibaoMarginal=True,
        members=[
            {"id": "a", "birthDate": "1980-06-02", "medicalOutOfPocket": 2500},
            {"id": "b", "birthDate": "2018-06-01", "medicalOutOfPocket": 1000},
            {"id": "c", "birthDate": "1950-01-01", "disabilityGrade": 2,
             "disabilityKind": "VISUAL"},
        ],
    )
    facts = derive(parse_household(data, AS_OF), AS_OF)
    h = facts.household
    assert h["householdSize"] == 3
    assert h["perCapitaNetIncome"] == 6000
    assert h["householdMedicalOutOfPocket"] == 3500
    assert h["rigidExpenses"] == 5000
    # Exact: a quotient that does not terminate is a fraction, not a rounded double.
    assert h["perCapitaIncomeAfterRigid"] == Fraction(13000, 3)
    assert h["incomeDropRatio"] == Fraction(55, 100)
    assert h["economicHardship"] is True
    assert [m["age"] for m in facts.members] == [43, 6, 74]
    assert [m["disabled"] for m in facts.members] == [False, False, True]
    assert facts.members[2]["disabilityGrade"] == 2


def test_unknown_is_not_zero() -> None:
    facts = derive(parse_household(hh(annualNetIncome=100), AS_OF), AS_OF)
    assert facts.household["previousAnnualNetIncome"] is UNKNOWN
    assert facts.household["incomeDropRatio"] is UNKNOWN
    assert facts.household["monitoredSince"] is UNKNOWN
    zero_prev = derive(parse_household(hh(previousAnnualNetIncome=0), AS_OF), AS_OF)
    assert zero_prev.household["incomeDropRatio"] is UNKNOWN


def test_age_and_months() -> None:
    assert age_on(date(2008, 2, 29), date(2024, 2, 28)) == 15
    assert age_on(date(2008, 2, 29), date(2024, 2, 29)) == 16
    assert add_months(date(2023, 8, 31), -6) == date(2023, 2, 28)
    assert add_months(date(2024, 8, 31), -6) == date(2024, 2, 29)
    assert add_months(date(2024, 1, 15), -13) == date(2022, 12, 15)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (hh(colour="red"), [("colour", "UNKNOWN_FIELD")]),
        (hh(members=[{"id": "m1", "birthDate": "1980-01-01", "shoeSize": 3}]),
         [("members[0].shoeSize", "UNKNOWN_FIELD")]),
        (hh(annualNetIncome="900"), [("annualNetIncome", "WRONG_TYPE")]),
        (hh(dibao="yes"), [("dibao", "WRONG_TYPE")]),
        (hh(annualNetIncome=True), [("annualNetIncome", "WRONG_TYPE")]),
        (hh(members=[{"id": "m1", "birthDate": 19800101}]),
         [("members[0].birthDate", "WRONG_TYPE")]),
        (hh(annualNetIncome=-1), [("annualNetIncome", "NEGATIVE_AMOUNT")]),
        (hh(annualNetIncome=float("inf")), [("annualNetIncome", "NOT_FINITE")]),
        (hh(disasterLoss=float("nan")), [("disasterLoss", "NOT_FINITE")]),
        (hh(annualNetIncome=2e12), [("annualNetIncome", "AMOUNT_TOO_LARGE")]),
        (hh(members=[{"id": "m1", "birthDate": "1980-01-01", "medicalOutOfPocket": 1e16}]),
         [("members[0].medicalOutOfPocket", "AMOUNT_TOO_LARGE")]),
        (hh(previousAnnualNetIncome=-5), [("previousAnnualNetIncome", "NEGATIVE_AMOUNT")]),
        (hh(members=[{"id": "m1", "birthDate": "1980-01-01", "medicalOutOfPocket": -3}]),
         [("members[0].medicalOutOfPocket", "NEGATIVE_AMOUNT")]),
        (hh(members=[]), [("members", "NO_MEMBERS")]),
        (hh(members=[{"id": f"m{i}", "birthDate": "1980-01-01"} for i in range(21)]),
         [("members", "TOO_MANY_MEMBERS")]),
        (hh(members=[{"id": "a", "birthDate": "1980-01-01"},
                     {"id": "a", "birthDate": "1981-01-01"}]),
         [("members[1].id", "DUPLICATE_MEMBER_ID")]),
        (hh(members=[{"id": "a", "birthDate": "2024-06-02"}]),
         [("members[0].birthDate", "BIRTH_AFTER_AS_OF")]),
        (hh(members=[{"id": "a", "birthDate": "1903-01-01"}]),
         [("members[0].birthDate", "AGE_OVER_LIMIT")]),
        (hh(members=[{"id": "a", "birthDate": "1980-01-01", "disabilityGrade": 5,
                      "disabilityKind": "VISUAL"}]),
         [("members[0].disabilityGrade", "DISABILITY_GRADE_RANGE")]),
        (hh(members=[{"id": "a", "birthDate": "1980-01-01", "disabilityGrade": 2}]),
         [("members[0].disabilityKind", "DISABILITY_KIND_REQUIRED")]),
        (hh(members=[{"id": "a", "birthDate": "1980-01-01", "disabilityKind": "VISUAL"}]),
         [("members[0].disabilityGrade", "DISABILITY_GRADE_REQUIRED")]),
        (hh(members=[{"id": "a", "birthDate": "1980-01-01", "schoolStage": "MIDDLE"}]),
         [("members[0].schoolStage", "INVALID_VALUE")]),
        (hh(housingSafetyGrade="E"), [("housingSafetyGrade", "INVALID_VALUE")]),
        ({"members": [{"id": "a", "birthDate": "1980-01-01"}]}, [("id", "REQUIRED")]),
        (hh(members=[{"id": "a"}]), [("members[0].birthDate", "REQUIRED")]),
        (hh(monitored=True, monitoredSince="2024-07-01"),
         [("monitoredSince", "DATE_AFTER_AS_OF")]),
        ([1, 2], [("household", "WRONG_TYPE")]),
        (hh(annualNetIncome=11495.215), [("annualNetIncome", "TOO_MANY_DECIMALS")]),
        (hh(members=[{"id": "a", "birthDate": "1980-01-01", "medicalOutOfPocket": 0.001}]),
         [("members[0].medicalOutOfPocket", "TOO_MANY_DECIMALS")]),
        (hh(dibao=True, dibaoMarginal=True), [("dibaoMarginal", "CONTRADICTORY_FACTS")]),
        (hh(monitoredSince="2024-01-01"), [("monitoredSince", "CONTRADICTORY_FACTS")]),
        (hh(monitored=False, monitoredSince="2024-01-01"),
         [("monitoredSince", "CONTRADICTORY_FACTS")]),
    ],
)
def test_invalid_input_is_rejected_with_field_paths(data: Any, expected: list[Any]) -> None:
    assert errors(data) == expected


def test_every_problem_is_reported_at_once() -> None:
    data = hh(members=[
        {"id": "a", "birthDate": "2030-01-01"},
        {"id": "a", "birthDate": "1900-01-01", "disabilityGrade": 9, "disabilityKind": "VISUAL"},
    ], annualNetIncome=-2)
    assert errors(data) == [
        ("annualNetIncome", "NEGATIVE_AMOUNT"),
        ("members[0].birthDate", "BIRTH_AFTER_AS_OF"),
        ("members[1].birthDate", "AGE_OVER_LIMIT"),
        ("members[1].disabilityGrade", "DISABILITY_GRADE_RANGE"),
        ("members[1].id", "DUPLICATE_MEMBER_ID"),
    ]


def test_money_to_the_cent_and_consistent_flags_are_accepted() -> None:
    h = parse_household(hh(annualNetIncome=11495.21, disasterLoss=0.1, accidentLoss=1e11,
                           dibao=True, dibaoMarginal=False, monitored=True,
                           monitoredSince="2024-01-01"), AS_OF)
    assert (h.annualNetIncome, h.dibao, h.monitoredSince) == (11495.21, True, date(2024, 1, 1))
    assert parse_household(hh(dibaoMarginal=True, monitoredSince=None), AS_OF).dibaoMarginal


def test_structural_problems_do_not_hide_the_others() -> None:
    """One error per problem, whatever its layer: no id, an unknown key and values outside
    their closed sets beside negative money, a birth date after asOf, a grade out of range,
    money below the cent and contradictory facts."""
    data = {
        "colour": "red", "housingSafetyGrade": "Z", "annualNetIncome": -1,
        "previousAnnualNetIncome": "9000", "accidentLoss": 10.001,
        "dibao": True, "dibaoMarginal": True, "monitoredSince": "2023-01-01",
        "members": [
            {"id": "a", "birthDate": "2030-01-01", "schoolStage": "MIDDLE"},
            {"id": "b", "birthDate": "1980-01-01", "disabilityGrade": 0,
             "disabilityKind": "VISUAL", "medicalOutOfPocket": -2},
            {"id": "a", "birthDate": 1980, "disabilityGrade": 2, "shoeSize": 40},
            "not a member",
        ]}
    with pytest.raises(FactsInvalid) as info:
        parse_household(data, AS_OF)
    got = [(e.field, e.code) for e in info.value.errors]
    assert got == [
        ("accidentLoss", "TOO_MANY_DECIMALS"),
        ("annualNetIncome", "NEGATIVE_AMOUNT"),
        ("colour", "UNKNOWN_FIELD"),
        ("dibaoMarginal", "CONTRADICTORY_FACTS"),
        ("housingSafetyGrade", "INVALID_VALUE"),
        ("id", "REQUIRED"),
        ("members[0].birthDate", "BIRTH_AFTER_AS_OF"),
        ("members[0].schoolStage", "INVALID_VALUE"),
        ("members[1].disabilityGrade", "DISABILITY_GRADE_RANGE"),
        ("members[1].medicalOutOfPocket", "NEGATIVE_AMOUNT"),
        ("members[2].birthDate", "WRONG_TYPE"),
        ("members[2].disabilityKind", "DISABILITY_KIND_REQUIRED"),
        ("members[2].id", "DUPLICATE_MEMBER_ID"),
        ("members[2].shoeSize", "UNKNOWN_FIELD"),
        ("members[3]", "WRONG_TYPE"),
        ("monitoredSince", "CONTRADICTORY_FACTS"),
        ("previousAnnualNetIncome", "WRONG_TYPE"),
    ]
    messages = {e.field: e.message for e in info.value.errors}
    assert messages["accidentLoss"] == "yuan to the cent (at most two decimals), got 10.001"
    assert messages["dibaoMarginal"].startswith("dibaoMarginal contradicts dibao = true")


@pytest.mark.parametrize(("field", "value", "chinese_text"), [
    ("annualNetIncome", "abc", "类型错误：应为数字，实为 文本 'abc'"),
    ("annualNetIncome", True, "类型错误：应为数字，实为 布尔值 True"),
    ("povertyAlleviated", "x", "类型错误：应为布尔值（true 或 false），实为 文本 'x'"),
    ("regionCode", 5, "类型错误：应为文本，实为 整数 5"),
    ("members", "x", "类型错误：应为列表，实为 文本 'x'"),
])
def test_a_value_of_the_wrong_type_is_said_in_chinese(field: str, value: Any,
                                                      chinese_text: str) -> None:
    """What the field should hold and what it held, in Chinese as in English; the error
    compares equal to one without the Chinese details."""
    from policy.errors import FieldError
    from policy.messages import chinese

    data = {"id": "h", "regionCode": "371300-001",
            "members": [{"id": "m", "birthDate": "1980-01-01"}], field: value}
    with pytest.raises(FactsInvalid) as raised:
        parse_household(data, date(2024, 1, 1))
    [error] = raised.value.errors
    assert (error.field, error.code) == (field, "WRONG_TYPE")
    assert chinese(error.code, error.params) == chinese_text
    assert chinese(error.code) == "类型错误"  # the code's general words
    assert error == FieldError(field, "WRONG_TYPE", error.message)


def test_a_member_value_of_the_wrong_type_is_said_in_chinese() -> None:
    from policy.messages import chinese

    data = {"id": "h", "members": [{"id": "m", "birthDate": "1970-13-01",
                                    "disabilityGrade": 2.5}]}
    with pytest.raises(FactsInvalid) as raised:
        parse_household(data, date(2024, 1, 1))
    said = {e.field: chinese(e.code, e.params) for e in raised.value.errors}
    assert said["members[0].birthDate"] == "类型错误：应为日期（年-月-日），实为 文本 '1970-13-01'"
    assert said["members[0].disabilityGrade"] == "类型错误：应为整数，实为 数字 2.5"
