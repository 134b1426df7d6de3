"""Stress durable_rules the way the service uses it: N evaluations of generated households from
T threads at once, every shipped version, compared with the condition tree.

    python bench/stress_durable.py [--evaluations 1000000] [--threads 8]

The work runs in a child process so that a crash (SIGSEGV, SIGABRT) is caught and reported
rather than taking the script down. Prints crashes, disagreements, and resident memory at the
start and the end (it must stay flat).
"""

from __future__ import annotations

import sys
from pathlib import Path

# This checkout's code, not whichever the environment installed (another checkout's bench
# measures that checkout).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import json
import random
import resource
import subprocess
import threading
import time
from datetime import date


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def child(evaluations: int, threads: int) -> None:
    from engine.evaluator import fire, load, tree_verdicts
    from policy.facts import derive, parse_household
    from services.rulesets import load_catalog
    from testing.households import AS_OF_DATES, random_household

    records = load_catalog().records
    loaded = [load(r.program) for r in records]
    # Pre-generate a pool of households (generation is not what is measured). The explainer's
    # memo is bounded (engine.trace._MEMO); it fills during the first tenth of the run.
    rng = random.Random(1)
    pool = []
    for i in range(4000):
        as_of = rng.choice(AS_OF_DATES)
        hh = random_household(rng, as_of, hid=f"h{i}")
        pool.append(derive(parse_household(hh, as_of), as_of))
    counter = {"done": 0, "disagreements": 0}
    lock = threading.Lock()
    per_thread = evaluations // threads
    rss_start = rss_mb()
    samples = [rss_start]
    marks: dict[str, float] = {}

    def work(seed: int) -> None:
        r = random.Random(seed)
        bad = 0
        for k in range(per_thread):
            facts = pool[r.randrange(len(pool))]
            j = r.randrange(len(loaded))
            verdicts = fire(loaded[j], facts)
            tree = tree_verdicts(records[j].program, facts)
            fired = {key for key in tree if verdicts.fired(*key)}
            if fired != {key for key, v in tree.items() if v is True}:
                bad += 1
            if k % 10000 == 0 and seed == 0:
                samples.append(rss_mb())
                if k >= per_thread // 10 and "warm" not in marks:
                    marks["warm"] = rss_mb()
        with lock:
            counter["done"] += per_thread
            counter["disagreements"] += bad

    start = time.perf_counter()
    pool_threads = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for t in pool_threads:
        t.start()
    for t in pool_threads:
        t.join()
    print(json.dumps({
        "evaluations": counter["done"], "disagreements": counter["disagreements"],
        "seconds": time.perf_counter() - start, "rss_start_mb": rss_start,
        "rss_end_mb": rss_mb(), "rss_max_sample_mb": max(samples),
        "rss_warm_mb": marks.get("warm", rss_start),
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--evaluations", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.evaluations, args.threads)
        return
    done = subprocess.run(
        [sys.executable, __file__, "--child", "--evaluations", str(args.evaluations),
         "--threads", str(args.threads)],
        capture_output=True, text=True, check=False,
    )
    crashed = done.returncode != 0
    print(f"durable_rules stress: {args.evaluations} evaluations, {args.threads} threads, "
          f"{date.today().isoformat()}")
    print(f"crashes: {1 if crashed else 0} (exit code {done.returncode})")
    if crashed:
        print(done.stderr[-2000:])
        sys.exit(1)
    r = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"disagreements with the condition tree: {r['disagreements']}")
    print(f"evaluations/s: {r['evaluations'] / r['seconds']:.0f} ({r['seconds']:.0f} s)")
    print(f"resident memory: start {r['rss_start_mb']:.1f} MiB, after 10% (caches filled) "
          f"{r['rss_warm_mb']:.1f} MiB, end {r['rss_end_mb']:.1f} MiB, "
          f"max sampled {r['rss_max_sample_mb']:.1f} MiB")
    sys.exit(1 if r["disagreements"] else 0)


if __name__ == "__main__":
    main()
