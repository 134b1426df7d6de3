"""Rule sets in the console, beyond the draft editor: an approver retires a published version
with a reason; an approver of another department is offered no submit, publish or retire (the
API would refuse them) and finds the version apart in the queue, while the department's own
approver publishes it; the author withdraws a version from review, an approver sends it back
with a comment and publishes it retroactively with a reason; the editor's pages in English,
adding and removing test cases."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from services.application import Tokens
from tests.browser.conftest import Console, Server, expect

CREATE = """mutation($code: String!) { ruleSetDraftCreate(ruleSet: $code) {
    version { id } userErrors { code message } } }"""
SUBMIT = """mutation($id: ID!) { ruleSetVersionSubmit(id: $id) {
    version { status } userErrors { message } } }"""
PUBLISH = """mutation($id: ID!, $from: Date!) {
    ruleSetVersionPublish(id: $id, effectiveFrom: $from) {
        version { status } userErrors { message } } }"""


def _token(server: Server, who: str, **claims: Any) -> None:
    """One more signed-in user for this module's server."""
    if who not in server.tokens:
        server.tokens[who] = Tokens(server.application).create(**claims)


def _in_review(server: Server, editor: str, code: str) -> str:
    """A draft of ``code`` written and submitted by ``editor``: its version id."""
    out = server.gql(editor, CREATE, code=code)["ruleSetDraftCreate"]
    assert out["userErrors"] == [], out
    version_id: str = out["version"]["id"]
    submitted = server.gql(editor, SUBMIT, id=version_id)["ruleSetVersionSubmit"]
    assert submitted["version"]["status"] == "IN_REVIEW", submitted
    return version_id


def _published(server: Server, code: str) -> str:
    versions = server.gql("editor", """query($code: String!) { ruleSet(code: $code) {
        versions { id status } } }""", code=code)["ruleSet"]["versions"]
    return next(v["id"] for v in versions if v["status"] == "PUBLISHED")


def test_an_approver_retires_a_published_version_with_a_reason(console: Console) -> None:
    c = console
    # A medical-relief version written by ed-m and published by ap-1 (through the API: this
    # test's subject is the retiring), to take effect in a month.
    version_id = _in_review(c.server, "medical_editor", "medical_relief")
    start = (date.today() + timedelta(days=30)).isoformat()
    published = c.server.gql("approver", PUBLISH, id=version_id, **{"from": start})
    assert published["ruleSetVersionPublish"]["version"]["status"] == "PUBLISHED", published

    # Its editor reads it, with nothing to retire.
    c.sign_in("medical_editor")
    c.page.goto(f"{c.server.base}/#/versions/{version_id}")
    c.page.locator("main h1", has_text="已发布").wait_for()
    assert c.page.locator("#retire-box").count() == 0

    c.sign_in("approver")
    c.page.goto(f"{c.server.base}/#/versions/{version_id}")
    box = c.page.locator("#retire-box")
    box.wait_for()
    assert c.page.locator("#publish-box").count() == 0
    assert start in c.page.locator("dl.meta").inner_text()
    c.page.get_by_label("停用原因").fill("医保政策年度调整，改用新版本")
    c.shot("ruleset-retire", full_page=False)
    c.page.get_by_role("button", name="停用").click()
    c.page.locator("main h1", has_text="已停用").wait_for()
    assert c.page.locator("#retire-box").count() == 0
    # The list shows it retired; the audit log keeps the reason.
    c.page.goto(f"{c.server.base}/#/rulesets")
    row = c.page.locator('section[data-ruleset="medical_relief"] '
                         f'tr:has(a[href="#/versions/{version_id}"])')
    expect(row.locator(".badge")).to_have_text("已停用")
    log = c.server.gql("auditor", """query($id: String!) { auditLog(first: 5,
        filter: {objectId: $id, action: "ruleset.version.retire"}) {
        edges { node { actor details } } } }""", id=version_id)["auditLog"]["edges"]
    assert [e["node"]["details"]["reason"] for e in log] == ["医保政策年度调整，改用新版本"]
    assert log[0]["node"]["actor"] == "policy_approver:ap-1"
    assert c.requests.other_origins(c.server.base) == []
    assert c.requests.console_errors == []


def test_another_departments_approver_is_offered_no_publish_submit_or_retire(
        console: Console) -> None:
    c = console
    _token(c.server, "education_editor", role="policy_editor", name="ed-e",
           department="县教体局")
    _token(c.server, "education_approver", role="policy_approver", name="ap-e",
           department="县教体局")
    version_id = _in_review(c.server, "education_editor", "education")

    # ap-1 approves for 县医保局: the education version is listed apart, to read.
    c.sign_in("approver")
    c.page.goto(f"{c.server.base}/#/queue")
    c.page.locator("main h1").wait_for()
    assert c.page.locator(f'#queue a[href="#/versions/{version_id}"]').count() == 0
    others = c.page.locator("#queue-others")
    others.locator(f'a[href="#/versions/{version_id}"]').click()
    c.page.locator("main h1", has_text="审核中").wait_for()
    assert c.page.locator("#publish-box").count() == 0
    assert c.page.locator("#publish").count() == 0
    assert "县教体局" in c.page.locator("#other-department").inner_text()
    # Nor may ap-1 retire education's version in force, or submit another department's draft.
    c.page.goto(f"{c.server.base}/#/versions/{_published(c.server, 'education')}")
    c.page.locator("main h1", has_text="已发布").wait_for()
    assert c.page.locator("#retire-box").count() == 0
    assert c.page.locator("#other-department").count() == 1

    # The department's own approver finds it in their queue and publishes it.
    c.sign_in("education_approver")
    c.page.goto(f"{c.server.base}/#/queue")
    c.page.locator(f'#queue a[href="#/versions/{version_id}"]').click()
    c.page.locator("#publish-box").wait_for()
    assert c.page.locator("#other-department").count() == 0
    c.page.get_by_label("生效日期").fill((date.today() + timedelta(days=30)).isoformat())
    c.page.locator("#publish").click()
    c.page.locator("main h1", has_text="已发布").wait_for()
    assert c.page.locator("#retire-box").count() == 1
    assert c.requests.other_origins(c.server.base) == []


def test_a_version_in_review_is_withdrawn_sent_back_and_published_retroactively(
        console: Console) -> None:
    """The lifecycle in the console: the author withdraws a version from review, an approver
    of the department sends it back with a comment, and publishes it from a day in the past
    only once that is confirmed with a reason (employment, 县人社局: no other test's draft)."""
    c = console
    _token(c.server, "employment_editor", role="policy_editor", name="ed-emp",
           department="县人社局")
    _token(c.server, "employment_approver", role="policy_approver", name="ap-emp",
           department="县人社局")
    version_id = _in_review(c.server, "employment_editor", "employment")
    page = f"{c.server.base}/#/versions/{version_id}"

    # Its author takes it back; nothing to send back or publish is offered to them.
    c.sign_in("employment_editor")
    c.page.goto(page)
    c.page.locator("#withdraw-box").wait_for()
    assert c.page.locator("#reject-box").count() == 0
    assert c.page.locator("#publish-box").count() == 0
    c.page.get_by_label("撤回原因").fill("补充测试用例")
    c.page.get_by_role("button", name="撤回审核").click()
    c.page.locator("main h1", has_text="草稿").wait_for()
    assert c.page.locator("#withdraw-box").count() == 0

    # Submitted again, the department's approver sends it back: a comment is required.
    c.server.gql("employment_editor", SUBMIT, id=version_id)
    c.sign_in("employment_approver")
    c.page.goto(page)
    c.page.locator("#reject-box").wait_for()
    assert c.page.locator("#withdraw-box").count() == 0  # they did not write it
    c.page.get_by_role("button", name="退回修改").click()
    expect(c.page.locator("#version-status")).to_contain_text("缺少必填项")
    c.page.get_by_label("退回意见（须修改之处）").fill("请补充就业补助的政策依据")
    c.page.get_by_role("button", name="退回修改").click()
    c.page.locator("main h1", has_text="草稿").wait_for()

    # Submitted once more: a date in the past is refused until confirmed with a reason.
    c.server.gql("employment_editor", SUBMIT, id=version_id)
    c.page.reload()  # the same address: read it again
    c.page.locator("#publish-box").wait_for()
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    c.page.get_by_label("生效日期").fill(yesterday)
    c.page.locator("#publish").click()
    expect(c.page.locator("#version-status")).to_contain_text("须明确确认并说明理由")
    c.page.get_by_label("追溯生效（自今天以前的某日起）").check()
    c.page.get_by_label("追溯生效的理由").fill("文件自昨日起执行")
    c.page.locator("#publish").click()
    c.page.locator("main h1", has_text="已发布").wait_for()

    log = c.server.gql("auditor", """query($id: String!) { auditLog(first: 10,
        filter: {objectId: $id}) { edges { node { action details } } } }""",
        id=version_id)["auditLog"]["edges"]
    by_action = {e["node"]["action"]: e["node"]["details"] for e in log}
    assert by_action["ruleset.version.withdraw"]["reason"] == "补充测试用例"
    assert by_action["ruleset.version.reject"]["comment"] == "请补充就业补助的政策依据"
    published = by_action["ruleset.version.publish"]
    assert (published["effectiveFrom"], published["retroactive"], published["reason"]) == (
        yesterday, True, "文件自昨日起执行")
    assert c.requests.other_origins(c.server.base) == []
    assert c.requests.console_errors == []


def test_an_editor_works_in_english_adding_and_removing_test_cases(console: Console) -> None:
    c = console
    c.sign_in("editor")
    c.page.goto(f"{c.server.base}/#/rulesets")
    c.page.get_by_label("语言").select_option("en")
    c.page.get_by_role("heading", name="Rule sets and versions").wait_for()
    card = c.page.locator('section[data-ruleset="monitoring"]')
    assert "Owner" in card.inner_text() and "Published" in card.inner_text()
    card.get_by_role("button", name="New draft").click()
    c.page.locator("#editor #parameters").wait_for()
    assert "Draft" in c.page.locator("main h1").inner_text()
    for name in ("Save draft", "Validate", "Run tests", "Show diff", "Submit for review"):
        assert c.page.get_by_role("button", name=name, exact=True).count() == 1, name
    assert c.page.get_by_role("heading", name="Parameters").count() == 1
    assert c.page.locator("#field-parameters_incomeLine_value").get_attribute("id")
    assert c.page.get_by_label("Value").count() >= 5

    tests = c.page.locator("details.test-case")
    count = tests.count()
    assert count >= 3
    # The last case goes; a new one comes, copied from the case before it, with its own name
    # and expectation.
    last = tests.nth(count - 1)
    removed_name = last.locator("summary").inner_text().split(" ", 1)[1].strip()
    last.locator("summary").click()
    last.get_by_role("button", name="Remove test case").click()
    expect(tests).to_have_count(count - 1)
    c.page.get_by_role("button", name="Add test case").click()
    expect(tests).to_have_count(count)
    added = tests.nth(count - 1)
    added.get_by_label("Test name").fill("no one able to work, again")
    added.get_by_role("button", name="Add expectation").click()
    added.get_by_label(f"Outcome code {count}.1").fill("monitoring.risk_elimination")
    added.get_by_label(f"Status {count}.1").select_option("NOT_GRANTED")
    c.page.get_by_role("button", name="Run tests", exact=True).click()
    expect(c.page.locator("#version-status")).to_contain_text("All passed")
    expect(c.page.get_by_test_id(f"test-result-{count - 1}")).to_have_text("passed")

    c.page.get_by_role("button", name="Show diff").click()
    diff = c.page.locator("#diff-table")
    diff.wait_for()
    rows = {r.split("\t")[1]: r.split("\t")[2] for r in diff.locator("tbody tr").all_inner_texts()}
    assert rows.get("no one able to work, again") == "added", rows
    assert rows.get(removed_name) == "removed", rows
    c.shot("ruleset-english", full_page=False)
    c.page.get_by_label("Language").select_option("zh")
    assert c.requests.console_errors == []
