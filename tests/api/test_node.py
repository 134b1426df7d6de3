"""Global object identification and cache identity: ``nodeId`` on every object a client
caches, ``node``/``nodes`` round trips, Apollo-style cache keys never shared by two objects,
diff rows of A->B and B->A distinct, region scoping through ``node``, and the
``determinationRecords`` connection paged both ways."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from graphql_api.node import global_id, parse_global_id
from services.application import Tokens
from tests.api.conftest import Api

SAVE = """mutation($h: HouseholdInput!) { householdSave(household: $h) {
  household { id nodeId } userErrors { code } } }"""
DETERMINE = """mutation($id: ID!) { householdDetermine(id: $id, asOf: "2024-06-01") {
  record { id nodeId } userErrors { code } } }"""
INGEST = """mutation($e: [EventInput!]!) { eventsIngest(events: $e) {
  alerts { id nodeId householdId } userErrors { code } } }"""
NODE = """query($id: ID!) { node(id: $id) { __typename nodeId
  ... on RuleSet { id code }
  ... on RuleSetVersion { id ruleSet version }
  ... on Household { id regionCode }
  ... on DeterminationRecord { id recordOf: householdId }
  ... on Alert { id householdId }
  ... on RuleDiff { id ruleId kind } } }"""
NODES = """query($ids: [ID!]!) { nodes(ids: $ids) { __typename nodeId } }"""
DIFF = """query($id: ID!, $against: ID) { ruleSetVersion(id: $id) { diff(against: $against) {
  against { id nodeId } version { id nodeId }
  rules { __typename id nodeId ruleId kind oldCondition newCondition } } } }"""
RECORDS = """query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  household(id: $id) { determinationRecords(first: $first, after: $after, last: $last,
                                            before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id nodeId } } } } }"""


def _household(hid: str, region: str) -> dict[str, Any]:
    return {"id": hid, "regionCode": region, "annualNetIncome": 30000,
            "members": [{"id": "m1", "relation": "HEAD", "birthDate": "1970-05-01"},
                        {"id": "m2", "relation": "CHILD", "birthDate": "2012-03-01",
                         "schoolStage": "PRIMARY"}]}


def _data(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def _saved(api: Api, region: str = "371300-001", who: str = "caseworker") -> dict[str, Any]:
    hid = f"node-{uuid.uuid4().hex[:10]}"
    saved = _data(api.gql(SAVE, {"h": _household(hid, region)}, token=who))["householdSave"]
    assert saved["userErrors"] == []
    household: dict[str, Any] = saved["household"]
    return household


def _record(api: Api, hid: str, who: str = "caseworker") -> dict[str, Any]:
    done = _data(api.gql(DETERMINE, {"id": hid}, token=who))["householdDetermine"]
    assert done["userErrors"] == []
    record: dict[str, Any] = done["record"]
    return record


def _alert(api: Api, hid: str) -> dict[str, Any]:
    if "node-feed" not in api.tokens:
        api.tokens["node-feed"] = Tokens(api.application).create(
            role="api_client", name="node-feed", regions=["371300"])
    event = {"source": "住建", "eventId": f"{hid}-h", "kind": "HOUSING_REGRADED",
             "householdId": hid, "occurredOn": "2024-02-01", "value": "D"}
    done = _data(api.gql(INGEST, {"e": [event]}, token="node-feed"))["eventsIngest"]
    assert done["userErrors"] == []
    (alert,) = [a for a in done["alerts"] if a["householdId"] == hid]
    return alert  # type: ignore[no-any-return]


def _diff(api: Api, new: str, old: str) -> dict[str, Any]:
    diff: dict[str, Any] = _data(api.gql(DIFF, {"id": new, "against": old},
                                         token="policy_editor"))["ruleSetVersion"]["diff"]
    return diff


def test_global_ids_are_opaque_and_typed() -> None:
    gid = global_id("Household", "hh-001")
    assert "hh-001" not in gid and "Household" not in gid
    assert parse_global_id(gid) == ("Household", ("hh-001",))
    assert global_id("Household", "x") != global_id("Alert", "x")
    for bad in ("", "hh-001", "!!!", global_id("Nothing", "x"), global_id("RuleDiff", "a")):
        assert parse_global_id(bad) is None


def test_node_round_trips_every_type(api: Api) -> None:
    household = _saved(api)
    record = _record(api, household["id"])
    alert = _alert(api, household["id"])
    rule_sets = _data(api.gql("{ ruleSets { id nodeId code versions { id nodeId } } }",
                              token="caseworker"))["ruleSets"]
    education = next(r for r in rule_sets if r["code"] == "education")
    assert education["id"] == education["nodeId"]
    version = education["versions"][0]
    rows = _diff(api, "disability-v1", "education-v1")["rules"]
    assert rows, "the two rule sets have different rules"
    expected = [
        ("RuleSet", education["nodeId"], {"id": education["id"], "code": "education"}),
        ("RuleSetVersion", version["nodeId"], {"id": version["id"], "ruleSet": "education"}),
        ("Household", household["nodeId"], {"id": household["id"],
                                            "regionCode": "371300-001"}),
        ("DeterminationRecord", record["nodeId"], {"id": record["id"],
                                                   "recordOf": household["id"]}),
        ("Alert", alert["nodeId"], {"id": alert["id"], "householdId": household["id"]}),
        ("RuleDiff", rows[0]["nodeId"], {"id": rows[0]["id"], "ruleId": rows[0]["ruleId"],
                                         "kind": rows[0]["kind"]}),
    ]
    for typename, gid, fields in expected:
        got = _data(api.gql(NODE, {"id": gid}, token="auditor"))["node"]
        assert got is not None, typename
        assert got["__typename"] == typename and got["nodeId"] == gid
        assert {k: got[k] for k in fields} == fields, typename
    ids = [gid for _, gid, _ in expected]
    got_all = _data(api.gql(NODES, {"ids": ids}, token="auditor"))["nodes"]
    assert [(n["__typename"], n["nodeId"]) for n in got_all] == [(t, g) for t, g, _ in expected]


def test_no_two_objects_share_an_id(api: Api) -> None:
    """Apollo's default cache key (__typename and id) and the nodeId both name one object."""
    household = _saved(api)
    _record(api, household["id"])
    _record(api, household["id"])
    _alert(api, household["id"])
    seen_node: dict[str, set[tuple[str, str]]] = defaultdict(set)
    seen_apollo: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)

    def note(typename: str, identity: str, obj: dict[str, Any]) -> None:
        seen_node[obj["nodeId"]].add((typename, identity))
        seen_apollo[(typename, obj["id"])].add((typename, identity))

    rule_sets = _data(api.gql("{ ruleSets { id nodeId code versions { id nodeId } } }",
                              token="policy_editor"))["ruleSets"]
    for rs in rule_sets:
        note("RuleSet", rs["code"], rs)
        for v in rs["versions"]:
            note("RuleSetVersion", v["id"], v)
    # the diff rows of every pair of these versions, both ways (the rule sets of two programs
    # have different rules; versions of one program share theirs)
    versions = ["education-v1", "education-v2", "disability-v1", "employment-v1"]
    rows = 0
    for new in versions:
        for old in versions:
            if new == old:
                continue
            for row in _diff(api, new, old)["rules"]:
                note("RuleDiff", f"{old}->{new}:{row['ruleId']}", row)
                rows += 1
    assert rows > 0
    listed = _data(api.gql("""query($id: ID!) { household(id: $id) { id nodeId
      determinationRecords { edges { node { id nodeId } } }
      alerts { id nodeId } } }""", {"id": household["id"]}, token="caseworker"))["household"]
    note("Household", household["id"], listed)
    for e in listed["determinationRecords"]["edges"]:
        note("DeterminationRecord", e["node"]["id"], e["node"])
    for a in listed["alerts"]:
        note("Alert", a["id"], a)
    assert len(listed["determinationRecords"]["edges"]) == 2
    shared = {k: v for k, v in seen_node.items() if len(v) > 1}
    assert shared == {}, shared
    shared_keys = {k: v for k, v in seen_apollo.items() if len(v) > 1}
    assert shared_keys == {}, shared_keys
    # a household and a version of the same raw id still have different nodeIds
    assert global_id("Household", "education-v1") != global_id("RuleSetVersion", "education-v1")


def test_diff_rows_a_to_b_and_b_to_a_are_distinct(api: Api) -> None:
    forward = _diff(api, "disability-v1", "education-v1")
    backward = _diff(api, "education-v1", "disability-v1")
    assert forward["rules"] and backward["rules"]
    f_by_rule = {r["ruleId"]: r for r in forward["rules"]}
    b_by_rule = {r["ruleId"]: r for r in backward["rules"]}
    assert f_by_rule.keys() == b_by_rule.keys()
    for rule_id, f in f_by_rule.items():
        b = b_by_rule[rule_id]
        assert f["id"] != b["id"] and f["nodeId"] != b["nodeId"]
        # each reads back its own side: A->B's new condition is B->A's old one
        assert (f["oldCondition"], f["newCondition"]) == (b["newCondition"], b["oldCondition"])
        assert {f["kind"], b["kind"]} in ({"ADDED", "REMOVED"}, {"CHANGED"})
        again = _data(api.gql(NODE, {"id": f["nodeId"]}, token="policy_editor"))["node"]
        assert (again["id"], again["kind"]) == (f["id"], f["kind"])
        again_b = _data(api.gql(NODE, {"id": b["nodeId"]}, token="policy_editor"))["node"]
        assert again_b["id"] == b["id"]


def test_region_scoping_applies_through_node(api: Api) -> None:
    household = _saved(api)  # region 371300-001
    record = _record(api, household["id"])
    alert = _alert(api, household["id"])
    ids = [household["nodeId"], record["nodeId"], alert["nodeId"]]
    for gid in ids:
        # the caseworker of the household's region reads it; another region's does not
        assert _data(api.gql(NODE, {"id": gid}, token="caseworker"))["node"] is not None
        assert _data(api.gql(NODE, {"id": gid}, token="caseworker2"))["node"] is None
    assert _data(api.gql(NODES, {"ids": ids}, token="caseworker2"))["nodes"] == [None] * 3
    mine = _data(api.gql(NODES, {"ids": ids}, token="county_caseworker"))["nodes"]
    assert [n["nodeId"] for n in mine] == ids


def test_who_may_not_read_a_kind_gets_its_error(api: Api) -> None:
    household = _saved(api)
    body = api.gql(NODE, {"id": household["nodeId"]}, token="api_client")
    assert body["data"] == {"node": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # in nodes, only that item is null, with its error at its path
    rule_set = global_id("RuleSet", "education")
    body = api.gql(NODES, {"ids": [rule_set, household["nodeId"]]}, token="api_client")
    assert body["data"]["nodes"][0]["nodeId"] == rule_set
    assert body["data"]["nodes"][1] is None
    (err,) = body["errors"]
    assert err["path"] == ["nodes", 1] and err["extensions"]["code"] == "FORBIDDEN"


def test_unknown_and_malformed_ids_are_null(api: Api) -> None:
    for gid in ("not-an-id", global_id("Household", "no-such-household"),
                global_id("RuleSet", "roads"), global_id("RuleDiff", "education-v1",
                                                          "education-v2", "no.such.rule")):
        assert _data(api.gql(NODE, {"id": gid}, token="auditor"))["node"] is None
    body = api.gql(NODES, {"ids": ["x"] * 101}, token="auditor")
    assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_IDS"


def test_determination_records_paged_both_ways(api: Api) -> None:
    household = _saved(api)
    made = [_record(api, household["id"])["id"] for _ in range(5)]
    newest_first = made[::-1]

    def page(**args: Any) -> dict[str, Any]:
        conn: dict[str, Any] = _data(api.gql(RECORDS, {"id": household["id"], **args},
                                             token="caseworker"))["household"][
            "determinationRecords"]
        assert conn["totalCount"] == 5
        return conn

    def ids(conn: dict[str, Any]) -> list[str]:
        return [e["node"]["id"] for e in conn["edges"]]

    everything = page()
    assert ids(everything) == newest_first
    assert everything["pageInfo"]["hasNextPage"] is False
    first = page(first=2)
    assert ids(first) == newest_first[:2]
    info = first["pageInfo"]
    assert (info["hasNextPage"], info["hasPreviousPage"]) == (True, False)
    assert info["startCursor"] == first["edges"][0]["cursor"]
    assert info["endCursor"] == first["edges"][-1]["cursor"]
    second = page(first=2, after=info["endCursor"])
    assert ids(second) == newest_first[2:4]
    assert (second["pageInfo"]["hasNextPage"], second["pageInfo"]["hasPreviousPage"]) == (
        True, True)
    last = page(last=2)
    assert ids(last) == newest_first[3:]
    assert (last["pageInfo"]["hasNextPage"], last["pageInfo"]["hasPreviousPage"]) == (
        False, True)
    back = page(last=2, before=last["pageInfo"]["startCursor"])
    assert ids(back) == newest_first[1:3]
    assert back["pageInfo"]["hasPreviousPage"] is True
    window = page(after=first["edges"][0]["cursor"], before=last["edges"][-1]["cursor"])
    assert ids(window) == newest_first[1:4]
    bad = api.gql(RECORDS, {"id": household["id"], "after": "bm9wZQ"}, token="caseworker")
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    bad = api.gql(RECORDS, {"id": household["id"], "first": 101}, token="caseworker")
    assert bad["errors"][0]["extensions"]["code"] == "PAGE_SIZE"


HOUSEHOLDS = """query($first: Int, $after: String, $last: Int, $before: String, $prefix: String) {
  households(first: $first, after: $after, last: $last, before: $before,
             filter: {idPrefix: $prefix}) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } } } }"""


def test_households_paged_both_ways(api: Api) -> None:
    prefix = f"win-{uuid.uuid4().hex[:8]}-"
    ids = [f"{prefix}{i}" for i in range(5)]
    for hid in ids:
        saved = _data(api.gql(SAVE, {"h": _household(hid, "371300-001")},
                              token="caseworker"))["householdSave"]
        assert saved["userErrors"] == []

    def page(**args: Any) -> dict[str, Any]:
        conn: dict[str, Any] = _data(api.gql(HOUSEHOLDS, {"prefix": prefix, **args},
                                             token="caseworker"))["households"]
        assert conn["totalCount"] == 5
        if conn["edges"]:
            assert conn["pageInfo"]["startCursor"] == conn["edges"][0]["cursor"]
            assert conn["pageInfo"]["endCursor"] == conn["edges"][-1]["cursor"]
        return conn

    def got(conn: dict[str, Any]) -> tuple[list[str], bool, bool]:
        info = conn["pageInfo"]
        return ([e["node"]["id"] for e in conn["edges"]], info["hasPreviousPage"],
                info["hasNextPage"])

    first = page(first=2)
    assert got(first) == (ids[:2], False, True)
    second = page(first=2, after=first["pageInfo"]["endCursor"])
    assert got(second) == (ids[2:4], True, True)
    last = page(last=2)
    assert got(last) == (ids[3:], True, False)
    back = page(last=2, before=last["pageInfo"]["startCursor"])
    assert got(back) == (ids[1:3], True, True)
    start = page(last=2, before=back["pageInfo"]["startCursor"])
    assert got(start) == (ids[:1], False, True)
    window = page(first=10, after=first["edges"][0]["cursor"],
                  before=last["edges"][-1]["cursor"])
    assert got(window) == (ids[1:4], True, True)
    # a caseworker of another region sees none of them
    other = _data(api.gql(HOUSEHOLDS, {"prefix": prefix, "last": 3},
                          token="caseworker2"))["households"]
    assert other["totalCount"] == 0 and other["edges"] == []
    body = api.gql(HOUSEHOLDS, {"prefix": prefix}, token="caseworker")
    assert body["errors"][0]["extensions"]["code"] == "PAGE_SIZE"
    body = api.gql(HOUSEHOLDS, {"prefix": prefix, "last": 2, "before": "bm9wZQ"},
                   token="caseworker")
    err = body["errors"][0]["extensions"]
    assert err["code"] == "INVALID_CURSOR" and err["errors"][0]["field"] == "before"


AUDIT = """query($first: Int, $after: String, $last: Int, $before: String, $id: String) {
  auditLog(first: $first, after: $after, last: $last, before: $before,
           filter: {objectId: $id, action: "household.save"}) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { details } } } }"""


def test_audit_log_paged_both_ways(api: Api) -> None:
    household = _saved(api)
    for revision in range(1, 5):  # four more saves: revisions 2 to 5
        again = {**_household(household["id"], "371300-001"), "annualNetIncome": 30000 + revision}
        body = api.gql("""mutation($h: HouseholdInput!, $r: Int) {
          householdSave(household: $h, expectedRevision: $r) { userErrors { code } } }""",
                       {"h": again, "r": revision}, token="caseworker")
        assert _data(body)["householdSave"]["userErrors"] == []

    def page(**args: Any) -> tuple[list[int], bool, bool, dict[str, Any]]:
        conn = _data(api.gql(AUDIT, {"id": household["id"], **args},
                             token="auditor"))["auditLog"]
        assert conn["totalCount"] == 5
        info = conn["pageInfo"]
        return ([e["node"]["details"]["revision"] for e in conn["edges"]],
                info["hasPreviousPage"], info["hasNextPage"], info)

    newest = page(first=2)
    assert newest[:3] == ([5, 4], False, True)
    assert page(first=2, after=newest[3]["endCursor"])[:3] == ([3, 2], True, True)
    oldest = page(last=2)
    assert oldest[:3] == ([2, 1], True, False)
    assert page(last=2, before=oldest[3]["startCursor"])[:3] == ([4, 3], True, True)
    assert page()[:3] == ([5, 4, 3, 2, 1], False, False)
    body = api.gql(AUDIT, {"id": household["id"], "before": "bm9wZQ", "last": 1},
                   token="auditor")
    assert body["errors"][0]["extensions"]["errors"][0]["field"] == "before"


ALERTS = """query($first: Int, $after: String, $last: Int, $before: String, $since: DateTime) {
  alerts(first: $first, after: $after, last: $last, before: $before,
         filter: {since: $since, rule: "alert.housing_unsafe"}) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { householdId } } } }"""


def test_alerts_paged_both_ways(api: Api) -> None:
    import time
    from datetime import UTC, datetime

    since = datetime.now(UTC).isoformat()
    households = []
    for _ in range(4):
        hid = _saved(api)["id"]
        _alert(api, hid)
        households.append(hid)
        time.sleep(0.01)  # distinct raisedAt, newest first
    newest_first = households[::-1]

    def page(**args: Any) -> tuple[list[str], bool, bool, dict[str, Any]]:
        conn = _data(api.gql(ALERTS, {"since": since, **args}, token="caseworker"))["alerts"]
        assert conn["totalCount"] == 4
        info = conn["pageInfo"]
        return ([e["node"]["householdId"] for e in conn["edges"]], info["hasPreviousPage"],
                info["hasNextPage"], info)

    first = page(first=2)
    assert first[:3] == (newest_first[:2], False, True)
    assert page(first=2, after=first[3]["endCursor"])[:3] == (newest_first[2:], True, False)
    last = page(last=3)
    assert last[:3] == (newest_first[1:], True, False)
    assert page(last=3, before=last[3]["startCursor"])[:3] == (newest_first[:1], False, True)
    body = api.gql(ALERTS, {"since": since}, token="caseworker")
    assert body["errors"][0]["extensions"]["code"] == "PAGE_SIZE"
