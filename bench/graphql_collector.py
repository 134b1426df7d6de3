"""One served worker's app in this process: CPU per answer, the collector's pauses per
generation, and what the memos keep for the oldest generation to walk.

    python bench/graphql_collector.py [--warm 2000] [--requests 2500] [--concurrency 20]
                                      [--objects] [--full-only] [--threshold N]

Builds the ASGI app as ``policy-engine serve`` does in a worker (prod, SQLite seeded from
fixtures/, the service's collector policy installed after start-up, an api_client token) and
sends query B of bench/graphql_load.py (the full explanation) for 5-member households never
posted before, ``--concurrency`` at a time through the ASGI interface (no sockets). After
``--warm`` requests (the memos fill), ``--requests`` are measured: CPU and wall ms per request,
and per collector generation (a ``gc.callbacks`` timer) the collections per request, the ms per
request spent in them and the longest pause. ``--objects`` also prints, at the end, the
collector-tracked objects alive outside the frozen generation by type, and how many of them
each memo (``policy.cache.caches``) keeps reachable, and the types of the garbage the complete
collection at the end finds. ``--full-only`` runs the collector policy before 2026-12-05 (frozen
after full collections only), ``--threshold`` another youngest-generation threshold.

No HTTP and no second worker: the figures are a request's own costs, which the machine's load
moves far less than it moves a wrk run's latency.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.graphql_load import QUERY_B  # noqa: E402
from testing import asgi  # noqa: E402
from testing.households import random_household  # noqa: E402


class Pauses:
    """Collections per generation: how many, their total and longest wall time."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.total = [0.0, 0.0, 0.0]
        self.longest = [0.0, 0.0, 0.0]
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        # the thread's CPU time: what the pause costs, not what the machine's load adds to it
        if phase == "start":
            self._start = time.thread_time()
            return
        g = info["generation"]
        spent = time.thread_time() - self._start
        self.count[g] += 1
        self.total[g] += spent
        self.longest[g] = max(self.longest[g], spent)

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


def reachable(roots: list[Any], made: set[int], seen: set[int]) -> int:
    """Collector-tracked objects made since start-up (ids in ``made``) reachable from ``roots``
    through such objects, not counted before (``seen``)."""
    found = 0
    todo = [o for o in roots if id(o) in made]
    while todo:
        o = todo.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        found += 1
        todo.extend(r for r in gc.get_referents(o) if id(r) in made and id(r) not in seen)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warm", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=2500)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--objects", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--views", type=int, help="bound of graphql.determination_views")
    parser.add_argument("--threshold", type=int, default=0,
                        help="the youngest generation's threshold (allocations between "
                             "collections; 0: the interpreter's, 700)")
    parser.add_argument("--full-only", action="store_true",
                        help="the collector policy before 2026-12-05: freeze after full "
                             "collections only, not after middle ones")
    parser.add_argument("--middle-up", action="store_true",
                        help="the collector policy before 2026-12-06: freeze after middle "
                             "and full collections, not after young ones")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="pe-collector-"))
    os.environ.update({"DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
                       "POLICY_ENGINE_ENV": "prod", "POLICY_ENGINE_LOG_LEVEL": "WARNING"})
    from bench.graphql_workers import token
    from graphql_api import collector
    from graphql_api.app import create_app
    from policy.cache import caches
    from services.config import Settings

    bearer = token(os.environ["DATABASE_URL"])
    settings = Settings()
    app = create_app(settings)
    collector.install(0)  # as a worker does once loaded (no timed complete collection)
    gc.unfreeze()
    startup = {id(o) for o in gc.get_objects()}
    gc.freeze()
    if args.views is not None:
        from graphql_api import types
        types._VIEWS.maxsize = args.views
    if args.threshold:
        gc.set_threshold(args.threshold, *gc.get_threshold()[1:])
    if args.full_only:
        def full_only(phase: str, info: dict[str, int]) -> None:
            if phase == "stop" and info["generation"] == 2:
                gc.freeze()
        gc.callbacks.remove(collector._after_collection)
        gc.callbacks.append(full_only)
    elif args.middle_up:
        def middle_up(phase: str, info: dict[str, int]) -> None:
            if phase == "stop" and info["generation"] >= 1:
                gc.freeze()
        gc.callbacks.remove(collector._after_collection)
        gc.callbacks.append(middle_up)
    pauses = Pauses()
    gc.callbacks.append(pauses)
    rng = random.Random(args.seed)
    as_of = date(2024, 6, 1)
    headers = {"content-type": "application/json", "authorization": f"Bearer {bearer}"}

    def body(i: int) -> bytes:
        hh = random_household(rng, as_of, hid=f"c{args.seed}-{i}", members=5)
        return json.dumps({"query": QUERY_B, "variables": {"h": hh}}).encode()

    raw_headers = [(k.encode(), v.encode()) for k, v in headers.items()]

    async def post(content: bytes) -> None:
        status, answer = await asgi.post(app, content, raw_headers)
        assert status == 200 and b'"errors"' not in answer[:20], answer[:500]

    async def drive(count: int, first: int) -> None:
        queue = [body(first + i) for i in range(count)]
        queue.reverse()

        async def one() -> None:
            while queue:
                await post(queue.pop())

        await asyncio.gather(*(one() for _ in range(args.concurrency)))

    asyncio.run(drive(args.warm, 0))
    # the bodies are made before the clock starts; time only the requests
    pauses.reset()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    asyncio.run(drive(args.requests, args.warm))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    n = args.requests
    print(f"{n} never-seen explained evaluates after {args.warm}, {args.concurrency} at a time,"
          f" load {os.getloadavg()[0]:.1f}")
    print(f"cpu ms/req {cpu * 1000 / n:.2f}  wall ms/req {wall * 1000 / n:.2f}  "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    for g in range(3):
        print(f"gen {g}: {pauses.count[g] / n:.3f} collections/req, "
              f"{pauses.total[g] * 1000 / n:.3f} ms/req, longest {pauses.longest[g] * 1000:.1f} ms"
              f" ({pauses.count[g]} collections)")
    print("cache sizes:", ", ".join(f"{s.name} {s.size}/{s.maxsize} hit "
                                    f"{s.hits / max(s.hits + s.misses, 1):.2f}"
                                    for s in caches() if s.size))
    if args.objects:
        gc.callbacks.remove(pauses)
        print(f"tracked objects outside the frozen generation: {len(gc.get_objects())}")
        gc.unfreeze()
        alive = [o for o in gc.get_objects() if id(o) not in startup]
        made = {id(o) for o in alive}
        print(f"tracked objects made since start-up and alive: {len(alive)}, "
              f"{len(alive) / (args.warm + n):.0f} a request so far")
        for name, count in Counter(type(o).__name__ for o in alive).most_common(25):
            print(f"  {count:>9} {name}")
        from policy import cache
        seen: set[int] = set()
        application = app.app.app.state.application  # RequestLog > JsonOnly > Starlette
        recent = application._recent._items
        kept = reachable(list(recent.values()), made, seen)
        print(f"  {'services.recent_determinations':<40} {len(recent):>7} entries {kept:>9} "
              f"tracked objects reachable ({kept / max(len(recent), 1):.1f} an entry)")
        for name in sorted(cache._REGISTRY):
            memo = cache._REGISTRY[name]
            data = list(memo._data.items())
            kept = reachable([x for kv in data for x in kv], made, seen)
            print(f"  {name:<40} {len(data):>7} entries {kept:>9} tracked objects reachable"
                  f" ({kept / max(len(data), 1):.1f} an entry)")
        print(f"  {'(not reachable from these)':<40} {len(alive) - len(seen):>25}")
        del alive, made
        gc.freeze()
    if args.objects:
        gc.set_debug(gc.DEBUG_SAVEALL)
    found = collector.complete_collection()
    print(f"complete collection at the end found {found} unreachable objects")
    if args.objects:
        gc.set_debug(0)
        for name, count in Counter(type(o).__qualname__ for o in gc.garbage).most_common(30):
            print(f"  {count:>9} {name}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
