"""Keyset pagination: a page of rows and an opaque cursor to the next one.

Cursors are the sort key of a page's last row, JSON in URL-safe base64, so they survive a
round trip through GraphQL unchanged; callers hand them back as they got them.

>>> decode_cursor(encode_cursor("hh-001", 7), 2)
['hh-001', 7]
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Generic, TypeVar

from store.errors import InvalidCursor

T = TypeVar("T")

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Page(Generic[T]):
    """Up to ``first`` rows; ``end_cursor`` (the last row's) fetches the next page."""

    items: list[T]
    end_cursor: str | None
    has_next_page: bool
    has_previous_page: bool = False
    start_cursor: str | None = None


def check_page_size(first: int) -> None:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise ValueError(f"page size must be 1 to {MAX_PAGE_SIZE}, got {first}")


def encode_cursor(*key: str | int) -> str:
    raw = json.dumps(list(key), separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, parts: int) -> list[str | int]:
    """The sort key inside ``cursor``; ``InvalidCursor`` unless it has ``parts`` parts."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursor(f"not a cursor this store handed out: {cursor!r}") from None
    if (
        not isinstance(key, list)
        or len(key) != parts
        or not all(isinstance(k, str | int) and not isinstance(k, bool) for k in key)
        # no key a store hands out holds a NUL (PostgreSQL refuses one in a text) or is long
        or any(isinstance(k, str) and ("\x00" in k or len(k) > 200) for k in key)
    ):
        raise InvalidCursor(f"not a cursor this store handed out: {cursor!r}")
    return key
