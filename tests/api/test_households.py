"""Stored households, recorded determinations and their replay, and who may see what."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.rulesets import FIXTURES
from store.models import AuditEntry
from tests.api.conftest import Api

SAVE = """mutation($h: HouseholdInput!, $rev: Int) { householdSave(household: $h,
  expectedRevision: $rev) { household { id regionCode revision facts }
  userErrors { field message code } } }"""
GET = """query($id: ID!) { household(id: $id) { id regionCode revision facts } }"""
LIST = """query($first: Int!, $after: String, $f: HouseholdFilter) {
  households(first: $first, after: $after, filter: $f) {
    edges { cursor node { id regionCode } } pageInfo { hasNextPage endCursor } totalCount } }"""
DETERMINE = """mutation($id: ID!, $asOf: Date!) { householdDetermine(id: $id, asOf: $asOf) {
  record { id householdId regionCode asOf createdBy versions { id contentHash } }
  determination { flaggedForMonitoring outcomes(status: GRANTED) { code memberId amount } }
  userErrors { field message code } } }"""
RECORD = """query($id: ID!) { determinationRecord(id: $id) { id householdId asOf result
  replay { identical determination { flaggedForMonitoring
    outcomes { code memberId status amount period } } } } }"""


def hh(hid: str, region: str, **facts: Any) -> dict[str, Any]:
    data = json.loads((FIXTURES / "households" / "hh-002.json").read_text(encoding="utf-8"))
    data.update(id=hid, regionCode=region, **facts)
    return data


def save(api: Api, data: dict[str, Any], token: str, rev: int | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = api.gql(SAVE, {"h": data, "rev": rev}, token=token)
    assert "errors" not in payload, payload
    result: dict[str, Any] = payload["data"]["householdSave"]
    return result


def audit(api: Api, action: str, object_id: str) -> list[AuditEntry]:
    from sqlalchemy import select

    with api.application.uow() as uow:
        return list(uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action == action, AuditEntry.object_id == object_id)))


def test_fixtures_are_seeded(api: Api) -> None:
    total = api.gql(LIST, {"first": 100}, token="auditor")["data"]["households"]["totalCount"]
    assert total >= len(list((FIXTURES / "households").glob("*.json")))


def test_caseworker_saves_in_own_region_with_history(api: Api) -> None:
    r = save(api, hh("t-save-1", "371300-001"), "caseworker")
    assert r["userErrors"] == [] and r["household"]["revision"] == 1
    assert r["household"]["facts"]["members"][0]["id"] == "m1"
    r2 = save(api, hh("t-save-1", "371300-001", annualNetIncome=30000), "caseworker", rev=1)
    assert r2["household"]["revision"] == 2
    stale = save(api, hh("t-save-1", "371300-001", annualNetIncome=1), "caseworker", rev=1)
    assert stale["household"] is None
    assert stale["userErrors"][0]["code"] == "CONFLICT"
    got = api.gql(GET, {"id": "t-save-1"}, token="caseworker")["data"]["household"]
    assert got["revision"] == 2 and got["facts"]["annualNetIncome"] == 30000
    entries = audit(api, "household.save", "t-save-1")
    assert len(entries) == 2 and {e.actor for e in entries} == {"caseworker:cw-001"}


def test_invalid_facts_are_user_errors_and_nothing_is_stored(api: Api) -> None:
    bad = hh("t-bad", "371300-001", annualNetIncome=-3)
    bad["members"][1]["birthDate"] = "2099-01-01"
    r = save(api, bad, "caseworker")
    assert r["household"] is None
    assert [(e["field"], e["code"]) for e in r["userErrors"]] == [
        ("household.annualNetIncome", "NEGATIVE_AMOUNT"),
        ("household.members[1].birthDate", "BIRTH_AFTER_AS_OF"),
    ]
    assert api.gql(GET, {"id": "t-bad"}, token="auditor")["data"]["household"] is None
    assert audit(api, "household.save", "t-bad") == []


def test_region_scope(api: Api) -> None:
    save(api, hh("t-r1", "371300-001"), "caseworker")
    save(api, hh("t-r2", "371300-002"), "caseworker2")
    # Saving into another region is refused.
    err = api.gql(SAVE, {"h": hh("t-r3", "371300-002")}, token="caseworker")["errors"][0]
    assert err["extensions"]["code"] == "FORBIDDEN"
    # Reading another region's household by id, by list and through a filter.
    assert api.gql(GET, {"id": "t-r2"}, token="caseworker")["data"]["household"] is None
    assert api.gql(GET, {"id": "t-r2"}, token="caseworker2")["data"]["household"]["id"] == "t-r2"
    ids = _all_ids(api, "caseworker")
    assert "t-r1" in ids and "t-r2" not in ids
    assert all(i for i in ids)
    filtered = api.gql(LIST, {"first": 100, "f": {"regionCodes": ["371300-002"]}},
                       token="caseworker")["data"]["households"]
    assert filtered["edges"] == [] and filtered["totalCount"] == 0
    # A county caseworker (371300) sees every village under it.
    county = _all_ids(api, "county_caseworker")
    assert {"t-r1", "t-r2"} <= county


def _all_ids(api: Api, token: str) -> set[str]:
    ids: set[str] = set()
    after = None
    while True:
        page = api.gql(LIST, {"first": 3, "after": after}, token=token)["data"]["households"]
        ids |= {e["node"]["id"] for e in page["edges"]}
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        after = page["pageInfo"]["endCursor"]


def test_page_size_is_bounded(api: Api) -> None:
    for first in (0, 101, -1):
        err = api.gql(LIST, {"first": first}, token="auditor")["errors"][0]
        assert err["extensions"]["code"] == "PAGE_SIZE"
    missing = api.gql("{ households { totalCount } }", token="auditor")["errors"][0]
    assert "first" in missing["message"]


@pytest.mark.parametrize(("role", "code"), [("api_client", "FORBIDDEN"),
                                             ("policy_editor", "FORBIDDEN"),
                                             ("policy_approver", "FORBIDDEN")])
def test_roles_without_household_access(api: Api, role: str, code: str) -> None:
    assert api.gql(LIST, {"first": 5}, token=role)["errors"][0]["extensions"]["code"] == code
    assert api.gql(SAVE, {"h": hh("t-x", "371300-001")}, token=role)["errors"][0][
        "extensions"]["code"] == code


def test_auditor_reads_everything_but_writes_nothing(api: Api) -> None:
    assert api.gql(GET, {"id": "hh-001"}, token="auditor")["data"]["household"]["id"] == "hh-001"
    err = api.gql(SAVE, {"h": hh("t-au", "371300-001")}, token="auditor")["errors"][0]
    assert err["extensions"]["code"] == "FORBIDDEN"


def test_recorded_determination_replays_identically(api: Api) -> None:
    save(api, hh("t-det", "371300-001"), "caseworker")
    d = api.gql(DETERMINE, {"id": "t-det", "asOf": "2024-06-01"}, token="caseworker")
    payload = d["data"]["householdDetermine"]
    assert payload["userErrors"] == []
    record = payload["record"]
    assert record["householdId"] == "t-det" and record["createdBy"] == "caseworker:cw-001"
    assert {v["id"] for v in record["versions"]} == {
        "monitoring-v1", "medical_relief-v1", "education-v2", "disability-v1",
        "temporary_assistance-v1", "employment-v1", "housing-v1"}
    assert payload["determination"]["flaggedForMonitoring"] is True

    # The household changes afterwards; the record still replays to its own result.
    save(api, hh("t-det", "371300-001", annualNetIncome=90000), "caseworker", rev=1)
    got = api.gql(RECORD, {"id": record["id"]}, token="caseworker")["data"]["determinationRecord"]
    assert got["replay"]["identical"] is True
    replayed = got["replay"]["determination"]
    recorded = got["result"]
    assert replayed["flaggedForMonitoring"] == recorded["flaggedForMonitoring"] is True
    assert replayed["outcomes"] == [
        {k: o[k] for k in ("code", "memberId", "status", "amount", "period")}
        for o in recorded["outcomes"]
    ]
    assert len(audit(api, "determination.record", record["id"])) == 1
    # Another region's caseworker cannot read the record; an auditor can.
    assert api.gql(RECORD, {"id": record["id"]}, token="caseworker2")["data"][
        "determinationRecord"] is None
    assert api.gql(RECORD, {"id": record["id"]}, token="auditor")["data"][
        "determinationRecord"]["id"] == record["id"]
    # ... nor determine another region's household.
    other = api.gql(DETERMINE, {"id": "t-det", "asOf": "2024-06-01"}, token="caseworker2")
    assert other["data"]["householdDetermine"]["userErrors"][0]["code"] == "NOT_FOUND"


def test_a_neighbouring_code_with_the_same_digits_is_another_region(api: Api) -> None:
    # 371300-0011 starts with the characters of 371300-001 but is not inside it: the county
    # caseworker (371300) may save it, the village caseworker of 371300-001 may not touch it.
    assert save(api, hh("t-nb-1", "371300-0011"), "county_caseworker")["userErrors"] == []
    assert save(api, hh("t-nb-own", "371300-001"), "caseworker")["userErrors"] == []
    err = api.gql(SAVE, {"h": hh("t-nb-2", "371300-0011")}, token="caseworker")["errors"][0]
    assert err["extensions"]["code"] == "FORBIDDEN"
    # Overwriting it through its id is refused too (as for an id that does not exist: another
    # region's household is not acknowledged), and it is unchanged.
    refused = save(api, hh("t-nb-1", "371300-001"), "caseworker", rev=1)["userErrors"]
    assert [(e["field"], e["code"]) for e in refused] == [("household.id", "NOT_FOUND")]
    assert api.gql(GET, {"id": "t-nb-1"}, token="caseworker")["data"]["household"] is None
    ids = _all_ids(api, "caseworker")
    assert "t-nb-own" in ids and "t-nb-1" not in ids
    filtered = api.gql(LIST, {"first": 100, "f": {"regionCodes": ["371300-0011"]}},
                       token="caseworker")["data"]["households"]
    assert filtered["edges"] == [] and filtered["totalCount"] == 0
    # The county sees it, but not under the village 371300-001.
    assert "t-nb-1" in _all_ids(api, "county_caseworker")
    own = api.gql(LIST, {"first": 100, "f": {"regionCodes": ["371300-001"]}},
                  token="county_caseworker")["data"]["households"]
    assert "t-nb-1" not in {e["node"]["id"] for e in own["edges"]}
    body = api.gql(DETERMINE, {"id": "t-nb-1", "asOf": "2024-06-01"}, token="caseworker")
    assert body["data"]["householdDetermine"]["userErrors"][0]["code"] == "NOT_FOUND"
