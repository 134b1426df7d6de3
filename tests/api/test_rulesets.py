"""Rule-set editing over HTTP: draft, update, validate, test, diff, impact, submit, publish,
retire; who may do what; and evaluation as of dates on either side of a publication.

The module's ``api`` is shared by its tests, so each test works on its own program: the
lifecycle on monitoring, review rules on education, access on disability. The tests that edit a
disability draft of their own (a rule set has one open draft at a time) each get a database of
their own (``own_api``), so every test runs alone and in any order."""

from __future__ import annotations

import copy
import dataclasses
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from policy.errors import FactsInvalid
from policy.facts import parse_household
from services.application import Tokens
from services.auth import Principal
from store.models import AuditEntry
from tests.api.conftest import Api

ERRORS = "userErrors { field message code }"
VERSION = ("id ruleSet version status revision author contentHash effectiveFrom effectiveTo "
           "basedOn { id version }")
CREATE = f"""mutation($rs: String!, $from: ID) {{ ruleSetDraftCreate(ruleSet: $rs, from: $from) {{
  version {{ {VERSION} }} {ERRORS} }} }}"""
UPDATE = f"""mutation($id: ID!, $rev: Int!, $doc: JSON, $params: [ParameterChangeInput!]) {{
  ruleSetDraftUpdate(id: $id, expectedRevision: $rev, document: $doc, parameters: $params) {{
  version {{ {VERSION} }} {ERRORS} }} }}"""
READ = f"""query($id: ID!) {{ ruleSetVersion(id: $id) {{ {VERSION} document }} }}"""
VALIDATE = f"""mutation($id: ID!, $doc: JSON) {{ ruleSetDraftValidate(id: $id, document: $doc) {{
  valid issues {{ field code message severity column }} {ERRORS} }} }}"""
TEST = f"""mutation($id: ID!) {{ ruleSetDraftTest(id: $id) {{
  passed total failed cases {{ index name passed failures }} {ERRORS} }} }}"""
DIFF = """query($id: ID!, $against: ID) { ruleSetVersion(id: $id) { diff(against: $against) {
  empty text(lang: EN) against { id version } version { id version }
  parameters { name kind oldValue newValue oldCitation { document clause quote }
               newCitation { document clause quote } }
  rules { id kind oldCondition newCondition oldAmount newAmount changes { field old new } }
  tests { name kind } } } }"""
REASON = "ruleId text(lang: EN) citation { document clause } conditions { expression actual " \
         "expected passed }"
IMPACT = f"""mutation($id: ID!, $asOf: Date!, $regions: [String!], $first: Int) {{
  ruleSetDraftImpact(id: $id, asOf: $asOf, regionCodes: $regions, first: $first) {{
  impact {{ asOf households skipped gained lost changed unchanged changedTotal pseudonymised
    annualAmountBefore annualAmountAfter oneOffAmountBefore oneOffAmountAfter
    version {{ id }} baseline {{ id version }}
    byRegion {{ regionCode households gained lost changed annualAmountBefore annualAmountAfter }}
    changedHouseholds {{ householdId regionCode kind annualAmountBefore annualAmountAfter
      outcomes {{ code memberId kind
        before {{ status amount period reasons {{ {REASON} }} }}
        after {{ status amount period reasons {{ {REASON} }} }} }} }} }}
  {ERRORS} }} }}"""
TREES = """mutation($id: ID!, $asOf: Date!) { ruleSetDraftImpact(id: $id, asOf: $asOf) {
  impact { changedHouseholds { outcomes {
    before { reasons { condition { expression actual children { expression actual
                                                                 children { expression } } } } }
    after { reasons { condition { expression actual children { expression actual
                                                                children { expression } } } } }
  } } } userErrors { code } } }"""
SUBMIT = f"""mutation($id: ID!, $rev: Int) {{ ruleSetVersionSubmit(id: $id, expectedRevision: $rev)
  {{ version {{ {VERSION} submittedBy }} {ERRORS} }} }}"""
PUBLISH = f"""mutation($id: ID!, $from: Date!) {{ ruleSetVersionPublish(id: $id,
  effectiveFrom: $from) {{ version {{ {VERSION} publishedBy }} {ERRORS} }} }}"""
RETIRE = f"""mutation($id: ID!) {{ ruleSetVersionRetire(id: $id, reason: "superseded") {{
  version {{ {VERSION} retiredBy }} {ERRORS} }} }}"""
EVALUATE = """query($h: HouseholdInput!, $asOf: Date!, $p: [String!]) {
  evaluate(household: $h, asOf: $asOf, programs: $p) { programs {
    ruleSetVersion { id version contentHash }
    outcomes { code memberId status amount } } } }"""
SAVE = """mutation($h: HouseholdInput!) { householdSave(household: $h) {
  household { id revision } userErrors { field message code } } }"""
DETERMINE = """mutation($id: ID!, $asOf: Date!) { householdDetermine(id: $id, asOf: $asOf) {
  record { versions { id version contentHash } } userErrors { code } } }"""
VERSIONS = """query($code: String!) { ruleSet(code: $code) {
  versions { id version status effectiveFrom effectiveTo } } }"""


def ok(body: dict[str, Any], name: str) -> dict[str, Any]:
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][name]
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload


def user_errors(body: dict[str, Any], name: str) -> list[tuple[str | None, str]]:
    assert "errors" not in body, body
    return [(e["field"], e["code"]) for e in body["data"][name]["userErrors"]]


def gql_error(body: dict[str, Any]) -> str:
    code: str = body["errors"][0]["extensions"]["code"]
    return code


def audit_actions(api: Api, object_id: str) -> list[tuple[str, str]]:
    with api.application.uow() as uow:
        rows = uow.session.scalars(select(AuditEntry).where(
            AuditEntry.object_id == object_id).order_by(AuditEntry.id))
        return [(e.action, e.actor) for e in rows]


def household(hid: str, region: str, income: float, **facts: Any) -> dict[str, Any]:
    return {"id": hid, "regionCode": region, "annualNetIncome": income, **facts,
            "members": [{"id": "m1", "relation": "HEAD", "birthDate": "1970-03-01"},
                        {"id": "m2", "relation": "SPOUSE", "birthDate": "1972-05-01"}]}


def outcome(body: dict[str, Any], code: str, member: str | None = None) -> dict[str, Any]:
    [program] = body["data"]["evaluate"]["programs"]
    found: dict[str, Any] = next(o for o in program["outcomes"]
                                 if o["code"] == code and o["memberId"] == member)
    return {**found, "version": program["ruleSetVersion"]}


# --- the whole lifecycle ---------------------------------------------------------------------


def test_lifecycle_raise_the_monitoring_income_line(api: Api) -> None:
    # A household at 6300 yuan per person: above the 6000 line, below 6600.
    near = household("t-rs-near", "371300-001", 12600, previousAnnualNetIncome=12600)
    assert ok(api.gql(SAVE, {"h": near}, token="caseworker"), "householdSave")

    # 1. A draft copied from the published version.
    draft = ok(api.gql(CREATE, {"rs": "monitoring"}, token="policy_editor"),
               "ruleSetDraftCreate")["version"]
    assert (draft["status"], draft["version"], draft["revision"]) == ("DRAFT", 2, 1)
    assert draft["basedOn"] == {"id": "monitoring-v1", "version": 1}
    assert draft["author"] == "policy_editor:ed-1"
    did = draft["id"]

    # 2. Change the income line from 6000 to 6600 in the document, with its citation.
    doc = api.gql(READ, {"id": did}, token="policy_editor")["data"]["ruleSetVersion"]["document"]
    assert doc["parameters"]["incomeLine"]["value"] == 6000
    doc["parameters"]["incomeLine"]["value"] = 6600
    doc["parameters"]["incomeLine"]["citation"]["quote"] = "重点监测年人均纯收入低于6600元的农户"
    updated = ok(api.gql(UPDATE, {"id": did, "rev": 1, "doc": doc}, token="policy_editor"),
                 "ruleSetDraftUpdate")["version"]
    assert updated["revision"] == 2 and updated["contentHash"] != draft["contentHash"]

    # A second editor still holding revision 1 is refused; nothing is lost.
    stale = copy.deepcopy(doc)
    stale["parameters"]["incomeLine"]["value"] = 7000
    body = api.gql(UPDATE, {"id": did, "rev": 1, "doc": stale}, token="policy_editor2")
    assert user_errors(body, "ruleSetDraftUpdate") == [("expectedRevision", "CONFLICT")]
    assert body["data"]["ruleSetDraftUpdate"]["version"] is None
    now = api.gql(READ, {"id": did}, token="policy_editor2")["data"]["ruleSetVersion"]
    assert now["revision"] == 2 and now["document"]["parameters"]["incomeLine"]["value"] == 6600

    # 3. Validate and 4. test.
    checked = ok(api.gql(VALIDATE, {"id": did}, token="policy_editor"), "ruleSetDraftValidate")
    assert checked["valid"] is True and checked["issues"] == []
    tested = ok(api.gql(TEST, {"id": did}, token="policy_editor"), "ruleSetDraftTest")
    assert tested["passed"] is True and tested["failed"] == 0 and tested["total"] == 10

    # 5. Diff against the version it is based on: old -> new value, with both citations.
    diff = api.gql(DIFF, {"id": did}, token="policy_editor")["data"]["ruleSetVersion"]["diff"]
    assert diff["against"] == {"id": "monitoring-v1", "version": 1}
    [param] = diff["parameters"]
    assert (param["name"], param["kind"], param["oldValue"], param["newValue"]) == (
        "incomeLine", "CHANGED", 6000, 6600)
    assert param["oldCitation"]["quote"] == "重点监测年人均纯收入低于6000元的农户"
    assert param["newCitation"]["quote"] == "重点监测年人均纯收入低于6600元的农户"
    assert diff["rules"] == [] and diff["tests"] == [] and diff["empty"] is False
    assert "incomeLine: 6000 → 6600 yuan/person/year" in diff["text"]

    # 6. Impact: the households that newly qualify, with the reasons on both sides (as an
    # auditor, who may read every household, sees them).
    impact = ok(api.gql(IMPACT, {"id": did, "asOf": "2024-06-01"}, token="auditor"),
                "ruleSetDraftImpact")["impact"]
    assert impact["baseline"] == {"id": "monitoring-v1", "version": 1}
    assert impact["households"] >= 12 and impact["skipped"] == 0
    assert impact["lost"] == 0 and impact["gained"] >= 2
    assert impact["gained"] + impact["changed"] + impact["unchanged"] == impact["households"]
    assert sum(r["households"] for r in impact["byRegion"]) == impact["households"]
    assert sum(r["gained"] for r in impact["byRegion"]) == impact["gained"]
    changed = {h["householdId"]: h for h in impact["changedHouseholds"]}
    assert len(changed) == impact["changedTotal"]
    mine = changed["t-rs-near"]
    assert (mine["kind"], mine["regionCode"]) == ("GAINED", "371300-001")
    [gain] = mine["outcomes"]
    assert (gain["code"], gain["kind"]) == ("monitoring.marginal_at_risk", "GAINED")
    assert gain["before"]["status"] == "NOT_GRANTED"
    assert gain["before"]["reasons"][0]["conditions"][-1] == {
        "expression": "perCapitaNetIncome < incomeLine", "actual": "6300.00",
        "expected": "< 6000.00", "passed": False}
    after = gain["after"]
    assert after["status"] == "GRANTED"
    assert after["reasons"][0]["ruleId"] == "marginal_at_risk"
    assert after["reasons"][0]["citation"]["clause"] == "二、1"
    assert {"expression": "perCapitaNetIncome < incomeLine", "actual": "6300.00",
            "expected": "< 6600.00", "passed": True} in after["reasons"][0]["conditions"]
    # The fixture household hh-010 (6400 per person) newly qualifies too.
    assert changed["hh-010"]["outcomes"][0]["code"] == "monitoring.marginal_at_risk"

    # Its editor may not read households: the same preview, pseudonymised, with only the
    # condition the draft changed (and the income it read), the same pseudonyms every time.
    seen = ok(api.gql(IMPACT, {"id": did, "asOf": "2024-06-01"}, token="policy_editor"),
              "ruleSetDraftImpact")["impact"]
    again = ok(api.gql(IMPACT, {"id": did, "asOf": "2024-06-01"}, token="policy_editor"),
               "ruleSetDraftImpact")["impact"]
    assert seen["changedHouseholds"] == again["changedHouseholds"]
    pseudonyms = [h["householdId"] for h in seen["changedHouseholds"]]
    assert len(pseudonyms) == len(changed) and not set(pseudonyms) & set(changed)
    assert all(p.startswith("HH-") for p in pseudonyms)
    for key in ("households", "gained", "changed", "annualAmountAfter", "byRegion"):
        assert seen[key] == impact[key], key
    conditions = {(c["expression"], c["actual"], c["expected"], c["passed"])
                  for h in seen["changedHouseholds"] for o in h["outcomes"]
                  for side in (o["before"], o["after"]) if side
                  for r in side["reasons"] for c in r["conditions"]}
    # Only conditions that read the changed income line: their results or thresholds moved.
    assert conditions and all("incomeLine" in e for e, *_ in conditions)
    # The condition trees are cut down the same way: the changed comparisons, no subtrees.
    trees = ok(api.gql(TREES, {"id": did, "asOf": "2024-06-01"}, token="policy_editor"),
               "ruleSetDraftImpact")["impact"]["changedHouseholds"]
    roots = [r["condition"] for h in trees for o in h["outcomes"]
             for side in (o["before"], o["after"]) if side for r in side["reasons"]]
    assert roots and all(root["actual"] is None for root in roots)
    assert all("incomeLine" in c["expression"] and c["children"] == []
               for root in roots for c in root["children"])
    assert ("perCapitaNetIncome < incomeLine", "6300.00", "< 6600.00", True) in conditions

    # 7. Submit (the author), 8. publish by another person with an effective date.
    submitted = ok(api.gql(SUBMIT, {"id": did, "rev": 2}, token="policy_editor"),
                   "ruleSetVersionSubmit")["version"]
    assert submitted["status"] == "IN_REVIEW"
    assert submitted["submittedBy"] == "policy_editor:ed-1"
    body = api.gql(PUBLISH, {"id": did, "from": "2030-01-01"}, token="policy_editor")
    assert gql_error(body) == "FORBIDDEN"  # editors do not publish
    published = ok(api.gql(PUBLISH, {"id": did, "from": "2030-01-01"},
                           token="policy_approver"), "ruleSetVersionPublish")["version"]
    assert (published["status"], published["effectiveFrom"]) == ("PUBLISHED", "2030-01-01")
    assert published["publishedBy"] == "policy_approver:ap-1"
    versions = api.gql(VERSIONS, {"code": "monitoring"})["data"]["ruleSet"]["versions"]
    assert [(v["version"], v["status"], v["effectiveFrom"], v["effectiveTo"])
            for v in versions] == [(1, "PUBLISHED", "2023-01-01", "2029-12-31"),
                                   (2, "PUBLISHED", "2030-01-01", None)]

    # 9. As of the day before, the old version decides; from the effective date, the new one.
    before = outcome(api.gql(EVALUATE, {"h": near, "asOf": "2029-12-31", "p": ["monitoring"]}),
                     "monitoring.marginal_at_risk")
    assert before["status"] == "NOT_GRANTED" and before["version"]["id"] == "monitoring-v1"
    after_ = outcome(api.gql(EVALUATE, {"h": near, "asOf": "2030-01-01", "p": ["monitoring"]}),
                     "monitoring.marginal_at_risk")
    assert after_["status"] == "GRANTED" and after_["version"]["id"] == did
    assert after_["version"]["contentHash"] == published["contentHash"]
    # A recorded determination names the version it used.
    record = api.gql(DETERMINE, {"id": "t-rs-near", "asOf": "2030-01-01"},
                     token="caseworker")["data"]["householdDetermine"]["record"]
    assert {"id": did, "version": 2, "contentHash": published["contentHash"]} in \
        record["versions"]

    # A published version never changes.
    body = api.gql(UPDATE, {"id": did, "rev": published["revision"], "doc": doc},
                   token="policy_editor")
    assert user_errors(body, "ruleSetDraftUpdate") == [("id", "IMMUTABLE")]

    # Every step is in the audit log, with who.
    assert audit_actions(api, did) == [
        ("ruleset.draft.create", "policy_editor:ed-1"),
        ("ruleset.draft.update", "policy_editor:ed-1"),
        ("ruleset.draft.validate", "policy_editor:ed-1"),
        ("ruleset.draft.test", "policy_editor:ed-1"),
        ("ruleset.draft.impact", "auditor:au-1"),
        ("ruleset.draft.impact", "policy_editor:ed-1"),
        ("ruleset.draft.impact", "policy_editor:ed-1"),
        ("ruleset.draft.impact", "policy_editor:ed-1"),
        ("ruleset.version.submit", "policy_editor:ed-1"),
        ("ruleset.version.publish", "policy_approver:ap-1"),
    ]
    with api.application.uow() as uow:
        entry = uow.audit.page(1, action="ruleset.draft.update", object_id=did).items[0]
        assert entry.details["changes"]["parameters"] == [
            {"name": "incomeLine", "kind": "CHANGED", "old": 6000, "new": 6600}]


# --- review: failing tests, four eyes, effective dates, retirement ---------------------------


def test_review_rules_on_education(api: Api) -> None:
    draft = ok(api.gql(CREATE, {"rs": "education", "from": "education-v4"},
                       token="education_editor"), "ruleSetDraftCreate")["version"]
    did = draft["id"]
    assert draft["version"] == 5
    # One open draft per rule set.
    again = api.gql(CREATE, {"rs": "education"}, token="education_editor")
    assert user_errors(again, "ruleSetDraftCreate") == [("ruleSet", "DRAFT_EXISTS")]

    # Raise the senior grant: the version's own test cases still expect 2300.
    raised = ok(api.gql(UPDATE, {"id": did, "rev": 1, "params": [
        {"name": "seniorGrant", "value": 2500}]}, token="education_editor"),
        "ruleSetDraftUpdate")["version"]
    tested = ok(api.gql(TEST, {"id": did}, token="education_editor"), "ruleSetDraftTest")
    assert tested["passed"] is False and tested["failed"] >= 1
    failing = [c for c in tested["cases"] if not c["passed"]]
    assert any("education.senior_grant [c1]: amount 2500.0, expected 2300" in f
               for f in failing[0]["failures"])
    body = api.gql(SUBMIT, {"id": did}, token="education_editor")
    refused = user_errors(body, "ruleSetVersionSubmit")
    assert refused and {code for _, code in refused} == {"TEST_FAILED"}
    assert (f"document.tests[{failing[0]['index']}]", "TEST_FAILED") in refused

    # Fix the expectations, then submit.
    doc = api.gql(READ, {"id": did}, token="education_editor")["data"]["ruleSetVersion"][
        "document"]
    for case in doc["tests"]:
        for e in case["expect"]:
            if e["outcome"] == "education.senior_grant" and e.get("amount") == 2300:
                e["amount"] = 2500
    fixed = ok(api.gql(UPDATE, {"id": did, "rev": raised["revision"], "doc": doc},
                       token="education_editor"), "ruleSetDraftUpdate")["version"]
    body = api.gql(SUBMIT, {"id": did, "rev": fixed["revision"] - 1}, token="education_editor")
    assert user_errors(body, "ruleSetVersionSubmit") == [("expectedRevision", "CONFLICT")]
    ok(api.gql(SUBMIT, {"id": did, "rev": fixed["revision"]}, token="education_editor"),
       "ruleSetVersionSubmit")
    # In review, it is no longer editable.
    body = api.gql(UPDATE, {"id": did, "rev": fixed["revision"] + 1, "doc": doc},
                   token="education_editor")
    assert user_errors(body, "ruleSetDraftUpdate") == [("id", "NOT_A_DRAFT")]

    # The same person (another token, an approver's, under any spelling of the name) may
    # not publish what they wrote.
    for variant in ("ed-edu", "ED-EDU", " ｅｄ-ｅｄｕ "):
        same = Tokens(api.application).create(role="policy_approver", name=variant,
                                              department="县教体局")
        body = api.gql(PUBLISH, {"id": did, "from": "2031-03-01"}, token=same)
        assert user_errors(body, "ruleSetVersionPublish") == [("id", "SAME_PERSON")], variant
    # Approvers of another department may not publish it at all.
    body = api.gql(PUBLISH, {"id": did, "from": "2031-03-01"}, token="policy_approver2")
    assert gql_error(body) == "FORBIDDEN"
    # Nor take effect before the version in force.
    body = api.gql(PUBLISH, {"id": did, "from": "2025-03-01"}, token="education_approver")
    assert user_errors(body, "ruleSetVersionPublish") == [
        ("effectiveFrom", "EFFECTIVE_FROM_TOO_EARLY")]
    published = ok(api.gql(PUBLISH, {"id": did, "from": "2031-03-01"},
                           token="education_approver"), "ruleSetVersionPublish")["version"]
    assert published["status"] == "PUBLISHED"
    again = api.gql(PUBLISH, {"id": did, "from": "2032-03-01"}, token="education_approver")
    assert user_errors(again, "ruleSetVersionPublish") == [("id", "WRONG_STATUS")]

    student = household("t-rs-student", "371300-001", 3000, povertyAlleviated=True)
    student["members"].append({"id": "c1", "relation": "CHILD", "birthDate": "2015-02-01",
                               "schoolStage": "SENIOR"})

    def grant(as_of: str) -> dict[str, Any]:
        body = api.gql(EVALUATE, {"h": student, "asOf": as_of, "p": ["education"]})
        return outcome(body, "education.senior_grant", "c1")

    assert grant("2031-02-28")["amount"] == 2300
    assert grant("2031-03-01")["amount"] == 2500

    # Retired: no longer in force; version 4 decides again.
    assert gql_error(api.gql(RETIRE, {"id": did}, token="policy_approver")) == "FORBIDDEN"
    retired = ok(api.gql(RETIRE, {"id": did}, token="education_approver"),
                 "ruleSetVersionRetire")["version"]
    assert retired["status"] == "RETIRED" and retired["retiredBy"] == "policy_approver:ap-edu"
    assert grant("2031-03-01")["amount"] == 2300
    assert grant("2031-03-01")["version"]["id"] == "education-v4"
    assert [a for a, _ in audit_actions(api, did)][-2:] == [
        "ruleset.version.publish", "ruleset.version.retire"]


# --- access and validation -------------------------------------------------------------------


def test_only_the_owning_department_edits(api: Api) -> None:
    editor = Tokens(api.application).create(role="policy_editor", name="ed-dis",
                                            department="县残联")
    for token, code in ((None, "UNAUTHENTICATED"), ("caseworker", "FORBIDDEN"),
                        ("policy_editor", "FORBIDDEN"), ("policy_approver", "FORBIDDEN"),
                        ("auditor", "FORBIDDEN")):
        body = api.gql(CREATE, {"rs": "disability"}, token=token)
        assert gql_error(body) == code, token
    draft = ok(api.gql(CREATE, {"rs": "disability"}, token=editor),
               "ruleSetDraftCreate")["version"]
    did = draft["id"]
    change = {"id": did, "rev": 1, "params": [{"name": "livingSubsidySevere", "value": 180}]}
    assert gql_error(api.gql(UPDATE, change, token="policy_editor")) == "FORBIDDEN"
    assert gql_error(api.gql(UPDATE, change, token="policy_approver")) == "FORBIDDEN"
    assert gql_error(api.gql(SUBMIT, {"id": did}, token="education_editor")) == "FORBIDDEN"
    assert gql_error(api.gql(IMPACT, {"id": did, "asOf": "2024-06-01"},
                             token="caseworker")) == "FORBIDDEN"
    assert gql_error(api.gql(UPDATE, change)) == "UNAUTHENTICATED"
    assert gql_error(api.gql(CREATE, {"rs": "nonsense"}, token="caseworker")) == "FORBIDDEN"
    body = api.gql(CREATE, {"rs": "nonsense"}, token=editor)
    assert user_errors(body, "ruleSetDraftCreate") == [("ruleSet", "NOT_FOUND")]
    # Drafts are not shown to those who may not see them.
    assert api.gql(READ, {"id": did}, token="caseworker")["data"]["ruleSetVersion"] is None
    assert api.gql(READ, {"id": did})["data"]["ruleSetVersion"] is None
    listed = api.gql(VERSIONS, {"code": "disability"})["data"]["ruleSet"]["versions"]
    assert [v["id"] for v in listed] == ["disability-v1"]
    staff = api.gql(VERSIONS, {"code": "disability"}, token="auditor")
    assert [v["id"] for v in staff["data"]["ruleSet"]["versions"]] == ["disability-v1", did]
    # Reviewers read, validate and test it.
    assert ok(api.gql(VALIDATE, {"id": did}, token="auditor"), "ruleSetDraftValidate")["valid"]
    assert gql_error(api.gql(TEST, {"id": did}, token="policy_approver")) == "FORBIDDEN"
    assert ok(api.gql(TEST, {"id": did}, token="disability_approver"),
              "ruleSetDraftTest")["passed"]
    # Published versions' staff names are not public.
    public = api.gql(READ, {"id": "disability-v1"})["data"]["ruleSetVersion"]
    assert public["author"] is None and public["document"]["program"] == "disability"


def disability_draft(api: Api, editor_name: str) -> tuple[str, dict[str, Any]]:
    """A disability editor's token and a new draft of theirs (copied from version 1)."""
    editor = Tokens(api.application).create(role="policy_editor", name=editor_name,
                                            department="县残联")
    draft = ok(api.gql(CREATE, {"rs": "disability"}, token=editor),
               "ruleSetDraftCreate")["version"]
    assert (draft["basedOn"], draft["revision"]) == ({"id": "disability-v1", "version": 1}, 1)
    return editor, draft


def test_amount_changes_by_region(own_api: Api) -> None:
    api = own_api
    editor, draft = disability_draft(api, "ed-dis2")
    did = draft["id"]
    severe = household("t-rs-disabled", "371300-002", 9000, dibao=True)
    severe["members"][1].update(disabilityGrade=1, disabilityKind="PHYSICAL")
    ok(api.gql(SAVE, {"h": severe}, token="caseworker2"), "householdSave")
    ok(api.gql(UPDATE, {"id": did, "rev": draft["revision"], "params": [
        {"name": "livingSubsidySevere", "value": 180}]}, token=editor), "ruleSetDraftUpdate")
    impact = ok(api.gql(IMPACT, {"id": did, "asOf": "2024-06-01", "regions": ["371300-002"],
                                 "first": 50}, token="auditor"), "ruleSetDraftImpact")["impact"]
    assert [r["regionCode"] for r in impact["byRegion"]] == ["371300-002"]
    changed = {h["householdId"]: h for h in impact["changedHouseholds"]}
    mine = changed["t-rs-disabled"]
    assert mine["kind"] == "CHANGED"
    assert (mine["annualAmountBefore"], mine["annualAmountAfter"]) == (162 * 12, 180 * 12)
    [living] = mine["outcomes"]
    assert (living["code"], living["memberId"], living["kind"]) == (
        "disability.living_subsidy", "m2", "AMOUNT")
    assert (living["before"]["amount"], living["after"]["amount"]) == (162, 180)
    assert living["after"]["period"] == "MONTH"
    assert impact["annualAmountAfter"] - impact["annualAmountBefore"] == \
        18 * 12 * sum(1 for h in impact["changedHouseholds"] for o in h["outcomes"]
                      if o["code"] == "disability.living_subsidy")
    # The editor sees the same change with the member's id pseudonymised.
    staff = ok(api.gql(IMPACT, {"id": did, "asOf": "2024-06-01", "regions": ["371300-002"],
                                "first": 50}, token=editor), "ruleSetDraftImpact")["impact"]
    members = {o["memberId"] for h in staff["changedHouseholds"] for o in h["outcomes"]}
    assert members and all(m.startswith("M-") for m in members) and "m2" not in members
    assert staff["pseudonymised"] is True and impact["pseudonymised"] is False
    bad = api.gql(IMPACT, {"id": did, "asOf": "2024-06-01", "first": 5000}, token=editor)
    assert user_errors(bad, "ruleSetDraftImpact") == [("first", "PAGE_SIZE")]

    # A household whose facts are invalid on the date asked for (a member born after it) is
    # skipped, by id; the others are counted.
    newborn = household("t-rs-newborn", "371300-002", 9000)
    newborn["members"][1].update(relation="CHILD", birthDate="2024-05-01")
    ok(api.gql(SAVE, {"h": newborn}, token="caseworker2"), "householdSave")
    as_of = date(2024, 4, 1)
    with api.application.uow() as uow:
        stored = [(h.id, h.facts) for h in uow.households.iterate()]
    invalid = []
    for hid, facts in stored:
        try:
            parse_household(facts, as_of)
        except FactsInvalid:
            invalid.append(hid)
    assert "t-rs-newborn" in invalid
    report = api.application.editing.impact(Principal(name="au-1", role="auditor"), did, as_of)
    assert report.skipped_ids == tuple(invalid)
    # Policy staff see the skipped households' pseudonyms only.
    staff = api.application.editing.impact(
        Principal(name="ap-dis", role="policy_approver", department="县残联"), did, as_of)
    assert len(staff.skipped_ids) == len(invalid) and not set(staff.skipped_ids) & set(invalid)
    assert (report.skipped, report.households) == (len(invalid), len(stored) - len(invalid))
    body = ok(api.gql(IMPACT, {"id": did, "asOf": "2024-04-01"}, token=editor),
              "ruleSetDraftImpact")["impact"]
    assert (body["skipped"], body["households"]) == (report.skipped, report.households)


def test_batches_evaluated_side_by_side_are_counted_as_in_one(
        own_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A preview's batches are validated and evaluated in several threads and counted in
    order: one household a batch (every batch in flight beside another) reports exactly what
    one batch of all of them does, in one thread or several."""
    import services.editing as editing

    api = own_api
    editor, draft = disability_draft(api, "ed-dis-batches")
    did = draft["id"]
    ok(api.gql(UPDATE, {"id": did, "rev": draft["revision"], "params": [
        {"name": "livingSubsidySevere", "value": 180}]}, token=editor), "ruleSetDraftUpdate")
    for i in range(6):  # three whose living subsidy changes, three whose does not
        saved = household(f"a-rs-batch-{i}", "371300-002", 9000 + i, dibao=True)
        if i % 2:
            saved["members"][1].update(disabilityGrade=1, disabilityKind="PHYSICAL")
        ok(api.gql(SAVE, {"h": saved}, token="caseworker2"), "householdSave")
    auditor = Principal(name="au-1", role="auditor")

    def report(batch: int, threads: int) -> Any:
        monkeypatch.setattr(editing, "IMPACT_BATCH", batch)
        monkeypatch.setattr(editing, "IMPACT_THREADS", threads)
        return dataclasses.replace(api.application.editing.impact(
            auditor, did, date(2024, 6, 1), first=1), seconds=0.0)

    whole = report(5000, 1)
    assert whole.households > 10 and whole.changed >= 3 and len(whole.changed_households) == 1
    assert report(1, 2) == whole
    assert report(1, 4) == whole
    assert report(2, 1) == whole


def test_broken_documents_are_stored_as_drafts_but_not_submitted(own_api: Api) -> None:
    api = own_api
    editor, draft = disability_draft(api, "ed-dis3")
    did = draft["id"]
    current = api.gql(READ, {"id": did}, token=editor)["data"]["ruleSetVersion"]
    doc = current["document"]

    # Not a rule-set document at all: refused, with the field.
    wrong = copy.deepcopy(doc)
    wrong["rules"][0]["colour"] = "red"
    body = api.gql(UPDATE, {"id": did, "rev": current["revision"], "doc": wrong}, token=editor)
    assert user_errors(body, "ruleSetDraftUpdate") == [("document.rules[0].colour",
                                                         "UNKNOWN_FIELD")]
    # A document whose condition does not type-check is saved (work in progress) ...
    broken = copy.deepcopy(doc)
    broken["rules"][0]["condition"] = "disabled and disabilityGrade <= severeGrade"
    saved = ok(api.gql(UPDATE, {"id": did, "rev": current["revision"], "doc": broken},
                       token=editor), "ruleSetDraftUpdate")["version"]
    # ... validation says where ...
    checked = ok(api.gql(VALIDATE, {"id": did}, token=editor), "ruleSetDraftValidate")
    assert checked["valid"] is False
    [issue] = checked["issues"]
    assert (issue["field"], issue["code"], issue["column"], issue["severity"]) == (
        "rules[0].condition", "UNKNOWN_NAME", 33, "ERROR")
    # ... an unsaved fix can be checked first ...
    unsaved = ok(api.gql(VALIDATE, {"id": did, "doc": doc}, token=editor),
                 "ruleSetDraftValidate")
    assert unsaved["valid"] is True
    # ... the tests cannot run, and it cannot be submitted.
    body = api.gql(TEST, {"id": did}, token=editor)
    assert user_errors(body, "ruleSetDraftTest") == [("document.rules[0].condition",
                                                      "UNKNOWN_NAME")]
    body = api.gql(SUBMIT, {"id": did}, token=editor)
    assert user_errors(body, "ruleSetVersionSubmit") == [("document.rules[0].condition",
                                                          "UNKNOWN_NAME")]
    # The catalog still serves evaluation while a draft is broken.
    listed = api.gql(VERSIONS, {"code": "disability"}, token="auditor")
    assert did in {v["id"] for v in listed["data"]["ruleSet"]["versions"]}
    assert api.gql(EVALUATE, {"h": household("t-x", "371300-001", 1000), "asOf": "2024-06-01",
                              "p": ["disability"]})["data"]["evaluate"]["programs"]
    # Unknown parameters are named.
    body = api.gql(UPDATE, {"id": did, "rev": saved["revision"],
                            "params": [{"name": "nursingSubsidyGrade9", "value": 1}]},
                   token=editor)
    assert user_errors(body, "ruleSetDraftUpdate") == [("parameters[0].name",
                                                        "UNKNOWN_PARAMETER")]


def test_validation_of_an_unsaved_document_reports_every_problem(own_api: Api) -> None:
    # A rule without a citation does not hide a condition error elsewhere, and a misspelt
    # name used by two rules is reported once, with the other place.
    api = own_api
    editor, draft = disability_draft(api, "ed-dis-all")
    doc = api.gql(READ, {"id": draft["id"]}, token=editor)["data"]["ruleSetVersion"]["document"]
    doc = copy.deepcopy(doc)
    del doc["rules"][0]["citation"]
    doc["rules"][1]["condition"] = "disabld and " + doc["rules"][1]["condition"]
    doc["rules"][2]["condition"] = "disabld and " + doc["rules"][2]["condition"]
    checked = ok(api.gql(VALIDATE, {"id": draft["id"], "doc": doc}, token=editor),
                 "ruleSetDraftValidate")
    assert checked["valid"] is False
    errors = [(i["field"], i["code"]) for i in checked["issues"] if i["severity"] == "ERROR"]
    assert errors == [("rules[0].citation", "REQUIRED"), ("rules[1].condition", "UNKNOWN_NAME")]
    (unknown,) = [i for i in checked["issues"] if i["code"] == "UNKNOWN_NAME"]
    assert "(also used in rules[2].condition)" in unknown["message"]  # (Api.gql asks English)
