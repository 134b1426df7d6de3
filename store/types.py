"""Column types that behave the same on SQLite and PostgreSQL.

- ``UTCDateTime``: timezone-aware UTC in, timezone-aware UTC out. PostgreSQL keeps the zone
  (``timestamptz``); SQLite has no zone, so values are stored as naive UTC text and the zone is
  put back on read. Naive datetimes are refused: a local wall-clock time without a zone cannot be
  ordered against the others.
- ``Json``: ``JSONB`` on PostgreSQL (it has equality, which the immutability triggers need to
  compare documents), ``JSON`` text elsewhere.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

Json: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC (the default clock of the unit of work)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"expected a timezone-aware datetime, got naive {value.isoformat()}")
        value = value.astimezone(UTC)
        # SQLite's DATETIME storage drops tzinfo silently; drop it ourselves, after converting.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
