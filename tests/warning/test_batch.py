"""Ingesting a stream in one batch and event by event raise the same alerts with the same
explanations: correlation works on many households a transaction (events and alerts stored a
column array a statement on PostgreSQL), and that must change no answer."""

from __future__ import annotations

import random
from typing import Any

import pytest

from services.application import Application
from tests.warning.conftest import AUDITOR, CASEWORKER, TODAY, Warning_, household
from tests.warning.test_order import stream

HOUSEHOLDS = 12
EVENTS_EACH = 8


def stored_alerts(a: Application, hid: str) -> list[tuple[Any, ...]]:
    """A household's alerts as stored: rule, cause, member, status, the events (by their own
    id, date and amount) and the whole explanation (reasons with their conditions and trees,
    suggested facts, the firing event, the version)."""
    items, _, _, _ = a.warning.alerts(AUDITOR, 100, household_id=hid)
    out = []
    with a.uow() as uow:
        for alert in items:
            stored = uow.alerts.get(alert.id)
            events = [(e.event_id.split("-", 1)[-1], e.occurred_on, e.amount)
                      for e in a.warning.events_of(alert)]
            explanation = dict(stored.explanation)
            explanation["eventKey"] = (explanation["eventKey"].replace(":one-", ":")
                                       .replace(":each-", ":"))
            out.append((stored.rule, stored.cause, stored.member_id, alert.status,
                        tuple(sorted(events)), explanation))
    return sorted(out, key=repr)


@pytest.mark.parametrize("seed", [16, 2024])
def test_one_batch_and_event_by_event_raise_the_same_alerts(warning: Warning_,
                                                            seed: int) -> None:
    a = warning.app
    rng = random.Random(seed)
    base = {f"h{i}": stream(rng, "x", EVENTS_EACH) for i in range(HOUSEHOLDS)}
    alleviated = {hid: rng.random() < 0.4 for hid in base}
    for twin in ("one", "each"):
        for hid in base:
            a.save_household(CASEWORKER, household(f"{twin}-{hid}",
                                                   povertyAlleviated=alleviated[hid]), TODAY)

    def renamed(twin: str) -> list[dict[str, Any]]:
        out = [{**e, "householdId": f"{twin}-{hid}", "eventId": f"{twin}-{hid}{e['eventId']}"}
               for hid, events in base.items() for e in events]
        return sorted(out, key=lambda e: (e["occurredOn"], e["eventId"]))

    one = warning.ingest(*renamed("one"))
    assert one.accepted == HOUSEHOLDS * EVENTS_EACH and not one.rejected
    raised_each = 0
    for e in renamed("each"):
        report = warning.ingest(e)
        assert report.accepted == 1
        raised_each += len(report.alerts)

    compared = 0
    for hid in base:
        got = stored_alerts(a, f"one-{hid}")
        assert got == stored_alerts(a, f"each-{hid}"), hid
        compared += len(got)
    # Not vacuous: the streams raise alerts, and the batch reports each of them.
    assert compared > HOUSEHOLDS
    assert len({x.id for x in one.alerts}) == compared
    assert raised_each >= compared
    with a.uow() as uow:
        assert uow.events.count_pending() == 0


def test_a_batch_with_a_replay_and_an_unknown_household_changes_nothing(
        warning: Warning_) -> None:
    """The batch path's idempotency: the same batch again stores and raises nothing, and an
    unknown household's event waits (reported) beside the known ones."""
    rng = random.Random(7)
    for i in range(4):
        warning.save(household(f"r{i}"))
    events = [{**e, "householdId": f"r{i}", "eventId": f"r{i}{e['eventId']}"}
              for i in range(4) for e in stream(rng, "x", 6)]
    events.append({**events[0], "householdId": "nobody", "eventId": "nobody-1"})
    first = warning.ingest(*events)
    assert first.accepted == len(events) and first.unknown_households == ("nobody",)
    before = {i: stored_alerts(warning.app, f"r{i}") for i in range(4)}
    again = warning.ingest(*events)
    assert (again.accepted, again.duplicates, again.alerts) == (0, len(events), ())
    assert {i: stored_alerts(warning.app, f"r{i}") for i in range(4)} == before
    with warning.app.uow() as uow:
        assert uow.events.count_pending(known_only=False) == 1
