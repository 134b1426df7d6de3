"""A household in a variable that does not coerce (an unknown key, a value outside an enum of
``HouseholdFactsInput``, a value of the wrong type) is refused by graphql-core before anything
runs; the answer also lists every problem the household validation finds in it, semantic ones
included, with field paths and codes (``INVALID_FACTS``), through a real HTTP server."""

from __future__ import annotations

import copy
import re
from typing import Any

from tests.api.conftest import Api, fixture_household

EVALUATE = """query($f: HouseholdFactsInput!) { evaluate(facts: $f, asOf: "2024-06-01") {
  flaggedForMonitoring } }"""
EVALUATE_AS_OF = """query($f: HouseholdFactsInput!, $d: Date!) { evaluate(facts: $f, asOf: $d) {
  flaggedForMonitoring } }"""
MANY = """query($items: [EvaluateItem!]!) { evaluateMany(items: $items) { key
  errors { field code } } }"""
SAVE = """mutation($f: HouseholdFactsInput) { householdSave(facts: $f) { household { id }
  userErrors { field code } } }"""
GET = """query($id: ID!) { household(id: $id) { id } }"""

_CJK = re.compile(r"[\u4e00-\u9fff]")


def broken(hid: str) -> dict[str, Any]:
    """Problems GraphQL's coercion finds (a bad enum value, an unknown key, a wrong type) and
    problems only the household validation finds (negative money, a birth after asOf)."""
    data = fixture_household(hid)
    data.update(housingSafetyGrade="Z", annualNetIncome=-5, nickname="x")
    data["members"][0]["birthDate"] = "2099-01-01"
    data["members"][1]["relation"] = "COUSIN"
    data["members"][1]["disabilityGrade"] = "two"
    return data


EXPECTED = [
    ("annualNetIncome", "NEGATIVE_AMOUNT"),
    ("housingSafetyGrade", "INVALID_VALUE"),
    ("members[0].birthDate", "BIRTH_AFTER_AS_OF"),
    ("members[1].disabilityGrade", "WRONG_TYPE"),
    ("members[1].relation", "INVALID_VALUE"),
    ("nickname", "UNKNOWN_FIELD"),
]


def _facts_error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None, body
    codes = [e["extensions"]["code"] for e in body["errors"]]
    assert codes[:-1] and set(codes[:-1]) == {"BAD_USER_INPUT"}, codes  # graphql-core's first
    assert codes[-1] == "INVALID_FACTS"
    last: dict[str, Any] = body["errors"][-1]
    return last


def _pairs(error: dict[str, Any], prefix: str) -> list[tuple[str, str]]:
    return sorted((e["field"].removeprefix(prefix), e["code"])
                  for e in error["extensions"]["errors"])


def test_evaluate_lists_coercion_and_validation_problems_in_one_answer(api: Api) -> None:
    error = _facts_error(api.gql(EVALUATE, {"f": broken("c-1")},
                                 **{"accept-language": "zh-CN"}))
    assert all(e["field"].startswith("facts.") for e in error["extensions"]["errors"])
    assert _pairs(error, "facts.") == EXPECTED
    # Chinese by default, English on request; the same paths and codes.
    assert error["message"] == f"家庭事实无效：共 {len(EXPECTED)} 处问题"
    assert all(_CJK.search(e["message"]) for e in error["extensions"]["errors"])
    en = _facts_error(api.gql(EVALUATE, {"f": broken("c-1")}, **{"accept-language": "en"}))
    assert _pairs(en, "facts.") == EXPECTED
    assert not any(_CJK.search(e["message"]) for e in en["extensions"]["errors"])


def test_the_fields_as_of_counts_whether_given_literally_or_as_a_variable(api: Api) -> None:
    data = broken("c-2")
    data["members"][0]["birthDate"] = "2020-01-01"
    early = _facts_error(api.gql(EVALUATE_AS_OF, {"f": data, "d": "2019-06-01"}))
    late = _facts_error(api.gql(EVALUATE_AS_OF, {"f": data, "d": "2024-06-01"}))
    assert ("members[0].birthDate", "BIRTH_AFTER_AS_OF") in _pairs(early, "facts.")
    assert ("members[0].birthDate", "BIRTH_AFTER_AS_OF") not in _pairs(late, "facts.")


def test_evaluate_many_names_the_item_of_each_problem(api: Api) -> None:
    good = fixture_household("c-ok")
    error = _facts_error(api.gql(MANY, {"items": [
        {"key": "good", "facts": good, "asOf": "2024-06-01"},
        {"key": "bad", "facts": broken("c-3"), "asOf": "2024-06-01"}]}, token="caseworker"))
    assert _pairs(error, "items[1].facts.") == EXPECTED


def test_household_save_stores_nothing_and_lists_every_problem(api: Api) -> None:
    error = _facts_error(api.gql(SAVE, {"f": broken("c-4")}, token="caseworker"))
    assert _pairs(error, "facts.") == EXPECTED
    assert api.gql(GET, {"id": "c-4"}, token="auditor")["data"]["household"] is None


def test_a_household_that_only_fails_coercion_is_not_given_invented_problems(api: Api) -> None:
    data = copy.deepcopy(fixture_household("c-5"))
    data["housingSafetyGrade"] = "Z"
    error = _facts_error(api.gql(EVALUATE, {"f": data}))
    assert _pairs(error, "facts.") == [("housingSafetyGrade", "INVALID_VALUE")]


def test_valid_households_are_not_checked_twice(api: Api) -> None:
    body = api.gql(EVALUATE, {"f": fixture_household("c-6")})
    assert "errors" not in body, body
