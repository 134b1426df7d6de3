"""Four eyes and the guard on publishing, over HTTP: nobody who wrote, edited or submitted a
version publishes it, and a version whose own test cases expect a wrong status is refused.

Each test works on its own program of the module's database (four eyes on medical_relief, the
test-case guard on disability), so they run in any order and alone."""

from __future__ import annotations

from typing import Any

from services.application import Tokens
from tests.api.conftest import Api
from tests.api.test_rulesets import CREATE, PUBLISH, READ, SUBMIT, TEST, UPDATE, ok, user_errors


def tokens(api: Api, department: str, *names: tuple[str, str]) -> dict[str, str]:
    t = Tokens(api.application)
    return {name: t.create(role=role, name=name, department=department)
            for role, name in names}


def test_no_one_who_touched_a_draft_publishes_it(api: Api) -> None:
    t = tokens(api, "县医保局", ("policy_editor", "fe-author"), ("policy_editor", "fe-editor"),
               ("policy_approver", "fe-submitter"), ("policy_approver", "fe-other"))
    draft = ok(api.gql(CREATE, {"rs": "medical_relief"}, token=t["fe-author"]),
               "ruleSetDraftCreate")["version"]
    did = draft["id"]
    # A second editor of the department edits it (a new note), an approver submits it.
    doc = api.gql(READ, {"id": did}, token=t["fe-editor"])["data"]["ruleSetVersion"]["document"]
    doc["notes"].append({"zh": "复核说明", "en": "review note"})
    edited = ok(api.gql(UPDATE, {"id": did, "rev": draft["revision"], "doc": doc},
                        token=t["fe-editor"]), "ruleSetDraftUpdate")["version"]
    assert edited["author"] == "policy_editor:fe-author"
    submitted = ok(api.gql(SUBMIT, {"id": did, "rev": edited["revision"]},
                           token=t["fe-submitter"]), "ruleSetVersionSubmit")["version"]
    assert submitted["submittedBy"] == "policy_approver:fe-submitter"
    # Each person who touched it, holding an approver's token, is refused: the author (under
    # any spelling of their login: case, spaces, full-width forms), the editor and the
    # submitter (whose own token is an approver's).
    same = Tokens(api.application)
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in "fe-author")  # ｆｅ－ａｕｔｈｏｒ
    for person in ("fe-author", "FE-Author ", full_width, "fe-editor"):
        token = same.create(role="policy_approver", name=person, department="县医保局")
        body = api.gql(PUBLISH, {"id": did, "from": "2031-01-01"}, token=token)
        assert user_errors(body, "ruleSetVersionPublish") == [("id", "SAME_PERSON")], person
    body = api.gql(PUBLISH, {"id": did, "from": "2031-01-01"}, token=t["fe-submitter"])
    assert user_errors(body, "ruleSetVersionPublish") == [("id", "SAME_PERSON")]
    # Someone who did none of it publishes.
    published = ok(api.gql(PUBLISH, {"id": did, "from": "2031-01-01"}, token=t["fe-other"]),
                   "ruleSetVersionPublish")["version"]
    assert published["status"] == "PUBLISHED"
    assert published["publishedBy"] == "policy_approver:fe-other"


def test_a_test_case_with_a_wrong_status_blocks_submission(api: Api) -> None:
    t = tokens(api, "县残联", ("policy_editor", "fe-dis"))
    draft = ok(api.gql(CREATE, {"rs": "disability"}, token=t["fe-dis"]),
               "ruleSetDraftCreate")["version"]
    did = draft["id"]
    doc: dict[str, Any] = api.gql(READ, {"id": did}, token=t["fe-dis"])["data"][
        "ruleSetVersion"]["document"]
    # The first case's m2 (grade 4, no long-term care) gets no nursing subsidy; expect one.
    [case_index, expectation] = next(
        (i, e) for i, c in enumerate(doc["tests"]) for e in c["expect"]
        if (e["outcome"], e.get("memberId"), e["status"]) ==
        ("disability.nursing_subsidy", "m2", "NOT_GRANTED"))
    expectation["status"] = "GRANTED"
    saved = ok(api.gql(UPDATE, {"id": did, "rev": draft["revision"], "doc": doc},
                       token=t["fe-dis"]), "ruleSetDraftUpdate")["version"]
    tested = ok(api.gql(TEST, {"id": did}, token=t["fe-dis"]), "ruleSetDraftTest")
    assert (tested["passed"], tested["failed"]) == (False, 1)
    [failing] = [c for c in tested["cases"] if not c["passed"]]
    assert failing["index"] == case_index
    assert failing["failures"] == [
        "disability.nursing_subsidy [m2]: status NOT_GRANTED, expected GRANTED"]
    body = api.gql(SUBMIT, {"id": did, "rev": saved["revision"]}, token=t["fe-dis"])
    assert user_errors(body, "ruleSetVersionSubmit") == [
        (f"document.tests[{case_index}]", "TEST_FAILED")]
    # Still a draft.
    now = api.gql(READ, {"id": did}, token=t["fe-dis"])["data"]["ruleSetVersion"]
    assert now["status"] == "DRAFT"
