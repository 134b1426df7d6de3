"""Batch validation rejects exactly what ``policy.facts.parse_household`` rejects, with its
errors (field paths) and the records they are on, and what it accepts it reads with the same
values. Households are generated and then broken in every way the contract names (and a few
it does not), for the JSON path (JSON Lines, in-memory lists) and the flat layout (CSV text,
Parquet types)."""

from __future__ import annotations

import copy
import csv
import json
import random
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from engine.batch.frames import input_frames
from engine.batch.layout import (
    COLUMNS,
    HOUSEHOLD_COLUMNS,
    MEMBER_COLUMNS,
    ROW,
    check_flat,
    csv_value,
)
from engine.batch.records import check_records, frames_of, quick_rows
from policy.errors import FactsInvalid
from policy.facts import parse_household
from screening.sources import open_source
from testing.households import random_household

AS_OF = date(2024, 6, 1)

HH_MUTATIONS: list[tuple[str, Any]] = [
    ("id", None), ("id", ""), ("id", "x" * 65), ("id", "村" * 30), ("id", 12),
    ("regionCode", "3" * 33), ("regionCode", ""), ("regionCode", 371300),
    ("povertyAlleviated", "true"), ("povertyAlleviated", 1), ("dibao", None),
    ("monitored", "yes"), ("annualNetIncome", -1), ("annualNetIncome", "5000"),
    ("annualNetIncome", True), ("annualNetIncome", None), ("annualNetIncome", 10**20),
    ("annualNetIncome", 12000), ("annualNetIncome", 1e300), ("annualNetIncome", -0.0),
    ("previousAnnualNetIncome", None), ("previousAnnualNetIncome", -5.5),
    ("previousAnnualNetIncome", 0), ("disasterLoss", -0.01), ("accidentLoss", "0"),
    ("monitoredSince", "2025-01-01"), ("monitoredSince", "2024-1-1"),
    ("monitoredSince", "2024-02-30"), ("monitoredSince", 20240101),
    ("monitoredSince", "2024-01-01T00:00:00"), ("monitoredSince", "1577836800"),
    ("monitoredSince", None), ("monitoredSince", "2024-06-01"),
    ("housingSafetyGrade", "E"), ("housingSafetyGrade", "a"), ("housingSafetyGrade", None),
    ("foodAndClothingSecure", 0), ("drinkingWaterSafe", "false"), ("unknownField", 1),
    ("members", []), ("members", "m1"), ("members", None),
    ("annualNetIncome", 1.005), ("disasterLoss", 0.125), ("accidentLoss", 7000.1),
    ("dibao", True), ("dibaoMarginal", True), ("monitored", False), ("monitored", True),
]
MEMBER_MUTATIONS: list[tuple[str, Any]] = [
    ("id", None), ("id", ""), ("id", 7), ("id", "y" * 65), ("birthDate", None),
    ("birthDate", "2030-01-01"), ("birthDate", "1900-01-01"), ("birthDate", "1904-06-02"),
    ("birthDate", "1903-06-01"), ("birthDate", "2024-06-01"), ("birthDate", "2024-06-02"),
    ("birthDate", "1990-13-01"), ("birthDate", "1990/01/01"), ("birthDate", 1990),
    ("birthDate", "1990-01-01T00:00:00Z"), ("relation", "COUSIN"), ("relation", None),
    ("tekun", "true"), ("orphan", 1), ("medicallyInsured", None),
    ("medicalOutOfPocket", -3), ("medicalOutOfPocket", "12"), ("medicalOutOfPocket", 1e16),
    ("medicalOutOfPocket", 12345.67), ("medicalOutOfPocket", 33333.334),
    ("medicalOutOfPocket", 1e-7), ("disabilityGrade", 0), ("disabilityGrade", 5),
    ("disabilityGrade", 3.0), ("disabilityGrade", "3"), ("disabilityGrade", True),
    ("disabilityGrade", 2), ("disabilityKind", "NONE"), ("disabilityKind", "VISUAL"),
    ("disabilityKind", None), ("needsLongTermCare", "false"), ("schoolStage", "COLLEGE"),
    ("schoolStage", None), ("boarding", 0), ("laborCapacity", "HALF"), ("extra", True),
]


def mutated(seed: int) -> dict[str, Any]:
    """A generated household with zero to three problems (or oddities) put in."""
    rng = random.Random(seed)
    hh = random_household(rng, AS_OF, hid=f"hh-{seed}")
    for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
        what = rng.random()
        if what < 0.35:
            key, value = rng.choice(HH_MUTATIONS)
            hh[key] = copy.deepcopy(value)
        elif what < 0.9 and isinstance(hh.get("members"), list) and hh["members"]:
            m = rng.choice(hh["members"])
            if isinstance(m, dict):
                key, value = rng.choice(MEMBER_MUTATIONS)
                m[key] = value
        elif isinstance(hh.get("members"), list) and hh["members"]:
            if rng.random() < 0.5:
                hh["members"].append(copy.deepcopy(hh["members"][0]))  # a duplicate id
            else:
                hh["members"] = hh["members"] * 7  # more than 20 members
    return hh


def _errors(hh: Any) -> list[tuple[str, str]] | None:
    try:
        parse_household(hh, AS_OF)
    except FactsInvalid as exc:
        return [(e.field, e.code) for e in exc.errors]
    return None


SEEDS = range(3000)


def test_the_mutations_are_a_fair_mix() -> None:
    answers = [_errors(mutated(s)) for s in SEEDS]
    rejected = sum(a is not None for a in answers)
    assert 0.3 * len(SEEDS) < rejected < 0.8 * len(SEEDS)
    codes = {code for a in answers for _, code in a or ()}
    assert {"TOO_MANY_DECIMALS", "CONTRADICTORY_FACTS", "NEGATIVE_AMOUNT", "UNKNOWN_FIELD",
            "BIRTH_AFTER_AS_OF", "INVALID_VALUE"} <= codes


def test_quick_check_passes_only_what_parse_household_accepts_with_the_same_values() -> None:
    passed = valid = 0
    for seed in SEEDS:
        hh = mutated(seed)
        valid += _errors(hh) is None
        quick = quick_rows(hh, AS_OF)
        if quick is None:
            continue
        passed += 1
        accepted = parse_household(hh, AS_OF)  # raises if the quick check was wrong
        expected_hh, expected_m = input_frames([accepted])
        got_hh, got_m = frames_of([hh], AS_OF)
        assert got_hh.equals(expected_hh), seed
        assert got_m.equals(expected_m), seed
    # The quick check leaves little to pydantic (oddities: timestamps, amounts over 1e15).
    assert passed > 0.8 * valid


def test_json_lines_reject_exactly_what_parse_household_rejects() -> None:
    households = [mutated(s) for s in SEEDS]
    lines = [(i + 1, json.dumps(hh).encode()) for i, hh in enumerate(households)]
    lines.append((len(lines) + 1, b'{"id": "broken", "members": ['))
    checked = check_records(lines, AS_OF)
    expected_errors: dict[int, list[tuple[str, str]]] = {}
    for i, hh in enumerate(households):
        errs = _errors(hh)
        if errs is not None:
            expected_errors[i + 1] = errs
    got: dict[int, list[tuple[str, str]]] = {}
    for r in checked.errors.iter_rows(named=True):
        got.setdefault(r["row"], []).append((r["field"], r["code"]))
    assert got.pop(len(lines)) == [("household", "INVALID_JSON")]
    assert got == expected_errors
    assert checked.rejected == len(expected_errors) + 1
    valid = [hh for i, hh in enumerate(households) if i + 1 not in expected_errors]
    assert checked.households["household_id"].to_list() == [hh["id"] for hh in valid]
    assert checked.first_rows.to_list() == [
        i + 1 for i in range(len(households)) if i + 1 not in expected_errors]
    expected_hh, expected_m = input_frames(parse_household(hh, AS_OF) for hh in valid)
    assert checked.households.equals(expected_hh)
    assert checked.members.equals(expected_m)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _flat_rows(households: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Households as CSV rows of the flat layout (households without a member list, or with
    members that are not objects, cannot be written in it and are left out)."""
    rows = []
    for hh in households:
        members = hh.get("members")
        if not isinstance(members, list) or not members or \
                not all(isinstance(m, dict) for m in members) or set(hh) - {
                    c.field for c in HOUSEHOLD_COLUMNS} - {"members"}:
            continue
        if any(set(m) - {c.field for c in MEMBER_COLUMNS} for m in members):
            continue
        for m in members:
            row = {c.name: _csv_cell(hh.get(c.field)) for c in HOUSEHOLD_COLUMNS}
            row.update({c.name: _csv_cell(m.get(c.field)) for c in MEMBER_COLUMNS})
            rows.append(row)
    return rows


def _read_back(rows: list[dict[str, str]]) -> list[tuple[int, dict[str, Any]]]:
    """The households a flat CSV stands for (docs/screening.md), read independently: adjacent
    rows with the same householdId, empty cells left out, cells read with ``csv_value``."""
    out: list[tuple[int, dict[str, Any]]] = []
    prev: str | None = None
    for i, row in enumerate(rows, start=1):
        hid = row["householdId"]
        if hid == "" or hid != prev:
            hh = {c.field: csv_value(c.kind, row[c.name]) for c in HOUSEHOLD_COLUMNS
                  if row[c.name] != ""}
            hh["members"] = []
            out.append((i, hh))
        member = {c.field: csv_value(c.kind, row[c.name]) for c in MEMBER_COLUMNS
                  if row[c.name] != ""}
        out[-1][1]["members"].append(member)
        prev = hid if hid != "" else None
    return out


def _csv_frame(rows: list[dict[str, str]], tmp: Path) -> pl.DataFrame:
    """The rows written as a CSV file and read back as the screen command reads it."""
    path = tmp / "register.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[c.name for c in COLUMNS])
        writer.writeheader()
        writer.writerows(rows)
    # (The frames of the rows: ``chunks`` gives blocks of rows read as households.)
    frames = [f for f, _ in open_source(path, chunk_rows=10**6)._frames()]  # type: ignore[attr-defined]
    return pl.concat(frames)


def test_flat_csv_rejects_exactly_what_parse_household_rejects(tmp_path: Path) -> None:
    households = [mutated(s) for s in SEEDS]
    rows = _flat_rows(households)
    checked = check_flat(_csv_frame(rows, tmp_path), AS_OF, text=True)
    expected: dict[int, list[tuple[int, str, str]]] = {}
    valid = []
    for first, hh in _read_back(rows):
        try:
            valid.append(parse_household(hh, AS_OF))
        except FactsInvalid as exc:
            expected[first] = sorted(
                (first + int(e.field.split("]")[0].split("[")[1])
                 if e.field.startswith("members[") else first, e.field, e.code)
                for e in exc.errors)
    got: dict[int, list[tuple[int, str, str]]] = {}
    firsts = {first for first, _ in _read_back(rows)}
    for r in checked.errors.iter_rows(named=True):
        first = max(f for f in firsts if f <= r["row"])
        got.setdefault(first, []).append((r["row"], r["field"], r["code"]))
    assert {k: sorted(v) for k, v in got.items()} == expected
    assert checked.rejected == len(expected)
    expected_hh, expected_m = input_frames(valid)
    assert checked.households.equals(expected_hh)
    assert checked.members.equals(expected_m)


def test_flat_rows_that_disagree_on_a_household_column_are_rejected(tmp_path: Path) -> None:
    hh = random_household(random.Random(1), AS_OF, hid="split", members=3)
    rows = _flat_rows([hh])
    rows[2]["annualNetIncome"] = "1"
    checked = check_flat(_csv_frame(rows, tmp_path), AS_OF, text=True)
    assert checked.households.height == 0 and checked.rejected == 1
    assert checked.errors.select("row", "field", "code").rows() == [
        (3, "annualNetIncome", "INCONSISTENT_VALUE")]


@pytest.mark.parametrize(("column", "values", "code"), [
    ("annualNetIncome", ["5000", "5000"], "WRONG_TYPE"),     # text in a Parquet number column
    ("disabilityGrade", [3.0, None], "WRONG_TYPE"),          # a float is not an integer
    ("povertyAlleviated", ["true", "true"], "WRONG_TYPE"),
])
def test_parquet_cells_keep_their_column_type(column: str, values: list[Any],
                                              code: str) -> None:
    rows = {c.name: [None, None] for c in COLUMNS}
    rows.update(householdId=["h1", "h1"], memberId=["m1", "m2"],
                birthDate=[date(1980, 1, 1), date(1982, 1, 1)])
    if column == "disabilityGrade":
        rows["disabilityKind"] = ["VISUAL", None]
    rows[column] = values
    frame = pl.DataFrame(rows, strict=False).with_columns(
        pl.int_range(1, 3, dtype=pl.Int64).alias(ROW))
    frame = frame.drop([c for c in frame.columns if frame[c].null_count() == 2])
    checked = check_flat(frame, AS_OF, text=False)
    assert checked.rejected == 1
    assert code in checked.errors["code"].to_list()
    assert checked.errors["row"].min() >= 1


def test_a_member_id_repeated_anywhere_in_a_household_is_found() -> None:
    # 20 members (the most allowed): the last repeats the first's id; a second household is
    # the same with distinct ids; a third has 21 members.
    def rows(hid: str, ids: list[str]) -> list[dict[str, Any]]:
        return [{"householdId": hid, "memberId": m, "birthDate": date(1980, 1, 1)}
                for m in ids]

    ids = [f"m{i}" for i in range(20)]
    frame = pl.DataFrame(rows("dup", [*ids[:19], "m0"]) + rows("ok", ids)
                         + rows("big", [*ids, "m20"])).with_columns(
        pl.int_range(1, 62, dtype=pl.Int64).alias(ROW))
    checked = check_flat(frame, AS_OF, text=False)
    assert checked.households["household_id"].to_list() == ["ok"]
    assert checked.rejected == 2
    assert set(checked.errors["code"]) >= {"DUPLICATE_MEMBER_ID"}


@pytest.mark.parametrize(("change", "expected"), [
    ({"dibao": True, "dibaoMarginal": True}, [("dibaoMarginal", "CONTRADICTORY_FACTS")]),
    ({"monitoredSince": date(2024, 1, 1)}, [("monitoredSince", "CONTRADICTORY_FACTS")]),
    ({"monitored": False, "monitoredSince": date(2024, 1, 1)},
     [("monitoredSince", "CONTRADICTORY_FACTS")]),
    ({"annualNetIncome": 12000.005}, [("annualNetIncome", "TOO_MANY_DECIMALS")]),
    ({"medicalOutOfPocket": 0.001}, [("members[1].medicalOutOfPocket", "TOO_MANY_DECIMALS")]),
    ({"monitored": True, "monitoredSince": date(2024, 1, 1), "dibaoMarginal": True,
      "annualNetIncome": 12000.01}, []),
])
def test_parquet_fast_path_sends_contradictions_and_sub_cent_money_to_validation(
        change: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    # A typed Parquet register whose only problem is a contradiction or money below the cent
    # is rejected with exactly that error; consistent flags and cents pass.
    rows = {c.name: [None, None] for c in COLUMNS}
    rows.update(householdId=["h1", "h1"], memberId=["m1", "m2"],
                birthDate=[date(1980, 1, 1), date(1982, 1, 1)],
                annualNetIncome=[12000.0, 12000.0], medicalOutOfPocket=[0.0, 0.0])
    for name, value in change.items():
        column = next(c for c in COLUMNS if c.field == name)
        rows[column.name] = [0.0, value] if column.member else [value, value]
    frame = pl.DataFrame(rows, strict=False).with_columns(
        pl.int_range(1, 3, dtype=pl.Int64).alias(ROW))
    frame = frame.drop([c for c in frame.columns if frame[c].null_count() == 2])
    checked = check_flat(frame, AS_OF, text=False)
    assert sorted(checked.errors.select("field", "code").rows()) == expected
    assert checked.rejected == (1 if expected else 0)
    assert checked.households.height == (0 if expected else 1)
