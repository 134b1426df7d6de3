"""Migrations: an empty database goes to head, the result matches the models, and the
engine factory sets up each backend as promised."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from store.db import (
    DEFAULT_URL,
    alembic_config,
    current_revision,
    head_revision,
    is_up_to_date,
    make_engine,
    migrate,
    normalize_url,
)
from store.models import Base
from tests.store.conftest import postgres_url

TABLES = {
    "rule_sets", "rule_set_versions", "households", "household_fact_revisions",
    "determinations", "audit_log", "api_tokens", "events", "alerts", "users",
    "installation_secrets", "webhooks", "webhook_deliveries",
}


@pytest.mark.postgres
def test_postgresql_is_tested_too() -> None:
    if not postgres_url():
        pytest.skip(
            "store tests ran on SQLite only: set TEST_DATABASE_URL (e.g. "
            "postgresql+psycopg://postgres@127.0.0.1:5432/test) to run them on PostgreSQL too"
        )


def test_migrate_empty_database_to_head(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    assert not is_up_to_date(empty_engine)

    migrate(empty_engine)

    assert set(inspect(empty_engine).get_table_names()) >= TABLES
    assert current_revision(empty_engine) == head_revision()
    assert is_up_to_date(empty_engine)


def test_migrate_twice_is_a_no_op(engine: Engine) -> None:
    migrate(engine)
    assert current_revision(engine) == head_revision()


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    # A model changed without a migration (or the reverse) shows up here as a difference.
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_downgrade_to_base_and_up_again(engine: Engine) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert not TABLES & set(inspect(engine).get_table_names())
    migrate(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES


def test_sqlite_engine_creates_its_folder_and_turns_on_foreign_keys_and_wal(
    tmp_path: Path,
) -> None:
    database = tmp_path / "var" / "nested" / "pe.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    try:
        assert database.parent.is_dir()
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA recursive_triggers").scalar() == 1
    finally:
        engine.dispose()


def test_migrate_by_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'by-url.sqlite3'}"
    migrate(url)
    engine = make_engine(url)
    try:
        assert is_up_to_date(engine)
    finally:
        engine.dispose()


def test_urls_default_to_sqlite_under_var_and_psycopg_for_postgresql() -> None:
    assert DEFAULT_URL == "sqlite:///./var/policy-engine.sqlite3"
    assert normalize_url(None).database == "./var/policy-engine.sqlite3"
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
