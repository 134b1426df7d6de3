"""``policy-engine --help`` and every command's ``--help``: Chinese first, with English.

The commands are found in the parser ``cli.main.build_parser`` builds, so a command or an
argument added without a help text in both languages fails here.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from cli.bilingual import HELP, OPTIONALS, POSITIONALS, SEPARATOR, USAGE, width, wrap
from cli.main import build_parser, main

HAN = re.compile(r"[\u4e00-\u9fff]")
LETTERS = re.compile(r"[A-Za-z]")


def commands(parser: argparse.ArgumentParser,
             path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...],
                                                           argparse.ArgumentParser]]:
    """Every parser under ``parser`` (itself first), with the words that reach it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


COMMANDS = dict(commands(build_parser()))


def assert_bilingual(text: str | None, what: str) -> None:
    """A Chinese sentence ending with 。, a space, then English (without Chinese)."""
    assert text, f"{what}: no help text"
    zh, sep, en = text.partition(SEPARATOR)
    assert sep, f"{what}: no {SEPARATOR!r} between the Chinese and the English: {text!r}"
    assert HAN.search(zh), f"{what}: no Chinese before {SEPARATOR!r}: {text!r}"
    assert LETTERS.search(en), f"{what}: no English after {SEPARATOR!r}: {text!r}"
    assert not HAN.search(en), f"{what}: Chinese in the English part: {text!r}"


def test_every_command_is_found() -> None:
    names = {" ".join(path) for path in COMMANDS}
    assert {"", "evaluate", "validate", "screen", "diff", "serve", "token create", "token list",
            "token revoke", "jobs purge", "rescreen", "verify", "audit", "migrate", "export",
            "export-schema", "export-docs", "events ingest", "events recorrelate",
            "alerts list", "webhook set", "webhook deliveries", "cases list"} <= names
    assert len([path for path in COMMANDS if len(path) == 1]) == 18


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda path: " ".join(path) or "-")
def test_every_help_text_is_chinese_then_english(path: tuple[str, ...]) -> None:
    parser = COMMANDS[path]
    where = " ".join(("policy-engine", *path))
    assert_bilingual(parser.description, f"{where}: description")
    if parser.epilog is not None:
        assert_bilingual(parser.epilog, f"{where}: epilog")
    for action in parser._actions:
        assert_bilingual(action.help, f"{where} {'/'.join(action.option_strings) or action.dest}")
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert_bilingual(choice.help, f"{where} {choice.dest}")


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda path: " ".join(path) or "-")
def test_help_output_is_chinese_then_english(path: tuple[str, ...],
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(USAGE + " ".join(("policy-engine", *path)))
    assert f"\n{OPTIONALS}:\n" in out
    zh_help, _, en_help = HELP.partition(SEPARATOR)
    assert "-h, --help" in out and f"{zh_help}。\n" in out and f" {en_help}\n" in out
    parser = COMMANDS[path]
    if any(not a.option_strings for a in parser._actions):
        assert f"\n{POSITIONALS}:\n" in out
    assert "\npositional arguments:" not in out and "\noptions:" not in out
    # The description's Chinese on its lines, then its English on lines of its own.
    assert parser.description is not None
    assert "".join(parser.description.split()) in "".join(out.split())
    assert f"\n{parser.description.partition(SEPARATOR)[2].split()[0]} " in out
    for line in out.splitlines():
        if HAN.search(line):
            assert width(line) <= 80, f"wider than the terminal: {line!r}"


def test_the_installed_command_prints_the_help() -> None:
    done = subprocess.run([sys.executable, "-m", "cli.main", "evaluate", "--help"],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "COLUMNS": "100", "PYTHONIOENCODING": "utf-8"})
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("用法 usage: policy-engine evaluate [-h] --as-of AS_OF")
    assert "  --as-of AS_OF         评估日期（YYYY-MM-DD）。\n" in out
    assert "                        the date to evaluate on (YYYY-MM-DD)\n" in out
    assert "  --program PROGRAM     只评估该项目（可重复）。\n" in out
    assert "位置参数 positional arguments:\n  file                  家庭 JSON 文件。\n" in out


def test_wrapping_counts_a_chinese_character_as_two_columns() -> None:
    text = "只评估该项目（可重复），用于汇总表或 --explain education.compulsory_living_subsidy"
    # Closing punctuation stays with the character before it; a word longer than a line has
    # a line of its own.
    assert wrap(text, 20) == ["只评估该项目（可重", "复），用于汇总表或", "--explain",
                              "education.compulsory_living_subsidy"]
    assert wrap("依据（见 docs/screening.md）。", 10) == ["依据（见", "docs/screening.md）。"]
    assert wrap("one two three", 7) == ["one two", "three"]
    assert width("用法 usage:") == 11
