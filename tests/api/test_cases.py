"""Monitoring cases over GraphQL (real ASGI app, SQLite and PostgreSQL): the mutations and their
userErrors, the township and county steps with four eyes, and region scoping of every field and
mutation. Steps that need past days (a public notice that has run) are driven through the use
cases with those days; the rest goes through HTTP with today's date, as a client sends it."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from services.auth import Principal
from services.cases import CaseView
from tests.api.conftest import Api

CASE = """
fragment C on MonitoringCase {
  id householdId regionCode kind channel status step stepRecorded stepDueOn dueOn overdue
  noticeStartedOn noticeEndsOn objections criteriaGranted criteriaReason criteriaMet
  criteria { code title en: title(lang: EN) }
  townshipReviewer closedOn householdRevision revision
  entries { step action on actor details }
  determination { id asOf householdRevision }
}"""
OPEN = CASE + """
mutation($i: MonitoringCaseOpenInput!) {
  monitoringCaseOpen(input: $i) { monitoringCase { ...C } userErrors { field code message } }
}"""
RECORD = CASE + """
mutation($id: ID!, $step: MonitoringCaseStep!, $r: MonitoringCaseStepInput!, $rev: Int) {
  monitoringCaseRecordStep(id: $id, step: $step, record: $r, expectedRevision: $rev) {
    monitoringCase { ...C } userErrors { field code message } }
}"""
DECIDE = CASE + """
mutation($id: ID!, $d: MonitoringCaseDecision!, $reason: String, $to: MonitoringCaseStep) {
  monitoringCaseDecide(id: $id, decision: $d, reason: $reason, returnTo: $to) {
    monitoringCase { ...C } userErrors { field code message } }
}"""
ONE = CASE + "query($id: ID!) { monitoringCase(id: $id) { ...C } }"
LIST = """
query($f: MonitoringCaseFilter, $first: Int!, $after: String) {
  monitoringCases(first: $first, after: $after, filter: $f) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id status step } } }
}"""
COUNTS = "query { monitoringCaseOverdueCounts { level regionCode count } }"
HOUSEHOLD_CASES = "query($id: ID!) { household(id: $id) { monitoringCases { id } } }"


def household(income: int = 5000, region: str = "371300-001") -> dict[str, Any]:
    return {"id": f"api-cs-{uuid.uuid4().hex[:10]}", "regionCode": region,
            "povertyAlleviated": True, "annualNetIncome": income,
            "members": [{"id": "m1", "relation": "HEAD", "birthDate": "1968-04-02"}]}


def saved(api: Api, facts: dict[str, Any], token: str = "caseworker") -> str:
    body = api.gql("mutation($h: HouseholdInput!) { householdSave(household: $h) { "
                   "household { id } userErrors { code } } }", {"h": facts}, token=token)
    assert body["data"]["householdSave"]["userErrors"] == [], body
    return str(facts["id"])


def opened(api: Api, facts: dict[str, Any]) -> dict[str, Any]:
    hid = saved(api, facts)
    body = api.gql(OPEN, {"i": {"householdId": hid, "kind": "INCLUSION",
                                "channel": "APPLICATION",
                                "applicationSignedOn": date.today().isoformat()}},
                   token="caseworker")
    payload = body["data"]["monitoringCaseOpen"]
    assert payload["userErrors"] == [], payload
    return payload["monitoringCase"]  # type: ignore[no-any-return]


def principal(api: Api, token: str) -> Principal:
    from services.application import Tokens

    found = Tokens(api.application).principal(api.tokens[token])
    assert found is not None
    return found


def at_township_review(api: Api) -> CaseView:
    """A case whose notice ran out (driven through the use cases, 30 days ago onwards)."""
    app, cw = api.application, principal(api, "caseworker")
    start = date.today() - timedelta(days=30)
    hid = saved(api, household())
    v = app.cases.open(cw, hid, "INCLUSION", "APPLICATION", start,
                       application_signed_on=start)
    v = app.cases.record_step(cw, v.id, "VERIFICATION", start, verifiers=["王", "李"])
    v = app.cases.decide(cw, v.id, "APPROVE", start)
    v = app.cases.record_step(cw, v.id, "COMPARISON", start)
    v = app.cases.decide(cw, v.id, "APPROVE", start)
    v = app.cases.record_step(cw, v.id, "VILLAGE_REVIEW", start, notice_started_on=start)
    return app.cases.decide(cw, v.id, "APPROVE", start + timedelta(days=5))


def errors(body: dict[str, Any], field: str) -> list[str]:
    return [e["code"] for e in body["data"][field]["userErrors"]]


def test_verification_and_its_user_errors_over_http(api: Api) -> None:
    facts = household(income=20000)
    case = opened(api, facts)
    assert (case["status"], case["step"], case["stepRecorded"]) == ("OPEN", "VERIFICATION",
                                                                    False)
    assert [e["action"] for e in case["entries"]] == ["OPEN"]
    # Approving an unrecorded step, a return without a reason, bad facts, one verifier.
    assert errors(api.gql(DECIDE, {"id": case["id"], "d": "APPROVE"}, token="caseworker"),
                  "monitoringCaseDecide") == ["STEP_NOT_RECORDED"]
    assert errors(api.gql(DECIDE, {"id": case["id"], "d": "REJECT"}, token="caseworker"),
                  "monitoringCaseDecide") == ["REASON_REQUIRED"]
    bad = {**facts, "annualNetIncome": -1}
    body = api.gql(RECORD, {"id": case["id"], "step": "VERIFICATION",
                            "r": {"household": bad, "verifiers": ["王", "李"]}},
                   token="caseworker")
    assert body["data"]["monitoringCaseRecordStep"]["userErrors"][0]["field"] == \
        "household.annualNetIncome"
    assert errors(api.gql(RECORD, {"id": case["id"], "step": "VERIFICATION",
                                   "r": {"verifiers": ["王"]}}, token="caseworker"),
                  "monitoringCaseRecordStep") == ["TWO_VERIFIERS"]
    # The verified facts: a household revision, the determination attached.
    body = api.gql(RECORD, {"id": case["id"], "step": "VERIFICATION", "rev": case["revision"],
                            "r": {"household": {**facts, "annualNetIncome": 3000},
                                  "verifiers": ["王", "李"], "note": "入户核查"}},
                   token="caseworker")
    done = body["data"]["monitoringCaseRecordStep"]["monitoringCase"]
    assert done["criteriaGranted"] == ["monitoring.unstable_alleviated"] and done["criteriaMet"]
    # The same with its title in the version the attached determination used.
    assert done["criteria"] == [{"code": "monitoring.unstable_alleviated", "title": "脱贫不稳定户",
                                 "en": "Unstable poverty-alleviated household"}]
    assert done["determination"]["householdRevision"] == 2
    assert done["entries"][-1]["details"]["factsChanged"] == ["annualNetIncome"]
    # A stale revision is refused.
    assert errors(api.gql(RECORD, {"id": case["id"], "step": "VERIFICATION",
                                   "rev": case["revision"], "r": {"verifiers": ["王", "李"]}},
                          token="caseworker"), "monitoringCaseRecordStep") == ["CONFLICT"]
    body = api.gql(DECIDE, {"id": case["id"], "d": "APPROVE"}, token="caseworker")
    assert body["data"]["monitoringCaseDecide"]["monitoringCase"]["step"] == "COMPARISON"
    # The village review's notice cannot be approved before it has run.
    api.gql(RECORD, {"id": case["id"], "step": "COMPARISON", "r": {}}, token="caseworker")
    api.gql(DECIDE, {"id": case["id"], "d": "APPROVE"}, token="caseworker")
    body = api.gql(RECORD, {"id": case["id"], "step": "VILLAGE_REVIEW",
                            "r": {"noticeStartedOn": date.today().isoformat(),
                                  "objections": ["村民甲有异议"]}}, token="caseworker")
    noticed = body["data"]["monitoringCaseRecordStep"]["monitoringCase"]
    assert noticed["noticeEndsOn"] == (date.today() + timedelta(days=4)).isoformat()
    assert noticed["objections"] == ["村民甲有异议"]
    assert errors(api.gql(DECIDE, {"id": case["id"], "d": "APPROVE"}, token="caseworker"),
                  "monitoringCaseDecide") == ["NOTICE_NOT_OVER"]


def test_township_review_and_county_approval_with_four_eyes_over_http(api: Api) -> None:
    v = at_township_review(api)
    assert v.step == "TOWNSHIP_REVIEW"
    # The caseworker's step is over; the county officer cannot act for the township.
    for token in ("caseworker", "county_officer"):
        body = api.gql(DECIDE, {"id": v.id, "d": "APPROVE"}, token=token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = api.gql(DECIDE, {"id": v.id, "d": "APPROVE"}, token="township_officer")
    case = body["data"]["monitoringCaseDecide"]["monitoringCase"]
    assert (case["step"], case["townshipReviewer"]) == ("COUNTY_APPROVAL",
                                                        "township_officer:tw-001")
    # tw-001 again, through a county token: four eyes are by person.
    assert errors(api.gql(DECIDE, {"id": v.id, "d": "APPROVE"}, token="county_officer_tw"),
                  "monitoringCaseDecide") == ["FOUR_EYES"]
    body = api.gql(DECIDE, {"id": v.id, "d": "APPROVE"}, token="county_officer")
    case = body["data"]["monitoringCaseDecide"]["monitoringCase"]
    assert (case["status"], case["closedOn"]) == ("APPROVED", date.today().isoformat())
    facts = api.gql("query($id: ID!) { household(id: $id) { revision facts } }",
                    {"id": v.household_id}, token="county_officer")["data"]["household"]
    assert facts["facts"]["monitored"] is True
    assert facts["facts"]["monitoredSince"] == date.today().isoformat()
    assert facts["revision"] == case["householdRevision"]


def test_a_case_is_returned_and_rejected_over_http(api: Api) -> None:
    v = at_township_review(api)
    body = api.gql(DECIDE, {"id": v.id, "d": "RETURN", "reason": "公示材料不全",
                            "to": "VILLAGE_REVIEW"}, token="township_officer")
    case = body["data"]["monitoringCaseDecide"]["monitoringCase"]
    assert (case["step"], case["noticeStartedOn"]) == ("VILLAGE_REVIEW", None)
    assert case["entries"][-1]["details"] == {"reason": "公示材料不全",
                                              "returnTo": "VILLAGE_REVIEW"}
    body = api.gql(DECIDE, {"id": v.id, "d": "REJECT", "reason": "不符合条件"},
                   token="caseworker")
    assert body["data"]["monitoringCaseDecide"]["monitoringCase"]["status"] == "REJECTED"
    assert errors(api.gql(DECIDE, {"id": v.id, "d": "APPROVE"}, token="caseworker"),
                  "monitoringCaseDecide") == ["CASE_CLOSED"]


def test_every_field_and_mutation_is_scoped_to_the_callers_regions(api: Api) -> None:
    facts = household()
    case = opened(api, facts)
    cid, hid = case["id"], facts["id"]
    inside = ("caseworker", "county_caseworker", "township_officer", "county_officer",
              "auditor")
    outside = ("caseworker2", "township_officer2")
    for token in inside:
        assert api.gql(ONE, {"id": cid}, token=token)["data"]["monitoringCase"]["id"] == cid
        listed = api.gql(LIST, {"first": 100, "f": {"householdId": hid}}, token=token)
        assert [e["node"]["id"] for e in listed["data"]["monitoringCases"]["edges"]] == [cid]
        assert [c["id"] for c in api.gql(HOUSEHOLD_CASES, {"id": hid}, token=token)
                ["data"]["household"]["monitoringCases"]] == [cid]
    for token in outside:
        assert api.gql(ONE, {"id": cid}, token=token)["data"]["monitoringCase"] is None
        listed = api.gql(LIST, {"first": 100, "f": {"householdId": hid}}, token=token)
        assert listed["data"]["monitoringCases"]["totalCount"] == 0
        # asking for another region's cases by region code gives none either
        listed = api.gql(LIST, {"first": 100, "f": {"regionCodes": ["371300-001"]}},
                         token=token)
        assert listed["data"]["monitoringCases"]["totalCount"] == 0
        assert api.gql(HOUSEHOLD_CASES, {"id": hid}, token=token)["data"]["household"] is None
        counts = api.gql(COUNTS, token=token)["data"]["monitoringCaseOverdueCounts"]
        assert all(c["regionCode"].startswith("371300-002") or c["level"] == "COUNTY"
                   for c in counts)
        assert all(c["regionCode"] != "371300-001" for c in counts)
    # Mutations: another region's household and case are not found.
    body = api.gql(OPEN, {"i": {"householdId": hid, "kind": "RISK_ELIMINATION",
                                "channel": "APPLICATION", "applicationSignedOn": "2024-01-02"}},
                   token="caseworker2")
    assert errors(body, "monitoringCaseOpen") == ["NOT_FOUND"]
    for token in outside:
        body = api.gql(RECORD, {"id": cid, "step": "VERIFICATION",
                                "r": {"verifiers": ["a", "b"]}}, token=token)
        assert errors(body, "monitoringCaseRecordStep") == ["NOT_FOUND"]
        body = api.gql(DECIDE, {"id": cid, "d": "REJECT", "reason": "x"}, token=token)
        assert errors(body, "monitoringCaseDecide") == ["NOT_FOUND"]
    # Roles without cases: refused before anything is looked up.
    for token in ("api_client", "policy_editor", "policy_approver"):
        assert api.gql(ONE, {"id": cid}, token=token)["errors"][0]["extensions"]["code"] == \
            "FORBIDDEN"
        assert api.gql(LIST, {"first": 5}, token=token)["errors"][0]["extensions"]["code"] \
            == "FORBIDDEN"
        for q, v in ((OPEN, {"i": {"householdId": hid, "kind": "INCLUSION",
                                   "channel": "APPLICATION",
                                   "applicationSignedOn": "2024-01-02"}}),
                     (DECIDE, {"id": cid, "d": "REJECT", "reason": "x"}),
                     (RECORD, {"id": cid, "step": "VERIFICATION", "r": {}})):
            assert api.gql(q, v, token=token)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for q, v in ((ONE, {"id": cid}), (LIST, {"first": 5}),
                 (DECIDE, {"id": cid, "d": "REJECT", "reason": "x"})):
        assert api.gql(q, v)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # The auditor and the officers read; only the caseworker opens.
    body = api.gql(OPEN, {"i": {"householdId": hid, "kind": "INCLUSION",
                                "channel": "APPLICATION", "applicationSignedOn": "2024-01-02"}},
                   token="auditor")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_listing_filters_and_pages(api: Api) -> None:
    ids = [opened(api, household())["id"] for _ in range(3)]
    seen: list[str] = []
    after = None
    while True:
        body = api.gql(LIST, {"first": 1, "after": after,
                              "f": {"status": "OPEN", "kind": "INCLUSION",
                                    "step": "VERIFICATION", "overdue": False}},
                       token="caseworker")["data"]["monitoringCases"]
        seen += [e["node"]["id"] for e in body["edges"]]
        if not body["pageInfo"]["hasNextPage"]:
            break
        after = body["pageInfo"]["endCursor"]
    assert set(ids) <= set(seen) and len(seen) == len(set(seen))
    body = api.gql(LIST, {"first": 100, "f": {"kind": "RISK_ELIMINATION"}},
                   token="caseworker")["data"]["monitoringCases"]
    assert not set(ids) & {e["node"]["id"] for e in body["edges"]}
    body = api.gql(LIST, {"first": 100, "f": {"overdue": True}}, token="caseworker")
    assert not set(ids) & {e["node"]["id"] for e in body["data"]["monitoringCases"]["edges"]}
    bad = api.gql(LIST, {"first": 5, "after": "nonsense"}, token="caseworker")
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


BOTH_WAYS = """
query($f: MonitoringCaseFilter, $first: Int, $after: String, $last: Int, $before: String) {
  monitoringCases(first: $first, after: $after, last: $last, before: $before, filter: $f) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } } }
}"""


def test_listing_pages_backwards_with_last_and_before(api: Api) -> None:
    village = f"371300-001-{uuid.uuid4().hex[:8]}"  # this test's cases only
    ids = {opened(api, household(region=village))["id"] for _ in range(4)}

    def page(**args: Any) -> tuple[list[str], bool, bool, dict[str, Any]]:
        body = api.gql(BOTH_WAYS, {"f": {"regionCodes": [village]}, **args},
                       token="caseworker")
        conn = body["data"]["monitoringCases"]
        assert conn["totalCount"] == 4, body
        info = conn["pageInfo"]
        edges = conn["edges"]
        if edges:
            assert (info["startCursor"], info["endCursor"]) == (edges[0]["cursor"],
                                                                edges[-1]["cursor"])
        return ([e["node"]["id"] for e in edges], info["hasPreviousPage"],
                info["hasNextPage"], info)

    newest_first, *_ = page(first=100)
    assert set(newest_first) == ids and len(newest_first) == 4
    oldest = page(last=2)
    assert oldest[:3] == (newest_first[2:], True, False)
    newer = page(last=2, before=oldest[3]["startCursor"])
    assert newer[:3] == (newest_first[:2], False, True)
    assert page(last=1, before=newer[3]["endCursor"])[:3] == (newest_first[:1], False, True)
    # after and before together: the items between, then the last of them
    assert page(after=newer[3]["startCursor"], before=oldest[3]["endCursor"],
                last=1)[:3] == (newest_first[2:3], True, True)
    forwards = page(first=2, after=newer[3]["startCursor"])
    assert forwards[:3] == (newest_first[1:3], True, True)
    bad = api.gql(BOTH_WAYS, {"last": 1, "before": "bm9wZQ"}, token="caseworker")
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    assert bad["errors"][0]["extensions"]["errors"][0]["field"] == "before"
    neither = api.gql(BOTH_WAYS, {}, token="caseworker")
    assert neither["errors"][0]["extensions"]["code"] == "PAGE_SIZE"


@pytest.mark.parametrize("channel,extra,code", [
    ("APPLICATION", {}, "REQUIRED"),
    ("APPLICATION", {"applicationSignedOn": "2999-01-01"}, "DATE_IN_FUTURE"),
    ("ALERT", {}, "REQUIRED"),
    ("ALERT", {"alertId": "no-such-alert"}, "NOT_FOUND"),
    ("VISIT", {"visitId": "no-such-visit"}, "NOT_FOUND"),
])
def test_opening_needs_what_its_channel_names(api: Api, channel: str, extra: dict[str, str],
                                              code: str) -> None:
    hid = saved(api, household())
    body = api.gql(OPEN, {"i": {"householdId": hid, "kind": "INCLUSION", "channel": channel,
                                **extra}}, token="caseworker")
    assert errors(body, "monitoringCaseOpen") == [code]


def test_overdue_cases_are_counted_on_metrics_and_per_township(api: Api) -> None:
    app, cw = api.application, principal(api, "caseworker")
    long_ago = date.today() - timedelta(days=40)
    hid = saved(api, household())
    late = app.cases.open(cw, hid, "INCLUSION", "APPLICATION", long_ago,
                          application_signed_on=long_ago)
    assert late.overdue(date.today())
    expected = app.cases.overdue_by_county(date.today())["371300"]
    assert expected >= 1
    text = api.client.get("/metrics").text
    line = [x for x in text.splitlines()
            if x.startswith('policy_engine_monitoring_cases_overdue{county="371300"}')]
    assert line and float(line[0].split()[-1]) == expected
    # Metrics carry numbers only: no household or case ids.
    assert hid not in text and late.id not in text
    counts = api.gql(COUNTS, token="township_officer")["data"]["monitoringCaseOverdueCounts"]
    assert {"level": "TOWNSHIP", "regionCode": "371300-001"} in [
        {k: c[k] for k in ("level", "regionCode")} for c in counts]
    listed = api.gql(LIST, {"first": 100, "f": {"overdue": True, "householdId": hid}},
                     token="county_officer")["data"]["monitoringCases"]
    assert [e["node"]["id"] for e in listed["edges"]] == [late.id]
    one = api.gql(ONE, {"id": late.id}, token="caseworker")["data"]["monitoringCase"]
    assert one["overdue"] is True


def test_a_case_is_a_node_scoped_as_its_own_query(api: Api) -> None:
    case = opened(api, household())
    node = """query($id: ID!) { node(id: $id) { __typename nodeId
      ... on MonitoringCase { id step } } }"""
    node_id = api.gql("query($id: ID!) { monitoringCase(id: $id) { nodeId } }",
                      {"id": case["id"]}, token="caseworker")["data"]["monitoringCase"]["nodeId"]
    got = api.gql(node, {"id": node_id}, token="township_officer")["data"]["node"]
    assert got == {"__typename": "MonitoringCase", "nodeId": node_id, "id": case["id"],
                   "step": "VERIFICATION"}
    assert api.gql(node, {"id": node_id}, token="caseworker2")["data"]["node"] is None
    assert api.gql(node, {"id": node_id}, token="api_client")["errors"][0]["extensions"][
        "code"] == "FORBIDDEN"


def test_the_procedure_in_force_and_its_citations(api: Api) -> None:
    q = """query($d: Date!) { monitoringProcedure(asOf: $d) { version effectiveFrom contentHash
      periods { name value unit sample description en: description(lang: EN)
                citation { document clause quote } } } }"""
    found = api.gql(q, {"d": "2024-10-01"}, token="caseworker")["data"]["monitoringProcedure"]
    assert (found["version"], found["effectiveFrom"]) == (1, "2023-01-01")
    assert found["contentHash"] == api.application.cases.procedures[0].content_hash
    periods = {p["name"]: p for p in found["periods"]}
    notice = periods["noticeCalendarDays"]
    assert (notice["value"], notice["unit"], notice["sample"]) == (5, "calendar days", True)
    assert notice["citation"]["clause"] == "二、1" and notice["citation"]["quote"]
    assert periods["caseWorkingDays"]["value"] == 20
    assert periods["verificationWorkingDays"]["citation"]["clause"] == "二、2"
    assert api.gql(q, {"d": "2022-12-31"}, token="caseworker")["data"][
        "monitoringProcedure"] is None


def test_the_comparison_attaches_the_windows_events_and_alerts(api: Api) -> None:
    facts = household()
    case = opened(api, facts)
    today = date.today().isoformat()
    ingest = "mutation($e: [EventInput!]!) { eventsIngest(events: $e) { accepted } }"
    api.gql(ingest, {"e": [{"source": "民政", "eventId": f"{facts['id']}-d",
                            "kind": "DIBAO_GRANTED", "householdId": facts["id"],
                            "occurredOn": today}]}, token="caseworker")
    api.gql(RECORD, {"id": case["id"], "step": "VERIFICATION", "r": {"verifiers": ["王", "李"]}},
            token="caseworker")
    api.gql(DECIDE, {"id": case["id"], "d": "APPROVE"}, token="caseworker")
    q = """mutation($id: ID!) { monitoringCaseRecordStep(id: $id, step: COMPARISON,
      record: {note: "比对"}) { monitoringCase {
        comparisonEvents { eventId kind source occurredOn }
        comparisonAlerts { rule householdId } } userErrors { code } } }"""
    done = api.gql(q, {"id": case["id"]}, token="caseworker")["data"][
        "monitoringCaseRecordStep"]["monitoringCase"]
    assert done["comparisonEvents"] == [{"eventId": f"{facts['id']}-d", "kind": "DIBAO_GRANTED",
                                         "source": "民政", "occurredOn": today}]
    assert done["comparisonAlerts"] == [{"rule": "alert.new_dibao_or_temporary_relief",
                                         "householdId": facts["id"]}]
    # The township and county officers who review the case see what it was compared with;
    # another township's officer sees neither the case nor the alert.
    q = """query($id: ID!) { monitoringCase(id: $id) { comparisonAlerts { rule } } }"""
    for token in ("township_officer", "county_officer"):
        seen = api.gql(q, {"id": case["id"]}, token=token)["data"]["monitoringCase"]
        assert seen == {"comparisonAlerts": [{"rule": "alert.new_dibao_or_temporary_relief"}]}
    alerts = api.gql("query($f: AlertFilter) { alerts(first: 50, filter: $f) { edges { node {"
                     " householdId } } } }", {"f": {"regionCodes": ["371300-001"]}},
                     token="township_officer2")
    assert alerts["data"]["alerts"]["edges"] == []


def test_the_procedure_is_read_as_rule_sets_are(prod_api: Api) -> None:
    q = '{ monitoringProcedure(asOf: "2024-10-01") { version } }'
    assert prod_api.gql(q)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert prod_api.gql(q, token="api_client")["data"]["monitoringProcedure"] == {"version": 1}
