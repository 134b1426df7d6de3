"""Batch screening throughput: the vectorised backend next to the per-household path.

    python bench/batch.py [--households 1000000] [--sample 2000] [--repeat 3]
                          [--chunk-size 400000]

One run, side by side:

* generates N households (``testing.households.random_household``, every program in force on
  2024-06-01) into a flat-layout Parquet register under bench/out/ (kept for the next run);
* screens it end to end with ``policy-engine screen`` (read, validate, evaluate, write Parquet)
  in a child process, writing every outcome and writing only GRANTED and UNDETERMINED ones
  (rows grouped by outcome, the Parquet default; the latter also in household order),
  ``--repeat`` times each: the median households/s (the slowest and fastest beside it) and the
  children's peak resident memory;
* evaluates the same households already in memory (the vectorised evaluator alone, rows by
  outcome);
* runs the per-household path on a sample of the same households, on one core: the full
  explained determination (``engine.determine``, what the API answers) and durable_rules'
  firing alone (``engine.evaluator.fire_all`` on derived facts);
* prints the ratios. Targets: >= 500,000 households/s end to end from Parquet, >= 50 times
  the per-household path, peak memory < 2 GiB.

``--inputs`` compares the ways in instead: the same households as JSON Lines, flat Parquet and
flat CSV (generated once beside the Parquet register), screened to GRANTED+UNDETERMINED
Parquet, and JSON Lines to every-outcome CSV (the screen command's default for it, the wide
layout, and the long layout beside it), and the flat CSV as a Chinese spreadsheet saves it
(GB18030, the facts' Chinese labels as its header; ``--encoding gb18030``); wall time from
each child's start, its peak memory, its CPU seconds (the least of the runs) and the load
average before each run.
``--against DIR`` runs every child also from another checkout (e.g. ``git archive`` of the
commit before a change, its bench/out linked to this one's), alternating, before and after
side by side; ``--kinds`` picks some of the six. Each checkout's modules are compiled first
(``compile_checkout``), so that neither run compiles its sources at start.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AS_OF = date(2024, 6, 1)
SEED = 20240601
OUT = ROOT / "bench" / "out"


def generate(n: int, path: Path) -> float:
    """The same generated households as a flat Parquet register (``path``), as JSON Lines
    (``.jsonl`` beside it), as a flat CSV (``.csv``, one row per member) and as that CSV in
    GB18030 headed by the facts' Chinese labels (``.gb18030.csv``, a spreadsheet's export)."""
    import polars as pl

    from engine.batch.layout import flat_frame
    from testing.households import random_household

    started = time.perf_counter()
    rng = random.Random(SEED)
    frames = []
    with path.with_suffix(".jsonl").open("w", encoding="utf-8") as lines:
        for start in range(0, n, 100_000):
            households = [random_household(rng, AS_OF, hid=f"hh-{i:08d}")
                          for i in range(start, min(n, start + 100_000))]
            lines.writelines(json.dumps(hh, ensure_ascii=False) + "\n" for hh in households)
            frames.append(flat_frame(households))
    flat = pl.concat(frames)
    flat.write_parquet(path, row_group_size=100_000)
    flat.write_csv(path.with_suffix(".csv"))
    from screening.sources import COLUMN_LABELS as labels

    with path.with_suffix(".csv").open("rb") as plain, \
            path.with_suffix(GB_CSV).open("wb") as gb:
        header = plain.readline().decode("utf-8").rstrip("\n").split(",")
        gb.write((",".join(labels[name] for name in header) + "\n").encode("gb18030"))
        shutil.copyfileobj(plain, gb, 1 << 24)  # the rows: ASCII, the same bytes in GB18030
    return time.perf_counter() - started


def programs() -> int:
    """How many programs are in force on AS_OF (each child evaluates them all)."""
    from services.rulesets import load_catalog

    return len(load_catalog().in_force(AS_OF))


def sample(n: int) -> list[dict[str, object]]:
    from testing.households import random_household

    rng = random.Random(SEED)
    return [random_household(rng, AS_OF, hid=f"hh-{i:08d}") for i in range(n)]


def child(args: argparse.Namespace) -> None:
    """Screen the register (in this process) and report time and peak memory as JSON."""
    try:  # as the screen command does, before polars and pyarrow are loaded (a checkout
        # may predate it)
        from screening.allocator import keep_freed_memory
    except ImportError:
        pass
    else:
        keep_freed_memory()
    try:  # as the screen command does: no collections while it starts, and the process
        # ends without the last ones
        from screening.allocator import collections_paused, skip_final_collection
    except ImportError:
        paused: Any = contextlib.nullcontext(lambda: None)
    else:
        skip_final_collection()
        paused = collections_paused()
    with paused as resume:
        from engine.batch.table import ALL_STATUSES
        from screening.runner import default_layout, screen_file
        from screening.writers import output_format
        from services.rulesets import load_catalog

        statuses = ALL_STATUSES if args.statuses == "all" else frozenset(args.statuses.split(","))
        # The layout the screen command writes unless asked (wide for every outcome to CSV).
        layout = args.layout or default_layout(output_format(args.output), statuses)
        versions = load_catalog().in_force(AS_OF)
        resume()
    started = time.perf_counter()
    source = None
    if args.register.endswith(GB_CSV):  # as `screen --encoding gb18030` opens it
        from screening.runner import default_chunk_rows
        from screening.sources import open_source

        source = open_source(args.register, None,
                             args.chunk_size or default_chunk_rows(statuses, layout), "gb18030")
    summary = screen_file(args.register, args.output, AS_OF, versions, statuses=statuses,
                          chunk_rows=args.chunk_size or None, order=args.order or None,
                          layout=layout, source=source)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "households": summary["households"]["read"],
                      "rows": summary["outcomeRows"], "peak": peak}))


def run_child(register: Path, output: Path, statuses: str, order: str, chunk: int
              ) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", "--register", str(register), "--output",
         str(output), "--statuses", statuses, "--order", order, "--chunk-size", str(chunk)],
        capture_output=True, text=True, check=True, cwd=ROOT)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def in_memory(register: Path) -> tuple[float, int]:
    """The vectorised evaluator alone, on input frames already in memory (chunks of the same
    size as the end-to-end run)."""
    import polars as pl

    from engine.batch import evaluator_for
    from engine.batch.layout import ROW, check_flat
    from services.rulesets import load_catalog

    versions = load_catalog().in_force(AS_OF)
    evaluator = evaluator_for(versions, AS_OF)
    raw = pl.read_parquet(register)
    raw = raw.with_columns(pl.int_range(1, raw.height + 1, dtype=pl.Int64).alias(ROW))
    ids = raw["householdId"]
    cuts = [0]
    step = 400_000
    while cuts[-1] < raw.height:
        end = min(raw.height, cuts[-1] + step)
        while 0 < end < raw.height and ids[end] == ids[end - 1]:
            end += 1
        cuts.append(end)
    checked = [check_flat(raw[a:b], AS_OF, text=False) for a, b in itertools.pairwise(cuts)]
    del raw
    started = time.perf_counter()
    n = 0
    for c in checked:
        evaluator.evaluate(c.households, c.members, frozenset({"GRANTED", "UNDETERMINED"}),
                           terms=False, order="outcome")
        n += c.households.height
    return time.perf_counter() - started, n


def per_household(households: list[dict[str, object]]) -> tuple[float, float]:
    """Households/s on one core: full determinations, and durable_rules' firing alone."""
    from engine.determine import determine
    from engine.evaluator import fire_all, load
    from policy.facts import derive, parse_household
    from services.rulesets import load_catalog

    versions = load_catalog().in_force(AS_OF)
    for hh in households[:50]:
        determine(hh, AS_OF, versions)
    started = time.perf_counter()
    for hh in households:
        determine(hh, AS_OF, versions)
    full = len(households) / (time.perf_counter() - started)
    loaded = load(*(p for p, _ in versions))
    facts = [derive(parse_household(hh, AS_OF), AS_OF) for hh in households]
    started = time.perf_counter()
    for f in facts:
        fire_all(loaded, f)
    firing = len(households) / (time.perf_counter() - started)
    return full, firing


INPUT_KINDS = (
    # name, input suffix, output, statuses, layout ("": the screen command's default)
    ("JSON Lines -> Parquet, GRANTED+UNDETERMINED", ".jsonl", "parquet", "GRANTED,UNDETERMINED",
     ""),
    ("Parquet -> Parquet, GRANTED+UNDETERMINED", ".parquet", "parquet", "GRANTED,UNDETERMINED",
     ""),
    ("CSV (a row a member) -> Parquet, GRANTED+UNDETERMINED", ".csv", "parquet",
     "GRANTED,UNDETERMINED", ""),
    # What --status all --out x.csv writes: the wide layout (decision 0012).
    ("JSON Lines -> CSV, every outcome", ".jsonl", "csv", "all", ""),
    ("JSON Lines -> CSV, every outcome, long layout", ".jsonl", "csv", "all", "long"),
    ("CSV GB18030, Chinese header -> Parquet, GRANTED+UNDETERMINED", ".gb18030.csv",
     "parquet", "GRANTED,UNDETERMINED", ""),
)
GB_CSV = ".gb18030.csv"


# The project's packages, compiled as `make install` compiles them.
PACKAGES = ("cli", "engine", "graphql_api", "policy", "screening", "services", "store",
            "testing")


def compile_checkout(tree: Path) -> None:
    """Compile a checkout's modules before its runs are timed from process start: where
    ``PYTHONDONTWRITEBYTECODE`` is set (it is on this project's machines), a module whose
    compiled file is missing or older than its source (a new worktree, a file just edited)
    is compiled from source at every start, about 0.1 s a run for a whole checkout."""
    subprocess.run([sys.executable, "-m", "compileall", "-q",
                    *(p for p in PACKAGES if (tree / p).is_dir())], cwd=tree, check=True)


def run_timed(argv: list[str], cwd: Path = ROOT) -> dict[str, float]:
    """A child process's wall time from its start (interpreter and imports included), its
    report and its peak resident memory; the load average just before."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=cwd)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    # CPU seconds of the child (all its threads, user and system): what the load moves least.
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {**result, "wall": wall, "cpu": cpu, "load": load,
            "children_peak": after.ru_maxrss * 1024}


def inputs(args: argparse.Namespace, register: Path) -> None:
    """Each input and output side by side, ``--repeat`` rounds, the kinds alternating (and,
    with ``--against``, the two checkouts alternating within each kind)."""
    if not (register.exists() and register.with_suffix(".jsonl").exists()
            and register.with_suffix(".csv").exists() and register.with_suffix(GB_CSV).exists()):
        seconds = generate(args.households, register)
        print(f"generated {args.households:,} households in {seconds:.1f} s -> {register} "
              "(.parquet, .jsonl, .csv, .gb18030.csv)")
    sizes = ", ".join(f"{suffix} {register.with_suffix(suffix).stat().st_size / 2**20:,.0f} MiB"
                      for suffix in (".jsonl", ".parquet", ".csv"))
    print(f"batch screening by input, {programs()} programs as of {AS_OF}, {args.households:,} "
          f"households ({sizes}), {os.cpu_count()} cores; wall time from process start")
    kinds = [k for i, k in enumerate(INPUT_KINDS, 1)
             if not args.kinds or str(i) in args.kinds.split(",")]
    trees = [("", ROOT)] if not args.against else \
        [("before", Path(args.against).resolve()), ("after", ROOT)]
    for _, tree in trees:
        compile_checkout(tree)
    tries: dict[tuple[str, str], list[dict[str, float]]] = {
        (name, label): [] for name, *_ in kinds for label, _ in trees}
    for _ in range(args.repeat):
        for name, suffix, out, statuses, layout in kinds:
            for label, tree in trees:
                output = OUT / f"batch-inputs.{out}"
                # A checkout from before --layout writes the long layout without being told.
                asked = ["--layout", layout] if layout and label != "before" else []
                tries[(name, label)].append(run_timed(
                    [sys.executable, str(tree / "bench" / "batch.py"), "--child", "--register",
                     str(register.with_suffix(suffix)), "--output", str(output), "--statuses",
                     statuses, "--order", "", "--chunk-size", str(args.chunk_size), *asked],
                    tree))
                if out == "csv":
                    output.unlink()  # every outcome of 1,000,000 households, long, is 11 GB
    w = 56 + (8 if args.against else 0)
    print(f"{'input -> output':<{w}} {'households/s':>13} {'wall s':>7} {'CPU s':>7} "
          f"{'peak MiB':>9} {'rows':>11}  per run: households/s@load (1 min) CPU s")
    rates: dict[tuple[str, str], float] = {}
    for (name, label), runs in tries.items():
        runs.sort(key=lambda r: r["wall"])
        mid = runs[len(runs) // 2]
        rates[(name, label)] = mid["households"] / mid["wall"]
        shown = f"{name} ({label})" if label else name
        print(f"{shown:<{w}} {rates[(name, label)]:>13,.0f} {mid['wall']:>7.2f} "
              f"{min(r['cpu'] for r in runs):>7.2f} "
              f"{max(r['peak'] for r in runs) / 2**20:>9,.0f} {int(mid['rows']):>11,}  "
              + " ".join(f"{r['households'] / r['wall']:,.0f}@{r['load']:.1f} {r['cpu']:.2f}"
                         for r in runs))
    names = [n for n, *_ in INPUT_KINDS]
    for label, _ in trees:
        if (names[0], label) in rates and (names[1], label) in rates:
            print(f"JSON Lines / Parquet (GRANTED+UNDETERMINED){' ' + label if label else ''}: "
                  f"{rates[(names[1], label)] / rates[(names[0], label)]:.2f}x slower "
                  "(target <= 1.5x)")
    print("targets: JSON Lines and CSV -> Parquet >= 400,000 households/s; JSON Lines -> CSV "
          "every outcome >= 150,000/s; peak < 2048 MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3,
                        help="end-to-end runs of each kind of output (the median is reported)")
    parser.add_argument("--chunk-size", type=int, default=0,
                        help="rows per chunk (default: the screen command's)")
    parser.add_argument("--inputs", action="store_true",
                        help="compare the inputs side by side instead (JSON Lines, Parquet, "
                        "CSV in; GRANTED+UNDETERMINED Parquet and every-outcome CSV out)")
    parser.add_argument("--against", help="with --inputs: another checkout of the project "
                        "(e.g. the commit before a change); each run is made by both, "
                        "alternating, and reported side by side")
    parser.add_argument("--kinds", default="", help="with --inputs: which kinds, by number "
                        "(1 JSON Lines, 2 Parquet, 3 CSV -> Parquet, 4 JSON Lines -> CSV every "
                        "outcome as the screen command writes it, wide; 5 the same in the long "
                        "layout), e.g. 1,2,3; default all")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--register", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--statuses", default="all", help=argparse.SUPPRESS)
    parser.add_argument("--order", default="", help=argparse.SUPPRESS)
    parser.add_argument("--layout", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    register = OUT / f"batch-register-{args.households}-{SEED}.parquet"
    if args.inputs:
        inputs(args, register)
        return
    if not register.exists():
        seconds = generate(args.households, register)
        print(f"generated {args.households:,} households in {seconds:.1f} s -> {register}")
    compile_checkout(ROOT)
    print(f"batch screening, {programs()} programs as of {AS_OF}, {args.households:,} households "
          f"(flat Parquet {register.stat().st_size / 2**20:.0f} MiB), "
          f"{os.cpu_count()} cores")
    runs: dict[str, dict[str, float]] = {}
    spread: dict[str, tuple[float, float]] = {}
    kinds = (("all outcomes", "all", ""), ("GRANTED+UNDETERMINED", "GRANTED,UNDETERMINED", ""),
             ("GRANTED+UNDETERMINED in household order", "GRANTED,UNDETERMINED", "household"))
    # The machine's speed moves between runs: the median of --repeat runs of each kind of
    # output (the kinds alternating), with the slowest and fastest rates beside it.
    done: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in kinds}
    for _ in range(args.repeat):
        for name, statuses, order in kinds:
            done[name].append(run_child(register, OUT / "batch-outcomes.parquet", statuses,
                                        order, args.chunk_size))
    for name, tries in done.items():
        tries.sort(key=lambda r: r["seconds"])
        runs[name] = {**tries[len(tries) // 2], "peak": max(r["peak"] for r in tries)}
        spread[name] = (tries[-1]["households"] / tries[-1]["seconds"],
                        tries[0]["households"] / tries[0]["seconds"])
    eval_seconds, eval_n = in_memory(register)
    full, firing = per_household(sample(args.sample))
    w = 79
    print(f"{'path':<{w}} {'households/s':>13} {'peak MiB':>9} {'rows':>12}")
    for name, r in runs.items():
        rate = r["households"] / r["seconds"]
        low, high = spread[name]
        print(f"{'vectorised, end to end from Parquet, ' + name:<{w}} {rate:>13,.0f} "
              f"{r['peak'] / 2**20:>9,.0f} {int(r['rows']):>12,}   "
              f"({args.repeat} runs: {low:,.0f}-{high:,.0f})")
    print(f"{'vectorised, evaluation only (frames in memory)':<{w}} "
          f"{eval_n / eval_seconds:>13,.0f}")
    print(f"{'per household: engine.determine (one core)':<{w}} {full:>13,.0f}")
    print(f"{'per household: durable_rules firing only (one core)':<{w}} {firing:>13,.0f}")
    granted = runs["GRANTED+UNDETERMINED"]
    best = granted["households"] / granted["seconds"]
    default = runs["all outcomes"]["households"] / runs["all outcomes"]["seconds"]
    print(f"ratio end to end (all outcomes) / determine: {default / full:,.0f}x; "
          f"(granted+undetermined) / determine: {best / full:,.0f}x; "
          f"/ durable firing only: {best / firing:,.1f}x")
    print("targets: >= 500,000 households/s end to end, >= 50x the per-household path, "
          "peak < 2048 MiB")


if __name__ == "__main__":
    main()
