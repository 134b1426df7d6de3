"""Early warning over GraphQL: eventsIngest, the alerts connection and its filter, Alert.events,
Household.alerts, counts, alertResolve, and who may see and act on what."""

from __future__ import annotations

from typing import Any

from services.application import Tokens
from store.models import AuditEntry
from tests.api.conftest import Api

INGEST = """mutation($e: [EventInput!]!) { eventsIngest(events: $e) {
  accepted duplicates rejected { index field code message } unknownHouseholds
  alerts { id rule status householdId memberId }
  userErrors { field code message } } }"""
ALERTS = """query($first: Int!, $after: String, $f: AlertFilter) {
  alerts(first: $first, after: $after, filter: $f) { totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id rule status householdId regionCode memberId raisedAt
      title(lang: EN)
      reasons { ruleId text citation { clause } conditions { expression actual expected passed }
        condition { expression result text children { expression result } } }
      suggestedFacts { fact value }
      events { source eventId kind eventKind occurredOn amount value } } } } }"""
ALERT = """query($id: ID!) { alert(id: $id) { id status household { id revision facts } } }"""
RESOLVE = """mutation($id: ID!, $r: AlertResolution!, $note: String) {
  alertResolve(id: $id, resolution: $r, note: $note) {
    alert { id status resolvedBy resolutionNote } userErrors { field code message } } }"""
INCLUDE = """mutation($id: ID!) { alertResolve(id: $id, resolution: INCLUDED, note: "入户核实") {
  alert { id status resolvedBy resolutionNote }
  monitoringCase { kind channel alertId step status householdId } userErrors { code } } }"""
COUNTS = """query($r: [String!]) { alertCounts(regionCodes: $r) { total
  byStatus { key count } byRule { key count } } }"""
HOUSEHOLD_ALERTS = """query($id: ID!) { household(id: $id) { id alerts { rule status } } }"""
SAVE = """mutation($h: HouseholdInput!) { householdSave(household: $h) {
  household { id } userErrors { code } } }"""


def household(hid: str, region: str) -> dict[str, Any]:
    return {"id": hid, "regionCode": region, "annualNetIncome": 30000,
            "members": [{"id": "m1", "relation": "HEAD", "birthDate": "1970-05-01"},
                        {"id": "m2", "relation": "CHILD", "birthDate": "2012-03-01",
                         "schoolStage": "PRIMARY"}]}


def ingest(api: Api, events: list[dict[str, Any]], token: str = "feed") -> dict[str, Any]:
    body = api.gql(INGEST, {"e": events}, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["eventsIngest"]
    return result


def setup(api: Api, prefix: str) -> None:
    if "feed" not in api.tokens:
        api.tokens["feed"] = Tokens(api.application).create(role="api_client", name="feed-1",
                                                            regions=["371300"])
    for hid, region, who in ((f"{prefix}-a", "371300-001", "caseworker"),
                             (f"{prefix}-b", "371300-002", "caseworker2")):
        body = api.gql(SAVE, {"h": household(hid, region)}, token=who)
        assert body["data"]["householdSave"]["userErrors"] == [], body


def test_ingest_lists_and_explains_alerts(api: Api) -> None:
    setup(api, "gq1")
    events = [
        {"source": "医保", "eventId": "gq1-c1", "kind": "INPATIENT_COST", "householdId": "gq1-a",
         "memberId": "m2", "occurredOn": "2024-01-10", "amount": 12000.5},
        {"source": "医保", "eventId": "gq1-c2", "kind": "INPATIENT_COST", "householdId": "gq1-a",
         "memberId": "m1", "occurredOn": "2024-03-10", "amount": 8000},
        {"source": "医保", "eventId": "gq1-bad", "kind": "INPATIENT_COST",
         "householdId": "gq1-a", "occurredOn": "2024-03-10", "amount": 8000},
        {"source": "住建", "eventId": "gq1-h", "kind": "HOUSING_REGRADED",
         "householdId": "gq1-b", "occurredOn": "2024-02-01", "value": "C"},
        {"source": "住建", "eventId": "gq1-x", "kind": "HOUSING_REGRADED",
         "householdId": "gq1-nobody", "occurredOn": "2024-02-01", "value": "D"},
    ]
    r = ingest(api, events)
    assert (r["accepted"], r["duplicates"], r["userErrors"]) == (4, 0, [])
    assert [(x["index"], x["field"], x["code"]) for x in r["rejected"]] == [
        (2, "events[2].memberId", "REQUIRED")]
    assert r["unknownHouseholds"] == ["gq1-nobody"]
    assert sorted((a["householdId"], a["rule"]) for a in r["alerts"]) == [
        ("gq1-a", "alert.large_medical_expense"), ("gq1-b", "alert.housing_unsafe")]

    page = api.gql(ALERTS, {"first": 10, "f": {"rule": "alert.large_medical_expense",
                                               "regionCodes": ["371300-001"]}},
                   token="caseworker")["data"]["alerts"]
    mine = [e["node"] for e in page["edges"] if e["node"]["householdId"] == "gq1-a"]
    assert len(mine) == 1
    node = mine[0]
    assert node["status"] == "OPEN" and node["title"] == "Large medical expense"
    assert node["memberId"] == "m1"  # the latest event's member
    (reason,) = node["reasons"]
    assert reason["citation"]["clause"] == "二、2"
    assert reason["condition"]["result"] is True and reason["condition"]["children"]
    # The stored explanation keeps the words of the version's names: the definition atRisk by
    # its description, a parameter's threshold by its value.
    assert "脱贫户或监测对象" in reason["condition"]["text"], reason["condition"]["text"]
    assert "atRisk" not in reason["condition"]["text"]
    assert "medicalLarge" not in reason["condition"]["text"]
    checks = {c["expression"]: (c["actual"], c["passed"]) for c in reason["conditions"]}
    assert checks["windowInpatientSelfPaid >= medicalLargeOther"] == ("20000.50", True)
    assert node["suggestedFacts"] == [{"fact": "members[0].medicalOutOfPocket",
                                       "value": "8000"}]
    assert [(e["eventId"], e["occurredOn"], e["source"], e["amount"]) for e in node["events"]] \
        == [("gq1-c1", "2024-01-10", "医保", 12000.5), ("gq1-c2", "2024-03-10", "医保", 8000.0)]
    # the enum beside the deprecated string: the same kind
    assert [(e["kind"], e["eventKind"]) for e in node["events"]] == [("INPATIENT_COST",) * 2] * 2

    # The same batch again: nothing new.
    again = ingest(api, events)
    assert (again["accepted"], again["duplicates"], again["alerts"]) == (0, 4, [])

    listed = api.gql(HOUSEHOLD_ALERTS, {"id": "gq1-a"}, token="caseworker")
    assert listed["data"]["household"]["alerts"] == [
        {"rule": "alert.large_medical_expense", "status": "OPEN"}]


def _alert_of(api: Api, hid: str) -> str:
    page = api.gql(ALERTS, {"first": 100}, token="auditor")["data"]["alerts"]
    (found,) = [e["node"]["id"] for e in page["edges"] if e["node"]["householdId"] == hid]
    return str(found)


def test_another_region_neither_sees_nor_acts(api: Api) -> None:
    setup(api, "gq2")
    ingest(api, [{"source": "民政", "eventId": "gq2-d", "kind": "DIBAO_GRANTED",
                  "householdId": "gq2-a", "occurredOn": "2024-02-01"}])
    alert_id = _alert_of(api, "gq2-a")
    # The other village's caseworker: not in the list, not found, cannot act.
    page = api.gql(ALERTS, {"first": 100}, token="caseworker2")["data"]["alerts"]
    assert alert_id not in {e["node"]["id"] for e in page["edges"]}
    assert api.gql(ALERT, {"id": alert_id}, token="caseworker2")["data"]["alert"] is None
    r = api.gql(RESOLVE, {"id": alert_id, "r": "VERIFIED"}, token="caseworker2")
    assert r["data"]["alertResolve"]["userErrors"][0]["code"] == "NOT_FOUND"
    # Readers read but never act.
    for reader in ("auditor", "feed"):
        assert api.gql(ALERT, {"id": alert_id}, token=reader)["data"]["alert"]["id"] == alert_id
        r = api.gql(RESOLVE, {"id": alert_id, "r": "VERIFIED"}, token=reader)
        assert "FORBIDDEN" in str(r), r
    # Nobody anonymous.
    assert api.gql(ALERTS, {"first": 5})["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_verify_then_include_opens_an_inclusion_case(api: Api) -> None:
    setup(api, "gq3")
    ingest(api, [{"source": "民政", "eventId": "gq3-d", "kind": "DIBAO_GRANTED",
                  "householdId": "gq3-a", "occurredOn": "2024-02-01"}])
    alert_id = _alert_of(api, "gq3-a")
    r = api.gql(RESOLVE, {"id": alert_id, "r": "INCLUDED"}, token="caseworker")
    assert r["data"]["alertResolve"]["userErrors"][0]["code"] == "CONFLICT"  # verify first
    r = api.gql(RESOLVE, {"id": alert_id, "r": "VERIFIED"}, token="caseworker")
    assert r["data"]["alertResolve"]["alert"]["status"] == "VERIFIED"
    before = api.gql(ALERT, {"id": alert_id}, token="caseworker")["data"]["alert"]["household"]
    r = api.gql(INCLUDE, {"id": alert_id}, token="caseworker")
    assert r["data"]["alertResolve"]["alert"] == {
        "id": alert_id, "status": "INCLUDED", "resolvedBy": "caseworker:cw-001",
        "resolutionNote": "入户核实"}
    case = r["data"]["alertResolve"]["monitoringCase"]
    assert case == {"kind": "INCLUSION", "channel": "ALERT", "alertId": alert_id,
                    "step": "VERIFICATION", "status": "OPEN", "householdId": "gq3-a"}
    # monitored waits for the county's approval of the case: the household is unchanged.
    hh = api.gql(ALERT, {"id": alert_id}, token="caseworker")["data"]["alert"]["household"]
    assert hh == before and hh["facts"]["monitored"] is False
    from sqlalchemy import select

    with api.application.uow() as uow:
        actions = [e.action for e in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(
                ["alert.resolve", "household.save", "case.open"]),
                AuditEntry.object_id.in_([alert_id, "gq3-a"]))
            .order_by(AuditEntry.id))]
    assert actions[-2:] == ["alert.resolve", "alert.resolve"]
    assert "household.save" not in actions[-2:]


def test_dismissing_needs_a_note_and_counts_follow(api: Api) -> None:
    setup(api, "gq4")
    ingest(api, [{"source": "教育", "eventId": "gq4-s", "kind": "SCHOOL_DROPOUT",
                  "householdId": "gq4-a", "memberId": "m2", "occurredOn": "2024-02-01"}])
    alert_id = _alert_of(api, "gq4-a")
    before = api.gql(COUNTS, {"r": ["371300-001"]}, token="caseworker")["data"]["alertCounts"]
    r = api.gql(RESOLVE, {"id": alert_id, "r": "DISMISSED"}, token="caseworker")
    assert r["data"]["alertResolve"]["userErrors"][0]["code"] == "REQUIRED"
    r = api.gql(RESOLVE, {"id": alert_id, "r": "DISMISSED", "note": "已返校 / back at school"},
                token="caseworker")
    assert r["data"]["alertResolve"]["alert"]["status"] == "DISMISSED"
    after = api.gql(COUNTS, {"r": ["371300-001"]}, token="caseworker")["data"]["alertCounts"]

    def by(counts: dict[str, Any], key: str) -> dict[str, int]:
        return {c["key"]: c["count"] for c in counts[key]}

    assert after["total"] == before["total"]
    assert by(after, "byStatus").get("DISMISSED", 0) == by(before, "byStatus").get(
        "DISMISSED", 0) + 1
    assert by(after, "byRule")["alert.school_dropout"] >= 1
    # Another village's caseworker counts none of these.
    other = api.gql(COUNTS, {"r": ["371300-001"]}, token="caseworker2")["data"]["alertCounts"]
    assert other["total"] == 0
    page = api.gql(ALERTS, {"first": 100, "f": {"status": "DISMISSED"}},
                   token="caseworker")["data"]["alerts"]
    assert alert_id in {e["node"]["id"] for e in page["edges"]}
    assert all(e["node"]["status"] == "DISMISSED" for e in page["edges"])
    assert page["totalCount"] == len(page["edges"])


REEVALUATE = """query($id: ID!) { alert(id: $id) { suggestedFacts { fact value }
  reevaluation(asOf: "2024-06-01") { outcomes(status: GRANTED) { code } } } }"""
DETERMINE = """mutation($id: ID!) { householdDetermine(id: $id, asOf: "2024-06-01") {
  determination { outcomes(status: GRANTED) { code } } userErrors { code } } }"""


def test_reevaluation_applies_the_suggested_facts(api: Api) -> None:
    setup(api, "gq5")
    ingest(api, [{"source": "住建", "eventId": "gq5-h", "kind": "HOUSING_REGRADED",
                  "householdId": "gq5-a", "occurredOn": "2024-02-01", "value": "D"}])
    alert_id = _alert_of(api, "gq5-a")
    got = api.gql(REEVALUATE, {"id": alert_id}, token="caseworker")["data"]["alert"]
    assert got["suggestedFacts"] == [{"fact": "housingSafetyGrade", "value": '"D"'}]
    with_suggestion = {o["code"] for o in got["reevaluation"]["outcomes"]}
    stored = api.gql(DETERMINE, {"id": "gq5-a"}, token="caseworker")["data"][
        "householdDetermine"]["determination"]["outcomes"]
    as_stored = {o["code"] for o in stored}
    # With the house graded D, monitoring's housing risk item applies.
    assert "monitoring.risk.housing" in with_suggestion - as_stored
    # Nothing was stored: the household is still at its first revision.
    hh = api.gql(ALERT, {"id": alert_id}, token="caseworker")["data"]["alert"]["household"]
    assert hh["revision"] == 1 and hh["facts"].get("housingSafetyGrade", "A") == "A"
    # An api_client reads the alert but not the household's facts.
    refused = api.gql(REEVALUATE, {"id": alert_id}, token="feed")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
