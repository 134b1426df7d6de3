"""JSON Lines validated in columns: a block of lines read into household and member columns
by this package's strict reader (``engine/batch/_lines.c``, compiled when the project is
installed), and checked by the flat layout's vectorised checks (``layout.fast_nested``, the
household columns checked once a line). Where the reader is not compiled (a source tree run
without installing), Arrow's native JSON reader with the layout's schema reads the block and
the members are unnested in columns: the same frames, about three times the CPU.

The columnar path is conservative in the same way as the flat layout's: a household it passes
is one ``policy.facts.parse_household`` accepts with the same values. Every other line goes
to the record-by-record path (``records.check_records``) with its bytes as read, so the errors,
field paths and line numbers are that path's, exactly:

* a line that does not start with ``{`` and end with ``}`` (blank lines are skipped, as
  there), or that holds a ``null`` (the columns hold a field left out as a null; the
  contract refuses an explicit one), or, for Arrow's reader, a byte ED (see ``_candidates``);
* lines that are not JSON or not the contract's shape: a value of another type, an unknown or
  repeated field, an invalid escape or UTF-8. The strict reader also leaves to that path what
  it does not read exactly: a number with an exponent or more than 15 digits (money) or 18
  (integers), a ``\u0000`` or a lone surrogate. With Arrow's reader, a block it refuses is
  read again in smaller pieces, and pieces of a few hundred lines that still fail go record
  by record;
* households without members or with more than the contract allows, and every household the
  vectorised checks do not pass.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from datetime import date
from typing import TypeAlias

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.json as pa_json  # type: ignore[import-untyped]

from engine.batch.layout import (
    ERRORS,
    HOUSEHOLD_COLUMNS,
    MEMBER_COLUMNS,
    ROW,
    Checked,
    Column,
    _merge,
    fast_nested,
    passed,
)
from engine.batch.native import ARROW, LINES_KINDS, MAX_ENUM_VALUES, arrow_column
from engine.batch.native import reader as native
from engine.batch.records import check_records
from policy import facts as f

Buffer: TypeAlias = bytes | memoryview  # the bytes of a block of lines

SMALLEST_PIECE = 256  # lines: a piece this small that Arrow refuses goes record by record
PIECES = 16           # a refused block is read again in this many pieces

READ, SLOW, EMPTY = 0, 1, 2  # a line's status from the strict reader

Frames: TypeAlias = tuple[pl.DataFrame, pl.DataFrame]


def _struct_fields(columns: tuple[Column, ...]) -> list[pa.Field]:
    return [pa.field(c.field, ARROW[c.kind]) for c in columns]


@functools.cache
def json_schema() -> pa.Schema:
    """The contract's household JSON as an Arrow schema (dates as text, checked after)."""
    member = pa.struct(_struct_fields(MEMBER_COLUMNS))
    return pa.schema([*_struct_fields(HOUSEHOLD_COLUMNS), pa.field("members", pa.list_(member))])


def _series(array: pa.Array | pa.ChunkedArray) -> pl.Series:
    series = pl.from_arrow(array)
    assert isinstance(series, pl.Series)
    return series


def _arrow_array(values: np.ndarray) -> pa.Array:
    """A numpy array as Arrow's, through polars: ``pa.array`` and Arrow's Python scalars
    import pandas when it is installed (about 0.3 CPU-seconds at a process's first call)."""
    return pl.Series(values).to_arrow()


def _lines(block: Buffer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each line's start and end (without its newline) and where the next line starts."""
    data = np.frombuffer(block, dtype=np.uint8)
    # The newlines found by polars (a bit a byte) rather than numpy's ``data == 10`` (a byte a
    # byte: a block-sized array, fresh memory the kernel zeroes for every block).
    nl = pl.Series(data).eq(10).arg_true().cast(pl.Int64).to_numpy() if len(data) \
        else np.zeros(0, dtype=np.int64)
    starts = np.concatenate(([0], nl + 1))
    ends = np.concatenate((nl, [len(data)]))
    if starts[-1] == len(data):  # the block ends with a newline: no line after it
        starts, ends = starts[:-1], ends[:-1]
    nxt = np.minimum(ends + 1, len(data))
    return starts, ends, nxt


def _candidates(block: Buffer, starts: np.ndarray, ends: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """(lines the columnar path may read, empty lines); every other line goes record by
    record (where a line of blanks is skipped)."""
    n = len(starts)
    if len(block) == 0:
        return np.zeros(n, bool), np.ones(n, bool)
    data = np.frombuffer(block, dtype=np.uint8)
    # A trailing carriage return (CRLF files) is not part of the line.
    cr = (ends > starts) & (data[np.maximum(ends - 1, 0)] == 13)
    last = ends - cr.astype(np.int64)
    empty = last <= starts
    first_byte = data[np.minimum(starts, len(data) - 1)]
    last_byte = data[np.maximum(last - 1, 0)]
    ok = ~empty & (first_byte == ord("{")) & (last_byte == ord("}"))
    # Lines with a null, looked for by polars in each line's bytes (a view of the block: no
    # copy in Python; about four times faster than bytes.find, and without the GIL).
    if n:
        offsets = np.append(starts, len(block)).astype(np.int64)
        lines = pa.LargeBinaryArray.from_buffers(
            pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(block)])
        binary = _series(lines).bin
        ok &= ~binary.contains(b"null").to_numpy()
        # Arrow's reader lets half a surrogate pair written as UTF-8 bytes (ED A0..BF ..)
        # through; the record path refuses it. ED is the first byte of no Chinese character.
        ok &= ~binary.contains(b"\xed").to_numpy()
    return ok, empty


def _read(block: Buffer, starts: np.ndarray, nxt: np.ndarray, lines: np.ndarray
          ) -> Iterator[tuple[pa.Table | None, np.ndarray]]:
    """Arrow's reading of these lines (indices, ascending): (table, lines) for what it read,
    one row a line, and (None, lines) for lines it refuses in pieces of SMALLEST_PIECE."""
    if lines.size == 0:
        return
    data = np.frombuffer(block, dtype=np.uint8)
    text: Buffer
    if lines.size == len(starts):
        text = block
    else:
        keep = np.zeros(len(starts), dtype=bool)
        keep[lines] = True
        text = data[np.repeat(keep, nxt - starts)].tobytes()
    if len(text) and bytes(memoryview(text)[-1:]) != b"\n":
        text = bytes(text) + b"\n"
    try:
        # Read where the bytes are (a block of the register mapped in memory): no copy.
        table = pa_json.read_json(
            pa.BufferReader(pa.py_buffer(text)),
            read_options=pa_json.ReadOptions(use_threads=False,
                                             block_size=max(1 << 20, len(text) + 1)),
            parse_options=pa_json.ParseOptions(explicit_schema=json_schema(),
                                               unexpected_field_behavior="error",
                                               newlines_in_values=False))
    except (pa.ArrowInvalid, UnicodeDecodeError, ValueError):
        table = None
    if table is not None and table.num_rows == lines.size:
        yield table, lines
        return
    if lines.size <= SMALLEST_PIECE:
        yield None, lines
        return
    for piece in np.array_split(lines, PIECES):
        yield from _read(block, starts, nxt, piece)


def _nested(table: pa.Table, line_numbers: np.ndarray, first: int
            ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Households (one a row, members a list) as a household frame (its columns and ``_row``,
    its line) and a member frame (``_h`` numbering the households from ``first``, the member
    columns), members unnested in columns."""
    members = table.column("members").combine_chunks()
    flat = members.flatten()
    heads = pl.from_arrow(pa.table(
        {**{c.name: table.column(c.field) for c in HOUSEHOLD_COLUMNS},
         ROW: _arrow_array(line_numbers.astype(np.int64))}))
    parent = _series(pc.list_parent_indices(members)).cast(pl.UInt32) + first
    member_frame = pl.from_arrow(pa.table(
        {"_h": parent.to_arrow(),
         **{c.name: flat.field(i) for i, c in enumerate(MEMBER_COLUMNS)}}))
    assert isinstance(heads, pl.DataFrame) and isinstance(member_frame, pl.DataFrame)
    return heads, member_frame


NativeField: TypeAlias = tuple[bytes, int] | tuple[bytes, int, tuple[bytes, ...]]


@functools.cache
def _native_fields() -> tuple[tuple[NativeField, ...], tuple[NativeField, ...]]:
    """Each level's fields as the strict reader takes them: name and kind, and an enum's
    values (read as their indexes; ``coded``)."""
    def field(c: Column) -> NativeField:
        if coded(c):
            return c.field.encode(), LINES_KINDS["enum"], tuple(v.encode() for v in c.values)
        return c.field.encode(), LINES_KINDS["text" if c.kind == "enum" else c.kind]

    return tuple(map(field, HOUSEHOLD_COLUMNS)), tuple(map(field, MEMBER_COLUMNS))


# The members' column of ids: the strict reader leaves a household whose members' ids repeat
# to the record path.
_MEMBER_ID = next(i for i, c in enumerate(MEMBER_COLUMNS) if c.kind == "id")


def coded(c: Column) -> bool:
    """Whether the strict reader reads the column's values as their indexes among the enum's
    values (an enum of at most ``MAX_ENUM_VALUES``; larger ones as texts)."""
    return c.kind == "enum" and 0 < len(c.values) <= MAX_ENUM_VALUES


def _read_native(block: Buffer, first_line: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Frames | None]:
    """(each line's start, its end, the lines to go record by record, the lines read, and
    the frames of what was read) by the strict reader."""
    household_fields, member_fields = _native_fields()
    assert native is not None
    (starts_b, ends_b, status_b, households, members, parent, household_columns,
     member_columns) = native.parse(block, household_fields, member_fields, b"members",
                                    f.MAX_MEMBERS, _MEMBER_ID)
    starts = np.frombuffer(starts_b, dtype=np.int64)
    ends = np.frombuffer(ends_b, dtype=np.int64)
    status = np.frombuffer(status_b, dtype=np.uint8)
    read = np.flatnonzero(status == READ)
    slow = np.flatnonzero(status == SLOW)
    if read.size == 0:
        return starts, ends, slow, read, None
    heads = pl.from_arrow(pa.table(
        {**{c.name: arrow_column(c.kind, households, *data)
            for c, data in zip(HOUSEHOLD_COLUMNS, household_columns, strict=True)},
         ROW: _arrow_array(read + first_line)}))
    member_frame = pl.from_arrow(pa.table(
        {"_h": pa.Array.from_buffers(pa.uint32(), members, [None, pa.py_buffer(parent)]),
         **{c.name: arrow_column(c.kind, members, *data)
            for c, data in zip(MEMBER_COLUMNS, member_columns, strict=True)}}))
    assert isinstance(heads, pl.DataFrame) and isinstance(member_frame, pl.DataFrame)
    return starts, ends, slow, read, (heads, member_frame)


def _read_arrow(block: Buffer, first_line: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Frames | None]:
    """What ``_read_native`` gives, by Arrow's JSON reader."""
    starts, ends, nxt = _lines(block)
    numbers = np.arange(first_line, first_line + len(starts), dtype=np.int64)
    ok, empty = _candidates(block, starts, ends)
    slow: list[np.ndarray] = [np.flatnonzero(~ok & ~empty)]
    heads_parts: list[pl.DataFrame] = []
    member_parts: list[pl.DataFrame] = []
    read_lines: list[np.ndarray] = []
    read = 0
    for table, lines in _read(block, starts, nxt, np.flatnonzero(ok)):
        if table is None:
            slow.append(lines)
            continue
        sizes = _series(pc.list_value_length(table.column("members"))).fill_null(0).to_numpy()
        fits = (sizes >= 1) & (sizes <= f.MAX_MEMBERS)
        if not fits.all():
            slow.append(lines[~fits])
            table, lines = table.filter(_arrow_array(fits)), lines[fits]
        if lines.size:
            heads_raw, members_raw = _nested(table, numbers[lines], read)
            heads_parts.append(heads_raw)
            member_parts.append(members_raw)
            read_lines.append(lines)
            read += lines.size
    slow_lines = np.sort(np.concatenate(slow))
    if not heads_parts:
        return starts, ends, slow_lines, np.zeros(0, dtype=np.int64), None
    return starts, ends, slow_lines, np.concatenate(read_lines), (
        pl.concat(heads_parts, rechunk=True), pl.concat(member_parts, rechunk=True))


def check_lines(block: Buffer, first_line: int, as_of: date, *, strict_reader: bool = True
                ) -> Checked:
    """Validate a block of whole JSON Lines (``first_line`` is the first one's number):
    ``bytes``, or any buffer of them (a ``memoryview``). ``strict_reader=False`` reads with
    Arrow's reader, as where the strict one is not compiled."""
    reader = _read_native if strict_reader and native is not None else _read_arrow
    starts, ends, slow_lines, line_of, frames = reader(block, first_line)
    slow = [slow_lines]
    if frames is not None:
        members, heads, bad_h = fast_nested(*frames, as_of, strict=reader is _read_native)
        bad = bad_h.to_numpy()
        slow.append(line_of[bad])
        hh_frame, m_frame, first_rows = passed(heads, members, bad)
    else:
        empty_checked = check_records([], as_of)
        hh_frame, m_frame = empty_checked.households, empty_checked.members
        first_rows = empty_checked.first_rows
    slow_lines = np.sort(np.concatenate(slow))
    if slow_lines.size == 0:
        return Checked(hh_frame, m_frame, pl.DataFrame(schema=ERRORS), 0, first_rows)
    records = [(first_line + int(i), bytes(block[starts[i]:ends[i]])) for i in slow_lines
               if bytes(block[starts[i]:ends[i]]).strip()]
    other = check_records(records, as_of)
    if other.households.height:
        hh_frame, m_frame, first_rows = _merge(hh_frame, m_frame, first_rows,
                                               other.households, other.members,
                                               other.first_rows)
    return Checked(hh_frame, m_frame, other.errors, other.rejected, first_rows)


def check_blocks(blocks: list[tuple[Buffer, int]], as_of: date,
                 checked: Callable[[Buffer], None] | None = None) -> Checked:
    """``check_lines`` of consecutive blocks of a file (each with its first line's number),
    as one chunk: the households of each block after the previous block's. Each block is
    taken out of the list as it is checked, so that its bytes are freed then (when the list
    held the last reference), not once every block is checked, and given to ``checked``:
    nothing ``check_lines`` gives refers to a block's bytes (the reader copies what it
    reads, the record path a copy of its lines), so its memory may be read into again."""
    parts = []
    while blocks:
        block, first_line = blocks.pop(0)
        parts.append(check_lines(block, first_line, as_of))
        if checked is not None:
            checked(block)
        del block
    if len(parts) == 1:
        return parts[0]
    members, offset = [], 0
    for p in parts:
        members.append(p.members.with_columns(_h=pl.col("_h") + offset))
        offset += p.households.height
    return Checked(pl.concat([p.households for p in parts]), pl.concat(members),
                   pl.concat([p.errors for p in parts]), sum(p.rejected for p in parts),
                   pl.concat([p.first_rows for p in parts]))


__all__ = ["check_blocks", "check_lines", "json_schema"]
