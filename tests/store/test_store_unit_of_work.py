"""The unit of work: all of a use case's writes land together, or none do."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import StatementError

from store.errors import ConflictError
from store.models import AuditEntry, HouseholdFactRevision, StoredHousehold
from store.uow import UnitOfWork
from tests.store.conftest import AS_OF, FakeClock, make_household

NewUow = Callable[[], UnitOfWork]


def _counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.scalar(select(func.count()).select_from(model))
            for model in (StoredHousehold, HouseholdFactRevision, AuditEntry)
        )


def _save_and_audit(u: UnitOfWork, household_id: str = "hh-001") -> None:
    stored = u.households.save(make_household(household_id), by="caseworker")
    u.audit.append(actor="caseworker", action="household.save", object_type="household",
                   object_id=stored.id, details={"revision": stored.revision})


def test_commit_writes_everything(engine: Engine, uow: NewUow) -> None:
    with uow() as u:
        _save_and_audit(u)
        u.commit()
    assert _counts(engine) == (1, 1, 1)


def test_leaving_without_commit_writes_nothing(engine: Engine, uow: NewUow) -> None:
    with uow() as u:
        _save_and_audit(u)
        assert u.households.find("hh-001") is not None  # visible inside the transaction
    assert _counts(engine) == (0, 0, 0)


def test_an_exception_leaves_nothing_behind(engine: Engine, uow: NewUow) -> None:
    with pytest.raises(RuntimeError, match="boom"), uow() as u:
        _save_and_audit(u)
        raise RuntimeError("boom")
    assert _counts(engine) == (0, 0, 0)


def test_a_failing_write_undoes_the_earlier_ones(engine: Engine, uow: NewUow) -> None:
    with uow() as u:
        _save_and_audit(u)
        # The household does not exist: the foreign key refuses, after two writes succeeded.
        with pytest.raises(ConflictError, match="determination conflicts with a stored row"):
            u.determinations.add(
                household_id="no-such-household", region_code="r", as_of=AS_OF, facts={},
                versions=[], result={}, created_by="caseworker",
            )
    assert _counts(engine) == (0, 0, 0)


def test_a_failure_at_commit_undoes_everything(engine: Engine, uow: NewUow) -> None:
    with uow() as u:
        _save_and_audit(u)
        # Added behind the repositories' back: only the commit's flush finds the problem.
        u.session.add(HouseholdFactRevision(household_id="hh-001", revision=1, facts={},
                                            recorded_at=u.now(), recorded_by="x"))
        with pytest.raises(ConflictError,
                           match=r"conflicts with a stored row|already has this row"):
            u.commit()
    assert _counts(engine) == (0, 0, 0)


def test_explicit_rollback_then_more_work(engine: Engine, uow: NewUow) -> None:
    with uow() as u:
        _save_and_audit(u, "hh-001")
        u.rollback()
        _save_and_audit(u, "hh-002")
        u.commit()
    with uow() as u:
        assert u.households.find("hh-001") is None
        assert u.households.get("hh-002").revision == 1


def test_objects_stay_readable_after_the_unit_of_work(uow: NewUow) -> None:
    with uow() as u:
        _save_and_audit(u)
        u.commit()
    with uow() as u:
        stored = u.households.get("hh-001")
    assert stored.facts["id"] == "hh-001"  # read after the session closed


def test_a_unit_of_work_is_opened_once_at_a_time(uow: NewUow) -> None:
    unit = uow()
    with pytest.raises(RuntimeError, match="not open"):
        unit.session  # noqa: B018
    with unit, pytest.raises(RuntimeError, match="already open"):
        unit.__enter__()
    with unit:  # and can be used again afterwards
        assert unit.households.find("x") is None


def test_timestamps_come_back_as_aware_utc(uow: NewUow, clock: FakeClock) -> None:
    china = timezone(timedelta(hours=8))
    clock.current = datetime(2024, 3, 1, 16, 30, tzinfo=china)
    with uow() as u:
        entry = u.audit.append(actor="a", action="x", object_type="t", object_id="1")
        u.commit()
    with uow() as u:
        again = u.session.get(AuditEntry, entry.id, populate_existing=True)
    assert again is not None
    assert again.at.utcoffset() == timedelta(0)
    assert again.at == datetime(2024, 3, 1, 8, 30, 0, 1000, tzinfo=UTC)


def test_naive_timestamps_are_refused(uow: NewUow) -> None:
    with uow() as u:
        u.session.add(AuditEntry(at=datetime(2024, 3, 1, 8, 0), actor="a", action="x",
                                 object_type="t", object_id="1", details={}))
        with pytest.raises(StatementError, match="expected a timezone-aware datetime"):
            u.session.flush()
