"""Subscriptions' errors as the HTTP answers give them: every error with ``extensions.code``
and its message in the language of the handshake's ``Accept-Language``.

strawberry sends a websocket operation's errors as graphql-core formats them (no code for a
document that does not validate or variables that do not coerce, the English text of a
refusal), while ``GraphQLApp.process_result`` localises an HTTP answer's. Each handler here
localises the errors of every message it sends with the same ``localise_error``:
graphql-transport-ws's ``error`` (a list) and ``next`` (a result), and the older graphql-ws's
``error`` (one error) and ``data`` (a result); their codes go into the connection's log line
(``graphql_api.observability.RequestLog``).
"""

from __future__ import annotations

from typing import Any, cast

from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from graphql_api.messages import localise_error


def localised(message: dict[str, Any], lang: str) -> dict[str, Any]:
    """``message`` with the errors it carries localised (other messages unchanged)."""
    payload = message.get("payload")
    if message.get("type") not in ("error", "next", "data", "connection_error") \
            or payload is None:
        return message
    if isinstance(payload, list):
        return {**message, "payload": [_error(e, lang) for e in payload]}
    if isinstance(payload, dict) and isinstance(payload.get("errors"), list):
        return {**message, "payload": {**payload,
                                       "errors": [_error(e, lang) for e in payload["errors"]]}}
    if isinstance(payload, dict) and "message" in payload:
        return {**message, "payload": _error(payload, lang)}
    return message


def _error(formatted: Any, lang: str) -> Any:
    if not isinstance(formatted, dict) or not isinstance(formatted.get("message"), str):
        return formatted
    # A masked internal error already says INTERNAL in its extensions; anything else is
    # classified from its code or, for graphql-core's own, its message (as over HTTP).
    error = GraphQLError(formatted["message"], extensions=formatted.get("extensions"))
    done = localise_error(error, cast(Any, lang))
    return {**formatted, "message": done["message"], "extensions": done["extensions"]}


def _language(handler: Any) -> str:
    return str(getattr(handler.context, "language", "zh"))


def _sent(handler: Any, message: Any) -> Any:
    """``message`` localised, its error codes added to the connection's log line."""
    done = localised(dict(message), _language(handler))
    payload = done.get("payload")
    errors = payload if isinstance(payload, list) else (
        payload.get("errors") if isinstance(payload, dict) and "errors" in payload
        else [payload] if isinstance(payload, dict) and "message" in payload else [])
    codes = [e["extensions"]["code"] for e in errors or []
             if isinstance(e, dict) and isinstance(e.get("extensions"), dict)
             and "code" in e["extensions"]]
    log = getattr(handler.context, "log", None)
    if codes and isinstance(log, dict):
        log.setdefault("errors", []).extend(codes)
    return cast(Any, done)


class TransportWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    async def send_message(self, message: Any) -> None:
        await super().send_message(_sent(self, message))


class LegacyWSHandler(BaseGraphQLWSHandler[Any, Any]):
    async def send_message(self, message: Any) -> None:
        await super().send_message(_sent(self, message))
