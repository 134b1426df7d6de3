"""The longest explained determinations in a long stream of never-seen households: pauses of
the process that a service's tail latency is made of (docs/performance.md, "Memos emptied at
once").

    python bench/memo_pauses.py [--households 30000]

Evaluates a stream of generated 5-member households (their members' ids their own, as real
households' are) as of 2024-06-01 under the seven programs in force, one core, the service's
collector policy, and prints the median, p99, p99.9 and longest wall-clock times, then every call
over 6 ms with the collector's pauses during it. A memo emptied at once, or a large dictionary
resized, shows here as a call of tens of milliseconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import random
import time
from datetime import date
from typing import Any

from engine.determine import determine
from graphql_api import collector
from services.rulesets import load_catalog
from testing.households import random_household


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=30_000)
    args = parser.parse_args()
    as_of = date(2024, 6, 1)
    versions = load_catalog().in_force(as_of)
    rng = random.Random(2)

    def household(i: int) -> dict[str, Any]:
        hh = random_household(rng, as_of, hid=f"n-{i}", members=5)
        for m in hh["members"]:
            m["id"] = f"{hh['id']}-{m['id']}"
        return hh

    households = [household(i) for i in range(args.households)]
    collector.install(600)
    times: list[float] = []
    paused: list[float] = []
    for hh in households:
        before = sum(collector.pause_seconds)
        t = time.perf_counter()
        determine(hh, as_of, versions)
        times.append(time.perf_counter() - t)
        paused.append(sum(collector.pause_seconds) - before)
    s, n = sorted(times), len(times)
    print(f"{n:,} never-seen households, one core, wall clock: median {s[n // 2] * 1e3:.2f} ms, "
          f"p99 {s[int(n * .99)] * 1e3:.2f}, p99.9 {s[int(n * .999)] * 1e3:.2f}, "
          f"longest {s[-1] * 1e3:.1f}")
    for i, (t, g) in enumerate(zip(times, paused, strict=True)):
        if t > 0.006:
            print(f"  household {i:>6}: {t * 1e3:6.1f} ms (collector {g * 1e3:.1f})")


if __name__ == "__main__":
    main()
