"""Latency and throughput of a full explained determination (all four programs), in-process.

    python bench/determination.py [--households 2000] [--seconds 10]

A pool of distinct generated 5-member households is evaluated round-robin as of 2024-06-01
(monitoring v1, medical_relief v1, education v2, disability v1), each call producing the whole
Determination and its contract JSON (every outcome with reasons, conditions and citations).
Reported side by side in one run: median and p99 latency, households/s on one core, with the
trace memo warm (steady state) and with it cleared before every call (cold), and the memo's hit
rate.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import date

from engine import trace
from engine.determine import determine
from engine.results import determination_json
from policy.synthetic import random_household
from services.rulesets import load_catalog


def run(
    households: list[dict[str, object]], as_of: date, seconds: float, cold: bool
) -> dict[str, float]:
    versions = load_catalog().in_force(as_of)
    for hh in households[:50]:
        determination_json(determine(hh, as_of, versions))
    latencies: list[float] = []
    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < seconds:
        hh = households[i % len(households)]
        if cold:
            trace._MEMO.clear()
        t0 = time.perf_counter_ns()
        determination_json(determine(hh, as_of, versions))
        latencies.append((time.perf_counter_ns() - t0) / 1e6)
        i += 1
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "n": len(latencies),
        "median_ms": statistics.median(latencies),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
        "per_s": len(latencies) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    as_of = date(2024, 6, 1)
    rng = random.Random(20240601)
    pool = [random_household(rng, as_of, hid=f"hh-{i}", members=5) for i in range(args.households)]
    trace.memo_stats.update(hits=0, misses=0)
    warm = run(pool, as_of, args.seconds, cold=False)
    hits, misses = trace.memo_stats["hits"], trace.memo_stats["misses"]
    cold = run(pool, as_of, args.seconds, cold=True)
    print(f"full explained determination, 4 programs, 5-member households "
          f"({args.households} distinct), one core")
    print(f"{'':>6} {'n':>8} {'median ms':>10} {'p99 ms':>8} {'households/s':>13}")
    for name, r in (("warm", warm), ("cold", cold)):
        print(f"{name:>6} {r['n']:>8.0f} {r['median_ms']:>10.3f} {r['p99_ms']:>8.3f} "
              f"{r['per_s']:>13.0f}")
    print(f"trace memo hit rate (warm run): {hits / max(1, hits + misses):.1%}")
    print("targets: median < 1 ms, >= 1000 households/s per core")


if __name__ == "__main__":
    main()
