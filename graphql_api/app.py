"""The ASGI application: /graphql, /healthz, /readyz, /metrics and the web console."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL

from graphql_api.console import console_app
from graphql_api.observability import RequestLog, metrics_text
from graphql_api.projection import encode
from graphql_api.schema import Context, build_schema
from services.application import Application, Tokens
from services.auth import ANONYMOUS, INVALID_ROLE, Principal
from services.config import Settings


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, app: Application, tokens: Tokens, **kwargs: Any):
        super().__init__(build_schema(app.settings), **kwargs)
        self.app = app
        self.tokens = tokens

    async def get_context(self, request: Any, response: Any) -> Context:
        return Context(app=self.app, principal=self.principal(request), today=date.today())

    def principal(self, request: Any) -> Principal:
        header = request.headers.get("authorization", "")
        if not header:
            return ANONYMOUS
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _INVALID
        found = self.tokens.principal(token.strip(), time.monotonic())
        return found if found is not None else _INVALID

    # orjson: several times faster than the json module on the large responses a full
    # explanation makes, and UTF-8 output (Chinese texts take 3 bytes a character, not 6);
    # shared projections are written once (``projection.encode``).
    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    def encode_json(self, data: object) -> bytes:
        return encode(data)


# A caller that sent a token we do not know is not anonymous: it gets nothing, even in dev.
_INVALID = Principal(name="invalid-token", role=INVALID_ROLE)


MAX_BODY_BYTES = 1 << 20


def _refuse(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]},
                        status_code=status)


class JsonOnly:
    """A POST to /graphql must be one JSON object (no CSRF through simple requests: a form post
    or text/plain cannot be; no batching: an array is refused) of at most 1 MiB. GET never
    executes operations."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (scope["type"] == "http" and scope["path"].rstrip("/") == "/graphql"
                and scope["method"] == "POST"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if ctype != b"application/json":
            refusal = _refuse(415, "UNSUPPORTED_MEDIA_TYPE",
                              "POST /graphql needs Content-Type: application/json")
            await refusal(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY_BYTES:
                await _refuse(413, "BODY_TOO_LARGE", "the request body is over 1 MiB")(
                    scope, receive, send)
                return
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            await _refuse(400, "INVALID_JSON", f"the body is not valid JSON: {exc}")(
                scope, receive, send)
            return
        if not isinstance(data, dict):
            await _refuse(400, "BAD_REQUEST", "the body must be one JSON object "
                          '{"query": ..., "variables": {...}} (batching is off)')(
                scope, receive, send)
            return

        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def create_app(settings: Settings | None = None, application: Application | None = None) -> ASGIApp:
    settings = settings or Settings()
    application = application or Application(settings)
    application.start()
    tokens = Tokens(application)
    graphql = GraphQLApp(
        application, tokens,
        graphql_ide="graphiql" if settings.dev else None,
        allow_queries_via_get=False,
        multipart_uploads_enabled=False,
    )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        ok, detail = application.ready()
        return JSONResponse({"status": "ready" if ok else "not ready", "detail": detail},
                            status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(metrics_text(),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/graphql", graphql, methods=["GET", "POST"]),
    ]
    routes.append(Mount("/", console_app()))
    app = Starlette(routes=routes)
    app.state.application = application
    return RequestLog(JsonOnly(app))
