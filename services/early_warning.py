"""Early warning (预警监测): ingest department events, correlate them with stored households
under the ``early_warning`` rule set, and let caseworkers act on the alerts.

    ingest      validate each event on its own; store the valid ones idempotently by (source,
                eventId) in one transaction; then correlate the households they touch
    correlate   per household: its stored facts and its events (the window back from the
                earliest new event) evaluated event by event (engine.warning); alerts
                upserted by (household, rule, cause) in one transaction that also marks the
                events correlated and queues webhook deliveries
    recover     events stored but not correlated (a crash in between, or a household saved
                after its events arrived) are correlated on start and by ``events
                recorrelate``

Alerts never leave the caller's regions; api_clients and auditors read them, only a caseworker
of the household's region resolves one.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from engine.results import Citation, ConditionCheck, ConditionNode, Determination, Reason
from engine.tree import Ready
from engine.warning import RaisedAlert, evaluate_event, window_days
from policy.errors import FactsInvalid, FieldError
from policy.events import (
    DEFAULT_WINDOW_DAYS,
    WINDOW_KINDS,
    DepartmentEvent,
    from_stored,
    parse_event,
)
from policy.facts import Household
from services.auth import REGIONAL_ROLES, Principal, in_region
from services.errors import Conflict, InvalidInput, NotFoundError
from store.errors import ConflictError, InvalidCursor
from store.models import Alert, AlertStatus, CaseChannel, CaseKind, Event
from store.pagination import Page
from store.repositories import AlertRow, AlertUpsert, EventRow
from store.uow import UnitOfWork

if TYPE_CHECKING:
    from services.application import Application

PROGRAM = "early_warning"
MAX_EVENTS_PER_CALL = 1000
CORRELATION_CHUNK = 500  # households per correlation transaction
SYSTEM_ACTOR = "system:early-warning"


@dataclass(frozen=True)
class Rejected:
    index: int
    field: str
    code: str
    message: str


@dataclass(frozen=True)
class SuggestedFact:
    fact: str
    value: str  # JSON text, e.g. "true", "1", "\"D\""


@dataclass(frozen=True)
class AlertView:
    """An alert as the API and the CLI show it."""

    id: str
    rule: str
    cause: str
    status: str
    household_id: str
    region_code: str
    member_id: str | None
    title_zh: str
    title_en: str
    suggested_facts: tuple[SuggestedFact, ...]
    event_ids: tuple[str, ...]
    version_id: str | None
    raised_at: datetime
    updated_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_note: str | None
    # The stored explanation's reasons (JSON), read into ``reasons`` when asked for: an
    # ingest returns thousands of alerts, most shown by id only.
    explained: Sequence[Mapping[str, Any]] = field(default=(), repr=False, compare=False)

    def title(self, lang: str = "ZH") -> str:
        return self.title_en if lang.upper() == "EN" else self.title_zh

    @cached_property
    def reasons(self) -> tuple[Reason, ...]:
        """Why it was raised: its rule's reason with conditions, tree and citation."""
        return tuple(
            Reason(r["ruleId"], r.get("textZh", ""), r.get("textEn", ""),
                   Citation(**r["citation"]),
                   tuple(ConditionCheck(c["expression"], c["actual"], c["expected"],
                                        c["passed"]) for c in r["conditions"]),
                   Ready(_node_from(r["tree"])))
            for r in self.explained)


@dataclass(frozen=True)
class EventView:
    id: str
    source: str
    event_id: str
    kind: str
    household_id: str
    member_id: str | None
    occurred_on: date
    amount: str | None
    value: str | None
    received_at: datetime
    correlated_at: datetime | None


@dataclass(frozen=True)
class Correlation:
    """What one correlation did: alerts raised (new) and updated (new events attached)."""

    raised: tuple[AlertView, ...] = ()
    updated: tuple[AlertView, ...] = ()
    events: int = 0


@dataclass(frozen=True)
class IngestReport:
    accepted: int
    duplicates: int
    rejected: tuple[Rejected, ...]
    unknown_households: tuple[str, ...]
    alerts: tuple[AlertView, ...]  # raised or updated, those the caller may see
    alerts_total: int = 0  # raised or updated, in every region


@dataclass(frozen=True)
class AlertCountsView:
    by_status: dict[str, int]
    by_rule: dict[str, int]
    total: int


# --- push: in-process listeners --------------------------------------------------------------


@dataclass
class Listeners:
    """Callables told about every alert raised in this process (the subscription hub)."""

    _items: dict[int, Callable[[AlertView], None]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next: int = 0

    def add(self, listener: Callable[[AlertView], None]) -> int:
        with self._lock:
            self._next += 1
            self._items[self._next] = listener
            return self._next

    def remove(self, token: int) -> None:
        with self._lock:
            self._items.pop(token, None)

    def notify(self, alerts: Sequence[AlertView]) -> None:
        with self._lock:
            listeners = list(self._items.values())
        for alert in alerts:
            for listener in listeners:
                listener(alert)


class EarlyWarning:
    """The early-warning use cases of an ``Application``."""

    def __init__(self, app: Application):
        self.app = app
        self.listeners = Listeners()
        # Set by the webhook worker when it runs, so new deliveries are tried at once.
        self.on_deliveries: Callable[[], None] | None = None

    def uow(self) -> UnitOfWork:
        return self.app.uow()

    # -- ingestion -------------------------------------------------------------------------

    def ingest(self, p: Principal, events: Sequence[Any], today: date) -> IngestReport:
        """Store the valid events (idempotently) and correlate the households they touch. An
        invalid event is rejected on its own, with its field path and a code."""
        self.app.policy.ingest_events(p)
        if len(events) > MAX_EVENTS_PER_CALL:
            msg = f"at most {MAX_EVENTS_PER_CALL} events a call, got {len(events)}"
            raise InvalidInput(msg, [FieldError("events", "TOO_MANY_EVENTS", msg)],
                               code="TOO_MANY_EVENTS")
        rejected: list[Rejected] = []
        valid: dict[str, tuple[int, DepartmentEvent]] = {}
        duplicates = 0
        for i, data in enumerate(events):
            try:
                event = parse_event(data, today=today, path=f"events[{i}]")
            except FactsInvalid as exc:
                rejected.extend(Rejected(i, e.field, e.code, e.message) for e in exc.errors)
                continue
            seen = valid.get(event.key)
            if seen is not None:
                if seen[1] == event:
                    duplicates += 1
                else:
                    rejected.append(_reused(i, seen[0]))
                continue
            valid[event.key] = (i, event)
        with self.uow() as uow:
            created, conflicts = uow.events.add_many([_row(e) for _, e in valid.values()])
            for key, columns in conflicts.items():
                i = valid[key][0]
                rejected.append(Rejected(
                    i, f"events[{i}].eventId", "EVENT_ID_REUSED",
                    f"this source's eventId was already used for another event (differs in "
                    f"{', '.join(columns)}); 该事件编号已用于另一事件"))
            duplicates += len(valid) - len(created) - len(conflicts)
            touched = sorted({valid[k][1].household_id for k in created})
            known = uow.households.ids_among(touched)
            unknown = tuple(h for h in touched if h not in known)
            uow.audit.append(actor=p.actor, action="events.ingest", object_type="events",
                             object_id=f"batch:{len(created)}",
                             details={"accepted": len(created), "duplicates": duplicates,
                                      "rejected": len({r.index for r in rejected}),
                                      "unknownHouseholds": len(unknown)})
            uow.commit()
        correlation = self.correlate(sorted(known)) if known else Correlation()
        visible = tuple(a for a in (*correlation.raised, *correlation.updated)
                        if self.app.policy.alert_visible(p, a.region_code))
        return IngestReport(len(created), duplicates,
                            tuple(sorted(rejected, key=lambda r: (r.index, r.field))),
                            unknown, visible,
                            len(correlation.raised) + len(correlation.updated))

    # -- correlation -----------------------------------------------------------------------

    def correlate(self, household_ids: Sequence[str]) -> Correlation:
        """Bring the alerts of these households up to date with their uncorrelated events,
        ``CORRELATION_CHUNK`` households a transaction: the alerts of the first are pushed
        while the next are evaluated."""
        ids = sorted(set(household_ids))
        parts = [self._correlate(ids[i:i + CORRELATION_CHUNK])
                 for i in range(0, len(ids), CORRELATION_CHUNK)]
        return Correlation(tuple(a for c in parts for a in c.raised),
                           tuple(a for c in parts for a in c.updated),
                           sum(c.events for c in parts))

    def _correlate(self, household_ids: Sequence[str]) -> Correlation:
        catalog = self.app.catalog()
        records = [r for r in catalog.records
                   if r.program.code == PROGRAM and r.status == "PUBLISHED"]
        days = max((window_days(r.program) for r in records), default=DEFAULT_WINDOW_DAYS)
        raised: list[AlertView] = []
        updated: list[AlertView] = []
        count = 0
        queued = 0
        for attempt in range(3):
            try:
                with self.uow() as uow:
                    pending = uow.events.pending_rows(household_ids)
                    if not pending:
                        return Correlation()
                    households = uow.households.facts_text_of(
                        {e.household_id for e in pending})
                    start: dict[str, date] = {}
                    for e in pending:
                        if e.household_id in households:
                            first = start.get(e.household_id)
                            start[e.household_id] = (e.occurred_on if first is None
                                                     else min(first, e.occurred_on))
                    # Evaluated: every event on or after the household's earliest new one
                    # (their windows may now hold more); read: a window before that too, of
                    # the kinds an event's facts sum.
                    windows = uow.events.window_rows(
                        {h: d - timedelta(days=days - 1) for h, d in start.items()},
                        every_kind_from=start, kinds=WINDOW_KINDS)
                    found: dict[tuple[str, str, str], list[RaisedAlert]] = {}
                    ids: dict[str, str] = {}  # idempotency key -> stored event id
                    for household_id, rows in windows.items():
                        hh = Household.model_validate_json(households[household_id][1])
                        ids.update((r.idempotency_key, r.id) for r in rows)
                        events = [from_stored(r.source, r.kind, r.household_id, r.member_id,
                                              r.occurred_on, r.payload) for r in rows]
                        for event in events:
                            if event.occurred_on < start[household_id]:
                                continue
                            record = catalog.version_in_force(PROGRAM, event.occurred_on)
                            if record is None:
                                continue
                            _, alerts = evaluate_event(record.program, catalog.ref(record), hh,
                                                       event, events)
                            for a in alerts:
                                found.setdefault((household_id, a.rule, a.cause), []).append(a)
                    upserts = []
                    for (household_id, rule, cause), firings in sorted(found.items()):
                        firings.sort(key=_order)
                        latest = firings[-1]
                        upserts.append(AlertUpsert(
                            household_id=household_id,
                            region_code=households[household_id][0],
                            rule=rule, cause=cause, explanation=_explanation(latest),
                            event_ids=list(dict.fromkeys(
                                ids[e.key] for f in firings for e in f.evidence)),
                            member_id=latest.member_id,
                            replace_explanation=_later_or_same(latest)))
                    raised, updated = [], []
                    for result, changed in uow.alerts.upsert_many(upserts,
                                                                  order_keys=ORDER_KEYS):
                        if result.created:
                            raised.append(alert_view(result.item))
                        elif changed:
                            updated.append(alert_view(result.item))
                    queued = self.app.webhooks.enqueue(uow, raised)
                    done = [e.id for e in pending if e.household_id in households]
                    uow.events.mark_correlated(done)
                    count = len(done)
                    uow.commit()
                break
            except ConflictError:
                # Two correlations of one household at once: the loser starts again and
                # finds the winner's alerts (the upsert is idempotent).
                if attempt == 2:
                    raise
        if raised:
            self.listeners.notify(raised)
            # The webhook worker is woken for new deliveries only (its retries have their own
            # timer): with no webhook covering these alerts, it is not sent to the database.
            if queued and self.on_deliveries is not None:
                self.on_deliveries()
        return Correlation(tuple(raised), tuple(updated), count)

    def correlate_pending(self, batch: int = 1000) -> int:
        """Correlate every stored, uncorrelated event of a known household (after a crash, or
        for households saved after their events arrived); the number correlated."""
        total = 0
        while True:
            with self.uow() as uow:
                pending = uow.events.pending(limit=batch)
            if not pending:
                return total
            done = self.correlate(sorted({e.household_id for e in pending})).events
            if done == 0:
                return total
            total += done

    def pending_count(self) -> int:
        with self.uow() as uow:
            return uow.events.count_pending()

    # -- reading ---------------------------------------------------------------------------

    def alerts(
        self, p: Principal, first: int, after: str | None = None, *,
        status: str | None = None, region_codes: Sequence[str] | None = None,
        rule: str | None = None, since: datetime | None = None,
        household_id: str | None = None,
    ) -> tuple[list[AlertView], bool, str | None, int]:
        """Alerts newest first, with the page's end cursor and the total of the filter."""
        self.app.policy.read_alerts(p)
        self.app._check_first(first)
        with self.uow() as uow:
            regions = self.app._listing_regions(p, region_codes, uow)
            if regions is not None and not regions:
                return [], False, None, 0
            st = AlertStatus(status) if status else None
            page = uow.alerts.page(first, after, status=st, region_codes=regions, rule=rule,
                                   since=since, household_id=household_id)
            total = uow.alerts.count(status=st, region_codes=regions, rule=rule, since=since,
                                     household_id=household_id)
            return ([alert_view(a) for a in page.items], page.has_next_page, page.end_cursor,
                    total)

    def alerts_window(
        self, p: Principal, *, first: int | None, after: str | None, last: int | None,
        before: str | None, status: str | None = None,
        region_codes: Sequence[str] | None = None, rule: str | None = None,
        since: datetime | None = None,
    ) -> tuple[Page[AlertView], int]:
        """Alerts newest first as a Relay connection pages them (first/after forwards,
        last/before backwards; one of first and last is required), with the filter's total."""
        self.app.policy.read_alerts(p)
        self.app._check_window(first, after, last, before, "alerts", 2)
        with self.uow() as uow:
            regions = self.app._listing_regions(p, region_codes, uow)
            if regions is not None and not regions:
                return Page([], None, False), 0
            st = AlertStatus(status) if status else None
            try:
                page = uow.alerts.window(first=first, after=after, last=last, before=before,
                                         status=st, region_codes=regions, rule=rule,
                                         since=since)
            except InvalidCursor as exc:
                field = "before" if before is not None and after is None else "after"
                raise InvalidInput(str(exc), [FieldError(field, "INVALID_CURSOR", str(exc))],
                                   code="INVALID_CURSOR") from None
            total = uow.alerts.count(status=st, region_codes=regions, rule=rule, since=since)
            return Page([alert_view(a) for a in page.items], page.end_cursor,
                        page.has_next_page, page.has_previous_page, page.start_cursor), total

    def alert(self, p: Principal, alert_id: str) -> AlertView:
        with self.uow() as uow:
            found = uow.alerts.find(alert_id)
            if found is None:
                self.app.policy.read_alerts(p)
                raise NotFoundError(f"no alert {alert_id!r}")
            self.app.policy.read_alert(p, found.region_code, alert_id)
            return alert_view(found)

    def counts(self, p: Principal, region_codes: Sequence[str] | None = None) -> AlertCountsView:
        """How many alerts the caller may see, by status and by rule (a console's inbox)."""
        self.app.policy.read_alerts(p)
        with self.uow() as uow:
            regions = self.app._listing_regions(p, region_codes, uow)
            if regions is not None and not regions:
                return AlertCountsView({}, {}, 0)
            c = uow.alerts.counts(region_codes=regions)
            return AlertCountsView(c.by_status, c.by_rule, sum(c.by_status.values()))

    def events_by_id(self, event_ids: Sequence[str]) -> list[EventView]:
        """Stored events by id (a case's comparison: the caller may see the case), oldest
        first."""
        with self.uow() as uow:
            rows = [uow.events.get(i) for i in event_ids]
            return sorted((event_view(e) for e in rows),
                          key=lambda e: (e.occurred_on, e.source, e.event_id))

    def events_of(self, alert: AlertView) -> list[EventView]:
        """The events that raised an alert (the caller may see the alert), oldest first."""
        with self.uow() as uow:
            rows = [uow.events.get(i) for i in alert.event_ids]
            return sorted((event_view(e) for e in rows),
                          key=lambda e: (e.occurred_on, e.source, e.event_id))

    # -- acting ----------------------------------------------------------------------------

    def resolve(self, p: Principal, alert_id: str, resolution: str, note: str | None,
                today: date) -> AlertView:
        """VERIFIED, INCLUDED or DISMISSED (with a note) by a caseworker of the household's
        region. INCLUDED also opens an INCLUSION monitoring case from the alert (unless the
        household is monitored or has one open), in the same transaction: ``monitored`` is set
        when the county approves the case."""
        try:
            target = AlertStatus(resolution)
        except ValueError:
            msg = f"resolution is VERIFIED, INCLUDED or DISMISSED, got {resolution!r}"
            raise InvalidInput(msg, [FieldError("resolution", "INVALID_VALUE", msg)]) from None
        if target is AlertStatus.OPEN:
            msg = "an alert cannot be moved back to OPEN"
            raise InvalidInput(msg, [FieldError("resolution", "INVALID_VALUE", msg)])
        note = (note or "").strip() or None
        if note is not None and len(note) > 2000:
            msg = "a note has at most 2000 characters"
            raise InvalidInput(msg, [FieldError("note", "TOO_LONG", msg)])
        if target is AlertStatus.DISMISSED and note is None:
            msg = "驳回预警须填写理由 / a note is required to dismiss an alert"
            raise InvalidInput(msg, [FieldError("note", "REQUIRED", msg)], code="NOTE_REQUIRED")
        with self.uow() as uow:
            alert = uow.alerts.find(alert_id)
            if alert is None:
                self.app.policy.read_alerts(p)
                raise NotFoundError(f"no alert {alert_id!r}")
            self.app.policy.resolve_alert(p, alert.region_code, alert_id)
            try:
                alert.resolve(target, by=p.actor, at=uow.now(), note=note)
            except ConflictError as exc:
                raise Conflict(str(exc), [FieldError("resolution", "CONFLICT", str(exc))]) \
                    from None
            details: dict[str, Any] = {"rule": alert.rule, "status": target.value}
            if target is AlertStatus.INCLUDED:
                # Inclusion runs the identification procedure: an INCLUSION case is opened
                # (or the open one kept); monitored is set when the county approves it.
                stored = uow.households.find(alert.household_id)
                if stored is None:  # pragma: no cover - alerts are raised for stored households
                    raise NotFoundError(f"no household {alert.household_id!r}")
                if not stored.facts.get("monitored"):
                    case = uow.cases.open_of(stored.id, CaseKind.INCLUSION)
                    if case is None:
                        case = self.app.cases.open_in(uow, p, stored, CaseKind.INCLUSION,
                                                      CaseChannel.ALERT, today,
                                                      alert_id=alert.id, note=note)
                    details["case"] = case.id
            uow.audit.append(actor=p.actor, action="alert.resolve", object_type="alert",
                             object_id=alert.id, details=details)
            try:
                uow.commit()
            except ConflictError as exc:
                raise Conflict(str(exc), [FieldError("id", "CONFLICT", str(exc))]) from None
            return alert_view(alert)

    def reevaluate(self, p: Principal, alert: AlertView, as_of: date) -> Determination:
        """The household's stored facts with the alert's suggested facts applied, evaluated
        under the versions in force on ``as_of`` (nothing is stored): the link from an alert
        to what including it would change. Needs the right to read the household."""
        self.app.policy.read_household(p, alert.region_code, "household", alert.household_id)
        with self.uow() as uow:
            stored = uow.households.find(alert.household_id)
            if stored is None:  # pragma: no cover - alerts are raised for stored households
                raise NotFoundError(f"no household {alert.household_id!r}")
            facts = json.loads(json.dumps(stored.facts))
        for s in alert.suggested_facts:
            apply_fact(facts, s.fact, json.loads(s.value))
        return self.app._determine(facts, as_of, None)


# --- helpers ----------------------------------------------------------------------------------


def _reused(index: int, first: int) -> Rejected:
    return Rejected(index, f"events[{index}].eventId", "EVENT_ID_REUSED",
                    f"events[{first}] of this batch has the same source and eventId but other "
                    "content; 同一批次中事件编号重复且内容不同")


def _row(e: DepartmentEvent) -> EventRow:
    return EventRow(idempotency_key=e.key, source=e.source, kind=e.kind,
                    household_id=e.household_id, member_id=e.member_id,
                    occurred_on=e.occurred_on, payload=e.payload())


def _event(e: Event) -> DepartmentEvent:
    return from_stored(e.source, e.kind, e.household_id, e.member_id, e.occurred_on, e.payload)


def _order(a: RaisedAlert) -> tuple[date, str]:
    return (a.event.occurred_on, a.event.key)


# The keys of a stored explanation that order firings (all ``_later_or_same`` reads).
ORDER_KEYS = ("occurredOn", "eventKey")


def _later_or_same(firing: RaisedAlert) -> Callable[[Mapping[str, Any]], bool]:
    # An alert explains its latest firing event (by date, then key): whatever order the events
    # arrived in, the same event's explanation ends up stored.
    mine = (firing.event.occurred_on.isoformat(), firing.event.key)

    def replaces(stored: Mapping[str, Any]) -> bool:
        return mine >= (stored.get(ORDER_KEYS[0], ""), stored.get(ORDER_KEYS[1], ""))

    return replaces


def _explanation(a: RaisedAlert) -> dict[str, Any]:
    # Written out here rather than through determination_json, whose memo (by reason identity)
    # only fills up with reasons built once.
    return {
        "titleZh": a.outcome.title_zh, "titleEn": a.outcome.title_en,
        "reasons": [
            {"ruleId": r.rule_id, "textZh": r.text_zh, "textEn": r.text_en,
             "citation": {"document": r.citation.document, "clause": r.citation.clause,
                          "quote": r.citation.quote, "url": r.citation.url},
             "conditions": [{"expression": c.expression, "actual": c.actual,
                             "expected": c.expected, "passed": c.passed}
                            for c in r.conditions],
             "tree": _node_json(r.condition)}
            for r in a.outcome.reasons],
        "suggestedFacts": [{"fact": f, "value": v} for f, v in a.suggested],
        "eventKey": a.event.key, "occurredOn": a.event.occurred_on.isoformat(),
        "version": {"id": a.version.id, "version": a.version.version,
                    "contentHash": a.version.content_hash},
    }


def _node_json(n: ConditionNode) -> dict[str, Any]:
    """An explanation tree as JSON (stored with the alert, read back by ``_node_from``)."""
    return {"expression": n.expression, "kind": n.kind, "result": n.result,
            "actual": n.actual, "expected": n.expected, "decided": n.decided,
            "memberIds": list(n.member_ids), "children": [_node_json(c) for c in n.children],
            "names": [list(x) for x in n.names]}


def _node_from(d: Mapping[str, Any]) -> ConditionNode:
    # ``names`` (the words of the version's names) is absent from alerts stored before it was
    # kept: their words show those names as written.
    return ConditionNode(d["expression"], d["kind"], d["result"], d["actual"], d["expected"],
                         d["decided"], tuple(d["memberIds"]),
                         tuple(_node_from(c) for c in d["children"]),
                         tuple((str(n), str(zh), str(en), bool(m))
                               for n, zh, en, m in d.get("names", ())))


def alert_view(a: Alert | AlertRow) -> AlertView:
    x = a.explanation or {}
    return AlertView(
        id=a.id, rule=a.rule, cause=a.cause, status=AlertStatus(a.status).value,
        household_id=a.household_id, region_code=a.region_code, member_id=a.member_id,
        title_zh=x.get("titleZh", a.rule), title_en=x.get("titleEn", a.rule),
        suggested_facts=tuple(SuggestedFact(f["fact"], f["value"])
                              for f in x.get("suggestedFacts", [])),
        event_ids=tuple(a.event_ids), version_id=(x.get("version") or {}).get("id"),
        raised_at=a.created_at, updated_at=a.updated_at, resolved_by=a.resolved_by,
        resolved_at=a.resolved_at, resolution_note=a.resolution_note,
        explained=x.get("reasons", ()),
    )


def event_view(e: Event) -> EventView:
    return EventView(e.id, e.source, str(e.payload.get("eventId", "")), e.kind, e.household_id,
                     e.member_id, e.occurred_on, e.payload.get("amount"), e.payload.get("value"),
                     e.received_at, e.correlated_at)


def visible(p: Principal, region_code: str) -> bool:
    """The caller may see alerts of this region (for push filters)."""
    return p.role == "auditor" or (p.role in (*REGIONAL_ROLES, "api_client")
                                   and in_region(region_code, p.regions))


_PATH = re.compile(r"^(?:members\[(\d+)\]\.)?([A-Za-z]+)$")


def apply_fact(facts: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path`` (``dibao`` or ``members[1].disabilityGrade``) in household JSON.

    >>> f = {"members": [{"id": "m"}]}
    >>> apply_fact(f, "members[0].schoolStage", "NONE"); f
    {'members': [{'id': 'm', 'schoolStage': 'NONE'}]}
    """
    m = _PATH.match(path)
    if m is None:
        raise ValueError(f"not a fact path: {path!r}")
    index, name = m.groups()
    target = facts if index is None else facts["members"][int(index)]
    target[name] = value
