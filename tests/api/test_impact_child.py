"""The impact preview's child process ends with the serving process that started it, even when
that process is killed outright and cannot shut its pool down."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

SCRIPT = """
import os, sys
from services.application import Application
from services.config import Settings
from services.impact_pool import ImpactPool

app = Application(Settings(database_url=sys.argv[1], env="dev"))
app.start()
pool = ImpactPool(app, enabled=True)
print(pool._executor().submit(os.getpid).result(), flush=True)
os._exit(0)  # as SIGKILL would: no atexit, no pool shutdown
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose (its parent, init, reaps it).
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_the_child_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'child.sqlite3'}"
    done = subprocess.run([sys.executable, "-c", SCRIPT, url], capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    child = int(done.stdout.split()[-1])
    deadline = time.monotonic() + 30  # it checks twice a second; a loaded machine is slower
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(child):
        os.kill(child, 9)
        raise AssertionError("the impact child outlived the process that started it")


def _application(tmp_path: Path) -> Any:
    from services.application import Application
    from services.config import Settings

    app = Application(Settings(database_url=f"sqlite:///{tmp_path / 'early.sqlite3'}",
                               env="test"))
    app.start()
    return app


def test_a_store_larger_than_an_in_process_preview_starts_the_process_early(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import services.impact_pool as impact_pool

    app = _application(tmp_path)
    monkeypatch.setattr(impact_pool, "IN_PROCESS_HOUSEHOLDS", 0)
    try:
        started = app.impacts.start_early()
        assert started is not None
        started.join(60)
        assert not started.is_alive()
        pool = app.impacts._pool
        assert pool is not None, "the preview process was not started early"
        child = pool.submit(os.getpid).result(timeout=60)
        assert child != os.getpid() and _alive(child)
    finally:
        app.impacts.close()


def test_a_small_store_or_a_closed_pool_starts_no_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import services.impact_pool as impact_pool

    app = _application(tmp_path)
    assert 0 < app.household_count() <= impact_pool.IN_PROCESS_HOUSEHOLDS
    started = app.impacts.start_early()
    assert started is not None
    started.join(60)
    assert app.impacts._pool is None  # previews of so few households run in the worker

    monkeypatch.setattr(impact_pool, "IN_PROCESS_HOUSEHOLDS", 0)
    app.impacts.close()  # a server stopping before the early start got its turn
    started = app.impacts.start_early()
    assert started is not None
    started.join(60)
    assert app.impacts._pool is None
