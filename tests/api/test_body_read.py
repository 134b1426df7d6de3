"""The body of a POST /graphql must arrive within the read timeout (408 otherwise), counted so
that time in which the server itself could not run is not held against a client that sent its
body promptly (graphql_api.app.JsonOnly)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from graphql_api.app import JsonOnly

SCOPE: dict[str, Any] = {"type": "http", "path": "/graphql", "method": "POST",
                         "headers": [(b"content-type", b"application/json")]}
BODY = json.dumps({"query": "{ __typename }"}).encode()


async def _inner(scope: Scope, receive: Receive, send: Send) -> None:
    message = await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": message["body"]})


async def _serve(receive: Receive, stall: float = 0.0) -> tuple[int, bytes]:
    """Run JsonOnly (1 s to read a body) on one request; with ``stall``, the event loop is
    blocked that long right after the first part of the body came, and the rest comes while
    it is blocked (as when the machine is too busy to run the server for a while)."""
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    app = JsonOnly(_inner, read_seconds=1.0)
    await app(dict(SCOPE), receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent
                            if m["type"] == "http.response.body")


def _in_two_parts(stall: float) -> Receive:
    arrived = asyncio.Event()
    parts = [BODY[:5], BODY[5:]]

    def blocked() -> None:
        time.sleep(stall)  # nothing in the process runs, timers included
        # The rest came meanwhile; it is handled in the next turn of the loop, after the timers
        # that fell due (uvloop, like libuv, runs due timers before it polls for I/O).
        asyncio.get_running_loop().call_later(0, arrived.set)

    async def receive() -> Message:
        if len(parts) == 2:
            asyncio.get_running_loop().call_soon(blocked)
            return {"type": "http.request", "body": parts.pop(0), "more_body": True}
        await arrived.wait()
        return {"type": "http.request", "body": parts.pop(0), "more_body": False}

    return receive


def test_a_body_sent_promptly_is_read_though_the_server_stalled_past_the_timeout() -> None:
    status, body = asyncio.run(_serve(_in_two_parts(stall=1.5)))
    assert status == 200 and body == BODY


def test_a_body_that_stops_halfway_gets_408_after_the_timeout() -> None:
    async def receive() -> Message:
        if not hasattr(receive, "done"):
            receive.done = True  # type: ignore[attr-defined]
            return {"type": "http.request", "body": BODY[:5], "more_body": True}
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    started = time.monotonic()
    status, body = asyncio.run(_serve(receive))
    assert status == 408 and b"REQUEST_TIMEOUT" in body
    assert 0.9 < time.monotonic() - started < 3


def test_a_body_that_trickles_in_gets_408_after_the_timeout() -> None:
    async def receive() -> Message:
        await asyncio.sleep(0.03)
        return {"type": "http.request", "body": b" ", "more_body": True}

    started = time.monotonic()
    status, body = asyncio.run(_serve(receive))
    assert status == 408 and b"REQUEST_TIMEOUT" in body
    assert 0.9 < time.monotonic() - started < 3
