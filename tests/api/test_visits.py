"""Visits, a household's timeline and assistance over GraphQL (real ASGI app, SQLite and
PostgreSQL): a visit that changes facts and opens a case, the timeline of everything that
happened to a household, measures listed against a monitoring object's risks, and region
scoping of each."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from tests.api.conftest import Api
from tests.api.test_cases import principal, saved

VISIT = """
mutation($i: VisitInput!) { visitRecord(input: $i) {
  visit { id householdId visitedOn observations factsChanged householdRevision recordedBy }
  monitoringCase { id kind channel visitId status }
  userErrors { field code } } }"""
TIMELINE = """query($id: ID!) { household(id: $id) {
  visits { id factsChanged }
  timeline { at kind ref actor on detail zh: title en: title(lang: EN) } } }"""
ASSIST = """query($id: ID!) { household(id: $id) { assistance {
  determinationId uncoveredRisks
  risks { code covered zh: title en: title(lang: EN)
          measures { source code memberId title startedOn recordedBy note } } } } }"""
MEASURE = """mutation($i: AssistanceMeasureInput!) { assistanceMeasureRecord(input: $i) {
  measure { source title startedOn recordedBy id } userErrors { field code } } }"""
INGEST = """mutation($e: [EventInput!]!) { eventsIngest(events: $e) { accepted } }"""


def household(**facts: Any) -> dict[str, Any]:
    return {"id": f"api-vs-{uuid.uuid4().hex[:10]}", "regionCode": "371300-001",
            "povertyAlleviated": True, "annualNetIncome": 20000,
            "members": [{"id": "m1", "relation": "HEAD", "birthDate": "1968-04-02"},
                        {"id": "m2", "relation": "SPOUSE", "birthDate": "1970-01-02"}],
            **facts}


def test_a_visit_changes_facts_opens_a_case_and_shows_on_the_timeline(api: Api) -> None:
    facts = household()
    hid = saved(api, facts)
    today = date.today().isoformat()
    body = api.gql(VISIT, {"i": {"householdId": hid, "visitedOn": today,
                                 "observations": "户主住院，家庭收入明显下降",
                                 "household": {**facts, "annualNetIncome": 4000},
                                 "openCase": "INCLUSION"}}, token="caseworker")
    payload = body["data"]["visitRecord"]
    assert payload["userErrors"] == []
    visit, case = payload["visit"], payload["monitoringCase"]
    assert (visit["factsChanged"], visit["householdRevision"], visit["recordedBy"]) == (
        ["annualNetIncome"], 2, "caseworker:cw-001")
    assert (case["kind"], case["channel"], case["visitId"], case["status"]) == (
        "INCLUSION", "VISIT", visit["id"], "OPEN")
    # A visit that changes nothing saves no revision.
    body = api.gql(VISIT, {"i": {"householdId": hid, "visitedOn": today,
                                 "observations": "回访：情况无变化"}}, token="caseworker")
    again = body["data"]["visitRecord"]["visit"]
    assert (again["factsChanged"], again["householdRevision"]) == ([], None)
    # A department event raises an alert for the household.
    api.gql(INGEST, {"e": [{"source": "民政", "eventId": f"{hid}-d", "kind": "DIBAO_GRANTED",
                            "householdId": hid, "occurredOn": today}]}, token="caseworker")
    # Verification attaches a determination.
    cw = principal(api, "caseworker")
    api.application.cases.record_step(cw, case["id"], "VERIFICATION", date.today(),
                                      verifiers=["王", "李"])

    found = api.gql(TIMELINE, {"id": hid}, token="caseworker")["data"]["household"]
    assert [v["id"] for v in found["visits"]] == [again["id"], visit["id"]]
    timeline = found["timeline"]
    kinds = [t["kind"] for t in timeline]
    assert set(kinds) == {"VISIT", "REVISION", "DETERMINATION", "ALERT", "CASE"}
    assert kinds.count("VISIT") == 2 and kinds.count("REVISION") == 2
    revision = next(t for t in timeline if t["kind"] == "REVISION" and t["ref"] == f"{hid}@2")
    assert revision["detail"]["factsChanged"] == ["annualNetIncome"]
    assert (revision["zh"], revision["en"]) == ("家庭信息第 2 版", "Household facts, revision 2")
    cases = [t for t in timeline if t["kind"] == "CASE"]
    assert [(t["detail"]["step"], t["detail"]["action"]) for t in cases] == [
        ("VERIFICATION", "RECORD"), ("VERIFICATION", "OPEN")]
    assert cases[-1]["zh"] == "纳入监测案件：入户核查立案"
    determination = next(t for t in timeline if t["kind"] == "DETERMINATION")
    assert "monitoring.unstable_alleviated" in determination["detail"]["granted"]
    alert = next(t for t in timeline if t["kind"] == "ALERT")
    assert alert["detail"]["status"] == "OPEN" and alert["zh"].startswith("预警：")
    # Newest first.
    stamps = [t["at"] for t in timeline]
    assert stamps == sorted(stamps, reverse=True)
    assert timeline[-1]["kind"] == "REVISION" and timeline[-1]["ref"] == f"{hid}@1"


def test_visits_refuse_bad_input_and_other_regions(api: Api) -> None:
    hid = saved(api, household())
    today = date.today()

    def visit(token: str, **fields: Any) -> dict[str, Any]:
        i = {"householdId": hid, "visitedOn": today.isoformat(), "observations": "走访",
             **fields}
        return api.gql(VISIT, {"i": i}, token=token)

    def codes(body: dict[str, Any]) -> list[str]:
        return [e["code"] for e in body["data"]["visitRecord"]["userErrors"]]

    assert codes(visit("caseworker", observations="  ")) == ["REQUIRED"]
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert codes(visit("caseworker", visitedOn=tomorrow)) == ["DATE_IN_FUTURE"]
    assert codes(visit("caseworker", household=household())) == ["INVALID_VALUE"]
    assert codes(visit("caseworker2")) == ["NOT_FOUND"]
    for token in ("township_officer", "county_officer", "auditor", "api_client"):
        assert visit(token)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert api.gql(TIMELINE, {"id": hid}, token="caseworker2")["data"]["household"] is None
    found = api.gql(TIMELINE, {"id": hid}, token="county_officer")["data"]["household"]
    assert [t["kind"] for t in found["timeline"]] == ["REVISION"]


def test_measures_are_listed_against_a_monitoring_objects_risks(api: Api) -> None:
    facts = household(annualNetIncome=5000, housingSafetyGrade="D")
    hid = saved(api, facts)
    assert api.gql(ASSIST, {"id": hid}, token="caseworker")["data"]["household"][
        "assistance"] is None  # not monitored
    # Included through a case: verification records the determination the risks come from.
    app, cw = api.application, principal(api, "caseworker")
    start = date.today() - timedelta(days=30)
    v = app.cases.open(cw, hid, "INCLUSION", "APPLICATION", start, application_signed_on=start)
    v = app.cases.record_step(cw, v.id, "VERIFICATION", start, verifiers=["王", "李"])
    v = app.cases.decide(cw, v.id, "APPROVE", start)
    v = app.cases.record_step(cw, v.id, "COMPARISON", start)
    v = app.cases.decide(cw, v.id, "APPROVE", start)
    v = app.cases.record_step(cw, v.id, "VILLAGE_REVIEW", start, notice_started_on=start)
    v = app.cases.decide(cw, v.id, "APPROVE", start + timedelta(days=5))
    v = app.cases.decide(principal(api, "township_officer"), v.id, "APPROVE", start)
    v = app.cases.decide(principal(api, "county_officer"), v.id, "APPROVE", start)
    assert v.status == "APPROVED"

    found = api.gql(ASSIST, {"id": hid}, token="caseworker")["data"]["household"]["assistance"]
    assert found["determinationId"] == v.determination_id
    risks = {r["code"]: r for r in found["risks"]}
    assert set(risks) == {"monitoring.unstable_alleviated", "monitoring.risk.housing"}
    housing = risks["monitoring.risk.housing"]
    assert housing["covered"] and [m["code"] for m in housing["measures"]] == ["housing.rebuild"]
    assert housing["en"] == "Risk: unsafe housing"
    assert not risks["monitoring.unstable_alleviated"]["covered"]
    assert found["uncoveredRisks"] == ["monitoring.unstable_alleviated"]

    today = date.today().isoformat()
    body = api.gql(MEASURE, {"i": {"householdId": hid, "risk": "monitoring.risk.drinking_water",
                                   "measure": "x", "startedOn": today}}, token="caseworker")
    assert [e["code"] for e in body["data"]["assistanceMeasureRecord"]["userErrors"]] == [
        "UNKNOWN_RISK"]
    body = api.gql(MEASURE, {"i": {"householdId": hid, "risk": "monitoring.unstable_alleviated",
                                   "measure": "x", "startedOn": today}}, token="caseworker2")
    assert [e["code"] for e in body["data"]["assistanceMeasureRecord"]["userErrors"]] == [
        "NOT_FOUND"]
    body = api.gql(MEASURE, {"i": {"householdId": hid, "risk": "monitoring.unstable_alleviated",
                                   "measure": "公益性岗位安置", "startedOn": today,
                                   "note": "村保洁员"}}, token="caseworker")
    recorded = body["data"]["assistanceMeasureRecord"]["measure"]
    assert (recorded["source"], recorded["title"], recorded["recordedBy"]) == (
        "RECORDED", "公益性岗位安置", "caseworker:cw-001")
    found = api.gql(ASSIST, {"id": hid}, token="township_officer")["data"]["household"][
        "assistance"]
    assert found["uncoveredRisks"] == []
    jobs = next(r for r in found["risks"] if r["code"] == "monitoring.unstable_alleviated")
    assert [(m["source"], m["title"], m["note"]) for m in jobs["measures"]] == [
        ("RECORDED", "公益性岗位安置", "村保洁员")]
    assert api.gql(ASSIST, {"id": hid}, token="caseworker2")["data"]["household"] is None
    body = api.gql(MEASURE, {"i": {"householdId": hid, "risk": "monitoring.unstable_alleviated",
                                   "measure": "x", "startedOn": today}}, token="township_officer")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
