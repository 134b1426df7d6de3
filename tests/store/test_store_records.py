"""Determinations, the audit log, API tokens, events and alerts."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from store.errors import ConflictError, InvalidCursor, RowNotFound
from store.logins import InvalidLogin
from store.models import AlertStatus, Role
from store.pagination import encode_cursor
from store.repositories import TOKEN_PREFIX, AlertUpsert, VersionUsed
from store.uow import UnitOfWork
from tests.store.conftest import AS_OF, FakeClock, make_household

NewUow = Callable[[], UnitOfWork]


# --- determinations -------------------------------------------------------------------------


def _versions(version_id: str) -> list[VersionUsed]:
    return [{"program": "monitoring", "versionId": version_id, "version": 1,
             "contentHash": "ab" * 32}]


RESULT = {"asOf": "2024-03-01", "flaggedForMonitoring": True,
          "programs": [{"program": "monitoring", "outcomes": [{"code": "monitoring.x",
                                                                "status": "GRANTED"}]}]}


def test_determination_round_trip(uow: NewUow, published_v1: str) -> None:
    with uow() as u:
        stored = u.households.save(make_household(), by="caseworker")
        facts = dict(stored.facts)
        record = u.determinations.add(
            household_id=stored.id, household_revision=stored.revision,
            region_code=stored.region_code, as_of=AS_OF, facts=facts,
            versions=_versions(published_v1), result=RESULT, created_by="caseworker",
        )
        u.commit()
    facts["annualNetIncome"] = -1  # the caller's dict changing later changes no record
    with uow() as u:
        again = u.determinations.get(record.id)
        assert [r.id for r in u.determinations.for_household("hh-001")] == [record.id]
    assert (again.household_id, again.household_revision, again.region_code, again.as_of) == (
        "hh-001", 1, "371300-001", AS_OF,
    )
    assert again.facts == stored.facts
    assert again.versions == _versions(published_v1)
    assert again.result == RESULT
    assert again.created_by == "caseworker"
    assert again.created_at.tzinfo is not None


def test_ad_hoc_determination_has_no_household(uow: NewUow) -> None:
    with uow() as u:
        record = u.determinations.add(
            region_code="371300-001", as_of=AS_OF, facts={"id": "walk-in"}, versions=[],
            result={}, created_by="api-client",
        )
        u.commit()
    with uow() as u:
        assert u.determinations.get(record.id).household_id is None
        with pytest.raises(RowNotFound):
            u.determinations.get("missing")


def test_determination_versions_must_name_id_and_hash(uow: NewUow) -> None:
    with uow() as u, pytest.raises(ValueError, match=r"versions\[0\] lacks contentHash"):
        u.determinations.add(
            region_code="r", as_of=AS_OF, facts={}, result={}, created_by="x",
            versions=[{"program": "monitoring", "versionId": "v", "version": 1}],  # type: ignore[typeddict-item]
        )


# --- audit log ------------------------------------------------------------------------------


def test_audit_log_round_trip_and_pages_newest_first(uow: NewUow) -> None:
    with uow() as u:
        for i in range(7):
            u.audit.append(
                actor=f"user-{i % 2}", action="household.save" if i % 3 else "ruleset.publish",
                object_type="household", object_id=f"hh-{i}", details={"n": i, "why": "测试"},
            )
        u.commit()
    with uow() as u:
        first = u.audit.page(3)
        second = u.audit.page(3, first.end_cursor)
        third = u.audit.page(3, second.end_cursor)
        publishes = u.audit.page(10, action="ruleset.publish")
        by_object = u.audit.page(10, object_type="household", object_id="hh-4")
        by_actor = u.audit.page(10, actor="user-1")
    assert [e.details["n"] for e in first.items + second.items + third.items] == [
        6, 5, 4, 3, 2, 1, 0,
    ]
    assert (first.has_next_page, second.has_next_page, third.has_next_page) == (
        True, True, False,
    )
    entry = first.items[0]
    assert (entry.actor, entry.action, entry.object_type, entry.object_id) == (
        "user-0", "ruleset.publish", "household", "hh-6",
    )
    assert entry.details == {"n": 6, "why": "测试"}
    assert entry.at.tzinfo is not None
    assert [e.object_id for e in publishes.items] == ["hh-6", "hh-3", "hh-0"]
    assert [e.object_id for e in by_object.items] == ["hh-4"]
    assert [e.details["n"] for e in by_actor.items] == [5, 3, 1]


def test_audit_cursor_of_another_list_is_refused(uow: NewUow) -> None:
    with uow() as u, pytest.raises(InvalidCursor):
        u.audit.page(3, "eyJ4IjoxfQ")  # {"x":1}


# --- tokens ---------------------------------------------------------------------------------


def test_token_is_stored_only_as_its_sha256(engine: Engine, uow: NewUow) -> None:
    with uow() as u:
        issued = u.tokens.create(name="县民政局 caseworker", role=Role.CASEWORKER,
                                 regions=["371300-002", "371300-001"], department="县民政局")
        u.commit()
    token = issued.token
    assert token.startswith(TOKEN_PREFIX) and len(token) > 40
    assert issued.record.token_hash == hashlib.sha256(token.encode()).hexdigest()

    # No column of any stored row holds the plain token.
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM api_tokens")).all()
    assert len(rows) == 1
    assert all(token not in str(value) for value in rows[0])

    with uow() as u:
        looked_up = u.tokens.lookup(token)
        assert looked_up is not None
        found, user = looked_up
        assert (found.id, found.name, found.role, found.regions, found.department) == (
            issued.record.id, "县民政局 caseworker", Role.CASEWORKER,
            ["371300-001", "371300-002"], "县民政局",
        )
        assert (user.id, user.login) == (found.user_id, "县民政局 caseworker")
        assert u.tokens.lookup(token + "x") is None
        assert u.tokens.lookup(issued.record.token_hash) is None  # the hash is not a token


def test_revoked_tokens_no_longer_open_anything(uow: NewUow, clock: FakeClock) -> None:
    with uow() as u:
        issued = u.tokens.create(name="auditor", role=Role.AUDITOR)
        other = u.tokens.create(name="client", role=Role.API_CLIENT)
        u.commit()
    assert issued.token != other.token
    with uow() as u:
        revoked = u.tokens.revoke(issued.record.id)
        first_revocation = revoked.revoked_at
        u.commit()
    with uow() as u:
        assert u.tokens.revoke(issued.record.id).revoked_at == first_revocation
        assert u.tokens.lookup(issued.token) is None
        assert u.tokens.lookup(other.token) is not None
        assert [t.name for t, _ in u.tokens.list_tokens()] == ["client"]
        assert [t.name for t, _ in u.tokens.list_tokens(include_inactive=True)] == [
            "auditor", "client",
        ]
        with pytest.raises(RowNotFound):
            u.tokens.revoke("missing")


def test_tokens_expire(uow: NewUow, clock: FakeClock) -> None:
    with uow() as u:
        issued = u.tokens.create(name="short-lived", role=Role.AUDITOR,
                                 expires_at=clock.current + timedelta(hours=1))
        u.commit()
    with uow() as u:
        assert u.tokens.lookup(issued.token) is not None
        assert [t.name for t, _ in u.tokens.list_tokens()] == ["short-lived"]
    clock.advance(hours=1)
    with uow() as u:
        assert u.tokens.lookup(issued.token) is None
        assert u.tokens.list_tokens() == []
        assert len(u.tokens.list_tokens(include_inactive=True)) == 1


def test_every_spelling_of_a_name_is_one_user(uow: NewUow) -> None:
    with uow() as u:
        tokens = [u.tokens.create(name=name, role=Role.POLICY_APPROVER, department="县教体局")
                  for name in ("alice", "Alice", "alice ", "ａｌｉｃｅ", "  ALICE")]
        other = u.tokens.create(name="alicia", role=Role.POLICY_APPROVER, department="县教体局")
        u.commit()
    assert len({t.record.user_id for t in tokens}) == 1
    assert other.record.user_id != tokens[0].record.user_id
    with uow() as u:
        user = u.users.find("ＡＬＩＣＥ")
        assert user is not None and user.login == "alice" and user.id == tokens[0].record.user_id
        with pytest.raises(InvalidLogin):
            u.tokens.create(name="x" * 95, role=Role.AUDITOR)
        with pytest.raises(InvalidLogin):
            u.tokens.create(name="   ", role=Role.AUDITOR)


def test_roles_are_checked_by_the_database(engine: Engine, uow: NewUow) -> None:
    with uow() as u:
        issued = u.tokens.create(name="x", role=Role.CASEWORKER)
        u.commit()
    with pytest.raises(IntegrityError, match=r"ck_api_tokens_token_role|CHECK constraint"), \
            engine.begin() as connection:
        connection.execute(text("UPDATE api_tokens SET role = 'root' WHERE id = :id"),
                           {"id": issued.record.id})


# --- events ---------------------------------------------------------------------------------


def _event(u: UnitOfWork, key: str, **changes: Any) -> Any:
    fields: dict[str, Any] = {
        "idempotency_key": key, "source": "县医保局", "kind": "medical_expense",
        "household_id": "hh-001", "member_id": "m1", "occurred_on": date(2024, 2, 10),
        "payload": {"amount": 23000, "hospital": "县人民医院"},
    }
    fields.update(changes)
    return u.events.add(**fields)


def test_events_are_stored_once_per_key(uow: NewUow) -> None:
    with uow() as u:
        first = _event(u, "med-2024-0001")
        u.commit()
    with uow() as u:
        replay = _event(u, "med-2024-0001")
        u.commit()
    assert first.created and not replay.created
    assert replay.item.id == first.item.id
    assert replay.item.received_at == first.item.received_at
    with uow() as u:
        stored = u.events.get(first.item.id)
        assert (stored.source, stored.kind, stored.member_id, stored.payload) == (
            "县医保局", "medical_expense", "m1", {"amount": 23000, "hospital": "县人民医院"},
        )
        assert len(u.events.for_household("hh-001", since=date(2024, 1, 1),
                                         until=date(2024, 12, 31))) == 1


def test_a_reused_key_with_other_content_is_a_conflict(uow: NewUow) -> None:
    with uow() as u:
        _event(u, "med-2024-0001")
        u.commit()
    with uow() as u, pytest.raises(ConflictError, match=r"another event \(differs in payload\)"):
        _event(u, "med-2024-0001", payload={"amount": 1})


def test_a_household_s_event_window(uow: NewUow) -> None:
    with uow() as u:
        for n, day in enumerate([date(2023, 2, 28), date(2023, 3, 1), date(2024, 1, 5),
                                 date(2024, 3, 1), date(2024, 3, 2)]):
            _event(u, f"k{n}", occurred_on=day)
        _event(u, "other", household_id="hh-002")
        u.commit()
    with uow() as u:
        window = u.events.for_household("hh-001", since=date(2023, 3, 1), until=date(2024, 3, 1))
    assert [e.occurred_on for e in window] == [date(2023, 3, 1), date(2024, 1, 5),
                                              date(2024, 3, 1)]


def test_a_window_s_earlier_events_of_the_kinds_asked_for(uow: NewUow) -> None:
    with uow() as u:
        for n, (kind, day) in enumerate([
                ("INPATIENT_COST", date(2023, 3, 1)), ("DIBAO_GRANTED", date(2023, 6, 1)),
                ("INPATIENT_COST", date(2024, 1, 5)), ("DIBAO_GRANTED", date(2024, 3, 1)),
                ("HOUSING_REGRADED", date(2024, 3, 2)), ("INPATIENT_COST", date(2022, 1, 1))]):
            _event(u, f"k{n}", kind=kind, occurred_on=day, payload={"eventId": f"k{n}"})
        _event(u, "other", household_id="hh-002", kind="DIBAO_GRANTED",
               occurred_on=date(2023, 7, 1))
        u.commit()
    with uow() as u:
        every = u.events.window_rows({"hh-001": date(2023, 3, 1), "hh-002": date(2023, 1, 1)})
        some = u.events.window_rows({"hh-001": date(2023, 3, 1), "hh-002": date(2023, 1, 1)},
                                    every_kind_from={"hh-001": date(2024, 3, 1),
                                                     "hh-002": date(2023, 7, 1)},
                                    kinds={"INPATIENT_COST"})
    assert [(r.kind, r.occurred_on) for r in every["hh-001"]] == [
        ("INPATIENT_COST", date(2023, 3, 1)), ("DIBAO_GRANTED", date(2023, 6, 1)),
        ("INPATIENT_COST", date(2024, 1, 5)), ("DIBAO_GRANTED", date(2024, 3, 1)),
        ("HOUSING_REGRADED", date(2024, 3, 2))]
    assert [(r.kind, r.occurred_on) for r in some["hh-001"]] == [
        ("INPATIENT_COST", date(2023, 3, 1)), ("INPATIENT_COST", date(2024, 1, 5)),
        ("DIBAO_GRANTED", date(2024, 3, 1)), ("HOUSING_REGRADED", date(2024, 3, 2))]
    assert [r.idempotency_key for r in some["hh-002"]] == ["other"]
    assert some["hh-001"][0].payload == {"eventId": "k0"}


# --- alerts ---------------------------------------------------------------------------------


def _alert(u: UnitOfWork, household: str = "hh-001", region: str = "371300-001",
           cause: str = "medical:2024", events: tuple[str, ...] = ("e1",),
           explanation: dict[str, Any] | None = None) -> Any:
    return u.alerts.upsert(
        household_id=household, region_code=region, rule="alert.medical_burden", cause=cause,
        explanation=explanation or {"reasons": ["自付医疗费用 23000 > 20000"]},
        event_ids=events,
    )


def test_alert_upsert_never_raises_twice(uow: NewUow, clock: FakeClock) -> None:
    with uow() as u:
        raised = _alert(u)
        u.commit()
    with uow() as u:
        replay = _alert(u)  # the same evidence again: nothing changes
        u.commit()
    assert raised.created and not replay.created
    assert replay.item.id == raised.item.id
    assert replay.item.updated_at == raised.item.updated_at

    with uow() as u:
        more = _alert(u, events=("e2", "e1"), explanation={"reasons": ["更新"]})
        u.commit()
    assert not more.created
    assert more.item.event_ids == ["e1", "e2"]
    assert more.item.explanation == {"reasons": ["更新"]}
    assert more.item.updated_at > more.item.created_at
    with uow() as u:
        assert u.alerts.page(10).items == [u.alerts.get(raised.item.id)]
        stored = u.alerts.get(raised.item.id)
        assert (stored.status, stored.rule, stored.cause, stored.region_code) == (
            AlertStatus.OPEN, "alert.medical_burden", "medical:2024", "371300-001",
        )


def test_a_dismissed_alert_stays_dismissed_when_its_cause_is_seen_again(
    uow: NewUow, clock: FakeClock
) -> None:
    with uow() as u:
        alert = _alert(u).item
        alert.resolve(AlertStatus.DISMISSED, by="caseworker", at=clock(), note="已核实，误报")
        u.commit()
    with uow() as u:
        again = _alert(u, events=("e9",))
        u.commit()
    assert not again.created
    assert again.item.status is AlertStatus.DISMISSED
    assert (again.item.resolved_by, again.item.resolution_note) == ("caseworker", "已核实，误报")


def _firing(on: str, key: str, events: tuple[str, ...], member: str | None = "m1",
            **more: Any) -> AlertUpsert:
    # As correlation files them: an explanation names its firing event, and a stored one is
    # replaced by the same or a later firing only.
    def later_or_same(stored: Mapping[str, Any]) -> bool:
        return (on, key) >= (stored.get("occurredOn", ""), stored.get("eventKey", ""))

    return AlertUpsert(household_id="hh-001", region_code="371300-001",
                       rule="alert.medical_burden", cause="2024",
                       explanation={"occurredOn": on, "eventKey": key, "titleZh": "大额医疗",
                                    **more},
                       event_ids=events, member_id=member, replace_explanation=later_or_same)


@pytest.mark.parametrize("order_keys", [(), ("occurredOn", "eventKey")])
def test_alert_upsert_many_keeps_the_latest_firing_s_explanation(
    uow: NewUow, clock: FakeClock, order_keys: tuple[str, ...]
) -> None:
    def upsert(item: AlertUpsert) -> tuple[Any, bool]:
        with uow() as u:
            [(result, changed)] = u.alerts.upsert_many([item], order_keys=order_keys)
            u.commit()
        with uow() as u:  # what is returned is what is stored
            stored = u.alerts.get(result.item.id)
            assert (stored.explanation, stored.event_ids, stored.member_id, stored.updated_at,
                    stored.created_at, stored.status) == (
                result.item.explanation, result.item.event_ids, result.item.member_id,
                result.item.updated_at, result.item.created_at, result.item.status)
        return result, changed

    raised, changed = upsert(_firing("2024-03-01", "医保:b", ("e2",)))
    assert raised.created and changed
    # An earlier firing attaches its event; the later explanation and its member stay.
    earlier, changed = upsert(_firing("2024-02-01", "医保:a", ("e1",), member="m2"))
    assert not earlier.created and changed and earlier.item.id == raised.item.id
    assert earlier.item.event_ids == ["e2", "e1"]
    assert earlier.item.explanation == raised.item.explanation
    assert earlier.item.member_id == "m1" and earlier.item.updated_at > raised.item.updated_at
    # The same firing again: nothing changes.
    same, changed = upsert(_firing("2024-03-01", "医保:b", ("e2",)))
    assert not changed and same.item.updated_at == earlier.item.updated_at
    assert same.item.explanation == raised.item.explanation
    # The same firing explained otherwise (e.g. under a new version) replaces it.
    again, changed = upsert(_firing("2024-03-01", "医保:b", (), version="v2"))
    assert changed and again.item.explanation["version"] == "v2"
    assert again.item.event_ids == ["e2", "e1"]
    # A later firing replaces the explanation and the member.
    later, changed = upsert(_firing("2024-04-01", "医保:c", ("e3",), member="m2"))
    assert changed and later.item.explanation["eventKey"] == "医保:c"
    assert later.item.member_id == "m2" and later.item.event_ids == ["e2", "e1", "e3"]


def test_alert_upsert_many_finds_an_alert_raised_meanwhile(engine: Engine, uow: NewUow) -> None:
    """Two correlations of one household at once: the second waits for the first's insert
    and then adds its events to the alert the first raised (PostgreSQL: SQLite has one writer
    at a time, and a transaction that read before another's commit is refused)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    first = uow()
    first.__enter__()
    try:
        [(raised, _)] = first.alerts.upsert_many([_firing("2024-03-01", "医保:b", ("e2",))],
                                                 order_keys=("occurredOn", "eventKey"))
        results: list[Any] = []

        def second() -> None:
            with uow() as u:
                results.extend(u.alerts.upsert_many(
                    [_firing("2024-02-01", "医保:a", ("e1",))],
                    order_keys=("occurredOn", "eventKey")))
                u.commit()

        waiting = threading.Thread(target=second)
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive()  # its insert waits for the first transaction
        first.commit()
    finally:
        first.__exit__(None, None, None)
    waiting.join(10)
    [(found, changed)] = results
    assert not found.created and changed and found.item.id == raised.item.id
    assert found.item.event_ids == ["e2", "e1"]
    assert found.item.explanation == raised.item.explanation
    with uow() as u:
        assert u.alerts.get(raised.item.id).event_ids == ["e2", "e1"]


def test_alert_moves(uow: NewUow, clock: FakeClock) -> None:
    with uow() as u:
        alert = _alert(u).item
        alert.resolve(AlertStatus.VERIFIED, by="cw", at=clock(), note=None)
        alert.resolve(AlertStatus.INCLUDED, by="cw", at=clock(), note="纳入监测")
        with pytest.raises(ConflictError, match="it can move to nothing"):
            alert.resolve(AlertStatus.DISMISSED, by="cw", at=clock(), note=None)
        other = _alert(u, cause="other").item
        with pytest.raises(ConflictError, match="not INCLUDED"):
            other.resolve(AlertStatus.INCLUDED, by="cw", at=clock(), note=None)
        u.commit()
    with uow() as u:
        assert u.alerts.get(alert.id).status is AlertStatus.INCLUDED


def test_alert_pages_newest_first_with_status_and_region_filters(
    uow: NewUow, clock: FakeClock
) -> None:
    with uow() as u:
        for i in range(9):
            alert = _alert(u, household=f"hh-{i}", region=f"371300-00{i % 3}").item
            if i % 4 == 0:
                alert.resolve(AlertStatus.VERIFIED, by="cw", at=clock(), note=None)
        u.commit()
    with uow() as u:
        pages, after = [], None
        while True:
            page = u.alerts.page(4, after)
            pages.append([a.household_id for a in page.items])
            if not page.has_next_page:
                break
            after = page.end_cursor
        verified = u.alerts.page(10, status=AlertStatus.VERIFIED)
        open_in_region = u.alerts.page(10, status=AlertStatus.OPEN, region_codes=["371300-001"])
        nowhere = u.alerts.page(10, region_codes=[])
        one_household = u.alerts.page(10, household_id="hh-3")
    assert pages == [["hh-8", "hh-7", "hh-6", "hh-5"], ["hh-4", "hh-3", "hh-2", "hh-1"],
                     ["hh-0"]]
    assert [a.household_id for a in verified.items] == ["hh-8", "hh-4", "hh-0"]
    assert [a.household_id for a in open_in_region.items] == ["hh-7", "hh-1"]
    assert nowhere.items == []
    assert [a.household_id for a in one_household.items] == ["hh-3"]


def test_alerts_created_in_the_same_instant_page_by_id(uow: NewUow, clock: FakeClock) -> None:
    clock.step = timedelta(0)  # every alert stamped alike
    with uow() as u:
        ids = [_alert(u, household=f"hh-{i}").item.id for i in range(5)]
        u.commit()
    with uow() as u:
        first = u.alerts.page(2)
        rest = u.alerts.page(3, first.end_cursor)
    assert [a.id for a in first.items + rest.items] == sorted(ids, reverse=True)
    assert not rest.has_next_page


def test_alert_cursor_must_be_a_timestamp_and_id(uow: NewUow) -> None:
    with uow() as u:
        with pytest.raises(InvalidCursor):
            u.alerts.page(2, encode_cursor("yesterday", "x"))
        with pytest.raises(InvalidCursor):
            u.alerts.page(2, encode_cursor("2024-03-01T09:00:00", "x"))  # no zone
        with pytest.raises(InvalidCursor):
            u.alerts.page(2, encode_cursor("hh-1"))
