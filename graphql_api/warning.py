"""Early warning over GraphQL: ``eventsIngest``, ``alerts`` (a connection), ``alert``,
``alertCounts``, ``alertResolve`` and the subscription ``alertRaised`` (graphql-transport-ws)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Mapping
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, cast

import anyio.to_thread
import strawberry
from strawberry.types.arguments import InputContext

from graphql_api.errors import (
    CODE_DEPRECATED,
    ERROR_CODE,
    ErrorCode,
    UserError,
    call,
    error_code,
    service_error,
    user_errors,
)
from graphql_api.messages import message
from graphql_api.node import Node, global_id
from graphql_api.observability import principal_id
from graphql_api.types import (
    Determination,
    Household,
    Lang,
    PageInfo,
    Reason,
    wrap_determination,
)
from services.application import Tokens
from services.auth import INVALID_ROLE, Principal, in_region
from services.early_warning import AlertView, EventView, visible
from services.errors import InvalidInput, ServiceError

if TYPE_CHECKING:
    from graphql_api.cases import MonitoringCase


@strawberry.enum(description="An alert's state: OPEN -> VERIFIED (核实) -> INCLUDED (纳入监测), "
                 "or DISMISSED (with a note).")
class AlertStatus(Enum):
    OPEN = "OPEN"
    VERIFIED = "VERIFIED"
    INCLUDED = "INCLUDED"
    DISMISSED = "DISMISSED"


@strawberry.enum(description="What a caseworker decides about an alert.")
class AlertResolution(Enum):
    VERIFIED = "VERIFIED"
    INCLUDED = "INCLUDED"
    DISMISSED = "DISMISSED"


@strawberry.enum(description="What a department event reports.")
class EventKind(Enum):
    INPATIENT_COST = "INPATIENT_COST"
    DIBAO_GRANTED = "DIBAO_GRANTED"
    TEMPORARY_RELIEF_GRANTED = "TEMPORARY_RELIEF_GRANTED"
    DISABILITY_CERTIFIED = "DISABILITY_CERTIFIED"
    SCHOOL_DROPOUT = "SCHOOL_DROPOUT"
    HOUSING_REGRADED = "HOUSING_REGRADED"
    INCOME_REPORTED = "INCOME_REPORTED"


@strawberry.input(description="A department's event about a household (or one member).")
class EventInput:
    source: str = strawberry.field(description="The department: 民政, 医保, 残联, 教育, 住建, "
                                   "应急 or 扶贫.")
    event_id: str = strawberry.field(description="The sender's id; (source, eventId) is the "
                                     "idempotency key.")
    kind: EventKind
    household_id: str
    member_id: str | None = None
    occurred_on: date
    amount: float | None = strawberry.field(default=None, description="Yuan, to the cent.")
    value: str | None = strawberry.field(
        default=None, description="A grade (DISABILITY_CERTIFIED: 1-4), a housing grade "
        "(HOUSING_REGRADED: A-D) or a school stage, as text.")


def _event_input(cls: type[EventInput], value: Mapping[str, Any], _: InputContext) -> EventInput:
    # Built straight from the input value that graphql-core checked and coerced (a call
    # holds up to 1,000 events; the generic conversion looks up each field's type and name
    # again for every one of them).
    kind = value["kind"]
    return cls(source=value["source"], event_id=value["eventId"],
               kind=kind if isinstance(kind, EventKind) else EventKind(kind),
               household_id=value["householdId"], member_id=value.get("memberId"),
               occurred_on=value["occurredOn"], amount=value.get("amount"),
               value=value.get("value"))


EventInput.__strawberry_definition__.from_input = _event_input  # type: ignore[attr-defined]


@strawberry.type
class Event:
    id: strawberry.ID
    source: str
    event_id: str
    kind: str = strawberry.field(deprecation_reason=(
        "Use eventKind, the same kind as an EventKind value (kind stays while clients move: "
        "add, deprecate, then remove). 请改用 eventKind。"))
    household_id: str
    member_id: str | None
    occurred_on: date
    amount: float | None
    value: str | None
    received_at: datetime
    correlated_at: datetime | None

    @strawberry.field(description="What happened, as an EventKind value. 事件类别。")
    def event_kind(self) -> EventKind:
        return EventKind(self.kind)


def _event(e: EventView) -> Event:
    return Event(id=strawberry.ID(e.id), source=e.source, event_id=e.event_id, kind=e.kind,
                 household_id=e.household_id, member_id=e.member_id,
                 occurred_on=e.occurred_on,
                 amount=float(e.amount) if e.amount is not None else None, value=e.value,
                 received_at=e.received_at, correlated_at=e.correlated_at)


@strawberry.type
class SuggestedFact:
    fact: str = strawberry.field(description="A path into the household JSON, e.g. dibao or "
                                 "members[1].disabilityGrade.")
    value: str = strawberry.field(description="The suggested value as JSON text, e.g. true.")


def _alert_reasons(root: Alert) -> list[Reason]:
    # Read from the stored explanation only when asked for (an ingest returns many alerts).
    return list(root.view.reasons)  # type: ignore[arg-type]


@strawberry.type(description="An early-warning alert (预警): a rule of the early_warning rule "
                 "set raised by department events, with its explanation.")
class Alert(Node):
    id: strawberry.ID

    @strawberry.field(description="Opaque global id (Node). 全局唯一标识。")
    def node_id(self) -> strawberry.ID:
        return strawberry.ID(global_id("Alert", str(self.id)))
    rule: str = strawberry.field(description="e.g. alert.large_medical_expense")
    cause: str = strawberry.field(description="What makes repeats the same alert, e.g. the "
                                  "year or the member.")
    status: AlertStatus
    household_id: str
    region_code: str
    member_id: str | None
    reasons: list[Reason] = strawberry.field(resolver=_alert_reasons)
    suggested_facts: list[SuggestedFact]
    raised_at: datetime
    updated_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_note: str | None
    rule_set_version_id: str | None

    view: strawberry.Private[AlertView]

    @strawberry.field
    def title(self, lang: Lang = Lang.ZH) -> str:
        return self.view.title("EN" if lang is Lang.EN else "ZH")

    @strawberry.field(description="The household, if you may read stored households.")
    def household(self, info: strawberry.Info) -> Household | None:
        try:
            return info.context.app.household(  # type: ignore[no-any-return]
                info.context.principal, self.household_id)
        except ServiceError:
            return None

    @strawberry.field(description="The events that raised it, oldest first.")
    def events(self, info: strawberry.Info) -> list[Event]:
        return [_event(e) for e in info.context.app.warning.events_of(self.view)]

    @strawberry.field(description="The household's stored facts with the suggested facts "
                      "applied, evaluated under the versions in force on asOf (nothing is "
                      "stored): what including it would change.")
    def reevaluation(self, info: strawberry.Info, as_of: date) -> Determination | None:

        ctx = info.context
        try:
            det = ctx.app.warning.reevaluate(ctx.principal, self.view, as_of)
        except ServiceError as exc:
            raise service_error(exc) from None
        return cast("Determination | None", wrap_determination(det))


def alert(v: AlertView) -> Alert:
    return Alert(
        id=strawberry.ID(v.id), rule=v.rule, cause=v.cause, status=AlertStatus(v.status),
        household_id=v.household_id, region_code=v.region_code, member_id=v.member_id,
        suggested_facts=[SuggestedFact(fact=f.fact, value=f.value) for f in v.suggested_facts],
        raised_at=v.raised_at, updated_at=v.updated_at, resolved_by=v.resolved_by,
        resolved_at=v.resolved_at, resolution_note=v.resolution_note,
        rule_set_version_id=v.version_id, view=v)


@strawberry.type
class AlertEdge:
    cursor: str
    node: Alert


@strawberry.type
class AlertConnection:
    edges: list[AlertEdge]
    page_info: PageInfo
    total_count: int


@strawberry.input
class AlertFilter:
    status: AlertStatus | None = None
    region_codes: list[str] | None = None
    rule: str | None = None
    since: datetime | None = strawberry.field(default=None,
                                              description="Raised at or after this time.")


@strawberry.type
class Count:
    key: str
    count: int


@strawberry.type(description="How many alerts you may see, by status and by rule.")
class AlertCounts:
    total: int
    by_status: list[Count]
    by_rule: list[Count]


@strawberry.type
class RejectedEvent:
    index: int = strawberry.field(description="The event's position in the call's list.")
    field: str
    code: str = strawberry.field(deprecation_reason=CODE_DEPRECATED)
    message: str

    @strawberry.field(graphql_type=ErrorCode, description=ERROR_CODE)
    def error_code(self) -> Any:
        return error_code(self.code)


@strawberry.type
class EventsIngestPayload:
    accepted: int = strawberry.field(description="Events stored by this call.")
    duplicates: int = strawberry.field(description="Events already stored (same source, "
                                       "eventId and content): nothing new.")
    rejected: list[RejectedEvent]
    unknown_households: list[str] = strawberry.field(
        description="Households of accepted events the store does not know (UNKNOWN_HOUSEHOLD): "
        "their events are kept and correlated when the household is saved.")
    alerts: list[Alert] = strawberry.field(description="Alerts raised or updated (yours to "
                                           "see).")
    user_errors: list[UserError]


@strawberry.type
class AlertResolvePayload:
    alert: Alert | None
    monitoring_case: Annotated[MonitoringCase, strawberry.lazy("graphql_api.cases")] | None = \
        strawberry.field(default=None, description="INCLUDED: the household's open INCLUSION "
                         "case (opened from this alert, or the one already open).")
    user_errors: list[UserError]


def _user_errors(exc: ServiceError) -> list[UserError]:

    return user_errors(exc)


def _json_event(e: EventInput) -> dict[str, Any]:
    return {"source": e.source, "eventId": e.event_id, "kind": e.kind.value,
            "householdId": e.household_id, "memberId": e.member_id,
            "occurredOn": e.occurred_on, "amount": e.amount, "value": e.value}


@strawberry.type
class WarningQuery:
    @strawberry.field(description="Alerts you may see, newest first, a page at a time (a Relay "
                      "connection): first/after forwards, last/before backwards; first or last "
                      "is required (1 to 100). 预警（分页）。")
    def alerts(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
        filter: AlertFilter | None = None,
        last: Annotated[int | None, strawberry.argument(
            description="How many items from the end (1 to 100).")] = None,
        before: Annotated[str | None, strawberry.argument(
            description="Only items before this cursor (an edge's cursor or "
            "pageInfo.startCursor).")] = None,
    ) -> AlertConnection:

        ctx = info.context
        f = filter or AlertFilter()
        page, total = call(lambda: ctx.app.warning.alerts_window(
            ctx.principal, first=first, after=after, last=last, before=before,
            status=f.status.value if f.status else None, region_codes=f.region_codes,
            rule=f.rule, since=f.since))
        from store.pagination import encode_cursor

        edges = [AlertEdge(cursor=encode_cursor(a.raised_at.isoformat(), a.id), node=alert(a))
                 for a in page.items]
        return AlertConnection(
            edges=edges, page_info=PageInfo(has_next_page=page.has_next_page,
                                            end_cursor=page.end_cursor,
                                            has_previous_page=page.has_previous_page,
                                            start_cursor=page.start_cursor),
            total_count=total)

    @strawberry.field(description="An alert, if it exists and you may see it.")
    def alert(self, info: strawberry.Info, id: strawberry.ID) -> Alert | None:

        ctx = info.context
        try:
            return alert(ctx.app.warning.alert(ctx.principal, str(id)))
        except ServiceError as exc:
            if exc.code == "NOT_FOUND":
                return None
            raise service_error(exc) from None

    @strawberry.field(description="Counts of the alerts you may see (of these regions), by "
                      "status and by rule: a console's inbox.")
    def alert_counts(self, info: strawberry.Info,
                     region_codes: list[str] | None = None) -> AlertCounts:

        ctx = info.context
        c = call(lambda: ctx.app.warning.counts(ctx.principal, region_codes))
        return AlertCounts(
            total=c.total,
            by_status=[Count(key=k, count=n) for k, n in sorted(c.by_status.items())],
            by_rule=[Count(key=k, count=n) for k, n in sorted(c.by_rule.items())])


@strawberry.type
class WarningMutation:
    @strawberry.mutation(description="Store department events (at most 1,000 a call; "
                         "idempotent by source and eventId) and correlate the households they "
                         "touch. Invalid events are rejected one by one; the valid ones are "
                         "stored.")
    def events_ingest(self, info: strawberry.Info,
                      events: list[EventInput]) -> EventsIngestPayload:
        # Operations run in the server's worker threads (graphql_api.app), so correlating a
        # thousand events does not hold up the event loop that pushes alerts to subscribers.
        ctx = info.context
        data = [_json_event(e) for e in events]
        try:
            report = ctx.app.warning.ingest(ctx.principal, data, ctx.today)
        except ServiceError as exc:
            return EventsIngestPayload(accepted=0, duplicates=0, rejected=[],
                                       unknown_households=[], alerts=[],
                                       user_errors=_user_errors(exc))
        return EventsIngestPayload(
            accepted=report.accepted, duplicates=report.duplicates,
            rejected=[RejectedEvent(index=r.index, field=r.field, code=r.code,
                                    message=message(r.code, r.message)) for r in report.rejected],
            unknown_households=list(report.unknown_households),
            alerts=[alert(a) for a in report.alerts], user_errors=[])

    @strawberry.mutation(description="Verify (核实), include in monitoring (纳入监测: opens an "
                         "INCLUSION monitoring case from the alert; monitored is set when the "
                         "county approves it) or dismiss an alert (a note is required). "
                         "Caseworkers of the household's region only.")
    def alert_resolve(self, info: strawberry.Info, id: strawberry.ID,
                      resolution: AlertResolution,
                      note: str | None = None) -> AlertResolvePayload:
        ctx = info.context
        try:
            done = ctx.app.warning.resolve(ctx.principal, str(id), resolution.value, note,
                                           ctx.today)
        except ServiceError as exc:
            return AlertResolvePayload(alert=None, user_errors=_user_errors(exc))
        case = None
        if resolution is AlertResolution.INCLUDED:
            from graphql_api.cases import monitoring_case

            found = ctx.app.cases.open_case_of(ctx.principal, done.household_id, "INCLUSION")
            case = monitoring_case(found) if found is not None else None
        return AlertResolvePayload(alert=alert(done), monitoring_case=case, user_errors=[])


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Alerts raised from now on in your regions (or those "
                             "of regionCodes among them), over graphql-transport-ws.")
    async def alert_raised(self, info: strawberry.Info,
                           region_codes: list[str] | None = None) -> AsyncGenerator[Alert, None]:

        ctx = info.context
        principal = await _subscriber(ctx)
        try:
            ctx.app.policy.read_alerts(principal)
        except ServiceError as exc:
            raise service_error(exc) from None
        if region_codes is not None and not region_codes:
            msg = "regionCodes, when given, names at least one region"
            raise service_error(InvalidInput(msg))
        queue: asyncio.Queue[AlertView] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def listener(a: AlertView) -> None:
            if visible(principal, a.region_code) and (
                    region_codes is None or in_region(a.region_code, region_codes)):
                loop.call_soon_threadsafe(queue.put_nowait, a)

        token = ctx.app.warning.listeners.add(listener)
        try:
            while True:
                yield alert(await queue.get())
        finally:
            ctx.app.warning.listeners.remove(token)


async def _subscriber(ctx: Any) -> Principal:
    """Who subscribes: the bearer token sent with the websocket handshake (HTTP operations
    resolve it in the server's worker threads; a subscription is served by the event loop, so
    the lookup runs in a thread here). The connection's log line names them by token id."""
    principal: Principal = ctx.principal
    if principal.anonymous and ctx.authorization:
        scheme, _, token = ctx.authorization.partition(" ")
        found = None
        if scheme.lower() == "bearer" and token.strip():
            found = await anyio.to_thread.run_sync(
                lambda: Tokens(ctx.app).principal(token.strip(), time.monotonic()))
        principal = found if found is not None else Principal(name="invalid-token",
                                                              role=INVALID_ROLE)
    if isinstance(getattr(ctx, "log", None), dict):
        ctx.log["principal"] = principal_id(principal)
    return principal


def household_alerts(info: strawberry.Info, household_id: str) -> list[Alert]:
    """``Household.alerts``: the household's alerts the caller may see, newest first."""
    ctx = info.context
    try:
        items, _, _, _ = ctx.app.warning.alerts(ctx.principal, 100, household_id=household_id)
    except ServiceError:
        return []
    return [alert(a) for a in items]
