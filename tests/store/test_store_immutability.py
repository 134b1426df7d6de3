"""What may never change cannot be changed: through the ORM (listeners), through raw SQL on the
store's engine (triggers, reported as ImmutableError), or through the driver itself."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, delete, text, update

from policy.document import RuleSetDocument
from store.errors import ConflictError, ImmutableError
from store.models import (
    AuditEntry,
    DeterminationRecord,
    HouseholdFactRevision,
    RuleSetVersion,
    VersionStatus,
)
from store.uow import UnitOfWork
from tests.store.conftest import AS_OF, FakeClock, as_version, make_household

NewUow = Callable[[], UnitOfWork]


def _raw(engine: Engine, sql: str, **params: Any) -> None:
    """Run one statement through the store's engine (triggers' refusals are translated)."""
    with engine.begin() as connection:
        connection.execute(text(sql), params)


def _driver_error(engine: Engine) -> type[Exception]:
    """The exception the bare driver raises when a trigger refuses a statement."""
    if engine.dialect.name == "sqlite":
        import sqlite3

        return sqlite3.IntegrityError
    import psycopg

    return psycopg.errors.RestrictViolation


def _driver(engine: Engine, sql: str, params: tuple[Any, ...]) -> None:
    """Run one statement on a bare DBAPI connection: no SQLAlchemy listener is involved."""
    placeholder = "?" if engine.dialect.name == "sqlite" else "%s"
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(sql.replace("?", placeholder), params)
        finally:
            cursor.close()
            connection.rollback()
    finally:
        connection.close()


# --- published versions ---------------------------------------------------------------------


def test_orm_refuses_to_change_a_published_document(uow: NewUow, published_v1: str) -> None:
    with uow() as u:
        version = u.rule_sets.get_version(published_v1)
        version.content_hash = "0" * 64
        version.effective_from = date(2022, 1, 1)
        with pytest.raises(ImmutableError, match=r"is PUBLISHED and cannot change "
                                                 r"\(content_hash, effective_from\)"):
            u.session.flush()
    with uow() as u:
        version = u.rule_sets.get_version(published_v1)
        assert version.effective_from == date(2023, 1, 1)
        assert version.content_hash != "0" * 64


@pytest.mark.parametrize(
    ("column", "value"),
    [("version", 7), ("document", {"program": "monitoring"}), ("author", "someone")],
)
def test_orm_refuses_each_frozen_column(
    uow: NewUow, published_v1: str, column: str, value: Any
) -> None:
    with uow() as u:
        version = u.rule_sets.get_version(published_v1)
        setattr(version, column, value)
        with pytest.raises(ImmutableError, match=column):
            u.commit()


def test_orm_refuses_moves_other_than_retirement(
    uow: NewUow, published_v1: str, clock: FakeClock
) -> None:
    with uow() as u:
        u.rule_sets.get_version(published_v1).status = VersionStatus.DRAFT
        with pytest.raises(ImmutableError, match=r"\(status\)"):
            u.commit()
    with uow() as u:
        u.rule_sets.get_version(published_v1).retire(by="approver", at=clock())
        u.commit()
    with uow() as u:
        retired = u.rule_sets.get_version(published_v1)
        retired.retired_by = "someone else"
        with pytest.raises(ImmutableError, match="is RETIRED and cannot change"):
            u.commit()
    with uow() as u:
        retired = u.rule_sets.get_version(published_v1)
        retired.status = VersionStatus.PUBLISHED
        with pytest.raises(ImmutableError):
            u.commit()


def test_orm_refuses_to_delete_a_published_version(uow: NewUow, published_v1: str) -> None:
    with uow() as u:
        u.session.delete(u.rule_sets.get_version(published_v1))
        with pytest.raises(ImmutableError, match="cannot be deleted"):
            u.commit()


def test_orm_refuses_a_change_to_a_version_it_did_not_load_first(
    uow: NewUow, published_v1: str
) -> None:
    # The listener must know the stored status even when the object was expired.
    with uow() as u:
        version = u.rule_sets.get_version(published_v1)
        u.session.expire(version)
        version.content_hash = "f" * 64
        with pytest.raises(ImmutableError):
            u.commit()


def test_raw_sql_cannot_change_or_delete_a_published_version(
    engine: Engine, published_v1: str
) -> None:
    for sql in (
        "UPDATE rule_set_versions SET content_hash = 'x' WHERE id = :id",
        "UPDATE rule_set_versions SET document = '{}' WHERE id = :id",
        "UPDATE rule_set_versions SET effective_from = '2020-01-01' WHERE id = :id",
        "UPDATE rule_set_versions SET status = 'DRAFT' WHERE id = :id",
        "UPDATE rule_set_versions SET version = 9 WHERE id = :id",
        "DELETE FROM rule_set_versions WHERE id = :id",
    ):
        with pytest.raises(ImmutableError, match="rule set version"):
            _raw(engine, sql, id=published_v1)
    with pytest.raises(_driver_error(engine), match="immutable"):
        _driver(engine, "UPDATE rule_set_versions SET content_hash = 'x' WHERE id = ?",
                (published_v1,))


def test_orm_bulk_update_of_published_versions_is_refused_by_the_database(
    uow: NewUow, published_v1: str
) -> None:
    with uow() as u, pytest.raises(ImmutableError):
        u.session.execute(update(RuleSetVersion).values(content_hash="x"))


def test_raw_sql_may_retire_a_published_version_but_not_touch_it_afterwards(
    engine: Engine, published_v1: str
) -> None:
    _raw(
        engine,
        "UPDATE rule_set_versions SET status = 'RETIRED', retired_by = 'approver', "
        "retired_at = published_at WHERE id = :id",
        id=published_v1,
    )
    with pytest.raises(ImmutableError):
        _raw(engine, "UPDATE rule_set_versions SET retired_by = 'x' WHERE id = :id",
             id=published_v1)
    with pytest.raises(ImmutableError):
        _raw(engine, "DELETE FROM rule_set_versions WHERE id = :id", id=published_v1)


def test_drafts_stay_editable_and_deletable(
    engine: Engine, uow: NewUow, monitoring_v1: RuleSetDocument, published_v1: str
) -> None:
    with uow() as u:
        draft = u.rule_sets.add_version(as_version(monitoring_v1, 2), author="editor")
        u.commit()
    _raw(engine, "UPDATE rule_set_versions SET author = 'other' WHERE id = :id", id=draft.id)
    _raw(engine, "DELETE FROM rule_set_versions WHERE id = :id", id=draft.id)
    with uow() as u:
        assert [v.version for v in u.rule_sets.list_versions("monitoring")] == [1]


# --- append-only tables ---------------------------------------------------------------------


@pytest.fixture
def records(uow: NewUow) -> dict[str, str]:
    """One row in each append-only table; their keys."""
    with uow() as u:
        entry = u.audit.append(actor="a", action="household.save", object_type="household",
                               object_id="hh-001")
        stored = u.households.save(make_household(), by="caseworker")
        determination = u.determinations.add(
            household_id=stored.id, household_revision=1, region_code=stored.region_code,
            as_of=AS_OF, facts=stored.facts, versions=[], result={"programs": []},
            created_by="caseworker",
        )
        u.commit()
    return {"audit": str(entry.id), "determination": determination.id, "household": stored.id}


APPEND_ONLY_SQL = [
    ("audit_log", "UPDATE audit_log SET actor = 'x' WHERE id = :id", "audit"),
    ("audit_log", "DELETE FROM audit_log WHERE id = :id", "audit"),
    ("determinations", "UPDATE determinations SET result = '{}' WHERE id = :id",
     "determination"),
    ("determinations", "DELETE FROM determinations WHERE id = :id", "determination"),
    ("household_fact_revisions",
     "UPDATE household_fact_revisions SET recorded_by = 'x' WHERE household_id = :id",
     "household"),
    ("household_fact_revisions",
     "DELETE FROM household_fact_revisions WHERE household_id = :id", "household"),
]


@pytest.mark.parametrize(("table", "sql", "key"), APPEND_ONLY_SQL)
def test_raw_sql_cannot_change_append_only_rows(
    engine: Engine, records: dict[str, str], table: str, sql: str, key: str
) -> None:
    with pytest.raises(ImmutableError, match=f"{table} is append-only"):
        _raw(engine, sql, id=records[key])


def test_the_driver_itself_is_refused(engine: Engine, records: dict[str, str]) -> None:
    with pytest.raises(_driver_error(engine), match="immutable"):
        _driver(engine, "DELETE FROM audit_log WHERE id = ?", (int(records["audit"]),))
    with pytest.raises(_driver_error(engine), match="immutable"):
        _driver(engine, "UPDATE determinations SET created_by = 'x' WHERE id = ?",
                (records["determination"],))


def test_orm_refuses_to_update_or_delete_append_only_rows(
    uow: NewUow, records: dict[str, str]
) -> None:
    with uow() as u:
        u.determinations.get(records["determination"]).created_by = "someone else"
        with pytest.raises(ImmutableError, match="determinations is append-only; cannot update"):
            u.commit()
    with uow() as u:
        entry = u.session.get(AuditEntry, int(records["audit"]))
        assert entry is not None
        entry.details = {"rewritten": True}
        with pytest.raises(ImmutableError, match="audit_log is append-only; cannot update"):
            u.commit()
    with uow() as u:
        u.session.delete(u.households.history(records["household"])[0])
        with pytest.raises(ImmutableError, match="cannot delete"):
            u.commit()
    with uow() as u:
        u.session.delete(u.determinations.get(records["determination"]))
        with pytest.raises(ImmutableError, match="cannot delete"):
            u.commit()


@pytest.mark.parametrize("model", [AuditEntry, DeterminationRecord, HouseholdFactRevision])
def test_orm_bulk_statements_on_append_only_tables_are_refused(
    uow: NewUow, records: dict[str, str], model: type[Any]
) -> None:
    with uow() as u, pytest.raises(ImmutableError, match="append-only; cannot update rows"):
        u.session.execute(update(model).values(**{_a_text_column(model): "x"}))
    with uow() as u, pytest.raises(ImmutableError, match="append-only; cannot delete rows"):
        u.session.execute(delete(model))


def _a_text_column(model: type[Any]) -> str:
    return {AuditEntry: "actor", DeterminationRecord: "created_by",
            HouseholdFactRevision: "recorded_by"}[model]


def test_setting_an_equal_value_is_not_a_change(uow: NewUow, records: dict[str, str]) -> None:
    with uow() as u:
        record = u.determinations.get(records["determination"])
        record.created_by = record.created_by
        u.commit()  # nothing to write, nothing refused


def test_append_only_rows_survive_every_attempt(
    engine: Engine, uow: NewUow, records: dict[str, str]
) -> None:
    for _, sql, key in APPEND_ONLY_SQL:
        with pytest.raises(ImmutableError):
            _raw(engine, sql, id=records[key])
    with uow() as u:
        assert u.audit.page(10).items[0].actor == "a"
        assert u.determinations.get(records["determination"]).result == {"programs": []}
        assert len(u.households.history(records["household"])) == 1


def test_sqlite_insert_or_replace_cannot_overwrite_the_audit_log(
    engine: Engine, records: dict[str, str]
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("INSERT OR REPLACE is SQLite's")
    # REPLACE deletes the old row: a BEFORE INSERT trigger refuses it first, on any
    # connection (tests/store/test_store_tamper.py tries plain ones).
    with pytest.raises(ConflictError, match="audit_log already has this row"):
        _raw(
            engine,
            "INSERT OR REPLACE INTO audit_log (id, at, actor, action, object_type, object_id, "
            "details) VALUES (:id, '2024-01-01 00:00:00', 'x', 'x', 'x', 'x', '{}')",
            id=int(records["audit"]),
        )


def test_postgresql_truncate_of_the_audit_log_is_refused(
    engine: Engine, records: dict[str, str]
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE triggers are PostgreSQL's")
    with pytest.raises(ImmutableError, match="audit_log is append-only; cannot truncate"):
        _raw(engine, "TRUNCATE audit_log")
