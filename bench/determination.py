"""Latency and throughput of a full explained determination, in-process.

    python bench/determination.py [--households 2000] [--seconds 8] [--programs CODES]
        [--clock cpu] [--gc service|default|off] [--member-ids shared|own]

A pool of distinct generated 5-member households is evaluated round-robin as of 2024-06-01
under every program in force that day (seven: monitoring, medical_relief, education v2,
disability, temporary_assistance, employment, housing), or only those ``--programs`` names
(``--programs monitoring,medical_relief,education,disability``: the four the first figures were
measured with). Each call validates the facts,
runs durable_rules, checks it against the condition tree and explains every outcome (reasons,
conditions with actual and expected values, citations). Reported side by side in one run:

- ``determination``: the Determination with every explanation (the engine's result);
- ``+ JSON view``: the same plus its contract JSON (what the CLI prints);
- ``cold``: the determination with the trace memos cleared before every call;
- ``never seen``: a stream of ``--fresh`` other generated households, each evaluated once (the
  process has not seen them before; its memos hold what the rows above left);
- ``never seen + trees``: another such stream, every reason's condition tree read (built) as
  well: the determination with its tree explanations in full.

The never-seen households' members are m1..m5 in each (``--member-ids shared``), or have ids
of their own (``--member-ids own``), as real households' members do: memos keyed by a member's
id then find nothing of earlier households.

Each row but the last first evaluates the whole pool once (warm memos, as in a service that has
been running), then measures for ``--seconds``.

Figures are median, p99 and longest latency and households/s on one core, with the memo's
hit rate,
and the CPU time of the never-seen streams with the share spent in garbage collections. The
collector runs under the service's policy (``graphql_api.collector.install`` once loading is
done, as a worker does); ``--gc default`` keeps the interpreter's, ``--gc off`` none.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This checkout's code, not whichever the environment installed (another checkout's bench
# measures that checkout).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from engine import evaluator, trace
from engine.determine import determine
from engine.results import determination_json
from graphql_api import collector
from services.rulesets import load_catalog
from testing.households import random_household

# Each call's time: wall-clock (the default) or the process's CPU time (``--clock cpu``: on a
# machine shared with other work, closer to what the call costs on an idle one).
CLOCK = [time.perf_counter_ns]


def run(pool: list[dict[str, Any]], seconds: float, call: Callable[[dict[str, Any]], object],
        before: Callable[[], None] | None = None) -> dict[str, float]:
    for hh in pool:  # one pass first: the memos hold what a running service's would
        call(hh)
    latencies: list[float] = []
    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < seconds:
        if before is not None:
            before()
        t0 = CLOCK[0]()
        call(pool[i % len(pool)])
        latencies.append((CLOCK[0]() - t0) / 1e6)
        i += 1
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "n": len(latencies),
        "median_ms": statistics.median(latencies),
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)],
        "max_ms": latencies[-1],
        "per_s": len(latencies) / elapsed,
    }


def stream(households: list[dict[str, Any]],
           call: Callable[[dict[str, Any]], object]) -> dict[str, float]:
    """Each household evaluated once, in order: none was seen before."""
    latencies: list[float] = []
    start = time.perf_counter()
    for hh in households:
        t0 = CLOCK[0]()
        call(hh)
        latencies.append((CLOCK[0]() - t0) / 1e6)
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "n": len(latencies),
        "median_ms": statistics.median(latencies),
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)],
        "max_ms": latencies[-1],
        "per_s": len(latencies) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    parser.add_argument("--fresh", type=int, default=5000,
                        help="households of the never-seen stream")
    parser.add_argument("--member-ids", choices=["shared", "own"], default="shared",
                        help="the never-seen streams' member ids: m1..m5 in every household "
                        "(shared, the default) or each household's own (own: as real person "
                        "ids are, so nothing keyed by a member's id is found again)")
    parser.add_argument("--programs", default="",
                        help="comma-separated program codes to evaluate (default: all in force)")
    parser.add_argument("--gc", choices=["service", "default", "off"], default="service",
                        help="the garbage-collector policy: the service's "
                        "(graphql_api/collector.py, installed after loading, as a worker does), "
                        "the interpreter's default, or none (off: a lower bound)")
    args = parser.parse_args()
    if args.clock == "cpu":
        CLOCK[0] = time.process_time_ns
    as_of = date(2024, 6, 1)
    rng = random.Random(20240601)
    pool = [random_household(rng, as_of, hid=f"hh-{i}", members=5) for i in range(args.households)]
    versions = load_catalog().in_force(as_of)
    if args.programs:
        wanted = [c.strip() for c in args.programs.split(",") if c.strip()]
        unknown = set(wanted) - {p.code for p, _ in versions}
        if unknown:
            parser.error(f"not in force on {as_of}: {', '.join(sorted(unknown))}")
        versions = [(p, ref) for p, ref in versions if p.code in wanted]
    if args.gc == "service":  # what a worker does at start (no complete collections here)
        collector.install(0)
    elif args.gc == "off":
        gc.disable()
    paused = [0, 0]  # CPU ns in collections (all generations), start of the current one

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            paused[1] = time.process_time_ns()
        else:
            paused[0] += time.process_time_ns() - paused[1]

    gc.callbacks.insert(0, timed)

    def det(hh: dict[str, Any]) -> object:
        return determine(hh, as_of, versions)

    def det_json(hh: dict[str, Any]) -> object:
        return determination_json(determine(hh, as_of, versions))

    hits0, misses0 = trace._MEMO.hits, trace._MEMO.misses
    rows = [("determination", run(pool, args.seconds, det))]
    hits, misses = trace._MEMO.hits - hits0, trace._MEMO.misses - misses0
    rows.append(("+ JSON view", run(pool, args.seconds, det_json)))

    def forget() -> None:  # the traces, per rule and per member
        trace._MEMO.clear()
        trace._OVER_MEMBERS.clear()
        evaluator._MEMBER_TRACES.clear()

    rows.append(("cold", run(pool, args.seconds, det, before=forget)))
    fresh_rng = random.Random(20240602)

    def own_ids(hh: dict[str, Any]) -> dict[str, Any]:
        if args.member_ids == "own":  # the household's id in each member's
            for m in hh["members"]:
                m["id"] = f"{hh['id']}-{m['id']}"
        return hh

    fresh = [own_ids(random_household(fresh_rng, as_of, hid=f"new-{i}", members=5))
             for i in range(args.fresh)]
    full0, paused0, cpu0 = gc.get_stats()[2]["collections"], paused[0], time.process_time_ns()
    rows.append(("never seen", stream(fresh, det)))

    def det_trees(hh: dict[str, Any]) -> object:
        d = determine(hh, as_of, versions)
        for o in d.outcomes():
            for r in o.reasons:
                r.condition  # noqa: B018 - reading it builds the tree
        return d

    more = [own_ids(random_household(fresh_rng, as_of, hid=f"new2-{i}", members=5))
            for i in range(args.fresh)]
    rows.append(("never seen + trees", stream(more, det_trees)))
    full, cpu = gc.get_stats()[2]["collections"] - full0, time.process_time_ns() - cpu0
    in_gc = paused[0] - paused0
    print(f"full explained determination, {len(versions)} programs "
          f"({', '.join(p.code for p, _ in versions)}), 5-member households "
          f"({args.households} distinct), one core, {args.clock} clock, "
          f"never-seen member ids {args.member_ids}")
    print(f"{'':>19} {'n':>7} {'median ms':>10} {'p99 ms':>8} {'max ms':>8} "
          f"{'households/s':>13}")
    for name, r in rows:
        print(f"{name:>19} {r['n']:>7.0f} {r['median_ms']:>10.3f} {r['p99_ms']:>8.3f} "
              f"{r['max_ms']:>8.1f} {r['per_s']:>13.0f}")
    print(f"never-seen streams ({args.gc} collector policy): {cpu / 1e9:.2f} CPU s, "
          f"{in_gc / 1e9:.2f} in collections ({in_gc / max(1, cpu):.0%}), "
          f"{full} full (generation 2)")
    print(f"trace memo hit rate (determination run): {hits / max(1, hits + misses):.1%}")
    print("targets: median < 1 ms, >= 1000 households/s per core; never seen: median < 0.6 ms, "
          "p99 < 1.5 ms")


if __name__ == "__main__":
    main()
