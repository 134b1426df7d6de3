"""Early-warning alerts in the console: a caseworker's inbox of their regions with counts, an
alert's events and explanation, and the decision (verify, include in monitoring, dismiss with a
reason); another region's caseworker cannot open it; an auditor reads without acting."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from tests.browser.conftest import Console, Server, expect

HOUSEHOLD = """query($id: ID!) { household(id: $id) { facts
  monitoringCases { kind channel status } } }"""


def _household(server: Server, who: str, region: str) -> str:
    """A poverty-alleviated household saved through the API, with a fresh id."""
    hid = f"t-alert-{uuid.uuid4().hex[:8]}"
    facts = {"id": hid, "regionCode": region, "povertyAlleviated": True, "monitored": False,
             "annualNetIncome": 16800,
             "members": [{"id": "m1", "relation": "HEAD", "birthDate": "1968-04-02",
                          "medicallyInsured": True, "laborCapacity": "FULL"}]}
    out = server.gql(who, """mutation($h: HouseholdInput!) { householdSave(household: $h) {
        household { id } userErrors { message } } }""", h=facts)
    assert out["householdSave"]["userErrors"] == [], out
    return hid


def _alert(server: Server, who: str, hid: str, amount: int = 25000) -> dict[str, Any]:
    """A large inpatient cost reported by the medical-insurance bureau: one alert."""
    on = (date.today() - timedelta(days=10)).isoformat()
    out = server.gql(who, """mutation($events: [EventInput!]!) { eventsIngest(events: $events) {
        accepted rejected { field message } alerts { id rule householdId status } } }""",
                     events=[{"source": "医保", "eventId": f"{hid}-1", "kind": "INPATIENT_COST",
                              "householdId": hid, "memberId": "m1", "occurredOn": on,
                              "amount": amount}])
    report = out["eventsIngest"]
    assert report["accepted"] == 1 and report["rejected"] == [], report
    (alert,) = [a for a in report["alerts"] if a["householdId"] == hid]
    assert alert["rule"] == "alert.large_medical_expense" and alert["status"] == "OPEN"
    return alert  # type: ignore[no-any-return]


def test_caseworker_reads_an_alert_verifies_it_and_includes_the_household(
        console: Console) -> None:
    c = console
    mine = _household(c.server, "caseworker", "371300-001")
    alert = _alert(c.server, "caseworker", mine)
    theirs = _household(c.server, "caseworker2", "371300-002")
    other = _alert(c.server, "caseworker2", theirs)

    c.sign_in("caseworker")
    c.page.locator("#nav").get_by_role("link", name="预警信息").click()
    rows = c.page.locator("#alerts tbody tr")
    rows.first.wait_for()
    # The inbox: open alerts of the caseworker's regions only, with counts by status.
    assert c.page.locator(f'#alerts tr[data-alert="{alert["id"]}"]').count() == 1
    assert c.page.locator(f'#alerts tr[data-alert="{other["id"]}"]').count() == 0
    regions = {rows.nth(i).locator("td").nth(3).inner_text() for i in range(rows.count())}
    assert regions == {"371300-001"}
    open_count = c.page.locator('#alert-status-counts [data-status="OPEN"] b').inner_text()
    assert int(open_count) == rows.count()
    assert c.page.get_by_test_id("alert-total").inner_text() == f"共 {rows.count()}"
    row = c.page.locator(f'#alerts tr[data-alert="{alert["id"]}"]')
    assert "大额医疗支出" in row.inner_text() and "待核实" in row.inner_text()
    c.shot("alerts-inbox")

    # The alert: its event, the explanation with the cited clause, the suggested facts.
    row.get_by_role("link", name="大额医疗支出").click()
    c.page.locator("#alert-events").wait_for()
    events = c.page.locator("#alert-events tbody tr")
    expect(events).to_have_count(1)
    assert "住院自付费用" in events.first.inner_text() and "25,000.00" in events.first.inner_text()
    assert "医保" in events.first.inner_text()
    reasons = c.page.locator("#alert-reasons")
    assert reasons.locator("li.node.pass").count() >= 1
    assert "实际值" in reasons.locator(".cond-values").first.inner_text()
    assert "政策依据" in reasons.locator("blockquote.citation").first.inner_text()
    # The explanation in words: the event's amount as money, the thresholds by value.
    assert "事件金额不低于 5,000.00 元" in reasons.inner_text(), reasons.inner_text()
    assert "实际值 25,000.00 元" in reasons.inner_text()
    # What the alert gathers its events under, in words (the key itself in the title).
    cause = c.page.locator("#alert-meta [data-cause]")
    key = cause.get_attribute("data-cause") or ""
    assert key.isdigit() and cause.inner_text() == f"{key} 年度", (key, cause.inner_text())
    said = c.page.evaluate("""async () => {
      const { causeText } = await import("/js/alerts.js");
      return ["member:m2", "member:m2:2024", "DIBAO_GRANTED:2024-02-01", "odd"].map(causeText);
    }""")
    assert said == ["成员 m2", "成员 m2，2024 年度", "纳入低保 2024-02-01", "odd"]
    c.shot("alert-detail")

    # Dismissing needs a reason: the message stands beside the note field, nothing is sent.
    c.page.get_by_role("button", name="驳回").click()
    error = c.page.locator("#resolution-note-input-error")
    expect(error).to_have_text("驳回预警须填写理由")
    assert c.page.locator('[data-field="note"].invalid').count() == 1
    # Verified at home; then included in monitoring.
    c.page.get_by_role("button", name="核实属实").click()
    expect(c.page.locator("main h1 [data-status]")).to_have_text("已核实")
    assert c.page.get_by_role("button", name="核实属实").count() == 0
    c.page.get_by_label("处理说明 / 驳回理由").fill("入户核实：住院自付属实")
    c.page.get_by_role("button", name="纳入监测").click()
    expect(c.page.locator("main h1 [data-status]")).to_have_text("已纳入监测")
    expect(c.page.locator("#resolve-done")).to_contain_text("已纳入监测")
    assert c.page.locator("#resolve-box").count() == 0
    assert "住院自付属实" in c.page.locator("#resolution-note").inner_text()
    # Inclusion opens a monitoring case; monitored waits for the county's approval of it.
    found = c.server.gql("caseworker", HOUSEHOLD, id=mine)["household"]
    assert found["facts"]["monitored"] is False
    assert found["monitoringCases"] == [{"kind": "INCLUSION", "channel": "ALERT",
                                         "status": "OPEN"}]
    # The alert's page links the case its inclusion opened.
    c.page.locator("#alert-case").get_by_role("link").click()
    c.page.locator("#case-steps").wait_for()
    assert "部门信息比对（预警）" in c.page.locator("#case-meta").inner_text()
    c.page.go_back()
    c.page.locator("#alert-meta").wait_for()

    # The household's page lists its alerts.
    c.page.locator("#alert-meta").get_by_role("link", name=mine).click()
    c.page.locator("#household-alerts tbody tr").first.wait_for()
    assert "已纳入监测" in c.page.locator("#household-alerts").inner_text()

    # Another region's caseworker: the alert does not exist for them.
    c.sign_in("caseworker2")
    c.page.goto(f"{c.server.base}/#/alerts/{alert['id']}")
    expect(c.page.get_by_test_id("not-found")).to_contain_text("不在您的辖区内")
    assert c.page.locator("#alert-events").count() == 0
    assert c.requests.other_origins(c.server.base) == []
    assert c.requests.console_errors == []


def test_caseworker_dismisses_an_alert_with_a_reason_and_filters_by_status(
        console: Console) -> None:
    c = console
    hid = _household(c.server, "caseworker", "371300-001")
    alert = _alert(c.server, "caseworker", hid, amount=30000)
    c.sign_in("caseworker")
    c.page.goto(f"{c.server.base}/#/alerts/{alert['id']}")
    # What including it would change: the household re-evaluated with the suggested facts.
    # Each by its label, with the path it has in the household JSON, and its value in words.
    suggested = c.page.locator("#suggested-facts li").first.inner_text()
    assert "个人自付医疗费用（members[0].medicalOutOfPocket）：" in suggested, suggested
    assert suggested.endswith(" 元"), suggested
    c.page.get_by_role("button", name="预览认定结果").click()
    c.page.locator("#reevaluation section.program").first.wait_for()
    assert c.page.locator("#reevaluation .flag").count() == 1
    c.page.get_by_label("处理说明 / 驳回理由").fill("费用已由大病保险全额报销")
    c.page.get_by_role("button", name="驳回").click()
    expect(c.page.locator("main h1 [data-status]")).to_have_text("已驳回")
    assert "大病保险" in c.page.locator("#resolution-note").inner_text()
    assert c.page.locator("#resolve-box").count() == 0

    # The inbox by status: the dismissed alert is not among the open ones, and is among the
    # dismissed ones.
    c.page.goto(f"{c.server.base}/#/alerts")
    c.page.locator("#alert-status-counts").wait_for()
    c.page.get_by_label("状态").select_option("OPEN")
    c.page.get_by_role("button", name="查询").click()
    c.page.locator("#alert-list p").first.wait_for()
    expect(c.page.locator(f'#alerts tr[data-alert="{alert["id"]}"]')).to_have_count(0)
    c.page.locator('#alert-status-counts [data-status="DISMISSED"]').click()
    expect(c.page.locator(f'#alerts tr[data-alert="{alert["id"]}"]')).to_have_count(1)
    assert c.page.get_by_label("状态").input_value() == "DISMISSED"
    statuses = c.page.locator("#alerts tbody [data-status]")
    assert set(statuses.all_inner_texts()) == {"已驳回"}

    # In English, the same page.
    c.page.get_by_label("语言").select_option("en")
    c.page.get_by_role("heading", name="Early-warning alerts").wait_for()
    c.page.locator("#alerts tbody tr").first.wait_for()
    assert "Dismissed" in c.page.locator("#alerts").inner_text()
    c.page.get_by_label("Language").select_option("zh")
    assert c.requests.console_errors == []


def test_auditor_reads_alerts_without_acting(console: Console) -> None:
    c = console
    hid = _household(c.server, "caseworker2", "371300-002")
    alert = _alert(c.server, "caseworker2", hid)
    c.sign_in("auditor")
    c.page.goto(f"{c.server.base}/#/alerts")
    # An auditor sees every region: a code is typed rather than chosen.
    c.page.get_by_label("区划代码").fill("371300-002")
    c.page.get_by_role("button", name="查询").click()
    c.page.locator(f'#alerts tr[data-alert="{alert["id"]}"]').get_by_role("link").first.click()
    c.page.locator("#alert-events").wait_for()
    assert c.page.locator("#resolve-box").count() == 0
    assert c.page.get_by_role("button", name="驳回").count() == 0
