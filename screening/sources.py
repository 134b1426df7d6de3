"""Registers read in chunks: CSV and Parquet (the flat layout) and JSON Lines (CSV and JSON
Lines also gzip-compressed, decompressed as they are read).

Every source yields ``Chunk`` objects of whole households, each record numbered (``_row``,
1-based: the data row of a CSV file after its header, the row of a Parquet file, the line of a
JSON Lines file), so memory stays bounded whatever the file's size. A flat-layout household
whose rows straddle two reads is held back and completed by the next read.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import gzip
import io
import itertools
import mmap
import os
import threading
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from engine.batch import native
from engine.batch.execution import ENGINE
from engine.batch.layout import BY_NAME, ERRORS, EXACT, ROW, TYPED, LayoutError, check_columns
from engine.batch.rows import Rows, read_rows
from engine.batch.rows import available as rows_available
from screening.record_lines import line_pieces, record_lines

FORMATS = ("csv", "jsonl", "parquet", "xlsx")
HOLD_LIMIT = 10_000  # rows of one household held back at most (more is invalid anyway)
# A CSV register is read in blocks of at most about 30 MiB (about 290,000 rows of the
# generated register), whatever the chunk size: glibc's malloc gives a bytes object of up to
# 32 MiB from its heap, reused block after block, and maps a larger one afresh every time
# (pages the kernel zeroes first); the frames of a smaller block also take less memory.
CSV_BLOCK = 30 << 20
# A mapped CSV register's blocks are unmapped this many blocks behind the one being read (the
# blocks in flight: read, waiting to be checked, being checked; one unmapped early is read
# again from the page cache).
MAPPED_BLOCKS_HELD = 6
# A CSV block longer than this is read by the strict reader in two halves, side by side.
STRICT_HALVES = 1 << 20
# Encodings whose bytes below 0x80 are ASCII and never part of a longer character: a newline,
# a comma or a quote in a register saved in one of them is that character (GBK's and GB18030's
# trail bytes are 0x30-0x39 and 0x40-0xFE). A block of such a register is the same text in
# UTF-8 once transcoded (nothing to do for a block that is all ASCII, as a register exported
# from a Chinese spreadsheet is but for its header), so it is read as a UTF-8 register is.
SPLIT_LIKE_ASCII = frozenset({"gb18030", "gbk", "gb2312"})
# A JSON Lines register in blocks of at most 30 MiB (about 43,000 generated households), views
# of the file mapped into memory (``MappedLines``); the last chunks of a run, done while the
# other core may wait, are shorter, and each chunk's frames take less memory.
JSONL_BLOCK = 30 << 20
# A JSON Lines chunk is at most this many blocks (about 90 MiB): a register of long lines
# (large households) has few households a block, and memory is bounded by the bytes held.
JSONL_CHUNK_BLOCKS = 3


@dataclass(frozen=True)
class Chunk:
    """Whole households: flat-layout rows (``frame``), JSON records (``records``) or blocks of
    whole JSON lines (``lines``)."""

    frame: pl.DataFrame | None
    records: list[tuple[int, bytes]] | None
    text: bool      # CSV: the cells are text
    done: int       # progress units consumed so far (rows or bytes)
    # Blocks of whole JSON lines, each with the number of its first line, in the file's order
    # (taken out of the list as they are checked: ``engine.batch.lines.check_blocks``), and
    # what is called with each block once it is checked (its memory read into again).
    lines: list[tuple[bytes | memoryview, int]] | None = None
    checked: Callable[[bytes | memoryview], None] | None = None
    # A block of CSV rows read as households, in parts read side by side (``engine.batch.rows``)
    rows: tuple[Rows, ...] | None = None
    # Households taken out of ``frame`` (one of their rows could not be read), as errors.
    incomplete: pl.DataFrame | None = None


def detect_format(path: str | os.PathLike[str], given: str | None = None) -> str:
    if given:
        if given not in FORMATS:
            raise ValueError(f"unknown format {given!r}; one of {', '.join(FORMATS)}")
        return given
    name = str(path).lower()
    if name.endswith(".xlsx"):
        return "xlsx"
    for suffix, fmt in ((".csv", "csv"), (".jsonl", "jsonl"), (".ndjson", "jsonl"),
                        (".parquet", "parquet"), (".pq", "parquet")):
        if name.endswith(suffix) or name.endswith(suffix + ".gz"):
            return fmt
    if Path(path).is_dir():
        return "parquet"
    raise ValueError(f"cannot tell the format of {path}: name it .csv, .jsonl, .parquet or "
                     ".xlsx, or give --format")


class Source:
    """A register to read: ``total`` progress units (rows or bytes) and ``chunks()``."""

    unit = "rows"

    def __init__(self, path: Path, chunk_rows: int):
        self.path = path
        self.chunk_rows = chunk_rows
        self.total: int | None = None

    def chunks(self) -> Iterator[Chunk]:  # pragma: no cover - overridden
        raise NotImplementedError


def open_source(path: str | os.PathLike[str], fmt: str | None = None,
                chunk_rows: int = 200_000, encoding: str | None = None) -> Source:
    """The register at ``path`` (``fmt`` from the file name unless given; a CSV in
    ``encoding``, default UTF-8 with or without a BOM). Raises ``OSError`` when it cannot be
    read, ``LayoutError`` when its columns do not fit the layout and ``UnicodeError`` when a
    CSV's header is not in its encoding."""
    p = Path(path)
    kind = detect_format(p, fmt)
    if kind in ("parquet", "xlsx") and p.is_file() and gzipped(p):
        raise LayoutError(f"a gzip-compressed {kind} file is not read: decompress it first "
                          "(only CSV and JSON Lines registers may be gzip-compressed)")
    if kind == "parquet":
        return ParquetSource(p, chunk_rows)
    if kind == "csv":
        return CsvSource(p, chunk_rows, encoding)
    if kind == "xlsx":
        return XlsxSource(p, chunk_rows)
    return JsonlSource(p, chunk_rows)


def _header_aliases() -> dict[str, str]:
    """Chinese column headers a spreadsheet may use: each fact's Chinese label (the fact
    catalogue's ``label.zh``, e.g. 家庭编号, 出生日期) for the layout's name of its column."""
    from policy.fact_catalogue import CATALOGUE

    aliases: dict[str, str] = {}
    for facts, member in ((CATALOGUE.household, False), (CATALOGUE.member, True)):
        for fact in facts:
            name = ("memberId" if member else "householdId") if not fact.condition \
                else fact.name
            aliases.setdefault(fact.label.zh.strip(), name)
    return aliases


HEADER_ALIASES = _header_aliases()
# Each column's Chinese header, as a spreadsheet heads it (the inverse of HEADER_ALIASES).
COLUMN_LABELS = {name: label for label, name in HEADER_ALIASES.items()}


def column_name(header: str) -> str:
    """The layout's name of a column headed ``header`` (a documented name, or its Chinese
    alias)."""
    text = header.strip()
    return HEADER_ALIASES.get(text, text)


def _cell_text(value: Any) -> str | None:
    """A spreadsheet cell as the text a CSV register would hold for it: dates as ISO dates,
    booleans as true/false, whole numbers without a decimal point."""
    if value is None:
        return None
    if type(value) is str:  # most cells (an empty one is "" from calamine)
        return value.strip() or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _header_text(value: Any) -> str:
    """A header cell's text as openpyxl gives it (a whole number without a decimal point)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _from_a1(rows: Iterable[Sequence[Any]], top: int, left: int) -> Iterator[Sequence[Any]]:
    """calamine's rows of a sheet's used range (from row ``top``, column ``left``, 0-based) as
    rows from cell A1 on, as openpyxl gives them: the empty rows above and cells to the left
    put back."""
    for _ in range(top):
        yield ()
    pad = (None,) * left
    for row in rows:
        yield (*pad, *row) if left else row


_ERROR_CELL = (b't="e"', b"t='e'")  # a cell whose value is an error (#N/A, #DIV/0!, ...)


def _has_error_cells(path: Path) -> bool:
    """Whether a worksheet of the workbook holds a cell with an error value (read as its
    XML is inflated, in blocks, without parsing it). A file that is not a zip archive says
    no: the reader that opens it next says what it is."""
    import zipfile

    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile):
        return False
    with archive:
        for name in archive.namelist():
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            with archive.open(name) as part:
                tail = b""
                while block := part.read(1 << 20):
                    text = tail + block
                    if any(marker in text for marker in _ERROR_CELL):
                        return True
                    tail = text[-6:]
    return False


def complete_households(frames: Iterator[tuple[pl.DataFrame, int, bool]], text: bool
                        ) -> Iterator[Chunk]:
    """Re-cut flat-layout frames (with ``_row``) so that no household is split: the rows of
    the last household of each frame wait for the next frame. Each frame comes with the
    progress so far and whether it is the last (``with_last`` tells, one frame ahead, for
    sources that do not know)."""
    held: pl.DataFrame | None = None
    done = 0
    for frame, done, last_frame in frames:
        if held is not None:
            same = held.schema == frame.schema
            frame = pl.concat([held, frame], how="vertical" if same else "diagonal_relaxed")
            held = None
        if frame.height == 0:
            continue
        last = frame["householdId"][-1]
        # The last frame's households are all complete: nothing waits (a chunk of one
        # household at the end would cost a chunk's fixed work for nothing).
        if last is not None and not last_frame:
            # The trailing run of the last household's id waits for the next frame (unless it
            # is the whole frame and longer than any valid household). Looked for among the
            # last rows first.
            tail = _trailing_run(frame["householdId"].tail(HOLD_LIMIT + 1), last)
            if tail > HOLD_LIMIT:
                tail = _trailing_run(frame["householdId"], last)
            if tail < frame.height or tail <= HOLD_LIMIT:
                held = frame.tail(tail)
                frame = frame.head(frame.height - tail)
        if frame.height:
            yield Chunk(frame, None, text, done)
    if held is not None and held.height:
        yield Chunk(held, None, text, done)


def with_last(frames: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """Each frame and its progress (or any other tuple), and whether it is the last one (read
    one ahead)."""
    it = iter(frames)
    try:
        current = next(it)
    except StopIteration:
        return
    for following in it:
        yield (*current, False)
        current = following
    yield (*current, True)


def _ascii(data: bytes | memoryview) -> bool:
    """Whether every byte is below 0x80 (``bytes.isascii`` for a view too)."""
    if isinstance(data, bytes):
        return data.isascii()
    return not len(data) or int(np.frombuffer(data, dtype=np.uint8).max()) < 0x80


_WINDOW = 1 << 16  # bytes of a view searched at a time (a line is much shorter)


def _find(data: bytes | memoryview, byte: bytes, start: int) -> int:
    """``data.find(byte, start)`` for a view too (a byte's first place from ``start``)."""
    if isinstance(data, bytes):
        return data.find(byte, start)
    for at in range(start, len(data), _WINDOW):
        found = bytes(data[at:at + _WINDOW]).find(byte)
        if found >= 0:
            return at + found
    return -1


def _rfind(data: bytes | memoryview, byte: bytes, end: int) -> int:
    """``data.rfind(byte, 0, end)`` for a view too (a byte's last place before ``end``)."""
    if isinstance(data, bytes):
        return data.rfind(byte, 0, end)
    while end > 0:
        at = max(0, end - _WINDOW)
        found = bytes(data[at:end]).rfind(byte)
        if found >= 0:
            return at + found
        end = at
    return -1


def _household_start(data: bytes | memoryview, at: int, column: int, most: int = 64) -> int:
    """Where the household of the line ending just before ``at`` (a line's start) begins in a
    block of plain lines: the first of the adjacent lines with its id (a line without one is a
    household of its own); 0 where that is not found within ``most`` lines, or a line has
    fewer cells than the id's column."""
    def ident(start: int, end: int) -> bytes | None:
        cells = bytes(data[start:end]).rstrip(b"\r").split(b",")
        return cells[column] if len(cells) > column else None

    end = at - 1
    start = _rfind(data, b"\n", end) + 1
    own = ident(start, end)
    if not own:
        return start if own is not None else 0
    for _ in range(most):
        if start == 0:
            return 0
        before = _rfind(data, b"\n", start - 1) + 1
        if ident(before, start - 1) != own:
            return start
        start = before
    return 0


def _numbered(frame: pl.DataFrame, row: int, skipped: list[int]) -> tuple[pl.DataFrame, int]:
    """The rows of a frame numbered (``ROW``) on from ``row``, counting the rows the reader
    skipped among them (``skipped``: their numbers among the frame's and theirs, from 1), as
    the file's data rows are numbered; and the last number."""
    total = frame.height + len(skipped)
    if not skipped or not all(1 <= n <= total for n in skipped):
        return frame.with_columns(pl.int_range(row + 1, row + 1 + frame.height,
                                               dtype=pl.Int64).alias(ROW)), row + frame.height
    kept = np.setdiff1d(np.arange(1, total + 1, dtype=np.int64), np.asarray(skipped))
    return frame.with_columns(pl.Series(ROW, kept + row, dtype=pl.Int64)), row + total


def _among(numbers: Sequence[int | None], first: int) -> list[int]:
    """Rows' numbers counted from the row numbered ``first`` (as 1); none where one of them
    is not known."""
    known = [n - first + 1 for n in numbers if n is not None]
    return known if len(known) == len(numbers) else []


def _cell(text: str, index: int) -> str | None:
    """The cell at ``index`` of a CSV row's text when the row holds it whole (another cell
    follows it), else None."""
    if index < 0:
        return None
    try:
        cells = next(csv.reader([text.rstrip("\r\n")]), [])
    except csv.Error:  # e.g. a quote that is never closed
        return None
    return cells[index] if len(cells) > index + 1 else None


def _trailing_run(ids: pl.Series, last: Any) -> int:
    """How many of the last ids are ``last``."""
    other = (ids != last).fill_null(True)
    return ids.len() - (int(other.arg_true()[-1]) + 1) if other.any() else ids.len()


class ParquetSource(Source):
    def __init__(self, path: Path, chunk_rows: int):
        super().__init__(path, chunk_rows)
        self.files = _parquet_files(path)
        if not self.files:
            raise OSError(f"no Parquet files in {path}")
        schema = pq.read_schema(self.files[0])
        check_columns(schema.names)
        self.total = sum(pq.ParquetFile(f).metadata.num_rows for f in self.files)

    def _frames(self) -> Iterator[tuple[pl.DataFrame, int, bool]]:
        offset = 0
        for k, f in enumerate(self.files):
            n = pq.ParquetFile(f).metadata.num_rows
            # The record numbers are read with the file (cut into the same pieces as its
            # columns), not added afterwards.
            lf = pl.scan_parquet(f, row_index_name=ROW, row_index_offset=offset + 1)
            # Pieces of equal size (none much smaller than the rest): the last piece of a
            # file is the last work of a run, done while the other core waits.
            step = -(-n // max(1, -(-n // self.chunk_rows))) if n else self.chunk_rows
            for start in range(0, n, step):
                frame = lf.slice(start, step).with_columns(
                    pl.col(ROW).cast(pl.Int64)).collect(engine=ENGINE)
                last = k == len(self.files) - 1 and start + step >= n
                yield frame, offset + start + frame.height, last
            offset += n

    def chunks(self) -> Iterator[Chunk]:
        return complete_households(self._frames(), text=False)


def _parquet_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*.parquet") if p.is_file())
    return [path]


class _Counting(io.RawIOBase):
    """A file that counts the bytes read from it (for the progress bar)."""

    def __init__(self, f: BinaryIO):
        self.f = f
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self.f.read(len(b))
        n = len(data)
        b[:n] = data
        self.count += n
        return n


@dataclass(frozen=True)
class _Numbered:
    """A misshapen row Arrow's reader reports, numbered as a record of the whole file (the
    header's 1)."""

    row: Any
    number: int

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)


def count_byte(data: bytes | memoryview, byte: int) -> int:
    """How many times ``byte`` occurs in ``data``: counted by polars on a view of the bytes,
    about ten times less CPU than ``bytes.count`` for one character (which also holds the
    GIL)."""
    if len(data) >= 1 << 31:  # more than a polars series here can hold
        return bytes(data).count(bytes([byte]))
    return int(pl.Series(np.frombuffer(data, dtype=np.uint8)).eq(byte).sum())


GZIP_MAGIC = b"\x1f\x8b"


def gzipped(path: Path) -> bool:
    """Whether the file is gzip-compressed (by its first bytes, whatever its name)."""
    with path.open("rb") as f:
        return f.read(2) == GZIP_MAGIC


@contextmanager
def open_register(path: Path) -> Iterator[tuple[BinaryIO, Callable[[], int], bool]]:
    """The register's bytes (decompressed as they are read when the file is gzip-compressed),
    how many bytes of the file have been read so far (for the progress bar, which counts the
    file's size), and whether it is compressed. A damaged or truncated compressed file raises
    ``OSError`` naming it when its bytes are read."""
    with path.open("rb") as raw:
        if raw.read(2) != GZIP_MAGIC:
            raw.seek(0)
            yield raw, raw.tell, False
            return
        raw.seek(0)
        with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
            yield cast(BinaryIO, _GzipStream(unzipped, path)), raw.tell, True


class _GzipStream(io.RawIOBase):
    """A gzip file's decompressed bytes, whose errors at a damaged or truncated end are an
    ``OSError`` naming the file (``EOFError`` and ``zlib.error`` are not ``OSError``: the
    command would end with a traceback instead of its message)."""

    def __init__(self, f: gzip.GzipFile, path: Path):
        self.f = f
        self.path = path

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self._named(self.f.read, size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._named(self.f.readline, size)

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def _named(self, read: Callable[[int], bytes], size: int | None) -> bytes:
        try:
            return read(-1 if size is None else size)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise OSError(None, f"a damaged or truncated gzip file ({exc})",
                          str(self.path)) from None


def _block_size(head: bytes, rows: int, most: int | None) -> int:
    """The bytes of a block of about ``rows`` lines (from the length of the first lines in
    ``head``), at most about ``most``."""
    per_line = len(head) / max(1, head.count(b"\n"))
    size = max(1 << 12, int(rows * per_line))
    if most is not None:
        size = max(1 << 12, min(size, most))
    return size


def streamed_line_blocks(f: BinaryIO, rows: int, most: int | None = None
                         ) -> Iterator[bytes]:
    """``line_blocks`` of a file read once from where it stands to its end, without seeking
    (e.g. decompressed as it is read): the same blocks for the same bytes."""
    buffer = bytearray(f.read(1 << 20))
    size = _block_size(bytes(buffer), rows, most)
    ended = False
    while True:
        # A block ends with the line holding its size-th byte (or with the file).
        end = buffer.find(b"\n", size - 1) if len(buffer) >= size else -1
        if end < 0 and not ended:
            more = f.read(max(size, 1 << 16))
            if more:
                buffer += more
            else:
                ended = True
            continue
        if end < 0:
            if buffer:
                yield bytes(buffer)
            return
        yield bytes(buffer[:end + 1])
        del buffer[:end + 1]


def cut_short_message(path: Path) -> bytes:
    """What a process says as it stops, for a mapped register cut short while it is read
    (``MappedLines``; exit status 2, as for a register that cannot be read past a point)."""
    return (f"错误：登记表 {path} 在筛查期间被截短或改写，无法读完；已写出的结果不完整，"
            "请在登记表写完后重新筛查（CANNOT_READ）\n"
            f"error: {path} was cut short or written over while it was screened and cannot be "
            "read past a point; the outcomes written so far are incomplete: screen it again "
            "once it is written [CANNOT_READ]\n").encode()


class MappedLines:
    """A register's lines where they lie: the file mapped into memory (read only), each block
    of whole lines a view of the file's pages, the blocks cut as ``line_blocks`` cuts them.
    Nothing is copied and no memory is zeroed for them (reading a block into memory costs a
    copy of its bytes and, for memory not reused, a page fault the kernel serves for each 4
    KiB it zeroes first: 1,000,000 households of JSON Lines, 0.2-0.3 s of CPU). Once a block
    is done with (``give``), its pages are unmapped from the process (they stay in the page
    cache), so the process holds only the blocks in flight. The file is not to be written
    while it is read: a page cut off the end of the file stops the process (``SIGBUS``; the
    sources that map a register have it say so, ``cut_short_message``, and exit with status
    2)."""

    def __init__(self, f: BinaryIO, rows: int, most: int | None) -> None:
        self._start = f.tell()
        self._size = _block_size(f.read(1 << 20), rows, most)
        self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if hasattr(mmap, "MADV_SEQUENTIAL"):  # read ahead of the blocks, from a disk
            self._map.madvise(mmap.MADV_SEQUENTIAL)
        self._view = memoryview(self._map)
        self._ranges: dict[int, tuple[int, int]] = {}
        self._lock = threading.Lock()

    @classmethod
    def of(cls, f: BinaryIO, rows: int, most: int | None, path: Path) -> MappedLines | None:
        """The lines of the register at ``path`` (open as ``f``) from where it stands, mapped,
        for the strict reader: it copies what it reads (Arrow's reader, where it is not
        compiled, is not relied on to keep nothing of a block), and its module has the
        process say why it stops should the file be cut short (``cut_short_message``).
        ``None`` where the reader is not compiled or the file cannot be mapped (an empty one,
        or not a file on a disk)."""
        if native.reader is None:
            return None
        start = f.tell()
        try:
            mapped = cls(f, rows, most)
        except (OSError, ValueError):
            f.seek(start)
            return None
        native.reader.exit_on_bus_error(cut_short_message(path))
        return mapped

    def __iter__(self) -> Iterator[memoryview]:
        start, length = self._start, len(self._map)
        while start < length:
            end = self._map.find(b"\n", start + self._size - 1)
            end = length if end < 0 else end + 1
            block = self._view[start:end]
            with self._lock:
                self._ranges[id(block)] = (start, end)
            yield block
            start = end

    def extended(self, block: memoryview, before: int) -> memoryview:
        """A view of the ``before`` bytes just before a block of these and the block."""
        with self._lock:
            start, end = self._ranges[id(block)]
        return self._view[start - before:end]

    def give(self, block: bytes | memoryview) -> None:
        """The block is done with: its view is released and its whole pages unmapped from the
        process (read again from the page cache, were anything to read them: a view of the
        same bytes still held reads them as they were)."""
        with self._lock:
            where = self._ranges.pop(id(block), None)
        if where is None:
            return
        page = mmap.PAGESIZE
        first = -(-where[0] // page) * page
        last = where[1] // page * page
        if isinstance(block, memoryview):
            with contextlib.suppress(BufferError):  # a view exported to another (numpy)
                block.release()
        if last > first and hasattr(mmap, "MADV_DONTNEED"):
            self._map.madvise(mmap.MADV_DONTNEED, first, last - first)


def line_blocks(f: BinaryIO, rows: int, most: int | None = None) -> Iterator[bytes]:
    """Blocks of whole lines of ``f`` (a file that can seek) from where it stands (the last
    one as the file ends), about ``rows`` lines each, sized from the length of the first
    lines, and about ``most`` bytes at most when given. Where a block's last line ends is
    found first (``readline`` from the block's end), then the block is read at once: one
    copy of its bytes, none to complete the line."""
    start = f.tell()
    size = _block_size(f.read(1 << 20), rows, most)
    while True:
        f.seek(start + size - 1)
        # The rest of the line holding the block's last byte (a line longer than a block
        # too); nothing when that byte ends a line or the file.
        rest = f.readline()[1:]
        f.seek(start)
        block = f.read(size + len(rest))
        if not block:
            return
        start += len(block)
        yield block


class RegisterEncodingError(ValueError):
    """A line of a register is not in the register's encoding (mid-file: what was read before it
    has been screened)."""

    def __init__(self, line: int, encoding: str, byte: int):
        self.line, self.encoding, self.byte = line, encoding, byte
        super().__init__(f"line {line} is not valid {encoding.upper()} (byte 0x{byte:02X})")


class CsvSource(Source):
    """A CSV register. Rows whose number of cells is not the header's (a truncated last row,
    a quote that is never closed) are skipped and listed in ``rejected``, for the errors
    file; the rest of the register is screened."""

    unit = "bytes"

    def __init__(self, path: Path, chunk_rows: int, encoding: str | None = None):
        super().__init__(path, chunk_rows)
        self.encoding = encoding or "utf-8"
        utf8 = codecs.lookup(self.encoding).name == "utf-8"
        with open_register(path) as (f, _, _):
            first = f.readline()
        self.bom = len(codecs.BOM_UTF8) if utf8 and first.startswith(codecs.BOM_UTF8) else 0
        header = first.decode("utf-8-sig" if utf8 else self.encoding).strip("\r\n")
        # A column headed by a documented name or by its fact's Chinese label (as a workbook's
        # may be, and as a Chinese spreadsheet saves it as CSV), spaces around it ignored.
        self.header = next(csv.reader([header])) if header else []  # as written
        self.names = [column_name(h) for h in self.header]
        self.utf8 = utf8
        # Read as UTF-8 once transcoded, block by block (SPLIT_LIKE_ASCII).
        self.transcoded = codecs.lookup(self.encoding).name in SPLIT_LIKE_ASCII
        self.data_start = len(first)
        check_columns(self.names)
        if "memberId" not in self.names:
            raise LayoutError("the input needs a memberId column (one row per member)")
        self.total = path.stat().st_size
        # (the record's number, the header's 1; cells expected; cells found; lines it spans)
        self.rejected: list[tuple[int | None, int, int, int]] = []
        self._lines: dict[int, int] = {}  # a skipped row's line, by its data row, if found
        # The households a skipped row names (its household id cell, when the row holds it
        # whole), by id: the data row skipped. Their other rows are not screened either.
        self._damaged: dict[str, int] = {}
        self._id_cell = self.names.index("householdId") if "householdId" in self.names else -1

    def _invalid_row(self, row: Any) -> str:
        number = row.number if row.number is not None and row.number >= 0 else None
        text = row.text or ""
        spans = 1 + text.rstrip("\r\n").count("\n")
        self.rejected.append((number, row.expected_columns, row.actual_columns, spans))
        household = _cell(text, self._id_cell)
        if household and number is not None:
            self._damaged.setdefault(household, number - 1)
        return "skip"

    def _without_damaged(self, chunks: Iterator[Chunk]) -> Iterator[Chunk]:
        """The chunks without the rows of households one of whose rows was skipped: such a
        household is not screened with the members that remain (its per-capita income and
        its members' outcomes would be wrong), but refused, ``INCOMPLETE_HOUSEHOLD``."""
        for chunk in chunks:
            damaged = self._damaged
            if chunk.frame is None or not damaged:
                yield chunk
                continue
            ids = chunk.frame["householdId"]
            hit = ids.is_in(list(damaged)).fill_null(False)
            if not hit.any():
                yield chunk
                continue
            first = chunk.frame.filter(hit).group_by("householdId", maintain_order=True).agg(
                pl.col(ROW).min())
            incomplete = pl.DataFrame(
                [(row, household, "household", "INCOMPLETE_HOUSEHOLD",
                  f"data row {damaged[household]} of this household could not be read "
                  "(MALFORMED_ROW): the household was not screened")
                 for household, row in first.iter_rows()],
                schema=ERRORS, orient="row")
            yield replace(chunk, frame=chunk.frame.filter(~hit), incomplete=incomplete)

    def rejected_frame(self) -> pl.DataFrame:
        """The skipped rows as errors-file rows (by data row, the message naming the line it
        begins on; the cells are not repeated, a misshapen row's household id cannot be
        trusted)."""
        lines = {**self._lines, **self._lines_of(
            [n - 1 for n, *_ in self.rejected if n is not None and n - 1 not in self._lines])}
        return pl.DataFrame(
            [(None if number is None else number - 1, None, "row", "MALFORMED_ROW",
              f"line {lines.get(number - 1, '?') if number is not None else '?'} has {found} "
              f"cell(s), the header {expected}: a truncated row or an unclosed quote; the row "
              "was not screened"
              + (f" (an unclosed quote ran it over {spans} lines, none of them screened)"
                 if spans > 1 else ""))
             for number, expected, found, spans in self.rejected],
            schema=ERRORS, orient="row")

    def _lines_of(self, rows: Sequence[int]) -> dict[int, int]:
        """The line of the file on which each of these data rows begins (read again, up to
        the last of them: rows and lines differ after a cell over several lines or an empty
        line), for rows skipped where the file is streamed. The file's own bytes are read: in
        the encodings a register is read in (the header is read up to a byte 0x0A), a line
        break, a comma and a quote are those ASCII bytes."""
        if not rows:
            return {}
        with open_register(self.path) as (f, _, _):
            f.read(self.data_start)
            return record_lines(line_pieces(f.read), 2, rows)

    def _frames(self) -> Iterator[tuple[pl.DataFrame, int]]:
        if (self.utf8 or self.transcoded) and len(self.names) > 1:
            return self._plain_frames()
        return self._arrow_frames()

    def _plain_frames(self) -> Iterator[tuple[pl.DataFrame, int]]:
        """Blocks of whole lines: a block of plain lines (no quote, every line the header's
        number of cells) is read by polars' CSV reader (native, on every core); any other
        block by Arrow's, one thread, which numbers and skips the misshapen rows. Both read
        every cell as text, an empty cell as null. A register in one of SPLIT_LIKE_ASCII's
        encodings is read the same way, each block transcoded to UTF-8 first."""
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="screen-csv") as pool:
            blocks = ((bytes(b), n, d) for b, n, d in self._blocks())  # (bytes: not copied)
            yield from self._block_frames(blocks, pool, 0, self.data_start)

    def _blocks(self, mapped: list[MappedLines] | None = None
                ) -> Iterator[tuple[bytes | memoryview, int, int]]:
        """The register's blocks of whole lines in UTF-8, each with the number of its first
        line and the progress once it is read (the file's bytes). Given a list (for the
        strict reader, which copies what it reads), a file as it is on disk is mapped into
        memory (``MappedLines``, put in the list) and its blocks are views of it (of a
        register in another encoding, the blocks that are all ASCII: the others are
        transcoded)."""
        with open_register(self.path) as (f, position, compressed):
            f.read(self.data_start)  # the header
            line = 2
            done = self.data_start
            lines = None if mapped is None or compressed else \
                MappedLines.of(f, max(1, self.chunk_rows), CSV_BLOCK, self.path)
            blocks: Iterable[bytes | memoryview]
            if lines is not None:
                assert mapped is not None
                mapped.append(lines)
                blocks = lines
            else:
                blocks = (streamed_line_blocks if compressed else line_blocks)(
                    f, max(1, self.chunk_rows), CSV_BLOCK)
            for block in blocks:
                size = len(block)  # in the file (progress counts the file's bytes)
                if self.transcoded:
                    block = self._as_utf8(block, line)
                done = position() if compressed else done + size
                yield block, line, done
                line += count_byte(block, 10) + (bytes(block[-1:]) != b"\n")

    def _block_frames(self, blocks: Iterable[tuple[bytes, int, int]], pool: ThreadPoolExecutor,
                      row: int, done: int) -> Iterator[tuple[pl.DataFrame, int]]:
        """``_plain_frames``' frames of these blocks, the rows numbered on from ``row``
        (``done``: the progress before the first block)."""
        for block, line, block_done in blocks:
            lines = count_byte(block, 10) + (not block.endswith(b"\n"))
            frames = self._strict_frames(block, pool)
            skipped: list[int] = []
            if frames is None:
                frame = self._plain_block(block, lines)
                if frame is None:
                    frame, skipped = self._arrow_block(block, row, line)
                frames = [frame]
            before, done = done, block_done
            for i, frame in enumerate(frames):
                frame, row = _numbered(frame, row, skipped)
                yield frame, done if i == len(frames) - 1 else before

    def _row_chunks(self) -> Iterator[Chunk]:
        """Blocks of whole households' rows read as households and members
        (``engine.batch.rows``): the rows of a block's last household wait for the next block.
        From a block the reader cannot read on, the register is read as ``_plain_frames``
        reads it."""
        names = tuple(self.names)
        carry: bytes | memoryview = b""
        row = 0
        done = self.data_start
        mapped: list[MappedLines] = []  # the file, where ``_blocks`` maps it
        blocks = with_last(self._blocks(mapped))
        held: deque[memoryview] = deque()  # the last blocks read, mapped
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="screen-csv") as pool:
            for block, line, block_done, last in blocks:
                if isinstance(block, memoryview):
                    held.append(block)
                    if len(held) > MAPPED_BLOCKS_HELD:
                        mapped[0].give(held.popleft())
                data: bytes | memoryview
                if isinstance(block, memoryview) and (isinstance(carry, memoryview)
                                                      or _ascii(carry)):
                    # The carried rows are the file's bytes just before the block (a view of
                    # them, or rows transcoded that were ASCII): one view of both.
                    data = mapped[0].extended(block, len(carry))
                else:
                    data = bytes(carry) + bytes(block) if carry else block
                in_file = isinstance(data, memoryview)
                got = self._read_rows(data, names, row, last, pool)
                if got is not None and got[1] == 0 and not last:
                    # One household so far: it waits for the next block, unless it is longer
                    # than any valid household.
                    if count_byte(data, 10) <= HOLD_LIMIT:
                        carry = data
                        continue
                    got = self._read_rows(data, names, row, True, pool)
                if got is None:
                    rest = ((bytes(b), n, d) for b, n, d, _ in blocks)
                    first_line = line - count_byte(carry, 10)  # the carried rows' first
                    frames = self._block_frames(
                        itertools.chain([(bytes(data), first_line, block_done)], rest), pool,
                        row, done)
                    yield from complete_households(with_last(frames), text=True)
                    return
                parts, cut = got
                done = block_done
                read = tuple(part for part in parts if part.rows)
                if read:  # the parts checked together (a check's cost is mostly fixed)
                    yield Chunk(None, None, True, done, rows=read)
                row += sum(part.rows for part in parts)
                carry = memoryview(data)[cut:] if in_file else bytes(memoryview(data)[cut:])

    def _read_rows(self, data: bytes | memoryview, names: tuple[str, ...], row: int, last: bool,
                   pool: ThreadPoolExecutor) -> tuple[list[Rows], int] | None:
        """``read_rows`` of a block (its parts and where the rows it leaves begin); a block
        longer than ``STRICT_HALVES`` read in two parts side by side (the reader runs without
        the GIL), cut where a household begins near its middle."""
        half = _find(data, b"\n", len(data) // 2) + 1 if len(data) > STRICT_HALVES else 0
        cut = _household_start(data, half, names.index("householdId")) \
            if 0 < half < len(data) else 0
        if cut == 0:
            got = read_rows(data, names, row, last)
            return None if got is None else ([got[0]], got[1])
        view = memoryview(data)
        first, second = pool.map(lambda args: read_rows(*args), [
            (view[:cut], names, row, True),
            (view[cut:], names, row + count_byte(view[:cut], 10), last)])
        if first is None or second is None:
            return None
        return [first[0], second[0]], cut + second[1]

    def _as_utf8(self, block: bytes | memoryview, first_line: int) -> bytes | memoryview:
        """A block of the register's lines (in its encoding, one of SPLIT_LIKE_ASCII) in UTF-8:
        the block itself when it is all ASCII (a view of a mapped file stays one);
        ``RegisterEncodingError`` names the first line that is not in the encoding."""
        if _ascii(block):
            return block
        text = bytes(block)
        try:
            return text.decode(self.encoding).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise RegisterEncodingError(first_line + text.count(b"\n", 0, exc.start),
                                        self.encoding, text[exc.start]) from None

    def _strict_frames(self, block: bytes, pool: ThreadPoolExecutor
                       ) -> list[pl.DataFrame] | None:
        """The strict reader's reading of a block, its two halves side by side (the reader
        runs without the GIL, in this reading thread, ahead of the screening's workers);
        None when the reader is not compiled or leaves the block to polars' reader."""
        if native.reader is None:
            return None
        half = block.find(b"\n", len(block) // 2) + 1 if len(block) > STRICT_HALVES else 0
        if 0 < half < len(block):
            view = memoryview(block)
            frames = list(pool.map(self._strict_block, [view[:half], view[half:]]))
        else:
            frames = [self._strict_block(block)]
        if any(frame is None for frame in frames):
            return None
        return [frame for frame in frames if frame is not None]

    def _strict_block(self, block: bytes | memoryview) -> pl.DataFrame | None:
        """The strict reader's reading of a block of plain lines: each cell's text as
        ``_plain_block`` gives it, and the exact values of the booleans, money and integers
        beside them (``layout.TYPED``, ``layout.EXACT``); None when it leaves the block to
        polars' reader."""
        assert native.reader is not None
        kinds = [BY_NAME[n].kind for n in self.names]
        got = native.reader.parse_csv(block, tuple(native.KINDS[k] for k in kinds))
        if got is None:
            return None
        rows, flags, text_columns, typed_columns = got
        typed = [(n, k) for n, k in zip(self.names, kinds, strict=True)
                 if native.KINDS[k] != native.KINDS["text"]]
        exact = np.logical_not(np.frombuffer(flags, dtype=np.bool_)[:rows])
        frame = pl.from_arrow(pa.table({
            **{n: native.arrow_column("text", rows, *data)
               for n, data in zip(self.names, text_columns, strict=True)},
            **{TYPED + n: native.arrow_column(k, rows, *data)
               for (n, k), data in zip(typed, typed_columns, strict=True)},
        }))
        assert isinstance(frame, pl.DataFrame)
        return frame.with_columns(pl.Series(EXACT, exact))

    def _plain_block(self, block: bytes, lines: int) -> pl.DataFrame | None:
        """polars' reading of a block of plain lines, or None when the block is not plain."""
        # A row with more cells than the header makes polars' reader fail; then a row with
        # fewer (or an empty line) shows in the number of commas.
        if b'"' in block or (b"\r" in block and block.count(b"\r") != block.count(b"\r\n")) \
                or count_byte(block, ord(",")) != lines * (len(self.names) - 1):
            return None
        try:
            frame = pl.read_csv(block, has_header=False, new_columns=self.names,
                                schema={n: pl.String for n in self.names}, quote_char=None)
        except (pl.exceptions.PolarsError, UnicodeError):
            return None  # e.g. not UTF-8: Arrow's reader gives the error
        return frame if frame.height == lines else None

    def _arrow_block(self, block: bytes, row: int, line: int
                     ) -> tuple[pl.DataFrame, list[int]]:
        """Arrow's reading of a block that follows ``row`` data rows and begins on line
        ``line``, and the numbers of the rows it skipped among the block's (from 1; empty if
        one's is not known). The lines the skipped rows begin on are found in the block."""
        before = len(self.rejected)

        def invalid(found: Any) -> str:
            if found.number is not None and found.number >= 0:
                found = _Numbered(found, row + 1 + found.number)  # as the whole file's
            return self._invalid_row(found)

        table = pa_csv.read_csv(
            io.BytesIO(block),
            read_options=pa_csv.ReadOptions(column_names=self.names, use_threads=False,
                                            block_size=len(block) + 1),
            parse_options=pa_csv.ParseOptions(invalid_row_handler=invalid),
            convert_options=self._convert(self.names))
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        skipped = _among([number for number, *_ in self.rejected[before:]], row + 2)
        found = record_lines(line_pieces(io.BytesIO(block).read), line, skipped)
        self._lines.update((row + k, at) for k, at in found.items())
        return frame, skipped

    def _convert(self, names: list[str]) -> Any:
        return pa_csv.ConvertOptions(column_types={n: pa.string() for n in names},
                                     strings_can_be_null=True, quoted_strings_can_be_null=True)

    def _arrow_frames(self) -> Iterator[tuple[pl.DataFrame, int]]:
        row = 0
        seen = 0  # the rejected rows of the batches before
        with open_register(self.path) as (raw, position, compressed):
            raw.read(self.bom)
            counting = _Counting(raw)
            reader = pa_csv.open_csv(
                io.BufferedReader(counting, buffer_size=1 << 20),
                read_options=pa_csv.ReadOptions(
                    block_size=min(1 << 26, max(1 << 16, self.chunk_rows * 120)),
                    # one thread: the parser then knows every row's line number (for the
                    # errors file), and on this kind of machine it was no slower
                    encoding=self.encoding, use_threads=False),
                parse_options=pa_csv.ParseOptions(invalid_row_handler=self._invalid_row),
                # the header read from the file, as written; its columns renamed after
                convert_options=self._convert(self.header),
            )
            for batch in reader:
                frame = pl.from_arrow(pa.Table.from_batches([batch]))
                assert isinstance(frame, pl.DataFrame)
                frame.columns = list(self.names)
                # The rows skipped while this batch was read, among the batch's (the file's
                # rows are numbered from 1 with the header's).
                skipped = _among([n for n, *_ in self.rejected[seen:]], row + 2)
                seen = len(self.rejected)
                frame, row = _numbered(frame, row, skipped)
                yield frame, position() if compressed else counting.count

    def chunks(self) -> Iterator[Chunk]:
        if (self.utf8 or self.transcoded) and len(self.names) > 1 and rows_available():
            return self._without_damaged(self._row_chunks())
        return self._without_damaged(complete_households(with_last(self._frames()), text=True))


class XlsxSource(Source):
    """An Excel register (.xlsx): the first sheet, the CSV layout (one row per member, a
    header row of column names or their Chinese aliases). Cells are read as the text a CSV
    export of the sheet would hold, so a register screens the same either way.

    The sheet is read by calamine (``python-calamine``, native: about 100,000 rows a second,
    ten times openpyxl's pace), or by openpyxl when the workbook holds a cell with an error
    value (``#N/A``, ``#DIV/0!``), which calamine gives as an empty cell: such a cell is read
    as its text, as a CSV export holds it, and refused where a value is expected rather than
    taken for a fact left out."""

    def __init__(self, path: Path, chunk_rows: int):
        super().__init__(path, chunk_rows)
        try:
            self._open(path)
        except OSError:
            raise
        except Exception as exc:  # zip or XML errors: not a workbook
            raise OSError(f"{path} is not a readable .xlsx workbook "
                          f"({type(exc).__name__})") from None
        try:
            header = next(self._rows, ())
            self.names = [column_name(_header_text(h)) if h is not None else ""
                          for h in header]
            while self.names and not self.names[-1]:
                self.names.pop()
            check_columns(self.names)
            if "memberId" not in self.names:
                raise LayoutError("the input needs a memberId column (one row per member)")
        except BaseException:
            self._close()  # the workbook's file, left open otherwise
            raise

    def _open(self, path: Path) -> None:
        """The sheet's rows (each as its cells from column A on, the header first), its number
        of rows after the header, and what to close once they are read."""
        self._close: Callable[[], None] = lambda: None
        if not _has_error_cells(path):
            try:
                from python_calamine import CalamineWorkbook
            except ImportError:  # pragma: no cover - a dependency; openpyxl reads as well
                pass
            else:
                book = CalamineWorkbook.from_path(str(path))
                self._close = book.close
                sheet = book.get_sheet_by_index(0)
                top, left = sheet.start or (0, 0)  # None: an empty sheet
                self.total = max(0, sheet.height + top - 1)
                self._rows = _from_a1(sheet.iter_rows(), top, left)
                return
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        self.total = max(0, (sheet.max_row or 1) - 1)
        rows = sheet.iter_rows(values_only=True)
        self._rows = rows

        def close() -> None:  # the rows' reader holds the file open, and then the workbook
            rows.close()
            book.close()

        self._close = close

    def _frames(self) -> Iterator[tuple[pl.DataFrame, int]]:
        width = len(self.names)
        rows: list[list[str | None]] = []
        number = 0
        for values in self._rows:
            cells = [_cell_text(v) for v in values[:width]]
            if not any(c is not None for c in cells):
                continue  # an empty row (spreadsheets keep formatted ones)
            cells += [None] * (width - len(cells))
            number += 1
            rows.append(cells)
            if len(rows) >= self.chunk_rows:
                yield self._frame(rows, number), number
                rows = []
        if rows or number == 0:
            yield self._frame(rows, number), number
        self._close()

    def _frame(self, rows: list[list[str | None]], last: int) -> pl.DataFrame:
        frame = pl.DataFrame(rows, schema={n: pl.String for n in self.names}, orient="row")
        first = last - frame.height + 1
        return frame.with_columns(pl.int_range(first, last + 1, dtype=pl.Int64).alias(ROW))

    def chunks(self) -> Iterator[Chunk]:
        return complete_households(with_last(self._frames()), text=True)


class JsonlSource(Source):
    unit = "bytes"

    def __init__(self, path: Path, chunk_rows: int):
        super().__init__(path, chunk_rows)
        self.total = path.stat().st_size
        with path.open("rb"):
            pass

    def chunks(self) -> Iterator[Chunk]:
        """About ``chunk_rows / 4`` households a chunk (a household is about four member
        rows), in blocks of whole lines of ``JSONL_BLOCK`` bytes at most, sized from the
        length of the file's first lines (``line_blocks``). Where a block holds fewer
        households, a chunk is that many blocks as the first block's lines fit in, at most
        ``JSONL_CHUNK_BLOCKS`` (blocks are checked one by one, and their households evaluated
        together: an evaluation has a fixed cost, about 20 ms, a block's check little). The
        first chunk is a block (the first worker starts once it is read), and so are the last
        chunks of a file read as it is (the bytes not yet read fewer than two chunks'): they
        are done while the other core may have nothing left to do."""
        line = 1
        done = 0
        group: list[tuple[bytes | memoryview, int]] = []
        per_chunk = 0  # blocks a chunk, from the first block's lines
        with open_register(self.path) as (f, position, compressed):
            wanted = max(1, self.chunk_rows // 4)
            mapped = None if compressed else MappedLines.of(f, wanted, JSONL_BLOCK, self.path)
            blocks: Iterable[bytes | memoryview] = \
                streamed_line_blocks(f, wanted, JSONL_BLOCK) if compressed else \
                mapped if mapped is not None else line_blocks(f, wanted, JSONL_BLOCK)
            given = mapped.give if mapped is not None else None
            for block in blocks:
                done = position() if compressed else done + len(block)
                lines = count_byte(block, 10)
                group.append((block, line))
                line += lines
                first = not per_chunk  # a chunk of its own: the first worker starts sooner
                if first:
                    per_chunk = min(JSONL_CHUNK_BLOCKS, max(1, round(wanted / max(1, lines))))
                near_end = (not compressed and self.total is not None
                            and self.total - done < 2 * per_chunk * len(block))
                if first or len(group) >= per_chunk or near_end:
                    yield Chunk(None, None, False, done, group, given)
                    group = []
            if group:
                yield Chunk(None, None, False, done, group, given)
