"""Monitoring cases over GraphQL: ``monitoringCases`` (a connection), ``monitoringCase``,
``monitoringCaseOverdueCounts``, and the mutations ``monitoringCaseOpen``,
``monitoringCaseRecordStep`` and ``monitoringCaseDecide``."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.scalars import JSON

from graphql_api.errors import UserError, call, service_error, user_errors
from graphql_api.inputs import HouseholdJSON
from graphql_api.node import Node, global_id
from graphql_api.types import (
    Citation,
    DeterminationRecord,
    Household,
    HouseholdInput,
    Lang,
    PageInfo,
)
from services.assistance import AssistanceView, Measure
from services.cases import CaseView, EntryView
from services.errors import ServiceError
from services.visits import TimelineEntry as TimelineView
from services.visits import VisitView
from store.pagination import encode_cursor

if TYPE_CHECKING:
    from graphql_api.warning import Alert, Event


@strawberry.enum(description="What a case decides: 纳入监测 (INCLUSION) or 风险消除 "
                 "(RISK_ELIMINATION).")
class MonitoringCaseKind(Enum):
    INCLUSION = "INCLUSION"
    RISK_ELIMINATION = "RISK_ELIMINATION"


@strawberry.enum(description="OPEN until the county approves it or someone rejects it.")
class MonitoringCaseStatus(Enum):
    OPEN = "OPEN"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@strawberry.enum(description="The steps of the identification procedure, in order.")
class MonitoringCaseStep(Enum):
    VERIFICATION = "VERIFICATION"
    COMPARISON = "COMPARISON"
    VILLAGE_REVIEW = "VILLAGE_REVIEW"
    TOWNSHIP_REVIEW = "TOWNSHIP_REVIEW"
    COUNTY_APPROVAL = "COUNTY_APPROVAL"


@strawberry.enum(description="How the risk came to light (WP 二、2): an alert (部门信息比对), "
                 "the household's application (主动申请) or a cadre's visit (干部定期回访).")
class MonitoringCaseChannel(Enum):
    ALERT = "ALERT"
    APPLICATION = "APPLICATION"
    VISIT = "VISIT"


@strawberry.enum(description="A decision on a case's current step.")
class MonitoringCaseDecision(Enum):
    APPROVE = "APPROVE"
    RETURN = "RETURN"
    REJECT = "REJECT"


@strawberry.type(description="One thing done to a case: OPEN, RECORD (a step's record), "
                 "APPROVE, RETURN or REJECT, with who and when.")
class MonitoringCaseEntry:
    id: strawberry.ID
    step: MonitoringCaseStep
    action: str
    on: date = strawberry.field(description="The day it was done.")
    at: datetime
    actor: str
    details: JSON = strawberry.field(description="What was recorded: e.g. verifiers, "
                                     "householdRevision, determinationId, granted (VERIFICATION); "
                                     "eventIds, alertIds, window (COMPARISON); noticeStartedOn, "
                                     "noticeEndsOn, objections (VILLAGE_REVIEW); reason, "
                                     "returnTo (a decision).")


def _entry(e: EntryView) -> MonitoringCaseEntry:
    return MonitoringCaseEntry(id=strawberry.ID(str(e.id)), step=MonitoringCaseStep(e.step),
                               action=e.action, on=e.on, at=e.at, actor=e.actor,
                               details=cast(JSON, e.details))


@strawberry.type(description="An outcome of a case's attached determination that meets its "
                 "criteria (a monitoring category or risk item, or risk elimination).")
class CaseCriterion:
    code: str = strawberry.field(description="The outcome's code, e.g. "
                                 "monitoring.unstable_alleviated.")
    title_zh: strawberry.Private[str]
    title_en: strawberry.Private[str]

    @strawberry.field(description="The outcome's title in its version.")
    def title(self, lang: Lang = Lang.ZH) -> str:
        return self.title_en if lang is Lang.EN else self.title_zh


@strawberry.type(description="A monitoring case (监测对象识别): one household, one kind, the "
                 "procedure's steps in order.")
class MonitoringCase(Node):
    id: strawberry.ID

    @strawberry.field(description="Opaque global id (Node). 全局唯一标识。")
    def node_id(self) -> strawberry.ID:
        return strawberry.ID(global_id("MonitoringCase", str(self.id)))
    household_id: str
    region_code: str
    kind: MonitoringCaseKind
    channel: MonitoringCaseChannel
    status: MonitoringCaseStatus
    step: MonitoringCaseStep = strawberry.field(description="The current step (the last one "
                                                "once the case is closed).")
    alert_id: str | None
    visit_id: str | None
    application_signed_on: date | None = strawberry.field(
        description="APPLICATION: the day the household signed the application and the "
        "authorisation of asset checks.")
    note: str | None
    procedure_version: int = strawberry.field(description="The procedure version the deadlines "
                                              "come from (in force on openedOn).")
    opened_on: date
    opened_at: datetime
    opened_by: str
    due_on: date = strawberry.field(description="The whole case's due day (caseWorkingDays).")
    step_started_on: date
    step_due_on: date = strawberry.field(description="The current step's due day.")
    step_recorded: bool = strawberry.field(description="The current step has been recorded "
                                           "(needed before VERIFICATION, COMPARISON and "
                                           "VILLAGE_REVIEW are approved).")
    notice_started_on: date | None
    notice_ends_on: date | None = strawberry.field(description="The public notice's last day; "
                                                   "the village review is approved from the "
                                                   "day after.")
    objections: list[str]
    criteria_granted: list[str] = strawberry.field(
        description="Outcome codes of the attached determination that meet the kind's "
        "criteria (monitoring categories and risk items; monitoring.risk_elimination).")
    criteria_reason: str | None = strawberry.field(
        description="Why the criteria are met by facts the engine does not see, as a "
        "caseworker recorded it: shown to reviewers.")
    criteria_reason_by: str | None
    criteria_met: bool = strawberry.field(description="criteriaGranted is not empty or a "
                                          "criteriaReason is recorded: the case may reach the "
                                          "village review.")
    township_reviewer: str | None
    closed_on: date | None
    closed_by: str | None
    close_reason: str | None
    household_revision: int | None = strawberry.field(
        description="The household revision the approval wrote (monitored set or cleared).")
    revision: int = strawberry.field(description="Counts every change; pass it back as "
                                     "expectedRevision to refuse acting on a stale read.")
    determination_id: str | None
    entries: list[MonitoringCaseEntry] = strawberry.field(description="Everything done, oldest "
                                                          "first.")

    view: strawberry.Private[CaseView]

    @strawberry.field(description="Open, and the current step or the whole case is past its "
                      "due day (today).")
    def overdue(self, info: strawberry.Info) -> bool:
        return self.view.overdue(info.context.today)

    @strawberry.field(description="The household, if you may read it.")
    def household(self, info: strawberry.Info) -> Household | None:
        try:
            return info.context.app.household(  # type: ignore[no-any-return]
                info.context.principal, self.household_id)
        except ServiceError:
            return None

    @strawberry.field(description="The determination attached at home verification (under "
                      "the versions in force on that day), with its reasons.")
    def determination(self, info: strawberry.Info) -> DeterminationRecord | None:
        if self.determination_id is None:
            return None
        try:
            return info.context.app.determination_record(  # type: ignore[no-any-return]
                info.context.principal, self.determination_id)
        except ServiceError:
            return None

    @strawberry.field(description="criteriaGranted with each outcome's title, from the "
                      "versions the attached determination used. 符合认定标准的项目及名称。")
    def criteria(self, info: strawberry.Info) -> list[CaseCriterion]:
        titles: dict[str, tuple[str, str]] = {}
        if self.criteria_granted and self.determination_id is not None:
            try:
                record = info.context.app.determination_record(info.context.principal,
                                                               self.determination_id)
            except ServiceError:
                record = None
            if record is not None:
                titles = info.context.app.catalog().outcome_titles(
                    v.content_hash for v in record.versions)
        return [CaseCriterion(code=c, title_zh=zh, title_en=en)
                for c in self.criteria_granted for zh, en in [titles.get(c, (c, c))]]

    @strawberry.field(description="The department events the (latest) comparison attached, "
                      "oldest first.")
    def comparison_events(self, info: strawberry.Info) -> list[
            Annotated[Event, strawberry.lazy("graphql_api.warning")]]:
        from graphql_api.warning import _event

        ids = _compared(self.view, "eventIds")
        return [_event(e) for e in info.context.app.warning.events_by_id(ids)]

    @strawberry.field(description="The alerts the (latest) comparison attached (those you may "
                      "see).")
    def comparison_alerts(self, info: strawberry.Info) -> list[
            Annotated[Alert, strawberry.lazy("graphql_api.warning")]]:
        from graphql_api.warning import alert

        out = []
        for alert_id in _compared(self.view, "alertIds"):
            try:
                out.append(alert(info.context.app.warning.alert(info.context.principal,
                                                                alert_id)))
            except ServiceError:
                continue
        return out

    @strawberry.field(description="The alert the case was opened from.")
    def alert(self, info: strawberry.Info) -> Annotated[
            Alert, strawberry.lazy("graphql_api.warning")] | None:
        from graphql_api.warning import alert

        if self.alert_id is None:
            return None
        try:
            return alert(info.context.app.warning.alert(info.context.principal, self.alert_id))
        except ServiceError:
            return None


def _compared(v: CaseView, key: str) -> list[str]:
    records = [e for e in v.entries if e.step == "COMPARISON" and e.action == "RECORD"]
    return list(records[-1].details.get(key, [])) if records else []


def monitoring_case(v: CaseView) -> MonitoringCase:
    return MonitoringCase(
        id=strawberry.ID(v.id), household_id=v.household_id, region_code=v.region_code,
        kind=MonitoringCaseKind(v.kind), channel=MonitoringCaseChannel(v.channel),
        status=MonitoringCaseStatus(v.status), step=MonitoringCaseStep(v.step),
        alert_id=v.alert_id, visit_id=v.visit_id,
        application_signed_on=v.application_signed_on, note=v.note,
        procedure_version=v.procedure_version, opened_on=v.opened_on, opened_at=v.opened_at,
        opened_by=v.opened_by, due_on=v.due_on, step_started_on=v.step_started_on,
        step_due_on=v.step_due_on, step_recorded=v.step_recorded,
        notice_started_on=v.notice_started_on, notice_ends_on=v.notice_ends_on,
        objections=list(v.objections), criteria_granted=list(v.criteria_granted),
        criteria_reason=v.criteria_reason, criteria_reason_by=v.criteria_reason_by,
        criteria_met=v.criteria_met, township_reviewer=v.township_reviewer,
        closed_on=v.closed_on, closed_by=v.closed_by, close_reason=v.close_reason,
        household_revision=v.household_revision, revision=v.revision,
        determination_id=v.determination_id, entries=[_entry(e) for e in v.entries], view=v)


@strawberry.type
class MonitoringCaseEdge:
    cursor: str
    node: MonitoringCase


@strawberry.type
class MonitoringCaseConnection:
    edges: list[MonitoringCaseEdge]
    page_info: PageInfo
    total_count: int


@strawberry.input
class MonitoringCaseFilter:
    region_codes: list[str] | None = strawberry.field(default=None, description="Cases of "
                                                      "these regions (and the villages below) "
                                                      "among yours.")
    status: MonitoringCaseStatus | None = None
    kind: MonitoringCaseKind | None = None
    step: MonitoringCaseStep | None = strawberry.field(default=None, description="Cases at "
                                                       "this step (a review queue).")
    overdue: bool | None = strawberry.field(default=None, description="true: only open cases "
                                            "past a due day; false: only the others.")
    household_id: str | None = None


@strawberry.type(description="Overdue open cases of one township or county.")
class MonitoringCaseOverdueCount:
    level: str = strawberry.field(description="TOWNSHIP or COUNTY")
    region_code: str
    count: int


@strawberry.input(description="What was done at a step. VERIFICATION: verifiers (two "
                  "cadres) and the household's facts as verified (optional: unchanged facts "
                  "are evaluated as stored); VILLAGE_REVIEW: noticeStartedOn and objections; "
                  "criteriaReason at VERIFICATION or COMPARISON.")
class MonitoringCaseStepInput:
    household: HouseholdJSON | None = strawberry.field(default=None,
                                                      graphql_type=HouseholdInput | None)
    verifiers: list[str] | None = None
    note: str | None = None
    notice_started_on: date | None = None
    objections: list[str] | None = None
    criteria_reason: str | None = None


@strawberry.input
class MonitoringCaseOpenInput:
    household_id: str
    kind: MonitoringCaseKind
    channel: MonitoringCaseChannel
    alert_id: str | None = None
    visit_id: str | None = None
    application_signed_on: date | None = strawberry.field(
        default=None, description="APPLICATION: the day the household signed (required).")
    note: str | None = None


@strawberry.type
class MonitoringCaseOpenPayload:
    monitoring_case: MonitoringCase | None
    user_errors: list[UserError]


@strawberry.type
class MonitoringCaseRecordStepPayload:
    monitoring_case: MonitoringCase | None
    user_errors: list[UserError]


@strawberry.type
class MonitoringCaseDecidePayload:
    monitoring_case: MonitoringCase | None
    user_errors: list[UserError]


@strawberry.type(description="A period of the identification procedure, with its citation.")
class ProcedurePeriod:
    name: str = strawberry.field(description="e.g. noticeCalendarDays")
    value: int = strawberry.field(description="The number of days.")
    unit: str = strawberry.field(description="working days or calendar days")
    sample: bool = strawberry.field(description="A sample value fixed by this project, not a "
                                    "published figure.")
    citation: Citation = strawberry.field(description="Where the period comes from.")
    description_zh: strawberry.Private[str]
    description_en: strawberry.Private[str]

    @strawberry.field(description="What the period bounds.")
    def description(self, lang: Lang = Lang.ZH) -> str:
        return self.description_en if lang is Lang.EN else self.description_zh


@strawberry.type(description="The identification procedure's version in force on a day: the "
                 "deadlines cases opened that day run against.")
class MonitoringProcedure:
    version: int = strawberry.field(description="The procedure document's version number.")
    effective_from: date = strawberry.field(description="The first day it is in force.")
    content_hash: str = strawberry.field(description="sha256 of the document; a case records "
                                         "the hash of the version it runs under.")
    periods: list[ProcedurePeriod] = strawberry.field(description="Its periods, by name.")


@strawberry.type
class CasesQuery:
    @strawberry.field(description="The procedure version in force on asOf (its deadlines, "
                      "cited), if any.")
    def monitoring_procedure(
            self, info: strawberry.Info,
            as_of: Annotated[date, strawberry.argument(
                description="The day a case opens.")]) -> MonitoringProcedure | None:
        from policy.procedure import procedure_in_force

        ctx = info.context
        call(lambda: ctx.app.policy.read_rule_sets(ctx.principal))  # public as rule sets are
        found = procedure_in_force(ctx.app.cases.procedures, as_of)
        if found is None:
            return None
        periods = []
        for name, period in sorted(found.document.parameters.items()):
            c = period.citation
            periods.append(ProcedurePeriod(
                name=name, value=period.value, unit=period.unit, sample=period.sample,
                citation=Citation(document=c.document, clause=c.clause, quote=c.quote,
                                  url=c.url),
                description_zh=period.description.zh if period.description else name,
                description_en=period.description.en if period.description else name))
        return MonitoringProcedure(version=found.version, effective_from=found.effective_from,
                                   content_hash=found.content_hash, periods=periods)

    @strawberry.field(description="Monitoring cases you may see, newest first, a page at a "
                      "time (a Relay connection): first/after forwards, last/before "
                      "backwards; first or last is required (1 to 100). 监测案件（分页）。")
    def monitoring_cases(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
        filter: MonitoringCaseFilter | None = None,
        last: Annotated[int | None, strawberry.argument(
            description="How many items from the end (1 to 100).")] = None,
        before: Annotated[str | None, strawberry.argument(
            description="Only items before this cursor (an edge's cursor or "
            "pageInfo.startCursor).")] = None,
    ) -> MonitoringCaseConnection:
        ctx = info.context
        f = filter or MonitoringCaseFilter()
        page, total = call(lambda: ctx.app.cases.cases_window(
            ctx.principal, ctx.today, first=first, after=after, last=last, before=before,
            region_codes=f.region_codes, status=f.status.value if f.status else None,
            kind=f.kind.value if f.kind else None, step=f.step.value if f.step else None,
            overdue=f.overdue, household_id=f.household_id))
        return MonitoringCaseConnection(
            edges=[MonitoringCaseEdge(cursor=encode_cursor(c.opened_at.isoformat(), c.id),
                                      node=monitoring_case(c)) for c in page.items],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor,
                               has_previous_page=page.has_previous_page,
                               start_cursor=page.start_cursor),
            total_count=total)

    @strawberry.field(description="A monitoring case, if it exists and you may see it.")
    def monitoring_case(self, info: strawberry.Info, id: strawberry.ID) -> MonitoringCase | None:
        ctx = info.context
        try:
            return monitoring_case(ctx.app.cases.case(ctx.principal, str(id)))
        except ServiceError as exc:
            if exc.code == "NOT_FOUND":
                return None
            raise service_error(exc) from None

    @strawberry.field(description="Overdue open cases you may see, counted per township and "
                      "per county (of these regions).")
    def monitoring_case_overdue_counts(
            self, info: strawberry.Info,
            region_codes: list[str] | None = None) -> list[MonitoringCaseOverdueCount]:
        ctx = info.context
        _, groups = call(lambda: ctx.app.cases.overdue(ctx.principal, ctx.today, region_codes,
                                                       limit=1))
        return [MonitoringCaseOverdueCount(level=g.level, region_code=g.region_code,
                                           count=g.count) for g in groups]


@strawberry.type
class CasesMutation:
    @strawberry.mutation(description="Open a monitoring case for a household of your region "
                         "(caseworkers): from an alert, an application or a visit. One open "
                         "case of a kind per household.")
    def monitoring_case_open(self, info: strawberry.Info,
                             input: MonitoringCaseOpenInput) -> MonitoringCaseOpenPayload:
        ctx = info.context
        try:
            v = ctx.app.cases.open(ctx.principal, input.household_id, input.kind.value,
                                   input.channel.value, ctx.today, alert_id=input.alert_id,
                                   visit_id=input.visit_id,
                                   application_signed_on=input.application_signed_on,
                                   note=input.note)
        except ServiceError as exc:
            return MonitoringCaseOpenPayload(monitoring_case=None, user_errors=user_errors(exc))
        return MonitoringCaseOpenPayload(monitoring_case=monitoring_case(v), user_errors=[])

    @strawberry.mutation(description="Record what was done at the case's current step (who and "
                         "when are the caller and today). VERIFICATION saves the verified facts "
                         "as a household revision and attaches the determination.")
    def monitoring_case_record_step(
            self, info: strawberry.Info, id: strawberry.ID, step: MonitoringCaseStep,
            record: MonitoringCaseStepInput,
            expected_revision: int | None = None) -> MonitoringCaseRecordStepPayload:
        ctx = info.context
        try:
            v = ctx.app.cases.record_step(
                ctx.principal, str(id), step.value, ctx.today,
                household=record.household,  # household JSON (graphql_api.inputs)
                verifiers=record.verifiers, note=record.note,
                notice_started_on=record.notice_started_on, objections=record.objections,
                criteria_reason=record.criteria_reason, expected_revision=expected_revision)
        except ServiceError as exc:
            return MonitoringCaseRecordStepPayload(monitoring_case=None,
                                                   user_errors=user_errors(exc))
        return MonitoringCaseRecordStepPayload(monitoring_case=monitoring_case(v),
                                               user_errors=[])

    @strawberry.mutation(description="Decide the case's current step: APPROVE (on to the next "
                         "step; at COUNTY_APPROVAL the case closes and monitored is set or "
                         "cleared), RETURN (with a reason, to returnTo or the step before) or "
                         "REJECT (with a reason). The county approval is by another person "
                         "than the township reviewer.")
    def monitoring_case_decide(
            self, info: strawberry.Info, id: strawberry.ID, decision: MonitoringCaseDecision,
            reason: str | None = None, return_to: MonitoringCaseStep | None = None,
            expected_revision: int | None = None) -> MonitoringCaseDecidePayload:
        ctx = info.context
        try:
            v = ctx.app.cases.decide(ctx.principal, str(id), decision.value, ctx.today,
                                     reason=reason,
                                     return_to=return_to.value if return_to else None,
                                     expected_revision=expected_revision)
        except ServiceError as exc:
            return MonitoringCaseDecidePayload(monitoring_case=None,
                                               user_errors=user_errors(exc))
        return MonitoringCaseDecidePayload(monitoring_case=monitoring_case(v), user_errors=[])


def household_cases(info: strawberry.Info, household_id: str) -> list[MonitoringCase]:
    """``Household.monitoringCases``: the household's cases the caller may see."""
    ctx = info.context
    try:
        ctx.app.policy.read_cases(ctx.principal)
    except ServiceError:
        return []
    return [monitoring_case(c)
            for c in ctx.app.cases.household_cases(ctx.principal, household_id)]


# --- visits, the timeline, assistance -----------------------------------------------------------


@strawberry.type(description="A cadre's regular visit (干部定期回访): what was seen, the facts it "
                 "changed.")
class Visit:
    id: strawberry.ID
    household_id: str
    region_code: str
    visited_on: date
    observations: str
    facts_changed: list[str] = strawberry.field(description="Fact paths the visit changed "
                                                "(members: a member added or removed).")
    household_revision: int | None = strawberry.field(description="The revision the changed "
                                                      "facts were saved as (null: none).")
    recorded_by: str
    recorded_at: datetime


def _visit(v: VisitView) -> Visit:
    return Visit(id=strawberry.ID(v.id), household_id=v.household_id, region_code=v.region_code,
                 visited_on=v.visited_on, observations=v.observations,
                 facts_changed=list(v.facts_changed), household_revision=v.household_revision,
                 recorded_by=v.recorded_by, recorded_at=v.recorded_at)


@strawberry.input
class VisitInput:
    household_id: str
    visited_on: date
    observations: str = strawberry.field(description="What was seen: income, health, housing, "
                                         "schooling, drinking water.")
    household: HouseholdJSON | None = strawberry.field(
        default=None, description="The household's facts as found (whole), saved as a new "
        "revision if they changed.", graphql_type=HouseholdInput | None)
    open_case: MonitoringCaseKind | None = strawberry.field(
        default=None, description="Open a case of this kind from the visit.")


@strawberry.type
class VisitRecordPayload:
    visit: Visit | None
    monitoring_case: MonitoringCase | None
    user_errors: list[UserError]


@strawberry.enum(description="What a timeline entry is.")
class TimelineKind(Enum):
    VISIT = "VISIT"
    REVISION = "REVISION"
    DETERMINATION = "DETERMINATION"
    ALERT = "ALERT"
    CASE = "CASE"


@strawberry.type(description="One event of a household's history.")
class TimelineEntry:
    at: datetime
    on: date
    kind: TimelineKind
    ref: str = strawberry.field(description="The object's id: a visit, determination record, "
                                "alert or case; a revision is householdId@revision.")
    actor: str | None
    detail: JSON = strawberry.field(description="VISIT: factsChanged, householdRevision; "
                                    "REVISION: revision, factsChanged; DETERMINATION: asOf, "
                                    "householdRevision, granted; ALERT: rule, status; CASE: "
                                    "kind, step, action.")

    view: strawberry.Private[TimelineView]

    @strawberry.field
    def title(self, lang: Lang = Lang.ZH) -> str:
        return self.view.title("EN" if lang is Lang.EN else "ZH")


def _timeline(t: TimelineView) -> TimelineEntry:
    return TimelineEntry(at=t.at, on=t.on, kind=TimelineKind(t.kind), ref=t.ref, actor=t.actor,
                         detail=cast(JSON, t.detail), view=t)


@strawberry.type(description="A measure (帮扶措施) against a risk: a granted benefit (source "
                 "BENEFIT) or one recorded by hand (RECORDED).")
class AssistanceMeasure:
    source: str
    code: str | None = strawberry.field(description="BENEFIT: the outcome code.")
    member_id: str | None
    started_on: date | None
    recorded_by: str | None
    note: str | None
    id: str | None = strawberry.field(description="RECORDED: the measure's id.")

    view: strawberry.Private[Measure]

    @strawberry.field
    def title(self, lang: Lang = Lang.ZH) -> str:
        return self.view.title_en if lang is Lang.EN else self.view.title_zh


def _measure(m: Measure) -> AssistanceMeasure:
    return AssistanceMeasure(source=m.source, code=m.code, member_id=m.member_id,
                             started_on=m.started_on, recorded_by=m.recorded_by, note=m.note,
                             id=m.id, view=m)


@strawberry.type(description="A risk of a monitoring object (a monitoring category or risk "
                 "item its latest determination grants) and the measures against it.")
class AssistanceRisk:
    code: str
    measures: list[AssistanceMeasure]
    covered: bool = strawberry.field(description="false: no measure against this risk "
                                     "(flagged).")
    title_zh: strawberry.Private[str]
    title_en: strawberry.Private[str]

    @strawberry.field
    def title(self, lang: Lang = Lang.ZH) -> str:
        return self.title_en if lang is Lang.EN else self.title_zh


@strawberry.type(description="A monitoring object's risks with their measures.")
class Assistance:
    household_id: str
    determination_id: str | None = strawberry.field(description="The latest recorded "
                                                    "determination the risks come from.")
    as_of: date | None
    risks: list[AssistanceRisk]
    uncovered_risks: list[str] = strawberry.field(description="Codes of the risks without a "
                                                  "measure.")


def assistance(a: AssistanceView) -> Assistance:
    return Assistance(
        household_id=a.household_id, determination_id=a.determination_id, as_of=a.as_of,
        risks=[AssistanceRisk(code=r.code, measures=[_measure(m) for m in r.measures],
                              covered=r.covered, title_zh=r.title_zh, title_en=r.title_en)
               for r in a.risks],
        uncovered_risks=list(a.uncovered))


@strawberry.input
class AssistanceMeasureInput:
    household_id: str
    risk: str = strawberry.field(description="The risk's outcome code, e.g. "
                                 "monitoring.unstable_alleviated.")
    measure: str = strawberry.field(description="e.g. 公益性岗位安置")
    started_on: date
    note: str | None = None


@strawberry.type
class AssistanceMeasureRecordPayload:
    measure: AssistanceMeasure | None
    user_errors: list[UserError]


@strawberry.type
class VisitsMutation:
    @strawberry.mutation(description="Record a visit to a household of your region "
                         "(caseworkers); the facts found become a revision, and openCase opens "
                         "a case from the visit.")
    def visit_record(self, info: strawberry.Info, input: VisitInput) -> VisitRecordPayload:
        ctx = info.context
        try:
            v, case = ctx.app.visits.record(
                ctx.principal, input.household_id, input.visited_on, input.observations,
                ctx.today,
                household=input.household,  # household JSON (graphql_api.inputs)
                open_case=input.open_case.value if input.open_case else None)
        except ServiceError as exc:
            return VisitRecordPayload(visit=None, monitoring_case=None,
                                      user_errors=user_errors(exc))
        return VisitRecordPayload(visit=_visit(v), monitoring_case=monitoring_case(case)
                                  if case is not None else None, user_errors=[])

    @strawberry.mutation(description="Record a measure (帮扶措施, e.g. 公益性岗位安置) against one "
                         "of a monitored household's risks (caseworkers of its region).")
    def assistance_measure_record(
            self, info: strawberry.Info,
            input: AssistanceMeasureInput) -> AssistanceMeasureRecordPayload:
        ctx = info.context
        try:
            m = ctx.app.assistance.record(ctx.principal, input.household_id, input.risk,
                                          input.measure, input.started_on, ctx.today,
                                          note=input.note)
        except ServiceError as exc:
            return AssistanceMeasureRecordPayload(measure=None, user_errors=user_errors(exc))
        return AssistanceMeasureRecordPayload(measure=_measure(m), user_errors=[])


def household_timeline(info: strawberry.Info, household_id: str) -> list[TimelineEntry]:
    ctx = info.context
    return [_timeline(t) for t in call(lambda: ctx.app.visits.timeline(ctx.principal,
                                                                       household_id))]


def household_visits(info: strawberry.Info, household_id: str) -> list[Visit]:
    ctx = info.context
    return [_visit(v) for v in call(lambda: ctx.app.visits.of_household(ctx.principal,
                                                                         household_id))]


def household_assistance(info: strawberry.Info, household_id: str) -> Assistance | None:
    ctx = info.context
    found = call(lambda: ctx.app.assistance.of_household(ctx.principal, household_id,
                                                         ctx.today))
    return assistance(found) if found is not None else None
