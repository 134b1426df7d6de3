"""Exactly one open draft per rule set, even when two server processes race
`ruleSetDraftCreate`: two Applications (two engines, so two connection pools) on one database,
each creating a draft of the same rule set at the same moment from its own thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from services.application import Application
from services.auth import Principal
from services.config import Settings
from services.errors import ServiceError
from store.db import make_engine
from tests.api.conftest import BACKENDS, fresh_engine

EDITOR = Principal(name="ed-race", role="policy_editor", department="县扶贫办")
ROUNDS = 8


def _second_engine(engine: Engine) -> Engine:
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name != "postgresql":
        return make_engine(url)
    with engine.connect() as connection:
        schema = connection.scalar(text("SELECT current_schema()"))
    return make_engine(url, connect_args={"options": f"-csearch_path={schema}"})


@pytest.fixture(params=BACKENDS)
def two_apps(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Application]]:
    for engine in fresh_engine(request.param, tmp_path):
        settings = Settings(env="test")
        first = Application(settings, engine)
        first.start()
        second = Application(settings, _second_engine(engine))
        yield [first, second]
        second.engine.dispose()


def _race(apps: list[Application]) -> list[object]:
    start = threading.Barrier(len(apps))
    results: list[object] = [None] * len(apps)

    def create(i: int) -> None:
        start.wait()
        try:
            results[i] = apps[i].editing.create_draft(EDITOR, "monitoring")
        except (ServiceError, OperationalError) as exc:
            results[i] = exc

    threads = [threading.Thread(target=create, args=(i,)) for i in range(len(apps))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_processes_racing_draft_creation_make_exactly_one(
    two_apps: list[Application],
) -> None:
    app = two_apps[0]
    for round_ in range(ROUNDS):
        results = _race(two_apps)
        created = [r for r in results if not isinstance(r, Exception)]
        refused = [r for r in results if isinstance(r, Exception)]
        assert len(created) == 1 and len(refused) == 1, (round_, results)
        if isinstance(refused[0], ServiceError):
            assert refused[0].code == "DRAFT_EXISTS", refused[0].message
        else:
            # SQLite refuses the second writer's upgrade from reading to writing at once
            # ("database is locked"); turning that into CONFLICT is the SQLite locking work's.
            assert app.engine.dialect.name == "sqlite", refused[0]
        with app.uow() as uow:
            open_ = [v for v in uow.rule_sets.list_versions("monitoring")
                     if v.status.value in ("DRAFT", "IN_REVIEW")]
        assert len(open_) == 1, round_
        # Take the draft away again (a draft may be deleted; published versions may not).
        with app.engine.begin() as connection:
            connection.execute(text("DELETE FROM rule_set_versions WHERE id = :id"),
                               {"id": open_[0].id})


def test_the_database_itself_refuses_a_second_open_version(
    two_apps: list[Application],
) -> None:
    """Even a writer that skips the service's check cannot store a second open version."""
    app = two_apps[0]
    draft = app.editing.create_draft(EDITOR, "monitoring")
    with app.uow() as uow:
        doc = uow.rule_sets.get_version(draft.id).to_document()
    from store.errors import ConflictError

    with app.uow() as uow, pytest.raises(ConflictError):
        uow.rule_sets.add_version(doc.model_copy(update={"version": draft.version + 1}),
                                  author="someone")
