"""``evaluateMany`` of 100 households the process has never seen, in-process.

    python bench/evaluate_many.py [--rounds 30] [--items 100] [--members 0]
        [--gc default|service]

An application on a fresh SQLite database (seeded from fixtures/) and the schema as served
(``graphql_api.schema.build_schema``, env ``test``) run in this process, no HTTP. Each round
generates, for each row, ``--items`` households nobody evaluated before
(``testing.households``; mixed sizes of 1 to 8 members, or ``--members N``; each row its own
households, as the engine's memos would serve a twin's parts) and times, side by side in the same
round, in an order that rotates from round to round:

- ``graphql list``: ``evaluateMany`` (items with ``facts``) with a caseworker's list
  selection (each item's key, errors, and every outcome's program, code, memberId, status,
  amount, period);
- ``graphql flag``: ``evaluateMany`` selecting only key and flaggedForMonitoring;
- ``service``: ``Application.evaluate_many`` alone (validation, durable_rules, explanations);
- ``engine``: ``engine.determine`` of each household in a loop (the floor).

Figures: median and worst wall-clock ms per call of ``--items`` households, and the CPU ms of
the process per call (on the shared machine, closer to what the call costs on an idle core).
The target of the issue is a median under 100 ms for ``graphql list``.

The garbage collector runs under the interpreter's default policy unless ``--gc service``:
then the service's (``graphql_api.collector.install`` after the warm-up round, as a served
worker does at start; no complete collections during the run), with which the process's
long-lived memos are not walked by every full collection.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.determine import determine  # noqa: E402
from graphql_api import collector  # noqa: E402
from graphql_api.schema import Context, build_schema  # noqa: E402
from services.application import Application, BatchItem  # noqa: E402
from services.auth import Principal  # noqa: E402
from services.config import Settings  # noqa: E402
from testing.households import random_household  # noqa: E402

LIST = """query($items: [EvaluateItem!]!) { evaluateMany(items: $items) {
  key errors { field code }
  determination { flaggedForMonitoring
    programs { program outcomes { code memberId status amount period } } } } }"""
FLAG = """query($items: [EvaluateItem!]!) { evaluateMany(items: $items) {
  key determination { flaggedForMonitoring } } }"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--members", type=int, default=0, help="0: mixed sizes (1-8)")
    parser.add_argument("--gc", choices=["default", "service"], default="default",
                        help="the garbage-collector policy: the interpreter's default, or the "
                        "service's (graphql_api/collector.py, installed after the warm-up "
                        "round, as a worker does)")
    args = parser.parse_args()
    as_of = date(2024, 6, 1)
    folder = tempfile.mkdtemp(prefix="bench-many-")
    settings = Settings(env="test", database_url=f"sqlite:///{folder}/db.sqlite3")
    app = Application(settings)
    app.start()
    schema = build_schema(settings)
    principal = Principal(name="bench", role="api_client")
    versions = app.catalog().in_force(as_of)
    rng = random.Random(20261205)
    serial = iter(range(10**9))

    def households() -> list[dict[str, Any]]:
        return [random_household(rng, as_of, hid=f"new-{next(serial)}",
                                 members=args.members or None) for _ in range(args.items)]

    def graphql(query: str) -> Callable[[list[dict[str, Any]]], None]:
        def run(batch: list[dict[str, Any]]) -> None:
            items = [{"key": h["id"], "facts": h, "asOf": as_of.isoformat()} for h in batch]
            ctx = Context(app=app, principal=principal, today=as_of)
            result = schema.execute_sync(query, variable_values={"items": items},
                                         context_value=ctx)
            assert result.errors is None, result.errors
            assert result.data is not None and len(result.data["evaluateMany"]) == len(batch)
        return run

    def service(batch: list[dict[str, Any]]) -> None:
        results = app.evaluate_many(principal, [BatchItem(h["id"], h, as_of) for h in batch])
        assert all(r.determination is not None for r in results)

    def engine(batch: list[dict[str, Any]]) -> None:
        for h in batch:
            determine(h, as_of, versions)

    rows: dict[str, Callable[[list[dict[str, Any]]], None]] = {
        "graphql list": graphql(LIST), "graphql flag": graphql(FLAG),
        "service": service, "engine": engine}
    # One warm-up round (compiles the rule sets' durable_rules, parses the queries).
    for call in rows.values():
        call(households())
    if args.gc == "service":
        collector.install(0)
    wall: dict[str, list[float]] = {name: [] for name in rows}
    cpu: dict[str, list[float]] = {name: [] for name in rows}
    names = list(rows)
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            call, batch = rows[name], households()
            c0, t0 = time.process_time(), time.perf_counter()
            call(batch)
            wall[name].append((time.perf_counter() - t0) * 1000)
            cpu[name].append((time.process_time() - c0) * 1000)
    print(f"evaluateMany, {args.items} never-seen households a call "
          f"({'mixed sizes' if not args.members else f'{args.members} members'}), "
          f"{args.rounds} rounds, in-process, SQLite, {args.gc} collector policy")
    print(f"{'':>13} {'median ms':>10} {'max ms':>8} {'median CPU ms':>14}")
    for name in rows:
        print(f"{name:>13} {statistics.median(wall[name]):>10.1f} {max(wall[name]):>8.1f} "
              f"{statistics.median(cpu[name]):>14.1f}")
    print("target: graphql list median < 100 ms")


if __name__ == "__main__":
    main()
