"""Monitoring cases through the use cases, on a real database (SQLite and PostgreSQL), with the
days given: every step to approval, returns and rejections, the notice period and deadlines at
their boundaries, four eyes, the engine's gate at the village review, concurrent decisions.

Each test makes its own households (ids unique per test), so tests share the module's database
in any order.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from services.application import Application, Tokens
from services.auth import Principal
from services.cases import CaseView
from services.config import Settings
from services.errors import Conflict, Forbidden, InvalidInput, NotFoundError, ServiceError
from store.models import AuditEntry
from tests.api.conftest import BACKENDS, fresh_engine

D = date.fromisoformat
SAVED_ON = D("2024-09-01")
OPENED_ON = D("2024-09-27")


class Cast:
    """The application and one principal per part in a case."""

    def __init__(self, app: Application):
        self.app = app
        t = Tokens(app)

        def who(role: str, name: str, regions: list[str]) -> Principal:
            found = t.principal(t.create(role=role, name=name, regions=regions))
            assert found is not None
            return found

        self.cw = who("caseworker", "cs-cw-001", ["371300-001"])
        self.cw2 = who("caseworker", "cs-cw-002", ["371300-002"])
        self.township = who("township_officer", "cs-tw-001", ["371300-001"])
        self.township2 = who("township_officer", "cs-tw-002", ["371300-002"])
        self.county = who("county_officer", "cs-co-001", ["371300"])
        # The township reviewer's own user, holding a county token too.
        self.township_as_county = who("county_officer", "cs-tw-001", ["371300"])
        self.auditor = who("auditor", "cs-au-1", [])


@pytest.fixture(scope="module", params=BACKENDS)
def cast(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         ) -> Iterator[Cast]:
    for engine in fresh_engine(request.param, tmp_path_factory.mktemp("cases")):
        app = Application(Settings(env="test", correlate_on_start=False), engine)
        app.start()
        yield Cast(app)


def household(income: int = 5000, *, region: str = "371300-001", monitored: bool = False,
              since: str | None = None) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "id": f"cs-{uuid.uuid4().hex[:10]}", "regionCode": region, "povertyAlleviated": True,
        "monitored": monitored, "annualNetIncome": income,
        "members": [{"id": "m1", "relation": "HEAD", "birthDate": "1968-04-02"},
                    {"id": "m2", "relation": "SPOUSE", "birthDate": "1970-01-02"}]}
    if since is not None:
        facts["monitoredSince"] = since
    return facts


def saved(c: Cast, facts: dict[str, Any], on: date = SAVED_ON) -> str:
    who = c.cw if facts["regionCode"] == "371300-001" else c.cw2
    return c.app.save_household(who, facts, on).id


def opened(c: Cast, facts: dict[str, Any], on: date = OPENED_ON,
           kind: str = "INCLUSION") -> CaseView:
    hid = saved(c, facts)
    return c.app.cases.open(c.cw, hid, kind, "APPLICATION", on,
                            application_signed_on=D("2024-09-26"))


def verified(c: Cast, case: CaseView, on: date, facts: dict[str, Any] | None = None,
             **kw: Any) -> CaseView:
    return c.app.cases.record_step(c.cw, case.id, "VERIFICATION", on, household=facts,
                                   verifiers=["王干部", "李干部"], **kw)


def to_village_review(c: Cast, case: CaseView) -> CaseView:
    """Verify (2024-10-08), compare (10-09) and start the notice (10-09)."""
    v = verified(c, case, D("2024-10-08"))
    v = c.app.cases.decide(c.cw, v.id, "APPROVE", D("2024-10-08"))
    v = c.app.cases.record_step(c.cw, v.id, "COMPARISON", D("2024-10-09"))
    v = c.app.cases.decide(c.cw, v.id, "APPROVE", D("2024-10-09"))
    return c.app.cases.record_step(c.cw, v.id, "VILLAGE_REVIEW", D("2024-10-09"),
                                   notice_started_on=D("2024-10-09"),
                                   objections=["村民甲：收入情况需再核"])


def code_of(exc: pytest.ExceptionInfo[ServiceError]) -> str:
    return exc.value.code


def test_an_inclusion_runs_every_step_to_county_approval(cast: Cast) -> None:
    c = cast
    facts = household(income=20000)  # 10,000 a head: the stored facts grant nothing
    case = opened(c, facts)
    assert (case.status, case.step, case.channel) == ("OPEN", "VERIFICATION", "APPLICATION")
    assert case.application_signed_on == D("2024-09-26")
    # Fri 27 Sep 2024: Sun 29 Sep is worked in lieu, 1-7 Oct are the national holidays.
    assert case.step_due_on == D("2024-10-08")
    assert case.due_on == D("2024-10-30")

    # Home verification finds the income far lower: a new household revision, and the
    # determination under the versions in force on the day is attached with its reasons.
    found = {**facts, "annualNetIncome": 5000}
    v = verified(c, case, D("2024-10-08"), found, note="入户核查")
    assert v.criteria_granted == ("monitoring.unstable_alleviated",)
    record = c.app.determination_record(c.cw, v.determination_id or "")
    assert record.as_of == D("2024-10-08") and record.household_revision == 2
    granted = [o for p in record.result["programs"] if p["program"] == "monitoring"
               for o in p["outcomes"] if o["status"] == "GRANTED"]
    assert [o["code"] for o in granted] == ["monitoring.unstable_alleviated"]
    assert granted[0]["reasons"][0]["citation"]["clause"]
    entry = v.entries[-1]
    assert (entry.action, entry.step, entry.actor) == ("RECORD", "VERIFICATION",
                                                        "caseworker:cs-cw-001")
    assert entry.details["factsChanged"] == ["annualNetIncome"]
    assert entry.details["verifiers"] == ["王干部", "李干部"]

    v = c.app.cases.decide(c.cw, v.id, "APPROVE", D("2024-10-08"))
    # Tue 8 Oct + 5 working days: 9, 10, 11, Saturday 12 (worked in lieu), Monday 14.
    assert (v.step, v.step_started_on, v.step_due_on) == ("COMPARISON", D("2024-10-08"),
                                                          D("2024-10-14"))
    v = c.app.cases.record_step(c.cw, v.id, "COMPARISON", D("2024-10-09"))
    assert v.entries[-1].details["window"] == ["2023-10-11", "2024-10-09"]
    v = c.app.cases.decide(c.cw, v.id, "APPROVE", D("2024-10-09"))
    assert v.step == "VILLAGE_REVIEW"
    v = c.app.cases.record_step(c.cw, v.id, "VILLAGE_REVIEW", D("2024-10-09"),
                                notice_started_on=D("2024-10-09"), objections=["无异议"])
    assert (v.notice_started_on, v.notice_ends_on) == (D("2024-10-09"), D("2024-10-13"))
    assert v.objections == ("无异议",)

    # The notice runs 9-13 October (5 calendar days): not before the 14th.
    with pytest.raises(Conflict) as refused:
        c.app.cases.decide(c.cw, v.id, "APPROVE", D("2024-10-13"))
    assert code_of(refused) == "NOTICE_NOT_OVER" and "2024-10-14" in refused.value.message
    v = c.app.cases.decide(c.cw, v.id, "APPROVE", D("2024-10-14"))
    assert v.step == "TOWNSHIP_REVIEW"

    v = c.app.cases.decide(c.township, v.id, "APPROVE", D("2024-10-15"))
    assert (v.step, v.township_reviewer) == ("COUNTY_APPROVAL",
                                             "township_officer:cs-tw-001")
    v = c.app.cases.decide(c.county, v.id, "APPROVE", D("2024-10-16"))
    assert (v.status, v.closed_on, v.household_revision) == ("APPROVED", D("2024-10-16"), 3)

    stored = c.app.household(c.cw, facts["id"])
    assert stored.revision == 3
    assert stored.facts["monitored"] is True and stored.facts["monitoredSince"] == "2024-10-16"
    assert [e.action for e in v.entries] == ["OPEN", "RECORD", "APPROVE", "RECORD", "APPROVE",
                                             "RECORD", "APPROVE", "APPROVE", "APPROVE"]
    with c.app.uow() as uow:
        audited = [(e.action, e.actor) for e in uow.session.query(AuditEntry).filter(
            AuditEntry.object_id.in_([v.id, facts["id"]])).order_by(AuditEntry.id)]
    assert ("household.save", "county_officer:cs-co-001") in audited
    assert audited.count(("case.decide", "county_officer:cs-co-001")) == 1


def test_a_returned_case_goes_back_and_forgets_its_notice(cast: Cast) -> None:
    c = cast
    v = to_village_review(c, opened(c, household()))
    v = c.app.cases.decide(c.cw, v.id, "APPROVE", D("2024-10-14"))
    with pytest.raises(InvalidInput) as no_reason:
        c.app.cases.decide(c.township, v.id, "RETURN", D("2024-10-15"))
    assert code_of(no_reason) == "REASON_REQUIRED"
    with pytest.raises(InvalidInput) as forward:
        c.app.cases.decide(c.township, v.id, "RETURN", D("2024-10-15"), reason="x",
                           return_to="COUNTY_APPROVAL")
    assert code_of(forward) == "INVALID_VALUE"
    v = c.app.cases.decide(c.township, v.id, "RETURN", D("2024-10-15"),
                           reason="收入核查不实，请重新入户", return_to="VERIFICATION")
    assert (v.status, v.step, v.step_recorded) == ("OPEN", "VERIFICATION", False)
    assert v.step_started_on == D("2024-10-15") and v.step_due_on == D("2024-10-18")
    assert v.notice_started_on is None and v.township_reviewer is None
    last = v.entries[-1]
    assert (last.action, last.step, last.details["returnTo"]) == (
        "RETURN", "TOWNSHIP_REVIEW", "VERIFICATION")
    assert last.details["reason"] == "收入核查不实，请重新入户"
    # Without a new record the returned step cannot be approved.
    with pytest.raises(Conflict) as unrecorded:
        c.app.cases.decide(c.cw, v.id, "APPROVE", D("2024-10-16"))
    assert code_of(unrecorded) == "STEP_NOT_RECORDED"
    # A return without returnTo goes one step back.
    v = verified(c, v, D("2024-10-16"))
    v = c.app.cases.decide(c.cw, v.id, "APPROVE", D("2024-10-16"))
    v = c.app.cases.decide(c.cw, v.id, "RETURN", D("2024-10-16"), reason="再核")
    assert v.step == "VERIFICATION"


def test_a_rejected_case_closes_and_a_new_one_may_open(cast: Cast) -> None:
    c = cast
    facts = household()
    case = opened(c, facts)
    with pytest.raises(Conflict) as twice:
        c.app.cases.open(c.cw, facts["id"], "INCLUSION", "APPLICATION", D("2024-09-28"),
                         application_signed_on=D("2024-09-27"))
    assert code_of(twice) == "CASE_ALREADY_OPEN"
    with pytest.raises(InvalidInput) as no_reason:
        c.app.cases.decide(c.cw, case.id, "REJECT", D("2024-09-30"))
    assert code_of(no_reason) == "REASON_REQUIRED"
    v = c.app.cases.decide(c.cw, case.id, "REJECT", D("2024-09-30"), reason="农户撤回申请")
    assert (v.status, v.close_reason, v.closed_on) == ("REJECTED", "农户撤回申请",
                                                       D("2024-09-30"))
    with pytest.raises(Conflict) as closed:
        verified(c, v, D("2024-10-08"))
    assert code_of(closed) == "CASE_CLOSED"
    assert c.app.household(c.cw, facts["id"]).facts["monitored"] is False
    again = c.app.cases.open(c.cw, facts["id"], "INCLUSION", "APPLICATION", D("2024-10-08"),
                             application_signed_on=D("2024-10-08"))
    assert again.status == "OPEN" and again.id != case.id


def test_the_county_approval_is_by_another_person_than_the_township_review(cast: Cast) -> None:
    c = cast
    v = to_village_review(c, opened(c, household()))
    v = c.app.cases.decide(c.cw, v.id, "APPROVE", D("2024-10-14"))
    v = c.app.cases.decide(c.township, v.id, "APPROVE", D("2024-10-15"))
    # The same user through a county token: refused, and nothing changed.
    with pytest.raises(Conflict) as same:
        c.app.cases.decide(c.township_as_county, v.id, "APPROVE", D("2024-10-16"))
    assert code_of(same) == "FOUR_EYES"
    assert c.app.cases.case(c.cw, v.id).status == "OPEN"
    # Steps belong to roles: a caseworker cannot approve for the county, nor the county
    # officer review for the township.
    with pytest.raises(Forbidden):
        c.app.cases.decide(c.cw, v.id, "APPROVE", D("2024-10-16"))
    done = c.app.cases.decide(c.county, v.id, "APPROVE", D("2024-10-16"))
    assert done.status == "APPROVED"


def test_the_steps_belong_to_their_roles(cast: Cast) -> None:
    c = cast
    case = opened(c, household())
    with pytest.raises(Forbidden):
        c.app.cases.record_step(c.township, case.id, "VERIFICATION", D("2024-10-08"),
                                verifiers=["a", "b"])
    with pytest.raises(Forbidden):
        c.app.cases.open(c.township, case.household_id, "INCLUSION", "APPLICATION",
                         D("2024-10-08"), application_signed_on=D("2024-10-08"))
    with pytest.raises(Conflict) as wrong:
        c.app.cases.record_step(c.cw, case.id, "COMPARISON", D("2024-10-08"))
    assert code_of(wrong) == "WRONG_STEP"
    with pytest.raises(InvalidInput) as one:
        c.app.cases.record_step(c.cw, case.id, "VERIFICATION", D("2024-10-08"),
                                verifiers=["王干部", "王干部"])
    assert code_of(one) == "TWO_VERIFIERS"
    # Another region's caseworker and township officer do not see the case at all.
    for outsider in (c.cw2, c.township2):
        with pytest.raises(NotFoundError):
            c.app.cases.case(outsider, case.id)
    with pytest.raises(NotFoundError):
        c.app.cases.decide(c.cw2, case.id, "APPROVE", D("2024-10-08"))
    assert c.app.cases.case(c.auditor, case.id).id == case.id
    with pytest.raises(Forbidden):
        c.app.cases.decide(c.auditor, case.id, "APPROVE", D("2024-10-08"))


def test_the_village_review_needs_the_engines_criteria_or_a_recorded_reason(cast: Cast) -> None:
    c = cast
    case = opened(c, household(income=20000))  # 10,000 a head: nothing granted
    v = verified(c, case, D("2024-10-08"))
    assert v.criteria_granted == () and not v.criteria_met
    v = c.app.cases.decide(c.cw, v.id, "APPROVE", D("2024-10-08"))
    v = c.app.cases.record_step(c.cw, v.id, "COMPARISON", D("2024-10-09"))
    with pytest.raises(Conflict) as blocked:
        c.app.cases.decide(c.cw, v.id, "APPROVE", D("2024-10-09"))
    assert code_of(blocked) == "CRITERIA_NOT_MET"
    assert blocked.value.errors[0].field == "criteriaReason"
    assert c.app.cases.case(c.cw, v.id).step == "COMPARISON"
    why = "户主突发重病，医疗费用尚未报销，部门数据未体现"
    v = c.app.cases.record_step(c.cw, v.id, "COMPARISON", D("2024-10-09"), criteria_reason=why)
    assert v.criteria_reason == why and v.criteria_met
    v = c.app.cases.decide(c.cw, v.id, "APPROVE", D("2024-10-09"))
    assert v.step == "VILLAGE_REVIEW"
    # Reviewers see the reason.
    assert c.app.cases.case(c.township, v.id).criteria_reason == why
    with pytest.raises(InvalidInput):  # too late to give one
        c.app.cases.record_step(c.cw, v.id, "VILLAGE_REVIEW", D("2024-10-09"),
                                notice_started_on=D("2024-10-09"), criteria_reason="x")


def test_a_risk_elimination_clears_monitored(cast: Cast) -> None:
    c = cast
    facts = household(income=30000, monitored=True, since="2023-06-01")
    hid = saved(c, facts)
    with pytest.raises(Conflict) as already:
        c.app.cases.open(c.cw, hid, "INCLUSION", "APPLICATION", D("2024-09-27"),
                         application_signed_on=D("2024-09-26"))
    assert code_of(already) == "ALREADY_MONITORED"
    case = c.app.cases.open(c.cw, hid, "RISK_ELIMINATION", "APPLICATION", D("2024-09-27"),
                            application_signed_on=D("2024-09-26"))
    v = to_village_review(c, case)
    assert v.criteria_granted == ("monitoring.risk_elimination",)
    v = c.app.cases.decide(c.cw, v.id, "APPROVE", D("2024-10-14"))
    v = c.app.cases.decide(c.township, v.id, "APPROVE", D("2024-10-15"))
    v = c.app.cases.decide(c.county, v.id, "APPROVE", D("2024-10-16"))
    stored = c.app.household(c.cw, hid)
    assert v.status == "APPROVED" and stored.facts["monitored"] is False
    assert "monitoredSince" not in stored.facts


def test_a_risk_elimination_is_blocked_while_the_engine_does_not_grant_it(cast: Cast) -> None:
    c = cast
    hid = saved(c, household(income=5000, monitored=True, since="2023-06-01"))
    case = c.app.cases.open(c.cw, hid, "RISK_ELIMINATION", "APPLICATION", D("2024-09-27"),
                            application_signed_on=D("2024-09-26"))
    v = verified(c, case, D("2024-10-08"))
    # unstable_alleviated is granted, but that is no ground to eliminate the risk
    assert v.criteria_granted == ()
    v = c.app.cases.decide(c.cw, v.id, "APPROVE", D("2024-10-08"))
    v = c.app.cases.record_step(c.cw, v.id, "COMPARISON", D("2024-10-09"))
    with pytest.raises(Conflict) as blocked:
        c.app.cases.decide(c.cw, v.id, "APPROVE", D("2024-10-09"))
    assert code_of(blocked) == "CRITERIA_NOT_MET"


def test_deadlines_at_their_boundaries_and_the_overdue_listing(cast: Cast) -> None:
    c = cast
    # Opened on Saturday 5 Oct 2024 (a holiday): 3 working days are 8, 9 and 10 October.
    case = opened(c, household(region="371300-001"), on=D("2024-10-05"))
    assert case.step_due_on == D("2024-10-10")
    assert not case.overdue(D("2024-10-10")) and case.overdue(D("2024-10-11"))
    mine, _ = c.app.cases.overdue(c.cw, D("2024-10-11"))
    assert case.id in [v.id for v in mine]
    assert case.id not in [v.id for v in c.app.cases.overdue(c.cw, D("2024-10-10"))[0]]
    # The other region's caseworker does not see it; the county officer does, counted per
    # township and county.
    assert case.id not in [v.id for v in c.app.cases.overdue(c.cw2, D("2024-10-11"))[0]]
    views, groups = c.app.cases.overdue(c.county, D("2024-10-11"))
    assert case.id in [v.id for v in views]
    counted = {(g.level, g.region_code): g.count for g in groups}
    assert counted[("COUNTY", "371300")] == len(views)
    # A shorter list still counts every overdue case.
    few, same = c.app.cases.overdue(c.county, D("2024-10-11"), limit=1)
    assert len(few) == 1 and same == groups
    assert counted[("TOWNSHIP", "371300-001")] >= 1
    listed, _, _, total = c.app.cases.cases(c.cw, 100, None, D("2024-10-11"), overdue=True)
    assert case.id in [v.id for v in listed] and total >= 1
    listed, _, _, _ = c.app.cases.cases(c.cw, 100, None, D("2024-10-10"), overdue=True)
    assert case.id not in [v.id for v in listed]
    listed, _, _, _ = c.app.cases.cases(c.cw, 100, None, D("2024-10-10"), overdue=False)
    assert case.id in [v.id for v in listed]
    assert c.app.cases.overdue_count(D("2024-10-11")) >= 1


def test_a_configured_calendar_moves_the_deadlines(
        cast: Cast, tmp_path: Path) -> None:
    calendar = tmp_path / "calendar.yaml"
    calendar.write_text("holidays:\n  - 2025-03-03\n  - {date: 2025-03-04, name: test}\n"
                        "workdays:\n  - 2025-03-08\n", encoding="utf-8")
    app = Application(Settings(env="test", holiday_calendar=str(calendar)), cast.app.engine)
    c = Cast.__new__(Cast)
    c.app, c.cw = app, cast.cw
    case = opened(c, household(), on=D("2025-02-28"))  # a Friday
    # Mon 3 and Tue 4 March are holidays: Wed 5, Thu 6, Fri 7.
    assert case.step_due_on == D("2025-03-07")
    # 20 working days, Saturday 8 March worked: 5-8, 10-14, 17-21, 24-28, 31.
    assert case.due_on == D("2025-03-31")


def at_once(*calls: Callable[[], CaseView]) -> tuple[list[CaseView], list[ServiceError]]:
    """Run the calls in threads released together: the cases they returned and the expected
    refusals they met."""
    barrier = threading.Barrier(len(calls))
    won: list[CaseView] = []
    lost: list[ServiceError] = []

    def run(call: Callable[[], CaseView]) -> None:
        barrier.wait()
        try:
            won.append(call())
        except ServiceError as exc:
            lost.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(isinstance(w, CaseView) for w in won)
    return won, lost


def test_concurrent_decisions_on_one_case_one_wins(cast: Cast) -> None:
    c = cast
    v = to_village_review(c, opened(c, household()))
    v = c.app.cases.decide(c.cw, v.id, "APPROVE", D("2024-10-14"))
    read_at = v.revision

    def decide(decision: str) -> Callable[[], CaseView]:
        return lambda: c.app.cases.decide(c.township, v.id, decision, D("2024-10-15"),
                                          reason="退回重核" if decision != "APPROVE" else None,
                                          expected_revision=read_at)

    won, lost = at_once(decide("APPROVE"), decide("RETURN"), decide("REJECT"),
                        decide("APPROVE"))
    assert len(won) == 1 and len(lost) == 3
    assert {e.code for e in lost} == {"CONFLICT"}
    final = c.app.cases.case(c.cw, v.id)
    decided = [e for e in final.entries if e.step == "TOWNSHIP_REVIEW"]
    assert len(decided) == 1 and final.revision == read_at + 1


def test_two_transactions_that_read_one_revision_cannot_both_write(cast: Cast) -> None:
    """The version counter under the decisions: of two units of work that read a case at the
    same revision, the second to commit is refused (whatever the timing of threads above)."""
    from store.errors import ConflictError
    from store.models import CaseStep

    c = cast
    case = opened(c, household())
    first, second = c.app.uow(), c.app.uow()
    with first, second:
        a, b = first.cases.find(case.id), second.cases.find(case.id)
        assert a is not None and b is not None and a.revision == b.revision
        a.step = CaseStep.COMPARISON
        b.close_reason = "the loser"
        first.commit()
        with pytest.raises(ConflictError):
            second.commit()
    final = c.app.cases.case(c.cw, case.id)
    assert final.step == "COMPARISON" and final.close_reason is None


def test_concurrent_openings_of_one_kind_leave_one_open_case(cast: Cast) -> None:
    c = cast
    hid = saved(c, household())

    def open_one() -> CaseView:
        return c.app.cases.open(c.cw, hid, "INCLUSION", "APPLICATION", D("2024-09-27"),
                                application_signed_on=D("2024-09-26"))

    won, lost = at_once(*[open_one] * 4)
    assert len(won) == 1 and len(lost) == 3
    assert {e.code for e in lost} <= {"CASE_ALREADY_OPEN", "CONFLICT"}
    listed, _, _, total = c.app.cases.cases(c.cw, 10, None, D("2024-09-27"), household_id=hid)
    assert total == 1 and listed[0].id == won[0].id


@pytest.mark.parametrize("sql", [
    "UPDATE monitoring_case_entries SET actor = 'someone else'",
    "DELETE FROM monitoring_case_entries",
    "UPDATE visits SET observations = 'rewritten'",
    "DELETE FROM visits",
])
def test_a_cases_history_and_visits_cannot_be_rewritten(cast: Cast, sql: str) -> None:
    from sqlalchemy import text

    from store.errors import ImmutableError

    c = cast
    facts = household()
    hid = saved(c, facts)
    visit, case = c.app.visits.record(c.cw, hid, D("2024-09-27"), "走访", D("2024-09-27"),
                                      open_case="INCLUSION")
    assert case is not None
    with pytest.raises(ImmutableError), c.app.engine.begin() as conn:
        conn.execute(text(sql))
    again = c.app.cases.case(c.cw, case.id)
    assert [e.actor for e in again.entries] == ["caseworker:cs-cw-001"]
    assert c.app.visits.of_household(c.cw, hid)[0].observations == "走访"
    # The ORM refuses too, before anything is sent.
    with c.app.uow() as uow:
        row = uow.visits.find(visit.id)
        assert row is not None
        row.observations = "rewritten"
        with pytest.raises(ImmutableError):
            uow.commit()
