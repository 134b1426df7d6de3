"""The review lifecycle beyond submit and publish: an approver sends a version in review back
(ruleSetVersionReject, with a comment), its author takes it back (ruleSetVersionWithdraw), a
retroactive effectiveFrom needs a flag and a reason (both audited), validation warns when a
citation still quotes a figure the parameter no longer has, and refusals name the right
action. On medical_relief (县医保局); each test on a database of its own, since both need
medical_relief's one open draft."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import select

from services.tokens import Tokens
from store.models import AuditEntry
from tests.api.conftest import Api

ERRORS = "userErrors { field message code }"
VERSION = "id status revision author submittedBy effectiveFrom"
CREATE = f"""mutation {{ ruleSetDraftCreate(ruleSet: "medical_relief") {{
  version {{ {VERSION} }} {ERRORS} }} }}"""
SUBMIT = f"""mutation($id: ID!) {{ ruleSetVersionSubmit(id: $id) {{
  version {{ {VERSION} }} {ERRORS} }} }}"""
REJECT = f"""mutation($id: ID!, $comment: String!) {{
  ruleSetVersionReject(id: $id, comment: $comment) {{ version {{ {VERSION} }} {ERRORS} }} }}"""
WITHDRAW = f"""mutation($id: ID!) {{ ruleSetVersionWithdraw(id: $id, reason: "typo") {{
  version {{ {VERSION} }} {ERRORS} }} }}"""
PUBLISH = f"""mutation($id: ID!, $from: Date!, $retro: Boolean, $reason: String) {{
  ruleSetVersionPublish(id: $id, effectiveFrom: $from, retroactive: $retro, reason: $reason)
  {{ version {{ {VERSION} }} {ERRORS} }} }}"""
READ = """query($id: ID!) { ruleSetVersion(id: $id) { revision document } }"""
VALIDATE = f"""mutation($id: ID!, $doc: JSON) {{ ruleSetDraftValidate(id: $id, document: $doc) {{
  valid issues {{ field code message severity zh: text en: text(lang: EN) }} {ERRORS} }} }}"""


@pytest.fixture
def api(own_api: Api) -> Api:
    return own_api


def payload(body: dict[str, Any], name: str) -> dict[str, Any]:
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"][name]
    return data


def codes(body: dict[str, Any], name: str) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload(body, name)["userErrors"]]


def refusal(body: dict[str, Any]) -> tuple[str, str]:
    error = body["errors"][0]
    return error["extensions"]["code"], error["message"]


def audit(api: Api, object_id: str, action: str) -> list[dict[str, Any]]:
    with api.application.uow() as uow:
        return [dict(e.details) for e in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.object_id == object_id,
                                     AuditEntry.action == action).order_by(AuditEntry.id))]


def test_reject_withdraw_and_a_retroactive_publication(api: Api) -> None:
    tokens = Tokens(api.application)
    editor = tokens.create(role="policy_editor", name="ed-med", department="县医保局")
    editor2 = tokens.create(role="policy_editor", name="ed-med2", department="县医保局")
    approver = tokens.create(role="policy_approver", name="ap-med", department="县医保局")

    did = payload(api.gql(CREATE, token=editor), "ruleSetDraftCreate")["version"]["id"]
    submitted = payload(api.gql(SUBMIT, {"id": did}, token=editor), "ruleSetVersionSubmit")
    assert submitted["version"]["status"] == "IN_REVIEW"

    # Rejecting: approvers of the department only, and with a comment.
    code, message = refusal(api.gql(REJECT, {"id": did, "comment": "x"}, token=editor))
    assert code == "FORBIDDEN" and "may not reject" in message
    assert refusal(api.gql(REJECT, {"id": did, "comment": "x"},
                           token="policy_approver"))[0] == "FORBIDDEN"  # another department
    body = api.gql(REJECT, {"id": did, "comment": "  "}, token=approver)
    assert codes(body, "ruleSetVersionReject") == [("comment", "REQUIRED")]
    body = api.gql(REJECT, {"id": did, "comment": "第三档起付标准请引用新文件"}, token=approver)
    rejected = payload(body, "ruleSetVersionReject")["version"]
    assert (rejected["status"], rejected["submittedBy"]) == ("DRAFT", None)
    [entry] = audit(api, did, "ruleset.version.reject")
    assert entry["comment"] == "第三档起付标准请引用新文件"
    assert entry["submittedBy"] == "policy_editor:ed-med"
    body = api.gql(REJECT, {"id": did, "comment": "again"}, token=approver)
    assert codes(body, "ruleSetVersionReject") == [("id", "WRONG_STATUS")]

    # Withdrawing: its author (or submitter) only.
    payload(api.gql(SUBMIT, {"id": did}, token=editor), "ruleSetVersionSubmit")
    body = api.gql(WITHDRAW, {"id": did}, token=editor2)
    assert codes(body, "ruleSetVersionWithdraw") == [("id", "NOT_THE_AUTHOR")]
    withdrawn = payload(api.gql(WITHDRAW, {"id": did}, token=editor),
                        "ruleSetVersionWithdraw")["version"]
    assert withdrawn["status"] == "DRAFT"
    assert audit(api, did, "ruleset.version.withdraw")[0]["reason"] == "typo"

    # Publishing before today changes answers already given: a flag and a reason.
    payload(api.gql(SUBMIT, {"id": did}, token=editor), "ruleSetVersionSubmit")
    code, message = refusal(api.gql(PUBLISH, {"id": did, "from": "2030-01-01"},
                                    token=editor))
    assert code == "FORBIDDEN" and "may not publish" in message and "submit" not in message
    body = api.gql(PUBLISH, {"id": did, "from": "2024-01-01"}, token=approver)
    assert codes(body, "ruleSetVersionPublish") == [("effectiveFrom", "RETROACTIVE")]
    body = api.gql(PUBLISH, {"id": did, "from": "2024-01-01", "retro": True}, token=approver)
    assert codes(body, "ruleSetVersionPublish") == [("reason", "REQUIRED")]
    body = api.gql(PUBLISH, {"id": did, "from": "2024-01-01", "retro": True,
                             "reason": "省医保局文件自2024年1月1日起执行"}, token=approver)
    published = payload(body, "ruleSetVersionPublish")["version"]
    assert (published["status"], published["effectiveFrom"]) == ("PUBLISHED", "2024-01-01")
    [entry] = audit(api, did, "ruleset.version.publish")
    assert (entry["retroactive"], entry["reason"]) == (True, "省医保局文件自2024年1月1日起执行")


def test_a_citation_quoting_the_old_figure_is_warned_about(api: Api) -> None:
    editor = Tokens(api.application).create(role="policy_editor", name="ed-med3",
                                            department="县医保局")
    draft = payload(api.gql(CREATE, token=editor), "ruleSetDraftCreate")["version"]
    doc = api.gql(READ, {"id": draft["id"]}, token=editor)["data"]["ruleSetVersion"]["document"]
    raised = copy.deepcopy(doc)
    raised["parameters"]["tier1PremiumSubsidy"]["value"] = 380  # the quote says 350元
    checked = payload(api.gql(VALIDATE, {"id": draft["id"], "doc": raised}, token=editor),
                      "ruleSetDraftValidate")
    stale = [i for i in checked["issues"] if i["code"] == "CITATION_FIGURE_STALE"]
    assert [(i["field"], i["severity"]) for i in stale] == [
        ("parameters.tier1PremiumSubsidy.citation.quote", "WARNING")]
    assert "380" in stale[0]["message"] and "350" in stale[0]["message"]
    # For people: Chinese first (the code's text), then the English details; or English.
    assert stale[0]["zh"] == f"引文中的数值与参数不一致 / {stale[0]['message']}"
    assert stale[0]["en"] == stale[0]["message"]
    assert checked["valid"] is True  # a warning does not block
    # Quoting the new figure clears it.
    raised["parameters"]["tier1PremiumSubsidy"]["citation"]["quote"] = "个人缴费标准为每人每年380元"
    checked = payload(api.gql(VALIDATE, {"id": draft["id"], "doc": raised}, token=editor),
                      "ruleSetDraftValidate")
    assert not [i for i in checked["issues"] if i["code"] == "CITATION_FIGURE_STALE"]
