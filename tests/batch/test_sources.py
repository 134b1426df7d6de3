"""Reading a flat register in chunks: whole households, every record once, in order, and
chunks of even size (no small chunk of the last household at the end)."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from engine.batch.layout import ROW, LayoutError, flat_frame
from screening.runner import screen_file
from screening.sources import (
    Chunk,
    complete_households,
    open_source,
    streamed_line_blocks,
    with_last,
)
from services.rulesets import load_catalog
from testing.households import random_household

ROOT = Path(__file__).resolve().parents[2]

AS_OF = date(2024, 6, 1)


def _register(tmp_path: Path, n: int, fmt: str) -> tuple[Path, pl.DataFrame]:
    rng = random.Random(7)
    frame = flat_frame(random_household(rng, AS_OF, hid=f"hh-{i:04d}") for i in range(n))
    path = tmp_path / f"register.{fmt}"
    if fmt == "parquet":
        frame.write_parquet(path, row_group_size=37)
    else:
        frame.write_csv(path)
    return path, frame


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("chunk_rows", [1, 10, 64, 100, 10_000])
def test_chunks_hold_whole_households_and_every_record_once(tmp_path: Path, fmt: str,
                                                           chunk_rows: int) -> None:
    path, frame = _register(tmp_path, 120, fmt)
    chunks = [_records(c) for c in open_source(path, chunk_rows=chunk_rows).chunks()]
    assert all(c is not None and c.height for c in chunks)
    rows = pl.concat([c[ROW] for c in chunks if c is not None])
    assert rows.to_list() == list(range(1, frame.height + 1))
    seen: set[str] = set()
    for c in chunks:
        assert c is not None
        ids = set(c["householdId"].unique().to_list())
        assert not ids & seen, "a household split between chunks"
        seen |= ids
    assert len(seen) == 120


def _records(chunk: Chunk) -> pl.DataFrame | None:
    """A chunk's records: its frame, or the household ids and numbers of the CSV rows it
    holds (``Chunk.rows``, in parts)."""
    if chunk.rows is None:
        return chunk.frame
    ids: list[str] = []
    numbers: list[int] = []
    for rows in chunk.rows:
        column = rows.names.index("householdId")
        lines = bytes(rows.data).decode().splitlines()
        assert len(lines) == rows.rows
        ids += [x.split(",")[column] for x in lines]
        numbers += range(rows.first_row + 1, rows.first_row + rows.rows + 1)
    return pl.DataFrame({"householdId": ids, ROW: numbers})


def test_parquet_chunks_are_even_and_the_last_household_is_not_alone(tmp_path: Path) -> None:
    path, frame = _register(tmp_path, 300, "parquet")
    chunk_rows = frame.height // 3 + 5   # three pieces would leave a small fourth one
    chunks = [c.frame for c in open_source(path, chunk_rows=chunk_rows).chunks()]
    sizes = [c.height for c in chunks if c is not None]
    assert len(sizes) == 3
    # Pieces of equal size, moved by at most one household's rows at each cut.
    assert max(sizes) - min(sizes) <= 2 * 20
    last = chunks[-1]
    assert last is not None and last["householdId"].n_unique() > 1


def test_a_household_longer_than_a_frame_is_carried_whole() -> None:
    ids = ["a"] * 5 + ["b"] * 7 + ["c"]
    frame = pl.DataFrame({"householdId": ids, ROW: list(range(1, len(ids) + 1))})
    pieces = [(frame[i:i + 3], min(i + 3, len(ids))) for i in range(0, len(ids), 3)]
    chunks = [c.frame for c in complete_households(with_last(iter(pieces)), text=False)]
    got = [c["householdId"].to_list() for c in chunks if c is not None]
    assert [x for chunk in got for x in chunk] == ids
    for chunk in got:
        for hid in set(chunk):
            assert chunk.count(hid) == ids.count(hid)


@pytest.mark.parametrize("damage", ["none", "crlf", "quoted", "short row", "long row",
                                    "empty line", "no newline at the end"])
@pytest.mark.parametrize("chunk_rows", [7, 10_000])
def test_csv_blocks_read_by_polars_equal_arrows_reading(tmp_path: Path, damage: str,
                                                        chunk_rows: int) -> None:
    """Blocks of plain lines are read by polars' reader, the others by Arrow's: the rows
    (cells, nulls, record numbers) and the misshapen rows reported (by line) are those of
    Arrow's reader over the whole file."""
    path, _ = _register(tmp_path, 40, "csv")
    lines = path.read_bytes().decode("utf-8").split("\n")
    if damage == "crlf":
        lines = [x + "\r" if x else x for x in lines]
    elif damage == "quoted":
        lines[12] = lines[12].replace("hh-", '"hh-', 1).replace(",", '",', 1)
    elif damage == "short row":
        lines[30] = lines[30][: len(lines[30]) // 2]
    elif damage == "long row":
        lines[20] = lines[20] + ",extra"
    elif damage == "empty line":
        lines.insert(25, "")
    text = "\n".join(lines)
    if damage == "no newline at the end":
        text = text.rstrip("\n")
    path.write_bytes(text.encode("utf-8"))
    fast = open_source(path, chunk_rows=chunk_rows)
    arrow = open_source(path, chunk_rows=chunk_rows)
    assert fast.utf8 and arrow.utf8  # type: ignore[attr-defined]
    read = pl.concat([f for f, _ in fast._frames()],  # type: ignore[attr-defined]
                     how="diagonal_relaxed")
    expected = pl.concat([f for f, _ in arrow._arrow_frames()])  # type: ignore[attr-defined]
    # The strict reader's exact values beside the text are tests/batch/test_csv_reader.py's.
    assert read.select(expected.columns).equals(expected, null_equal=True)
    assert fast.rejected == arrow.rejected  # type: ignore[attr-defined]
    if damage in ("short row", "long row"):
        assert len(fast.rejected) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("end", [b"\n", b""])
@pytest.mark.parametrize("how", ["rows", "bytes"])
def test_line_blocks_are_whole_lines_and_every_byte_once(tmp_path: Path, end: bytes,
                                                         how: str) -> None:
    from screening.sources import line_blocks

    rng = random.Random(3)
    lines = [b"x" * rng.randrange(0, 300) for _ in range(2000)]
    lines[700] = b"y" * 50_000  # longer than a block
    data = b"\n".join(lines) + end
    path = tmp_path / "lines.txt"
    path.write_bytes(b"header\n" + data)
    args = (50,) if how == "rows" else (10**6, 8192)
    with path.open("rb") as f:
        f.readline()
        blocks = list(line_blocks(f, *args))
        if how == "bytes":  # at most about 8 KiB (one line more), however many rows asked
            assert all(len(b) < 8192 + 300 for b in blocks if b"y" not in b)
    assert b"".join(blocks) == data
    assert len(blocks) > 10
    assert all(b.endswith(b"\n") for b in blocks[:-1])
    # Read once without seeking (a compressed register), the same blocks.
    with gzip.open(_gzip(path), "rb") as f:
        f.readline()
        assert list(streamed_line_blocks(f, *args)) == blocks  # type: ignore[arg-type]


def _gzip(path: Path) -> Path:
    out = path.with_name(path.name + ".gz")
    out.write_bytes(gzip.compress(path.read_bytes()))
    return out


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_gzip_compressed_register_reads_as_the_plain_one(tmp_path: Path, fmt: str) -> None:
    rng = random.Random(8)
    households = [random_household(rng, AS_OF, hid=f"hh-{i:04d}") for i in range(300)]
    households[5]["annualNetIncome"] = -1  # an error, on the same row either way
    path = tmp_path / f"register.{fmt}"
    if fmt == "csv":
        flat_frame(households).write_csv(path)
    else:
        path.write_text("".join(json.dumps(h) + "\n" for h in households), encoding="utf-8")
    compressed = _gzip(path)  # register.csv.gz, register.jsonl.gz
    # Named by its format alone, a compressed file is read as well.
    renamed = tmp_path / f"renamed.{fmt}"
    renamed.write_bytes(compressed.read_bytes())
    plain = list(open_source(path, chunk_rows=100).chunks())
    for name in (compressed, renamed):
        source = open_source(name, chunk_rows=100)
        chunks = list(source.chunks())
        assert source.total == name.stat().st_size < path.stat().st_size
        assert chunks[-1].done == name.stat().st_size  # the progress counts the file
        assert len(chunks) == len(plain) > 1
        for got, want in zip(chunks, plain, strict=True):
            if fmt == "csv":
                got_records, want_records = _records(got), _records(want)
                assert got_records is not None and want_records is not None
                assert got_records.equals(want_records)
            else:
                assert got.lines == want.lines
    out, out_plain = tmp_path / "gz.csv", tmp_path / "plain.csv"
    versions = load_catalog().in_force(AS_OF)
    summary = screen_file(compressed, out, AS_OF, versions)
    screen_file(path, out_plain, AS_OF, versions)
    assert out.read_bytes() == out_plain.read_bytes()
    assert (tmp_path / "gz.errors.csv").read_bytes() == \
        (tmp_path / "plain.errors.csv").read_bytes()
    assert summary["households"]["invalid"] == 1


def test_a_damaged_compressed_register_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "register.jsonl"
    rng = random.Random(9)
    path.write_text("".join(json.dumps(random_household(rng, AS_OF, hid=f"h{i}")) + "\n"
                            for i in range(200)), encoding="utf-8")
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(_gzip(path).read_bytes()[:2000])
    with pytest.raises(OSError, match="damaged or truncated gzip") as raised:
        list(open_source(cut).chunks())
    assert raised.value.filename == str(cut)
    # Parquet and workbooks compress themselves: a gzip-compressed one is refused at once.
    parquet = tmp_path / "register.parquet"
    flat_frame(json.loads(line) for line in path.read_text().splitlines()).write_parquet(parquet)
    with pytest.raises(LayoutError, match="decompress it first"):
        open_source(_gzip(parquet))


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_register_cut_short_while_it_is_read_stops_the_process_saying_so(
        tmp_path: Path, fmt: str) -> None:
    # The blocks are views of the file mapped into memory: a register truncated while it is
    # screened (a copy being written over it) would stop the process at a page that is gone
    # ("Bus error"); the process says what happened instead, in Chinese and English, and
    # exits 2 as for a register that cannot be read past a point. In a child process: the
    # first chunk read, the file cut short, the next block's bytes read. (The process had
    # read the register once before with faulthandler on, which on leaving put back the
    # handler it found: each mapping installs the message again.)
    from screening.sources import cut_short_message

    path = tmp_path / f"register.{fmt}"
    if fmt == "jsonl":
        path.write_bytes(b'{"id": "h", "members": []}\n' * 400_000)
    else:
        rng = random.Random(4)
        flat_frame(random_household(rng, AS_OF, hid=f"hh-{i:05d}")
                   for i in range(20_000)).write_csv(path)
    script = (
        "import faulthandler, sys\n"
        "from pathlib import Path\n"
        "from screening.sources import open_source\n"
        "path = Path(sys.argv[1])\n"
        "faulthandler.enable()\n"
        "next(open_source(path, None, 4_000).chunks())\n"
        "faulthandler.disable()\n"
        "chunks = open_source(path, None, 4_000).chunks()\n"
        "first = next(chunks)\n"
        "with path.open('r+b') as f:\n"
        "    f.truncate(0)\n"
        "print('cut', flush=True)\n"
        "next(chunks)\n"
        "print('read on')\n")
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                          cwd=ROOT, timeout=60)
    assert done.stdout == b"cut\n"
    assert done.returncode == 2
    assert done.stderr == cut_short_message(path)
    assert "登记表" in done.stderr.decode() and "Traceback" not in done.stderr.decode()


@pytest.mark.parametrize("seed", range(5))
def test_find_and_rfind_read_a_view_as_bytes_are_read(seed: int) -> None:
    from screening.sources import _find, _rfind

    rng = random.Random(seed)
    data = bytes(rng.choice(b"ab\n" if seed % 2 else b"abcdefgh") for _ in range(200_000))
    data = data[:150_000] + b"\n" + data[150_001:]
    view = memoryview(data)[7:]
    raw = data[7:]
    for at in [0, 1, 65_535, 65_536, 100_000, len(raw) - 1, len(raw), *rng.sample(
            range(len(raw)), 20)]:
        assert _find(view, b"\n", at) == raw.find(b"\n", at) == _find(raw, b"\n", at)
        assert _rfind(view, b"\n", at) == raw.rfind(b"\n", 0, at) == _rfind(raw, b"\n", at)


def test_a_json_lines_register_is_read_from_its_mapped_pages(tmp_path: Path) -> None:
    # Each block a view of the file's pages, whole lines, every byte once; a block given
    # back is released and its pages are no longer the process's.
    from screening.sources import MappedLines, line_blocks

    rng = random.Random(5)
    data = b"".join(b"x" * rng.randrange(0, 3000) + b"\n" for _ in range(3000)) + b"tail"
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"head\n" + data)
    with path.open("rb") as f:
        f.readline()
        mapped = MappedLines.of(f, 40, 1 << 16, path)
        assert mapped is not None
        blocks = list(mapped)
        f.seek(5)
        assert [bytes(b) for b in blocks] == list(line_blocks(f, 40, 1 << 16))
    assert b"".join(bytes(b) for b in blocks) == data and len(blocks) > 10
    for block in blocks:
        mapped.give(block)
        with pytest.raises(ValueError, match="released"):
            bytes(block)
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with empty.open("rb") as f:
        assert MappedLines.of(f, 40, None, empty) is None and f.tell() == 0


@pytest.mark.parametrize("data", [b"", b"\n", b"a,b\nc,d", b"\n" * 70_001, bytes(range(256)) * 300,
                                  b",,\r\n,\n"])
def test_count_byte_is_bytes_count(data: bytes) -> None:
    from screening.sources import count_byte

    for byte in (10, 13, ord(","), 0, 255):
        assert count_byte(data, byte) == data.count(bytes([byte]))


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
@pytest.mark.parametrize(("before", "line"), [("", 3), ('"h0",m1,1980-01-01,HEAD,"10\n00"\n', 5),
                                              ("\n", 4),
                                              ('\n"h0",m1,1980-01-01,HEAD,"1""0\n\n0"\n\r\n', 8)])
def test_rows_after_a_skipped_row_keep_their_numbers(tmp_path: Path, encoding: str,
                                                     before: str, line: int) -> None:
    """A row the reader skips (cut short) is still a data row: the rows after it keep their
    numbers in the errors file (a record over several lines one row, an empty line none); the
    skipped row's message names the line of the file it is on."""
    path = tmp_path / "register.csv"
    rows = ["h1,m1,1980-01-01,HEAD,1000", "h2,m1,1980-01-01", "h3,m1,1980-01-01,HEAD,1000",
            "h4,m1,1980-01-01,HEAD,-5"]
    path.write_text("householdId,memberId,birthDate,relation,annualNetIncome\n" + before
                    + "\n".join(rows) + "\n", encoding=encoding)
    source = open_source(path, chunk_rows=100, encoding=encoding)
    out = tmp_path / "out.csv"
    screen_file(path, out, AS_OF, load_catalog().in_force(AS_OF), source=source)
    errors = pl.read_csv(tmp_path / "out.errors.csv")
    first = 2 if '"' in before else 1  # the data row of h1
    got = {code: row for code, row in zip(errors["code"], errors["row"], strict=True)}
    assert got["MALFORMED_ROW"] == first + 1
    assert got["NEGATIVE_AMOUNT"] == first + 3
    (message,) = errors.filter(pl.col("code") == "MALFORMED_ROW")["message_en"]
    assert message.startswith(f"line {line} has 3 cell(s)")


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_a_skipped_row_after_a_record_over_lines_in_an_earlier_block(tmp_path: Path,
                                                                     encoding: str) -> None:
    """Rows and lines part where a cell holds a line break or a line is empty: a row skipped
    blocks later is numbered by rows counted, and named by the line it is on."""
    path = tmp_path / "register.csv"
    quoted = '"h0",m1,1980-01-01,HEAD,"10\n00"\n\n'  # row 1 on lines 2-3, line 4 empty
    fill = [f"f{i},m1,1980-01-01,HEAD,1000" for i in range(400)]  # rows 2-401, lines 5-404
    path.write_text("householdId,memberId,birthDate,relation,annualNetIncome\n" + quoted
                    + "\n".join([*fill, "h2,m1,1980-01-01", "h4,m1,1980-01-01,HEAD,-5"])
                    + "\n", encoding=encoding)
    assert path.stat().st_size > 2 * 4096  # blocks of 4 KiB at least: the rows are blocks on
    source = open_source(path, chunk_rows=20, encoding=encoding)
    screen_file(path, tmp_path / "out.csv", AS_OF, load_catalog().in_force(AS_OF),
                source=source)
    errors = pl.read_csv(tmp_path / "out.errors.csv")
    got = {code: (row, message) for code, row, message
           in zip(errors["code"], errors["row"], errors["message_en"], strict=True)}
    assert got["MALFORMED_ROW"][0] == 402 and got["MALFORMED_ROW"][1].startswith("line 405 ")
    assert got["NEGATIVE_AMOUNT"][0] == 403


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
@pytest.mark.parametrize("across", [False, True])
def test_a_household_with_a_skipped_row_is_refused_whole(tmp_path: Path, encoding: str,
                                                         across: bool) -> None:
    """A household one of whose rows cannot be read is not screened with the members that
    remain: it is refused (``INCOMPLETE_HOUSEHOLD`` on its first row) and counted as invalid,
    in whichever block its other rows are (``across``: its first row in the block before the
    one holding the skipped row); the households around it are screened."""
    head = "householdId,memberId,birthDate,relation,annualNetIncome\n"
    fill: list[str] = []
    if across:  # the damaged household's first row ends past the first 4 KiB block's end
        while len(head) + sum(len(r) + 1 for r in fill) < 4096 - 20:
            fill.append(f"f{len(fill)},m1,1980-01-01,HEAD,1000")
    damaged = ["h2,m1,1980-01-01,HEAD,1000", "h2,m2,1982", "h2,m3,2010-01-01,CHILD,1000"]
    rows = [*fill, "h1,m1,1980-01-01,HEAD,1000", *damaged, "h3,m1,1980-01-01,HEAD,1000"]
    if across:
        rows = [*fill, *damaged, "h3,m1,1980-01-01,HEAD,1000"]
        first = head + "\n".join(rows[:len(fill) + 1])
        assert len(first) > 4096 > len(first) - len(damaged[0])
    path = tmp_path / "register.csv"
    path.write_text(head + "\n".join(rows) + "\n", encoding=encoding)
    source = open_source(path, chunk_rows=20, encoding=encoding)
    summary = screen_file(path, tmp_path / "out.parquet", AS_OF,
                          load_catalog().in_force(AS_OF), source=source,
                          statuses=frozenset({"GRANTED", "NOT_GRANTED", "UNDETERMINED"}))
    errors = pl.read_csv(tmp_path / "out.errors.csv")
    at = rows.index(damaged[0]) + 1  # the household's first data row
    assert errors.select("row", "household_id", "code").rows() == [
        (at, "h2", "INCOMPLETE_HOUSEHOLD"), (at + 1, None, "MALFORMED_ROW")]
    screened = set(pl.read_parquet(tmp_path / "out.parquet")["household_id"].unique())
    assert "h2" not in screened and "h3" in screened and ("h1" in screened or across)
    assert summary["households"]["invalid"] == 1
    assert summary["households"]["screened"] == len(screened) == len(rows) - 3


def test_a_row_cut_inside_its_household_id_names_no_household(tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_text("householdId,memberId,birthDate,relation,annualNetIncome\n"
                    "h1,m1,1980-01-01,HEAD,1000\nh2,m1,1980-01-01,HEAD,1000\nh2\n"
                    "h3,m1,1980-01-01,HEAD,1000\n", encoding="utf-8")
    screen_file(path, tmp_path / "out.parquet", AS_OF, load_catalog().in_force(AS_OF),
                source=open_source(path, chunk_rows=100),
                statuses=frozenset({"GRANTED", "NOT_GRANTED", "UNDETERMINED"}))
    errors = pl.read_csv(tmp_path / "out.errors.csv")
    assert errors["code"].to_list() == ["MALFORMED_ROW"]
    screened = set(pl.read_parquet(tmp_path / "out.parquet")["household_id"].unique())
    assert screened == {"h1", "h2", "h3"}


@pytest.mark.parametrize("chunk", [40, 47])
def test_a_gb18030_register_of_ascii_and_chinese_blocks_reads_as_its_utf8_twin(
        tmp_path: Path, chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # A register saved as GB18030 whose blocks are all ASCII but some: the ASCII blocks are
    # views of the mapped file, the others transcoded, and a household's rows carried from
    # one kind of block into the other (a household of one member, its id in Chinese, is
    # often a block's last: its row, transcoded, is carried into an ASCII block). The same
    # outcomes and errors as the UTF-8 twin.
    from screening import sources

    rng = random.Random(12)
    households = [random_household(rng, AS_OF, hid=f"hh-{i:05d}") for i in range(1_500)]
    for i in [*range(300, 340), *range(5, 1_500, 29), 1_499]:
        households[i]["id"] = f"户-{i:05d}"
        if i % 29 == 5:
            households[i]["members"] = households[i]["members"][:1]  # type: ignore[index]
    households[900]["annualNetIncome"] = -1  # an error, on the same row either way
    text = flat_frame(households).write_csv()
    extended = sources.MappedLines.extended
    views: list[int] = []

    def counted(self: sources.MappedLines, block: memoryview, before: int) -> memoryview:
        views.append(before)
        return extended(self, block, before)

    monkeypatch.setattr(sources.MappedLines, "extended", counted)
    versions = load_catalog().in_force(AS_OF)
    outputs = []
    for encoding in ("utf-8", "gb18030"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        out = tmp_path / f"{encoding}.out.csv"
        source = open_source(path, None, chunk, encoding)
        summary = screen_file(path, out, AS_OF, versions, source=source, chunk_rows=chunk)
        assert summary["households"]["invalid"] == 1
        outputs.append((out.read_bytes(), (tmp_path / f"{encoding}.out.errors.csv").read_bytes()))
        if encoding == "utf-8":
            assert views and any(views)  # mapped, rows carried as views
            views.clear()
    assert outputs[0] == outputs[1]
    assert "户-00300".encode() in outputs[0][0]
    assert views and any(views)  # the ASCII blocks mapped
