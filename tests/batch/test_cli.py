"""``policy-engine screen`` run as a user runs it: a real process, the three input formats,
the outputs (CSV and Parquet), the errors file, the summary, exit codes."""

from __future__ import annotations

import csv
import json
import random
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from engine.batch.layout import flat_frame
from engine.batch.table import determination_rows
from engine.determine import determine
from services.rulesets import FIXTURES, load_catalog
from testing.households import random_household
from tests.batch.reference import by_outcome, normalise

SCREENING = FIXTURES / "screening"
AS_OF = "2024-06-01"


def screen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", "screen", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def read_table(table: Any) -> list[dict[str, Any]]:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.with_columns(pl.col(c).cast(pl.String) for c, t in frame.schema.items()
                              if isinstance(t, pl.Categorical | pl.Enum)).to_dicts()


def read_outcomes(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
    else:
        frame = pl.read_csv(path, infer_schema=False).with_columns(
            pl.col("version").cast(pl.Int32), pl.col("amount").cast(pl.Float64),
            flags_monitoring=pl.col("flags_monitoring") == "true")
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c, t in frame.schema.items()
                               if isinstance(t, pl.Categorical | pl.Enum))
    return frame.to_dicts()


def expected_rows(households: list[dict[str, Any]], as_of: date) -> list[dict[str, Any]]:
    versions = load_catalog().in_force(as_of)
    out = []
    for hh in households:
        out += determination_rows(determine(hh, as_of, versions), hh.get("regionCode", "000000"))
    return out


FIXTURE_HOUSEHOLDS = [json.loads(p.read_text(encoding="utf-8"))
                      for p in sorted((FIXTURES / "households").glob("*.json"))]


@pytest.mark.parametrize(("source", "out"), [("register.csv", "outcomes.parquet"),
                                            ("register.jsonl", "outcomes.csv")])
def test_the_fixture_register_in_every_format(source: str, out: str, tmp_path: Path) -> None:
    target = tmp_path / out
    done = screen(str(SCREENING / source), "--as-of", AS_OF, "--out", str(target),
                  "--no-progress", "--terms", "--status", "all", "--layout", "long")
    assert done.returncode == 0, done.stderr
    assert "screened 11 of 11 households" in done.stdout
    got = read_outcomes(target)
    expected = expected_rows(FIXTURE_HOUSEHOLDS, date(2024, 6, 1))
    # Parquet rows are grouped by outcome (one chunk here); CSV rows are in the API's order.
    if target.suffix == ".parquet":
        expected = by_outcome(expected)
    assert normalise(got) == normalise(expected)
    assert {r["region_code"] for r in got} == {h["regionCode"] for h in FIXTURE_HOUSEHOLDS}
    summary = json.loads(target.with_name(target.stem + ".summary.json").read_text())
    assert summary["households"] == {"read": 11, "screened": 11, "invalid": 0, "flagged": 4}
    assert target.with_name(target.stem + ".summary.md").exists()
    errors = target.with_name(target.stem + ".errors.csv").read_text(encoding="utf-8")
    assert errors.splitlines() == ["row,household_id,field,code,message,message_en"]


def test_by_default_granted_and_undetermined_rows_are_written_and_every_outcome_counted(
        tmp_path: Path) -> None:
    target = tmp_path / "outcomes.csv"
    done = screen(str(SCREENING / "register.jsonl"), "--as-of", AS_OF, "--out", str(target),
                  "--no-progress")
    assert done.returncode == 0, done.stderr
    expected = [{**r, "terms": None}
                for r in expected_rows(FIXTURE_HOUSEHOLDS, date(2024, 6, 1))
                if r["status"] in ("GRANTED", "UNDETERMINED")]
    assert normalise(read_outcomes(target)) == normalise(expected)
    summary = json.loads(target.with_name("outcomes.summary.json").read_text())
    assert summary["statusesWritten"] == ["GRANTED", "UNDETERMINED"]
    # The Markdown summary names each item by its title and each status in words.
    markdown = target.with_name("outcomes.summary.md").read_text(encoding="utf-8").splitlines()
    assert ("| disability | disability.living_subsidy | 困难残疾人生活补贴 / Living subsidy for "
            "disabled persons in hardship | 享受 GRANTED | MONTH | 1 | 131.00 |") in markdown
    counted = {r["status"] for r in summary["byProgram"]}
    assert counted == {"GRANTED", "NOT_GRANTED", "UNDETERMINED"}
    total = sum(r["outcomes"] for r in summary["byProgram"])
    assert summary["outcomeRows"] == len(expected) < total
    # The command says which rows it left out, and how to have them, in Chinese first.
    lines = done.stdout.splitlines()
    assert lines[2] == f"结果表：{target}（{len(expected)} 行：只含 GRANTED、UNDETERMINED " \
        f"结果，共 {total} 项结果；--status all 写出全部）"
    assert lines[3] == f"outcomes: {target} ({len(expected)} rows: GRANTED and UNDETERMINED " \
        f"outcomes, {total} in all; --status all writes every one)"
    assert lines[0].startswith("筛查 11 户中的 11 户，评估日期 2024-06-01，")
    assert lines[1].startswith("screened 11 of 11 households as of 2024-06-01 ")
    # What each item granted, by its title with its code, the period in words in both.
    assert "  困难残疾人生活补贴（disability.living_subsidy）：获批 1 项，131.00 元/月 / Living " \
        "subsidy for disabled persons in hardship: 1 granted, 131.00 yuan/month" in lines
    assert any(x.startswith("  危房加固维修补助（housing.repair）：获批 1 项，10,000.00 元/次 / ")
               and x.endswith(": 1 granted, 10,000.00 yuan once") for x in lines)
    every = screen(str(SCREENING / "register.jsonl"), "--as-of", AS_OF, "--out",
                   str(tmp_path / "every.parquet"), "--status", "all", "--no-progress")
    assert every.returncode == 0, every.stderr
    assert f"every.parquet ({total} rows)\n" in every.stdout


def test_parquet_in_and_small_chunks_give_the_same_table(tmp_path: Path) -> None:
    rng = random.Random(11)
    households = [random_household(rng, date(2024, 6, 1), hid=f"g{i:04d}") for i in range(150)]
    register = tmp_path / "register.parquet"
    flat_frame(households).write_parquet(register, row_group_size=97)
    whole, chunked = tmp_path / "whole.parquet", tmp_path / "chunked.parquet"
    assert screen(str(register), "--as-of", AS_OF, "--out", str(whole), "--no-progress",
                  "--terms", "--order", "household", "--status", "all").returncode == 0
    # 50 rows at a time: many households straddle two reads.
    done = screen(str(register), "--as-of", AS_OF, "--out", str(chunked), "--no-progress",
                  "--chunk-size", "50", "--terms", "--order", "household", "--status", "all")
    assert done.returncode == 0, done.stderr
    assert pl.read_parquet(whole).equals(pl.read_parquet(chunked))
    expected = expected_rows(households, date(2024, 6, 1))
    assert normalise(read_outcomes(chunked)) == normalise(expected)


def test_parquet_rows_are_grouped_by_outcome_within_each_row_group(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    rng = random.Random(12)
    households = [random_household(rng, date(2024, 6, 1), hid=f"o{i:04d}") for i in range(120)]
    register = tmp_path / "register.parquet"
    flat_frame(households).write_parquet(register)
    out = tmp_path / "screen.parquet"
    done = screen(str(register), "--as-of", AS_OF, "--out", str(out), "--no-progress",
                  "--chunk-size", "100", "--status", "GRANTED", "--status", "UNDETERMINED",
                  "--terms")
    assert done.returncode == 0, done.stderr
    every = expected_rows(households, date(2024, 6, 1))
    expected = [r for r in every if r["status"] in ("GRANTED", "UNDETERMINED")]
    # One row group per chunk: each is its households' rows, code by code.
    file = pq.ParquetFile(out)
    assert file.metadata.num_row_groups >= 4
    got: list[dict[str, Any]] = []
    for i in range(file.metadata.num_row_groups):
        group = read_table(file.read_row_group(i))
        ids = {r["household_id"] for r in group}
        assert normalise(group) == normalise(by_outcome(
            [r for r in expected if r["household_id"] in ids], every))
        got += group
    assert sorted(normalise(got), key=repr) == sorted(normalise(expected), key=repr)
    summary = json.loads((tmp_path / "screen.summary.json").read_text())
    assert summary["order"] == "outcome"
    assert summary["outcomeRows"] == len(expected)


def test_invalid_rows_go_to_the_errors_file_and_the_rest_is_screened(tmp_path: Path) -> None:
    out = tmp_path / "screen.parquet"
    done = screen(str(SCREENING / "register-with-errors.csv"), "--as-of", AS_OF,
                  "--out", str(out), "--no-progress", "--chunk-size", "7")
    assert done.returncode == 0, done.stderr
    with (tmp_path / "screen.errors.csv").open(encoding="utf-8") as f:
        errors = [(int(r["row"]), r["household_id"], r["field"], r["code"])
                  for r in csv.DictReader(f)]
    assert (5, "hh-002", "members[2].birthDate", "BIRTH_AFTER_AS_OF") in errors
    assert (12, "hh-004", "annualNetIncome", "NEGATIVE_AMOUNT") in errors
    assert (16, "hh-005", "povertyAlleviated", "WRONG_TYPE") in errors
    assert (22, "hh-007", "members[1].schoolStage", "INVALID_VALUE") in errors
    assert (34, "hh-010", "members[1].id", "DUPLICATE_MEMBER_ID") in errors
    summary = json.loads((tmp_path / "screen.summary.json").read_text())
    assert summary["households"]["invalid"] == 5
    assert summary["households"]["screened"] == 6
    assert summary["errorRows"] == len(errors)
    screened = {r["household_id"] for r in read_outcomes(out)}
    assert screened == {"hh-001", "hh-003", "hh-006", "hh-008", "hh-009", "hh-011"}


def test_the_errors_file_says_each_problem_in_chinese_then_english(tmp_path: Path) -> None:
    """``message`` is the code's Chinese text (the API's), ``message_en`` the English message
    with its details; rows, field paths and codes do not change with the language."""
    out = tmp_path / "screen.csv"
    done = screen(str(SCREENING / "register-with-errors.csv"), "--as-of", AS_OF,
                  "--out", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    with (tmp_path / "screen.errors.csv").open(encoding="utf-8") as f:
        rows = {(r["row"], r["field"], r["code"]): r for r in csv.DictReader(f)}
    birth = rows[("5", "members[2].birthDate", "BIRTH_AFTER_AS_OF")]
    assert birth["message"] == "出生日期晚于评估日期"
    negative = rows[("12", "annualNetIncome", "NEGATIVE_AMOUNT")]
    assert negative["message"] == "金额不能为负数"
    for r in rows.values():
        assert re.search(r"[\u4e00-\u9fff]", r["message"]), r
        assert r["message_en"] and not re.search(r"[\u4e00-\u9fff]", r["message_en"]), r


def test_only_the_statuses_asked_for_are_written(tmp_path: Path) -> None:
    out = tmp_path / "granted.csv"
    done = screen(str(SCREENING / "register.jsonl"), "--as-of", AS_OF, "--out", str(out),
                  "--status", "GRANTED", "--status", "UNDETERMINED", "--program", "monitoring",
                  "--no-progress")
    assert done.returncode == 0, done.stderr
    rows = read_outcomes(out)
    assert {r["status"] for r in rows} == {"GRANTED", "UNDETERMINED"}
    assert {r["program"] for r in rows} == {"monitoring"}
    summary = json.loads((tmp_path / "granted.summary.json").read_text())
    statuses = {r["status"] for r in summary["byProgram"]}
    assert "NOT_GRANTED" in statuses  # the summary counts every outcome
    undetermined = [r for r in rows if r["status"] == "UNDETERMINED"]
    assert undetermined and all(json.loads(r["missing_facts"]) for r in undetermined)


@pytest.mark.parametrize(("args", "message"), [
    (["--as-of", "2024-13-01"], "expected a date"),
    (["--program", "roads"], "UNKNOWN_PROGRAM"),
    (["--status", "MAYBE"], "unknown status"),
    (["--out-format", "ods"], "invalid choice"),
    (["--order", "region"], "invalid choice"),
    (["--order", "outcome", "--backend", "spark"], "--order is for the local backend"),
])
def test_bad_arguments_exit_2_without_a_traceback(
        args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = {"--as-of": AS_OF, "--out": str(tmp_path / "o.csv")}
    for k, v in zip(args[::2], args[1::2], strict=True):
        base[k] = v
    argv = ["screen", str(SCREENING / "register.csv"), "--no-progress"]
    for k, v in base.items():
        argv += [k, v]
    assert _main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def _main(argv: list[str]) -> int:
    from cli.main import main

    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own errors
        return int(exc.code or 0)


def test_unreadable_or_misshapen_input_exits_2(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = ["--as-of", AS_OF, "--out", str(tmp_path / "o.csv"), "--no-progress"]
    assert _main(["screen", str(tmp_path / "none.csv"), *out]) == 2
    assert "cannot read" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("householdId,colour\nh1,red\n", encoding="utf-8")
    assert _main(["screen", str(bad), *out]) == 2
    assert "unknown column(s) 'colour'" in capsys.readouterr().err
    odd = tmp_path / "odd.txt"
    odd.write_text("x", encoding="utf-8")
    assert _main(["screen", str(odd), *out]) == 2
    assert "format" in capsys.readouterr().err


def test_the_progress_bar_shows_households_per_second_in_chinese_and_english(
        tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c",
         "import sys; from rich.console import Console; import screening.console as c;"
         "from cli.main import main; sys.exit(main(sys.argv[1:]))",
         "screen", str(SCREENING / "register.csv"), "--as-of", AS_OF,
         "--out", str(tmp_path / "o.csv")],
        capture_output=True, text=True, timeout=120, check=False,
        env={"COLUMNS": "200", "TERM": "xterm", "FORCE_COLOR": "0", "PATH": "/usr/bin"})
    assert done.returncode == 0, done.stderr
    for words in ("筛查 screening", "户 households", "户/秒 households/s", "用时 elapsed",
                  "剩余 ETA"):
        assert words in done.stderr, words


@pytest.mark.parametrize("codec", ["none", "zstd"])
def test_the_output_compression_can_be_chosen(codec: str, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    default, chosen = tmp_path / "lz4.parquet", tmp_path / f"{codec}.parquet"
    for target, extra in ((default, []), (chosen, ["--compression", codec])):
        done = screen(str(SCREENING / "register.csv"), "--as-of", AS_OF, "--out", str(target),
                      "--no-progress", *extra)
        assert done.returncode == 0, done.stderr
    column = pq.ParquetFile(chosen).metadata.row_group(0).column(0)
    assert column.compression == {"none": "UNCOMPRESSED", "zstd": "ZSTD"}[codec]
    assert pq.ParquetFile(default).metadata.row_group(0).column(0).compression == "LZ4"
    assert pl.read_parquet(chosen).equals(pl.read_parquet(default))


def test_each_chunk_written_is_one_row_group(tmp_path: Path) -> None:
    # A chunk of every outcome holds more rows than pyarrow puts in a row group by default
    # (1Mi); it is still one row group, so a row group is always one chunk's households.
    import pyarrow as pa
    import pyarrow.parquet as pq

    from screening.writers import OutcomeWriter

    n = 1_100_000
    table = pa.table({"household_id": pa.array(range(n), pa.int64()),
                      "code": pa.DictionaryArray.from_arrays(
                          pa.array([i % 3 for i in range(n)], pa.uint8()),
                          pa.array(["a", "b", "c"]))})
    writer = OutcomeWriter(tmp_path / "big.parquet", "parquet")
    writer.write(table)
    writer.write(table.slice(0, 5))
    writer.close()
    meta = pq.ParquetFile(tmp_path / "big.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [n, 5]


def _broken_register() -> list[dict[str, Any]]:
    """A valid household, then one with problems of every layer (a value outside a closed
    set, a member without an id; negative money, money below the cent, a birth date after
    asOf, a grade out of range; contradictory facts), then a valid one."""
    rng = random.Random(12)
    good = [random_household(rng, date.fromisoformat(AS_OF), f"ok-{i}") for i in range(2)]
    bad: dict[str, Any] = {
        "id": "bad", "housingSafetyGrade": "Z", "annualNetIncome": -5, "disasterLoss": 0.125,
        "dibao": True, "dibaoMarginal": True, "monitoredSince": "2023-01-01",
        "members": [{"id": "m1", "birthDate": "2030-01-01"},
                    {"birthDate": "1980-01-01", "disabilityGrade": 9, "disabilityKind": "VISUAL"}]}
    return [good[0], bad, good[1]]


BROKEN_ERRORS = [
    ("annualNetIncome", "NEGATIVE_AMOUNT"), ("dibaoMarginal", "CONTRADICTORY_FACTS"),
    ("disasterLoss", "TOO_MANY_DECIMALS"), ("housingSafetyGrade", "INVALID_VALUE"),
    ("members[0].birthDate", "BIRTH_AFTER_AS_OF"),
    ("members[1].disabilityGrade", "DISABILITY_GRADE_RANGE"), ("members[1].id", "REQUIRED"),
    ("monitoredSince", "CONTRADICTORY_FACTS"),
]


@pytest.mark.parametrize("source", ["jsonl", "csv", "parquet"])
def test_every_problem_of_a_household_is_in_the_errors_file(source: str, tmp_path: Path
                                                            ) -> None:
    register = _broken_register()
    path = tmp_path / f"register.{source}"
    if source == "jsonl":
        path.write_text("".join(json.dumps(h) + "\n" for h in register), encoding="utf-8")
    else:
        frame = flat_frame(register)
        if source == "csv":
            frame.write_csv(path)
        else:
            frame.write_parquet(path)
    out = tmp_path / "screen.csv"
    done = screen(str(path), "--as-of", AS_OF, "--out", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    with (tmp_path / "screen.errors.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["field"], r["code"]) for r in rows) == BROKEN_ERRORS
    assert {r["household_id"] for r in rows} == {"bad"}
    summary = json.loads((tmp_path / "screen.summary.json").read_text())
    assert summary["households"] == {**summary["households"], "invalid": 1, "screened": 2}
    assert {r["household_id"] for r in read_outcomes(out)} == {"ok-0", "ok-1"}
