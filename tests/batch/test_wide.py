"""The wide layout of every outcome (docs/decisions/0012-wide-outcome-layout.md): a row per
household and per member, a column per outcome code. It holds exactly the long layout's
outcomes for the same register, and is what ``--status all`` writes to CSV and xlsx unless
asked otherwise."""

from __future__ import annotations

import csv
import json
import random
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from openpyxl import load_workbook

from cli.main import main
from engine.batch import evaluator_for
from engine.batch.layout import ROW, check_flat, flat_frame
from engine.batch.table import ALL_STATUSES
from engine.batch.wide import (
    WIDE_STATUS_OF,
    _from_rows,
    _vectorised,
    evaluate_wide,
    wide_layout,
    wide_sides,
)
from engine.determine import determine
from screening.runner import WIDE_IDS, screen_file
from screening.writers import quoted_ahead, wide_csv
from services.rulesets import FIXTURES, load_catalog
from testing.households import random_household

AS_OF = date(2024, 6, 1)
SCREENING = FIXTURES / "screening"
FIXTURE_HOUSEHOLDS = [json.loads(p.read_text(encoding="utf-8"))
                      for p in sorted((FIXTURES / "households").glob("*.json"))]
STATUS_OF_LETTER = {letter: status for status, letter in WIDE_STATUS_OF.items()}
IDENTIFYING = ["household_id", "member_id", "region_code", "flags_monitoring"]


def _screen(register: Path, out: Path, *more: str) -> int:
    return main(["screen", str(register), "--as-of", AS_OF.isoformat(), "--out", str(out),
                 "--no-progress", *more])


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _summary(out: Path) -> dict[str, Any]:
    return json.loads(out.with_name(out.stem + ".summary.json").read_text(encoding="utf-8"))


def _number(text: str) -> float | None:
    return None if text == "" else float(text)


def _long_cells(path: Path) -> tuple[dict[tuple[str, str, str], tuple[Any, ...]],
                                     dict[str, bool]]:
    """The long file, pivoted: per (household, member, code) its status, amount, period,
    missing facts and terms; and per household whether an outcome flags it."""
    cells: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    flagged: dict[str, bool] = {}
    for r in _rows(path):
        key = (r["household_id"], r["member_id"], r["code"])
        assert key not in cells
        cells[key] = (r["status"], _number(r["amount"]), r["period"] or None,
                      json.loads(r["missing_facts"]) if r["missing_facts"] else None,
                      json.loads(r["terms"]) if r.get("terms") else None)
        flagged[r["household_id"]] = flagged.get(r["household_id"], False) \
            or r["flags_monitoring"] == "true"
    return cells, flagged


def _wide_cells(path: Path, columns: list[dict[str, Any]]
                ) -> tuple[dict[tuple[str, str, str], tuple[Any, ...]], dict[str, bool]]:
    """The wide file read back into the same cells (the period of a code's amount is the
    code's, from the summary's ``columns``)."""
    cells: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    flagged: dict[str, bool] = {}
    for r in _rows(path):
        missing = json.loads(r["missing_facts"]) if r["missing_facts"] else {}
        terms = json.loads(r["terms"]) if r.get("terms") else {}
        if r["member_id"] == "":
            flagged[r["household_id"]] = r["flags_monitoring"] == "true"
        else:
            assert r["flags_monitoring"] == ""
        for c in columns:
            code = c["code"]
            if r[code] == "":
                continue
            amount = _number(r[c["amountColumn"]]) if c["amountColumn"] else None
            period = (r[c["periodColumn"]] if c["periodColumn"] else c["period"]) \
                if amount is not None else None
            cells[(r["household_id"], r["member_id"], code)] = (
                STATUS_OF_LETTER[r[code]], amount, period or None, missing.pop(code, None),
                terms.pop(code, None))
        assert not missing and not terms  # every text belongs to one of the row's codes
    return cells, flagged


def _register(tmp_path: Path, n: int = 300) -> tuple[Path, list[dict[str, Any]]]:
    rng = random.Random(18)
    households = [random_household(rng, AS_OF, hid=f"hh-{i:04d}") for i in range(n)]
    households[7]["members"][0]["birthDate"] = "2030-01-01"  # invalid: not screened
    register = tmp_path / "register.jsonl"
    register.write_text("".join(json.dumps(h, ensure_ascii=False) + "\n" for h in households),
                        encoding="utf-8")
    return register, households


def test_the_wide_file_holds_exactly_the_outcomes_of_the_long_file(tmp_path: Path) -> None:
    register, households = _register(tmp_path)
    long_out, wide_out = tmp_path / "long.csv", tmp_path / "wide.csv"
    # Small chunks: households cut across chunks, and both layouts read the same way.
    assert _screen(register, long_out, "--status", "all", "--terms", "--layout", "long",
                   "--chunk-size", "37") == 0
    assert _screen(register, wide_out, "--status", "all", "--terms", "--chunk-size", "37") == 0
    summary = _summary(wide_out)
    assert summary["layout"] == "wide" and _summary(long_out)["layout"] == "long"
    long_cells, long_flags = _long_cells(long_out)
    wide_cells, wide_flags = _wide_cells(wide_out, summary["columns"])
    assert wide_cells == long_cells
    assert wide_flags == long_flags
    assert any(v[0] == "UNDETERMINED" and v[3] for v in wide_cells.values())
    assert any(v[1] is not None for v in wide_cells.values())
    assert any(v[4] for v in wide_cells.values())
    # A household's row, then its members' rows in order; the invalid household has none.
    rows = _rows(wide_out)
    expected = []
    for i, h in enumerate(households):
        if i != 7:
            expected += [(h["id"], "")] + [(h["id"], m["id"]) for m in h["members"]]
    assert [(r["household_id"], r["member_id"]) for r in rows] == expected
    assert summary["outcomeRows"] == len(rows)
    assert summary["households"]["invalid"] == 1
    assert {r["household_id"] for r in _rows(wide_out.with_name("wide.errors.csv"))} \
        == {households[7]["id"]}
    # Each row has its household's region code.
    regions = {h["id"]: h["regionCode"] for h in households}
    assert all(r["region_code"] == regions[r["household_id"]] for r in rows)


def test_a_member_and_a_household_outcome_land_where_documented(tmp_path: Path) -> None:
    out = tmp_path / "wide.csv"
    assert _screen(SCREENING / "register.jsonl", out, "--status", "all") == 0
    rows = _rows(out)
    columns = {c["code"]: c for c in _summary(out)["columns"]}
    assert columns["disability.living_subsidy"]["level"] == "member"
    assert columns["housing.repair"]["level"] == "household"
    versions = load_catalog().in_force(AS_OF)
    seen = set()
    for hh in FIXTURE_HOUSEHOLDS:
        det = determine(hh, AS_OF, versions)
        mine = [r for r in rows if r["household_id"] == hh["id"]]
        household_row, member_rows = mine[0], {r["member_id"]: r for r in mine[1:]}
        assert household_row["member_id"] == ""
        assert list(member_rows) == [m["id"] for m in hh["members"]]
        for program in det.programs:
            for o in program.outcomes:
                row = household_row if o.member_id is None else member_rows[o.member_id]
                other = member_rows if o.member_id is None else {"": household_row}
                assert row[o.code] == WIDE_STATUS_OF[o.status.value], (hh["id"], o.code)
                assert all(r[o.code] == "" for r in other.values())
                amount = columns[o.code]["amountColumn"]
                if o.amount is not None:
                    assert float(row[amount]) == float(o.amount)
                    assert columns[o.code]["period"] == getattr(o.period, "value", o.period)
                elif amount:
                    assert row[amount] == ""
                seen.add((o.code, o.status.value))
    # A member-level and a household-level code, each granted with an amount somewhere.
    assert ("disability.living_subsidy", "GRANTED") in seen
    assert ("housing.repair", "GRANTED") in seen


def test_the_header_follows_the_programs_and_codes_and_an_empty_register_has_it(
        tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    out = tmp_path / "wide.csv"
    assert _screen(empty, out, "--status", "all") == 0
    expected = list(IDENTIFYING)
    for program, _ in load_catalog().in_force(AS_OF):
        for code in program.outcome_codes():
            expected.append(code)
            rules = [r for r in program.document.rules if r.outcome == code]
            if any(r.amount is not None for r in rules):
                expected.append(f"{code}.amount")
    expected.append("missing_facts")
    assert out.read_text(encoding="utf-8").splitlines() == [",".join(expected)]
    summary = _summary(out)
    assert summary["outcomeRows"] == 0 and summary["households"]["read"] == 0
    # The versions are in the summary, not on every row.
    assert "version_hash" not in expected and "version" not in expected
    catalog = load_catalog().in_force(AS_OF)
    assert [(v["program"], v["version"], v["contentHash"]) for v in summary["versions"]] == [
        (p.code, p.document.version, p.content_hash) for p, _ in catalog]


def test_the_summary_holds_the_versions_and_the_columns(tmp_path: Path) -> None:
    out = tmp_path / "wide.csv"
    assert _screen(SCREENING / "register.jsonl", out, "--status", "all") == 0
    summary = _summary(out)
    versions = load_catalog().in_force(AS_OF)
    assert [v["contentHash"] for v in summary["versions"]] == [p.content_hash
                                                               for p, _ in versions]
    assert summary["layout"] == "wide" and summary["order"] == "household"
    with out.open(encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert [c["code"] for c in summary["columns"]] == [
        n for n in header if n not in IDENTIFYING and "." in n and not n.endswith(".amount")]
    assert "wide" in out.with_name("wide.summary.md").read_text(encoding="utf-8")


WORDS = {"G": "GRANTED", "N": "NOT_GRANTED", "U": "UNDETERMINED"}


def test_the_workbook_has_chinese_headers_and_the_csv_cells(tmp_path: Path) -> None:
    assert _screen(SCREENING / "register.csv", tmp_path / "out.csv", "--status", "all") == 0
    assert _screen(SCREENING / "register.csv", tmp_path / "out.xlsx", "--status", "all") == 0
    book = load_workbook(tmp_path / "out.xlsx", read_only=True)
    rows = list(book["筛查结果"].iter_rows(values_only=True))
    book.close()
    summary = load_workbook(tmp_path / "out.summary.xlsx", read_only=True)
    overview = dict(summary["概况"].iter_rows(values_only=True))
    summary.close()
    assert overview["结果布局"].startswith("宽表")
    expected = _rows(tmp_path / "out.csv")
    names = list(expected[0])
    header = list(rows[0])
    assert header[:4] == ["家庭编号", "成员编号", "行政区划代码", "纳入监测"]
    assert header[-1] == "缺失事实"
    assert "困难残疾人生活补贴（disability.living_subsidy）" in header
    assert "困难残疾人生活补贴 金额（元/月）" in header
    assert "危房加固维修补助 金额（元/次）" in header
    assert len(header) == len(names) and len(rows) - 1 == len(expected)
    for got, want in zip(rows[1:], expected, strict=True):
        cells = [*got, *[None] * (len(names) - len(got))]
        for name, value in zip(names, cells, strict=True):
            text = "" if value is None else (str(value).lower() if isinstance(value, bool)
                                             else str(value))
            if want[name] in WORDS:  # the workbook spells out the CSV's one-letter statuses
                assert text == WORDS[want[name]], (name, got, want)
                continue
            assert text == want[name] or float(text) == float(want[name]), (name, got, want)


@pytest.mark.parametrize(("args", "layout"), [
    (["--status", "all"], "wide"),
    ([], "long"),
    (["--status", "all", "--layout", "long"], "long"),
])
def test_which_layout_is_written(args: list[str], layout: str, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    assert _screen(SCREENING / "register.jsonl", out, *args) == 0
    assert _summary(out)["layout"] == layout
    assert ("code" in _rows(out)[0]) == (layout == "long")
    parquet = tmp_path / "out.parquet"
    assert _screen(SCREENING / "register.jsonl", parquet, *args) == 0
    assert _summary(parquet)["layout"] == ("long" if "--layout" not in args else layout)


def test_wide_parquet_holds_the_wide_csv(tmp_path: Path) -> None:
    assert _screen(SCREENING / "register.jsonl", tmp_path / "w.csv", "--status", "all") == 0
    assert _screen(SCREENING / "register.jsonl", tmp_path / "w.parquet", "--status", "all",
                   "--layout", "wide") == 0
    got = pl.read_parquet(tmp_path / "w.parquet")
    expected = pl.read_csv(tmp_path / "w.csv", infer_schema=False)
    assert got.columns == expected.columns
    as_text = got.with_columns(pl.all().cast(pl.String)).with_columns(
        pl.col(pl.String).str.replace(r"\.0$", ""))
    assert as_text.fill_null("").rows() == expected.with_columns(
        pl.col(pl.String).str.replace(r"\.0$", "")).fill_null("").rows()


@pytest.mark.parametrize("args", [
    ["--layout", "wide"],                              # GRANTED and UNDETERMINED only
    ["--layout", "wide", "--status", "GRANTED"],
    ["--status", "all", "--order", "outcome"],         # the wide layout has one order
    ["--status", "all", "--backend", "spark", "--layout", "wide"],  # Spark writes long
])
def test_a_wide_layout_of_some_outcomes_or_another_order_is_refused(
        args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _screen(SCREENING / "register.jsonl", tmp_path / "out.csv", *args) == 2
    err = capsys.readouterr().err
    assert "BAD_ARGUMENT" in err and "Traceback" not in err
    assert not (tmp_path / "out.csv").exists()


def test_screen_file_keeps_the_long_layout_unless_asked(tmp_path: Path) -> None:
    versions = load_catalog().in_force(AS_OF)
    summary = screen_file(SCREENING / "register.jsonl", tmp_path / "out.csv", AS_OF, versions)
    assert summary["layout"] == "long"
    with pytest.raises(ValueError, match="every outcome"):
        screen_file(SCREENING / "register.jsonl", tmp_path / "x.csv", AS_OF, versions,
                    statuses=frozenset({"GRANTED"}), layout="wide")


def _checked(households: list[dict[str, Any]]) -> Any:
    raw = flat_frame(households)
    raw = raw.with_columns(pl.int_range(1, raw.height + 1, dtype=pl.Int64).alias(ROW))
    return check_flat(raw, AS_OF, text=False)


def test_outcome_rows_put_in_columns_give_the_columns_read_from_the_frames() -> None:
    # The households the interactive engine evaluates are put in columns from their outcome
    # rows: that path, given the vectorised evaluator's rows of ordinary households, gives
    # what the columns read from the frames give.
    versions = load_catalog().in_force(AS_OF)
    ev = evaluator_for(versions, AS_OF)
    rng = random.Random(5)
    households = [random_household(rng, AS_OF, hid=f"hh-{i}") for i in range(120)]
    checked = _checked(households)
    for terms in (False, True):
        layout = wide_layout(ev, terms)
        columns, summary, _ = _vectorised(ev, layout, checked.households, checked.members,
                                          keys=True)
        long = ev.evaluate(checked.households, checked.members, ALL_STATUSES, terms=True)
        frame = ev.as_polars(long.outcomes)
        # The long rows' household: its place in the chunk; their order: the API's.
        index = {h: i for i, h in enumerate(checked.households["household_id"].to_list())}
        frame = frame.with_columns(
            _h=pl.col("household_id").replace_strict(index, return_dtype=pl.UInt32),
            _k=pl.int_range(pl.len(), dtype=pl.UInt32))
        from_rows = _from_rows(layout, frame, summary.with_columns(
            _h=pl.int_range(pl.len(), dtype=pl.UInt32)), checked.members)
        assert from_rows.sort("_h", "_k").equals(columns.sort("_h", "_k"))


def test_an_unusual_household_goes_to_the_interactive_engine_and_the_rest_stay_in_place(
        ) -> None:
    # A number the vectorised path is not proven on (only a frame can hold one: validation
    # refuses it) sends the household to the interactive engine, which refuses it as the
    # long layout's evaluation does; the other households' rows are as without it.
    versions = load_catalog().in_force(AS_OF)
    ev = evaluator_for(versions, AS_OF)
    checked = _checked(FIXTURE_HOUSEHOLDS)
    hh = checked.households.with_columns(
        annualNetIncome=pl.when(pl.int_range(pl.len()) == 2).then(2e15)
        .otherwise(pl.col("annualNetIncome")))
    layout = wide_layout(ev)
    wide = evaluate_wide(ev, layout, hh, checked.members)
    plain = evaluate_wide(ev, layout, checked.households, checked.members)
    long = ev.evaluate(hh, checked.members, ALL_STATUSES, terms=False)
    odd = hh["household_id"][2]
    assert [e.household_id for e in wide.errors] == [e.household_id for e in long.errors] \
        == [odd]
    assert wide.outcomes.equals(plain.outcomes.filter(pl.col("household_id") != odd))
    assert wide.households.equals(plain.households.filter(pl.col("household_id") != odd))


@pytest.mark.parametrize(("name", "said", "said_zh"), [
    ("out.csv", "G granted, N not granted, U undetermined", "G 享受，N 不享受，U 待定"),
    ("out.xlsx", "GRANTED, NOT_GRANTED or UNDETERMINED",
     "GRANTED 享受，NOT_GRANTED 不享受，UNDETERMINED 待定"),
])
def test_the_summary_says_how_the_cells_spell_a_status(name: str, said: str, said_zh: str,
                                                       tmp_path: Path) -> None:
    out = tmp_path / name
    assert _screen(SCREENING / "register.jsonl", out, "--status", "all") == 0
    assert _summary(out)["outputFormat"] == out.suffix[1:]
    lines = out.with_name("out.summary.md").read_text(encoding="utf-8").splitlines()
    layout = [i for i, line in enumerate(lines) if line.startswith("Layout: wide")]
    assert len(layout) == 1 and said in lines[layout[0]]
    # In Chinese first, as every heading of the summary.
    chinese = [i for i, line in enumerate(lines) if line.startswith("结果布局：宽表")]
    assert len(chinese) == 1 and said_zh in lines[chinese[0]] and chinese[0] < layout[0]
    headings = [line for line in lines if line.startswith("#")]
    assert headings == ["# 筛查概况 / Screening as of 2024-06-01",
                        "## 按项目和结果 / By program and outcome", "## 按地区 / By region"]


def _awkward_texts(rng: random.Random, n: int) -> list[str | None]:
    letters = ["a", "7", " ", ",", '"', "\n", "\r", "\t", "'", "家", "é", ";", "\\"]
    return [None if rng.random() < 0.2 else
            "".join(rng.choice(letters) for _ in range(rng.choice([0, 1, 2, 4, 9])))
            for _ in range(n)]


def test_texts_quoted_ahead_are_written_as_the_csv_writer_quotes_them() -> None:
    # Written with quote_style="never", a frame quoted_ahead made gives the default writer's
    # bytes: texts with separators, quotes, line ends, empty texts and nulls.
    rng = random.Random(5)
    n = 3000
    frame = pl.DataFrame({
        "household_id": _awkward_texts(rng, n),
        "member_id": [f"m-{i}" if i % 3 else None for i in range(n)],
        "flags_monitoring": [None if i % 4 == 0 else bool(i % 2) for i in range(n)],
        "x.code": pl.Series([rng.choice(["G", "N", "U", None]) for _ in range(n)],
                            dtype=pl.Enum(["G", "N", "U"])),
        "x.code.amount": [rng.choice([None, 0.1, 12.5, 1e21, -3.0]) for _ in range(n)],
        "missing_facts": [None if i % 5 else json.dumps({"x.code": ["a", 'b"c']})
                          for i in range(n)],
    })
    default = frame.write_csv()
    quoted = quoted_ahead(frame)
    assert quoted is not None
    assert quoted.write_csv(quote_style="never") == default
    plain = frame.select("member_id", "x.code")
    known = quoted_ahead(plain, plain=["member_id"])
    assert known is not None and known.write_csv(quote_style="never") == plain.write_csv()
    # What it cannot tell is left to the writer.
    assert quoted_ahead(frame.rename({"x.code": "x,code"})) is None
    assert quoted_ahead(frame.with_columns(pl.col("x.code").cast(pl.Enum(["G", "N", "U", "U,"])))
                        ) is None
    assert quoted_ahead(frame.with_columns(day=pl.lit(AS_OF))) is None


@pytest.mark.parametrize("awkward", [False, True])
def test_the_wide_csv_is_the_csv_writers_own_quoting(
        awkward: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The wide CSV written side by side (writers.wide_csv), and the table in place with its
    # quotes put in ahead, are byte for byte the file the writer's own quoting gives, whether
    # the ids need no quotes or some do.
    rng = random.Random(21)
    households = [random_household(rng, AS_OF, hid=f"hh-{i:04d}") for i in range(200)]
    if awkward:
        for i, h in enumerate(households[::7]):
            h["id"] = ['a,b', 'q"uote', "line\nend", "cr\r"][i % 4] + str(i)
            h["members"][0]["id"] = ['m,1', 'm"2', ""][i % 3] + str(i)
    register = tmp_path / "register.jsonl"
    register.write_text("".join(json.dumps(h, ensure_ascii=False) + "\n" for h in households),
                        encoding="utf-8")
    written: list[int] = []

    def counted(*args: Any) -> Any:
        rows = wide_csv(*args)
        written.append(0 if rows is None else rows.rows)
        return rows

    monkeypatch.setattr("screening.runner.wide_csv", counted)
    assert _screen(register, tmp_path / "sides.csv", "--status", "all", "--terms") == 0
    # Ids that need quotes: the table in place; otherwise side by side.
    assert sum(written) == (0 if awkward else _summary(tmp_path / "sides.csv")["outcomeRows"])
    monkeypatch.setattr("screening.runner.wide_sides", lambda *args: None)
    assert _screen(register, tmp_path / "ahead.csv", "--status", "all", "--terms") == 0
    monkeypatch.setattr("screening.runner.quoted_ahead", lambda frame, plain=(): None)
    assert _screen(register, tmp_path / "writer.csv", "--status", "all", "--terms") == 0
    ahead = (tmp_path / "ahead.csv").read_bytes()
    assert ahead == (tmp_path / "writer.csv").read_bytes() == \
        (tmp_path / "sides.csv").read_bytes()
    assert b'"{' in ahead  # JSON texts were quoted
    if awkward:
        assert b'"a,b0"' in ahead and b'"q""uote1"' in ahead


@pytest.mark.parametrize("terms", [False, True])
def test_the_rows_side_by_side_written_are_the_table_in_place_written(terms: bool) -> None:
    # Each side written on its own, the other side's columns as runs of commas, and the lines
    # put in place: the bytes the CSV writer writes for the table in place (quoted ahead).
    rng = random.Random(33)
    households = [*FIXTURE_HOUSEHOLDS,
                  *(random_household(rng, AS_OF, hid=f"hh-{i:04d}") for i in range(300))]
    ev = evaluator_for(load_catalog().in_force(AS_OF), AS_OF)
    layout = wide_layout(ev, terms)
    checked = _checked(households)
    hh, members = checked.households, checked.members
    table = quoted_ahead(evaluate_wide(ev, layout, hh, members).outcomes)
    assert table is not None
    sides = wide_sides(ev, layout, hh, members)
    assert sides is not None
    rows = wide_csv(sides, list(layout.schema), WIDE_IDS)
    assert rows is not None and rows.rows == table.height
    assert bytes(rows.text) == table.write_csv(include_header=False,
                                               quote_style="never").encode()
    assert b'"{' in bytes(rows.text)  # JSON texts, quoted
    # No households: no rows.
    none = wide_sides(ev, layout, hh.head(0), members.head(0))
    assert none is not None
    empty = wide_csv(none, list(layout.schema))
    assert empty is not None and (empty.rows, bytes(empty.text)) == (0, b"")
    # A text with a line end: the lines could not be told apart, left to the table in place.
    broken = replace(sides, households=sides.households.with_columns(
        missing_facts=pl.col("missing_facts").fill_null("line\nend")))
    assert wide_csv(broken, list(layout.schema), WIDE_IDS) is None
    # A household for the interactive engine: the table in place (evaluate_wide).
    odd = hh.with_columns(annualNetIncome=pl.when(pl.int_range(pl.len()) == 2).then(2e15)
                          .otherwise(pl.col("annualNetIncome")))
    assert wide_sides(ev, layout, odd, members) is None
