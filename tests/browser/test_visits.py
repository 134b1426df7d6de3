"""A household's visits, timeline and assistance in the console: a caseworker records a regular
visit with the facts found (a new revision) and sees it on the timeline; a visit opens a case;
a monitored household's risks list their measures, a risk without one is flagged until a
measure is recorded by hand."""

from __future__ import annotations

import uuid
from datetime import date

from tests.browser.conftest import Console, Server, expect

FACTS = """query($id: ID!) { household(id: $id) { revision facts } }"""


def _household(server: Server, **facts: object) -> str:
    hid = f"t-visit-{uuid.uuid4().hex[:8]}"
    household = {"id": hid, "regionCode": "371300-001", "povertyAlleviated": True,
                 "monitored": False, "annualNetIncome": 30000, "previousAnnualNetIncome": 30000,
                 "foodAndClothingSecure": True, "housingSafetyGrade": "A",
                 "drinkingWaterSafe": True,
                 "members": [{"id": "m1", "relation": "HEAD", "birthDate": "1968-04-02",
                              "medicallyInsured": True, "laborCapacity": "FULL",
                              "schoolStage": "NONE"}], **facts}
    out = server.gql("caseworker", """mutation($h: HouseholdInput!) { householdSave(
        household: $h) { household { id } userErrors { message } } }""", h=household)
    assert out["householdSave"]["userErrors"] == [], out
    return hid


def test_a_visit_records_the_facts_found_and_shows_on_the_timeline(console: Console) -> None:
    c = console
    hid = _household(c.server)
    c.sign_in("caseworker")
    c.page.goto(f"{c.server.base}/#/households/{hid}")
    form = c.page.locator("#visit-form")
    form.wait_for()
    # What was seen is required.
    form.get_by_role("button", name="登记走访").click()
    expect(c.page.locator("#visit-observations-error")).to_have_text("请填写走访情况")
    assert c.server.gql("caseworker", FACTS, id=hid)["household"]["revision"] == 1
    # The income has fallen and the house was re-graded: a new revision.
    assert form.get_by_label("家庭年纯收入（元）").input_value() == "30000"
    form.get_by_label("家庭年纯收入（元）").fill("4000")
    form.get_by_label("住房安全等级").select_option("C")
    form.get_by_label("走访情况").fill("户主务工收入减少，房屋墙体开裂")
    form.get_by_role("button", name="登记走访").click()
    done = c.page.locator("#household-done")
    expect(done).to_contain_text("走访已登记")
    assert "annualNetIncome" in done.inner_text() and "housingSafetyGrade" in done.inner_text()
    found = c.server.gql("caseworker", FACTS, id=hid)["household"]
    assert found["revision"] == 2
    assert found["facts"]["annualNetIncome"] == 4000 and found["facts"]["housingSafetyGrade"] == "C"
    # The timeline, newest first: the visit and the revision it saved.
    rows = c.page.locator("#timeline tbody tr")
    kinds = rows.evaluate_all("rows => rows.map(r => r.dataset.kind)")
    assert "VISIT" in kinds and kinds.count("REVISION") == 2, kinds
    visit = c.page.locator('#timeline tr[data-kind="VISIT"]')
    assert "annualNetIncome" in visit.inner_text()
    c.shot("household-visit-timeline")

    # A second visit, nothing changed, opens a case: the console goes to it.
    form = c.page.locator("#visit-form")
    form.get_by_label("走访情况").fill("复查：收入仍低于监测线")
    form.get_by_label("同时开立案件").select_option("INCLUSION")
    form.get_by_role("button", name="登记走访").click()
    c.page.locator("#case-steps").wait_for()
    assert "干部定期回访" in c.page.locator("#case-meta").inner_text()
    assert c.server.gql("caseworker", FACTS, id=hid)["household"]["revision"] == 2
    c.page.locator("#case-meta").get_by_role("link", name=hid).click()
    case_row = c.page.locator('#timeline tr[data-kind="CASE"]').first
    case_row.wait_for()
    case_row.get_by_role("link").click()
    c.page.locator("#case-steps").wait_for()
    assert c.requests.other_origins(c.server.base) == []
    assert c.requests.console_errors == []


def test_a_risk_without_a_measure_is_flagged_until_one_is_recorded(console: Console) -> None:
    c = console
    # Monitored, with unsafe drinking water: a risk item no granted benefit answers.
    hid = _household(c.server, drinkingWaterSafe=False, monitored=True,
                     monitoredSince="2024-01-01")
    recorded = c.server.gql("caseworker", """mutation($id: ID!, $asOf: Date!) {
        householdDetermine(id: $id, asOf: $asOf) { record { id } userErrors { message } } }""",
                            id=hid, asOf=date.today().isoformat())
    assert recorded["householdDetermine"]["userErrors"] == [], recorded
    c.sign_in("caseworker")
    c.page.goto(f"{c.server.base}/#/households/{hid}")
    box = c.page.locator("#assistance")
    box.wait_for()
    uncovered = box.locator("li.risk.uncovered")
    before = uncovered.count()
    assert before >= 1, box.inner_text()
    assert "无帮扶措施" in uncovered.first.inner_text()
    code = uncovered.first.get_attribute("data-risk")
    # The form proposes the first uncovered risk.
    assert c.page.get_by_label("针对的风险").input_value() == code
    c.page.get_by_label("帮扶措施", exact=True).fill("公益性岗位安置（村保洁员）")
    c.page.get_by_role("button", name="登记帮扶措施").click()
    expect(c.page.locator("#household-done")).to_contain_text("帮扶措施已登记")
    risk = c.page.locator(f'#assistance li.risk[data-risk="{code}"]')
    assert "covered" in (risk.get_attribute("class") or "").split()
    assert "公益性岗位安置" in risk.inner_text()
    expect(c.page.locator("#assistance li.risk.uncovered")).to_have_count(before - 1)
    c.shot("household-assistance", selector="#assistance")
    assert c.requests.console_errors == []
