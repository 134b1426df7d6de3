"""CSV rows read as households and members: a block of the flat layout's lines (one row a
member, the household's cells repeated on each of its rows) read by the strict reader
(``engine/batch/_lines.c``'s ``parse_rows``) into the columns the JSON Lines reader gives, a
household's cells once and each member's on its own row, and checked by the same vectorised
checks (``layout.fast_nested``). Reading a household's cells once, and checking them once,
costs about half of reading and checking every cell of every row (``layout.check_flat``).

The path is conservative as the JSON Lines one is: a household the reader reads is one the
text path (``layout.check_flat`` on the rows' text) accepts with the same values. Every other
household goes to that path with its rows' text as polars' reader gives it, so its errors,
fields and row numbers are the text path's, exactly: a cell the reader does not read exactly,
rows that differ in a household cell, more members than the contract allows, a member id
twice, and every household the vectorised checks do not pass. A block the reader cannot read
as polars' reader would (a quote, an empty line, a row of another number of cells, bytes that
are not UTF-8) is not read at all: the source reads it, and the rest of the register, as
before (``screening.sources.CsvSource``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from engine.batch.layout import (
    BY_NAME,
    ERRORS,
    HOUSEHOLD_COLUMNS,
    MEMBER_COLUMNS,
    ROW,
    Checked,
    _merge,
    _new_household,
    check_flat,
    fast_nested,
    passed,
)
from engine.batch.lines import _MEMBER_ID, _arrow_array, _native_fields
from engine.batch.native import arrow_column
from engine.batch.native import reader as native
from policy import facts as f

READ, SLOW = 0, 1  # a row's status from the reader
GROUP = "_g"  # the slow rows' households, numbered (rows apart in the block are apart here)
_LEVEL = {c.name: (0, i) for i, c in enumerate(HOUSEHOLD_COLUMNS)} | {
    c.name: (1, i) for i, c in enumerate(MEMBER_COLUMNS)}


def available() -> bool:
    """Whether the strict reader reads CSV rows as households (the module compiled)."""
    return native is not None and hasattr(native, "parse_rows")


@functools.cache
def _cells(names: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """Each of the header's columns as the reader's (level, column): 0 for a household's
    column, 1 for a member's."""
    return tuple(_LEVEL[BY_NAME[n].name] for n in names)


@dataclass(frozen=True)
class Rows:
    """A block of whole households' rows as the reader read them: ``data`` the block's bytes
    (its rows up to the reader's cut), ``first_row`` the number of the row before its first
    (rows are numbered from 1 after the header), ``got`` the reader's columns."""

    data: bytes | memoryview
    names: tuple[str, ...]
    first_row: int
    got: tuple[Any, ...]

    @property
    def rows(self) -> int:
        return int(self.got[0])


def read_rows(data: bytes | memoryview, names: tuple[str, ...], first_row: int, final: bool
              ) -> tuple[Rows, int] | None:
    """(the households of the block read, where the rows it leaves for the next block begin:
    the last household's, unless ``final``), or None when the reader cannot read the block."""
    assert native is not None
    household_fields, member_fields = _native_fields()
    got = native.parse_rows(data, household_fields, member_fields, _cells(names),
                            names.index("householdId"), _MEMBER_ID, f.MAX_MEMBERS, final)
    if got is None:
        return None
    cut = int(got[1])
    return Rows(memoryview(data)[:cut], names, first_row, got), cut


def check_rows(parts: Sequence[Rows], as_of: date) -> Checked:
    """Validate a block of whole households' rows read by ``read_rows``, in parts, in order,
    checked together (each check costs about as much for a few households as for many)."""
    # Rows are numbered as ``ROW`` is, from 1 after the header, across the parts.
    slow: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    heads_parts: list[pl.DataFrame] = []
    member_parts: list[pl.DataFrame] = []
    sizes: list[np.ndarray] = []
    households = 0
    for part in parts:
        (rows, _, _, status_b, n, members, firsts_b, parent_b, household_columns,
         member_columns) = part.got
        status = np.frombuffer(status_b, dtype=np.uint8)[:rows]
        slow.append(np.flatnonzero(status == SLOW) + part.first_row + 1)
        if not n:
            continue
        firsts = np.frombuffer(firsts_b, dtype=np.int64)[:n]
        parent = np.frombuffer(parent_b, dtype=np.uint32)[:members]
        sizes.append(np.bincount(parent, minlength=n))
        heads_parts.append(_frame(pa.table(
            {**{c.name: arrow_column(c.kind, n, *data)
                for c, data in zip(HOUSEHOLD_COLUMNS, household_columns, strict=True)},
             ROW: _arrow_array(firsts + part.first_row + 1)})))
        member_parts.append(_frame(pa.table(
            {"_h": _arrow_array(parent + np.uint32(households)) if households
             else pa.Array.from_buffers(pa.uint32(), members, [None, pa.py_buffer(parent_b)]),
             **{c.name: arrow_column(c.kind, members, *data)
                for c, data in zip(MEMBER_COLUMNS, member_columns, strict=True)}})))
        households += n
    hh_frame = m_frame = first_rows = None
    if heads_parts:
        heads_raw, members_raw = (pl.concat(heads_parts, rechunk=True),
                                  pl.concat(member_parts, rechunk=True))
        m, heads, bad_h = fast_nested(heads_raw, members_raw, as_of, strict=True)
        bad = bad_h.to_numpy()
        if bad.size:
            first_row = heads[ROW].to_numpy()[bad]
            size = np.concatenate(sizes)[bad]
            # A household's rows are adjacent, from its first on.
            slow.append(np.concatenate([np.arange(r, r + k) for r, k in zip(first_row, size,
                                                                             strict=True)]))
        hh_frame, m_frame, first_rows = passed(heads, m, bad)
    slow_rows = np.sort(np.concatenate(slow))
    if slow_rows.size == 0 and hh_frame is not None:
        assert m_frame is not None and first_rows is not None
        return Checked(hh_frame, m_frame, pl.DataFrame(schema=ERRORS), 0, first_rows)
    other = check_flat(_text_rows(parts, slow_rows), as_of, True, grouped=GROUP)
    if hh_frame is None:
        return other
    assert m_frame is not None and first_rows is not None
    if other.households.height:
        hh_frame, m_frame, first_rows = _merge(hh_frame, m_frame, first_rows,
                                               other.households, other.members,
                                               other.first_rows)
    return Checked(hh_frame, m_frame, other.errors, other.rejected, first_rows)


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _text_rows(parts: Sequence[Rows], rows: np.ndarray) -> pl.DataFrame:
    """These rows (numbered as ``ROW``) of the parts as text, as polars' reader reads it
    (``CsvSource``'s), with their numbers (``ROW``) and their households told apart
    (``GROUP``): rows of one household are adjacent."""
    names = list(parts[0].names)
    if rows.size == 0:
        return pl.DataFrame(schema={**{n: pl.String for n in names}, ROW: pl.Int64,
                                    GROUP: pl.UInt32})
    lines: list[list[str]] = []
    for part in parts:
        mine = rows[(rows > part.first_row) & (rows <= part.first_row + part.rows)]
        if not mine.size:
            continue
        starts = np.frombuffer(part.got[2], dtype=np.int64)[:part.rows]
        ends = np.append(starts[1:] - 1, len(part.data))
        data = memoryview(part.data)
        at = mine - part.first_row - 1
        # Plain lines (the reader read the block: no quote, the header's number of cells,
        # UTF-8): each cell its text, an empty one a null, as polars' reader gives them.
        lines.extend(bytes(data[s:e]).rstrip(b"\n").removesuffix(b"\r").decode().split(",")
                     for s, e in zip(starts[at], ends[at], strict=True))
    frame = pl.DataFrame({n: [cells[i] or None for cells in lines] for i, n in enumerate(names)},
                         schema={n: pl.String for n in names})
    apart = pl.Series(np.diff(rows, prepend=rows[0] - 2) != 1)
    return frame.with_columns(
        pl.Series(ROW, rows.astype(np.int64)),
        (pl.lit(apart) | _new_household(pl.col("householdId"))).cum_sum().cast(pl.UInt32)
        .alias(GROUP))


__all__ = ["Rows", "available", "check_rows", "read_rows"]
