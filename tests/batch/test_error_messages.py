"""Every code batch screening can write to an errors file has a Chinese text there: the API's
(``policy.messages``) or the file's own (``screening.writers.FILE_ZH``)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from engine.batch.layout import ERRORS
from policy.messages import ZH
from screening.writers import ERROR_COLUMNS, FILE_ZH, chinese_message, with_chinese

ROOT = Path(__file__).resolve().parents[2]
# Codes the batch sources write: ``"code": "X"`` in a row, a row tuple's code after its field
# (``"row", "MALFORMED_ROW"``), a list of one code, and the catalogue's check codes.
_SITES = [re.compile(r'"code":\s*"([A-Z][A-Z0-9_]+)"'),
          re.compile(r'"(?:row|household)",\s*"([A-Z][A-Z0-9_]+)"'),
          re.compile(r'\["([A-Z][A-Z0-9_]+)"\]\s*\*'),
          re.compile(r'code="([A-Z][A-Z0-9_]+)"'),
          re.compile(r'(?:rangeCode|code):\s*([A-Z][A-Z0-9_]+)')]
_NOT_ERRORS = {"GRANTED", "NOT_GRANTED", "UNDETERMINED"}


def test_every_code_the_batch_sources_write_has_a_chinese_text() -> None:
    found: set[str] = set()
    for path in [*ROOT.glob("engine/batch/*.py"), *ROOT.glob("screening/*.py"),
                 *ROOT.glob("policy/facts.py"), ROOT / "fixtures" / "facts.yaml"]:
        text = path.read_text(encoding="utf-8")
        for pattern in _SITES:
            found.update(pattern.findall(text))
    found -= _NOT_ERRORS
    assert {"INVALID_JSON", "MALFORMED_ROW", "EVALUATION_ERROR", "WRONG_TYPE"} <= found
    assert sorted(found - ZH.keys() - FILE_ZH.keys()) == []
    for code in found:
        assert re.search(r"[\u4e00-\u9fff]", chinese_message(code)), code
        assert "{" not in chinese_message(code), code


def test_rows_keep_their_code_and_field_and_gain_the_chinese_message() -> None:
    rows = pl.DataFrame([(3, "h1", "members[0].birthDate", "BIRTH_AFTER_AS_OF",
                          "2030-01-01 is after asOf 2024-06-01"),
                         (4, "h2", "annualNetIncome", "NEGATIVE_AMOUNT", "must be 0 or more"),
                         (7, None, "row", "MALFORMED_ROW", "line 8 has 3 cell(s)"),
                         (9, "h3", "x", "A_CODE_WITHOUT_A_TEXT", "details")],
                        schema=ERRORS, orient="row")
    got = with_chinese(rows)
    assert tuple(got.columns) == ERROR_COLUMNS
    assert got.select("row", "household_id", "field", "code").rows() == \
        rows.select("row", "household_id", "field", "code").rows()
    assert got["message_en"].to_list() == rows["message"].to_list()
    assert got["message"].to_list() == [
        "出生日期晚于评估日期", "金额不能为负数", FILE_ZH["MALFORMED_ROW"],
        "未能筛查（错误代码 A_CODE_WITHOUT_A_TEXT）"]
