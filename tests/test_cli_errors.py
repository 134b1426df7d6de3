"""argparse's error messages: Chinese first, then argparse's English, exit status 2.

Every error argparse reports goes through ``cli.bilingual.Parser.error``, the parser class of
every command and subcommand: after the usage line, ``PROG: 错误 error: 中文。 English``, the
English exactly argparse's message (the ``type=`` functions' messages are in both languages at
their source, their English after ``argument NAME:`` as argparse prints it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from cli.bilingual import ERROR, SEPARATOR, USAGE, Parser, translate
from cli.main import build_parser, main
from tests.test_cli_help import commands

HAN = re.compile(r"[\u4e00-\u9fff]")
COMMANDS = dict(commands(build_parser()))
FILE = ["evaluate", "hh.json", "--as-of", "2024-06-01"]


def error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """The usage and the error line ``argv`` makes the CLI print (after exit status 2)."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(USAGE), err
    assert err.endswith("\n") and err.count(ERROR) == 1, err
    *usage, line = err.rstrip("\n").split("\n")
    return "\n".join(usage), line


def parts(line: str, prog: str) -> tuple[str, str]:
    """The Chinese and the English of an error line of ``prog``."""
    lead = f"{prog}: {ERROR}"
    assert line.startswith(lead), line
    zh, sep, en = line[len(lead):].partition(SEPARATOR)
    assert sep and HAN.match(zh), f"no Chinese first: {line!r}"
    assert not HAN.search(en), f"Chinese in the English: {line!r}"
    return zh, en


@pytest.fixture(autouse=True)
def _columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")


@pytest.mark.parametrize(("argv", "prog", "zh", "en"), [
    pytest.param(["evaluate"], "policy-engine evaluate", "缺少必需的参数：file, --as-of",
                 "the following arguments are required: file, --as-of", id="required"),
    pytest.param(["token"], "policy-engine token", "缺少必需的参数：token_command",
                 "the following arguments are required: token_command", id="required-command"),
    pytest.param([*FILE, "--foo", "bar"], "policy-engine", "无法识别的参数：--foo bar",
                 "unrecognized arguments: --foo bar", id="unrecognized"),
    pytest.param([*FILE, "--lang", "XX"], "policy-engine evaluate",
                 "参数 --lang：无效的选择 'XX'（可选：'ZH', 'EN'）",
                 "argument --lang: invalid choice: 'XX' (choose from 'ZH', 'EN')", id="choice"),
    pytest.param(["serve", "--workers", "x"], "policy-engine serve", "参数 --workers：'x' 不是整数",
                 "argument --workers: invalid int value: 'x'", id="int"),
    pytest.param(["jobs", "purge", "--older-than", "x"], "policy-engine jobs purge",
                 "参数 --older-than：'x' 不是数字",
                 "argument --older-than: invalid float value: 'x'", id="float"),
    pytest.param(["evaluate", "hh.json", "--as-of", "2024-13-01"], "policy-engine evaluate",
                 "参数 --as-of：应为日期，例如 2024-03-01，实为 '2024-13-01'",
                 "argument --as-of: expected a date such as 2024-03-01, got '2024-13-01'",
                 id="date"),
    pytest.param(["alerts", "list", "--since", "x"], "policy-engine alerts list",
                 "参数 --since：不是日期（YYYY-MM-DD）：'x'",
                 "argument --since: not a date (YYYY-MM-DD): 'x'", id="date-alerts"),
    pytest.param(["cases", "list", "--as-of", "x"], "policy-engine cases list",
                 "参数 --as-of：不是日期（YYYY-MM-DD）：'x'",
                 "argument --as-of: not a date (YYYY-MM-DD): 'x'", id="date-cases"),
    pytest.param(["token", "create", "--role", "r", "--name", "n", "--expires", "soon"],
                 "policy-engine token create",
                 "参数 --expires：应为日期（2027-01-01）或带时区的日期时间"
                 "（2027-01-01T08:00:00+08:00），实为 'soon'",
                 "argument --expires: expected a date (2027-01-01) or a date and time with a "
                 "zone (2027-01-01T08:00:00+08:00), got 'soon'", id="expiry"),
    pytest.param(["token", "create", "--role", "r", "--name", "n", "--expires",
                  "2027-01-01T08:00"], "policy-engine token create",
                 "参数 --expires：'2027-01-01T08:00' 没有时区（请加上 Z 或 +08:00）",
                 "argument --expires: '2027-01-01T08:00' has no time zone (add Z or +08:00)",
                 id="expiry-zone"),
    pytest.param(["verify", "--anchor", "7:abc"], "policy-engine verify",
                 "参数 --anchor：应为 ENTRY_ID:SHA256（即 verify 输出的链头），实为 '7:abc'",
                 "argument --anchor: expected ENTRY_ID:SHA256 (as verify prints the head), "
                 "got '7:abc'", id="anchor"),
    pytest.param(["evaluate", "hh.json", "--as-of"], "policy-engine evaluate",
                 "参数 --as-of：需要一个值", "argument --as-of: expected one argument",
                 id="expected-one"),
    pytest.param([*FILE, "--e", "x"], "policy-engine evaluate",
                 "选项 --e 有歧义，可能是 --explain, --encoding",
                 "ambiguous option: --e could match --explain, --encoding", id="ambiguous"),
    pytest.param(["audit", "--json=yes"], "policy-engine audit",
                 "参数 --json：该选项不接受值，却给了 'yes'",
                 "argument --json: ignored explicit argument 'yes'", id="explicit"),
    pytest.param(["export-docs", "laws"], "policy-engine export-docs",
                 "参数 document：无效的选择 'laws'（可选：'facts', 'policy'）",
                 "argument document: invalid choice: 'laws' (choose from 'facts', 'policy')",
                 id="positional-choice"),
])
def test_an_error_is_chinese_then_argparse_english(argv: list[str], prog: str, zh: str, en: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    usage, line = error(argv, capsys)
    assert usage.startswith(f"{USAGE}{prog} ")
    assert line == f"{prog}: {ERROR}{zh}{SEPARATOR}{en}"


@pytest.mark.parametrize(("argv", "prog", "dest"), [
    (["evalute"], "policy-engine", "command"),
    (["token", "bogus"], "policy-engine token", "token_command"),
])
def test_an_unknown_command(argv: list[str], prog: str, dest: str,
                            capsys: pytest.CaptureFixture[str]) -> None:
    _, line = error(argv, capsys)
    names = ", ".join(repr(path[-1]) for path in COMMANDS
                      if len(path) == len(argv) and list(path[:-1]) == argv[:-1])
    assert line == (f"{prog}: {ERROR}未知的命令 {argv[-1]!r}（可选：{names}）{SEPARATOR}"
                    f"argument {dest}: invalid choice: {argv[-1]!r} (choose from {names})")


def test_mutually_exclusive_and_counted_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    # No command has these yet: the messages a parser of the class would give them.
    parser = Parser(prog="policy-engine x")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--csv", action="store_true")
    group.add_argument("--json", action="store_true")
    parser.add_argument("--pair", nargs=2)
    parser.add_argument("--some", nargs="+")
    for argv, expected in [
        (["--csv", "--json"], "参数 --json：不能与参数 --csv 同时使用。 argument --json: not "
         "allowed with argument --csv"),
        ([], "以下参数须给出其一：--csv --json。 one of the arguments --csv --json is required"),
        (["--csv", "--pair", "a"], "参数 --pair：需要 2 个值。 argument --pair: expected 2 "
         "arguments"),
        (["--csv", "--some"], "参数 --some：至少需要一个值。 argument --some: expected at least "
         "one argument"),
    ]:
        with pytest.raises(SystemExit) as exited:
            parser.parse_args(argv)
        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith(f"{USAGE}policy-engine x ")
        assert err.endswith(f"\npolicy-engine x: {ERROR}{expected}\n")


def test_a_message_it_does_not_know_is_still_printed(
        capsys: pytest.CaptureFixture[str]) -> None:
    parser = COMMANDS[("evaluate",)]
    with pytest.raises(SystemExit) as exited:
        parser.error("something new went wrong: 42")
    assert exited.value.code == 2
    assert capsys.readouterr().err.endswith(
        f"\npolicy-engine evaluate: {ERROR}命令参数有误{SEPARATOR}something new went wrong: 42\n")
    assert translate("argument --x: went wrong") == ("参数 --x 有误", "argument --x: went wrong")
    # A message already in both languages is kept as it is.
    assert translate("出错了。 it went wrong") == ("出错了", "it went wrong")


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda path: " ".join(path) or "-")
def test_every_command_says_its_errors_in_chinese(path: tuple[str, ...],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # A command added later gets the class, so its errors are in both languages too.
    assert isinstance(COMMANDS[path], Parser)
    _, line = error([*path, "--no-such-option"], capsys)
    prog = line.partition(f": {ERROR}")[0]
    assert prog in {"policy-engine", " ".join(("policy-engine", *path))}, line
    zh, en = parts(line, prog)
    unrecognized = (en == "unrecognized arguments: --no-such-option"
                    and zh == "无法识别的参数：--no-such-option")
    required = (en.startswith("the following arguments are required: ")
                and zh.startswith("缺少必需的参数："))
    assert unrecognized or required, line


def test_the_installed_command_prints_the_error() -> None:
    done = subprocess.run([sys.executable, "-m", "cli.main", "serve", "--workers", "two"],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "COLUMNS": "100", "PYTHONIOENCODING": "utf-8"})
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "用法 usage: policy-engine serve [-h] [--host HOST] [--port PORT] [--workers WORKERS]\n"
        "policy-engine serve: 错误 error: 参数 --workers：'two' 不是整数。 argument --workers: "
        "invalid int value: 'two'\n")
