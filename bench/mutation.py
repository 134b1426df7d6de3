"""Mutation testing of the core: does the test suite fail when the code is subtly wrong?

A small AST mutator, written for this layout (mutmut and cosmic-ray copy or rewrite the tree,
which fights with the editable install, the fixtures found next to the packages and the
durable_rules engine state). For every function and method of the modules below it makes the
usual small mutations, one at a time:

* a comparison flipped or widened (``<`` / ``<=``, ``>`` / ``>=``, ``==`` / ``!=``,
  ``in`` / ``not in``, ``is`` / ``is not``),
* ``and`` / ``or`` swapped, a ``not`` dropped,
* ``+`` / ``-`` and ``*`` / ``/`` swapped,
* a number made one larger, ``True`` / ``False`` swapped,
* a call made as a statement removed (``check_agreement(...)``, ``failures.append(...)``).

Each mutant is run in a forked child of a process that has imported the project once: the child
swaps the mutated function's code object in place (so every reference to the function sees the
mutant) and runs the module's test subset with ``pytest -x``. A mutant is *killed* when the
subset fails (or errors, or runs past the time limit), and *survives* when it passes. Code at
module level (constants, tables) is not mutated.

Bounded time on a shared machine: each module is tested with the tests that concern it (not
the whole suite, SQLite only), and at most ``--per-module`` mutants of it are run, drawn with a
fixed seed from all its mutants, so two runs (say with the tests of an older commit,
``--tests-from REV``) test the same mutants. Not part of CI.

    .venv/bin/python bench/mutation.py                       # the working tree's tests
    .venv/bin/python bench/mutation.py --tests-from 50a8ea4  # an older commit's tests
    .venv/bin/python bench/mutation.py --list                # the mutants, without running
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import CodeType, FunctionType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# Module -> the tests that concern it, fastest and most pointed first (``-x`` stops at the
# first failure, so a killed mutant costs little; a survivor runs them all).
PINNED = ["tests/scenarios/test_pinned_policy.py", "tests/scenarios/test_shipped_policy.py"]
ENGINE = [*PINNED, "tests/engine/test_testcases.py", "tests/engine/test_agreement.py",
          "tests/engine/test_impact.py", "tests/unit/test_conditions.py"]
TARGETS: dict[str, list[str]] = {
    "policy/facts.py": ["tests/unit/test_fact_boundaries.py", "tests/unit/test_facts.py",
                        *PINNED],
    "policy/catalog.py": ["tests/unit/test_catalog.py", *PINNED,
                          "tests/store/test_store_rulesets.py"],
    "policy/document.py": ["tests/unit/test_document_structure.py",
                           "tests/unit/test_validation.py", *PINNED],
    "policy/validation.py": ["tests/unit/test_validation.py"],
    "policy/diff.py": ["tests/unit/test_diff.py"],
    "policy/conditions/parser.py": ["tests/unit/test_conditions.py", *PINNED],
    "policy/conditions/typecheck.py": ["tests/unit/test_conditions.py",
                                       "tests/unit/test_validation.py", *PINNED],
    "policy/conditions/printer.py": ["tests/unit/test_printer_brackets.py",
                                     "tests/unit/test_conditions.py", *PINNED],
    "engine/values.py": ENGINE,
    "engine/determine.py": ENGINE,
    "engine/evaluator.py": ENGINE,
    "engine/testcases.py": ENGINE,
    "engine/explain.py": ENGINE,
    "engine/trace.py": ENGINE,
    "services/auth.py": ["tests/unit/test_auth.py", "tests/api/test_households.py",
                         "tests/api/test_four_eyes.py", "tests/api/test_rulesets.py"],
    "services/editing.py": ["tests/api/test_four_eyes.py", "tests/api/test_rulesets.py"],
}

_COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
            ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
            ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_BINARY = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
_SYMBOL = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
           ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
           ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.And: "and",
           ast.Or: "or"}


@dataclass(frozen=True)
class Mutant:
    module: str      # file path relative to the root
    function: str    # qualified name of the patched function or method
    index: int       # the n-th mutable spot of the module (in walk order)
    line: int
    what: str        # e.g. "`<` -> `<=`"

    @property
    def key(self) -> str:
        return f"{self.module}:{self.line}:{self.function}:{self.index}:{self.what}"


@dataclass
class Result:
    mutant: Mutant
    outcome: str     # killed | survived | timeout | not-applied
    seconds: float


# --- finding mutants ----------------------------------------------------------------------------


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """Like ``ast.walk`` (breadth first), but not into annotations, which never run."""
    todo = [node]
    while todo:
        current = todo.pop(0)
        yield current
        for name, value in ast.iter_fields(current):
            if name in ("annotation", "returns"):
                continue
            if isinstance(value, ast.AST):
                todo.append(value)
            elif isinstance(value, list):
                todo.extend(v for v in value if isinstance(v, ast.AST))


def _targets(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Module-level functions and methods of module-level classes, with qualified names."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node.name, node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    yield f"{node.name}.{item.name}", item


def _spots(fn: ast.AST) -> Iterator[tuple[ast.AST, str, int]]:
    """(node, description, choice) for every mutation inside a function, in walk order."""
    # The body only: defaults and decorators are evaluated once, when the module is imported.
    assert isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
    for node in (n for stmt in fn.body for n in _walk(stmt)):
        if isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                swapped = _COMPARE.get(type(op))
                if swapped:
                    yield node, f"`{_SYMBOL[type(op)]}` -> `{_SYMBOL[swapped]}`", k
        elif isinstance(node, ast.BoolOp):
            other = ast.Or if isinstance(node.op, ast.And) else ast.And
            yield node, f"`{_SYMBOL[type(node.op)]}` -> `{_SYMBOL[other]}`", 0
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield node, "`not x` -> `x`", 0
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            yield node, f"`{_SYMBOL[type(node.op)]}` -> `{_SYMBOL[_BINARY[type(node.op)]]}`", 0
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            yield node, f"`{node.value}` -> `{not node.value}`", 0
        elif isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            yield node, f"`{node.value!r}` -> `{node.value + 1!r}`", 0
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            yield node, f"call removed: `{ast.unparse(node.value)[:60]}`", 0


def find_mutants(module: str) -> list[Mutant]:
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    out: list[Mutant] = []
    for qualname, fn in _targets(tree):
        for node, what, _ in _spots(fn):
            out.append(Mutant(module, qualname, len(out), getattr(node, "lineno", fn.lineno),
                              what))
    return out


def _mutated_tree(m: Mutant) -> ast.Module:
    tree = ast.parse((ROOT / m.module).read_text(encoding="utf-8"))
    k = 0
    for _, fn in _targets(tree):
        for node, _what, choice in _spots(fn):
            if k == m.index:
                _apply(node, choice, fn)
                return ast.fix_missing_locations(tree)
            k += 1
    raise LookupError(m.key)


def _apply(node: ast.AST, choice: int, fn: ast.AST) -> None:
    if isinstance(node, ast.Compare):
        node.ops[choice] = _COMPARE[type(node.ops[choice])]()
    elif isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif isinstance(node, ast.UnaryOp):
        _replace(fn, node, node.operand)
    elif isinstance(node, ast.BinOp):
        node.op = _BINARY[type(node.op)]()
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        node.value = not node.value
    elif isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        node.value = node.value + 1
    elif isinstance(node, ast.Expr):
        _replace(fn, node, ast.Pass())


def _replace(root: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(root):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is old:
                        value[i] = new
                        return
    raise LookupError("node not found")


# --- applying one in a child --------------------------------------------------------------------


def _module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def _code_of(code: CodeType, qualname: str) -> CodeType | None:
    for const in code.co_consts:
        if isinstance(const, CodeType):
            if const.co_qualname == qualname:
                return const
            found = _code_of(const, qualname)
            if found is not None:
                return found
    return None


def _live_function(module: Any, qualname: str) -> FunctionType | None:
    owner: Any = module
    *outer, name = qualname.split(".")
    for part in outer:
        owner = getattr(owner, part)
    raw: Any = (owner.__dict__.get(name) if isinstance(owner, type)
                else getattr(owner, name, None))
    for attr in ("__func__", "fget", "func"):  # staticmethod/classmethod, property, cached
        raw = getattr(raw, attr, raw)
    while not isinstance(raw, FunctionType) and hasattr(raw, "__wrapped__"):
        raw = raw.__wrapped__
    return raw if isinstance(raw, FunctionType) else None


def apply_in_memory(m: Mutant) -> bool:
    """Swap the live function's code for the mutant's; False when it cannot be done."""
    module = importlib.import_module(_module_name(m.module))
    compiled = compile(_mutated_tree(m), str(ROOT / m.module), "exec")
    code = _code_of(compiled, m.function)
    fn = _live_function(module, m.function)
    if code is None or fn is None or code.co_freevars != fn.__code__.co_freevars:
        return False
    fn.__code__ = code
    return True


def run_child(m: Mutant | None, tests: list[str], test_root: Path, timeout: float) -> str:
    """Fork, apply ``m`` (None: the unmutated baseline), run the tests; the outcome."""
    pid = os.fork()
    if pid == 0:  # the child
        code = 3
        try:
            os.setpgid(0, 0)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            if m is not None and not apply_in_memory(m):
                os._exit(99)
            import pytest

            os.chdir(test_root)
            sys.path.insert(0, str(test_root))
            code = int(pytest.main([
                "-x", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
                "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(test_root),
                "--hypothesis-seed=0", "--hypothesis-profile=dev", "-o", "addopts=", *tests]))
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.02)
    code = os.waitstatus_to_exitcode(status)
    if code == 99:
        return "not-applied"
    if code == 0:
        return "survived"
    if code in (4, 5):  # usage error, no tests: the run is wrong, not the mutant caught
        raise RuntimeError(f"pytest exited {code} for {tests} in {test_root}")
    return "killed"


# --- the run ------------------------------------------------------------------------------------


def tests_of(rev: str | None) -> Path:
    if rev is None:
        return ROOT
    folder = Path(tempfile.mkdtemp(prefix="mutation-tests-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "tests"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def with_fixtures(test_root: Path) -> Path:
    """Tests find fixtures/ beside tests/: the working tree's (the policy under test)."""
    if not (test_root / "fixtures").exists():
        (test_root / "fixtures").symlink_to(ROOT / "fixtures")
    return test_root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tests-from", help="run the tests of this git revision (default: the "
                    "working tree's)")
    ap.add_argument("--tests-root", type=Path,
                    help="a folder holding a tests/ tree to run instead (e.g. extracted with "
                    "git archive)")
    ap.add_argument("--per-module", type=int, default=30,
                    help="mutants drawn per module (0: all)")
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--only", action="append", help="a module path (repeatable)")
    ap.add_argument("--timeout-factor", type=float, default=3.0,
                    help="time limit per mutant: this times the module's baseline, at least 30 s")
    ap.add_argument("--json", type=Path, help="write every result here")
    ap.add_argument("--list", action="store_true", help="list the drawn mutants and stop")
    args = ap.parse_args()

    os.environ.pop("TEST_DATABASE_URL", None)  # SQLite only
    test_root = with_fixtures(args.tests_root.resolve() if args.tests_root
                              else tests_of(args.tests_from))
    modules = args.only or list(TARGETS)
    results: list[Result] = []
    summary: dict[str, dict[str, int]] = {}
    started = time.monotonic()
    for module in modules:
        every = find_mutants(module)
        drawn = every
        if args.per_module and len(every) > args.per_module:
            drawn = sorted(random.Random(f"{args.seed}:{module}").sample(every, args.per_module),
                           key=lambda m: m.index)
        if args.list:
            for m in drawn:
                print(m.key)
            continue
        tests = [t for t in TARGETS[module] if (test_root / t).exists()]
        importlib.import_module(_module_name(module))
        t0 = time.monotonic()
        baseline = run_child(None, tests, test_root, timeout=1800)
        base_seconds = time.monotonic() - t0
        if baseline != "survived":
            raise SystemExit(f"{module}: its tests fail without a mutant ({baseline})")
        limit = max(30.0, args.timeout_factor * base_seconds)
        counts = {"mutants": len(every), "drawn": len(drawn), "killed": 0, "survived": 0,
                  "timeout": 0, "not-applied": 0}
        for m in drawn:
            t1 = time.monotonic()
            outcome = run_child(m, tests, test_root, limit)
            results.append(Result(m, outcome, round(time.monotonic() - t1, 2)))
            counts[outcome] += 1
            if outcome == "survived":
                print(f"  survived {m.module}:{m.line} {m.function}: {m.what}", flush=True)
        summary[module] = counts
        run = counts["killed"] + counts["timeout"] + counts["survived"]
        print(f"{module}: {counts['killed'] + counts['timeout']}/{run} killed "
              f"({counts['timeout']} by time limit), {counts['not-applied']} not applied, "
              f"{len(drawn)} of {len(every)} mutants; baseline {base_seconds:.1f} s", flush=True)
    if args.list:
        return
    killed = sum(c["killed"] + c["timeout"] for c in summary.values())
    run = killed + sum(c["survived"] for c in summary.values())
    print(f"total: {killed}/{run} killed ({100 * killed / max(run, 1):.1f} %) in "
          f"{time.monotonic() - started:.0f} s; tests from "
          f"{args.tests_from or args.tests_root or 'the working tree'}")
    if args.json:
        args.json.write_text(json.dumps({
            "tests_from": args.tests_from or str(args.tests_root or "") or None,
            "per_module": args.per_module, "seed": args.seed,
            "summary": summary,
            "results": [{**asdict(r.mutant), "outcome": r.outcome, "seconds": r.seconds}
                        for r in results],
        }, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
