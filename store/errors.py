"""Errors the store raises, each with a stable ``code``.

    StoreError
    ├── RowNotFound      no row with that key (``what`` and ``key`` say which)
    ├── ConflictError    a stale revision or a reused idempotency key: someone else wrote first
    ├── ImmutableError   a change to a published version, an audit entry or a determination
    └── InvalidCursor    a pagination cursor this store did not hand out (also a ValueError)

``ImmutableError`` is raised both by the ORM listeners (before anything reaches the database) and
in place of the database's own error when a trigger refuses a raw SQL statement, so callers see
one exception whichever path the write took.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of the errors this package raises."""

    code = "STORE_ERROR"


class RowNotFound(StoreError):
    """No row of kind ``what`` (e.g. ``"household"``) has the key ``key``."""

    code = "NOT_FOUND"

    def __init__(self, what: str, key: object):
        self.what = what
        self.key = key
        super().__init__(f"no {what} with key {key!r}")


class ConflictError(StoreError):
    """A write based on stale data: the caller must re-read and retry (nothing was changed)."""

    code = "CONFLICT"

    def __init__(self, message: str, *, expected: object = None, actual: object = None):
        self.expected = expected
        self.actual = actual
        super().__init__(message)


class ImmutableError(StoreError):
    """A change to a row that may never change once written (or once published)."""

    code = "IMMUTABLE"


class InvalidCursor(StoreError, ValueError):
    """A pagination cursor that does not decode; cursors are opaque, hand back what you got."""

    code = "INVALID_CURSOR"
