"""Expected failures of the use cases, each with a stable code the API shows to clients.

    ServiceError
    ├── Unauthenticated   UNAUTHENTICATED  no or unknown token where one is needed
    ├── Forbidden         FORBIDDEN        the caller's role or region does not allow it
    ├── NotFoundError     NOT_FOUND        no such object (or not visible to the caller)
    ├── InvalidInput      INVALID_INPUT / INVALID_FACTS / UNKNOWN_PROGRAM ...  with field errors
    ├── Conflict          CONFLICT         a stale revision or a state that forbids the change
    └── IntegrityFailure  VERSION_INTEGRITY  stored data failed an integrity check
"""

from __future__ import annotations

from typing import Any

from policy.errors import FieldError


class ServiceError(Exception):
    code = "ERROR"

    def __init__(self, message: str, errors: list[FieldError] | None = None,
                 code: str | None = None, zh: str | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []
        if code is not None:
            self.code = code
        # The reason in Chinese, where the code's Chinese text has a place for it
        # (``无权执行此操作：{reason}``); the English ``message`` says the same.
        self.zh = zh

    def __reduce__(self) -> tuple[Any, ...]:
        # Whole across a process boundary (an impact preview in a child process): the
        # default pickles only the message.
        return (type(self), (self.message, self.errors, self.code, self.zh))


class Unauthenticated(ServiceError):
    code = "UNAUTHENTICATED"


class Forbidden(ServiceError):
    code = "FORBIDDEN"


class NotFoundError(ServiceError):
    code = "NOT_FOUND"


class InvalidInput(ServiceError):
    code = "INVALID_INPUT"


class Conflict(ServiceError):
    code = "CONFLICT"


class IntegrityFailure(ServiceError):
    """Stored data failed an integrity check (e.g. a version's contentHash): not served."""

    code = "VERSION_INTEGRITY"
