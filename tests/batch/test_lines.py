"""JSON Lines read in columns (``engine.batch.lines``) give what the record-by-record path
gives: the same households with the same values, the same errors with the same field paths
and line numbers, in the same order, whatever the block boundaries and however the lines are
broken."""

from __future__ import annotations

import json
import mmap
import random
import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from engine.batch import lines as lines_module
from engine.batch.layout import Checked
from engine.batch.lines import check_lines
from engine.batch.records import check_records
from screening.runner import check_chunk
from screening.sources import open_source
from tests.batch.test_validation import SEEDS, mutated

AS_OF = date(2024, 6, 1)

# Lines no generated household has: not JSON, not an object, blank, odd whitespace, nulls
# (explicit nulls are not fields left out), repeated fields, two objects on a line, bytes
# that are not UTF-8, bad escapes, numbers JSON allows and Arrow or Python read differently.
ODD_LINES = [
    b'{"id": "broken", "members": [',
    b"[1, 2]",
    b'"a household"',
    b"",
    b"   ",
    b"\t",
    b"\x0b",
    b"\r",
    b"null",
    b'{"id": "hh-null", "regionCode": null, "members": [{"id": "m1", "birthDate": "1980-01-01"}]}',
    b'{"id": "hh-prev", "previousAnnualNetIncome": null, '
    b'"members": [{"id": "m1", "birthDate": "1980-01-01"}]}',
    b'{"id": "hh-twice", "id": "hh-twice-2", "members": [{"id": "m1", "birthDate": "1980-01-01"}]}',
    b'{"id": "hh-a", "members": [{"id": "m1", "birthDate": "1980-01-01"}]} '
    b'{"id": "hh-b", "members": [{"id": "m1", "birthDate": "1980-01-01"}]}',
    b'{"id": "hh-\xff", "members": [{"id": "m1", "birthDate": "1980-01-01"}]}',
    b'{"id": "hh-\xed\xa0\x80", "members": [{"id": "m1", "birthDate": "1980-01-01"}]}',
    b'{"id": "hh-\\ud800", "members": [{"id": "m1", "birthDate": "1980-01-01"}]}',
    b'{"id": "hh-\\ud83d\\ude00", "members": [{"id": "m1", "birthDate": "1980-01-01"}]}',
    b'{"id": "hh-\\u00e9\\u0000", "members": [{"id": "m1", "birthDate": "1980-01-01"}]}',
    b'{"id": "hh-nan", "annualNetIncome": NaN, '
    b'"members": [{"id": "m1", "birthDate": "1980-01-01"}]}',
    b'{"id": "hh-inf", "annualNetIncome": 1e400, '
    b'"members": [{"id": "m1", "birthDate": "1980-01-01"}]}',
    b'{"id": "hh-big", "members": [{"id": "m1", "birthDate": "1980-01-01", '
    b'"disabilityGrade": 100000000000000000000, "disabilityKind": "VISUAL"}]}',
    b'{"id": "hh-grade", "members": [{"id": "m1", "birthDate": "1980-01-01", '
    b'"disabilityGrade": 2.0, "disabilityKind": "VISUAL"}]}',
    b'{"id": "hh-exp", "annualNetIncome": 1.2e4, "members": [{"id": "m1", '
    b'"birthDate": "1980-01-01", "medicalOutOfPocket": -0}]}',
    b'{"id": "hh-nomembers"}',
    b'{}',
    b'  {"id": "hh-indented", "members": [{"id": "m1", "birthDate": "1980-01-01"}]}',
    b'{"id": "hh-crlf", "members": [{"id": "m1", "birthDate": "1980-01-01"}]}\r',
    b'{"id": "hh-dup", "members": [{"id": "m1", "birthDate": "1980-01-01"}]}',
    b'{"id": "hh-dup", "members": [{"id": "m1", "birthDate": "1980-01-01"}]}',
    b'{"id": "\xe6\x9d\x91' * 1 + b'", "members": [{"id": "m1", "birthDate": "1980-01-01"}]}',
    b'{"id": "' + "村".encode() * 64 + b'", "members": [{"id": "m1", "birthDate": "1980-01-01"}]}',
]


def _corpus(seed: int, n: int) -> list[bytes]:
    """Mutated generated households as JSON Lines with the odd lines spread among them."""
    rng = random.Random(seed)
    lines = [json.dumps(mutated(s), ensure_ascii=rng.random() < 0.5).encode()
             for s in range(n)]
    for odd in ODD_LINES:
        lines.insert(rng.randrange(len(lines) + 1), odd)
    return lines


def _same(got: Checked, want: Checked) -> None:
    assert got.errors.to_dicts() == want.errors.to_dicts()
    assert got.rejected == want.rejected
    assert got.first_rows.to_list() == want.first_rows.to_list()
    assert got.households.equals(want.households)
    assert got.members.equals(want.members)


def _by_records(lines: list[bytes], first: int = 1) -> Checked:
    return check_records([(first + i, line) for i, line in enumerate(lines)
                          if line.strip()], AS_OF)


def _as_the_record_path(line: bytes, strict_reader: bool) -> Checked:
    """One line read in columns, checked to give what the record path gives."""
    got = check_lines(line, 1, AS_OF, strict_reader=strict_reader)
    _same(got, _by_records([line]))
    return got


# Both readers: the strict one compiled with the project, and Arrow's where it is not.
READERS = pytest.mark.parametrize("strict_reader", [True, False], ids=["strict", "arrow"])


def test_the_installed_project_reads_lines_with_its_strict_reader() -> None:
    # Installing the project compiles engine/batch/_lines.c; without it every block would
    # go through Arrow's reader, correct but about three times the CPU.
    assert lines_module.native is not None


@READERS
def test_columns_give_the_record_paths_households_errors_and_lines(strict_reader: bool) -> None:
    lines = _corpus(1, len(SEEDS))
    want = _by_records(lines)
    got = check_lines(b"\n".join(lines) + b"\n", 1, AS_OF, strict_reader=strict_reader)
    assert want.rejected > 1000 and want.households.height > 500  # a fair mix
    _same(got, want)


def test_a_chunk_of_several_blocks_is_checked_as_their_lines_together(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Blocks smaller than a chunk's households are checked one by one and their households
    # put together: the chunk gives what its lines give read as one block (households,
    # members, errors, line numbers), and the chunks give every line once. The first chunk
    # and the last ones are a block each. The blocks are views of the file mapped into
    # memory, each let go once checked: what its check gave is unchanged once it is.
    from screening import sources

    lines = _corpus(5, 1200)
    path = tmp_path / "register.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    monkeypatch.setattr(sources, "JSONL_BLOCK", 16_384)
    given: list[tuple[int, int]] = []
    give = sources.MappedLines.give

    def counted(self: sources.MappedLines, block: bytes | memoryview) -> None:
        assert isinstance(block, memoryview) and isinstance(block.obj, mmap.mmap)
        given.append((len(block), self._ranges[id(block)][0]))
        give(self, block)
        with pytest.raises(ValueError, match="released"):
            len(block)
    monkeypatch.setattr(sources.MappedLines, "give", counted)
    sizes, results, seen = [], [], b""
    for chunk in open_source(path, None, 4 * 1000).chunks():  # many blocks of households
        assert chunk.lines is not None
        sizes.append(len(chunk.lines))
        whole, first_line = b"".join(bytes(b) for b, _ in chunk.lines), chunk.lines[0][1]
        results.append((check_chunk(chunk, AS_OF), check_lines(whole, first_line, AS_OF)))
        assert chunk.lines == []  # each block let go once checked
        seen += whole
    assert seen == path.read_bytes()
    assert sizes[0] == 1 and max(sizes) == sources.JSONL_CHUNK_BLOCKS and sizes[-2:] == [1, 1]
    assert sum(n for n, _ in given) == len(seen)  # every block given back, once
    assert [at for _, at in given] == sorted({at for _, at in given})
    for got, want in results:
        _same(got, want)


@READERS
def test_a_block_numbers_its_lines_from_its_first_and_may_lack_the_last_newline(
        strict_reader: bool) -> None:
    lines = _corpus(2, 200)
    want = _by_records(lines, first=41)
    _same(check_lines(b"\n".join(lines), 41, AS_OF, strict_reader=strict_reader), want)


def _written(rng: random.Random, hh: dict[str, object]) -> bytes:
    """A household as one line, written as exporters do: key order, spacing, escapes."""
    def shuffled(d: dict[str, object]) -> dict[str, object]:
        keys = list(d)
        rng.shuffle(keys)
        return {k: [shuffled(m) if isinstance(m, dict) else m for m in d[k]]
                if isinstance(d[k], list) else d[k] for k in keys}

    separators = rng.choice([(", ", ": "), (",", ":"), (" ,", " : ")])
    return json.dumps(shuffled(hh), ensure_ascii=rng.random() < 0.5,
                      separators=separators).encode()


@READERS
def test_clean_households_are_all_read_in_columns(monkeypatch: pytest.MonkeyPatch,
                                                  strict_reader: bool) -> None:
    # Generated households are valid and written without nulls: none of them may need the
    # record-by-record path (which would make the columnar path pointless), whatever the
    # order of their fields, the spaces between them, and whether texts are escaped.
    from testing.households import random_household

    rng = random.Random(3)
    lines = [_written(rng, random_household(rng, AS_OF, hid=f"hh-{i}-村"))
             for i in range(500)]
    seen: list[int] = []

    def counting(records: list[tuple[int, bytes]], as_of: date) -> Checked:
        seen.append(len(records))
        return check_records(records, as_of)

    monkeypatch.setattr(lines_module, "check_records", counting)
    got = check_lines(b"\n".join(lines) + b"\n", 1, AS_OF, strict_reader=strict_reader)
    assert sum(seen) == 0
    _same(got, _by_records(lines))


# Bytes that make a valid line something else: JSON's tokens, numbers the strict reader
# leaves to the record path, escapes, bytes that are not UTF-8 or not allowed in a string.
SPLICES = [b"null", b"true", b"false", b"1e3", b"-0", b"0.1", b"1.", b".5", b"01", b"2.0",
           b"1234567890123456", b"9" * 19, b'"', b"\\", b"\\u0000", b"\\ud800", b"\\n",
           b"\\x", b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x01",
           b"\t", b"\r", b" ", b",", b":", b"{", b"}", b"[", b"]", b"{}", b"[]",
           b'"members"', b'"id"', b'"x"', "村".encode()]


def _spliced(rng: random.Random, line: bytes) -> bytes:
    """A line with up to three random edits: a byte dropped, a splice put in or put over."""
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        at = rng.randrange(len(line) + 1)
        what = rng.random()
        if what < 0.3 and line:
            line = line[:at] + line[at + 1:]
        elif what < 0.65:
            line = line[:at] + rng.choice(SPLICES) + line[at:]
        else:
            piece = rng.choice(SPLICES)
            line = line[:at] + piece + line[at + len(piece):]
    return line


@pytest.mark.parametrize("seed", range(4))
def test_broken_bytes_give_the_record_paths_answers(seed: int) -> None:
    # Whatever a line's bytes, the strict reader either reads it with the values the record
    # path gives or leaves it to that path: the households, errors and lines are its.
    from testing.households import random_household

    rng = random.Random(seed)
    lines = [_spliced(rng, _written(rng, random_household(rng, AS_OF, hid=f"hh-{i}")))
             for i in range(1500)]
    want = _by_records(lines)
    assert want.rejected > 300 and want.households.height > 100  # both kinds
    _same(check_lines(b"\n".join(lines) + b"\n", 1, AS_OF), want)


@pytest.mark.parametrize("text", [
    "0", "-0", "0.1", "0.2", "0.3", "1.005", "2.675", "18000", "18599.99", "18600.01",
    "1234567.89", "9999999999999.99", "999999999999999", "0.000000000000001",
    "4503599627370497", "123456789012345.6", "1e2", "1E-2", "0.10", "100.00",
])
@READERS
def test_money_is_read_as_the_record_path_reads_it(text: str, strict_reader: bool) -> None:
    # The nearest double to the decimal written, as Python's float() gives it, for every
    # amount the strict reader reads itself (up to 15 digits, no exponent); the rest is the
    # record path's to read or refuse.
    got = _as_the_record_path((
        f'{{"id": "hh-1", "annualNetIncome": {text}, "members": [{{"id": "m1", '
        f'"birthDate": "1980-01-01", "medicalOutOfPocket": {text}}}]}}').encode(), strict_reader)
    if got.households.height:
        assert got.households["annualNetIncome"].to_list() == [float(text)]
        assert got.members["medicalOutOfPocket"].to_list() == [float(text)]


@pytest.mark.parametrize("text", [
    "1980-01-01", "2024-02-29", "2023-02-29", "1900-02-29", "2000-02-29", "2100-02-28",
    "0001-01-01", "0000-12-31", "9999-12-31", "1969-12-31", "1970-01-01", "2024-04-31",
    "2024-13-01", "2024-00-10", "2024-06-00", "2024-6-01", "2024-06-1", "20240601",
    "2024/06/01", " 2024-06-01", "2024-06-01 ", "2024-06-01T00:00", "２０２４-06-01",
    r"2024\u002d06-01", "", "2025-01-01",
])
@READERS
def test_dates_are_read_as_the_record_path_reads_them(text: str, strict_reader: bool) -> None:
    # The strict reader reads a "YYYY-MM-DD" day itself (as days since 1970, no text matched
    # and parsed by polars) and leaves every other text to the record path: the households,
    # the dates and the errors are the record path's either way (2025-01-01 is after asOf).
    got = _as_the_record_path((
        f'{{"id": "hh-1", "monitored": true, "monitoredSince": "{text}", "members": '
        f'[{{"id": "m1", "birthDate": "{text}"}}]}}').encode(), strict_reader)
    if got.households.height and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        day = date.fromisoformat(text)
        assert got.members["birthDate"].to_list() == [day]
        assert got.households["monitoredSince"].to_list() == [day]


@pytest.mark.parametrize("kind", [
    "VISUAL", "MULTIPLE", "NONE", "visual", "Visual", " VISUAL", "VISUAL ", "", "VISUALS",
    r"\u0056ISUAL", "视力", "HEAD",
])
@READERS
def test_enum_values_are_read_as_the_record_path_reads_them(kind: str,
                                                            strict_reader: bool) -> None:
    # The strict reader reads one of an enum's values itself (as its index, gathered into the
    # polars enum) and leaves every other text to the record path, NONE (what conditions see
    # of a kind left out, not a kind one may give) and an escaped value included.
    got = _as_the_record_path((
        f'{{"id": "hh-1", "housingSafetyGrade": "C", "members": [{{"id": "m1", '
        f'"birthDate": "1980-01-01", "relation": "HEAD", "disabilityGrade": 2, '
        f'"disabilityKind": "{kind}"}}]}}').encode(), strict_reader)
    if got.households.height and kind in ("VISUAL", "MULTIPLE"):
        assert got.members["disabilityKind"].to_list() == [kind]
        assert got.members["relation"].to_list() == ["HEAD"]
        assert got.households["housingSafetyGrade"].to_list() == ["C"]


@pytest.mark.parametrize(("first", "second", "read"), [
    ("m1", "m2", True), ("m1", "m1", False), ("m1", r"m\u0031", False), ("M1", "m1", True),
    ("member-of-household-1", "member-of-household-1", False),
    ("member-of-household-1", "member-of-household-2", True), ("村民甲", "村民甲", False),
])
@READERS
def test_members_with_one_id_are_the_record_paths(first: str, second: str, read: bool,
                                                  strict_reader: bool) -> None:
    # Two members with one id (once decoded, short or long): the strict reader leaves the
    # household to the record path, which refuses it; distinct ids are read in columns.
    line = (f'{{"id": "hh-1", "members": [{{"id": "{first}", "birthDate": "1980-01-01"}}, '
            f'{{"id": "{second}", "birthDate": "1981-01-01"}}]}}').encode()
    got = _as_the_record_path(line, strict_reader)
    assert got.households.height == (1 if read else 0)
    if strict_reader:
        assert (lines_module._read_native(line, 1)[2].size == 0) == read


def test_an_enum_of_more_values_than_the_reader_takes_is_read_as_text() -> None:
    from engine.batch.layout import Column
    from engine.batch.native import LINES_KINDS, MAX_ENUM_VALUES
    from engine.batch.native import reader as native

    assert native is not None and MAX_ENUM_VALUES == native.MAX_ENUM_VALUES > 0
    small = Column("kind", "kind", "enum", True, ("A", "B"))
    large = Column("kind", "kind", "enum", True, tuple(f"V{i}" for i in range(
        MAX_ENUM_VALUES + 1)))
    assert lines_module.coded(small) and not lines_module.coded(large)
    values = tuple(v.encode() for v in large.values)
    with pytest.raises(ValueError, match="an enum has 1 to"):
        native.parse(b"", ((b"id", 0),), ((b"id", 0), (b"kind", LINES_KINDS["enum"], values)),
                     b"members", 20)


@pytest.mark.parametrize("chunk_rows", [1, 37, 400, 10**6])
def test_a_json_lines_file_in_blocks_gives_the_record_paths_results(
        tmp_path: Path, chunk_rows: int) -> None:
    lines = _corpus(4, 600)
    path = tmp_path / "register.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    chunks = list(open_source(path, chunk_rows=chunk_rows).chunks())
    # Each chunk is blocks of whole lines, in the file's order.
    blocks = [bytes(block) for c in chunks for block, _ in c.lines or []]
    assert all(block.endswith(b"\n") for block in blocks)
    assert b"".join(blocks) == path.read_bytes()
    checked = [check_chunk(c, AS_OF) for c in chunks]
    want = _by_records(lines)
    errors = pl.concat([c.errors for c in checked])
    assert errors.to_dicts() == want.errors.to_dicts()
    assert sum(c.rejected for c in checked) == want.rejected
    assert pl.concat([c.first_rows for c in checked]).to_list() == want.first_rows.to_list()
    assert pl.concat([c.households for c in checked]).equals(want.households)
    assert chunks[-1].done == path.stat().st_size


def test_half_a_surrogate_pair_is_invalid_json_and_a_whole_pair_a_character() -> None:
    lines = [b'{"id": "hh-\\ud800", "members": [{"id": "m1", "birthDate": "1980-01-01"}]}',
             b'{"id": "hh-\\ud83d\\ude00", "members": [{"id": "m1", "birthDate": "1980-01-01"}]}']
    checked = check_lines(b"\n".join(lines), 1, AS_OF)
    assert [(r["row"], r["code"]) for r in checked.errors.to_dicts()] == [(1, "INVALID_JSON")]
    assert "surrogate" in checked.errors["message"][0]
    assert checked.households["household_id"].to_list() == ["hh-\U0001F600"]


def test_half_a_surrogate_pair_written_as_bytes_is_not_utf8() -> None:
    # ED A0 80 would be U+D800 in UTF-8's pattern, which UTF-8 forbids; Python's json reads
    # bytes with "surrogatepass" and would let it through to a text no column can hold.
    line = b'{"id": "hh-1", "regionCode": "\xed\xa0\x80", "members": [{"id": "m1", ' \
        b'"birthDate": "1980-01-01"}]}'
    for strict_reader in (True, False):
        checked = check_lines(line, 1, AS_OF, strict_reader=strict_reader)
        assert [(r["row"], r["code"]) for r in checked.errors.to_dicts()] == [
            (1, "INVALID_JSON")]
        assert "can't decode byte 0xed" in checked.errors["message"][0]
        assert checked.households.height == 0
