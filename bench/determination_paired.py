"""Two checkouts' never-seen households side by side, finely interleaved: CPU per household.

    python bench/determination_paired.py BEFORE_DIR AFTER_DIR [--member-ids own|shared]
        [--chunks 40] [--chunk 100] [--no-trees]

On a machine shared with other work, two runs of ``bench/determination.py`` minutes apart
differ by more than a few per cent with the same code. Here each checkout runs in a process of
its own (its own venv, its checkout first on ``sys.path``), warmed as the bench warms (a pool of
300 households, then 2,000 never-seen ones), and the two take turns evaluating chunks of
households neither has seen (``--chunk`` each, the order alternating each turn), so both meet
the same load within seconds of each other. Printed: each side's CPU ms per household and the
ratio after/before per pair of chunks. Running a checkout against itself shows what two
processes of the same code differ by (memory layout, hash seeds).

Each household is a generated 5-member one, evaluated as of 2024-06-01 under all seven
programs in force, every reason's condition tree read (``--no-trees``: not read), under the
service's collector policy.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def worker(ids: str, chunk: int, trees: bool) -> None:
    """Warm up, then for each line read evaluate the next chunk and print its CPU ns."""
    sys.path.insert(0, str(Path.cwd()))
    import random
    from datetime import date
    from typing import Any

    from engine.determine import determine
    from graphql_api import collector
    from services.rulesets import load_catalog
    from testing.households import random_household

    as_of = date(2024, 6, 1)
    rng = random.Random(20240601)
    pool = [random_household(rng, as_of, hid=f"hh-{i}", members=5) for i in range(300)]
    versions = load_catalog().in_force(as_of)
    collector.install(0)
    fresh = random.Random(20240602)

    def new(hid: str) -> dict[str, Any]:
        hh = random_household(fresh, as_of, hid=hid, members=5)
        if ids == "own":
            for m in hh["members"]:
                m["id"] = f"{hh['id']}-{m['id']}"
        return hh

    def det(hh: dict[str, Any]) -> None:
        d = determine(hh, as_of, versions)
        if trees:
            for o in d.outcomes():
                for r in o.reasons:
                    r.condition  # noqa: B018 - reading it builds the tree

    for hh in pool:
        det(hh)
    for i in range(2000):
        det(new(f"warm-{i}"))
    print("ready", flush=True)
    for n, _ in enumerate(sys.stdin):
        batch = [new(f"new-{n}-{i}") for i in range(chunk)]
        t0 = time.process_time_ns()
        for hh in batch:
            det(hh)
        print(time.process_time_ns() - t0, flush=True)


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--member-ids", choices=["own", "shared"], default="own")
    parser.add_argument("--chunks", type=int, default=40)
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--no-trees", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.member_ids, args.chunk, not args.no_trees)
        return
    sides = {}
    for name, checkout in (("before", args.before), ("after", args.after)):
        root = Path(checkout).resolve()
        command = [str(root / ".venv/bin/python"), str(Path(__file__).resolve()), "-", "-",
                   "--worker", "--member-ids", args.member_ids, "--chunk", str(args.chunk)]
        if args.no_trees:
            command.append("--no-trees")
        sides[name] = subprocess.Popen(command, cwd=root, stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True)
    for p in sides.values():
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    loads = [load()]
    start = time.strftime("%H:%M:%S", time.gmtime())
    ms: dict[str, list[float]] = {"before": [], "after": []}
    for k in range(args.chunks):
        for name in ("before", "after") if k % 2 == 0 else ("after", "before"):
            p = sides[name]
            assert p.stdin is not None and p.stdout is not None
            p.stdin.write("go\n")
            p.stdin.flush()
            ms[name].append(int(p.stdout.readline()) / args.chunk / 1e6)
        if k % 10 == 9:
            loads.append(load())
    for p in sides.values():
        assert p.stdin is not None
        p.stdin.close()
        p.wait()
    ratios = [a / b for a, b in zip(ms["after"], ms["before"], strict=True)]
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    print(f"{start}-{time.strftime('%H:%M:%S', time.gmtime())} UTC, member ids "
          f"{args.member_ids}, trees {'not read' if args.no_trees else 'read'}, "
          f"{args.chunks} chunks of {args.chunk} households a side, load {min(loads)}-"
          f"{max(loads)}")
    for name in ("before", "after"):
        print(f"  {name:>6} CPU ms a household: mean {statistics.mean(ms[name]):.3f}, "
              f"median of chunks {statistics.median(ms[name]):.3f}")
    print(f"  after / before: all chunks {sum(ms['after']) / sum(ms['before']):.3f}, "
          f"per pair median {statistics.median(ratios):.3f} (quartiles {q1:.3f}-{q3:.3f})")


if __name__ == "__main__":
    main()
