"""Help in Chinese first, with English: the parser class of every ``policy-engine`` command.

Every help text, description and epilog is written as a Chinese sentence ending with ``。``,
a space, then the English (``只评估该项目（可重复）。 restrict to a program (repeatable)``).
``Parser`` adds argparse's own words in both languages (``用法 usage:``, ``位置参数 positional
arguments``, ``选项 options``, the ``-h`` help) and gives its subcommands the parser class and
their help as their description; ``HelpFormatter`` wraps by the columns a terminal shows (a
Chinese character takes two) and starts the English on a line of its own.
"""

from __future__ import annotations

import argparse
import re
import unicodedata
from typing import Any

SEPARATOR = "。 "  # between the Chinese and the English of a help text
USAGE = "用法 usage: "
POSITIONALS = "位置参数 positional arguments"
OPTIONALS = "选项 options"
HELP = "显示此帮助并退出。 show this help message and exit"
LANG_HELP = ("输出语言：ZH 中文（默认）或 EN 英文。 output language: ZH Chinese (default) or EN "
             "English")

_WIDE = "\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_CLOSING = "、。，；：！？）」』】》"
# What a line may be broken after: a run of spaces, a word of other letters, or one wide
# character; closing punctuation stays with what it follows, an opening bracket with what it
# opens.
_UNIT = re.compile(rf"\s+|[（「『【《]*(?:[^\s{_WIDE}]+|[{_WIDE}])[{_CLOSING}]*")


def width(text: str) -> int:
    """The columns ``text`` takes in a terminal."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap(text: str, columns: int) -> list[str]:
    """``text``'s lines of at most ``columns`` columns (a longer word has a line of its own)."""
    lines: list[str] = []
    line = ""
    for unit in _UNIT.findall(" ".join(text.split())):
        if unit.isspace():
            line += " " if line else ""
        elif line and width(line) + width(unit) > columns:
            lines.append(line.rstrip())
            line = unit
        else:
            line += unit
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _parts(text: str) -> list[str]:
    zh, sep, en = text.partition(SEPARATOR)
    return [zh + sep.strip(), en] if sep and en.strip() else [text]


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter with the usage prefix in both languages and lines wrapped by
    terminal columns, the English of a help text starting a line of its own."""

    def add_usage(self, usage: str | None, actions: Any, groups: Any,
                  prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, USAGE if prefix is None else prefix)

    def _format_usage(self, usage: str | None, actions: Any, groups: Any,
                      prefix: str | None) -> str:
        # argparse indents the usage's further lines by the prefix's characters, not columns.
        first, *rest = super()._format_usage(usage, actions, groups, prefix).split("\n")
        shift = " " * (width(prefix or "") - len(prefix or ""))
        return "\n".join([first, *(shift + line if line.strip() else line for line in rest)])

    def _split_lines(self, text: str, width: int) -> list[str]:
        return [line for part in _parts(text) for line in wrap(part, width)]

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(indent + line for part in _parts(text)
                         for line in wrap(part, width - len(indent)))


class _Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subcommands whose help is also their description (shown by ``COMMAND --help``)."""

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if "help" in kwargs:
            kwargs.setdefault("description", kwargs["help"])
        return super().add_parser(name, **kwargs)


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose help is in Chinese and English; its subcommands' parsers
    are of this class too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        add_help = kwargs.get("add_help", True)
        kwargs["add_help"] = False  # the help option is added below, its text in both languages
        super().__init__(*args, **kwargs)
        self._positionals.title = POSITIONALS
        self._optionals.title = OPTIONALS
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                              help=HELP)

    def add_subparsers(self, **kwargs: Any) -> Any:
        kwargs.setdefault("action", _Commands)
        return super().add_subparsers(**kwargs)


def add_lang(parser: argparse.ArgumentParser) -> None:
    """The ``--lang`` option of a command whose output is Chinese by default."""
    parser.add_argument("--lang", choices=["ZH", "EN"], default="ZH", help=LANG_HELP)
