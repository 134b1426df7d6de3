"""Ingestion: idempotent by (source, eventId), invalid events rejected one by one with their
field paths while the valid ones of the batch are stored, unknown households kept and reported,
then correlated when the household is saved."""

from __future__ import annotations

import pytest

from services.errors import Forbidden, InvalidInput
from tests.warning.conftest import (
    AUDITOR,
    CASEWORKER,
    FEED,
    Warning_,
    event,
    household,
)


def test_the_same_batch_twice_stores_and_raises_nothing_new(warning: Warning_) -> None:
    warning.save(household("h1"))
    batch = [event("DIBAO_GRANTED", "h1", "2024-03-01", eventId="d-1"),
             event("INPATIENT_COST", "h1", "2024-03-02", memberId="m1", amount=25000,
                   eventId="c-1")]
    first = warning.ingest(*batch)
    assert (first.accepted, first.duplicates, first.rejected) == (2, 0, ())
    assert sorted(a.rule for a in first.alerts) == [
        "alert.large_medical_expense", "alert.new_dibao_or_temporary_relief"]
    before = [(a.id, a.event_ids, a.updated_at) for a in warning.alerts()]

    again = warning.ingest(*batch)
    assert (again.accepted, again.duplicates, again.rejected, again.alerts) == (0, 2, (), ())
    assert [(a.id, a.event_ids, a.updated_at) for a in warning.alerts()] == before


def test_invalid_events_are_rejected_alone_and_the_valid_ones_stored(warning: Warning_) -> None:
    warning.save(household("h1"))
    report = warning.ingest(
        event("INPATIENT_COST", "h1", "2024-03-01", memberId="m1", amount=-5),
        event("DIBAO_GRANTED", "h1", "2024-03-01"),
        event("HOUSING_REGRADED", "h1", "2024-13-01", value="E"),
        {"source": "税务", "kind": "INPATIENT_COST", "householdId": "h1",
         "occurredOn": "2024-03-01", "colour": "red"},
        event("INPATIENT_COST", "h1", "2099-01-01", memberId="m1", amount=1.005),
    )
    assert report.accepted == 1
    got = {(r.index, r.field, r.code) for r in report.rejected}
    assert got == {
        (0, "events[0].amount", "NEGATIVE_AMOUNT"),
        (2, "events[2].occurredOn", "WRONG_TYPE"),
        (2, "events[2].value", "INVALID_VALUE"),
        (3, "events[3].source", "INVALID_VALUE"),
        (3, "events[3].eventId", "REQUIRED"),
        (3, "events[3].colour", "UNKNOWN_FIELD"),
        (3, "events[3].memberId", "REQUIRED"),
        (3, "events[3].amount", "REQUIRED"),
        (4, "events[4].occurredOn", "DATE_IN_FUTURE"),
        (4, "events[4].amount", "TOO_MANY_DECIMALS"),
    }
    assert [a.rule for a in report.alerts] == ["alert.new_dibao_or_temporary_relief"]


def test_an_event_id_reused_for_other_content_is_rejected(warning: Warning_) -> None:
    warning.save(household("h1"))
    warning.ingest(event("DIBAO_GRANTED", "h1", "2024-03-01", eventId="x"))
    report = warning.ingest(event("DIBAO_GRANTED", "h1", "2024-03-02", eventId="x"),
                            event("DIBAO_GRANTED", "h1", "2024-03-05", eventId="y"),
                            event("DIBAO_GRANTED", "h1", "2024-03-06", eventId="y"))
    assert report.accepted == 1
    assert {(r.index, r.code) for r in report.rejected} == {(0, "EVENT_ID_REUSED"),
                                                            (2, "EVENT_ID_REUSED")}


def test_an_unknown_household_is_reported_and_correlated_once_saved(warning: Warning_) -> None:
    report = warning.ingest(event("HOUSING_REGRADED", "h-new", "2024-02-01", value="D"))
    assert (report.accepted, report.unknown_households, report.alerts) == (1, ("h-new",), ())
    assert warning.app.warning.pending_count() == 0  # pending, but of no known household
    warning.save(household("h-new"))
    (alert,) = warning.alerts()
    assert (alert.rule, alert.household_id, alert.status) == ("alert.housing_unsafe", "h-new",
                                                              "OPEN")


def test_at_most_a_thousand_events_a_call(warning: Warning_) -> None:
    with pytest.raises(InvalidInput) as exc:
        warning.ingest(*[event("DIBAO_GRANTED", "h1", "2024-03-01")] * 1001)
    assert exc.value.code == "TOO_MANY_EVENTS"


@pytest.mark.parametrize("who", [AUDITOR])
def test_readers_cannot_ingest(warning: Warning_, who: object) -> None:
    with pytest.raises(Forbidden):
        warning.ingest(event("DIBAO_GRANTED", "h1", "2024-03-01"), who=who)  # type: ignore[arg-type]


def test_a_caseworker_may_ingest(warning: Warning_) -> None:
    warning.save(household("h1"))
    assert warning.ingest(event("DIBAO_GRANTED", "h1", "2024-03-01"), who=CASEWORKER).accepted == 1
    assert FEED.role == "api_client"
