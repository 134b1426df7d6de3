"""The typed household input: ``facts: HouseholdFactsInput`` (closed sets as enums) next to the
deprecated ``household: HouseholdInput`` (closed sets as strings): the same answers, exactly
one of them per household, and values outside a closed set refused by GraphQL itself."""

from __future__ import annotations

import json
import uuid
from typing import Any

from graphql_api.inputs import ENUMS
from policy.fact_catalogue import CATALOGUE
from services.rulesets import FIXTURES
from tests.api.conftest import Api

HH2 = json.loads((FIXTURES / "households" / "hh-002.json").read_text(encoding="utf-8"))
SELECTION = "asOf flaggedForMonitoring outcomes { code memberId status amount period }"
BY_STRINGS = ('query($h: HouseholdInput!) { evaluate(household: $h, asOf: "2024-06-01") { '
              + SELECTION + " } }")
BY_ENUMS = ('query($f: HouseholdFactsInput!) { evaluate(facts: $f, asOf: "2024-06-01") { '
            + SELECTION + " } }")


def test_enums_are_the_catalogues_closed_sets() -> None:
    for name in ("Relation", "SchoolStage", "DisabilityKind", "LaborCapacity",
                 "HousingSafetyGrade", "EmploymentStatus"):
        assert [m.value for m in ENUMS[name]] == list(CATALOGUE.enums[name]), name


def test_facts_and_household_give_the_same_answer(api: Api) -> None:
    by_strings = api.gql(BY_STRINGS, {"h": HH2})
    by_enums = api.gql(BY_ENUMS, {"f": HH2})
    assert "errors" not in by_enums, by_enums
    assert by_enums["data"]["evaluate"] == by_strings["data"]["evaluate"]
    assert by_enums["data"]["evaluate"]["outcomes"]


def test_enum_literals_in_the_document(api: Api) -> None:
    q = """{ evaluate(asOf: "2024-06-01", facts: {id: "lit", housingSafetyGrade: C,
      members: [{id: "m1", relation: HEAD, birthDate: "1960-01-01", laborCapacity: NONE},
                {id: "m2", relation: CHILD, birthDate: "2012-01-01", schoolStage: PRIMARY,
                 disabilityGrade: 2, disabilityKind: PHYSICAL}]}) { outcomes { code } } }"""
    body = api.gql(q)
    assert "errors" not in body, body
    assert body["data"]["evaluate"]["outcomes"]
    # a string where the typed input wants an enum is GraphQL's validation error
    body = api.gql(q.replace("relation: HEAD", 'relation: "HEAD"'))
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_a_value_outside_the_set_is_refused_with_its_path(api: Api) -> None:
    bad = {**HH2, "members": [{**HH2["members"][0], "relation": "COUSIN"}]}
    body = api.gql(BY_ENUMS, {"f": bad})
    assert body["data"] is None
    # graphql-core's refusal, then the household validation's problems with their paths
    err, facts = body["errors"]
    assert err["extensions"]["code"] == "BAD_USER_INPUT"
    assert facts["extensions"]["code"] == "INVALID_FACTS"
    assert [(e["field"], e["code"]) for e in facts["extensions"]["errors"]] == [
        ("facts.members[0].relation", "INVALID_VALUE")]
    # the strings' input lets the household validation say it, with the field path
    body = api.gql(BY_STRINGS, {"h": bad})
    fields = [e["field"] for e in body["errors"][0]["extensions"]["errors"]]
    assert "household.members[0].relation" in fields


def test_exactly_one_of_facts_and_household(api: Api) -> None:
    both = """query($h: HouseholdInput!, $f: HouseholdFactsInput!) {
      evaluate(household: $h, facts: $f, asOf: "2024-06-01") { asOf } }"""
    body = api.gql(both, {"h": HH2, "f": HH2})
    assert body["errors"][0]["extensions"]["code"] == "HOUSEHOLD_OR_FACTS"
    body = api.gql('{ evaluate(asOf: "2024-06-01") { asOf } }')
    assert body["errors"][0]["extensions"]["code"] == "HOUSEHOLD_OR_FACTS"


def test_evaluate_many_items_take_facts(api: Api) -> None:
    q = """query($items: [EvaluateItem!]!) { evaluateMany(items: $items) {
      key errors { field code } determination { outcomes { code memberId status } } } }"""
    items: list[dict[str, Any]] = [
        {"key": "typed", "facts": HH2, "asOf": "2024-06-01"},
        {"key": "strings", "household": HH2, "asOf": "2024-06-01"},
        {"key": "both", "facts": HH2, "household": HH2, "asOf": "2024-06-01"},
        {"key": "neither", "asOf": "2024-06-01"},
    ]
    results = api.gql(q, {"items": items}, token="api_client")["data"]["evaluateMany"]
    assert [r["key"] for r in results] == ["typed", "strings", "both", "neither"]
    assert results[0]["errors"] == [] and results[0]["determination"]["outcomes"]
    assert results[0]["determination"] == results[1]["determination"]
    for r, i in ((results[2], 2), (results[3], 3)):
        assert r["determination"] is None
        assert r["errors"] == [{"field": f"items[{i}].facts", "code": "HOUSEHOLD_OR_FACTS"}]


def test_household_save_takes_facts(api: Api) -> None:
    q = """mutation($f: HouseholdFactsInput) { householdSave(facts: $f) {
      household { id facts } userErrors { field code } } }"""
    hid = f"typed-{uuid.uuid4().hex[:8]}"
    facts = {**HH2, "id": hid, "regionCode": "371300-001"}
    saved = api.gql(q, {"f": facts}, token="caseworker")["data"]["householdSave"]
    assert saved["userErrors"] == []
    assert saved["household"]["id"] == hid
    assert saved["household"]["facts"]["members"][0]["relation"] == HH2["members"][0]["relation"]
    missing = api.gql(q, {"f": None}, token="caseworker")["data"]["householdSave"]
    assert missing["userErrors"] == [{"field": "facts", "code": "HOUSEHOLD_OR_FACTS"}]


def test_field_paths_name_the_argument_that_held_the_facts(api: Api) -> None:
    bad = {**HH2, "annualNetIncome": -1}
    body = api.gql(BY_ENUMS, {"f": bad})
    fields = [e["field"] for e in body["errors"][0]["extensions"]["errors"]]
    assert fields == ["facts.annualNetIncome"]
    body = api.gql(BY_STRINGS, {"h": bad})
    assert [e["field"] for e in body["errors"][0]["extensions"]["errors"]] == [
        "household.annualNetIncome"]
    q = """query($items: [EvaluateItem!]!) { evaluateMany(items: $items) {
      key errors { field code } } }"""
    items = [{"key": "a", "facts": bad, "asOf": "2024-06-01"},
             {"key": "b", "household": bad, "asOf": "2024-06-01"}]
    results = api.gql(q, {"items": items}, token="api_client")["data"]["evaluateMany"]
    assert [e["field"] for e in results[0]["errors"]] == ["items[0].facts.annualNetIncome"]
    assert [e["field"] for e in results[1]["errors"]] == ["items[1].household.annualNetIncome"]
    save = """mutation($f: HouseholdFactsInput) { householdSave(facts: $f) {
      userErrors { field code } } }"""
    errors = api.gql(save, {"f": {**bad, "id": "paths-1", "regionCode": "371300-001"}},
                     token="caseworker")["data"]["householdSave"]["userErrors"]
    assert [e["field"] for e in errors] == ["facts.annualNetIncome"]
