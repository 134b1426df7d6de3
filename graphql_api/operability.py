"""What an integrating system needs around each operation: per-token rate limits, the
registered (trusted) operations an api_client may run, and OpenTelemetry spans.

Rate limits are token buckets. One worker keeps them in its memory; the workers of
``serve --workers N`` share them in a small memory-mapped file (``SharedRateLimiter``) that
``serve`` makes for them, so a token's limit holds across the workers, at the cost of a file
lock per request (microseconds), not a database round trip. Servers on other machines count
their own requests.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import mmap
import os
import random
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests a minute, in bursts of at most
    ``per_minute`` (a quiet client may spend a minute's worth at once).

    >>> clock = iter([0.0, 0.0, 0.0, 30.0]).__next__
    >>> limiter = RateLimiter(2, clock=clock)
    >>> limiter.take("t"), limiter.take("t"), limiter.take("t"), limiter.take("t")
    (0.0, 0.0, 30.0, 0.0)
    """

    def __init__(self, per_minute: int, *, clock: Any = time.monotonic, max_keys: int = 10_000):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens a second
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when the request may go ahead (one token spent), else the seconds until it may."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
            while len(self._buckets) > self.max_keys:  # forget the longest idle
                self._buckets.popitem(last=False)
        return wait


class SharedRateLimiter:
    """``RateLimiter``'s token buckets in a file every worker process maps: the same limit
    across the workers of one server.

    The file is a table of ``slots`` buckets (the key's 64-bit hash, its tokens, when they were
    counted), placed by the hash with a short linear probe; a full probe window reuses its
    longest-idle bucket (a forgotten key starts again with a full bucket, as in
    ``RateLimiter``). A ``flock`` on the file orders the processes, a lock the threads of
    one. The clock is ``time.monotonic``, which all processes of a machine share.

    >>> import tempfile
    >>> path = tempfile.mkdtemp() + "/limits"
    >>> clock = iter([0.0, 0.0, 0.0, 30.0]).__next__
    >>> a, b = SharedRateLimiter(path, 2, clock=clock), SharedRateLimiter(path, 2, clock=clock)
    >>> a.take("t"), b.take("t"), a.take("t"), b.take("t")
    (0.0, 0.0, 30.0, 0.0)
    """

    _SLOT = struct.Struct("<Qdd")  # key hash (0: free), tokens, counted at
    _PROBE = 16

    def __init__(self, path: str | os.PathLike[str], per_minute: int, *,
                 clock: Any = time.monotonic, slots: int = 16_384):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.slots = slots
        size = slots * self._SLOT.size
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            if os.fstat(self._fd).st_size < size:
                os.ftruncate(self._fd, size)  # zeros: every slot free
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._map = mmap.mmap(self._fd, size)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when the request may go ahead (one token spent), else the seconds until it may."""
        digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")
        digest |= 1  # never 0, which marks a free slot
        slot_size, unpack, pack = self._SLOT.size, self._SLOT.unpack_from, self._SLOT.pack_into
        first = digest % self.slots
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                now = self.clock()
                place = None
                idle_at, idle_place = math.inf, first
                for i in range(self._PROBE):
                    at_slot = ((first + i) % self.slots) * slot_size
                    held, tokens, at = unpack(self._map, at_slot)
                    if held == digest:
                        place = at_slot
                        break
                    if held == 0:
                        place, tokens, at = at_slot, self.capacity, now
                        break
                    if at < idle_at:
                        idle_at, idle_place = at, at_slot
                else:
                    place, tokens, at = idle_place, self.capacity, now
                tokens = min(self.capacity, tokens + max(0.0, now - at) * self.rate)
                if tokens >= 1.0:
                    pack(self._map, place, digest, tokens - 1.0, now)
                    return 0.0
                pack(self._map, place, digest, tokens, now)
                return float((1.0 - tokens) / self.rate)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


def retry_after(wait: float) -> str:
    """The Retry-After header's whole seconds (at least 1)."""
    return str(max(1, math.ceil(wait)))


def document_hash(query: str) -> str:
    """The hash a registered operation is known by: sha256 of its text, hex (as Apollo's
    persisted queries and GraphQL Code Generator's persisted documents compute it)."""
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


class TrustedOperations:
    """The registered operations: ``{sha256: document}`` from a JSON file. A hash that does
    not match its document is refused when the file is loaded."""

    def __init__(self, documents: Mapping[str, str]):
        for digest, document in documents.items():
            if document_hash(document) != digest:
                raise ValueError(f"trusted operations: {digest[:12]}... is not the sha256 of "
                                 "its document")
        self.documents = dict(documents)

    @classmethod
    def load(cls, path: str | Path) -> TrustedOperations:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise ValueError(f"{path}: expected a JSON object of sha256 -> document")
        return cls(data)

    def allows(self, query: str | None) -> bool:
        return query is not None and document_hash(query) in self.documents

    def document(self, extensions: Mapping[str, Any] | None) -> str | None:
        """The registered document an ``extensions.persistedQuery.sha256Hash`` names."""
        persisted = (extensions or {}).get("persistedQuery")
        if not isinstance(persisted, Mapping):
            return None
        digest = persisted.get("sha256Hash")
        return self.documents.get(digest) if isinstance(digest, str) else None


class Tracing:
    """OpenTelemetry spans for GraphQL operations, the parent taken from the request's
    ``traceparent`` (W3C trace context). Off (no span, no cost) unless ``enabled``; where the
    spans go is the global tracer provider's business (``configure_tracing``).

    A ``traceparent`` whose sampled flag is off makes no span at all (the caller's trace is
    not being recorded, and this service calls nothing downstream within a request); one with
    it on is always recorded, as the parent decided; of the requests without one, a share
    ``root_ratio`` (chosen at random) get a root span, as the provider's sampler
    (``OTEL_TRACES_SAMPLER``) then decides. A recorded span costs tens of microseconds in the
    OpenTelemetry SDK, a sixth of a ``{ __typename }``: tracing every request would cost
    more than the 5 % aimed at."""

    def __init__(self, enabled: bool, root_ratio: float = 1.0):
        self.enabled = enabled
        self.root_ratio = root_ratio
        if enabled:
            from opentelemetry import trace
            from opentelemetry.trace import SpanContext, TraceFlags

            self._trace = trace
            self._tracer = trace.get_tracer("policy_engine.graphql")
            self._span_context = SpanContext
            self._flags = TraceFlags

    def start(self, traceparent: str | None, name: str) -> Any:
        """A started span (end it), or None: tracing is off, or the parent is not sampled.
        Spans are started and ended by hand, not made current: nothing within a request
        makes child spans, and attaching a context costs as much as the span. An unsampled
        parent costs the header's parsing only (no OpenTelemetry object is made)."""
        if not self.enabled:
            return None
        context = None
        if traceparent:
            parent = parse_traceparent(traceparent)
            if parent is not None:
                trace_id, span_id, flags = parent
                if not flags & 1:
                    return None
                context = self._trace.set_span_in_context(self._trace.NonRecordingSpan(
                    self._span_context(trace_id, span_id, is_remote=True,
                                       trace_flags=self._flags(flags))))
        if context is None and self.root_ratio < 1.0 and random.random() >= self.root_ratio:
            return None  # a request no caller traces: only a share of them gets a root span
        return self._tracer.start_span(name, context=context)


def parse_traceparent(header: str) -> tuple[int, int, int] | None:
    """The W3C ``traceparent`` (version 00): trace id, parent span id and flags, or None when
    malformed (a malformed header is ignored, as the specification says).

    >>> parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")[2]
    1
    >>> parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01") is None
    True
    """
    parts = header.strip().split("-")
    if len(parts) < 4 or len(parts[0]) != 2 or parts[0] == "ff" or len(parts[1]) != 32 \
            or len(parts[2]) != 16 or len(parts[3]) != 2:
        return None
    try:
        trace_id, span_id, flags = int(parts[1], 16), int(parts[2], 16), int(parts[3], 16)
    except ValueError:
        return None
    if not trace_id or not span_id:
        return None
    return trace_id, span_id, flags


_CONFIGURED = False


def configure_tracing(kind: str) -> bool:
    """Install a tracer provider that exports spans ``kind`` ("console", "otlp"); "none"
    installs nothing. Once per process; True when spans are to be made."""
    global _CONFIGURED
    if kind == "none":
        return False
    if _CONFIGURED:
        return True
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": "policy-engine"}))
    if kind == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found]
                OTLPSpanExporter,
            )
        except ImportError as exc:
            raise RuntimeError("POLICY_ENGINE_TRACING=otlp needs the package "
                               "opentelemetry-exporter-otlp-proto-http") from exc
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _CONFIGURED = True
    return True
