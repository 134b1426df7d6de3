"""`policy-engine serve` as a real process (or several workers) on loopback, for tests that
need what only a real server shows: event-loop stalls, worker processes, timeouts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.api.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def serve(folder: Path, *args: str, env: dict[str, str] | None = None,
          database_url: str | None = None) -> Iterator[str]:
    """Run ``policy-engine serve ARGS`` (prod, seeded SQLite in ``folder`` unless
    ``database_url``) until ready; yields its base URL and stops it afterwards."""
    port = free_port()
    log = (folder / f"serve-{port}.log").open("wb")
    environment = {
        **os.environ,
        "DATABASE_URL": database_url or f"sqlite:///{folder / 'serve.sqlite3'}",
        "POLICY_ENGINE_ENV": "prod",
        "POLICY_ENGINE_LOG_LEVEL": "INFO",
        **(env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(port), *args],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"serve exited with {process.returncode}: "
                                   f"{(folder / f'serve-{port}.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("serve did not become ready within 60 s")
            time.sleep(0.1)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hang is a failure below
            process.kill()
            process.wait()
        log.close()


def server_log(folder: Path) -> str:
    """Everything the servers started in ``folder`` wrote (stdout and stderr)."""
    return "".join(p.read_text(encoding="utf-8", errors="replace")
                   for p in sorted(folder.glob("serve-*.log")))
