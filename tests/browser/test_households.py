"""Saved households in the console: a caseworker finds their region's households, records and
replays a determination, and cannot open a household of another region."""

from __future__ import annotations

from tests.browser.conftest import Console, expect


def test_caseworker_lists_only_own_region_and_cannot_open_another(console: Console) -> None:
    c = console
    c.sign_in("caseworker")  # regions 371300-001
    c.page.goto(f"{c.server.base}/#/households")
    rows = c.page.locator("#household-list tbody tr")
    rows.first.wait_for()
    regions = {rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())}
    assert regions == {"371300-001"}
    listed = {rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())}
    assert "hh-001" in listed and "hh-002" not in listed
    c.shot("households-list")
    # hh-002 is in 371300-002: typing its address gives nothing away.
    c.page.goto(f"{c.server.base}/#/households/hh-002")
    c.page.get_by_test_id("not-found").wait_for()
    assert "不在您的辖区内" in c.page.get_by_test_id("not-found").inner_text()
    assert c.page.locator("#records").count() == 0
    assert c.requests.other_origins(c.server.base) == []


def test_caseworker_records_and_replays_a_determination(console: Console) -> None:
    c = console
    c.sign_in("caseworker")
    c.page.goto(f"{c.server.base}/#/households")
    c.page.get_by_label("户编号（前缀）").fill("hh-00")
    c.page.get_by_role("button", name="查询").click()
    c.page.get_by_role("link", name="hh-001").click()
    c.page.get_by_label("核查日期").fill("2024-06-01")
    c.page.get_by_role("button", name="按日期认定并记录").click()
    c.page.locator("#records tbody tr").first.wait_for()
    newest = c.page.locator("#records tbody tr").first
    assert newest.locator("td").first.inner_text() == "2024-06-01"
    c.page.locator("#records").get_by_role("button", name="重放").first.click()
    replay = c.page.get_by_test_id("replay")
    replay.wait_for()
    assert "完全一致" in replay.inner_text()
    c.page.locator("#record-detail section.program").first.wait_for()
    c.shot("household-history-replay")


def test_a_saved_household_opens_in_the_check_page_with_medical_relief_terms(
        console: Console) -> None:
    c = console
    c.sign_in("caseworker")
    c.page.goto(f"{c.server.base}/#/households/hh-003")
    c.page.get_by_role("button", name="在核查页中编辑").click()
    c.page.get_by_label("家庭编号").wait_for()
    assert c.page.get_by_label("家庭编号").input_value() == "hh-003"
    c.page.get_by_label("核查日期").fill("2024-06-01")
    c.page.get_by_role("button", name="开始核查").click()
    tier = c.page.locator('#results li.outcome.granted[data-code="medical.tier1"]')
    tier.wait_for()
    text = tier.locator("summary").inner_text()
    assert "救助比例" in text and "起付线" in text and "%" in text
    assert "参保资助 350.00 元" in text and "ratio" not in text
    # In English, the API's English labels (Term.label, Term.unitLabel).
    c.page.get_by_label("语言").select_option("en")
    c.page.get_by_label("As of").fill("2024-06-01")
    c.page.get_by_role("button", name="Evaluate", exact=True).click()
    tier = c.page.locator('#results li.outcome.granted[data-code="medical.tier1"]')
    expect(tier.locator("summary")).to_contain_text("Relief ratio")
    text = tier.locator("summary").inner_text()
    assert "Premium subsidy 350.00 yuan" in text and "Deductible 0.00 yuan" in text
    assert "救助" not in text
    # English punctuation in English: the terms, the flag and the totals.
    assert "; Deductible" in text and "；" not in text
    flag = c.page.locator("#results .flag").inner_text()
    total = c.page.get_by_test_id("yearly-total").inner_text()
    assert "Flagged by: " in flag and total.startswith("Household yearly total: ")
    assert not any(mark in flag + total for mark in "：、；（）"), (flag, total)
    c.page.get_by_label("Language").select_option("zh")


SAVE = """mutation($h: HouseholdFactsInput!) { householdSave(facts: $h) {
    household { id revision } userErrors { field errorCode } } }"""
READ = """query($id: ID!) { household(id: $id) { revision facts } }"""


def test_a_saved_household_opened_and_saved_again_keeps_every_fact(console: Console) -> None:
    """The form asks for every input fact of the catalogue (catalogue version 2 added
    employmentStatus and temporaryAssistanceLast12Months for the public-welfare jobs and
    temporary assistance): a household saved with them, opened in the check page and saved
    again from there keeps them, and the form shows them by the catalogue's labels."""
    c = console
    facts = {"id": "hh-roundtrip", "regionCode": "371300-001", "povertyAlleviated": True,
             "annualNetIncome": 9000, "temporaryAssistanceLast12Months": True,
             "members": [{"id": "m1", "relation": "HEAD", "birthDate": "1980-01-01",
                          "employmentStatus": "UNEMPLOYED", "laborCapacity": "PARTIAL"}]}
    saved = c.server.gql("caseworker", SAVE, h=facts)["householdSave"]
    assert saved["userErrors"] == [] and saved["household"]["revision"] == 1
    c.sign_in("caseworker")
    c.page.goto(f"{c.server.base}/#/households/hh-roundtrip")
    c.page.get_by_role("button", name="在核查页中编辑").click()
    c.page.get_by_label("家庭编号").wait_for()
    assert c.page.get_by_label("近12个月获临时救助").is_checked()
    member = c.page.locator("fieldset.member").first
    assert member.get_by_label("就业状态").input_value() == "UNEMPLOYED"
    assert "失业" in member.get_by_label("就业状态").locator("option:checked").inner_text()
    c.page.get_by_label("核查日期").fill("2024-06-01")
    c.page.locator("#save-record").click()
    c.page.locator("#results section.program").first.wait_for()
    stored = c.server.gql("caseworker", READ, id="hh-roundtrip")["household"]
    # Saved again unchanged: no new revision (a form that dropped a fact made one without it).
    assert stored["revision"] == 1
    kept = stored["facts"]
    assert kept["temporaryAssistanceLast12Months"] is True
    assert kept["members"][0]["employmentStatus"] == "UNEMPLOYED"
    assert kept["members"][0]["laborCapacity"] == "PARTIAL"
