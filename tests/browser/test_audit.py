"""The audit log for auditors in the console: entries filtered by actor, object and date."""

from __future__ import annotations

from tests.browser.conftest import Console, expect


def test_auditor_filters_the_audit_log(console: Console) -> None:
    c = console
    # Something to find: a household saved by cw-001.
    household = {"id": "t-audit-1", "regionCode": "371300-001",
                 "members": [{"id": "m1", "birthDate": "1970-01-01"}]}
    saved = c.server.gql("caseworker", """mutation($h: HouseholdInput!) {
        householdSave(household: $h) { household { id } userErrors { message } } }""",
                         h=household)
    assert saved["householdSave"]["household"]["id"] == "t-audit-1"

    c.sign_in("auditor")
    assert c.page.url.endswith("#/audit")
    c.page.locator("#audit tbody tr").first.wait_for()
    c.page.get_by_label("对象编号").fill("t-audit-1")
    c.page.get_by_role("button", name="查询").click()
    # The unfiltered page (seeding, tokens, ...) gives way to the one entry of that object.
    rows = c.page.locator("#audit tbody tr")
    expect(rows).to_have_count(1)
    assert "t-audit-1" in rows.first.inner_text()
    assert "household.save" in rows.first.inner_text() and "cw-001" in rows.first.inner_text()
    c.shot("audit-log")
    assert c.requests.other_origins(c.server.base) == []


def test_more_appends_the_next_page_of_the_audit_log(console: Console) -> None:
    c = console
    for i in range(55):  # more than one page (50) of household saves
        saved = c.server.gql("caseworker", """mutation($h: HouseholdInput!) {
            householdSave(household: $h) { household { id } userErrors { message } } }""",
                             h={"id": f"t-audit-page-{i}", "regionCode": "371300-001",
                                "members": [{"id": "m1", "birthDate": "1970-01-01"}]})
        assert saved["householdSave"]["userErrors"] == []

    c.sign_in("auditor")
    c.page.locator("#audit tbody tr").first.wait_for()
    c.page.get_by_label("对象类型").fill("household")
    c.page.get_by_role("button", name="查询").click()
    rows = c.page.locator("#audit tbody tr")
    expect(rows).to_have_count(50)
    first_page = rows.all_inner_texts()
    more = c.page.locator("button.more")
    expect(more).to_have_count(1)
    more.click()
    # The next page is appended below the first (which stays as it was), once.
    expect(rows).not_to_have_count(50)
    texts = rows.all_inner_texts()
    assert texts[:50] == first_page
    assert len(texts) > 50 and len(set(texts)) == len(texts)
    expect(c.page.locator("#audit")).to_have_count(1)
