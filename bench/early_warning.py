"""Early-warning throughput: a stream of department events over stored households, ingested
through GraphQL (``eventsIngest``, 1,000 a call) on a uvicorn server, correlated end to end,
with a real websocket client subscribed to ``alertRaised``.

    .venv/bin/python bench/early_warning.py                      # PostgreSQL (TEST_DATABASE_URL
                                                                 # or the local default)
    .venv/bin/python bench/early_warning.py --events 20000 --households 4000   # a quick run
    EW_TRACEMALLOC=1 .venv/bin/python bench/early_warning.py ...  # where the server's memory
                                                                 # grows (slower)

The server runs in a process of its own (as it would in production: the departments' feeds and
the websocket client are other programs), started after the households are stored; the feed
and the subscriber run in this process. Reports events/s (ingested and correlated: each call
returns after its households' alerts are upserted), the evaluation's own events/s in the same
run (in-process, no database), the server process's resident memory at 10, 25, 50, 75 and
100 % of the stream with the sizes of the engine's bounded memos, the server's CPU time, and
the time from the start of the ingest call to the subscription's delivery of each alert raised
(p50, p99, max), and the server's live Python objects (allocated blocks, after a full garbage
collection) at 10 % and at the end. ``--no-subscriber`` runs without the websocket client;
``--no-ws-deflate`` has the server decline the websocket's permessage-deflate compression.
The server runs under ``policy-engine serve``'s garbage-collector policy
(``graphql_api.collector``: start-up and the survivors of full collections frozen), as in
production; ``--interpreter-gc`` keeps the interpreter's default instead. The collections of
each generation during the stream are reported.
With ``EW_TRACEMALLOC=1`` the server also traces its allocations and reports the 25 sources
that grew most between 10 % and the end (after a garbage collection). The database is a fresh
PostgreSQL schema, dropped afterwards.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import random
import statistics
import sys
import threading
import time
import tracemalloc
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from engine import results, trace  # noqa: E402
from graphql_api import collector  # noqa: E402
from graphql_api.app import create_app  # noqa: E402
from policy.facts import parse_household  # noqa: E402
from services.application import Application, Tokens  # noqa: E402
from services.config import Settings  # noqa: E402
from store.db import make_engine  # noqa: E402
from testing.serving import free_port, wait_until_ready  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
INGEST = """mutation($e: [EventInput!]!) { eventsIngest(events: $e) { accepted duplicates
  rejected { index code } alerts { id } } }"""
SUBSCRIBE = "subscription { alertRaised { id rule householdId } }"
KINDS = [("INPATIENT_COST", "医保", 45), ("INCOME_REPORTED", "扶贫", 20),
         ("DIBAO_GRANTED", "民政", 5), ("TEMPORARY_RELIEF_GRANTED", "民政", 5),
         ("DISABILITY_CERTIFIED", "残联", 8), ("SCHOOL_DROPOUT", "教育", 7),
         ("HOUSING_REGRADED", "住建", 10)]


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def household(i: int, rng: random.Random) -> dict[str, Any]:
    return {
        "id": f"bench-{i:06d}", "regionCode": f"371300-{i % 50:03d}",
        "povertyAlleviated": rng.random() < 0.3, "annualNetIncome": rng.choice(
            [8000, 16000, 24000, 36000, 60000]),
        "members": [
            {"id": "m1", "relation": "HEAD", "birthDate": "1972-03-01"},
            {"id": "m2", "relation": "SPOUSE", "birthDate": "1975-07-01"},
            {"id": "m3", "relation": "CHILD", "birthDate": f"{rng.randint(2005, 2018)}-05-01",
             "schoolStage": "PRIMARY"},
        ],
    }


def events(n: int, households: int, rng: random.Random) -> list[dict[str, Any]]:
    kinds = [k for k, _, w in KINDS for _ in range(w)]
    source = {k: s for k, s, _ in KINDS}
    start = date(2023, 1, 1)
    out = []
    for i in range(n):
        kind = rng.choice(kinds)
        e: dict[str, Any] = {
            "source": source[kind], "eventId": f"b{i}", "kind": kind,
            "householdId": f"bench-{rng.randrange(households):06d}",
            "occurredOn": (start + timedelta(days=rng.randrange(500))).isoformat()}
        if kind in ("INPATIENT_COST", "DISABILITY_CERTIFIED", "SCHOOL_DROPOUT"):
            e["memberId"] = rng.choice(["m1", "m2", "m3"])
        if kind == "INPATIENT_COST":
            e["amount"] = round(rng.uniform(200, 9000), 2)
        if kind == "INCOME_REPORTED":
            e["amount"] = rng.choice([6000, 12000, 20000, 30000])
        if kind == "DISABILITY_CERTIFIED":
            e["value"] = rng.choice("1234")
        if kind == "HOUSING_REGRADED":
            e["value"] = rng.choice("ABCD")
        out.append(e)
    out.sort(key=lambda e: e["occurredOn"])  # a feed sends roughly in date order
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--no-subscriber", action="store_true",
                        help="no websocket client (what the pushes cost)")
    parser.add_argument("--no-ws-deflate", action="store_true",
                        help="the server declines websocket permessage-deflate (what "
                             "compressing each push costs)")
    parser.add_argument("--interpreter-gc", dest="gc_policy", action="store_false",
                        help="the server keeps the interpreter's garbage-collector policy "
                             "instead of `policy-engine serve`'s (graphql_api.collector)")
    parser.add_argument("--url", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    rng = random.Random(16)

    schema = f"bench_ew_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = make_engine(args.url, connect_args={"options": f"-csearch_path={schema}"},
                         pool_size=10)
    try:
        return run(args, rng, engine, schema)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def run(args: argparse.Namespace, rng: random.Random, engine: Any, schema: str) -> int:
    settings = Settings(env="prod", seed_fixtures=True)
    application = Application(settings, engine)
    application.start()
    t0 = time.perf_counter()
    today = date.today()
    for start in range(0, args.households, 1000):
        with application.uow() as uow:
            for i in range(start, min(start + 1000, args.households)):
                uow.households.save(parse_household(household(i, rng), today), by="bench")
            uow.commit()
    print(f"stored {args.households:,} households in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)
    tokens = Tokens(application)
    feed = tokens.create(role="api_client", name="bench-feed", regions=["371300"])
    watcher = tokens.create(role="auditor", name="bench-watch")

    port = free_port()
    control, child_end = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=serve, args=(args.url, schema, port, child_end, not args.no_ws_deflate,
                            args.gc_policy), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{port}"
    wait_until_ready(base, 30)

    def ask(command: str) -> Any:
        control.send(command)
        return control.recv()

    received: dict[str, float] = {}
    ready = threading.Event()
    stop = threading.Event()

    def subscriber() -> None:
        with connect(base.replace("http://", "ws://") + "/graphql",
                     subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                     additional_headers={"Authorization": f"Bearer {watcher}"},
                     max_size=None) as ws:
            ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            ws.recv(timeout=10)
            ws.send(json.dumps({"id": "1", "type": "subscribe",
                                "payload": {"query": SUBSCRIBE}}))
            ready.set()
            while not stop.is_set():
                try:
                    message = json.loads(ws.recv(timeout=0.5))
                except TimeoutError:
                    continue
                if message.get("type") == "next":
                    received[message["payload"]["data"]["alertRaised"]["id"]] = \
                        time.perf_counter()

    sub = threading.Thread(target=subscriber, daemon=True)
    if not args.no_subscriber:
        sub.start()
        ready.wait(10)
        deadline = time.monotonic() + 10
        while not ask("listeners") and time.monotonic() < deadline:
            time.sleep(0.01)

    stream = events(args.events, args.households, rng)
    engine_rate = engine_only(application, stream[:5000], args.households)
    sent: dict[str, float] = {}
    rss: dict[int, int] = {}
    accepted = 0
    blocks_at_10 = 0
    client = httpx.Client(timeout=600, headers={"authorization": f"Bearer {feed}"})
    load = os.getloadavg()[0]
    started = time.perf_counter()
    cpu_start = ask("cpu")
    collections_start = ask("gc")
    for k in range(0, len(stream), args.batch):
        t = time.perf_counter()
        r = client.post(f"{base}/graphql", json={"query": INGEST,
                                                  "variables": {"e": stream[k:k + args.batch]}})
        body = r.json()
        result = body["data"]["eventsIngest"]
        accepted += result["accepted"]
        for a in result["alerts"]:
            sent.setdefault(a["id"], t)
        done = k + args.batch
        for mark in (10, 25, 50, 75):
            if mark not in rss and done >= len(stream) * mark // 100:
                rss[mark] = round(ask("mark" if mark == 10 else "rss"))
                if mark == 10:
                    blocks_at_10 = ask("blocks")
    elapsed = time.perf_counter() - started
    cpu = ask("cpu") - cpu_start
    collections = {k: v - collections_start[k] for k, v in ask("gc").items()}
    load_end = os.getloadavg()[0]
    rss[100] = round(ask("rss"))
    time.sleep(1.0)  # the last deliveries
    stop.set()
    if sub.is_alive():
        sub.join(5)
    client.close()
    report = ask("report")
    collected = ask("collect")
    control.send("stop")
    server.join(15)
    if server.is_alive():
        server.terminate()

    latencies = sorted((received[a] - sent[a]) * 1000 for a in sent if a in received)
    missing = len([a for a in sent if a not in received])
    print(json.dumps({
        "events": len(stream), "accepted": accepted,
        "wsDeflate": not args.no_ws_deflate, "households": args.households,
        "loadAverage1m": [round(load, 2), round(load_end, 2)],
        "seconds": round(elapsed, 2), "eventsPerSecond": round(len(stream) / elapsed),
        "serverCpuSeconds": round(cpu, 2),
        "serverCpuEventsPerSecond": round(len(stream) / cpu) if cpu else None,
        "gcPolicy": args.gc_policy, "serverCollections": collections,
        "engineOnlyEventsPerSecond": round(engine_rate),
        "serverRssMiBAt": {f"{mark}%": value for mark, value in sorted(rss.items())},
        "engineMemoEntries": report["memos"],
        # Python's live objects (pymalloc blocks) at 10 %, and at the end once the
        # subscription has ended and a full collection has run: flat when nothing is kept.
        "serverAllocatedBlocks": {"10%": blocks_at_10, "end": collected.pop("allocatedBlocks")},
        "serverFullCollectionAtEnd": collected,
        "alertsRaisedOrUpdated": len(sent), "delivered": len(latencies),
        "notDelivered": missing,
        "deliveryMs": {"p50": round(statistics.median(latencies), 1) if latencies else None,
                       "p99": round(latencies[int(len(latencies) * 0.99) - 1], 1)
                       if latencies else None,
                       "max": round(latencies[-1], 1) if latencies else None},
        **({"memoryGrowth10PercentToEnd": report["growth"]} if report["growth"] else {}),
    }, indent=2, ensure_ascii=False))
    return 0


def serve(url: str, schema: str, port: int, control: Any, ws_deflate: bool = True,
          gc_policy: bool = False) -> None:
    """The server process: uvicorn over the bench's schema, answering the bench's questions
    about itself (resident memory, CPU time, allocations) on ``control``."""
    tracing = os.environ.get("EW_TRACEMALLOC") == "1"
    if tracing:
        tracemalloc.start(12)
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"},
                         pool_size=10)
    settings = Settings(env="prod", seed_fixtures=True)
    if gc_policy and settings.gc_complete_seconds > 0:
        # The garbage collector's policy of `policy-engine serve` (graphql_api.served_app).
        collector.install(settings.gc_complete_seconds)
    application = Application(settings, engine)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, application), host="127.0.0.1",
                                           port=port, log_level="warning",
                                           ws_per_message_deflate=ws_deflate))
    marks: dict[str, Any] = {}

    def answer() -> None:
        while True:
            command = control.recv()
            if command == "rss":
                control.send(rss_mib())
            elif command == "cpu":
                control.send(time.process_time())
            elif command == "gc":
                control.send({**collector.stats, **{
                    f"gen{g}": s["collections"] for g, s in enumerate(gc.get_stats())}})
            elif command == "listeners":
                control.send(len(application.warning.listeners._items))
            elif command == "blocks":
                collector.complete_collection()
                control.send(sys.getallocatedblocks())
            elif command == "mark":
                control.send(rss_mib())
                if tracing:
                    gc.collect()
                    marks["snapshot"] = tracemalloc.take_snapshot()
                    marks["types"] = _type_counts()
            elif command == "collect":
                before = rss_mib()
                found = collector.complete_collection()  # frozen objects included
                control.send({"rssMiB": round(before), "unreachableObjects": found,
                              "rssMiBAfter": round(rss_mib()),
                              "allocatedBlocks": sys.getallocatedblocks()})
            elif command == "report":
                growth: dict[str, Any] = {}
                if tracing and "snapshot" in marks:
                    gc.collect()
                    diff = tracemalloc.take_snapshot().compare_to(marks["snapshot"], "traceback")
                    growth["allocations"] = [
                        {"kib": round(d.size_diff / 1024), "blocks": d.count_diff,
                         "where": [f"{f.filename.split('site-packages/')[-1]}:{f.lineno}"
                                   for f in d.traceback[-6:]]}
                        for d in diff[:25]]
                    now = _type_counts()
                    growth["objects"] = dict(sorted(
                        ((k, now[k] - marks["types"].get(k, 0)) for k in now),
                        key=lambda kv: -kv[1])[:15])
                control.send({"memos": {"trace": len(trace._MEMO),
                                        "reasonJson": len(results._REASON_JSON)},
                              "growth": growth})
            elif command == "stop":
                server.should_exit = True
                return

    threading.Thread(target=answer, daemon=True).start()
    server.run()


def _type_counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in gc.get_objects():
        name = type(o).__qualname__
        counts[name] = counts.get(name, 0) + 1
    return counts


def engine_only(application: Application, sample: list[dict[str, Any]],
                households: int) -> float:
    """Events/s of the evaluation alone (facts, durable_rules, condition tree, explanation of
    what fires), in-process, on a sample of the stream: the share of the end-to-end time that
    is the engine's, measured in the same run."""
    from engine.warning import evaluate_event
    from policy.events import parse_event

    catalog = application.catalog()
    record = catalog.version_in_force("early_warning", date(2024, 1, 1))
    assert record is not None
    rng = random.Random(16)
    facts = [household(i, rng) for i in range(households)]
    by_id = {h["id"]: h for h in facts}
    parsed = [parse_event(e, today=date.today()) for e in sample]
    hhs = {e.household_id: parse_household(by_id[e.household_id], date.today()) for e in parsed}
    ref = catalog.ref(record)
    started = time.perf_counter()
    for e in parsed:
        evaluate_event(record.program, ref, hhs[e.household_id], e, [e])
    return len(parsed) / (time.perf_counter() - started)


if __name__ == "__main__":
    sys.exit(main())
