"""A worker's operations run in the order they came, handed from one to the next in the pool's
threads without going back through the event loop.

A worker runs GraphQL operations in a pool of threads (``POLICY_ENGINE_THREADS``) so that one
slow operation (a database lock, a large impact preview) never holds up the others. But the
operations are mostly Python, and one process runs Python in one thread at a time: with eight
operations started together, the interpreter lock passes between them and the event loop
every few milliseconds in no fixed order, and an unlucky one is overtaken by many that came
after it (docs/performance.md, issue 13).

``Relay`` queues operations in the order they are handed over. A thread that ends one takes
the next itself; another thread starts one beside it only once every running operation has
run for ``patience`` seconds (one that waits on the database, or a long one), up to
``threads`` at once. Short operations thus run one after the other, and a long one holds up
the rest for at most ``patience``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

import anyio

T = TypeVar("T")


class Relay:
    def __init__(self, threads: int, patience: float = 0.02):
        self.threads = threads
        self.patience = patience
        self._lock = threading.Condition()
        self._queue: deque[tuple[Callable[[], Any], asyncio.Future[Any],
                                 asyncio.AbstractEventLoop]] = deque()
        self._running: dict[int, float] = {}  # thread: when its operation started
        self._idle = 0
        self._started = 0

    async def run(self, fn: Callable[[], T]) -> T:
        """``fn()`` in one of the pool's threads (in a copy of the caller's context), in turn.
        Once handed over it runs to its end, as ``anyio.to_thread.run_sync`` does by default:
        a cancelled caller waits for it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        context = contextvars.copy_context()
        with self._lock:
            self._queue.append((lambda: context.run(fn), future, loop))
            if self._idle == 0 and self._started < self.threads:
                self._started += 1
                threading.Thread(target=self._work, name="operations", daemon=True).start()
            else:
                self._lock.notify()
        with anyio.CancelScope(shield=True):
            result = await future
        return result

    def _wait(self, now: float) -> float:
        """0 when this thread may start the next operation, else the seconds until it may."""
        if not self._running:
            return 0.0
        return max(0.0, max(self._running.values()) + self.patience - now)

    def _work(self) -> None:
        me = threading.get_ident()
        with self._lock:
            while True:
                wait = self._wait(time.monotonic()) if self._queue else None
                if wait is not None and wait <= 0:
                    fn, future, loop = self._queue.popleft()
                    self._running[me] = time.monotonic()
                    if self._queue:
                        self._lock.notify()  # the next may start beside it after `patience`
                    self._lock.release()
                    try:
                        outcome: tuple[bool, Any] = (True, fn())
                    except BaseException as exc:  # handed to the caller, as run_sync does
                        outcome = (False, exc)
                    finally:
                        self._lock.acquire()
                        del self._running[me]
                    taken = threading.Event()
                    # (a closed event loop refuses it: nobody waits for the outcome then)
                    with contextlib.suppress(RuntimeError):
                        loop.call_soon_threadsafe(_settle, future, outcome, taken)
                        # The loop's turn: until it has taken the result up, this thread lets
                        # go of the interpreter lock, so that the loop's callbacks (each read
                        # and write) do not each wait a switch interval for it.
                        self._lock.release()
                        try:
                            taken.wait(0.05)
                        finally:
                            self._lock.acquire()
                    continue
                self._idle += 1
                self._lock.wait(wait)
                self._idle -= 1


def _settle(future: asyncio.Future[Any], outcome: tuple[bool, Any],
            taken: threading.Event) -> None:
    taken.set()
    if future.cancelled():
        return
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
