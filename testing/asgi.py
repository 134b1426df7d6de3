"""One POST through an ASGI application in this process, as uvicorn would make it, with no
client library (whose objects would be the measuring process's own garbage and CPU time): for
benchmarks that drive the app directly."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any


async def exchange(app: Any, body: bytes, headers: Sequence[tuple[bytes, bytes]],
                   path: str = "/graphql") -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """POST ``body`` to ``path`` with ``headers`` (its content-length added): the status, the
    answer's headers and the whole answer."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "",
             "headers": [*headers, (b"content-length", str(len(body)).encode())],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
    sent = False
    status = 0
    response_headers: list[tuple[bytes, bytes]] = []
    out: list[bytes] = []

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
            response_headers.extend(message.get("headers", []))
        else:
            out.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, response_headers, b"".join(out)


async def post(app: Any, body: bytes, headers: Sequence[tuple[bytes, bytes]],
               path: str = "/graphql") -> tuple[int, bytes]:
    """POST ``body`` to ``path`` with ``headers`` (its content-length added): the status and the
    whole answer."""
    status, _headers, answer = await exchange(app, body, headers, path)
    return status, answer
