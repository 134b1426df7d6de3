"""Where a never-seen household's full determination spends its time, stage by stage.

    python bench/determination_stages.py [--households 300] [--fresh 2000]
        [--programs CODES] [--member-ids shared|own]

The stream of ``bench/determination.py``'s "never seen + trees" row, split: a pool of
``--households`` generated five-member households is evaluated first (warm memos, as in a
service that has been running), then ``--fresh`` others, each once, as of 2024-06-01 under every
program in force (or only those ``--programs`` names), every reason's tree read. Each stage of
``engine.determine.determine`` is timed by a wrapper around the function that does it
(validation, derived facts, loading the versions into durable_rules, durable_rules' firing,
the condition traces, the agreement check, outcomes), and the trees by reading them after.
Printed: the CPU time of each stage per household (ms, a mean), their sum and the time of the
whole stream per household (the wrappers add a little; the stream's median is
``bench/determination.py``'s).

The collector runs under the service's policy, as ``bench/determination.py``'s does.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This checkout's code, not whichever the environment installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import functools
import random
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import engine.determine as determination
from graphql_api import collector
from services.rulesets import load_catalog
from testing.households import random_household

# The stages, by the name ``engine.determine`` calls each by.
STAGES = {
    "parse_household": "validation",
    "derive": "derived facts",
    "load": "load versions",
    "fire_all": "durable_rules",
    "trace_by_member": "traces",
    "check_agreement": "agreement check",
    "explain_program": "outcomes",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=300)
    parser.add_argument("--fresh", type=int, default=2000)
    parser.add_argument("--programs", default="",
                        help="comma-separated program codes (default: all in force)")
    parser.add_argument("--member-ids", choices=["shared", "own"], default="own")
    args = parser.parse_args()
    as_of = date(2024, 6, 1)
    versions = load_catalog().in_force(as_of)
    if args.programs:
        wanted = {c.strip() for c in args.programs.split(",") if c.strip()}
        versions = [(p, ref) for p, ref in versions if p.code in wanted]
    spent: dict[str, int] = dict.fromkeys([*STAGES.values(), "trees"], 0)

    def timed(fn: Callable[..., Any], stage: str) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*a: Any, **k: Any) -> Any:
            t0 = time.process_time_ns()
            try:
                return fn(*a, **k)
            finally:
                spent[stage] += time.process_time_ns() - t0
        return wrapper

    for name, stage in STAGES.items():
        setattr(determination, name, timed(getattr(determination, name), stage))

    def full(hh: dict[str, Any]) -> None:
        det = determination.determine(hh, as_of, versions)
        t0 = time.process_time_ns()
        for o in det.outcomes():
            for r in o.reasons:
                r.condition  # noqa: B018 - reading it builds the tree
        spent["trees"] += time.process_time_ns() - t0

    rng = random.Random(20240601)
    for i in range(args.households):
        full(random_household(rng, as_of, hid=f"hh-{i}", members=5))
    collector.install(0)
    fresh_rng = random.Random(20240602)
    stream = []
    for i in range(args.fresh):
        hh = random_household(fresh_rng, as_of, hid=f"new-{i}", members=5)
        if args.member_ids == "own":
            for m in hh["members"]:
                m["id"] = f"{hh['id']}-{m['id']}"
        stream.append(hh)
    for stage in spent:
        spent[stage] = 0
    t0 = time.process_time_ns()
    for hh in stream:
        full(hh)
    whole = (time.process_time_ns() - t0) / len(stream) / 1e6
    print(f"never-seen households with every tree, {len(versions)} programs "
          f"({', '.join(p.code for p, _ in versions)}), {len(stream)} households, member ids "
          f"{args.member_ids}; CPU ms per household (mean):")
    for stage, ns in spent.items():
        print(f"  {stage:>16}  {ns / len(stream) / 1e6:.3f}")
    print(f"  {'sum':>16}  {sum(spent.values()) / len(stream) / 1e6:.3f}")
    print(f"  {'whole stream':>16}  {whole:.3f}")


if __name__ == "__main__":
    main()
