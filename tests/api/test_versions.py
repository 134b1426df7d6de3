"""The GraphQL fast paths are written for one series of strawberry and of graphql-core
(``graphql_api.WRITTEN_FOR``): pyproject.toml bounds both to it, and this test says clearly
when the installed versions are not the ones the code was written for; the copy of
graphql-core's ``Executor.build`` in ``graphql_api/variables.py`` is held to the installed one,
statement by statement."""

from __future__ import annotations

import ast
import difflib
import inspect
import re
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

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


def _statements(function: Any) -> tuple[list[str], list[str]]:
    """A function's parameters (name and default) and its statements, as ``ast.unparse``
    writes them (comments, annotations, docstring and layout left out)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    definition = tree.body[0]
    assert isinstance(definition, ast.FunctionDef)
    args = definition.args
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    parameters = [f"{a.arg}={ast.unparse(d) if d else ''}"
                  for a, d in zip(positional, defaults, strict=True)]
    parameters += [f"*{args.vararg.arg}" if args.vararg else "*"]
    parameters += [f"{a.arg}={ast.unparse(d) if d else ''}"
                   for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    parameters += [f"**{args.kwarg.arg}" if args.kwarg else ""]
    body = definition.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return parameters, [ast.unparse(s) for s in body]


def test_the_copied_executor_build_is_upstreams_with_one_call_changed() -> None:
    """``CompiledVariablesExecutionContext.build`` is graphql-core's ``Executor.build`` with
    ``get_variable_values`` replaced by ``compiled_variable_values``: the same parameters, the
    same names and the same statements. On a new graphql-core, the difference printed here is
    what to port (copy upstream's ``build`` again and change that one call)."""
    from graphql.execution.executor import Executor

    from graphql_api.variables import CompiledVariablesExecutionContext

    upstream = _statements(Executor.build.__func__)  # type: ignore[attr-defined]
    ours = _statements(CompiledVariablesExecutionContext.build.__func__)  # type: ignore[attr-defined]
    ours_as_upstream = (ours[0], [s.replace("compiled_variable_values(", "get_variable_values(")
                                  for s in ours[1]])
    assert sum(s.count("compiled_variable_values(") for s in ours[1]) == 1
    if ours_as_upstream != upstream:
        diff = "\n".join(difflib.unified_diff(
            [*upstream[0], *"\n".join(upstream[1]).splitlines()],
            [*ours_as_upstream[0], *"\n".join(ours_as_upstream[1]).splitlines()],
            "graphql-core Executor.build", "graphql_api.variables build", lineterm=""))
        pytest.fail("graphql_api/variables.py's copy of Executor.build has parted from the "
                    f"installed graphql-core's:\n{diff}")
