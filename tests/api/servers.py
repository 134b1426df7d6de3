"""`policy-engine serve` as a real process (or several workers) on loopback, for tests that
need what only a real server shows: event-loop stalls, worker processes, timeouts."""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

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


def pids_of(folder: Path, request_ids: list[str], seconds: float = 15.0) -> set[int]:
    """The worker processes whose log lines name these requests (``workers_of``)."""
    return set(workers_of(folder, request_ids, seconds).values())


def workers_of(folder: Path, request_ids: list[str], seconds: float = 15.0) -> dict[str, int]:
    """The worker process (its pid) whose log line names each of these requests. A worker
    writes a request's line after it has sent the answer, so a line may come after the client
    has its answer: waits (at most ``seconds``) until every request's line is there."""
    deadline = time.monotonic() + seconds
    while True:
        text = server_log(folder)
        lines = [json.loads(line) for line in text[:text.rfind("\n") + 1].splitlines()
                 if line.startswith("{")]  # whole lines only: a worker may be writing one
        found = {line["request_id"]: line["pid"] for line in lines
                 if line.get("request_id") in request_ids}
        if len(found) == len(request_ids) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def wait_for_workers(base: str, folder: Path, workers: int, seconds: float = 120.0) -> None:
    """Until ``workers`` distinct worker processes have answered /healthz, each asked on a
    fresh connection. /readyz (what ``serve`` waits for) is answered by the first worker
    ready; on a loaded machine another may still be importing for many seconds, and until it
    listens the kernel hands every connection to the first."""
    deadline = time.monotonic() + seconds
    asked: list[str] = []
    while len(pids_of(folder, asked, seconds=5)) < workers:
        assert time.monotonic() < deadline, f"fewer than {workers} workers answered"
        for _ in range(5):
            asked.append(f"up{len(asked)}")
            httpx.get(f"{base}/healthz", headers={"x-request-id": asked[-1]}, timeout=30)
