"""CSV registers read by the strict reader (``engine/batch/_lines.c``'s ``parse_csv``): the
cells' text is polars' reading of them, the exact values beside the text are the values the
text path gives them, and screening gives what the text path gives: the same households, the
same errors with the same rows and fields, however the cells are written."""

from __future__ import annotations

import csv
import random
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from engine.batch import native
from engine.batch.layout import BY_NAME, COLUMNS, EXACT, TYPED, Checked
from screening import sources
from screening.runner import check_chunk
from screening.sources import open_source
from tests.batch.test_validation import SEEDS, _flat_rows, mutated

AS_OF = date(2024, 6, 1)


def _write(path: Path, rows: list[dict[str, str]], names: list[str] | None = None,
           newline: str = "\n") -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=names or [c.name for c in COLUMNS],
                                lineterminator=newline, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _screened(path: Path, strict: bool, monkeypatch: pytest.MonkeyPatch,
              chunk_rows: int = 1000) -> list[Checked]:
    with monkeypatch.context() as m:
        if not strict:
            m.setattr(native, "reader", None)
        return [check_chunk(c, AS_OF) for c in open_source(path, chunk_rows=chunk_rows).chunks()]


def _same(got: list[Checked], want: list[Checked]) -> None:
    def joined(parts: list[Checked]) -> tuple[Any, ...]:
        return (pl.concat([p.households for p in parts]),
                pl.concat([p.errors for p in parts]).to_dicts(),
                sum(p.rejected for p in parts),
                pl.concat([p.first_rows for p in parts]).to_list())
    g, w = joined(got), joined(want)
    assert g[1] == w[1]
    assert g[2] == w[2]
    assert g[3] == w[3]
    assert g[0].equals(w[0])
    members_got = pl.concat([p.members.drop("_h") for p in got])
    members_want = pl.concat([p.members.drop("_h") for p in want])
    assert members_got.equals(members_want)


def test_the_installed_project_reads_csv_with_its_strict_reader(tmp_path: Path) -> None:
    from testing.households import random_household

    rng = random.Random(1)
    path = _write(tmp_path / "r.csv", _flat_rows(
        [random_household(rng, AS_OF, hid=f"hh-{i}") for i in range(50)]))
    frames = [f for f, _ in open_source(path, chunk_rows=10**6)._frames()]  # type: ignore[attr-defined]
    assert native.reader is not None
    assert all(EXACT in f.columns and f[EXACT].all() for f in frames)


# Cells as spreadsheets and other exporters write them: each is read exactly by the strict
# reader or leaves its household to the text path, which reads or refuses it as before.
MONEY = ["0", "0.0", "9336.0", "9336.00", "9336.5", "9336.50", "1.005", "-0", "-5", "1e3",
         "1E3", "+1", ".5", "1.", " 12", "12 ", "1_000", "１２", "999999999999999",
         "9999999999999999", "0.1", "18000", "18599.99", "nan", "inf", "01", "2.675"]
BOOLS = ["true", "false", "TRUE", "False", "tRuE", "yes", "1", "0", "是", " true", "t"]
GRADES = ["1", "2", "4", "5", "0", "02", "+2", "-1", "2.0", "2e0", " 2", "一",
          "999999999999999999999"]
TEXTS = ["村", "hh-é", " padded ", "a;b", "\t", "ED", "x" * 70]
DATES = ["2020-02-29", "2021-02-29", "1900-01-01", "0000-01-01", "0001-01-01", "2024-13-01",
         "2024-1-01", "2030-01-01", "20240101", " 2020-01-01", "2020-01-01 ", "２０２０-01-01"]
ENUMS = ["HEAD", "head", "SPOUSE", " SPOUSE", "X", "NONE", "PRIMARY", "A", "D", "FULL", "是"]
# (No cell needs quoting: a quote sends its whole block to polars' reader, tested below.)


def _damaged(seed: int, dates_and_enums: bool = False) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = _flat_rows([mutated(s) for s in range(seed * 400, seed * 400 + 400)])
    for row in rows:
        if rng.random() < 0.5:
            continue
        name = rng.choice([c.name for c in COLUMNS])
        kind = BY_NAME[name].kind
        pool = {"money": MONEY, "bool": BOOLS, "integer": GRADES,
                **({"date": DATES, "enum": ENUMS} if dates_and_enums else {})}.get(kind, TEXTS)
        row[name] = rng.choice(pool)
    return rows


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("halves", [sources.STRICT_HALVES, 300])
def test_damaged_cells_screen_as_the_text_path_screens_them(
        tmp_path: Path, seed: int, newline: str, halves: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # (Blocks longer than ``halves`` bytes are read in two halves side by side.)
    monkeypatch.setattr(sources, "STRICT_HALVES", halves)
    path = _write(tmp_path / "r.csv", _damaged(seed), newline=newline)
    frames = [f for f, _ in open_source(path, chunk_rows=1000)._frames()]  # type: ignore[attr-defined]
    assert all(EXACT in f.columns for f in frames)  # the strict reader read every block
    want = _screened(path, False, monkeypatch)
    got = _screened(path, True, monkeypatch)
    assert sum(c.rejected for c in want) > 50 and sum(c.households.height for c in want) > 50
    _same(got, want)


@pytest.mark.parametrize("chunk_rows", [5, 50])
def test_blocks_the_strict_reader_leaves_mix_with_those_it_reads(
        tmp_path: Path, chunk_rows: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # A quoted cell, a row cut short or an empty line leaves its block to polars' or Arrow's
    # reader; a household whose rows straddle two kinds of block is one household.
    rows = _damaged(4)
    rows[40]["regionCode"] = "371300,002"  # written quoted
    rows[90]["regionCode"] = 'say "hi"'
    path = _write(tmp_path / "r.csv", rows)
    lines = path.read_bytes().split(b"\n")
    lines.insert(150, b"")
    lines[200] = lines[200][: len(lines[200]) // 2]
    path.write_bytes(b"\n".join(lines))
    frames = [f for f, _ in open_source(path, chunk_rows=chunk_rows)._frames()]  # type: ignore[attr-defined]
    assert any(EXACT in f.columns for f in frames) and any(EXACT not in f.columns for f in frames)
    _same(_screened(path, True, monkeypatch, chunk_rows), _screened(path, False, monkeypatch,
                                                                     chunk_rows))


def test_the_text_path_corpus_screens_the_same(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "r.csv", _flat_rows([mutated(s) for s in SEEDS]))
    _same(_screened(path, True, monkeypatch, 700), _screened(path, False, monkeypatch, 700))


def test_a_household_repeating_an_amount_in_another_text_is_inconsistent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 9336.0 and 9336.00 are one amount, but the layout asks each of a household's rows to
    # repeat its first row's cells: the exact values alone would pass it.
    from testing.households import random_household

    rows = _flat_rows([random_household(random.Random(2), AS_OF, hid="hh-1", members=3)])
    rows[0]["annualNetIncome"], rows[1]["annualNetIncome"] = "9336.0", "9336.00"
    rows[2]["annualNetIncome"] = "9336.0"
    path = _write(tmp_path / "r.csv", rows)
    got = _screened(path, True, monkeypatch)
    _same(got, _screened(path, False, monkeypatch))
    assert [(r["row"], r["code"]) for c in got for r in c.errors.to_dicts()] == [
        (2, "INCONSISTENT_VALUE")]


@pytest.mark.parametrize("names", [
    ["householdId", "memberId", "birthDate"],
    ["memberId", "householdId", "annualNetIncome", "birthDate", "disabilityGrade",
     "disabilityKind", "povertyAlleviated"],
])
def test_any_subset_and_order_of_columns(tmp_path: Path, names: list[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "r.csv", _damaged(7), names=names)
    _same(_screened(path, True, monkeypatch), _screened(path, False, monkeypatch))


def test_exact_values_are_the_texts_values(tmp_path: Path) -> None:
    rows = _damaged(9)
    path = _write(tmp_path / "r.csv", rows)
    frames = [f for f, _ in open_source(path, chunk_rows=10**6)._frames()]  # type: ignore[attr-defined]
    assert all(EXACT in f.columns for f in frames)
    frame = pl.concat(frames)
    exact = frame.filter(pl.col(EXACT))
    assert 0 < exact.height < frame.height
    for c in COLUMNS:
        if c.kind not in ("bool", "money", "integer"):
            continue
        texts, values = exact[c.name].to_list(), exact[TYPED + c.name].to_list()
        for text, value in zip(texts, values, strict=True):
            if text is None:
                assert value is None
            elif c.kind == "bool":
                assert value == (text.lower() == "true")
            elif c.kind == "money":
                assert value == float(text)
            else:
                assert value == int(text)


# --- rows read as households (``engine.batch.rows``) --------------------------------------------


def _rows_read(path: Path, chunk_rows: int = 1000) -> list[sources.Chunk]:
    return list(open_source(path, chunk_rows=chunk_rows).chunks())


@pytest.mark.parametrize("chunk_rows", [1, 7, 1000])
@pytest.mark.parametrize("halves", [sources.STRICT_HALVES, 3000])
def test_plain_blocks_are_read_as_households(tmp_path: Path, chunk_rows: int, halves: int,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Every block of a plain register is read as households, each block's last household
    # waiting for the next (a block longer than ``halves`` bytes in two parts side by side,
    # cut where a household begins); the households, errors and rows are the text path's.
    monkeypatch.setattr(sources, "STRICT_HALVES", halves)
    path = _write(tmp_path / "r.csv", _damaged(5, dates_and_enums=True))
    chunks = _rows_read(path, chunk_rows)
    assert chunks and all(c.rows is not None and c.frame is None for c in chunks)
    if chunk_rows == 1000:  # each block of 1000 rows read in two parts, or whole
        assert len(chunks) > 1
        assert all(len(c.rows or ()) == (2 if halves == 3000 else 1) for c in chunks[:-1])
    numbered = [n for c in chunks if c.rows is not None for part in c.rows
                for n in range(part.first_row + 1, part.first_row + part.rows + 1)]
    assert numbered == list(range(1, len(numbered) + 1))
    _same(_screened(path, True, monkeypatch, chunk_rows),
          _screened(path, False, monkeypatch, chunk_rows))


def test_households_the_reader_leaves_are_the_text_paths(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from testing.households import random_household

    rng = random.Random(11)
    households = [random_household(rng, AS_OF, hid=f"hh-{i}", members=3) for i in range(12)]
    rows = _flat_rows(households)
    rows[1]["birthDate"] = "2021-02-29"          # not a day: its household's text path
    rows[4]["relation"] = "head"                 # not a value of the enum
    rows[7]["regionCode"] = rows[7]["regionCode"] + " "  # its rows disagree
    rows[9]["memberId"] = rows[10]["memberId"]   # a member id twice
    rows[13]["householdId"] = ""                 # a row without an id: its own household
    rows[16]["householdId"] = rows[12]["householdId"]  # the same id, not adjacent
    path = _write(tmp_path / "r.csv", rows)
    got = _screened(path, True, monkeypatch)
    assert all(c.rows is not None for c in _rows_read(path))
    _same(got, _screened(path, False, monkeypatch))
    assert sum(c.rejected for c in got) >= 5


def test_a_household_longer_than_any_valid_one_is_not_held_for_ever(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from testing.households import random_household

    monkeypatch.setattr(sources, "HOLD_LIMIT", 4)
    rows = _flat_rows([random_household(random.Random(3), AS_OF, hid=f"hh-{i}", members=2)
                       for i in range(6)])
    long = [{**rows[4], "memberId": f"m{i}"} for i in range(9)]
    path = _write(tmp_path / "r.csv", rows[:4] + long + rows[4:])
    for chunk_rows in (1, 3, 1000):
        _same(_screened(path, True, monkeypatch, chunk_rows),
              _screened(path, False, monkeypatch, chunk_rows))
