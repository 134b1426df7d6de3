"""One served worker's app in this process, one request at a time: CPU time per answer by
stage, for the full explained answer (query B of bench/graphql_load.py) of 5-member households
never posted before.

    python bench/graphql_stages.py [--warm 1500] [--requests 1000] [--seed 7]

Builds the ASGI app as ``policy-engine serve`` does in a worker (prod, SQLite seeded from
fixtures/, the service's collector policy, an api_client token) and posts through the ASGI
interface (no sockets). ``anyio.to_thread.run_sync`` is replaced by a direct call, so that this
one thread's CPU clock (``time.thread_time_ns``) sees the whole request. Stages, ms per answer:
the whole request; the engine's determination (``Application.evaluate``); the projection of the
answer (the top-level ``ProjectingExecutionContext.execute_fields``, explanations built lazily
on the way included); encoding (``projection.encode``). The collector's own time is spread over
them (printed apart, from a ``gc.callbacks`` timer). Ratios between two runs side by side hold;
absolute figures move with the machine's load (printed).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.graphql_load import QUERY_B  # noqa: E402
from testing import asgi  # noqa: E402
from testing.households import random_household  # noqa: E402

clock = time.thread_time_ns


class Stage:
    """Thread CPU time spent inside a function (outermost calls only)."""

    def __init__(self) -> None:
        self.ns = 0
        self.depth = 0

    def wrap(self, fn: Any, when: Any = None) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self.depth or (when is not None and not when(*args)):
                return fn(*args, **kwargs)
            self.depth += 1
            start = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                self.ns += clock() - start
                self.depth -= 1
        return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warm", type=int, default=1500)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="pe-stages-"))
    os.environ.update({"DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
                       "POLICY_ENGINE_ENV": "prod", "POLICY_ENGINE_LOG_LEVEL": "WARNING"})
    import anyio.to_thread

    from bench.graphql_workers import token
    from graphql_api import app as app_module
    from graphql_api import collector, projection
    from graphql_api.app import create_app
    from policy.cache import caches
    from services.application import Application
    from services.config import Settings

    print(f"graphql_api from {projection.__file__}")

    async def direct(fn: Any, *a: Any, **_: Any) -> Any:
        return fn(*a)

    anyio.to_thread.run_sync = direct  # type: ignore[assignment]
    from engine.results import Lazy

    engine, projecting, encoding, lazy = Stage(), Stage(), Stage(), Stage()
    Application.evaluate = engine.wrap(Application.evaluate)  # type: ignore[method-assign]
    context = projection.ProjectingExecutionContext
    context.execute_fields = projecting.wrap(  # type: ignore[method-assign]
        context.execute_fields, lambda _, parent_type, *a: parent_type.name in projection.PLAIN)
    app_module.encode = encoding.wrap(app_module.encode)
    # the engine's lazy parts (explanations) computed while projecting
    Lazy._get = lazy.wrap(  # type: ignore[method-assign]
        Lazy._get, lambda self: projecting.depth and self._items is None)

    bearer = token(os.environ["DATABASE_URL"])
    app = create_app(Settings())
    collector.install(0)
    gc_ns = [0, 0]

    def gc_timer(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_ns[1] = clock()
        else:
            gc_ns[0] += clock() - gc_ns[1]

    gc.callbacks.append(gc_timer)
    rng = random.Random(args.seed)
    as_of = date(2024, 6, 1)
    raw_headers = [(b"content-type", b"application/json"),
                   (b"authorization", f"Bearer {bearer}".encode())]

    def body(i: int) -> bytes:
        hh = random_household(rng, as_of, hid=f"s{args.seed}-{i}", members=5)
        return json.dumps({"query": QUERY_B, "variables": {"h": hh}}).encode()

    async def drive(count: int, first: int) -> int:
        bodies = [body(first + i) for i in range(count)]
        for s in (engine, projecting, encoding, lazy):
            s.ns = 0
        gc_ns[0] = 0
        start = clock()
        size = 0
        for content in bodies:
            status, answer = await asgi.post(app, content, raw_headers)
            assert status == 200 and b'"errors"' not in answer[:20], answer[:500]
            size += len(answer)
        return (clock() - start, size)  # type: ignore[return-value]

    asyncio.run(drive(args.warm, 0))
    total, size = asyncio.run(drive(args.requests, args.warm))  # type: ignore[misc]
    n = args.requests
    ms = lambda ns: ns / n / 1e6  # noqa: E731
    print(f"{n} never-seen explained evaluates after {args.warm}, one at a time, "
          f"{size / n / 1000:.0f} KB an answer, load {os.getloadavg()[0]:.1f}")
    print(f"whole request {ms(total):.3f}  engine {ms(engine.ns):.3f}  "
          f"projection {ms(projecting.ns):.3f} (lazy parts {ms(lazy.ns):.3f}, the rest "
          f"{ms(projecting.ns - lazy.ns):.3f})  encoding {ms(encoding.ns):.3f}  "
          f"rest {ms(total - engine.ns - projecting.ns - encoding.ns):.3f}  "
          f"(collector {ms(gc_ns[0]):.3f})  ms per answer")
    print("memos:", ", ".join(
        f"{c.name} {c.size}/{c.maxsize} hit {c.hits / max(c.hits + c.misses, 1):.2f}"
        for c in caches() if c.size))
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
