"""The GraphQL fast paths are written for one series of strawberry and of graphql-core
(``graphql_api.WRITTEN_FOR``): pyproject.toml bounds both to it, and this test says clearly
when the installed versions are not the ones the code was written for."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from graphql_api import WRITTEN_FOR

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _series(version: str, parts: int) -> str:
    return ".".join(version.split(".")[:parts])


@pytest.mark.parametrize("dist", sorted(WRITTEN_FOR))
def test_installed_version_is_the_one_the_fast_paths_were_written_for(dist: str) -> None:
    written = WRITTEN_FOR[dist]
    installed = metadata.version(dist)
    assert _series(installed, written.count(".") + 1) == written, (
        f"{dist} {installed} is installed, but graphql_api's fast paths (projection, variables) "
        f"were written for {written}.x: read the upstream diff of the execution context and of "
        f"Executor.build, adapt graphql_api/projection.py and variables.py, then update "
        f"graphql_api.WRITTEN_FOR and the bounds in pyproject.toml")


@pytest.mark.parametrize("dist", sorted(WRITTEN_FOR))
def test_pyproject_bounds_the_dependency_to_that_series(dist: str) -> None:
    deps = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    (spec,) = [d for d in deps if re.match(rf"{re.escape(dist)}\b", d)]
    upper = re.search(r"<\s*([\d.]+)", spec)
    assert upper is not None, f"{spec}: no upper bound"
    written = [int(x) for x in WRITTEN_FOR[dist].split(".")]
    next_series = [*written[:-1], written[-1] + 1]
    assert [int(x) for x in upper.group(1).split(".")] == next_series, spec
    lower = re.search(r">=\s*([\d.]+)", spec)
    assert lower is not None and lower.group(1) == WRITTEN_FOR[dist], spec
