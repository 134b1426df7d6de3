"""Exactly one open draft per rule set, even when two server processes race
`ruleSetDraftCreate`: two separate OS processes (started with ``spawn``, so nothing of the
test's process is shared), each with its own Application and connection pool on one database
(a SQLite file, or a PostgreSQL schema), create a draft of the same rule set at the same
moment, round after round. Exactly one draft is made each round and the other process is told
DRAFT_EXISTS, never an internal error such as SQLite's "database is locked"."""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from services.application import Application
from services.config import Settings
from tests.api.conftest import BACKENDS, fresh_engine
from tests.api.draft_race_worker import EDITOR, worker

ROUNDS = 6
WORKERS = 2


def _search_path(engine: Engine) -> str | None:
    """The options that put another process's connections in the test's own schema."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        schema = connection.scalar(text("SELECT current_schema()"))
    return f"-csearch_path={schema}"


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Application]:
    """A database of the test's own, migrated and seeded (monitoring has a published version
    and no open one)."""
    for engine in fresh_engine(request.param, tmp_path):
        application = Application(Settings(env="test"), engine)
        application.start()
        yield application


def _open_versions(app: Application) -> list[str]:
    with app.uow() as uow:
        return [v.id for v in uow.rule_sets.list_versions("monitoring")
                if v.status.value in ("DRAFT", "IN_REVIEW")]


def test_two_processes_racing_draft_creation_make_exactly_one(app: Application) -> None:
    url = app.engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    # The test and both workers meet at the barrier before each round: the workers then race,
    # the test waits for both answers, checks the database and deletes the draft.
    start, out = context.Barrier(WORKERS + 1), context.Queue()
    workers = [context.Process(target=worker, daemon=True,
                               args=(url, _search_path(app.engine), ROUNDS, start, out))
               for _ in range(WORKERS)]
    for w in workers:
        w.start()
    try:
        for round_ in range(ROUNDS):
            start.wait(timeout=120)
            try:
                results = [out.get(timeout=120) for _ in workers]
            except queue.Empty:
                pytest.fail(f"round {round_}: a worker did not answer "
                            f"(exit codes {[w.exitcode for w in workers]})")
            created = [r for r in results if r[0] == "created"]
            refused = [r for r in results if r[0] != "created"]
            assert len(created) == 1, (round_, results)
            assert [code for code, _ in refused] == ["DRAFT_EXISTS"] * (WORKERS - 1), (
                round_, results)
            assert _open_versions(app) == [created[0][1]], (round_, results)
            # Take the draft away again (a draft may be deleted; published versions may not).
            with app.engine.begin() as connection:
                connection.execute(text("DELETE FROM rule_set_versions WHERE id = :id"),
                                   {"id": created[0][1]})
    finally:
        for w in workers:
            w.join(timeout=60)
            if w.is_alive():
                w.kill()
    assert [w.exitcode for w in workers] == [0] * WORKERS


def test_the_database_itself_refuses_a_second_open_version(app: Application) -> None:
    """Even a writer that skips the service's check cannot store a second open version."""
    draft = app.editing.create_draft(EDITOR, "monitoring")
    with app.uow() as uow:
        doc = uow.rule_sets.get_version(draft.id).to_document()
    from store.errors import ConflictError

    with app.uow() as uow, pytest.raises(ConflictError):
        uow.rule_sets.add_version(doc.model_copy(update={"version": draft.version + 1}),
                                  author="someone")


def test_a_write_lock_held_past_the_busy_timeout_is_conflict_on_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process holding SQLite's write lock for longer than the busy timeout (here
    made 0.1 s) is CONFLICT, re-read and retry: not "database is locked" as an internal
    error, nor DRAFT_EXISTS, since no draft was made."""
    import sqlite3

    import store.db
    from services.errors import ServiceError

    monkeypatch.setattr(store.db, "SQLITE_BUSY_TIMEOUT_MS", 100)
    path = tmp_path / "locked.sqlite3"
    app = Application(Settings(env="test"), store.db.make_engine(f"sqlite:///{path}"))
    app.start()
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(ServiceError) as refused:
            app.editing.create_draft(EDITOR, "monitoring")
        assert refused.value.code == "CONFLICT", refused.value.message
        assert [(e.field, e.code) for e in refused.value.errors] == [("ruleSet", "CONFLICT")]
        other.execute("ROLLBACK")
        assert _open_versions(app) == []
        draft = app.editing.create_draft(EDITOR, "monitoring")
        assert _open_versions(app) == [draft.id]
    finally:
        other.close()
        app.engine.dispose()
