"""Tamper evidence that does not depend on database permissions: each way of changing what may
never change is either refused by the database, whatever client sends it, or found by
``verify_store`` (``policy-engine verify``). On SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, text

from services.application import Application
from services.auth import Principal
from services.config import Settings
from store.audit_chain import GENESIS
from store.verify import verify_store

CASEWORKER = Principal(name="cw-1", role="caseworker", regions=frozenset({"371300"}))


@pytest.fixture
def app(engine: Engine) -> Application:
    """The service's store: fixtures seeded, a household saved and a determination recorded,
    so every protected table has rows."""
    application = Application(Settings(env="test"), engine)
    application.start()
    with application.uow() as uow:
        household = uow.households.page(1).items[0]
    application.determine_household(CASEWORKER, household.id, date(2024, 6, 1))
    return application


def kinds(engine: Engine, anchors: Any = ()) -> set[str]:
    return {f.kind for f in verify_store(engine, anchors).findings}


@contextmanager
def bypass(engine: Engine) -> Iterator[Callable[[str], None]]:
    """A connection on which the triggers do not fire, as someone with the database's
    highest privileges could open: PostgreSQL's superuser turns them off for the session;
    on SQLite anyone who can write the file can drop them (and then put them back)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            yield lambda sql: connection.exec_driver_sql(sql)
        return
    with engine.begin() as connection:
        triggers = list(connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
        for name, _ in triggers:
            connection.exec_driver_sql(f"DROP TRIGGER {name}")
        yield lambda sql: connection.exec_driver_sql(sql)
        for _, sql in triggers:
            connection.exec_driver_sql(sql)


def test_an_untouched_store_verifies(app: Application) -> None:
    report = verify_store(app.engine)
    assert report.ok, report.findings
    assert report.audit_entries > 10 and report.versions >= 7 and report.determinations == 1
    assert report.head_hash != GENESIS and report.head_id is not None
    # The head can be kept elsewhere and checked again later.
    assert verify_store(app.engine, [(report.head_id, report.head_hash)]).ok


def test_the_audit_log_is_hash_chained(app: Application) -> None:
    with app.uow() as uow:
        entries = uow.audit.page(5).items[::-1]
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.entry_hash
    assert len({e.entry_hash for e in entries}) == len(entries)


def test_an_altered_audit_entry_is_found(app: Application) -> None:
    with bypass(app.engine) as run:
        run("UPDATE audit_log SET actor = 'someone-else' WHERE id = 3")
    assert "AUDIT_ENTRY_ALTERED" in kinds(app.engine)


def test_a_removed_audit_entry_is_found(app: Application) -> None:
    with bypass(app.engine) as run:
        run("DELETE FROM audit_log WHERE id = 4")
    assert "AUDIT_CHAIN_BROKEN" in kinds(app.engine)


def test_a_cut_off_tail_is_found_by_an_anchor(app: Application) -> None:
    # The last entry records something nothing else cross-checks (a token issued).
    from services.tokens import Tokens

    Tokens(app).create(role="auditor", name="au-tail")
    head = verify_store(app.engine)
    assert head.head_id is not None
    with bypass(app.engine) as run:
        run(f"DELETE FROM audit_log WHERE id = {head.head_id}")
    assert kinds(app.engine) == set()  # a chain alone cannot show a missing tail ...
    assert kinds(app.engine, [(head.head_id, head.head_hash)]) == {"AUDIT_ANCHOR_MISSING"}


def test_a_rewritten_published_document_is_found_and_not_served(app: Application) -> None:
    # The document of a published version is changed, its recorded contentHash kept.
    with bypass(app.engine) as run:
        if app.engine.dialect.name == "postgresql":
            run("UPDATE rule_set_versions SET document = jsonb_set(document, "
                "'{title,en}', '\"Tampered\"') WHERE id = 'monitoring-v1'")
        else:
            run("UPDATE rule_set_versions SET document = json_set(document, "
                "'$.title.en', 'Tampered') WHERE id = 'monitoring-v1'")
    assert "CONTENT_HASH_MISMATCH" in kinds(app.engine)
    # A fresh process (a new Application) recomputes every hash when it loads the versions.
    from services.errors import ServiceError
    from services.integrity import FAILURES

    fresh = Application(Settings(env="test"), app.engine)
    before = FAILURES["content_hash_mismatch"]
    household = {"id": "x", "regionCode": "371300-001", "annualNetIncome": 1000,
                 "members": [{"id": "m1", "relation": "HEAD", "birthDate": "1970-01-01"}]}
    with pytest.raises(ServiceError) as refused:
        fresh.evaluate(CASEWORKER, household, date(2024, 6, 1), ["monitoring"])
    assert refused.value.code == "VERSION_INTEGRITY"
    assert FAILURES["content_hash_mismatch"] > before
    # Other programs are still served.
    det = fresh.evaluate(CASEWORKER, household, date(2024, 6, 1), ["education"])
    assert [p.program for p in det.programs] == ["education"]


def test_a_moved_effective_date_is_found(app: Application) -> None:
    with bypass(app.engine) as run:
        run("UPDATE rule_set_versions SET effective_from = '2020-01-01' "
            "WHERE id = 'education-v2'")
    assert kinds(app.engine) == {"VERSION_ALTERED"}


def test_rewritten_fact_history_and_determinations_are_found(app: Application) -> None:
    with bypass(app.engine) as run:
        run("DELETE FROM household_fact_revisions WHERE revision = 1 AND household_id = "
            "(SELECT id FROM households ORDER BY id LIMIT 1)")
        run("INSERT INTO determinations (id, region_code, as_of, facts, versions, result, "
            "created_at, created_by) VALUES ('forged', '371300-001', '2024-01-01', '{}', "
            "'[{\"contentHash\": \"00\"}]', '{}', '2024-01-01 00:00:00', 'x')")
    assert kinds(app.engine) >= {"FACT_HISTORY_ALTERED", "DETERMINATION_NOT_IN_AUDIT_LOG",
                                 "DETERMINATION_VERSION_MISSING"}


def test_dropped_or_disabled_protections_are_found(app: Application) -> None:
    with app.engine.begin() as connection:
        if app.engine.dialect.name == "postgresql":
            connection.exec_driver_sql(
                "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
            connection.exec_driver_sql("DROP TRIGGER rule_set_versions_frozen "
                                       "ON rule_set_versions")
        else:
            connection.exec_driver_sql("DROP TRIGGER audit_log_no_replace")
    found = kinds(app.engine)
    assert "PROTECTION_MISSING" in found
    if app.engine.dialect.name == "postgresql":
        assert "PROTECTION_DISABLED" in found


# --- SQLite: a plain connection (no recursive_triggers) ---------------------------------------


def _plain(engine: Engine) -> sqlite3.Connection:
    database = engine.url.database
    assert database
    return sqlite3.connect(database, isolation_level=None)  # the sqlite3 defaults otherwise


REPLACEMENTS = [
    ("audit_log", "REPLACE INTO audit_log (id, at, actor, action, object_type, object_id, "
     "details, prev_hash, entry_hash) SELECT id, at, 'forger', action, object_type, object_id, "
     "details, prev_hash, entry_hash FROM audit_log WHERE id = 1"),
    ("determinations", "REPLACE INTO determinations SELECT id, household_id, household_revision,"
     " region_code, as_of, facts, versions, '{}', created_at, created_by FROM determinations"),
    ("household_fact_revisions", "INSERT OR REPLACE INTO household_fact_revisions SELECT "
     "household_id, revision, '{}', recorded_at, recorded_by FROM household_fact_revisions "
     "LIMIT 1"),
    ("rule_set_versions", "REPLACE INTO rule_set_versions (id, rule_set_code, version, status, "
     "effective_from, document, content_hash, revision, author, published_by, published_at, "
     "created_at) SELECT id, rule_set_code, version, 'DRAFT', effective_from, document, "
     "content_hash, revision, author, published_by, published_at, created_at "
     "FROM rule_set_versions WHERE id = 'monitoring-v1'"),
    ("rule_set_versions", "REPLACE INTO rule_set_versions (id, rule_set_code, version, status, "
     "document, content_hash, revision, author, created_at) VALUES ('new', 'monitoring', 1, "
     "'DRAFT', '{}', 'x', 1, 'forger', '2024-01-01')"),
    ("rule_set_versions", "UPDATE OR REPLACE rule_set_versions SET version = 1 WHERE "
     "status = 'DRAFT' AND rule_set_code = 'education'"),
    ("rule_sets", "REPLACE INTO rule_sets SELECT code, title_zh, title_en, '别的部门', "
     "created_at FROM rule_sets WHERE code = 'monitoring'"),
    ("rule_sets", "DELETE FROM rule_sets WHERE code = 'monitoring'"),
]


def test_sqlite_refuses_replacement_from_a_plain_connection(app: Application) -> None:
    if app.engine.dialect.name != "sqlite":
        pytest.skip("REPLACE INTO and plain connections are SQLite's")
    app.editing.create_draft(Principal(name="ed", role="policy_editor", department="县教体局"),
                             "education")  # for UPDATE OR REPLACE to displace v1 with
    before = verify_store(app.engine)
    assert before.ok, before.findings
    connection = _plain(app.engine)
    try:
        assert connection.execute("PRAGMA recursive_triggers").fetchone() == (0,)
        for table, sql in REPLACEMENTS:
            with pytest.raises(sqlite3.IntegrityError, match=r"^(immutable|conflict):"):
                connection.execute(sql)
            assert connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0
    finally:
        connection.close()
    after = verify_store(app.engine)
    assert after.ok and after.head_hash == before.head_hash


# --- PostgreSQL: TRUNCATE ---------------------------------------------------------------------

TRUNCATES = ["rule_set_versions", "rule_sets CASCADE", "audit_log", "determinations",
             "household_fact_revisions", "households CASCADE", "users CASCADE",
             "api_tokens CASCADE"]


def test_postgresql_refuses_truncate_even_to_the_owner(app: Application) -> None:
    if app.engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    from store.errors import ImmutableError

    for target in TRUNCATES:
        with pytest.raises(ImmutableError, match=r"cannot be truncated|append-only"), \
                app.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {target}"))
    assert verify_store(app.engine).ok
