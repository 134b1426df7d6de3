"""Relay connections over a list the service has whole (a household's determination records):
``first``/``after`` and ``last``/``before`` as the Relay cursor connections specification
describes them (ApplyCursorsToEdges, then first, then last), with ``pageInfo`` both ways.

>>> page = paginate(["a", "b", "c", "d"], str, first=2, after=None, last=None, before=None,
...                 limit=100)
>>> [x for _, x in page.edges], page.has_next_page, page.has_previous_page
(['a', 'b'], True, False)
>>> page = paginate(["a", "b", "c", "d"], str, first=None, after=None, last=1,
...                 before=page.edges[1][0], limit=100)
>>> [x for _, x in page.edges], page.has_next_page, page.has_previous_page
(['a'], True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from policy.errors import FieldError
from services.errors import InvalidInput
from store.errors import InvalidCursor
from store.pagination import decode_cursor, encode_cursor

T = TypeVar("T")


@dataclass(frozen=True)
class Slice(Generic[T]):
    edges: list[tuple[str, T]]  # (cursor, node)
    has_next_page: bool
    has_previous_page: bool
    total_count: int

    @property
    def start_cursor(self) -> str | None:
        return self.edges[0][0] if self.edges else None

    @property
    def end_cursor(self) -> str | None:
        return self.edges[-1][0] if self.edges else None


def _bad(field: str, code: str, msg: str) -> InvalidInput:
    return InvalidInput(msg, [FieldError(field, code, msg)], code=code)


def _count(name: str, value: int | None, limit: int) -> None:
    if value is not None and not 0 <= value <= limit:
        raise _bad(name, "PAGE_SIZE", f"{name} must be between 0 and {limit}, got {value}")


def paginate(items: Sequence[T], key: Callable[[T], str], *, first: int | None,
             after: str | None, last: int | None, before: str | None,
             limit: int) -> Slice[T]:
    """The page of ``items`` (in their order) the arguments select. A cursor is the item's key;
    one that names no item is an ``INVALID_CURSOR`` error. Neither ``first`` nor ``last``:
    the first ``limit``."""
    _count("first", first, limit)
    _count("last", last, limit)
    if first is None and last is None:
        first = limit
    keys = [key(x) for x in items]

    def position(cursor: str, name: str) -> int:
        try:
            (k,) = decode_cursor(cursor, 1)
            return keys.index(str(k))
        except (InvalidCursor, ValueError):  # not a cursor, or a key no item has
            raise _bad(name, "INVALID_CURSOR", f"not a cursor of this list: {cursor!r}") from None

    start, end = 0, len(items)
    if after is not None:
        start = position(after, "after") + 1
    if before is not None:
        end = min(end, position(before, "before"))
    end = max(start, end)
    has_next = end < len(items) if before is not None else False
    has_previous = start > 0 if after is not None else False
    if first is not None and end - start > first:
        end = start + first
        has_next = True
    if last is not None and end - start > last:
        start = end - last
        has_previous = True
    edges = [(encode_cursor(keys[i]), items[i]) for i in range(start, end)]
    return Slice(edges, has_next, has_previous, len(items))
