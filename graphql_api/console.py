"""The web console: static files (plain ES modules and CSS, no build) served at ``/``, with a
Content-Security-Policy that lets the page load and call nothing but its own origin."""

from __future__ import annotations

from pathlib import Path

from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC = Path(__file__).resolve().parent / "static"

# Everything from the service itself: scripts, styles, fetches, fonts, images (data: for the
# empty favicon). No inline scripts; no frames; forms post nowhere else.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
       "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class _Headers:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    # The console changes with the service; revalidate instead of serving a
                    # stale module next to a new one.
                    (b"cache-control", b"no-cache"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def console_app() -> ASGIApp:
    """The console's files as an ASGI app (index.html at ``/``)."""
    return _Headers(StaticFiles(directory=STATIC, html=True))
