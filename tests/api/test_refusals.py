"""Refusals are uniform and say nothing they should not: authentication first, then the
role, then existence, then validation; "does not exist" and "not yours" are one answer; no
schema suggestions outside dev; a garbage cursor and a NUL byte are the client's errors with
codes, the same on SQLite and PostgreSQL; several operations need an operationName."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.test_households import GET, LIST, SAVE, hh, save
from tests.api.test_rulesets import CREATE, SUBMIT, UPDATE, VALIDATE


def codes(body: dict[str, Any]) -> list[Any]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


def test_several_operations_need_an_operation_name(api: Api) -> None:
    doc = "query A { __typename } query B { rs: ruleSets { code } }"
    body = api.gql(doc)
    assert codes(body) == ["OPERATION_NAME_REQUIRED"] and body["data"] is None
    named = api.client.post("/graphql", json={"query": doc, "operationName": "B"},
                            headers={"content-type": "application/json"}).json()
    assert "errors" not in named and "rs" in named["data"]
    assert "errors" not in api.gql("query A { __typename }")


def test_no_suggestions_outside_dev(api: Api, prod_api: Api) -> None:
    typo = "{ househol(id: \"x\") { id } }"
    prod = prod_api.gql(typo, token="auditor")
    assert prod["errors"] and "Did you mean" not in str(prod)
    variable = """query($f: HouseholdFilter) { households(first: 1, filter: $f) { totalCount } }"""
    prod = prod_api.gql(variable, {"f": {"regionCode": "x"}}, token="auditor")
    assert prod["errors"] and "Did you mean" not in str(prod)
    assert "Did you mean" in str(api.gql(typo, token="auditor"))  # dev keeps them


@pytest.mark.parametrize("cursor", ["!!!notbase64", "W10", "WzEsMl0", "WyJhXHUwMDAwIl0",
                                    "x" * 400])
def test_a_garbage_cursor_is_the_clients_error(api: Api, cursor: str) -> None:
    body = api.gql(LIST, {"first": 2, "after": cursor}, token="auditor")
    assert codes(body) == ["INVALID_CURSOR"], body
    assert body["errors"][0]["extensions"]["errors"][0]["field"] == "after"


@pytest.mark.parametrize("where", ["id", "member", "region", "literal"])
def test_nul_bytes_are_refused_before_anything_runs(api: Api, where: str) -> None:
    data = hh("t-nul", "371300-001")
    if where == "id":
        data["id"] = "t-\u0000nul"
    elif where == "member":
        data["members"][0]["id"] = "m\u0000"
    elif where == "region":
        data["regionCode"] = "371300-001\u0000"
    if where == "literal":
        body = api.gql('{ household(id: "t-\\u0000nul") { id } }', token="auditor")
    else:
        body = api.gql(SAVE, {"h": data}, token="caseworker")
    assert codes(body) == ["INVALID_STRING"], body
    assert "\u0000" not in str(body)
    # nothing was written, nothing went wrong inside
    assert api.gql(GET, {"id": "t-nul"}, token="auditor")["data"]["household"] is None


def test_strings_too_long_are_refused(api: Api) -> None:
    long = "x" * 10_001
    body = api.gql(GET, {"id": long}, token="auditor")
    assert codes(body) == ["INVALID_STRING"] and "10001 characters" in str(body)
    # Narrower limits are the fact schema's, with field paths (64 for a household id).
    payload = api.gql(SAVE, {"h": hh("t-" + "y" * 70, "371300-001")},
                      token="caseworker")["data"]["householdSave"]
    assert [e["field"] for e in payload["userErrors"]] == ["household.id"]


def test_anonymous_saves_are_unauthenticated_before_validation(api: Api) -> None:
    broken = {"id": "t-anon", "regionCode": "371300-001", "members": []}
    for token in (None, "not-a-token"):
        body = api.gql(SAVE, {"h": broken}, token=token)
        assert codes(body) == ["UNAUTHENTICATED"], body
    body = api.gql(SAVE, {"h": broken}, token="auditor")
    assert codes(body) == ["FORBIDDEN"], body  # the role, before the facts


def test_another_regions_household_is_answered_as_a_missing_one(api: Api) -> None:
    save(api, hh("t-theirs", "371300-002"), "caseworker2")
    # Updating it (a revision given): the same answer as for an id that does not exist.
    theirs = save(api, hh("t-theirs", "371300-001"), "caseworker", rev=1)
    missing = save(api, hh("t-nobody", "371300-001"), "caseworker", rev=1)
    assert [(e["field"], e["code"]) for e in theirs["userErrors"]] == [
        ("household.id", "NOT_FOUND")]
    assert [(e["field"], e["code"]) for e in missing["userErrors"]] == [
        ("household.id", "NOT_FOUND")]
    assert theirs["userErrors"][0]["message"].replace("theirs", "X") == \
        missing["userErrors"][0]["message"].replace("nobody", "X")
    # Creating it: the id is taken, and the region is not named.
    taken = save(api, hh("t-theirs", "371300-001"), "caseworker")
    assert [e["code"] for e in taken["userErrors"]] == ["ID_TAKEN"]
    assert "371300-002" not in str(taken)
    # Nothing changed for its owner.
    body = api.gql(GET, {"id": "t-theirs"}, token="caseworker2")
    assert body["data"]["household"]["regionCode"] == "371300-002"


def test_draft_mutations_do_not_tell_anonymous_callers_what_exists(api: Api) -> None:
    real = api.gql(CREATE, {"rs": "monitoring"}, token="policy_editor")
    if real["data"]["ruleSetDraftCreate"]["version"] is not None:
        existing = real["data"]["ruleSetDraftCreate"]["version"]["id"]
    else:  # another test's draft of it is open
        versions = api.gql('{ ruleSet(code: "monitoring") { versions { id status } } }',
                           token="policy_editor")["data"]["ruleSet"]["versions"]
        existing = next(v["id"] for v in versions if v["status"] in ("DRAFT", "IN_REVIEW"))
    for version_id in (existing, "no-such-version"):
        for token, code in ((None, "UNAUTHENTICATED"), ("caseworker", "FORBIDDEN")):
            for query, variables in (
                (UPDATE, {"id": version_id, "rev": 1}),
                (VALIDATE, {"id": version_id}),
                (SUBMIT, {"id": version_id}),
            ):
                body = api.gql(query, variables, token=token)
                assert codes(body) == [code], (version_id, token, query[:30], body)
    for rule_set in ("monitoring", "no-such-rule-set"):
        assert codes(api.gql(CREATE, {"rs": rule_set})) == ["UNAUTHENTICATED"]
        assert codes(api.gql(CREATE, {"rs": rule_set}, token="auditor")) == ["FORBIDDEN"]


COERCE_SAVE = """mutation($f: HouseholdFactsInput) { householdSave(facts: $f) {
  household { id } userErrors { field code } } }"""
COERCE_EVALUATE = """query($f: HouseholdFactsInput!) { evaluate(facts: $f, asOf: "2024-06-01") {
  flaggedForMonitoring } }"""


def _ill_typed(hid: str) -> dict[str, Any]:
    """A household GraphQL's coercion refuses (an enum value it does not know, a wrong type),
    with a problem only the household validation finds (negative money) as well."""
    data = hh(hid, "371300-001", annualNetIncome=-5, housingSafetyGrade="Z")
    data["members"][0]["disabilityGrade"] = "two"
    return data


@pytest.mark.parametrize("where", ["dev", "prod"])
def test_variables_that_do_not_coerce_are_refused_for_who_may_not_run_the_operation(
        api: Api, prod_api: Api, where: str) -> None:
    served = api if where == "dev" else prod_api
    data = _ill_typed("t-coerce")
    # No token, or one that is unknown: UNAUTHENTICATED alone, nothing about the input.
    for token in (None, "not-a-token"):
        body = served.gql(COERCE_SAVE, {"f": data}, token=token)
        assert codes(body) == ["UNAUTHENTICATED"], body
        assert "annualNetIncome" not in str(body) and "disabilityGrade" not in str(body)
    # A role that may not save households: its FORBIDDEN alone.
    for role in ("auditor", "policy_editor", "api_client"):
        body = served.gql(COERCE_SAVE, {"f": data}, token=role)
        assert codes(body) == ["FORBIDDEN"], (role, body)
        assert "annualNetIncome" not in str(body)
    # Who may save it is told every problem, as before.
    body = served.gql(COERCE_SAVE, {"f": data}, token="caseworker")
    assert codes(body)[-1] == "INVALID_FACTS" and set(codes(body)[:-1]) == {"BAD_USER_INPUT"}
    fields = {e["field"] for e in body["errors"][-1]["extensions"]["errors"]}
    assert {"facts.annualNetIncome", "facts.members[0].disabilityGrade"} <= fields, body
    # evaluate: anonymous callers may run it in dev only.
    body = served.gql(COERCE_EVALUATE, {"f": data})
    if where == "dev":
        assert codes(body)[-1] == "INVALID_FACTS", body
    else:
        assert codes(body) == ["UNAUTHENTICATED"], body
    body = served.gql(COERCE_EVALUATE, {"f": data}, token="not-a-token")
    assert codes(body) == ["UNAUTHENTICATED"], body
    body = served.gql(COERCE_EVALUATE, {"f": data}, token="api_client")
    assert codes(body)[-1] == "INVALID_FACTS", body


def test_an_anonymous_mutation_whose_variables_do_not_coerce_is_unauthenticated(
        api: Api) -> None:
    # In dev too: no mutation is anonymous, whatever the variables hold.
    body = api.gql(UPDATE, {"id": "no-such-version", "rev": "one"})
    assert codes(body) == ["UNAUTHENTICATED"], body
    # A token's caller sees what is wrong with the variable.
    body = api.gql(UPDATE, {"id": "no-such-version", "rev": "one"}, token="policy_editor")
    assert codes(body) == ["BAD_USER_INPUT"], body
