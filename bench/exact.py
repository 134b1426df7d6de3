"""Exact numbers against the binary-float code before them, side by side in one run.

    python bench/exact.py [--before a881f16] [--also REV ...] [--households 200000]
                          [--fresh 600] [--rounds 4]

The float path cannot be selected any more, so the code before the exact-number change
(``--before``, default a881f16: the parent of the commit that made numbers exact) is checked
out into a temporary git worktree, as is each ``--also`` revision (e.g. f89afe4: the
exact-number change complete, and nothing after it). The same child harness runs under each
tree in turn, the order rotated each round. All read the same inputs, generated once by this
tree: ``--fresh`` 5-member households (valid under every tree) and a flat-layout Parquet
register of ``--households`` households.

Per round and tree, one child process measures:

* ``never seen``: after 300 other households (what a running service has seen), each of the
  fresh households' full explained determination in-process (``engine.determine``:
  validation, durable_rules, the condition tree, every outcome explained), each evaluated
  once; the median per call, in CPU time of the thread (``thread_time``) and in wall-clock
  time;
* ``batch``: screening the Parquet register end to end (``screening.runner.screen_file``:
  read, validate, evaluate, write Parquet; GRANTED and UNDETERMINED rows, by outcome), in
  households per CPU second of the process (all its threads) and per wall-clock second.

The machine is shared: the load average is printed with every round, and CPU time is the
figure to compare (wall-clock time moves with what else runs). The summary gives the median
over the rounds of each tree and the ratio after / before.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
AS_OF = date(2024, 6, 1)
SEED = 20240601


def child(tree: Path, fresh: Path, register: Path, output: Path) -> None:
    """Run under ``tree`` (its directory first on sys.path): print the figures as JSON."""
    sys.path.insert(0, str(tree))
    from engine.determine import determine
    from screening.runner import screen_file
    from services.rulesets import load_catalog

    versions = load_catalog().in_force(AS_OF)
    warm, households = json.loads(fresh.read_text(encoding="utf-8"))
    for hh in warm:  # what a running service has seen: its memos are not empty
        determine(hh, AS_OF, versions)
    cpu: list[float] = []
    wall: list[float] = []
    for hh in households:
        c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
        determine(hh, AS_OF, versions)
        cpu.append((time.thread_time_ns() - c0) / 1e3)
        wall.append((time.perf_counter_ns() - w0) / 1e3)
    c0, w0 = time.process_time(), time.perf_counter()
    summary = screen_file(register, output, AS_OF, versions,
                          statuses=frozenset({"GRANTED", "UNDETERMINED"}), order="outcome")
    batch_cpu, batch_wall = time.process_time() - c0, time.perf_counter() - w0
    n = summary["households"]["read"]
    print(json.dumps({
        "det_cpu_us": statistics.median(cpu), "det_wall_us": statistics.median(wall),
        "batch_cpu_per_s": n / batch_cpu, "batch_wall_per_s": n / batch_wall,
        "households": n, "invalid": summary["households"].get("invalid", 0),
    }))


def inputs(n_register: int, n_fresh: int) -> tuple[Path, Path]:
    import polars as pl

    from engine.batch.layout import flat_frame
    from testing.households import random_household

    OUT.mkdir(parents=True, exist_ok=True)
    register = OUT / f"exact-register-{n_register}-{SEED}.parquet"
    if not register.exists():
        rng = random.Random(SEED)
        frames = []
        for start in range(0, n_register, 50_000):
            batch = [random_household(rng, AS_OF, hid=f"hh-{i:08d}")
                     for i in range(start, min(n_register, start + 50_000))]
            frames.append(flat_frame(batch))
        pl.concat(frames).write_parquet(register, row_group_size=100_000)
    fresh = OUT / f"exact-fresh-{n_fresh}-{SEED}.json"
    rng = random.Random(SEED + 1)
    warm = [random_household(rng, AS_OF, hid=f"warm-{i}", members=5) for i in range(300)]
    new = [random_household(rng, AS_OF, hid=f"new-{i}", members=5) for i in range(n_fresh)]
    fresh.write_text(json.dumps([warm, new]), encoding="utf-8")
    return register, fresh


def measure(tree: Path, fresh: Path, register: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "exact.py"), "--child", str(tree),
             str(fresh), str(register), str(Path(tmp) / "out.parquet")],
            capture_output=True, text=True, check=False, cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree)})
    if done.returncode != 0:
        raise SystemExit(f"the child under {tree} failed:\n{done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", default="a881f16")
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--fresh", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--also", action="append", default=[],
                        help="another revision to measure beside them (repeatable)")
    parser.add_argument("--child", nargs=4, metavar=("TREE", "FRESH", "REGISTER", "OUTPUT"))
    args = parser.parse_args()
    if args.child:
        child(*(Path(p) for p in args.child))
        return
    sys.path.insert(0, str(ROOT))
    register, fresh = inputs(args.households, args.fresh)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                          capture_output=True, check=True).stdout.strip()
    worktrees: list[Path] = []
    trees: dict[str, Path] = {}
    try:
        for label, rev in [("before", args.before), *(("also", r) for r in args.also)]:
            path = Path(tempfile.mkdtemp(prefix=f"exact-{rev}-"))
            subprocess.run(["git", "worktree", "add", "--detach", str(path), rev],
                           cwd=ROOT, check=True, capture_output=True)
            worktrees.append(path)
            trees[f"{label} ({rev})"] = path
        trees[f"after ({head})"] = ROOT
        results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        print(f"never-seen determinations: {args.fresh} 5-member households; batch: "
              f"{args.households:,} households from Parquet (GRANTED+UNDETERMINED, by "
              f"outcome); as of {AS_OF}, {os.cpu_count()} cores")
        names = list(trees)
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                load = os.getloadavg()[0]
                got = measure(trees[name], fresh, register)
                results[name].append(got)
                print(f"round {r + 1} {name:<18} load {load:5.2f}  determination "
                      f"{got['det_cpu_us']:7.0f} µs CPU {got['det_wall_us']:7.0f} µs wall  "
                      f"batch {got['batch_cpu_per_s']:9,.0f}/CPU s "
                      f"{got['batch_wall_per_s']:9,.0f}/s wall  (invalid {got['invalid']:.0f})",
                      flush=True)
    finally:
        for path in worktrees:
            subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT,
                           check=False, capture_output=True)
            shutil.rmtree(path, ignore_errors=True)
    print("\nmedian over rounds")
    keys = [("det_cpu_us", "never seen, median CPU µs per determination", False),
            ("det_wall_us", "never seen, median wall µs per determination", False),
            ("batch_cpu_per_s", "batch from Parquet, households per CPU second", True),
            ("batch_wall_per_s", "batch from Parquet, households per wall second", True)]
    before_name = names[0]
    for key, label, higher_is_better in keys:
        b = statistics.median(x[key] for x in results[before_name])
        print(f"  {label}")
        for name in names:
            a = statistics.median(x[key] for x in results[name])
            change = (a / b - 1) * 100
            cost = -change if higher_is_better else change
            print(f"    {name:<22} {a:>10,.0f}" + ("" if name == before_name else
                  f"  ({change:+.1f} %; cost {cost:+.1f} %)"))

if __name__ == "__main__":
    main()
