"""What rate limits, trusted operations and tracing cost a ``{ __typename }`` request, side by
side in one process.

    python bench/operability.py [--requests 2000] [--rounds 9]

Two copies of the ASGI app on one SQLite database, called directly (no sockets, so the figure
is the service's own work per request, which is what these features add to):

- off: no rate limit, no trusted-operations list, no spans (the defaults);
- on: a per-token rate limit (high enough never to refuse), a trusted-operations list that the
  caller (an api_client token, in prod) must match, and OpenTelemetry spans honouring a
  ``traceparent`` header, exported through a BatchSpanProcessor (to an exporter that drops
  them, so the export's own I/O is not counted).

Throughput is requests per CPU-second of the process (time.process_time), which a busy
shared machine disturbs less than wall time. Each is measured with every request's
traceparent sampled (the worst case: a span each) and with one in ten sampled (an upstream
sampling 10 %, which sends the rest with the flag off: no span). Rounds alternate which app
goes first; the report is each app's median over the rounds and the ratio on/off (the machine
is shared: only the ratio within one run means much).
"""

from __future__ import annotations

import argparse
import asyncio
import json
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

QUERY = "{ __typename }"


class _Drop(SpanExporter):
    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


async def _call(app: Any, body: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/graphql", "raw_path": b"/graphql",
             "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _rate(app: Any, headers: list[list[tuple[bytes, bytes]]], n: int) -> float:
    body = json.dumps({"query": QUERY}).encode()
    # CPU time of the process (the event loop and the worker threads): on a shared machine
    # it does not count the time other programs had the cores, as wall time would.
    start = time.process_time()
    for i in range(n):
        status = await _call(app, body, headers[i % len(headers)])
        if status != 200:
            raise SystemExit(f"status {status}")
    return n / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_Drop()))
    trace.set_tracer_provider(provider)

    folder = Path(tempfile.mkdtemp(prefix="bench-ops-"))
    manifest = folder / "trusted.json"
    manifest.write_text(json.dumps({document_hash(QUERY): QUERY}), encoding="utf-8")
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    off_settings = Settings(env="prod", database_url=url, log_level="WARNING")
    on_settings = Settings(env="prod", database_url=url, log_level="WARNING",
                           rate_limit_per_minute=10_000_000, tracing="console",
                           trusted_operations_file=str(manifest))
    # One application migrates and seeds the database; the two measured are made alike.
    setup = Application(off_settings)
    setup.start(migrate=True)
    apps = {"off": create_app(off_settings, Application(off_settings, setup.engine),
                              migrate=False),
            "on": create_app(on_settings, Application(on_settings, setup.engine),
                             migrate=False)}
    token = Tokens(setup).create(role="api_client", name="bench")
    def headers(token: bool, sampled_every: int) -> list[list[tuple[bytes, bytes]]]:
        """Ten requests' headers: traceparents of which one in ``sampled_every`` has its
        sampled flag on (as an upstream that samples that share sends them)."""
        out = []
        for i in range(10):
            flag = b"01" if i % sampled_every == 0 else b"00"
            h = [(b"content-type", b"application/json"),
                 (b"traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e47%02d-00f067aa0ba902b7-"
                  % i + flag)]
            if token:
                h.append((b"authorization", f"Bearer {token_text}".encode()))
            out.append(h)
        return out

    token_text = token

    async def run(h: list[list[tuple[bytes, bytes]]]) -> dict[str, list[float]]:
        rates: dict[str, list[float]] = {"off": [], "on": []}
        for name in apps:  # warm up: caches, imports, the thread pool
            await _rate(apps[name], h, 200)
        for r in range(args.rounds):
            order = ["off", "on"] if r % 2 == 0 else ["on", "off"]
            for name in order:
                rates[name].append(await _rate(apps[name], h, args.requests))
        return rates

    print(f"{args.rounds} rounds x {args.requests} requests of {QUERY} (in-process ASGI), "
          "requests per CPU-second (median)")
    print(f"{'caller':24} {'sampled':>10} {'off':>8} {'on':>8} {'on/off':>7}")
    for caller, with_token in (("api_client token", True), ("anonymous", False)):
        for every in (1, 10):
            rates = asyncio.run(run(headers(with_token, every)))
            off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
            print(f"{caller:24} {'all' if every == 1 else f'1 in {every}':>10} "
                  f"{off:8.0f} {on:8.0f} {on / off:7.3f}")
    provider.shutdown()


if __name__ == "__main__":
    main()
