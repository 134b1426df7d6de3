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
