"""A server process of the draft-creation race (test_draft_race), in a module of its own so
that a spawned process imports only what it needs."""

from __future__ import annotations

from typing import Any

from services.application import Application
from services.auth import Principal
from services.config import Settings
from services.errors import ServiceError
from store.db import make_engine

EDITOR = Principal(name="ed-race", role="policy_editor", department="县扶贫办")


def worker(url: str, options: str | None, rounds: int, start: Any, out: Any) -> None:
    """One server process: its own engine and Application, one draft creation per round, each
    started with the other worker's at the barrier. Reports ``("created", id)``, the
    ServiceError's code, or the name of anything else raised."""
    kwargs: dict[str, Any] = {"connect_args": {"options": options}} if options else {}
    engine = make_engine(url, **kwargs)
    app = Application(Settings(database_url=url, env="prod", seed_fixtures=False), engine)
    app.start(migrate=False)
    try:
        for _ in range(rounds):
            start.wait(timeout=120)
            try:
                out.put(("created", app.editing.create_draft(EDITOR, "monitoring").id))
            except ServiceError as exc:
                out.put((exc.code, exc.message))
            except Exception as exc:  # reported, so the test shows what went wrong
                out.put((type(exc).__name__, str(exc)[:300]))
    finally:
        engine.dispose()
