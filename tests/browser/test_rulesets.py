"""Policy staff in the console: an editor changes a parameter and a test case in a draft, runs
the tests, sees the diff and the impact, submits; an approver who wrote the draft cannot publish
it; another approver finds it in the queue and publishes it."""

from __future__ import annotations

from sqlalchemy import select

from store.models import ImpactJob
from tests.browser.conftest import Console, expect


def _open_monitoring_draft(c: Console) -> None:
    c.page.goto(f"{c.server.base}/#/rulesets")
    card = c.page.locator('section[data-ruleset="monitoring"]')
    card.get_by_role("button", name="新建草稿").click()
    c.page.locator("#editor #parameters").wait_for()


def test_editor_changes_a_parameter_and_a_test_case_runs_tests_sees_diff_and_impact(
        console: Console) -> None:
    c = console
    c.sign_in("editor")
    c.page.goto(f"{c.server.base}/#/rulesets")
    c.page.locator('section[data-ruleset="education"]').wait_for()
    # Only the editor's department's rule set offers a new draft.
    new_draft = '[data-action="new-draft"]'
    assert c.page.locator(f'section[data-ruleset="monitoring"] {new_draft}').count() == 1
    assert c.page.locator(f'section[data-ruleset="education"] {new_draft}').count() == 0
    c.shot("rulesets-list")
    _open_monitoring_draft(c)
    assert "草稿" in c.page.locator("main h1").inner_text()

    # A parameter: the monitoring income line from 6000 to 6500 yuan.
    c.page.locator("#field-parameters_incomeLine_value").fill("6500")
    # A test case, one by one: the first case's name and one more expected outcome.
    case = c.page.locator('details[data-test-index="0"]')
    case.locator("summary").click()
    case.get_by_label("用例名称").fill("脱贫户收入低于新监测线 / below the new line")
    case.get_by_role("button", name="添加预期").click()
    row = case.locator("table.expectations tbody tr").last
    row.get_by_label("结果代码 1.5").fill("monitoring.sudden_hardship")
    row.get_by_label("状态 1.5").select_option("NOT_GRANTED")
    c.page.get_by_role("button", name="保存草稿").click()
    c.page.get_by_text("草稿已保存，修订号").wait_for()

    result = c.page.get_by_test_id("test-result-0")
    c.page.locator("#run-tests").click()
    expect(result).to_have_text("通过")
    expect(c.page.locator("#version-status")).to_contain_text("全部通过")

    # A failing expectation shows its failure in place.
    row.get_by_label("状态 1.5").select_option("GRANTED")
    case.get_by_role("button", name="运行此用例").click()
    expect(result).to_have_text("未通过")
    assert "sudden_hardship" in case.locator("ul.issues").first.inner_text()
    case.locator("table.expectations tbody tr").last.get_by_label("状态 1.5").select_option(
        "NOT_GRANTED")
    c.page.locator("#run-tests").click()
    expect(result).to_have_text("通过")

    # The diff against the version in force: the parameter and the test case.
    c.page.get_by_role("button", name="查看差异").click()
    diff = c.page.locator("#diff-table")
    diff.wait_for()
    text = diff.inner_text()
    assert "incomeLine" in text
    # The values with their unit in words, amounts to the fen.
    assert "6,000.00 元/人/年" in text and "6,500.00 元/人/年" in text, text
    said = c.page.evaluate("""async () => {
      const { parameterText } = await import("/js/rulesets.js");
      return [parameterText(6, "months"), parameterText(0.5, "ratio"),
              parameterText(1.5, "multiple of incomeLine"), parameterText(null, "yuan")];
    }""")
    assert said == ["6 个月", "0.5（比例）", "1.5 multiple of incomeLine", "—"]
    assert "脱贫户收入低于新监测线" in text
    # The text of the diff beneath, under a Chinese summary.
    summary = diff.locator("xpath=ancestor::div[contains(@class, 'card')]//details/summary")
    assert summary.inner_text() == "文本差异"

    # The impact on the stored households as of a date.
    c.page.locator("#impact-as-of").fill("2024-06-01")
    c.page.get_by_role("button", name="预估影响").click()
    stats = c.page.locator("#impact-stats")
    stats.wait_for()
    assert "户数" in stats.inner_text()
    c.page.locator("#impact .bars").wait_for()
    # It ran as a background job (started, then polled), the editor's own.
    with c.server.application.uow() as uow:
        jobs = uow.session.scalars(select(ImpactJob).where(
            ImpactJob.actor == "policy_editor:ed-1")).all()
    assert [(j.status, str(j.as_of)) for j in jobs][-1:] == [("DONE", "2024-06-01")], jobs
    # The first changed households, with the reasons on both sides.
    changed = c.page.locator("#changed-households tbody tr")
    assert changed.count() >= 1
    for i in range(changed.count()):
        cells = changed.nth(i).locator("td")
        assert cells.nth(2).locator(".badge").count() == 1  # in force
        assert cells.nth(3).locator(".badge").count() == 1  # draft
        assert cells.nth(3).locator(".help").count() >= 1, cells.nth(3).inner_text()
    c.shot("ruleset-diff-impact", selector="#review")
    c.page.evaluate("() => window.scrollTo(0, 0)")
    c.shot("ruleset-draft-editor", full_page=False)

    # A condition with a mistake: the validation message sits under the condition.
    condition = c.page.locator("#field-rules_0__condition")
    condition.fill("povertyAlleviated and lowIncom")
    c.page.get_by_role("button", name="校验").click()
    issue = c.page.locator("#field-rules_0__condition-error li")
    issue.first.wait_for()
    assert "lowIncom" in issue.first.inner_text()
    # Chinese first, then the English details (the console is in Chinese).
    assert issue.first.inner_text().startswith("UNKNOWN_NAME: 未知名称 / "), \
        issue.first.inner_text()
    condition.fill("povertyAlleviated and lowIncome")
    c.page.get_by_role("button", name="校验").click()
    c.page.get_by_text("校验通过").wait_for()

    c.page.get_by_role("button", name="提交审核").click()
    c.page.locator("main h1", has_text="审核中").wait_for()
    assert c.requests.other_origins(c.server.base) == []
    assert c.requests.console_errors == []


def test_an_approver_who_wrote_the_draft_cannot_publish_it(console: Console) -> None:
    c = console
    # ed-m writes a medical-relief draft and submits it (through the API: this test's subject is
    # the publishing). ed-m also holds an approver token: four eyes are by person, so publishing
    # is not theirs to do.
    draft = c.server.gql("medical_editor", """mutation { ruleSetDraftCreate(ruleSet:
        "medical_relief") { version { id } userErrors { message } } }""")
    version_id = draft["ruleSetDraftCreate"]["version"]["id"]
    submitted = c.server.gql("medical_editor", """mutation($id: ID!) { ruleSetVersionSubmit(
        id: $id) { version { status } userErrors { message } } }""", id=version_id)
    assert submitted["ruleSetVersionSubmit"]["version"]["status"] == "IN_REVIEW"

    c.sign_in("medical_editor_as_approver")
    c.page.goto(f"{c.server.base}/#/queue")
    c.page.locator(f'#queue a[href="#/versions/{version_id}"]').click()
    c.page.locator("#publish-box").wait_for()
    assert c.page.locator("#publish").is_disabled()
    assert "另一位审批人" in c.page.locator("#four-eyes").inner_text()
    c.shot("ruleset-four-eyes", full_page=False)

    # Another approver finds it in the queue and publishes it with an effective date.
    c.sign_in("approver")
    c.page.goto(f"{c.server.base}/#/queue")
    c.page.locator("#queue").wait_for()
    c.shot("approver-queue")
    c.page.locator(f'#queue a[href="#/versions/{version_id}"]').click()
    c.page.get_by_label("生效日期").fill("2027-01-01")
    c.page.locator("#publish").click()
    c.page.locator("main h1", has_text="已发布").wait_for()
    assert c.requests.other_origins(c.server.base) == []
