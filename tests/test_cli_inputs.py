"""Every bad input to the command line is exit 2 with a message, never a traceback: text
encodings (UTF-8 with or without a BOM, UTF-16, GB18030/GBK with --encoding), numbers and
nesting JSON cannot hold, a rule-set directory that is not one, and CSV registers with broken
rows (reported row by row in the errors file) or a missing memberId column."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main
from services.rulesets import FIXTURES

AS_OF = "2024-06-01"
REGISTER = FIXTURES / "screening" / "register.csv"


def household(chinese: bool = True) -> str:
    data = json.loads((FIXTURES / "households" / "hh-002.json").read_text(encoding="utf-8"))
    if chinese:
        data["id"] = "户-甲"
    return json.dumps(data, ensure_ascii=False)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-32"])
def test_unicode_with_or_without_a_bom_is_read(tmp_path: Path, encoding: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hh.json"
    path.write_text(household(), encoding=encoding)
    code, out, err = run(["evaluate", str(path), "--as-of", AS_OF, "--format", "json"],
                         capsys)
    assert code == 0, err
    assert json.loads(out)["asOf"] == AS_OF


def test_gbk_needs_its_encoding_named(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hh.json"
    path.write_bytes(household().encode("gbk"))
    code, _, err = run(["evaluate", str(path), "--as-of", AS_OF], capsys)
    assert code == 2 and "[BAD_ENCODING]" in err and "--encoding gb18030" in err
    for name in ("gb18030", "gbk"):
        code, out, err = run(["evaluate", str(path), "--as-of", AS_OF, "--encoding", name,
                              "--format", "json"], capsys)
        assert code == 0, err
        assert json.loads(out)["asOf"] == AS_OF
    code, _, err = run(["evaluate", str(path), "--as-of", AS_OF, "--encoding", "klingon"],
                       capsys)
    assert code == 2 and "unknown encoding" in err


@pytest.mark.parametrize(("content", "says"), [
    ('{"id": "x", "members": [], "annualNetIncome": ' + "9" * 5000 + "}", "4,300 digits"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"id": ', "not valid JSON"),
])
def test_json_it_cannot_hold(tmp_path: Path, content: str, says: str,
                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hh.json"
    path.write_text(content, encoding="utf-8")
    code, _, err = run(["evaluate", str(path), "--as-of", AS_OF], capsys)
    assert code == 2 and says in err and "[INVALID_JSON]" in err


def test_a_junk_rulesets_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hh = tmp_path / "hh.json"
    hh.write_text(household(), encoding="utf-8")
    junk = tmp_path / "junk"
    junk.mkdir()
    empty = tmp_path / "empty"
    empty.mkdir()
    (junk / "a.yaml").write_text(": : :\n- [", encoding="utf-8")
    (junk / "b.json").write_bytes(b"\xff\xfe\x00garbage")
    for directory, says in ((tmp_path / "missing", "not a directory"),
                            (empty, "holds no rule-set document"), (junk, "a.yaml")):
        for command in (["evaluate", str(hh)],
                        ["screen", str(REGISTER), "--out", str(tmp_path / "o.csv"),
                         "--no-progress"]):
            code, _, err = run([*command, "--as-of", AS_OF, "--rulesets", str(directory)],
                               capsys)
            assert code == 2 and says in err and "[BAD_RULESETS]" in err, (command, err)


def _register_lines() -> list[str]:
    return REGISTER.read_text(encoding="utf-8").splitlines()


def _screen(tmp_path: Path, register: Path, capsys: pytest.CaptureFixture[str],
            *extra: str) -> tuple[int, str, list[dict[str, str]]]:
    out = tmp_path / "o.csv"
    code, _, err = run(["screen", str(register), "--as-of", AS_OF, "--out", str(out),
                        "--no-progress", *extra], capsys)
    errors_file = tmp_path / "o.errors.csv"
    rows = []
    if errors_file.exists():
        with errors_file.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    return code, err, rows


def test_a_gbk_register(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    register = tmp_path / "gbk.csv"
    text = "\n".join(_register_lines()).replace("hh-001", "户-001") + "\n"
    register.write_bytes(text.encode("gbk"))
    code, err, _ = _screen(tmp_path, register, capsys)
    assert code == 2 and "--encoding gb18030" in err and "[CANNOT_READ]" in err
    code, err, rows = _screen(tmp_path, register, capsys, "--encoding", "gb18030")
    assert code == 0 and rows == [], err
    assert "户-001" in (tmp_path / "o.csv").read_text(encoding="utf-8")
    header = register.read_bytes().split(b"\n")[0].replace(b"householdId", "户号".encode("gbk"))
    register.write_bytes(header + b"\n")
    code, err, _ = _screen(tmp_path, register, capsys)
    assert code == 2 and "[BAD_ENCODING]" in err


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_a_register_saved_as_utf16_or_utf32_is_refused_with_what_to_do(
        tmp_path: Path, encoding: str, capsys: pytest.CaptureFixture[str]) -> None:
    register = tmp_path / "wide.csv"
    register.write_bytes("\n".join(_register_lines()[:3]).encode(encoding))  # with its BOM
    code, err, _ = _screen(tmp_path, register, capsys)
    zh = f"错误：登记表保存为 {encoding.upper()} 编码，请另存为 CSV UTF-8（或 GB18030）后重新筛查"
    lines = err.splitlines()
    assert code == 2 and len(lines) == 2 and lines[0] == zh + "（BAD_ENCODING）"
    assert f"is saved as {encoding.upper()}: save the register as CSV UTF-8" in lines[1]
    assert "Traceback" not in err


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_a_register_headed_in_chinese_screens_as_with_the_documented_names(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], encoding: str) -> None:
    """A spreadsheet saved as CSV heads its columns with the facts' Chinese labels (家庭编号,
    出生日期, ...), sometimes with spaces around them: the same columns as the documented names."""
    from screening.sources import COLUMN_LABELS as zh

    lines = _register_lines()
    names = lines[0].split(",")
    assert set(names) <= set(zh), set(names) - set(zh)  # every column has a Chinese label
    headed = tmp_path / "headed.csv"
    headed.write_bytes(("\n".join([",".join(f" {zh[n]} " if i % 2 else zh[n]
                                             for i, n in enumerate(names)), *lines[1:]])
                        + "\n").encode(encoding))
    extra = ["--encoding", encoding] if encoding != "utf-8" else []
    code, err, rows = _screen(tmp_path, REGISTER, capsys, "--status", "all")
    assert code == 0 and rows == [], err
    expected = (tmp_path / "o.csv").read_bytes()
    code, err, rows = _screen(tmp_path, headed, capsys, "--status", "all", *extra)
    assert code == 0 and rows == [], err
    assert (tmp_path / "o.csv").read_bytes() == expected and expected.count(b"\n") > 20


@pytest.mark.parametrize("chunk", ["2", "100000"])
def test_a_gb18030_register_reads_as_its_utf8_twin(tmp_path: Path, chunk: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A register saved as GB18030 (a Chinese header, Chinese text in its cells, a truncated
    row) screens to the same outcomes and the same errors, row numbers included, as the same
    text in UTF-8, whichever block a line falls in."""
    from screening.sources import COLUMN_LABELS as zh

    lines = _register_lines()
    lines[0] = ",".join(zh[n] for n in lines[0].split(","))
    lines = [line.replace("hh-00", "户-") for line in lines]
    lines[6] = lines[6][: len(lines[6]) // 2]
    results = []
    for encoding in ("utf-8", "gb18030"):
        register = tmp_path / f"{encoding}.csv"
        register.write_bytes(("\n".join(lines) + "\n").encode(encoding))
        extra = ["--encoding", encoding] if encoding != "utf-8" else []
        code, err, rows = _screen(tmp_path, register, capsys, "--status", "all",
                                  "--chunk-size", chunk, *extra)
        assert code == 0, err
        results.append(((tmp_path / "o.csv").read_bytes(), rows))
    assert results[0] == results[1]
    outcomes, rows = results[0]
    # The truncated row's household (data rows 3-6) is refused whole, not screened without it.
    assert "户-".encode() in outcomes
    assert [(r["row"], r["code"]) for r in rows] == [("3", "INCOMPLETE_HOUSEHOLD"),
                                                     ("6", "MALFORMED_ROW")]
    assert rows[0]["household_id"].encode() not in outcomes


@pytest.mark.parametrize("chunk", ["2", "100000"])
def test_a_byte_not_in_gb18030_mid_file_names_its_line(
        tmp_path: Path, chunk: str, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _register_lines()
    register = tmp_path / "gb.csv"
    data = [line.encode("gb18030") for line in lines]
    data[8] = data[8].replace(b"hh-", b"\xff-", 1)  # 0xFF begins no GB18030 character
    register.write_bytes(b"\n".join(data) + b"\n")
    code, err, _ = _screen(tmp_path, register, capsys, "--encoding", "gb18030",
                           "--chunk-size", chunk)
    assert code == 2 and "Traceback" not in err
    assert "line 9 is not valid GB18030 (byte 0xFF)" in err and "[CANNOT_READ]" in err


def test_a_byte_not_in_another_encoding_mid_file_is_an_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Big5 is read by Arrow's reader, which decodes it with Python's codec: its decoding
    error is an error of the run too, not a traceback."""
    lines = _register_lines()
    register = tmp_path / "big5.csv"
    data = [line.encode("big5") for line in lines]
    data[8] = data[8].replace(b"hh-", b"\xff-", 1)
    register.write_bytes(b"\n".join(data) + b"\n")
    code, err, _ = _screen(tmp_path, register, capsys, "--encoding", "big5")
    assert code == 2 and "Traceback" not in err
    assert "not valid BIG5 (byte 0xFF)" in err and "[CANNOT_READ]" in err


def test_a_column_given_twice_is_refused(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    lines = _register_lines()
    register = tmp_path / "twice.csv"
    register.write_text("\n".join([lines[0] + ",家庭编号",
                                   *(line + "," + line.split(",")[0] for line in lines[1:])])
                        + "\n", encoding="utf-8")
    code, err, _ = _screen(tmp_path, register, capsys)
    assert code == 2 and "[BAD_LAYOUT]" in err and "'householdId'" in err
    assert "more than once" in err


def test_a_register_with_a_bom(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    register = tmp_path / "bom.csv"
    register.write_text(REGISTER.read_text(encoding="utf-8"), encoding="utf-8-sig")
    code, err, rows = _screen(tmp_path, register, capsys)
    assert code == 0 and rows == [], err


@pytest.mark.parametrize("damage", ["truncated", "unclosed quote"])
def test_broken_rows_are_reported_row_by_row(tmp_path: Path, damage: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    lines = _register_lines()
    if damage == "truncated":
        lines[-1] = lines[-1][: len(lines[-1]) // 2]
        line = len(lines)
    else:
        line = 5
        lines[line - 1] = lines[line - 1].replace("hh-", '"hh-', 1)
    register = tmp_path / "broken.csv"
    register.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, err, rows = _screen(tmp_path, register, capsys)
    assert code == 0, err
    malformed = [r for r in rows if r["code"] == "MALFORMED_ROW"]
    assert len(malformed) == 1 and malformed[0]["row"] == str(line - 1)
    assert f"line {line}" in malformed[0]["message_en"]
    assert malformed[0]["message"].startswith("该行格式错误")
    summary = json.loads((tmp_path / "o.summary.json").read_text(encoding="utf-8"))
    if damage == "truncated":  # the rest of the register was screened
        assert summary["households"]["screened"] >= 10
    else:  # the quote swallows the rest of the file: said so, with the number of lines
        assert f"ran it over {len(lines) - line + 1} lines" in malformed[0]["message_en"]


def test_a_register_without_member_ids(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    lines = _register_lines()
    at = lines[0].split(",").index("memberId")
    register = tmp_path / "nomember.csv"
    register.write_text("\n".join(",".join(c for i, c in enumerate(line.split(","))
                                           if i != at) for line in lines) + "\n",
                        encoding="utf-8")
    code, err, _ = _screen(tmp_path, register, capsys)
    assert code == 2 and "memberId" in err and "[BAD_LAYOUT]" in err


def test_no_traceback_in_a_real_process(tmp_path: Path) -> None:
    path = tmp_path / "hh.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "cli.main", "evaluate", str(path),
                           "--as-of", AS_OF], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "nested too deeply" in done.stderr


def test_every_code_the_command_line_reports_has_a_chinese_text() -> None:
    from cli import main as cli_main
    from policy.messages import ZH

    source = Path(cli_main.__file__).read_text(encoding="utf-8")
    # a code ends a message: ``... [CODE]"`` in the source
    codes = set(re.findall(r"\[([A-Z][A-Z0-9_]+)\][\"']", source))
    assert {"BAD_ARGUMENT", "CANNOT_READ", "BAD_LAYOUT", "UNKNOWN_PROGRAM"} <= codes
    assert sorted(c for c in codes if c not in cli_main.CLI_ZH and c not in ZH) == []


def test_an_error_says_what_went_wrong_in_chinese_first(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["screen", str(tmp_path / "missing.jsonl"), "--as-of", AS_OF,
                        "--out", str(tmp_path / "out.csv")], capsys)
    assert code == 2
    first, second = err.splitlines()[:2]
    assert first == "错误：无法读取文件（CANNOT_READ）"
    assert second.startswith("error: cannot read ") and second.endswith("[CANNOT_READ]")
    code, _, err = run(["screen", str(REGISTER), "--as-of", AS_OF, "--out",
                        str(tmp_path / "out.csv"), "--layout", "wide"], capsys)
    assert (code, err.splitlines()[0]) == (2, "错误：命令参数有误（BAD_ARGUMENT）")


def test_a_line_already_in_chinese_is_not_said_twice(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(household(chinese=False))
    data["members"][0]["birthDate"] = "2030-01-01"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    code, _, err = run(["evaluate", str(path), "--as-of", AS_OF], capsys)
    assert code == 2
    assert "出生日期晚于评估日期" in err and "[BIRTH_AFTER_AS_OF]" in err
    assert "错误：出生日期晚于评估日期" not in err
