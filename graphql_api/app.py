"""The ASGI application: /graphql, /healthz, /readyz, /metrics and the web console."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL

from graphql_api.observability import RequestLog, metrics_text
from graphql_api.schema import Context, build_schema
from services.application import Application, Tokens
from services.auth import ANONYMOUS, INVALID_ROLE, Principal
from services.config import Settings

STATIC = Path(__file__).resolve().parent / "static"


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


# A caller that sent a token we do not know is not anonymous: it gets nothing, even in dev.
_INVALID = Principal(name="invalid-token", role=INVALID_ROLE)


class JsonOnly:
    """No CSRF through simple requests: a POST to /graphql must be application/json (a form
    post or text/plain cannot be). GET never executes operations."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/") == "/graphql" \
                and scope["method"] == "POST":
            headers = dict(scope.get("headers") or [])
            ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if ctype != b"application/json":
                response = JSONResponse(
                    {"errors": [{"message": "POST /graphql needs Content-Type: application/json",
                                 "extensions": {"code": "UNSUPPORTED_MEDIA_TYPE"}}]},
                    status_code=415)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


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
    if STATIC.is_dir():
        from starlette.staticfiles import StaticFiles

        routes.append(Mount("/", StaticFiles(directory=STATIC, html=True)))
    app = Starlette(routes=routes)
    app.state.application = application
    return RequestLog(JsonOnly(app))
