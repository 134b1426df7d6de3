"""Running the store for real (docs/operations.md): on PostgreSQL the service runs as a role
that owns nothing, and backups of either database restore into a store that verifies."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import DBAPIError

from services.application import Application
from services.auth import Principal
from services.config import Settings
from services.impact_jobs import purge_jobs
from services.tokens import Tokens
from store.db import make_engine, migrate
from store.models import ImpactJob
from store.protections import grant_service_role
from store.types import utc_now
from store.verify import verify_store
from tests.databases import fresh_engine
from tests.store.conftest import postgres_url

CASEWORKER = Principal(name="cw-ops", role="caseworker", regions=frozenset({"371300"}))

needs_postgres = pytest.mark.skipif(not postgres_url(), reason="needs TEST_DATABASE_URL")


def _fill(app: Application) -> None:
    app.start()
    with app.uow() as uow:
        household = uow.households.page(1).items[0]
    app.determine_household(CASEWORKER, household.id, date(2024, 6, 1))


@pytest.fixture
def service_role() -> Iterator[str]:
    """A PostgreSQL login role of this test run only, dropped afterwards."""
    url = postgres_url()
    assert url
    role = f"pe_svc_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
    try:
        yield role
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP OWNED BY {role}")
            connection.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


def _schema(engine: Engine) -> str:
    with engine.connect() as connection:
        return str(connection.scalar(text("SELECT current_schema()")))


@pytest.mark.postgres
@needs_postgres
def test_the_service_role_owns_nothing_and_cannot_bypass_the_protections(
    tmp_path: Path, service_role: str,
) -> None:
    url = postgres_url()
    assert url
    with fresh_engine("postgresql", tmp_path, postgres_url=url, prefix="roles") as owner:
        migrate(owner)  # as the owner
        with owner.begin() as connection:
            grant_service_role(connection, service_role)
        service = make_engine(make_url(url).set(username=service_role),
                              connect_args={"options": f"-csearch_path={_schema(owner)}"})
        try:
            app = Application(Settings(env="test"), service)
            _fill(app)  # the service seeds, saves and records as its role
            # ... and deletes impact jobs past their retention (the one table it may)
            old = utc_now() - timedelta(days=30)
            with app.uow() as uow:
                uow.session.add(ImpactJob(
                    actor="policy_editor:ed", version_id="v", as_of=old.date(),
                    region_codes=[], first=1, status="DONE", households_done=0,
                    households_total=0, created_at=old, updated_at=old, finished_at=old))
                uow.commit()
            assert purge_jobs(app, 7) == 1
            # ... and issues and revokes tokens (the generation triggers run as its role)
            tokens = Tokens(app)
            token = tokens.create(role="auditor", name="au-role")
            assert tokens.principal(token) is not None
            [view] = [v for v in tokens.list() if v.login == "au-role"]
            tokens.revoke(view.id)
            assert tokens.principal(token) is None
            with service.connect() as connection:
                owned = connection.scalar(text(
                    "SELECT count(*) FROM pg_tables WHERE tableowner = current_user"))
            assert owned == 0
            for statement in (
                "TRUNCATE audit_log", "TRUNCATE rule_set_versions", "TRUNCATE rule_sets CASCADE",
                "TRUNCATE households CASCADE",
                "ALTER TABLE audit_log DISABLE TRIGGER ALL",
                "DROP TRIGGER rule_set_versions_frozen ON rule_set_versions",
                "UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log",
                "DELETE FROM determinations", "UPDATE household_fact_revisions SET facts = '{}'",
                "DELETE FROM rule_set_versions WHERE status = 'PUBLISHED'",
                "DELETE FROM rule_set_versions WHERE status = 'DRAFT'",  # no DELETE at all
                "SET session_replication_role = replica",
            ):
                with pytest.raises(DBAPIError, match=r"permission denied|must be owner"), \
                        service.begin() as connection:
                    connection.exec_driver_sql(statement)
            assert verify_store(service).ok
        finally:
            service.dispose()


def test_a_sqlite_backup_restores_and_verifies(tmp_path: Path) -> None:
    live = tmp_path / "live.sqlite3"
    engine = make_engine(f"sqlite:///{live}")
    try:
        _fill(Application(Settings(env="test"), engine))
        # The online backup (as `sqlite3 live.sqlite3 ".backup backup.sqlite3"` does it),
        # taken while the service holds its connections open.
        backup = tmp_path / "backup.sqlite3"
        source, target = sqlite3.connect(live), sqlite3.connect(backup)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        head = verify_store(engine)
    finally:
        engine.dispose()
    restored = tmp_path / "restored.sqlite3"
    shutil.copy(backup, restored)
    again = make_engine(f"sqlite:///{restored}")
    try:
        report = verify_store(again)
        assert report.ok, report.findings
        assert (report.head_id, report.head_hash) == (head.head_id, head.head_hash)
    finally:
        again.dispose()


@pytest.mark.postgres
@needs_postgres
def test_a_postgresql_dump_restores_and_verifies(tmp_path: Path) -> None:
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump and pg_restore are not installed")
    url = postgres_url()
    assert url
    plain = make_url(url)
    database = f"pe_restore_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    with fresh_engine("postgresql", tmp_path, postgres_url=url, prefix="dump") as engine:
        _fill(Application(Settings(env="test"), engine))
        head = verify_store(engine)
        schema = _schema(engine)
        dump = tmp_path / "store.dump"
        connection_args = ["-h", plain.host or "127.0.0.1", "-p", str(plain.port or 5432),
                           "-U", plain.username or "postgres"]
        subprocess.run(["pg_dump", *connection_args, "-d", plain.database or "test",
                        "-n", schema, "-Fc", "-f", str(dump)], check=True, timeout=120)
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {database}")
    try:
        subprocess.run(["pg_restore", *connection_args, "-d", database, "--no-owner",
                        str(dump)], check=True, timeout=120)
        restored = make_engine(plain.set(database=database),
                               connect_args={"options": f"-csearch_path={schema}"})
        try:
            report = verify_store(restored)
            assert report.ok, report.findings
            assert (report.head_id, report.head_hash) == (head.head_id, head.head_hash)
        finally:
            restored.dispose()
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {database} WITH (FORCE)")
        admin.dispose()


def test_the_verify_command_exits_1_on_tampering(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    engine = make_engine(url)
    try:
        _fill(Application(Settings(env="test"), engine))
    finally:
        engine.dispose()
    root = Path(__file__).resolve().parents[2]
    run = [sys.executable, "-m", "cli.main", "verify", "--database-url", url]
    env = {**os.environ, "DATABASE_URL": "sqlite:///unused.sqlite3"}
    clean = subprocess.run(run, cwd=root, env=env, capture_output=True, text=True,
                           timeout=120, check=False)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "ok: no sign of tampering" in clean.stdout
    head = clean.stdout.split("head ")[1].split(" ")[0]
    connection = sqlite3.connect(tmp_path / "cli.sqlite3")
    try:
        connection.execute("DROP TRIGGER audit_log_no_update")
        connection.execute("UPDATE audit_log SET actor = 'x' WHERE id = 2")
        connection.commit()
    finally:
        connection.close()
    tampered = subprocess.run([*run, "--anchor", head], cwd=root, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
    assert tampered.returncode == 1
    assert "TAMPERED PROTECTION_MISSING" in tampered.stdout
    assert "TAMPERED AUDIT_ENTRY_ALTERED: audit_log#2" in tampered.stdout
