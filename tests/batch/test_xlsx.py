"""Excel registers: an .xlsx register (the CSV layout, Chinese column headers accepted) is
screened exactly as its CSV twin, and the outcome table and summary can be written as .xlsx
with Chinese headers."""

from __future__ import annotations

import csv
import json
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from cli.main import main
from screening.sources import COLUMN_LABELS
from screening.writers import ZH_HEADERS
from services.rulesets import FIXTURES

REGISTER = FIXTURES / "screening" / "register.csv"
ZH = COLUMN_LABELS
BOOLS = {"true": True, "false": False}


def _typed(name: str, text: str) -> Any:
    """A cell as a spreadsheet holds it: numbers, booleans and dates typed, not text."""
    if text == "":
        return None
    if text in BOOLS:
        return BOOLS[text]
    if name in ("birthDate", "monitoredSince"):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return text
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text else number


def _xlsx_twin(csv_path: Path, out: Path, chinese: bool) -> Path:
    book = Workbook()
    sheet = book.active
    with csv_path.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    sheet.append([ZH[h] if chinese else h for h in header])
    for row in rows[1:]:
        sheet.append([_typed(n, t) for n, t in zip(header, row, strict=True)])
    sheet.append([])  # a trailing empty row, as spreadsheets keep
    book.save(out)
    return out


def _screen(register: Path, out: Path, *more: str) -> int:
    return main(["screen", str(register), "--as-of", "2024-06-01", "--out", str(out),
                 "--no-progress", "--status", "all", "--layout", "long", *more])


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("chinese", [True, False], ids=["chinese-headers", "names"])
def test_an_xlsx_register_screens_as_its_csv_twin(tmp_path: Path, chinese: bool) -> None:
    twin = _xlsx_twin(REGISTER, tmp_path / "register.xlsx", chinese)
    assert _screen(REGISTER, tmp_path / "from-csv.csv") == 0
    assert _screen(twin, tmp_path / "from-xlsx.csv") == 0
    from_csv, from_xlsx = _rows(tmp_path / "from-csv.csv"), _rows(tmp_path / "from-xlsx.csv")
    assert len(from_csv) > 100 and from_xlsx == from_csv
    summaries = [json.loads((tmp_path / f"from-{k}.summary.json").read_text(encoding="utf-8"))
                 for k in ("csv", "xlsx")]
    for s in summaries:
        s.pop("input"), s.pop("output"), s.pop("errors"), s.pop("seconds")
        s.pop("householdsPerSecond")
    assert summaries[0] == summaries[1]


def _damaged_twins(tmp_path: Path, field: str, text: str, chinese: bool) -> Path:
    """The fixture register with the first row's ``field`` written ``text``, screened as CSV
    (to csv-out.csv) and as its .xlsx twin (to xlsx-out.csv); the twin."""
    bad = tmp_path / "bad.csv"
    lines = REGISTER.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index(field)] = text
    bad.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n", encoding="utf-8")
    assert _screen(bad, tmp_path / "csv-out.csv") == 0
    twin = _xlsx_twin(bad, tmp_path / "bad.xlsx", chinese=chinese)
    assert _screen(twin, tmp_path / "xlsx-out.csv") == 0
    return twin


def test_errors_of_an_xlsx_register_name_its_rows(tmp_path: Path) -> None:
    _damaged_twins(tmp_path, "birthDate", "not-a-date", chinese=True)
    assert _rows(tmp_path / "xlsx-out.errors.csv") == _rows(tmp_path / "csv-out.errors.csv")
    assert len(_rows(tmp_path / "xlsx-out.errors.csv")) >= 1


def _read(path: Path) -> list[list[Any]]:
    """Every chunk's rows, as the screen command reads the register."""
    from screening.sources import XlsxSource

    return [row for chunk in XlsxSource(path, 4).chunks() if chunk.frame is not None
            for row in chunk.frame.rows()]


def test_both_readers_read_every_kind_of_cell_alike(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """calamine (the fast reader) and openpyxl (the one for workbooks with error cells) give
    the same text for every cell: numbers whole and not, large and tiny, dates, date-times,
    times, durations, percentages, booleans, texts with spaces, formulas' cached values, empty
    rows between households, and a sheet whose columns start in column B."""
    import datetime as dt

    import screening.sources as sources

    for left in (0, 1):
        book = Workbook()
        sheet = book.active
        pad: list[Any] = [None] * left
        sheet.append([*pad, "householdId", "memberId", "relation", "birthDate",
                      "annualNetIncome", "medicalOutOfPocket", "tekun", "regionCode"])
        rows = [
            ["hh-1", "m1", "HEAD", dt.date(1970, 1, 2), 9336, 0.1, True, " 371311 "],
            ["hh-1", "m2", "SPOUSE", dt.datetime(1971, 5, 6), 9336.5, 1e20, False, 371311],
            [],
            ["hh-2", "m1", "HEAD", dt.datetime(1980, 1, 2, 13, 5), -0.0, 1 / 3, None, "中文"],
            ["hh-2", 2, "CHILD", dt.time(12, 30), 12345678901234567890, dt.timedelta(hours=5),
             "TRUE", None],
            ["hh-3", "m1", "HEAD", 44000, "=1+1", 0.25, 1, "x"],
        ]
        for row in rows:
            sheet.append([*pad, *row] if row else [])
        sheet.cell(7, left + 5).number_format = "yyyy-mm-dd"
        sheet.cell(7, left + 6).number_format = "0%"
        path = tmp_path / f"cells-{left}.xlsx"
        book.save(path)
        if left:  # a column left empty before the header: refused alike by both
            with pytest.raises(sources.LayoutError) as fast:
                sources.XlsxSource(path, 4)
            monkeypatch.setattr(sources, "_has_error_cells", lambda _: True)
            with pytest.raises(sources.LayoutError) as slow:
                sources.XlsxSource(path, 4)
            monkeypatch.undo()
            assert str(fast.value) == str(slow.value)
            continue
        fast_rows = _read(path)
        monkeypatch.setattr(sources, "_has_error_cells", lambda _: True)
        slow_rows = _read(path)
        monkeypatch.undo()
        assert fast_rows == slow_rows and len(fast_rows) == 5


def test_an_error_cell_is_its_text_as_in_a_csv_export(tmp_path: Path) -> None:
    """A cell holding an error value (#N/A, say a lookup that found nothing) is read as its
    text, as a CSV export of the sheet holds it: refused where an amount is expected, as in
    the CSV twin, not taken for an amount left out."""
    twin = _damaged_twins(tmp_path, "annualNetIncome", "#N/A", chinese=False)
    assert b't="e"' in zipfile.ZipFile(twin).read("xl/worksheets/sheet1.xml")
    def said(path: Path) -> list[tuple[str, ...]]:  # (the texts quote whole amounts as
        # a spreadsheet shows them: 16800, where the CSV says 16800.0)
        return [(e["row"], e["household_id"], e["field"], e["code"]) for e in _rows(path)]

    errors = said(tmp_path / "xlsx-out.errors.csv")
    assert errors == said(tmp_path / "csv-out.errors.csv")
    assert errors and {e[2] for e in errors} == {"annualNetIncome"}


def test_an_unknown_header_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    book = Workbook()
    book.active.append(["家庭编号", "成员编号", "不存在的列"])
    book.save(tmp_path / "odd.xlsx")
    assert _screen(tmp_path / "odd.xlsx", tmp_path / "out.csv") == 2
    assert "不存在的列" in capsys.readouterr().err


def test_outcomes_and_summary_as_xlsx_with_chinese_headers(tmp_path: Path) -> None:
    assert _screen(REGISTER, tmp_path / "out.csv") == 0
    assert _screen(REGISTER, tmp_path / "out.xlsx") == 0
    # Read-only workbooks hold their file open until closed (left to the garbage collector,
    # the ResourceWarning fails whichever test happens to be running then).
    book = load_workbook(tmp_path / "out.xlsx", read_only=True)
    rows = list(book["筛查结果"].iter_rows(values_only=True))
    book.close()
    header = list(rows[0])
    expected = _rows(tmp_path / "out.csv")
    assert header == [ZH_HEADERS[n] for n in expected[0]]
    assert len(rows) - 1 == len(expected)
    names = list(expected[0])
    for got, want in zip(rows[1:], expected, strict=True):
        cells = [*got, *[None] * (len(names) - len(got))]  # a row's empty tail is not kept
        for name, value in zip(names, cells, strict=True):
            text = "" if value is None else (str(value).lower() if isinstance(value, bool)
                                             else str(value))
            assert text == want[name] or float(text) == float(want[name]), (name, got, want)
    summary = load_workbook(tmp_path / "out.summary.xlsx", read_only=True)
    assert summary.sheetnames == ["概况", "按项目", "按地区"]
    overview = dict(summary["概况"].iter_rows(values_only=True))
    by_program = list(summary["按项目"].iter_rows(values_only=True))
    summary.close()
    data = json.loads((tmp_path / "out.summary.json").read_text(encoding="utf-8"))
    assert overview["筛查户数"] == data["households"]["screened"]
    assert overview["结果行数"] == data["outcomeRows"] == len(expected)
    assert by_program[0] == ("项目", "结果代码", "名称", "状态", "周期", "结果数", "金额（元）")
    assert len(by_program) - 1 == len(data["byProgram"])
    # Each item by its title beside its code.
    titles = {row[1]: row[2] for row in by_program[1:]}
    assert titles["disability.living_subsidy"] == "困难残疾人生活补贴"
