"""JSON Lines read in columns (``engine.batch.lines``) give what the record-by-record path
gives: the same households with the same values, the same errors with the same field paths
and line numbers, in the same order, whatever the block boundaries and however the lines are
broken."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path

import polars as pl
import pytest

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


def test_columns_give_the_record_paths_households_errors_and_lines() -> None:
    lines = _corpus(1, len(SEEDS))
    want = _by_records(lines)
    got = check_lines(b"\n".join(lines) + b"\n", 1, AS_OF)
    assert want.rejected > 1000 and want.households.height > 500  # a fair mix
    _same(got, want)


def test_a_block_numbers_its_lines_from_its_first_and_may_lack_the_last_newline() -> None:
    lines = _corpus(2, 200)
    want = _by_records(lines, first=41)
    _same(check_lines(b"\n".join(lines), 41, AS_OF), want)


def test_clean_households_are_all_read_in_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    # Generated households are valid and written without nulls: none of them may need the
    # record-by-record path (which would make the columnar path pointless).
    from engine.batch import lines as lines_module
    from testing.households import random_household

    rng = random.Random(3)
    lines = [json.dumps(random_household(rng, AS_OF, hid=f"hh-{i}")).encode()
             for i in range(500)]
    seen: list[int] = []

    def counting(records: list[tuple[int, bytes]], as_of: date) -> Checked:
        seen.append(len(records))
        return check_records(records, as_of)

    monkeypatch.setattr(lines_module, "check_records", counting)
    got = check_lines(b"\n".join(lines) + b"\n", 1, AS_OF)
    assert sum(seen) == 0
    _same(got, _by_records(lines))


@pytest.mark.parametrize("chunk_rows", [1, 37, 400, 10**6])
def test_a_json_lines_file_in_blocks_gives_the_record_paths_results(
        tmp_path: Path, chunk_rows: int) -> None:
    lines = _corpus(4, 600)
    path = tmp_path / "register.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    chunks = list(open_source(path, chunk_rows=chunk_rows).chunks())
    # Each block is a view of the file (mapped in memory), whole lines.
    assert all(c.lines is not None and bytes(c.lines).endswith(b"\n") for c in chunks)
    assert b"".join(c.lines or b"" for c in chunks) == path.read_bytes()
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
