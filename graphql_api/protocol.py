"""uvicorn's HTTP protocol with a read timeout for a request's head, and connections spread
evenly over the server's workers (``graphql_api.balance``).

uvicorn closes a connection that stays idle between requests (``timeout_keep_alive``), but
not one that opens and sends nothing, or sends its request line and headers a byte at a time:
each such connection is held open for as long as the client likes. Here a new connection, and
each new request on it, must deliver its complete head within ``read_timeout_seconds``
(POLICY_ENGINE_READ_TIMEOUT_SECONDS), else the connection is closed. The body's own timeout is
``graphql_api.app.JsonOnly``'s (408).
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from graphql_api.balance import board
from services.config import Settings

# This worker's connections being given up (answered with Connection: close, not yet closed):
# no longer counted as held.
_LEAVING = [0]


@cache
def _read_seconds() -> float:
    return Settings().read_timeout_seconds


class TimedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timer: asyncio.TimerHandle | None = None
        self._leaving = False

    def _arm(self) -> None:
        self._disarm()
        self._read_timer = self.loop.call_later(_read_seconds(), self._read_timed_out)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a connection that never sends a request is closed
        self._publish()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        shared = board()
        if (shared is not None and not self._leaving and self.cycle is not None
                and self.cycle.keep_alive and shared.over_share(self._held())):
            self.cycle.keep_alive = False  # answered with Connection: close
            self._leaving = True
            _LEAVING[0] += 1
            self._publish()

    def on_response_complete(self) -> None:
        self._disarm()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
        if self._leaving:
            self._leaving = False
            _LEAVING[0] -= 1
        self._publish()

    def _held(self) -> int:
        return len(self.connections) - _LEAVING[0]

    def _publish(self) -> None:
        shared = board()
        if shared is not None:
            shared.publish(self._held())
