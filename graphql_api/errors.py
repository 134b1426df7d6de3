"""How the service's errors reach GraphQL clients: as a GraphQL error with a stable code
(``service_error``, ``call``), or as a payload's ``userErrors`` (``user_errors``).

Kept apart from the schema and the types so that resolvers anywhere can use them without
importing the schema (no import circle between ``editing``, ``schema`` and ``types``).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError

from graphql_api.messages import ZH, message
from services.application import invalid_cursor
from services.errors import Forbidden, ServiceError, Unauthenticated
from store.errors import InvalidCursor

T = TypeVar("T")


# Every code the service gives (graphql_api.messages lists each with its Chinese text; a test
# scans the sources for codes without one), as an enum: code generators give clients a closed
# union instead of ``string``. Each value is described in Chinese and English
# (graphql_api.descriptions).
ErrorCodeValue: Any = Enum("ErrorCode", {code: code for code in ZH})  # type: ignore[misc]
ErrorCode = strawberry.enum(
    ErrorCodeValue, name="ErrorCode",
    description="Every code an error of the service can have (userErrors, field errors, "
    "GraphQL errors' extensions.code). 错误代码。")
_BY_CODE: dict[str, Any] = {code: ErrorCodeValue[code] for code in ZH}

CODE_DEPRECATED = ("Use errorCode, the same code as an ErrorCode enum value (code stays while "
                   "clients move: add, deprecate, then remove). 请改用 errorCode。")
ERROR_CODE = ("The error's code as an ErrorCode value; ERROR for a code this schema does not "
              "list yet (code, deprecated, still has it). 错误代码。")


def error_code(code: str) -> Any:
    """``code`` as an ErrorCode value (ERROR for one the enum does not list)."""
    return _BY_CODE.get(code, _BY_CODE["ERROR"])


@strawberry.type
class UserError:
    field: str | None
    message: str
    code: str = strawberry.field(deprecation_reason=CODE_DEPRECATED)

    @strawberry.field(graphql_type=ErrorCode, description=ERROR_CODE)
    def error_code(self) -> Any:
        return error_code(self.code)


def service_error(exc: ServiceError) -> GraphQLError:
    """A business or validation error as a GraphQL error clients can act on."""
    extensions: dict[str, Any] = {"code": exc.code}
    if exc.errors:
        extensions["params"] = {"count": len(exc.errors)}  # for the Chinese message
        extensions["errors"] = [
            {"field": e.field, "code": e.code, "message": e.message} for e in exc.errors
        ]
    if exc.zh:  # the reason, for the Chinese message
        extensions.setdefault("params", {})["reason"] = exc.zh
    return GraphQLError(exc.message, extensions=extensions, original_error=exc)


def call(fn: Callable[[], T]) -> T:
    """``fn()``, with a service error raised as a GraphQL error."""
    try:
        return fn()
    except ServiceError as exc:
        raise service_error(exc) from None
    except InvalidCursor as exc:  # any listing's cursor: the client's error, not ours
        raise service_error(invalid_cursor(exc)) from None


def user_errors(exc: ServiceError) -> list[UserError]:
    """A service error as a payload's userErrors (access refusals stay GraphQL errors)."""
    if isinstance(exc, Unauthenticated | Forbidden):
        raise service_error(exc) from None
    if exc.errors:
        return [UserError(field=e.field, message=message(e.code, e.message), code=e.code)
                for e in exc.errors]
    return [UserError(field=None, message=message(exc.code, exc.message), code=exc.code)]
