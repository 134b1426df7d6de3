"""Structured request logs with a request id (never a name, an ID-card number or a body) and
Prometheus metrics."""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import time
import traceback
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graphql_api import collector
from graphql_api.messages import classify
from policy.cache import caches
from services import integrity
from services.auth import INVALID_ROLE, Principal

REGISTRY = CollectorRegistry()
REQUEST_SECONDS = Histogram(
    "policy_engine_request_seconds", "HTTP request latency", ["path", "method", "status"],
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVALUATIONS = Counter(
    "policy_engine_evaluations_total", "Programs evaluated", ["program"], registry=REGISTRY)
GRANTED = Counter(
    "policy_engine_outcomes_granted_total", "Outcomes granted (rules fired)", ["program"],
    registry=REGISTRY)
OVERDUE_CASES = Gauge(
    "policy_engine_monitoring_cases_overdue",
    "Open monitoring cases past their step's or the whole case's due day, by county "
    "(as of the scrape)", ["county"], registry=REGISTRY)


def count_overdue_cases(by_county: dict[str, int]) -> None:
    """Set the overdue gauge from a fresh count (counties with none left drop out)."""
    OVERDUE_CASES.clear()
    for county, n in sorted(by_county.items()):
        OVERDUE_CASES.labels(county).set(n)


# Where a GraphQL operation's time went, in the worker that served it (wall clock): "queued",
# from its hand-over to the pool of threads until a thread started it (waiting for a free
# thread, then for the interpreter lock); "running", the thread running it (parsing,
# validation, resolvers, the database; including the time other threads held the lock);
# "resumed", from its end until the event loop took the result up (waiting for the lock).
# Only "running" is the operation's own work: the other two are queueing, which a request's
# latency shows but its CPU time does not.
OPERATION_SECONDS = Histogram(
    "policy_engine_graphql_operation_seconds",
    "GraphQL operations: time queued for a thread, running in it, and until the event loop "
    "resumed with the result", ["stage"], registry=REGISTRY,
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
_QUEUED, _RUNNING, _RESUMED = (OPERATION_SECONDS.labels(stage)
                               for stage in ("queued", "running", "resumed"))


def time_operation(handed: float, started: float, ended: float, resumed: float) -> None:
    """One operation's stages (``time.perf_counter`` readings: handed to the pool, started
    in a thread, ended there, taken up by the event loop)."""
    _QUEUED.observe(started - handed)
    _RUNNING.observe(ended - started)
    _RESUMED.observe(resumed - ended)


# GraphQL answers with errors are HTTP 200: these count them, by the code the client saw.
OPERATIONS = Counter(
    "policy_engine_graphql_operations_total", "GraphQL requests answered, by outcome",
    ["outcome"], registry=REGISTRY)
ERRORS = Counter(
    "policy_engine_graphql_errors_total", "GraphQL errors given, by extensions.code", ["code"],
    registry=REGISTRY)
LANES = Counter(
    "policy_engine_graphql_operation_lanes_total",
    "GraphQL operations run, by where: the event loop in turn (loop) or the pool of threads",
    ["lane"], registry=REGISTRY)
# The process (CPU, memory, open files, start time), the interpreter and its collector: the
# default registry's collectors, registered on ours too.
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.register(_collector)



class _CacheCollector(Collector):
    """The process's memos (``policy.cache``): hits, misses and entries, by cache."""

    def collect(self) -> Iterator[Metric]:
        stats = caches()
        hits = CounterMetricFamily("policy_engine_cache_hits", "Memo hits", labels=["cache"])
        misses = CounterMetricFamily("policy_engine_cache_misses", "Memo misses",
                                     labels=["cache"])
        size = GaugeMetricFamily("policy_engine_cache_entries", "Entries held by a memo",
                                 labels=["cache"])
        bound = GaugeMetricFamily("policy_engine_cache_max_entries", "A memo's bound",
                                  labels=["cache"])
        for s in stats:
            hits.add_metric([s.name], s.hits)
            misses.add_metric([s.name], s.misses)
            size.add_metric([s.name], s.size)
            bound.add_metric([s.name], s.maxsize)
        yield from (hits, misses, size, bound)


REGISTRY.register(_CacheCollector())


class _PauseCollector(Collector):
    """The serve collector policy (graphql_api.collector): pauses per generation, frozen
    objects, complete collections and the unreachable objects they found (cycles that died
    among frozen objects: a steady rise means something makes cycles per request)."""

    def collect(self) -> Iterator[Metric]:
        total = CounterMetricFamily(
            "policy_engine_gc_pause_seconds",
            "Time the process stood in garbage collections (wall clock), by generation",
            labels=["generation"])
        longest = GaugeMetricFamily(
            "policy_engine_gc_longest_pause_seconds",
            "The longest garbage-collection pause since start, by generation",
            labels=["generation"])
        for g in range(3):
            total.add_metric([str(g)], collector.pause_seconds[g])
            longest.add_metric([str(g)], collector.longest_pause[g])
        frozen = GaugeMetricFamily("policy_engine_gc_frozen_objects",
                                   "Objects in the collector's frozen generation",
                                   value=gc.get_freeze_count())
        complete = CounterMetricFamily("policy_engine_gc_complete_collections",
                                       "Complete collections (frozen objects included)",
                                       value=collector.stats["complete_collections"])
        found = CounterMetricFamily("policy_engine_gc_complete_collected",
                                    "Unreachable objects the complete collections found",
                                    value=collector.stats["complete_collected"])
        yield from (total, longest, frozen, complete, found)


REGISTRY.register(_PauseCollector())

log = logging.getLogger("policy_engine.http")


class _IntegrityCollector:
    """``policy_engine_integrity_failures_total{kind}``: integrity checks this process saw
    fail (services.integrity), e.g. a version whose document no longer hashes to its
    contentHash. Any increase is an alert."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily("policy_engine_integrity_failures",
                                     "Integrity checks that failed (stored data tampered with)",
                                     labels=["kind"])
        family.add_metric(["content_hash_mismatch"],
                          integrity.FAILURES["content_hash_mismatch"])
        yield family


REGISTRY.register(_IntegrityCollector())


class _WorkerCollector:
    """``policy_engine_worker_info{pid}``: the process that answered the scrape. Each worker
    of `serve --workers N` serves its own figures, and a scrape reaches one of them: the pid
    (as in the log lines) tells them apart."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("policy_engine_worker_info",
                                   "The worker process that answered (its pid)", labels=["pid"])
        family.add_metric([str(os.getpid())], 1)
        yield family


REGISTRY.register(_WorkerCollector())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": round(record.created, 3), "level": record.levelname, "logger": record.name,
            "pid": record.process,  # which worker of `serve --workers N`
            "msg": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            data.update(extra)
        return json.dumps(data, ensure_ascii=False)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("policy_engine")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def error_codes(errors: Iterable[Any]) -> list[str]:
    """The codes of a result's GraphQL errors, for the request's log line and the metrics:
    the code the client sees (graphql_api.messages.classify)."""
    return [classify(error)[0] for error in errors]


def log_internal_error(error: Any, request_id: str | None) -> None:
    """An unexpected exception behind a GraphQL error: its type, where it was raised and the
    types of the exceptions it came from. Not its text, nor the query or the variables: a
    database error's text quotes the values it was given."""
    original = error.original_error
    stack = "".join(traceback.format_tb(original.__traceback__)) if original else ""
    chain: list[str] = []
    cause = original
    while cause is not None and len(chain) < 10:
        chain.append(f"{type(cause).__module__}.{type(cause).__qualname__}")
        cause = cause.__cause__ or cause.__context__
    log.error("internal error", extra={"fields": {
        "request_id": request_id, "exception": chain, "path": list(error.path or []),
        "traceback": stack}})


def metrics_text() -> bytes:
    return generate_latest(REGISTRY)


_CHILDREN: dict[tuple[int, str], Any] = {}


def _child(counter: Counter, program: str) -> Any:
    child = _CHILDREN.get((id(counter), program))
    if child is None:
        child = _CHILDREN[(id(counter), program)] = counter.labels(program)
    return child


def count_lane(lane: str) -> None:
    """One GraphQL operation run in the event loop (``loop``, graphql_api.turns) or in the pool
    of threads (``threads``)."""
    _child(LANES, lane).inc()


def count_operation(codes: list[str]) -> None:
    """One GraphQL request answered, with the codes of its errors (none: ``ok``)."""
    _child(OPERATIONS, "error" if codes else "ok").inc()
    for code in codes:
        _child(ERRORS, code).inc()


def count_determination(det: Any) -> None:
    count_determinations([det])


def count_determinations(dets: Iterable[Any]) -> None:
    """Count determinations' program evaluations and granted outcomes, one increment of each
    program's counters for them all (an increment takes the counter's lock)."""
    evaluations: dict[str, int] = {}
    granted: dict[str, int] = {}
    for det in dets:
        for p in det.programs:
            evaluations[p.program] = evaluations.get(p.program, 0) + 1
            if p.granted_count:
                granted[p.program] = granted.get(p.program, 0) + p.granted_count
    for program, n in evaluations.items():
        _child(EVALUATIONS, program).inc(n)
    for program, n in granted.items():
        _child(GRANTED, program).inc(n)


def _request_state(scope: Scope, request_id: str) -> dict[str, Any]:
    """The request's id in its ASGI state, and the state's ``graphql`` entries (what the
    operation adds to the request's log line), with the id among them."""
    state = scope.setdefault("state", {})
    state["request_id"] = request_id
    graphql: dict[str, Any] = state.setdefault("graphql", {})
    graphql["request_id"] = request_id
    return graphql


class RequestLog:
    """ASGI middleware: a request id (X-Request-Id, kept if the client sent a sane one), one log
    line per request, and the latency histogram.

    The line: request id, method, path, status, duration, and for /graphql the operation's
    name, the caller's token id and the error codes of the answer; for a body that did not
    arrive in time (408), its size so far, its declared size and the wait counted and taken.
    Never a body, a query text, a variable or a person's name."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if incoming.isalnum() and len(incoming) <= 64 else uuid.uuid4().hex
        graphql = _request_state(scope, request_id)
        status = {"code": 500}
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            path = scope["path"] if scope["path"] in KNOWN_PATHS else "other"
            REQUEST_SECONDS.labels(path, scope["method"], str(status["code"])).observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                fields = {"request_id": request_id, "method": scope["method"], "path": path,
                          "status": status["code"], "ms": round(elapsed * 1000, 2)}
                for key in ("operation", "principal", "errors", "body_read"):
                    if key in graphql:
                        fields[key] = graphql[key]
                log.info("request", extra={"fields": fields})
            collector.maybe_complete_collection()  # between requests, when its period is due


    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A websocket connection (subscriptions) gets one line when it ends: status 101 once
        accepted (403 when refused before), how long it lasted, the subscriber's token id and
        the error codes of every message sent on it (graphql_api.websocket)."""
        request_id = uuid.uuid4().hex
        graphql = _request_state(scope, request_id)
        status = {"code": 403}
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "websocket.accept":
                status["code"] = 101
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if log.isEnabledFor(logging.INFO):
                fields = {"request_id": request_id, "method": "WEBSOCKET",
                          "path": scope["path"] if scope["path"] in KNOWN_PATHS else "other",
                          "status": status["code"],
                          "ms": round((time.perf_counter() - start) * 1000, 2)}
                for key in ("principal", "errors"):
                    if key in graphql:
                        fields[key] = graphql[key]
                log.info("request", extra={"fields": fields})


KNOWN_PATHS = {"/graphql", "/healthz", "/readyz", "/metrics", "/"}


def principal_id(p: Principal) -> str:
    """How a request log names the caller: the token's id (never a person's name)."""
    if p.anonymous:
        return "anonymous"
    if p.role == INVALID_ROLE:
        return "invalid-token"
    return p.token_id or "unknown"
