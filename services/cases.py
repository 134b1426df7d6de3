"""Monitoring cases (监测对象识别): from a risk clue to the county's approval.

A case is opened from one of the work plan's three channels (WP 二、2): an alert (部门信息比对),
the household's own application (主动申请, with the date it signed the authorisation) or a
cadre's visit (干部定期回访). It runs the identification procedure's steps in order:

    VERIFICATION     two cadres verify at home; the facts become a household revision and the
                     determination under the versions in force is attached, with its reasons
    COMPARISON       the household's department events and alerts of the window are attached
    VILLAGE_REVIEW   democratic review and the public notice (公示, ``noticeCalendarDays``);
                     objections recorded. Reached only if the determination grants the kind's
                     criteria or a caseworker recorded why they are met (``criteriaReason``)
    TOWNSHIP_REVIEW  a township officer decides
    COUNTY_APPROVAL  a county officer, another user than the township reviewer, decides;
                     approval sets (INCLUSION) or clears (RISK_ELIMINATION) ``monitored`` as an
                     audited household revision

Each step is recorded (who, when, what) and decided: APPROVE (on to the next step), RETURN
(with a reason, back to an earlier step) or REJECT (with a reason; the case closes). Deadlines
come from the ``procedure`` version in force on the day the case opened, in working days of the
configured calendar (``policy.workdays``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.results import Determination, Status, determination_json
from policy.errors import FactsInvalid, FieldError
from policy.facts import Household, parse_household
from policy.procedure import STEPS, Procedure, load_procedures, procedure_in_force
from policy.workdays import Calendar, add_working_days, load_calendar
from services.auth import Principal, covered_codes, in_region
from services.errors import Conflict, InvalidInput, NotFoundError
from store.errors import ConflictError, InvalidCursor
from store.models import (
    CaseChannel,
    CaseKind,
    CaseStatus,
    CaseStep,
    MonitoringCase,
    MonitoringCaseEntry,
    StoredHousehold,
)
from store.pagination import Page
from store.uow import UnitOfWork

if TYPE_CHECKING:
    from services.application import Application

PROCEDURE_FOLDER = Path(__file__).resolve().parent.parent / "fixtures" / "procedure"
DEFAULT_CALENDAR = PROCEDURE_FOLDER / "calendar.yaml"
MONITORING = "monitoring"
RISK_ELIMINATION_OUTCOME = "monitoring.risk_elimination"
DECISIONS = ("APPROVE", "RETURN", "REJECT")
MAX_TEXT = 2000
# Steps a caseworker records the criteria reason at: before the village review is reached.
BEFORE_REVIEW = ("VERIFICATION", "COMPARISON")


# --- views --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryView:
    """One thing done to a case: OPEN, RECORD (a step's record), APPROVE, RETURN or REJECT."""

    id: int
    step: str
    action: str
    on: date
    at: datetime
    actor: str
    details: dict[str, Any]


@dataclass(frozen=True)
class CaseView:
    id: str
    household_id: str
    region_code: str
    kind: str
    channel: str
    status: str
    step: str
    alert_id: str | None
    visit_id: str | None
    application_signed_on: date | None
    note: str | None
    procedure_version: int
    procedure_hash: str
    opened_on: date
    opened_at: datetime
    opened_by: str
    due_on: date
    step_started_on: date
    step_due_on: date
    step_recorded: bool
    notice_started_on: date | None
    notice_ends_on: date | None
    objections: tuple[str, ...]
    determination_id: str | None
    criteria_granted: tuple[str, ...]
    criteria_reason: str | None
    criteria_reason_by: str | None
    township_reviewer: str | None
    closed_on: date | None
    closed_by: str | None
    close_reason: str | None
    household_revision: int | None
    revision: int
    entries: tuple[EntryView, ...]

    def overdue(self, today: date) -> bool:
        """Open, and its current step or the whole case was due before ``today``."""
        return self.status == "OPEN" and (self.step_due_on < today or self.due_on < today)

    @property
    def criteria_met(self) -> bool:
        return bool(self.criteria_granted) or self.criteria_reason is not None


@dataclass(frozen=True)
class OverdueGroup:
    """Overdue cases of one township (``level`` TOWNSHIP) or county (COUNTY)."""

    level: str
    region_code: str
    count: int


def township_of(region_code: str) -> str:
    """A region code's township: its first two parts (``371300-001-02`` -> ``371300-001``).

    >>> township_of("371300-001-02"), township_of("371300-001"), county_of("371300-001")
    ('371300-001', '371300-001', '371300')
    """
    return "-".join(region_code.split("-")[:2])


def county_of(region_code: str) -> str:
    return region_code.split("-")[0]


def _error(exc_type: type[Conflict] | type[InvalidInput] | type[NotFoundError], field: str,
           code: str, zh: str, en: str) -> Exception:
    """An expected failure with its field and code. ``en`` is the message (with details);
    ``zh`` is written beside it so the two are read together, and the API's Chinese text for
    the code lives in ``policy.messages.ZH``."""
    del zh
    return exc_type(en, [FieldError(field, code, en)], code=code)


def _text(value: str | None, field: str) -> str | None:
    value = (value or "").strip() or None
    if value is not None and len(value) > MAX_TEXT:
        raise _error(InvalidInput, field, "TOO_LONG", f"最多 {MAX_TEXT} 个字符",
                     f"at most {MAX_TEXT} characters")
    return value


def _enum_value(cls: Any, value: str, field: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        names = ", ".join(m.value for m in cls)
        raise _error(InvalidInput, field, "INVALID_VALUE", f"应为 {names} 之一",
                     f"one of {names}, got {value!r}") from None


def _not_after(value: date, today: date, field: str) -> None:
    if value > today:
        raise _error(InvalidInput, field, "DATE_IN_FUTURE", "日期不能晚于今天",
                     f"{value.isoformat()} is after today")


def parse_household_input(data: Mapping[str, Any], today: date) -> Household:
    """The household facts as given, validated; each problem as ``household.<field>``."""
    try:
        return parse_household(data, today)
    except FactsInvalid as exc:
        raise InvalidInput(f"invalid household facts: {len(exc.errors)} problem(s)",
                           [FieldError(f"household.{e.field}", e.code, e.message)
                            for e in exc.errors], code="INVALID_FACTS") from None


def top_level_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The top-level fact names whose values differ, sorted."""
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def save_facts_of(uow: UnitOfWork, p: Principal, stored: StoredHousehold,
                  household: Mapping[str, Any], today: date, *, mismatch: tuple[str, str],
                  via: str, diff: Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]],
                  ) -> tuple[StoredHousehold, list[str]]:
    """Save facts given for ``stored`` (found in the caller's regions) as its new revision,
    audited ``via`` the caller when they change anything: the saved household and the
    changed fact names (``diff``). ``mismatch`` (ZH, EN) says why facts of another household
    are refused."""
    if household.get("id") != stored.id:
        raise _error(InvalidInput, "household.id", "INVALID_VALUE", *mismatch)
    parsed = parse_household_input(household, today)
    if not in_region(parsed.regionCode, p.regions):
        raise _error(InvalidInput, "household.regionCode", "INVALID_VALUE",
                     "地区须在您负责的地区内", "the region must be one of yours")
    before = dict(stored.facts)
    saved = uow.households.save(parsed, by=p.actor)
    changed = diff(before, saved.facts)
    if changed:
        uow.audit.append(actor=p.actor, action="household.save", object_type="household",
                         object_id=saved.id,
                         details={"revision": saved.revision, "via": via, "facts": changed})
    return saved, changed


class MonitoringCases:
    """The monitoring-case use cases of an ``Application``."""

    def __init__(self, app: Application):
        self.app = app
        self.procedures: list[Procedure] = load_procedures(PROCEDURE_FOLDER)
        path = app.settings.holiday_calendar
        self.calendar: Calendar = load_calendar(Path(path) if path else DEFAULT_CALENDAR)

    # -- the procedure -------------------------------------------------------------------------

    def procedure(self, on: date) -> Procedure:
        found = procedure_in_force(self.procedures, on)
        if found is None:
            raise _error(InvalidInput, "openedOn", "NO_PROCEDURE", "该日无有效的识别程序",
                         f"no procedure version is in force on {on.isoformat()}")
        return found

    def _procedure_of(self, case: MonitoringCase) -> Procedure:
        for p in self.procedures:
            if p.version == case.procedure_version:
                return p
        raise RuntimeError(f"procedure version {case.procedure_version} is not loaded")

    def _start_step(self, case: MonitoringCase, step: CaseStep, on: date) -> None:
        case.step = step
        case.step_started_on = on
        case.step_due_on = add_working_days(on, self._procedure_of(case).step_days(step.value),
                                            self.calendar)
        case.step_recorded = False

    # -- opening -------------------------------------------------------------------------------

    def open(self, p: Principal, household_id: str, kind: str, channel: str, today: date, *,
             alert_id: str | None = None, visit_id: str | None = None,
             application_signed_on: date | None = None, note: str | None = None) -> CaseView:
        """Open a case of ``kind`` for a household of the caller's region, from ``channel``."""
        self.app.policy.write_cases(p)
        k = _enum_value(CaseKind, kind, "kind")
        ch = _enum_value(CaseChannel, channel, "channel")
        note = _text(note, "note")
        if ch is CaseChannel.APPLICATION:
            if application_signed_on is None:
                raise _error(InvalidInput, "applicationSignedOn", "REQUIRED",
                             "农户申请须填写签署授权书的日期",
                             "an application needs the date the household signed the "
                             "authorisation")
            _not_after(application_signed_on, today, "applicationSignedOn")
        if ch is CaseChannel.ALERT and not alert_id:
            raise _error(InvalidInput, "alertId", "REQUIRED", "须指明预警",
                         "a case from an alert names the alert")
        if ch is CaseChannel.VISIT and not visit_id:
            raise _error(InvalidInput, "visitId", "REQUIRED", "须指明走访记录",
                         "a case from a visit names the visit")
        with self.app.uow() as uow, _conflicts("householdId"):
            stored = self._household(p, uow, household_id)
            if ch is CaseChannel.ALERT:
                alert = uow.alerts.find(alert_id or "")
                if alert is None or alert.household_id != stored.id:
                    raise _error(NotFoundError, "alertId", "NOT_FOUND", "该户没有此预警",
                                 f"no alert {alert_id!r} of this household")
            if ch is CaseChannel.VISIT:
                visit = uow.visits.find(visit_id or "")
                if visit is None or visit.household_id != stored.id:
                    raise _error(NotFoundError, "visitId", "NOT_FOUND", "该户没有此走访记录",
                                 f"no visit {visit_id!r} of this household")
            case = self.open_in(uow, p, stored, k, ch, today, alert_id=alert_id,
                                visit_id=visit_id, application_signed_on=application_signed_on,
                                note=note)
            self._commit(uow, "householdId")
            return self._view(uow, case)

    def _household(self, p: Principal, uow: UnitOfWork, household_id: str) -> StoredHousehold:
        stored = uow.households.find(household_id)
        if stored is None or not self.app.policy.household_visible(p, stored.region_code):
            raise _error(NotFoundError, "householdId", "NOT_FOUND", "没有此农户",
                         f"no household {household_id!r}")
        return stored

    def open_in(self, uow: UnitOfWork, p: Principal, stored: StoredHousehold, kind: CaseKind,
                channel: CaseChannel, today: date, *, alert_id: str | None = None,
                visit_id: str | None = None, application_signed_on: date | None = None,
                note: str | None = None) -> MonitoringCase:
        """Open a case inside the caller's unit of work (an alert's inclusion, a visit)."""
        monitored = bool(stored.facts.get("monitored"))
        if kind is CaseKind.INCLUSION and monitored:
            raise _error(Conflict, "kind", "ALREADY_MONITORED", "该户已是监测对象",
                         "the household is already monitored")
        if kind is CaseKind.RISK_ELIMINATION and not monitored:
            raise _error(Conflict, "kind", "NOT_MONITORED", "该户不是监测对象，无法标注风险消除",
                         "the household is not monitored: there is no risk to eliminate")
        existing = uow.cases.open_of(stored.id, kind)
        if existing is not None:
            raise _already_open(existing.id)
        procedure = self.procedure(today)
        case = MonitoringCase(
            household_id=stored.id, region_code=stored.region_code, kind=kind, channel=channel,
            status=CaseStatus.OPEN, alert_id=alert_id, visit_id=visit_id,
            application_signed_on=application_signed_on, note=note,
            procedure_version=procedure.version, procedure_hash=procedure.content_hash,
            opened_on=today, opened_at=uow.now(), opened_by=p.actor,
            due_on=add_working_days(today, procedure.days("caseWorkingDays"), self.calendar),
            step=CaseStep.VERIFICATION, step_started_on=today, step_recorded=False,
            step_due_on=add_working_days(today, procedure.step_days("VERIFICATION"),
                                         self.calendar),
            objections=[], criteria_granted=[], updated_at=uow.now())
        try:
            uow.cases.add(case)
        except ConflictError:  # another process opened one first (the partial unique index)
            raise _already_open(None) from None
        self._entry(uow, case, p, "OPEN", today, {
            "channel": channel.value, "alertId": alert_id, "visitId": visit_id,
            "applicationSignedOn": application_signed_on.isoformat()
            if application_signed_on else None})
        uow.audit.append(actor=p.actor, action="case.open", object_type="monitoring_case",
                         object_id=case.id, details={"household": stored.id,
                                                     "kind": kind.value,
                                                     "channel": channel.value})
        return case

    # -- recording a step ----------------------------------------------------------------------

    def record_step(self, p: Principal, case_id: str, step: str, today: date, *,
                    household: Mapping[str, Any] | None = None,
                    verifiers: Sequence[str] | None = None, note: str | None = None,
                    notice_started_on: date | None = None,
                    objections: Sequence[str] | None = None,
                    criteria_reason: str | None = None,
                    expected_revision: int | None = None) -> CaseView:
        """Record what was done at the case's current step (again, if need be: the last record
        counts, every one is kept)."""
        self.app.policy.may_act_on_cases(p)
        st = _enum_value(CaseStep, step, "step")
        note = _text(note, "note")
        criteria_reason = _text(criteria_reason, "criteriaReason")
        with self.app.uow() as uow, _conflicts("id"):
            case = self._case_for_action(uow, p, case_id, expected_revision)
            if st is not case.step:
                raise _error(Conflict, "step", "WRONG_STEP", f"案件当前处于 {case.step.value} 环节",
                             f"the case is at {case.step.value}, not {st.value}")
            if criteria_reason is not None and st.value not in BEFORE_REVIEW:
                raise _error(InvalidInput, "criteriaReason", "INVALID_VALUE",
                             "须在村级评议之前说明",
                             "the criteria reason is recorded before the village review")
            details: dict[str, Any] = {"note": note}
            if st is CaseStep.VERIFICATION:
                details.update(self._verify(uow, p, case, today, household, verifiers))
            elif st is CaseStep.COMPARISON:
                details.update(self._compare(uow, case, today))
            elif st is CaseStep.VILLAGE_REVIEW:
                if notice_started_on is None:
                    raise _error(InvalidInput, "noticeStartedOn", "REQUIRED",
                                 "须填写公示开始日期", "the public notice's first day is required")
                _not_after(notice_started_on, today, "noticeStartedOn")
                if notice_started_on < case.step_started_on:
                    raise _error(InvalidInput, "noticeStartedOn", "INVALID_VALUE",
                                 "公示不能早于村级评议环节开始",
                                 "the notice cannot start before the village review began")
                days = self._procedure_of(case).days("noticeCalendarDays")
                texts = [t for t in (_text(o, f"objections[{i}]")
                                     for i, o in enumerate(objections or [])) if t]
                case.notice_started_on = notice_started_on
                case.notice_ends_on = notice_started_on + timedelta(days=days - 1)
                case.objections = texts
                details.update({"noticeStartedOn": notice_started_on.isoformat(),
                                "noticeEndsOn": case.notice_ends_on.isoformat(),
                                "objections": texts})
            if criteria_reason is not None:
                case.criteria_reason, case.criteria_reason_by = criteria_reason, p.actor
                details["criteriaReason"] = criteria_reason
            case.step_recorded = True
            case.updated_at = uow.now()
            self._entry(uow, case, p, "RECORD", today, details)
            uow.audit.append(actor=p.actor, action="case.record", object_type="monitoring_case",
                             object_id=case.id, details={"step": st.value})
            self._commit(uow, "id")
            return self._view(uow, case)

    def _verify(self, uow: UnitOfWork, p: Principal, case: MonitoringCase, today: date,
                household: Mapping[str, Any] | None,
                verifiers: Sequence[str] | None) -> dict[str, Any]:
        names = [v.strip() for v in verifiers or [] if v and v.strip()]
        if len(set(names)) < 2:
            raise _error(InvalidInput, "verifiers", "TWO_VERIFIERS", "入户核查须由两名干部完成",
                         "home verification is done by two cadres: name both")
        if any(len(n) > 100 for n in names):
            raise _error(InvalidInput, "verifiers", "TOO_LONG", "姓名过长",
                         "a verifier's name has at most 100 characters")
        stored = uow.households.find(case.household_id)
        assert stored is not None  # a case's household is a stored one (foreign key)
        changed: list[str] = []
        if household is not None:
            stored, changed = save_facts_of(
                uow, p, stored, household, today,
                mismatch=("核查的农户须为本案农户",
                          "the verified facts are this case's household's"),
                via=f"case:{case.id}", diff=top_level_changes)
            if changed:
                case.region_code = stored.region_code
        det = self.app._determine(stored.facts, today, None)
        record = uow.determinations.add(
            region_code=stored.region_code, as_of=today, facts=stored.facts,
            versions=[{"program": r.program, "versionId": r.version.id,
                       "version": r.version.version, "contentHash": r.version.content_hash}
                      for r in det.programs],
            result=determination_json(det), created_by=p.actor, household_id=stored.id,
            household_revision=stored.revision)
        uow.audit.append(actor=p.actor, action="determination.record",
                         object_type="determination", object_id=record.id,
                         details={"household": stored.id, "asOf": today.isoformat(),
                                  "via": f"case:{case.id}"})
        granted = criteria_granted(det, case.kind)
        case.determination_id = record.id
        case.criteria_granted = granted
        return {"verifiers": names, "householdRevision": stored.revision,
                "factsChanged": changed, "determinationId": record.id, "granted": granted}

    def _compare(self, uow: UnitOfWork, case: MonitoringCase, today: date) -> dict[str, Any]:
        days = self._procedure_of(case).days("comparisonWindowDays")
        since = today - timedelta(days=days - 1)
        events = uow.events.for_household(case.household_id, since=since, until=today)
        alerts = [a for a in uow.alerts.page(1000, household_id=case.household_id).items
                  if a.created_at.date() >= since]
        return {"window": [since.isoformat(), today.isoformat()],
                "eventIds": [e.id for e in events], "alertIds": [a.id for a in alerts]}

    # -- deciding ------------------------------------------------------------------------------

    def decide(self, p: Principal, case_id: str, decision: str, today: date, *,
               reason: str | None = None, return_to: str | None = None,
               expected_revision: int | None = None) -> CaseView:
        """APPROVE, RETURN (with a reason, to an earlier step) or REJECT (with a reason) the
        case's current step."""
        self.app.policy.may_act_on_cases(p)
        if decision not in DECISIONS:
            raise _error(InvalidInput, "decision", "INVALID_VALUE",
                         "应为 APPROVE、RETURN 或 REJECT",
                         f"one of APPROVE, RETURN, REJECT, got {decision!r}")
        reason = _text(reason, "reason")
        if decision != "APPROVE" and reason is None:
            raise _error(InvalidInput, "reason", "REASON_REQUIRED", "退回或不予通过须说明理由",
                         "a return or a rejection needs a reason")
        target = _enum_value(CaseStep, return_to, "returnTo") if return_to else None
        with self.app.uow() as uow, _conflicts("id"):
            case = self._case_for_action(uow, p, case_id, expected_revision)
            step = case.step
            details: dict[str, Any] = {"reason": reason}
            if decision == "APPROVE":
                details.update(self._approve(uow, p, case, today))
            elif decision == "RETURN":
                index = STEPS.index(step.value)
                if index == 0:
                    raise _error(InvalidInput, "returnTo", "INVALID_VALUE",
                                 "入户核查之前没有可退回的环节",
                                 "there is no step before VERIFICATION to return to")
                back = target or CaseStep(STEPS[index - 1])
                if STEPS.index(back.value) >= index:
                    raise _error(InvalidInput, "returnTo", "INVALID_VALUE",
                                 "只能退回到之前的环节",
                                 f"a case returns to a step before {step.value}")
                self._start_step(case, back, today)
                if STEPS.index(back.value) <= STEPS.index("VILLAGE_REVIEW"):
                    case.notice_started_on = case.notice_ends_on = None
                    case.township_reviewer_id = case.township_reviewer = None
                details["returnTo"] = back.value
            else:
                case.status = CaseStatus.REJECTED
                case.closed_on, case.closed_at, case.closed_by = today, uow.now(), p.actor
                case.close_reason = reason
            case.updated_at = uow.now()
            self._entry(uow, case, p, decision, today, details, step=step)
            uow.audit.append(actor=p.actor, action="case.decide", object_type="monitoring_case",
                             object_id=case.id, details={"step": step.value,
                                                         "decision": decision,
                                                         **({"householdRevision":
                                                             details["householdRevision"]}
                                                            if "householdRevision" in details
                                                            else {})})
            self._commit(uow, "id")
            return self._view(uow, case)

    def _approve(self, uow: UnitOfWork, p: Principal, case: MonitoringCase,
                 today: date) -> dict[str, Any]:
        step = case.step
        if step.value in ("VERIFICATION", "COMPARISON", "VILLAGE_REVIEW") and \
                not case.step_recorded:
            raise _error(Conflict, "step", "STEP_NOT_RECORDED", "本环节尚未记录",
                         f"record the {step.value} step before approving it")
        if step is CaseStep.COMPARISON and not (case.criteria_granted or case.criteria_reason):
            wanted = ("风险消除条件（risk_elimination）" if case.kind is CaseKind.RISK_ELIMINATION
                      else "监测类别或风险项")
            raise _error(Conflict, "criteriaReason", "CRITERIA_NOT_MET",
                         f"最近一次认定未满足{wanted}，须说明依据后方可进入村级评议",
                         "the latest determination does not grant the criteria: record why "
                         "they are met (criteriaReason) before the village review")
        if step is CaseStep.VILLAGE_REVIEW:
            assert case.notice_started_on is not None  # recorded: the notice has started
            days = self._procedure_of(case).days("noticeCalendarDays")
            over = case.notice_started_on + timedelta(days=days)
            if today < over:
                raise _error(Conflict, "decision", "NOTICE_NOT_OVER",
                             f"公示期（{days}天）未满，{over.isoformat()} 起方可通过",
                             f"the {days}-day public notice runs until "
                             f"{(over - timedelta(days=1)).isoformat()}; approve from "
                             f"{over.isoformat()}")
        if step is CaseStep.TOWNSHIP_REVIEW:
            case.township_reviewer_id, case.township_reviewer = p.user_id, p.actor
        if step is CaseStep.COUNTY_APPROVAL:
            if p.user_id is None or p.user_id == case.township_reviewer_id:
                raise _error(Conflict, "decision", "FOUR_EYES",
                             "县级审定须由乡镇审核人以外的人员作出",
                             "the county approval is made by another person than the "
                             "township reviewer")
            return self._close_approved(uow, p, case, today)
        self._start_step(case, CaseStep(STEPS[STEPS.index(step.value) + 1]), today)
        return {"next": case.step.value}

    def _close_approved(self, uow: UnitOfWork, p: Principal, case: MonitoringCase,
                        today: date) -> dict[str, Any]:
        stored = uow.households.find(case.household_id)
        assert stored is not None  # a case's household is a stored one (foreign key)
        facts = json.loads(json.dumps(stored.facts))
        if case.kind is CaseKind.INCLUSION:
            facts["monitored"] = True
            facts["monitoredSince"] = today.isoformat()
        else:
            facts["monitored"] = False
            facts.pop("monitoredSince", None)
        saved = uow.households.save(parse_household(facts, today), by=p.actor)
        uow.audit.append(actor=p.actor, action="household.save", object_type="household",
                         object_id=saved.id, details={"revision": saved.revision,
                                                      "via": f"case:{case.id}",
                                                      "facts": ["monitored", "monitoredSince"]})
        case.status = CaseStatus.APPROVED
        case.closed_on, case.closed_at, case.closed_by = today, uow.now(), p.actor
        case.household_revision = saved.revision
        return {"householdRevision": saved.revision}

    # -- reading -------------------------------------------------------------------------------

    def case(self, p: Principal, case_id: str) -> CaseView:
        with self.app.uow() as uow:
            found = uow.cases.find(case_id)
            if found is None:
                self.app.policy.read_cases(p)
                raise NotFoundError(f"no monitoring case {case_id!r}")
            self.app.policy.read_case(p, found.region_code, case_id)
            return self._view(uow, found)

    def cases(self, p: Principal, first: int, after: str | None, today: date, *,
              region_codes: Sequence[str] | None = None, status: str | None = None,
              kind: str | None = None, step: str | None = None,
              overdue: bool | None = None, household_id: str | None = None,
              ) -> tuple[list[CaseView], bool, str | None, int]:
        """Cases newest first (of the caller's regions), the page's end cursor and the total."""
        self.app.policy.read_cases(p)
        self.app._check_first(first)
        with self.app.uow() as uow:
            args = self._listing(p, uow, today, region_codes, status, kind, step, overdue,
                                 household_id)
            if args is None:
                return [], False, None, 0
            try:
                page = uow.cases.page(first, after, **args)
            except InvalidCursor as exc:
                from services.application import invalid_cursor

                raise invalid_cursor(exc) from None
            total = uow.cases.count(**args)
            return (self._views(uow, page.items), page.has_next_page, page.end_cursor, total)

    def cases_window(self, p: Principal, today: date, *, first: int | None, after: str | None,
                     last: int | None, before: str | None,
                     region_codes: Sequence[str] | None = None, status: str | None = None,
                     kind: str | None = None, step: str | None = None,
                     overdue: bool | None = None, household_id: str | None = None,
                     ) -> tuple[Page[CaseView], int]:
        """Cases newest first (of the caller's regions) as a Relay connection pages them
        (first/after forwards, last/before backwards; one of first and last is required), with
        the filter's total."""
        self.app.policy.read_cases(p)
        self.app._check_window(first, after, last, before, "cases", 2)
        with self.app.uow() as uow:
            args = self._listing(p, uow, today, region_codes, status, kind, step, overdue,
                                 household_id)
            if args is None:
                return Page([], None, False), 0
            try:
                page = uow.cases.window(first=first, after=after, last=last, before=before,
                                        **args)
            except InvalidCursor as exc:
                field = "before" if before is not None and after is None else "after"
                raise InvalidInput(str(exc), [FieldError(field, "INVALID_CURSOR", str(exc))],
                                   code="INVALID_CURSOR") from None
            total = uow.cases.count(**args)
            return Page(self._views(uow, page.items), page.end_cursor, page.has_next_page,
                        page.has_previous_page, page.start_cursor), total

    def _listing(self, p: Principal, uow: UnitOfWork, today: date,
                 region_codes: Sequence[str] | None, status: str | None, kind: str | None,
                 step: str | None, overdue: bool | None, household_id: str | None,
                 ) -> dict[str, Any] | None:
        """The repository's filter of a case listing, or None when the caller may see none of
        the regions asked for."""
        st = _enum_value(CaseStatus, status, "filter.status") if status else None
        k = _enum_value(CaseKind, kind, "filter.kind") if kind else None
        s = _enum_value(CaseStep, step, "filter.step") if step else None
        regions = self.app._listing_regions(p, region_codes, uow)
        if regions is not None and not regions:
            return None
        return {"region_codes": regions, "status": st, "kind": k,
                "overdue_on": today if overdue is not None else None,
                "overdue": overdue is not False, "household_id": household_id, "step": s}

    def overdue(self, p: Principal | None, today: date,
                region_codes: Sequence[str] | None = None, *, limit: int = 1000,
                ) -> tuple[list[CaseView], list[OverdueGroup]]:
        """Overdue cases (of the caller's regions; ``p`` None: the command line, every region),
        at most ``limit`` of them (by region, then the step's due day), and the numbers of all
        of them per township and per county."""
        if p is not None:
            self.app.policy.read_cases(p)
        with self.app.uow() as uow:
            regions = (self.app._listing_regions(p, region_codes, uow) if p is not None else
                       (covered_codes(region_codes, uow.households.region_codes())
                        if region_codes else None))
            if regions is not None and not regions:
                return [], []
            views = self._views(uow, uow.cases.overdue(today, region_codes=regions,
                                                       limit=limit))
            by_region = uow.cases.overdue_by_region(today, region_codes=regions)
        groups: dict[tuple[str, str], int] = {}
        for region, n in by_region.items():
            for key in (("COUNTY", county_of(region)), ("TOWNSHIP", township_of(region))):
                groups[key] = groups.get(key, 0) + n
        return views, [OverdueGroup(level, code, n)
                       for (level, code), n in sorted(groups.items())]

    def overdue_count(self, today: date) -> int:
        """Open cases past a due date, in every region."""
        with self.app.uow() as uow:
            return uow.cases.count(overdue_on=today)

    def overdue_by_county(self, today: date) -> dict[str, int]:
        """Overdue open cases per county, in every region (for /metrics: numbers only)."""
        with self.app.uow() as uow:
            by_region = uow.cases.overdue_by_region(today)
        out: dict[str, int] = {}
        for region, n in by_region.items():
            out[county_of(region)] = out.get(county_of(region), 0) + n
        return out

    def open_case_of(self, p: Principal, household_id: str, kind: str) -> CaseView | None:
        """The household's open case of ``kind``, if the caller may see it."""
        with self.app.uow() as uow:
            found = uow.cases.open_of(household_id, CaseKind(kind))
            if found is None or not self.app.policy.case_visible(p, found.region_code):
                return None
            return self._view(uow, found)

    def household_cases(self, p: Principal, household_id: str) -> list[CaseView]:
        with self.app.uow() as uow:
            return self._views(uow, [c for c in uow.cases.of_household(household_id)
                                     if self.app.policy.case_visible(p, c.region_code)])

    # -- helpers -------------------------------------------------------------------------------

    def _case_for_action(self, uow: UnitOfWork, p: Principal, case_id: str,
                         expected_revision: int | None) -> MonitoringCase:
        case = uow.cases.find(case_id)
        if case is None or not self.app.policy.case_visible(p, case.region_code):
            raise _error(NotFoundError, "id", "NOT_FOUND", "没有此案件",
                         f"no monitoring case {case_id!r}")
        # A stale read first: whoever acted on what they saw learns that it changed, before
        # being told the step it moved to is not theirs.
        if expected_revision is not None and expected_revision != case.revision:
            raise _error(Conflict, "expectedRevision", "CONFLICT",
                         "案件已被他人更改，请刷新后重试",
                         f"the case is at revision {case.revision}, not {expected_revision}: "
                         "someone else changed it")
        self.app.policy.act_on_case(p, case.region_code, case_id, case.step.value)
        if case.status is not CaseStatus.OPEN:
            raise _error(Conflict, "id", "CASE_CLOSED", "案件已办结",
                         f"the case is {case.status.value}")
        return case

    def _entry(self, uow: UnitOfWork, case: MonitoringCase, p: Principal, action: str,
               on: date, details: dict[str, Any], step: CaseStep | None = None) -> None:
        uow.cases.add_entry(MonitoringCaseEntry(
            case_id=case.id, step=step or case.step, action=action, on=on, at=uow.now(),
            actor=p.actor, user_id=p.user_id,
            details={k: v for k, v in details.items() if v is not None}))

    @staticmethod
    def _commit(uow: UnitOfWork, field: str) -> None:
        with _conflicts(field):
            uow.commit()

    def _views(self, uow: UnitOfWork, cases: Sequence[MonitoringCase]) -> list[CaseView]:
        """Views of many cases, their entries read in one query per 500 cases."""
        entries: dict[str, list[MonitoringCaseEntry]] = {}
        ids = [c.id for c in cases]
        for i in range(0, len(ids), 500):
            entries.update(uow.cases.entries(ids[i:i + 500]))
        return [self._view(uow, c, entries[c.id]) for c in cases]

    def _view(self, uow: UnitOfWork, c: MonitoringCase,
              entries: Sequence[MonitoringCaseEntry] | None = None) -> CaseView:
        if entries is None:
            entries = uow.cases.entries([c.id])[c.id]
        return CaseView(
            id=c.id, household_id=c.household_id, region_code=c.region_code,
            kind=c.kind.value, channel=c.channel.value, status=c.status.value,
            step=c.step.value, alert_id=c.alert_id, visit_id=c.visit_id,
            application_signed_on=c.application_signed_on, note=c.note,
            procedure_version=c.procedure_version, procedure_hash=c.procedure_hash,
            opened_on=c.opened_on, opened_at=c.opened_at, opened_by=c.opened_by,
            due_on=c.due_on, step_started_on=c.step_started_on, step_due_on=c.step_due_on,
            step_recorded=c.step_recorded, notice_started_on=c.notice_started_on,
            notice_ends_on=c.notice_ends_on, objections=tuple(c.objections or ()),
            determination_id=c.determination_id,
            criteria_granted=tuple(c.criteria_granted or ()),
            criteria_reason=c.criteria_reason, criteria_reason_by=c.criteria_reason_by,
            township_reviewer=c.township_reviewer, closed_on=c.closed_on,
            closed_by=c.closed_by, close_reason=c.close_reason,
            household_revision=c.household_revision, revision=c.revision,
            entries=tuple(EntryView(e.id, e.step.value, e.action, e.on, e.at, e.actor,
                                    dict(e.details)) for e in entries))


@contextmanager
def _conflicts(field: str) -> Iterator[None]:
    """A write that lost a race (a stale revision, a locked database) as the caller's
    ``CONFLICT``: nothing of it was kept."""
    try:
        yield
    except ConflictError:
        raise _error(Conflict, field, "CONFLICT", "案件已被他人同时更改，请刷新后重试",
                     "someone else changed the case at the same time; re-read it and "
                     "retry") from None


def _already_open(case_id: str | None) -> Exception:
    en = ("the household already has an open case of this kind"
          + (f" ({case_id})" if case_id else ""))
    return _error(Conflict, "householdId", "CASE_ALREADY_OPEN", "该户已有同类在办案件", en)


def criteria_granted(det: Determination, kind: CaseKind) -> list[str]:
    """The monitoring outcomes of ``det`` that meet the criteria of a case of ``kind``: for an
    inclusion, every granted monitoring category or risk item; for a risk elimination,
    ``monitoring.risk_elimination``."""
    out: list[str] = []
    for program in det.programs:
        if program.program != MONITORING:
            continue
        for o in program.outcomes:
            if o.status is not Status.GRANTED:
                continue
            if (o.code == RISK_ELIMINATION_OUTCOME) == (kind is CaseKind.RISK_ELIMINATION):
                out.append(o.code)
    return sorted(set(out))
