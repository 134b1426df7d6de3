"""Large impact previews in a separate process.

An impact preview re-evaluates every stored household twice; over 20,000 households that is a
second or more of work, much of it Python holding the interpreter lock. Run in a thread of the
serving process it slows every other request of that process (a /healthz waited 50 ms behind
it). Previews over more than ``IN_PROCESS_HOUSEHOLDS`` households therefore run in a child
process of their own (one per serving process, with its own engine on the same database URL),
and the serving thread only waits for the answer. ``serve`` starts it with the worker when
the store already holds that many households (``ImpactPool.start_early``), otherwise the first
large preview does.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from typing import TYPE_CHECKING, Any

from services.auth import Principal
from services.config import Settings

if TYPE_CHECKING:
    from services.application import Application
    from services.editing import ImpactReport

IN_PROCESS_HOUSEHOLDS = 2000

_CHILD: Application | None = None  # in the child process: its application


def _exit_with(parent: int, every: float = 0.5) -> None:
    """End this process once ``parent`` is gone. A worker killed outright (SIGKILL, or a
    supervisor that does not wait) cannot shut its pool down, and the pool's queues do not
    tell the child: without this it would keep its database connections open forever."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(0)


def _start_child(settings: dict[str, Any]) -> None:
    global _CHILD
    from services.application import Application

    threading.Thread(target=_exit_with, args=(os.getppid(),), name="exit-with-parent",
                     daemon=True).start()

    _CHILD = Application(Settings(**settings))
    _CHILD.start(migrate=False)
    freeze_start_up()


def freeze_start_up() -> None:
    """Take what start-up made (modules, the compiled programs and catalogue: about 250,000
    objects) out of the collector's walks (``gc.freeze``), as the serving process does
    (``graphql_api.collector``): it lives as long as the process, and a preview allocates
    enough for a few dozen full collections, each of which would walk all of it again
    (measured: 1.7-3.6 s of a preview's 100,000 households)."""
    gc.collect()
    gc.freeze()


def _progress(app: Application, job_id: str | None) -> Callable[[int], None] | None:
    """Progress written to the job's row (``services.impact_jobs``), when it is a job."""
    if job_id is None:
        return None
    from services.impact_jobs import record_progress

    return lambda done: record_progress(app, job_id, done)


def _impact_in_child(principal: Principal, version_id: str, as_of: date,
                     region_codes: Sequence[str] | None, first: int,
                     job_id: str | None = None) -> ImpactReport:
    assert _CHILD is not None, "the pool's initializer makes the application"
    return _CHILD.editing.impact(principal, version_id, as_of, region_codes, first,
                                 on_progress=_progress(_CHILD, job_id))


class ImpactPool:
    """Where a process's impact previews run: small ones in the calling thread, large ones in
    the child process (when the application has a database URL a child can open)."""

    def __init__(self, app: Application, enabled: bool):
        self.app = app
        self.enabled = enabled
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def _executor(self, early: bool = False) -> ProcessPoolExecutor | None:
        """The pool, started if it is not; ``early``: None once the pool was closed (a server
        shutting down before the early start got here starts nothing)."""
        with self._lock:
            if early and self._closed:
                return None
            if self._pool is None:
                settings = self.app.settings.model_dump()
                self._pool = ProcessPoolExecutor(
                    1, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_child, initargs=(settings,))
            return self._pool

    def start_early(self) -> threading.Thread | None:
        """Start the child process now, in the background, if previews here would run in it
        (the store holds more than ``IN_PROCESS_HOUSEHOLDS`` households): starting it
        (imports, the application, the compiled rule sets) takes about 2 s of the first
        large preview otherwise. Returns the thread that starts it, or None."""
        if not self.enabled:
            return None

        def start() -> None:
            try:
                if self.app.household_count() > IN_PROCESS_HOUSEHOLDS:
                    pool = self._executor(early=True)
                    if pool is not None:
                        pool.submit(os.getpid).result()
            except Exception:  # the first preview starts it, and says what went wrong
                logging.getLogger("policy_engine.impact").warning(
                    "the impact preview process did not start early", exc_info=True)

        thread = threading.Thread(target=start, name="impact-start", daemon=True)
        thread.start()
        return thread

    def impact(self, principal: Principal, version_id: str, as_of: date,
               region_codes: Sequence[str] | None = None, first: int = 100,
               job_id: str | None = None) -> ImpactReport:
        """The preview; ``job_id`` names the background job whose progress it writes."""
        self.app.policy.review_rule_sets(principal)  # who may not preview learns nothing more
        editing = self.app.editing
        if not self.enabled or self.app.household_count(region_codes) <= IN_PROCESS_HOUSEHOLDS:
            return editing.impact(principal, version_id, as_of, region_codes, first,
                                  on_progress=_progress(self.app, job_id))
        # Refusals come back as the ServiceError they were (services.errors pickles them).
        pool = self._executor()
        assert pool is not None
        return pool.submit(_impact_in_child, principal, version_id, as_of, region_codes, first,
                           job_id).result()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
