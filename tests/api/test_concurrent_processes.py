"""Two processes creating one household id at the same moment, on SQLite (WAL, a busy
timeout) and PostgreSQL: exactly one is saved, the other is told CONFLICT (re-read and
retry), never "database is locked" as an internal error."""

from __future__ import annotations

import json
import multiprocessing
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from services.application import Application
from services.auth import Principal
from services.config import Settings
from services.rulesets import FIXTURES
from tests.api.conftest import postgres_url
from tests.databases import fresh_engine


def _save(url: str, options: str | None, start: Any, out: Any, hid: str) -> None:
    from services.errors import ServiceError
    from store.db import make_engine

    kwargs = {"connect_args": {"options": options}} if options else {}

    app = Application(Settings(database_url=url, env="prod", seed_fixtures=False),
                      make_engine(url, **kwargs))
    app.start(migrate=False)
    who = Principal(name="cw", role="caseworker", regions=frozenset({"371300-001"}),
                    token_id="t")
    data = json.loads((FIXTURES / "households" / "hh-002.json").read_text(encoding="utf-8"))
    data.update(id=hid, regionCode="371300-001")
    start.wait(timeout=60)
    try:
        app.save_household(who, data, date(2024, 6, 1), 0)
        out.put("saved")
    except ServiceError as exc:
        out.put(exc.code)
    except Exception as exc:  # reported, so the test shows what went wrong
        out.put(f"{type(exc).__name__}")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql",
                                                             marks=pytest.mark.postgres)])
def test_two_processes_create_one_household(backend: str, tmp_path: Path) -> None:
    if backend == "postgresql" and not postgres_url():
        pytest.skip("needs TEST_DATABASE_URL (PostgreSQL)")
    with fresh_engine(backend, tmp_path, postgres_url=postgres_url(),
                      prefix="race") as engine:
        Application(Settings(env="prod"), engine).start()
        url = engine.url.render_as_string(hide_password=False)
        options = _search_path(engine) if backend == "postgresql" else None
        context = multiprocessing.get_context("fork")  # imports already done: fast
        for round_ in range(2):
            start, out = context.Barrier(2), context.Queue()
            processes = [context.Process(target=_save,
                                         args=(url, options, start, out, f"race-{round_}"))
                         for _ in range(2)]
            for p in processes:
                p.start()
            for p in processes:
                p.join(timeout=120)
            results = sorted(out.get(timeout=10) for _ in processes)
            assert results == ["CONFLICT", "saved"], results
        with engine.connect() as conn:
            saved = conn.execute(text(
                "SELECT count(*) FROM households WHERE id LIKE 'race-%'")).scalar()
            revisions = conn.execute(text(
                "SELECT count(*) FROM household_fact_revisions WHERE household_id LIKE "
                "'race-%'")).scalar()
        assert (saved, revisions) == (2, 2)


def _search_path(engine: Any) -> str:
    """The test's own PostgreSQL schema, for the other processes' connections."""
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar()
    return f"-csearch_path={schema}"
