"""Excel registers: an .xlsx register (the CSV layout, Chinese column headers accepted) is
screened exactly as its CSV twin, and the outcome table and summary can be written as .xlsx
with Chinese headers."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from cli.main import main
from screening.sources import HEADER_ALIASES
from screening.writers import ZH_HEADERS
from services.rulesets import FIXTURES

REGISTER = FIXTURES / "screening" / "register.csv"
ZH = {name: zh for zh, name in HEADER_ALIASES.items()}
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


def test_errors_of_an_xlsx_register_name_its_rows(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    lines = REGISTER.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("birthDate")] = "not-a-date"
    bad.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n", encoding="utf-8")
    assert _screen(bad, tmp_path / "csv-out.csv") == 0
    twin = _xlsx_twin(bad, tmp_path / "bad.xlsx", chinese=True)
    assert _screen(twin, tmp_path / "xlsx-out.csv") == 0
    assert _rows(tmp_path / "xlsx-out.errors.csv") == _rows(tmp_path / "csv-out.errors.csv")
    assert len(_rows(tmp_path / "xlsx-out.errors.csv")) >= 1


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
    assert by_program[0] == ("项目", "结果代码", "状态", "周期", "结果数", "金额（元）")
    assert len(by_program) - 1 == len(data["byProgram"])
