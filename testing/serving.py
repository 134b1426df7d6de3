"""A real server on loopback for the tests and benchmarks that talk to one over HTTP: a free
port, waiting for ``/readyz``, and ``policy-engine serve`` started and stopped as a process.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A loopback port nothing listens on (the kernel's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_ready(base: str, seconds: float = 60.0,
                     process: subprocess.Popen[bytes] | None = None) -> bool:
    """Poll /readyz of a server that is starting until it answers 200 (or time runs out: a
    generous bound, since a loaded 2-core machine can take many seconds to import; or the
    server's ``process``, when given, exits). Whether it became ready."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    return False


@contextmanager
def served(env: Mapping[str, str], options: Sequence[str] = (), code: Path = ROOT,
           ready_seconds: float = 60.0, stop_seconds: float = 60.0,
           log: Path | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``policy-engine serve`` of the checkout ``code`` (this one by default) with ``env`` and
    the serve ``options`` (e.g. ``--workers 2``) on a free port: its base URL and process once
    /readyz answers; stopped (SIGTERM) when the block ends. Its output (stdout and stderr) goes
    to the file ``log`` when given, otherwise nowhere."""
    port = free_port()
    with contextlib.ExitStack() as files:
        out: IO[bytes] | int = (files.enter_context(log.open("wb")) if log is not None
                                else subprocess.DEVNULL)
        server = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--port", str(port), *options],
            cwd=code, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            if not wait_until_ready(base, ready_seconds, server):
                said = (log.read_text(encoding="utf-8", errors="replace")[-2000:]
                        if log is not None else "")
                raise RuntimeError(f"the server at {base} was not ready within {ready_seconds} s "
                                   f"(exit code {server.poll()}) {said}".rstrip())
            yield base, server
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=stop_seconds)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
