"""Monitoring cases in the console: a caseworker opens a case on a household's application and
records home verification, department comparison and the village review with its public
notice; the township officer reviews it from their queue; the county officer approves it from
theirs, and the one who reviewed it for the township cannot. A case whose determination does
not grant the criteria is held before the village review until a reason is recorded; a case is
returned with a reason and rejected with one; another township's caseworker cannot open it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

import graphql_api.app
from services.application import Tokens
from tests.browser.conftest import Console, Server, expect

HOUSEHOLD = """query($id: ID!) { household(id: $id) { facts revision } }"""


class _Today(date):
    """The service's idea of today, moved forward by ``offset`` (the notice period passes)."""

    offset = timedelta(0)

    @classmethod
    def today(cls) -> date:
        return date.today() + cls.offset


@pytest.fixture
def days_later(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """days_later(n): from now on the service's requests run n days from today."""
    monkeypatch.setattr(graphql_api.app, "date", _Today)

    def move(days: int) -> None:
        _Today.offset = timedelta(days=days)

    yield move
    _Today.offset = timedelta(0)


def _officers(server: Server) -> None:
    t = Tokens(server.application)
    for who, role, name, regions in (
            ("township", "township_officer", "tw-001", ["371300-001"]),
            ("county", "county_officer", "co-001", ["371300"]),
            # The township reviewer holding a county token too: the same person.
            ("township_as_county", "county_officer", "tw-001", ["371300"])):
        if who not in server.tokens:
            server.tokens[who] = t.create(role=role, name=name, regions=regions)


def _household(server: Server, income: int) -> str:
    """A poverty-alleviated one-person household of 371300-001 with this yearly income."""
    hid = f"t-case-{uuid.uuid4().hex[:8]}"
    facts = {"id": hid, "regionCode": "371300-001", "povertyAlleviated": True,
             "monitored": False, "annualNetIncome": income, "previousAnnualNetIncome": income,
             "foodAndClothingSecure": True, "housingSafetyGrade": "A", "drinkingWaterSafe": True,
             "members": [{"id": "m1", "relation": "HEAD", "birthDate": "1968-04-02",
                          "medicallyInsured": True, "laborCapacity": "FULL",
                          "schoolStage": "NONE"}]}
    out = server.gql("caseworker", """mutation($h: HouseholdInput!) { householdSave(
        household: $h) { household { id } userErrors { message } } }""", h=facts)
    assert out["householdSave"]["userErrors"] == [], out
    return hid


def _open_case(c: Console, hid: str) -> str:
    """The caseworker opens an INCLUSION case on the household's application, in the console."""
    c.page.goto(f"{c.server.base}/#/households/{hid}")
    c.page.get_by_role("link", name="开立监测案件").click()
    c.page.locator("#case-open").wait_for()
    assert c.page.get_by_label("案件类型").input_value() == "INCLUSION"
    c.page.get_by_label("线索来源").select_option("APPLICATION")
    c.page.get_by_label("申请书及授权书签署日期").fill(date.today().isoformat())
    c.page.get_by_label("备注").fill("农户到村委会提出申请")
    c.page.get_by_role("button", name="开立监测案件").click()
    c.page.locator("#case-steps").wait_for()
    return c.page.url.rsplit("/", 1)[1]


def _step(c: Console) -> str:
    return c.page.locator('#case-steps li[aria-current="step"]').inner_text()


def _verify(c: Console) -> None:
    c.page.get_by_label("核查人一").fill("张三")
    c.page.get_by_label("核查人二").fill("李四")
    c.page.get_by_role("button", name="登记本环节").click()
    expect(c.page.locator("#case-done")).to_contain_text("入户核查")


def _approve(c: Console, step_after: str) -> None:
    c.page.locator("#decide-approve").click()
    expect(c.page.locator('#case-steps li[aria-current="step"]')).to_contain_text(step_after)


def test_a_case_through_every_step_to_the_county_approval(
        console: Console, days_later: Any) -> None:
    c = console
    _officers(c.server)
    hid = _household(c.server, income=30000)  # stored above the line: nothing granted
    c.sign_in("caseworker")
    case_id = _open_case(c, hid)
    assert "入户核查" in _step(c)
    assert "办理中" in c.page.locator("main h1").inner_text()
    assert c.page.locator("#case-entries tbody tr").count() == 1  # opened

    # Home verification: nothing to approve before it is recorded, and two cadres record it.
    assert c.page.locator("#decide-approve").is_disabled()
    assert "请先登记本环节" in c.page.locator("#decide-blocked").inner_text()
    c.page.get_by_label("核查人一").fill("张三")
    c.page.get_by_role("button", name="登记本环节").click()
    expect(c.page.locator("#verifier-1-error")).to_have_text("入户核查须由两名干部完成")
    # At home the income is found far lower: the facts as verified become a new revision.
    c.page.locator("#verified-facts").get_by_label("家庭年纯收入（元）").fill("3000")
    _verify(c)
    found = c.server.gql("caseworker", HOUSEHOLD, id=hid)["household"]
    assert found["revision"] == 2 and found["facts"]["annualNetIncome"] == 3000
    # The determination of the verified facts, under the versions in force, is attached with
    # what it grants.
    criteria = c.page.locator("#case-criteria")
    assert "符合条件" in criteria.inner_text()
    # What it grants by its title (边缘易致贫户 or 脱贫不稳定户: the income is below the line),
    # the code in the title; the same in the log's record of the step.
    granted = criteria.locator("#criteria-granted [data-code]")
    codes = [granted.nth(i).get_attribute("data-code") for i in range(granted.count())]
    assert codes and all(code and code.startswith("monitoring.") for code in codes), codes
    assert "monitoring." not in criteria.inner_text(), criteria.inner_text()
    assert "易致贫户" in criteria.inner_text() or "脱贫不稳定户" in criteria.inner_text()
    assert "monitoring." not in c.page.locator("#case-entries").inner_text()
    c.page.get_by_role("button", name="查看认定及理由").click()
    c.page.locator("#case-determination section.program").first.wait_for()
    c.shot("case-verification")
    _approve(c, "部门信息比对")

    # Department comparison, then the village review and its notice.
    c.page.get_by_role("button", name="登记本环节").click()
    expect(c.page.locator("#case-done")).to_contain_text("部门信息比对")
    _approve(c, "民主评议与公示")
    c.page.get_by_label("公示开始日期").fill(date.today().isoformat())
    c.page.get_by_role("button", name="登记本环节").click()
    expect(c.page.locator("#case-done")).to_contain_text("民主评议与公示")
    assert "公示截止" in c.page.locator("#notice-note").inner_text()
    # The notice has not run its course: the service says so, beside the decision.
    c.page.locator("#decide-approve").click()
    expect(c.page.locator("#case-action-status .error")).to_be_visible()
    assert "民主评议与公示" in _step(c)
    days_later(7)
    c.page.reload()
    c.page.locator("#decide-approve").wait_for()
    _approve(c, "乡镇审核")
    assert "等待办理" in c.page.locator("#case-waiting").inner_text()
    assert c.page.locator("#decide-step").count() == 0

    # The township officer's queue.
    c.sign_in("township")
    assert c.page.url.endswith("#/review-township")  # their queue is their first page
    c.page.locator("#nav").get_by_role("link", name="乡镇审核").click()
    row = c.page.locator(f'#cases tr[data-case="{case_id}"]')
    row.wait_for()
    assert c.page.locator("#case-step").input_value() == "TOWNSHIP_REVIEW"
    c.shot("case-township-queue")
    row.get_by_role("link").click()
    c.page.locator("#decide-step").wait_for()
    assert c.page.locator("#record-step").count() == 0
    _approve(c, "县级审定")

    # Four eyes: the township reviewer, signed in as a county officer, cannot approve.
    c.sign_in("township_as_county")
    c.page.goto(f"{c.server.base}/#/cases/{case_id}")
    c.page.locator("#decide-step").wait_for()
    assert c.page.locator("#decide-approve").is_disabled()
    assert "另一人" in c.page.locator("#decide-blocked").inner_text()

    c.sign_in("county")
    assert c.page.url.endswith("#/review-county")
    c.page.locator("#nav").get_by_role("link", name="县级审定").click()
    c.page.locator(f'#cases tr[data-case="{case_id}"]').get_by_role("link").click()
    c.page.locator("#decide-step").wait_for()
    c.shot("case-county-approval")
    c.page.locator("#decide-approve").click()
    expect(c.page.locator("main h1 [data-status]")).to_have_text("已审定")
    assert c.page.locator("#case-actions").count() == 0
    actions = c.page.locator("#case-entries tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.step + ':' + r.dataset.action)")
    assert actions[0] == "VERIFICATION:OPEN" and actions[-1] == "COUNTY_APPROVAL:APPROVE"
    assert "VILLAGE_REVIEW:RECORD" in actions and "TOWNSHIP_REVIEW:APPROVE" in actions
    facts = c.server.gql("caseworker", HOUSEHOLD, id=hid)["household"]["facts"]
    assert facts["monitored"] is True and facts["monitoredSince"]
    # The same page in English.
    c.page.get_by_label("语言").select_option("en")
    expect(c.page.locator("main h1 [data-status]")).to_have_text("Approved")
    assert "Inclusion" in c.page.locator("main h1").inner_text()
    assert "County approval" in c.page.locator("#case-steps").inner_text()
    assert "Household's application" in c.page.locator("#case-meta").inner_text()
    c.page.get_by_label("Language").select_option("zh")
    assert c.requests.other_origins(c.server.base) == []
    assert c.requests.console_errors == []


def test_a_case_held_without_the_criteria_returned_and_rejected(console: Console) -> None:
    c = console
    hid = _household(c.server, income=30000)  # well above the line: nothing granted
    c.sign_in("caseworker")
    case_id = _open_case(c, hid)
    # One open case of a kind per household: a second is refused, the reason shown.
    c.page.goto(f"{c.server.base}/#/cases/new/{hid}")
    c.page.locator("#case-open").wait_for()
    c.page.get_by_label("申请书及授权书签署日期").fill(date.today().isoformat())
    c.page.get_by_role("button", name="开立监测案件").click()
    refused = c.page.locator("#case-open-status .error, #case-open .field-error:not(:empty)")
    expect(refused).not_to_have_count(0)
    assert c.page.url.endswith(f"/cases/new/{hid}")

    c.page.goto(f"{c.server.base}/#/cases/{case_id}")
    _verify(c)
    assert "尚未确认符合条件" in c.page.locator("#case-criteria").inner_text()
    _approve(c, "部门信息比对")
    c.page.get_by_role("button", name="登记本环节").click()
    expect(c.page.locator("#case-done")).to_contain_text("部门信息比对")
    # The engine does not grant the criteria: no village review until a reason is recorded.
    assert c.page.locator("#decide-approve").is_disabled()
    assert "不能进入民主评议" in c.page.locator("#decide-blocked").inner_text()
    c.page.get_by_label("引擎未掌握的情况说明").fill("户主突发重病，尚未报销的医疗费用约4万元")
    c.page.get_by_role("button", name="登记本环节").click()
    expect(c.page.locator("#criteria-reason")).to_contain_text("突发重病")
    assert not c.page.locator("#decide-approve").is_disabled()

    # Returned, with a reason (required), to home verification.
    c.page.locator("#decide-return").click()
    expect(c.page.locator("#decision-reason-error")).to_have_text("退回或不予通过须填写理由")
    c.page.get_by_label("理由（退回、不予通过时必填）").fill("医疗费用票据不全，重新入户核实")
    c.page.get_by_label("退回至").select_option("VERIFICATION")
    c.page.locator("#decide-return").click()
    expect(c.page.locator('#case-steps li[aria-current="step"]')).to_contain_text("入户核查")
    # Rejected, with a reason.
    c.page.get_by_label("理由（退回、不予通过时必填）").fill("经核实，医疗费用已由大病保险报销")
    c.page.locator("#decide-reject").click()
    expect(c.page.locator("main h1 [data-status]")).to_have_text("不予通过")
    assert "大病保险" in c.page.locator("#close-reason").inner_text()
    actions = c.page.locator("#case-entries tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.action)")
    assert actions.count("RETURN") == 1 and actions[-1] == "REJECT"
    facts = c.server.gql("caseworker", HOUSEHOLD, id=hid)["household"]["facts"]
    assert facts.get("monitored") is False

    # Another township's caseworker: the case does not exist for them.
    c.sign_in("caseworker2")
    c.page.goto(f"{c.server.base}/#/cases/{case_id}")
    expect(c.page.get_by_test_id("not-found")).to_contain_text("不在您的辖区内")
    assert c.requests.console_errors == []


def test_overdue_cases_are_listed_and_counted_per_township_and_county(
        console: Console, days_later: Any) -> None:
    c = console
    _officers(c.server)
    hid = _household(c.server, income=3000)
    c.sign_in("caseworker")
    case_id = _open_case(c, hid)
    # Two weeks on, home verification (3 working days) is long past due.
    days_later(14)
    c.sign_in("county")
    c.page.goto(f"{c.server.base}/#/cases")
    c.page.get_by_label("只看逾期").check()
    c.page.get_by_role("button", name="查询").click()
    row = c.page.locator(f'#cases tr[data-case="{case_id}"]')
    row.wait_for()
    assert "逾期" in row.inner_text()
    badges = c.page.locator("#cases tbody [data-overdue]")
    expect(badges).to_have_count(c.page.locator("#cases tbody tr").count())
    township = c.page.locator('#overdue-table tr[data-level="TOWNSHIP"][data-region="371300-001"]')
    county = c.page.locator('#overdue-table tr[data-level="COUNTY"][data-region="371300"]')
    assert int(township.locator("td").nth(2).inner_text()) >= 1
    assert int(county.locator("td").nth(2).inner_text()) >= int(
        township.locator("td").nth(2).inner_text())
    c.shot("cases-overdue")
