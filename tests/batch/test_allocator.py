"""A screening process keeps the pages polars frees (``screening.allocator``): the setting is
made before polars is loaded, and never over one that is given or once polars is loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from screening.allocator import KEEP_FREED, SETTING, keep_freed_memory

ROOT = Path(__file__).resolve().parents[2]

_PROGRAM = """
import json, os, sys
from screening.allocator import SETTING, keep_freed_memory
first = keep_freed_memory()
setting = os.environ.get(SETTING)
import polars
print(json.dumps([first, setting, keep_freed_memory()]))
"""


def _run(env: dict[str, str]) -> list[object]:
    done = subprocess.run([sys.executable, "-c", _PROGRAM], capture_output=True, text=True,
                          check=True, cwd=ROOT, env=env)
    result: list[object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_set_before_polars_is_loaded_and_only_then() -> None:
    env = {k: v for k, v in os.environ.items() if k != SETTING}
    assert _run(env) == [True, KEEP_FREED, False]


def test_a_given_setting_is_kept() -> None:
    env = {**os.environ, SETTING: "dirty_decay_ms:1000"}
    assert _run(env) == [False, "dirty_decay_ms:1000", False]


def test_not_once_polars_is_loaded() -> None:
    import polars  # noqa: F401  (loaded in this process: too late to set)

    before = os.environ.get(SETTING)
    assert keep_freed_memory() is False
    assert os.environ.get(SETTING) == before
