"""The server process's garbage-collector policy.

The service keeps large, long-lived, acyclic caches: recent determinations, the explainer's
trace and outcome memos, projected reasons and outcomes (about a million objects once warm).
CPython's full (generation 2) collection walks every tracked object: measured here, about
0.7–1.2 s a pause, several times a minute under a stream of new households, which alone puts
a request's p99 latency in the hundreds of milliseconds. Reference counting frees those caches'
evicted entries anyway (they hold no cycles), so walking them buys nothing.

So, after start-up and after every collection, young (generation 0), middle or full, what
survived is frozen (``gc.freeze``), so the older generations stay nearly empty and a middle or
full collection walks next to nothing. A cycle that dies
among frozen objects would never be found that way, so every ``full_every`` seconds one
complete collection runs (unfreeze, collect, freeze): one pause of about a second per period.
``stats`` counts what happened, for /metrics.

Freezing after full collections only (the policy until 2026-12-05) still let the oldest
generation fill with the memos' new entries between full collections: in a warm worker under
never-seen households, a full collection of 60-140 ms of CPU every 140 or so requests,
which held every request of that worker and kept p99 above 100 ms. Freezing after middle
collections as well also freezes the request-scope objects alive at that moment; they are
freed by reference counting as usual, and only those in a reference cycle wait for the complete
collection. A finished request leaves no cycle (tests/api/test_request_cycles.py): measured,
about 0.5 unreachable objects a never-seen explained ``evaluate`` were left for it
(docs/performance.md, "The oldest generation's pauses").

Freezing after young collections as well (since 2026-12-06): a middle collection walked what
ten young ones had let through, mostly the answers in flight, about 5 ms each, one in about
twenty requests (20 at a time); frozen after the young collection instead, each object is
walked once. Measured with bench/graphql_collector.py (docs/performance.md, issue 13): 0.24
ms of collector CPU per never-seen explained answer instead of 0.43-0.56, the longest pause
1.0-1.4 ms instead of 7.8-10.1, the same memory and the same unreachable objects left for the
complete collection.

Measured on a stream of never-seen households (docs/performance.md, "The collector policy"):
collections took about 30 % of the CPU time under the interpreter's default policy, 10-12 %
with this one. Collecting the youngest generation less often (every 10,000 allocations instead
of 700) was tried and is not used: no less time in collections, and a worse p99.
"""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

stats = {"freezes": 0, "complete_collections": 0, "complete_collected": 0}
# Per generation, once installed: the collections' pauses (wall-clock seconds, what a request
# in the process waits), their total and the longest; on /metrics
# (graphql_api.observability), so a tail latency can be told from the collector's pauses.
pause_seconds = [0.0, 0.0, 0.0]
longest_pause = [0.0, 0.0, 0.0]
_state: dict[str, Any] = {"installed": False, "last_complete": 0.0, "full_every": 600.0,
                          "started": 0.0}
_lock = threading.Lock()


def _after_collection(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _state["started"] = time.perf_counter()
        return
    generation = info["generation"]
    paused = time.perf_counter() - _state["started"]
    pause_seconds[generation] += paused
    if paused > longest_pause[generation]:
        longest_pause[generation] = paused
    gc.freeze()
    stats["freezes"] += 1


def install(full_every: float = 600.0) -> None:
    """Freeze what start-up made and keep freezing after every collection (idempotent).
    Called once loading is done: by a worker at start, and by bench/determination.py so that
    its figures are the service's."""
    with _lock:
        _state["full_every"] = full_every
        _state["last_complete"] = time.monotonic()
        if _state["installed"]:
            return
        gc.collect()
        gc.freeze()
        gc.callbacks.append(_after_collection)
        _state["installed"] = True


def uninstall() -> None:
    with _lock:
        if _state["installed"]:
            gc.callbacks.remove(_after_collection)
            _state["installed"] = False
        gc.unfreeze()


def complete_collection() -> int:
    """Collect everything, frozen objects included, and freeze the survivors again; the
    number of unreachable objects found."""
    with _lock:
        gc.unfreeze()
        found = gc.collect()  # timed as a full collection by the callback, when installed
        if _state["installed"]:
            gc.freeze()
        _state["last_complete"] = time.monotonic()
        stats["complete_collections"] += 1
        stats["complete_collected"] += found
        return found


def maybe_complete_collection(now: float | None = None) -> bool:
    """Run ``complete_collection`` if its period has passed (called between requests)."""
    if not _state["installed"] or _state["full_every"] <= 0:
        return False
    now = time.monotonic() if now is None else now
    if now - _state["last_complete"] < _state["full_every"]:
        return False
    complete_collection()
    return True
