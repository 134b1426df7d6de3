"""The ASGI application: /graphql, /healthz, /readyz, /metrics and the web console."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from datetime import date
from typing import Any

import anyio
import anyio.to_thread
import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from graphql_api.console import console_app
from graphql_api.graphiql import CSP as GRAPHIQL_CSP
from graphql_api.graphiql import offline_page
from graphql_api.messages import LANGUAGE, chinese, language, localise_error
from graphql_api.observability import (
    RequestLog,
    count_lane,
    count_operation,
    count_overdue_cases,
    error_codes,
    metrics_text,
    principal_id,
    time_operation,
)
from graphql_api.operability import (
    RateLimiter,
    SharedRateLimiter,
    Tracing,
    TrustedOperations,
    retry_after,
)
from graphql_api.projection import encode
from graphql_api.schema import Context, build_schema
from graphql_api.strings import check_variables
from graphql_api.turns import Turns, in_loop
from graphql_api.websocket import LegacyWSHandler, TransportWSHandler
from services.application import Application, Tokens
from services.auth import ANONYMOUS, INVALID_ROLE, Principal
from services.config import Settings


class GraphQLApp(GraphQL[Context, None]):
    """strawberry's ASGI view, with every operation (the token lookup, parsing, validation,
    resolvers and their database work) run in a bounded pool of threads, so one long request
    never holds up another, or /healthz; but a short query of a text validated before runs in
    the event loop, one per turn of the loop, in the order the requests came
    (graphql_api.turns)."""

    # Subscriptions' errors with codes and in the handshake's language, as HTTP answers'.
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, app: Application, tokens: Tokens, **kwargs: Any):
        schema = build_schema(app.settings)
        super().__init__(schema, **kwargs)
        self._graphql_schema = schema._schema  # graphql-core's, as validation sees it
        self.app = app
        self.tokens = tokens
        self.threads = app.settings.threads
        self.max_string_length = app.settings.max_string_length
        self.max_cost = app.settings.max_fields
        self._limiter: anyio.CapacityLimiter | None = None
        # short queries run in the event loop, in turn (graphql_api.turns)
        self.loop_queries = app.settings.loop_queries
        self._turns: Turns | None = None
        settings = app.settings
        self.rate_limiter: RateLimiter | SharedRateLimiter | None = None
        if settings.rate_limit_per_minute > 0:
            self.rate_limiter = SharedRateLimiter(
                settings.rate_limit_file, settings.rate_limit_per_minute) \
                if settings.rate_limit_file else RateLimiter(settings.rate_limit_per_minute)
        self.trusted = TrustedOperations.load(settings.trusted_operations_file) \
            if settings.trusted_operations_file and not settings.dev else None
        self.tracing = Tracing(settings.tracing != "none", settings.tracing_root_ratio)

    async def get_context(self, request: Any, response: Any) -> Context:
        state = request.scope.setdefault("state", {})
        return Context(app=self.app, principal=ANONYMOUS, today=date.today(),
                       authorization=request.headers.get("authorization", ""),
                       log=state.setdefault("graphql", {}),
                       language=language(request.headers.get("accept-language")),
                       idempotency_key=request.headers.get("idempotency-key"),
                       client=_client_address(request.scope))

    async def execute_single(
        self, request: Any, request_adapter: Any, sub_response: Any, context: Context,
        root_value: Any, request_data: Any,
    ) -> Any:
        allowed = OperationType.from_http(request_adapter.method)
        if not self.allow_queries_via_get and request_adapter.method == "GET":
            allowed = allowed - {OperationType.QUERY}
        if self._limiter is None:  # made in the event loop that serves
            self._limiter = anyio.CapacityLimiter(self.threads)

        traceparent = request_adapter.headers.get("traceparent")
        # When the operation was handed to the pool, started and ended in its thread
        # (observability.time_operation: queueing told from work on /metrics).
        stages = [time.perf_counter(), 0.0, 0.0]

        def run() -> Any:
            stages[1] = time.perf_counter()
            try:
                return operate()
            finally:
                stages[2] = time.perf_counter()

        def operate() -> Any:
            LANGUAGE.set(context.language)  # this operation's copy of the context only
            context.principal = self.principal(context.authorization)
            if self.rate_limiter is not None:
                key = context.principal.token_id or f"address:{context.client}"
                wait = self.rate_limiter.take(key)
                if wait > 0:
                    raise _Refused(429, f"too many requests; retry after {retry_after(wait)} s",
                                   "RATE_LIMITED", {"retry-after": retry_after(wait)},
                                   retryAfter=retry_after(wait))
            query = request_data.query
            if self.trusted is not None and context.principal.role == "api_client":
                query = query or self.trusted.document(request_data.extensions)
                if not self.trusted.allows(query):
                    return ExecutionResult(data=None, errors=[GraphQLError(
                        "this token may run only the registered operations",
                        extensions={"code": "PERSISTED_QUERY_NOT_ALLOWED"})])
            refused = check_variables(request_data.variables, self.max_string_length)
            if refused:
                return ExecutionResult(data=None, errors=refused)
            span = self.tracing.start(traceparent, "graphql.operation")
            if span is None:
                return self.schema.execute_sync(
                    query, root_value=root_value,
                    variable_values=request_data.variables, context_value=context,
                    operation_name=request_data.operation_name,
                    allowed_operation_types=allowed,
                    operation_extensions=request_data.extensions)
            try:
                result = self.schema.execute_sync(
                    query, root_value=root_value,
                    variable_values=request_data.variables, context_value=context,
                    operation_name=request_data.operation_name,
                    allowed_operation_types=allowed,
                    operation_extensions=request_data.extensions)
                attributes = {"graphql.operation.name": context.log.get("operation") or "",
                              "policy_engine.principal": principal_id(context.principal)}
                if result.errors:
                    attributes["policy_engine.error_codes"] = error_codes(result.errors)
                span.set_attributes(attributes)
            finally:
                span.end()
            return result

        try:
            try:
                if self.loop_queries and in_loop(self._graphql_schema, request_data.query,
                                                 request_data.operation_name):
                    loop = asyncio.get_running_loop()
                    if self._turns is None or self._turns.loop is not loop:
                        self._turns = Turns(loop)
                    count_lane("loop")
                    result = await self._turns.run(run)
                else:
                    count_lane("threads")
                    result = await anyio.to_thread.run_sync(run, limiter=self._limiter)
            finally:
                if stages[2]:
                    time_operation(stages[0], stages[1], stages[2], time.perf_counter())
        except CannotGetOperationTypeError as exc:
            raise _Refused(400, exc.as_http_error_reason(), "OPERATION_NOT_FOUND") from exc
        except InvalidOperationTypeError as exc:
            raise _Refused(400, exc.as_http_error_reason(request_adapter.method),
                           "OPERATION_NOT_ALLOWED") from exc
        except MissingQueryError as exc:
            raise _Refused(400, "No GraphQL query found in the request", "NO_QUERY") from exc
        context.log["principal"] = principal_id(context.principal)
        codes = error_codes(result.errors) if result.errors else []
        if codes:
            context.log["errors"] = codes
        count_operation(codes)
        return result

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        await self._respond(scope, receive, send, self.run(Request(scope=scope, receive=receive)))

    async def answer_post(self, scope: Scope, receive: Receive, send: Send,
                          data: dict[str, Any]) -> bool:
        """``POST /graphql`` of one JSON object that ``JsonOnly`` has read and parsed: answered
        here as strawberry's view (``run``) answers it, with the same hooks in the same order,
        but without parsing the body again and without the view's branches for GET,
        WebSockets, the IDE, batches, multipart and streamed answers. Returns False, having
        sent nothing, where the view would refuse the body or stream the answer: the caller
        then hands the request to the view."""
        query = data.get("query")
        variables = data.get("variables")
        extensions = data.get("extensions")
        if not (isinstance(query, str | None) and isinstance(variables, dict | None)
                and isinstance(extensions, dict | None)):
            return False  # the view says which (400)
        request = Request(scope=scope, receive=receive)
        adapter = self.request_adapter_class(request)
        if self._get_stream_transport_from_headers(adapter.headers) is not None:
            return False
        request_data = GraphQLRequestData(
            query=query, variables=variables, operation_name=data.get("operationName"),
            extensions=extensions, protocol="http")
        await self._respond(scope, receive, send, self._run_post(request, adapter, request_data))
        return True

    async def _run_post(self, request: Request, adapter: Any,
                        request_data: GraphQLRequestData) -> Response:
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, response=sub_response)
        result = await self.execute_single(
            request=request, request_adapter=adapter, sub_response=sub_response,
            context=context, root_value=None, request_data=request_data)  # get_root_value's
        response_data = await self.process_result(request=request, result=result)
        if result.errors:
            self._handle_errors(result.errors, response_data)
        return self.create_response(response_data=response_data, sub_response=sub_response)

    async def _respond(self, scope: Scope, receive: Receive, send: Send,
                       answering: Awaitable[Response]) -> None:
        try:
            response = await answering
        except HTTPException as exc:
            # strawberry answers these in plain text; every error here is JSON with a code
            code = exc.code if isinstance(exc, _Refused) else _HTTP_CODES.get(
                exc.status_code, "BAD_REQUEST")
            headers = exc.headers if isinstance(exc, _Refused) else None
            params = exc.params if isinstance(exc, _Refused) else {}
            response = _refuse(exc.status_code, code, exc.reason, scope, headers, **params)
            count_operation([code])
        await response(scope, receive, send)

    async def process_result(self, request: Any, result: ExecutionResult) -> Any:
        """The response: every error with ``extensions.code`` and its message in the
        request's language (graphql_api.messages)."""
        lang = language(request.headers.get("accept-language"))
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            response["errors"] = [localise_error(e, lang) for e in result.errors]
        extensions = dict(result.extensions or {})
        cost = request.scope.get("state", {}).get("graphql", {}).get("cost")
        if cost is not None:
            extensions["cost"] = {"requestedFields": cost, "maximumFields": self.max_cost}
        if extensions:
            response["extensions"] = extensions
        return response

    def principal(self, header: str) -> Principal:
        if not header:
            return ANONYMOUS
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _INVALID
        found = self.tokens.principal(token.strip())
        return found if found is not None else _INVALID

    async def render_graphql_ide(self, request: Any) -> Response:
        # strawberry's page loads React and GraphiQL from a public CDN; ours from the service.
        if self._ide_page is None:
            self._ide_page = offline_page(self.graphql_ide_html)
        return HTMLResponse(self._ide_page, headers={"content-security-policy": GRAPHIQL_CSP})

    _ide_page: str | None = None

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


class _Refused(HTTPException):
    def __init__(self, status: int, reason: str, code: str,
                 headers: dict[str, str] | None = None, **params: Any):
        super().__init__(status, reason)
        self.code = code
        self.headers = headers
        self.params = params


def _client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


_HTTP_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def _refuse(status: int, code: str, message: str, scope: Scope | None = None,
            headers: dict[str, str] | None = None, **params: Any) -> JSONResponse:
    """A refusal before GraphQL runs: one error with its code, in the request's language."""
    if scope is not None:  # the request's log line names the refusal
        scope.setdefault("state", {}).setdefault("graphql", {})["errors"] = [code]
        accept = dict(scope.get("headers") or []).get(b"accept-language", b"")
        if language(accept.decode("latin-1")) == "zh":
            message = chinese(code, params)
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]},
                        status_code=status, headers=headers)


def _content_length(headers: dict[bytes, bytes]) -> int | None:
    value = headers.get(b"content-length", b"")
    return int(value) if value.isdigit() else None


class JsonOnly:
    """A POST to /graphql must be one JSON object (no CSRF through simple requests: a form post
    or text/plain cannot be; no batching: an array is refused) of at most 1 MiB. GET never
    executes operations.

    With ``graphql`` (the view the application routes ``/graphql`` to), such a POST to exactly
    ``/graphql`` goes to it directly (``GraphQLApp.answer_post``) instead of through the
    application's error and exception layers and router: about forty Python frames a request
    on the event loop. What those layers would do for it is done here: the same scope
    entries, and an exception that escapes is answered 500 "Internal Server Error" (text) when
    nothing was sent yet, then raised on to the server, as Starlette's outermost layer does."""

    def __init__(self, app: ASGIApp, read_seconds: float = 30.0,
                 graphql: GraphQLApp | None = None):
        self.app = app
        self.read_seconds = read_seconds
        self.graphql = graphql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (scope["type"] == "http" and scope["path"].rstrip("/") == "/graphql"
                and scope["method"] == "POST"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if ctype != b"application/json":
            refusal = _refuse(415, "UNSUPPORTED_MEDIA_TYPE",
                              "POST /graphql needs Content-Type: application/json", scope)
            await refusal(scope, receive, send)
            return
        body = b""
        more = True
        # A client that sends its body slowly (or never) gets 408, not a connection held open.
        # The wait is counted in slices of a twentieth of the limit, each counted for at most
        # its own length: when the process could not run (the machine busy, a long collection),
        # a slice's timer fires late, in the same turn of the event loop as the data that came
        # meanwhile, and that lost time is not the client's. A cancelled receive loses nothing
        # (the server keeps what arrived for the next one).
        waited = 0.0
        step = self.read_seconds / 20
        began = anyio.current_time()
        while more:
            if waited >= self.read_seconds:
                # The log line says how much came and over how long (sizes and times only), so
                # a client that sent its body late can be told from a server that read it late.
                scope.setdefault("state", {}).setdefault("graphql", {})["body_read"] = {
                    "bytes": len(body), "declared": _content_length(headers),
                    "counted_s": round(waited, 3),
                    "elapsed_s": round(anyio.current_time() - began, 3)}
                await _refuse(408, "REQUEST_TIMEOUT", f"the request body did not arrive within "
                              f"{self.read_seconds:g} s", scope)(scope, receive, send)
                return
            started = anyio.current_time()
            message: Message | None = None
            with anyio.move_on_after(step):
                message = await receive()
            waited += min(anyio.current_time() - started, step)
            if message is None:
                continue
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY_BYTES:
                await _refuse(413, "BODY_TOO_LARGE", "the request body is over 1 MiB",
                              scope)(scope, receive, send)
                return
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            await _refuse(400, "INVALID_JSON", f"the body is not valid JSON: {exc}", scope)(
                scope, receive, send)
            return
        if not isinstance(data, dict):
            await _refuse(400, "BAD_REQUEST", "the body must be one JSON object "
                          '{"query": ..., "variables": {...}} (batching is off)', scope)(
                scope, receive, send)
            return

        if (self.graphql is not None and scope["path"] == "/graphql"
                and not scope.get("root_path")
                and await self._answer_directly(self.graphql, scope, receive, send, data)):
            return

        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


    async def _answer_directly(self, graphql: GraphQLApp, scope: Scope, receive: Receive,
                               send: Send, data: dict[str, Any]) -> bool:
        # As the application's router and Starlette would have set them for /graphql.
        scope["app"] = self.app
        scope.setdefault("router", getattr(self.app, "router", None))
        scope["endpoint"] = graphql
        scope["path_params"] = {}
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            return await graphql.answer_post(scope, receive, tracked, data)
        except Exception:
            if not started:
                await PlainTextResponse("Internal Server Error", status_code=500)(
                    scope, receive, send)
            raise


def create_app(settings: Settings | None = None, application: Application | None = None,
               migrate: bool = True) -> ASGIApp:
    settings = settings or Settings()
    application = application or Application(settings)
    application.start(migrate=migrate)
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
        if settings.metrics_token and not hmac.compare_digest(
                request.headers.get("authorization", "").encode(),
                f"Bearer {settings.metrics_token}".encode()):
            return _refuse(401, "UNAUTHENTICATED", "/metrics needs its bearer token",
                           request.scope, {"www-authenticate": "Bearer"})
        # Overdue cases are counted when scraped (one grouped query, off the event loop).
        try:
            counted = await anyio.to_thread.run_sync(application.cases.overdue_by_county,
                                                     date.today())
        except Exception:  # an unreachable database: the rest of the metrics still answer
            logging.getLogger("policy_engine.http").warning(
                "overdue monitoring cases not counted")
        else:
            count_overdue_cases(counted)
        return PlainTextResponse(metrics_text(),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),  # subscriptions (graphql-transport-ws)
    ]
    routes.append(Mount("/", console_app()))
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # The webhook worker runs while the server does (a server started without lifespan
        # events, as some tests do, starts it itself).
        application.webhooks.start()
        if settings.impact_process_at_start:
            application.impacts.start_early()
        try:
            yield
        finally:
            application.webhooks.stop()
            # The impact child process and job thread end with the server (the child was
            # left running, orphaned, after a SIGTERM).
            application.impact_jobs.close()
            application.impacts.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.application = application
    served: ASGIApp = JsonOnly(app, settings.read_timeout_seconds, graphql)
    if settings.cors_origins:
        # Browsers on these origins only; a preflight from any other is refused (400), and
        # without an allow-list there is no CORS at all (a preflight is 405).
        served = CORSMiddleware(
            served, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type", "accept-language",
                           "idempotency-key", "traceparent", "tracestate", "x-request-id"],
            expose_headers=["retry-after", "x-request-id"], max_age=600)
    return RequestLog(served)


def served_app() -> ASGIApp:
    """The application ``policy-engine serve`` runs in each worker process (a uvicorn
    factory): settings from the environment, the database already migrated and seeded by the
    parent process."""
    from graphql_api import collector
    from graphql_api.observability import configure_logging
    from graphql_api.operability import configure_tracing

    settings = Settings()
    configure_logging(settings.log_level)
    configure_tracing(settings.tracing)
    if settings.gc_complete_seconds > 0:
        collector.install(settings.gc_complete_seconds)
    return create_app(settings, Application(settings), migrate=False)
