"""A screening process keeps the pages polars and Arrow free (``screening.allocator``): each
setting is made before its library is loaded, and never over one that is given or once the
library is loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from screening.allocator import (
    ARROW_KEEP_FREED,
    ARROW_SETTING,
    KEEP_FREED,
    SETTING,
    keep_freed_memory,
)

ROOT = Path(__file__).resolve().parents[2]

_PROGRAM = """
import json, os, sys
from screening.allocator import ARROW_SETTING, SETTING, keep_freed_memory
first = keep_freed_memory()
setting = os.environ.get(SETTING)
arrow = os.environ.get(ARROW_SETTING)
import polars, pyarrow
print(json.dumps([first, setting, arrow, keep_freed_memory()]))
"""


def _run(env: dict[str, str]) -> list[object]:
    done = subprocess.run([sys.executable, "-c", _PROGRAM], capture_output=True, text=True,
                          check=True, cwd=ROOT, env=env)
    result: list[object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _without_settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in (SETTING, ARROW_SETTING)}


def test_set_before_polars_and_arrow_are_loaded_and_only_then() -> None:
    assert _run(_without_settings()) == [True, KEEP_FREED, ARROW_KEEP_FREED, False]


def test_a_given_setting_is_kept() -> None:
    env = {**_without_settings(), SETTING: "dirty_decay_ms:1000"}
    assert _run(env) == [True, "dirty_decay_ms:1000", ARROW_KEEP_FREED, False]
    env = {**_without_settings(), SETTING: "dirty_decay_ms:1000", ARROW_SETTING: "100"}
    assert _run(env) == [False, "dirty_decay_ms:1000", "100", False]


def test_not_once_polars_and_arrow_are_loaded() -> None:
    import polars  # noqa: F401  (loaded in this process: too late to set)
    import pyarrow  # type: ignore[import-untyped]  # noqa: F401

    before = os.environ.get(SETTING), os.environ.get(ARROW_SETTING)
    assert keep_freed_memory() is False
    assert (os.environ.get(SETTING), os.environ.get(ARROW_SETTING)) == before


_ENDING = """
import gc, sys
gc.disable()  # no collection before the end (the last ones run all the same)
from screening.allocator import skip_final_collection
if sys.argv[1] == "skip":
    skip_final_collection()
    skip_final_collection()  # registered once

class Cycle:
    def __init__(self):
        self.me = self

    def __del__(self):
        sys.stdout.write("collected\\n")

Cycle()
print("done")
"""


def test_a_screening_process_ends_without_its_last_collections() -> None:
    # Garbage left when the process ends (here a cycle, which only a collection frees) is
    # not traversed at exit after ``skip_final_collection``: the interpreter's last
    # collections are what makes a screening run's process end 0.1-0.15 s late. Without it,
    # the cycle is collected at exit.
    def ending(mode: str) -> list[str]:
        done = subprocess.run([sys.executable, "-c", _ENDING, mode], capture_output=True,
                              text=True, check=True, cwd=ROOT)
        return done.stdout.split()

    assert ending("keep") == ["done", "collected"]
    assert ending("skip") == ["done"]


def test_collections_are_paused_while_a_screening_command_starts_and_back_after() -> None:
    import gc

    from screening.allocator import collections_paused

    assert gc.isenabled()
    with collections_paused() as started:
        assert not gc.isenabled()
        made = [[] for _ in range(1000)]  # what the start makes, frozen when it is done
        frozen = gc.get_freeze_count()
        started()
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(made) and gc.get_count()[0] < 100
    assert gc.isenabled()
    with collections_paused():  # an error or an early return: back on all the same
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collections_paused() as started:
            started()
            assert not gc.isenabled()  # as they were: off
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_screen_command_leaves_collections_on_whatever_it_answers(tmp_path: Path) -> None:
    import gc

    from cli.main import main

    assert main(["screen", str(tmp_path / "none.csv"), "--out", str(tmp_path / "out.parquet"),
                 "--as-of", "2024-06-01"]) == 2
    assert gc.isenabled()
    register = ROOT / "fixtures" / "screening" / "register.jsonl"
    assert main(["screen", str(register), "--out", str(tmp_path / "out.parquet"),
                 "--as-of", "2024-06-01", "--no-progress"]) == 0
    assert gc.isenabled()
