"""What rate limits, trusted operations and tracing cost a ``{ __typename }`` request, side by
side in one process.

    python bench/operability.py [--requests 1000] [--rounds 5]

Copies of the ASGI app on one SQLite database, called directly (no sockets, so the figure is
the service's own work per request, which is what these features add to):

- off: no rate limit, no trusted-operations list, no spans (the defaults as shipped);
- limits: a per-token rate limit (high enough never to refuse) kept in the worker's memory,
  and a trusted-operations list that the caller (an api_client token, in prod) must match;
- shared: the same, the rate limit in the file the workers of ``serve --workers N`` share;
- traced: limits, and OpenTelemetry spans honouring a ``traceparent`` header, exported
  through a BatchSpanProcessor (to an exporter that drops them, so the export's own I/O is not
  counted).

Throughput is requests per CPU-second of the process (time.process_time), which a busy
shared machine disturbs less than wall time. Each caller (an api_client token, anonymous) is
measured with three kinds of request: no ``traceparent`` (traced: a root span each, as the
default sampler decides), every request's ``traceparent`` sampled (a span each), and one in
ten sampled (an upstream sampling 10 %, which sends the rest with the flag off: no span).
Rounds alternate the apps' order; the report is each app's median over the rounds and its
ratio to off (the machine is shared: only the ratios within one run mean much), with the
load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import (  # noqa: E402
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from graphql_api.app import create_app  # noqa: E402
from graphql_api.operability import document_hash  # noqa: E402
from services.application import Application, Tokens  # noqa: E402
from services.config import Settings  # noqa: E402
from testing import asgi  # noqa: E402

QUERY = "{ __typename }"


class _Drop(SpanExporter):
    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


async def _rate(app: Any, headers: list[list[tuple[bytes, bytes]]], n: int) -> float:
    body = json.dumps({"query": QUERY}).encode()
    # CPU time of the process (the event loop and the worker threads): on a shared machine
    # it does not count the time other programs had the cores, as wall time would.
    start = time.process_time()
    for i in range(n):
        status, _ = await asgi.post(app, body, headers[i % len(headers)])
        if status != 200:
            raise SystemExit(f"status {status}")
    return n / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_Drop()))
    trace.set_tracer_provider(provider)

    folder = Path(tempfile.mkdtemp(prefix="bench-ops-"))
    manifest = folder / "trusted.json"
    manifest.write_text(json.dumps({document_hash(QUERY): QUERY}), encoding="utf-8")
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    base: dict[str, Any] = {"env": "prod", "database_url": url, "log_level": "WARNING"}
    limits: dict[str, Any] = {"rate_limit_per_minute": 10_000_000,
                              "trusted_operations_file": str(manifest)}
    configs = {
        "off": Settings(**base),
        "limits": Settings(**base, **limits),
        "shared": Settings(**base, **limits, rate_limit_file=str(folder / "rate-limits")),
        "traced": Settings(**base, **limits, tracing="console"),
    }
    # One application migrates and seeds the database; the ones measured are made alike.
    setup = Application(configs["off"])
    setup.start(migrate=True)
    apps = {name: create_app(s, Application(s, setup.engine), migrate=False)
            for name, s in configs.items()}
    token_text = Tokens(setup).create(role="api_client", name="bench")

    def headers(token: bool, sampled_every: int) -> list[list[tuple[bytes, bytes]]]:
        """Ten requests' headers: traceparents of which one in ``sampled_every`` has its
        sampled flag on (as an upstream that samples that share sends them); 0: none."""
        out = []
        for i in range(10):
            h = [(b"content-type", b"application/json")]
            if sampled_every:
                flag = b"01" if i % sampled_every == 0 else b"00"
                h.append((b"traceparent",
                          b"00-4bf92f3577b34da6a3ce929d0e0e47%02d-00f067aa0ba902b7-" % i + flag))
            if token:
                h.append((b"authorization", f"Bearer {token_text}".encode()))
            out.append(h)
        return out

    async def run(h: list[list[tuple[bytes, bytes]]]) -> dict[str, list[float]]:
        rates: dict[str, list[float]] = {name: [] for name in apps}
        for name in apps:  # warm up: caches, imports, the thread pool
            await _rate(apps[name], h, 200)
        names = list(apps)
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                rates[name].append(await _rate(apps[name], h, args.requests))
        return rates

    print(f"{args.rounds} rounds x {args.requests} requests of {QUERY} (in-process ASGI), "
          f"requests per CPU-second (median); load average before: {_load()}")
    print(f"{'caller':17} {'traceparent':>12} {'off':>7} {'limits':>7} {'shared':>7} "
          f"{'traced':>7}   {'limits':>6} {'shared':>6} {'traced':>6}  (/ off)")
    for caller, with_token in (("api_client token", True), ("anonymous", False)):
        for every, label in ((0, "none"), (10, "1 in 10"), (1, "all")):
            rates = asyncio.run(run(headers(with_token, every)))
            med = {name: statistics.median(r) for name, r in rates.items()}
            print(f"{caller:17} {label:>12} {med['off']:7.0f} {med['limits']:7.0f} "
                  f"{med['shared']:7.0f} {med['traced']:7.0f}   "
                  f"{med['limits'] / med['off']:6.3f} {med['shared'] / med['off']:6.3f} "
                  f"{med['traced'] / med['off']:6.3f}", flush=True)
    print(f"load average after: {_load()}")
    provider.shutdown()


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
