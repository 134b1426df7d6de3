"""`policy-engine serve` as a real process (or several workers) on loopback, for tests that
need what only a real server shows: event-loop stalls, worker processes, timeouts."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from testing.serving import served

_LOGS = itertools.count(1)


@contextmanager
def serve(folder: Path, *args: str, env: dict[str, str] | None = None,
          database_url: str | None = None) -> Iterator[str]:
    """Run ``policy-engine serve ARGS`` (prod, seeded SQLite in ``folder`` unless
    ``database_url``) until ready; yields its base URL and stops it afterwards. Its output goes
    to a ``serve-N.log`` in ``folder`` (``server_log``)."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url or f"sqlite:///{folder / 'serve.sqlite3'}",
        "POLICY_ENGINE_ENV": "prod",
        "POLICY_ENGINE_LOG_LEVEL": "INFO",
        **(env or {}),
    }
    log = folder / f"serve-{os.getpid()}-{next(_LOGS)}.log"
    with served(environment, args, log=log, stop_seconds=30) as (base, _):
        yield base


def server_log(folder: Path) -> str:
    """Everything the servers started in ``folder`` wrote (stdout and stderr)."""
    return "".join(p.read_text(encoding="utf-8", errors="replace")
                   for p in sorted(folder.glob("serve-*.log")))
