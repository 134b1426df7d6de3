"""Invalid household facts are reported all at once through the API: a problem GraphQL lets
through to the household validation (a value outside a closed set) does not hide the checks
beyond types (negative money, a date after asOf, a grade out of range, money below the cent,
contradictory facts), in ``evaluate``, ``evaluateMany``, ``householdSave`` and
``householdDetermine``. Messages are in the caller's language (Chinese by default)."""

from __future__ import annotations

import copy
import re
from typing import Any

from tests.api.conftest import Api, fixture_household

EVALUATE = """query($h: HouseholdInput!, $asOf: Date!) { evaluate(household: $h, asOf: $asOf) {
  flaggedForMonitoring } }"""
MANY = """query($items: [EvaluateItem!]!) { evaluateMany(items: $items) { key
  determination { flaggedForMonitoring } errors { field message code } } }"""
SAVE = """mutation($h: HouseholdInput!) { householdSave(household: $h) { household { id }
  userErrors { field message code } } }"""
DETERMINE = """mutation($id: ID!, $asOf: Date!) { householdDetermine(id: $id, asOf: $asOf) {
  record { id } determination { flaggedForMonitoring } userErrors { field message code } } }"""
GET = """query($id: ID!) { household(id: $id) { id } }"""

_CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = {"accept-language": "zh-CN"}


def broken(hid: str) -> dict[str, Any]:
    """Eight problems of four kinds in one household."""
    data = fixture_household(hid)
    data.update(housingSafetyGrade="Z",                 # outside the closed set
                annualNetIncome=-5,                     # negative money
                disasterLoss=100.005,                   # below the cent
                dibao=True, dibaoMarginal=True,         # contradictory
                monitored=False, monitoredSince="2023-01-01")  # contradictory
    m = data["members"]
    m[0]["birthDate"] = "2099-01-01"                     # after asOf
    m[1].update(disabilityGrade=7, disabilityKind="VISUAL")  # out of range
    m[1]["schoolStage"] = "MIDDLE"                       # outside the closed set
    return data


EXPECTED = [
    ("household.annualNetIncome", "NEGATIVE_AMOUNT"),
    ("household.dibaoMarginal", "CONTRADICTORY_FACTS"),
    ("household.disasterLoss", "TOO_MANY_DECIMALS"),
    ("household.housingSafetyGrade", "INVALID_VALUE"),
    ("household.members[0].birthDate", "BIRTH_AFTER_AS_OF"),
    ("household.members[1].disabilityGrade", "DISABILITY_GRADE_RANGE"),
    ("household.members[1].schoolStage", "INVALID_VALUE"),
    ("household.monitoredSince", "CONTRADICTORY_FACTS"),
]


def _pairs(errors: list[dict[str, Any]], prefix: str = "") -> list[tuple[str, str]]:
    for e in errors:  # in Chinese (the default language), never a stack trace
        assert _CJK.search(e["message"]), e
        assert "Traceback" not in e["message"]
    return [(prefix + e["field"], e["code"]) for e in errors]


def test_evaluate_reports_every_problem_in_one_answer(api: Api) -> None:
    body = api.gql(EVALUATE, {"h": broken("t-all-1"), "asOf": "2024-06-01"}, **ZH)
    assert body["data"] is None
    (err,) = body["errors"]
    assert err["extensions"]["code"] == "INVALID_FACTS"
    assert _pairs(err["extensions"]["errors"]) == EXPECTED
    # In English: the same problems, each message with its details.
    en = api.gql(EVALUATE, {"h": broken("t-all-1"), "asOf": "2024-06-01"}
                 )["errors"][0]["extensions"]["errors"]
    assert [(e["field"], e["code"]) for e in en] == EXPECTED
    assert not any(_CJK.search(e["message"]) for e in en)
    messages = {e["field"]: e["message"] for e in en}
    assert messages["household.disasterLoss"] == \
        "yuan to the cent (at most two decimals), got 100.005"
    assert "dibao and dibaoMarginal cannot both be true" in messages["household.dibaoMarginal"]


def test_evaluate_many_reports_every_problem_of_each_item(api: Api) -> None:
    body = api.gql(MANY, {"items": [
        {"key": "bad", "household": broken("t-all-2"), "asOf": "2024-06-01"},
        {"key": "good", "household": fixture_household("t-all-ok"), "asOf": "2024-06-01"}]},
        token="caseworker", **ZH)
    assert "errors" not in body, body
    bad, ok = body["data"]["evaluateMany"]
    assert bad["key"] == "bad" and bad["determination"] is None
    assert _pairs(bad["errors"]) == [(f"items[0].{f}", c) for f, c in EXPECTED]
    assert ok["errors"] == [] and ok["determination"] is not None


def test_household_save_reports_every_problem_and_stores_nothing(api: Api) -> None:
    r = api.gql(SAVE, {"h": broken("t-all-3")}, token="caseworker", **ZH)["data"]["householdSave"]
    assert r["household"] is None
    assert _pairs(r["userErrors"]) == EXPECTED
    assert api.gql(GET, {"id": "t-all-3"}, token="auditor")["data"]["household"] is None


def test_household_determine_reports_every_problem_of_its_date(api: Api) -> None:
    data = fixture_household("t-all-4")
    data.update(monitored=True, monitoredSince="2024-03-01")
    data["members"][1]["birthDate"] = "2023-05-05"
    saved = api.gql(SAVE, {"h": copy.deepcopy(data)}, token="caseworker")
    assert saved["data"]["householdSave"]["userErrors"] == [], saved
    r = api.gql(DETERMINE, {"id": "t-all-4", "asOf": "2023-02-01"},
                token="caseworker", **ZH)["data"]["householdDetermine"]
    assert r["record"] is None and r["determination"] is None
    assert _pairs(r["userErrors"]) == [
        ("household.members[1].birthDate", "BIRTH_AFTER_AS_OF"),
        ("household.monitoredSince", "DATE_AFTER_AS_OF"),
    ]
