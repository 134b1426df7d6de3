"""Help in Chinese first, with English: the parser class of every ``policy-engine`` command.

Every help text, description and epilog is written as a Chinese sentence ending with ``。``,
a space, then the English (``只评估该项目（可重复）。 restrict to a program (repeatable)``).
``Parser`` adds argparse's own words in both languages (``用法 usage:``, ``位置参数 positional
arguments``, ``选项 options``, the ``-h`` help) and gives its subcommands the parser class and
their help as their description; ``HelpFormatter`` wraps by the columns a terminal shows (a
Chinese character takes two) and starts the English on a line of its own.

argparse's error messages are said the same way: ``Parser.error`` puts the Chinese of argparse's
message before it (``policy-engine evaluate: 错误 error: 缺少必需的参数：file。 the following
arguments are required: file``), the English exactly as argparse wrote it, exit status 2. A
``type=`` function's ``ArgumentTypeError`` may be in both languages already (``中文。 English``);
a message it does not know is led by ``命令参数有误。``.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from collections.abc import Callable
from typing import Any, NoReturn

SEPARATOR = "。 "  # between the Chinese and the English of a help text
USAGE = "用法 usage: "
POSITIONALS = "位置参数 positional arguments"
OPTIONALS = "选项 options"
HELP = "显示此帮助并退出。 show this help message and exit"
ERROR = "错误 error: "
ERROR_ZH = "命令参数有误"  # the Chinese of an error message argparse's templates do not match
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


def _invalid_value(found: re.Match[str]) -> str:
    kind = {"int": "整数", "float": "数字"}.get(found["type"])
    if kind is None:
        return f"{found['value']} 不是有效的值（{found['type']}）"
    return f"{found['value']} 不是{kind}"


# The messages argparse (Python 3.11) passes to ``error``, from its English templates, with
# their Chinese; the messages of an ``ArgumentError`` appear inside ``argument NAME: ...``.
_TEMPLATES: list[tuple[str, str | Callable[[re.Match[str]], str]]] = [
    # ArgumentParser.error
    (r"the following arguments are required: (?P<names>.*)", "缺少必需的参数：{names}"),
    (r"unrecognized arguments: (?P<args>.*)", "无法识别的参数：{args}"),
    (r"one of the arguments (?P<names>.*) is required", "以下参数须给出其一：{names}"),
    (r"ambiguous option: (?P<option>.*) could match (?P<matches>.*)",
     "选项 {option} 有歧义，可能是 {matches}"),
    (r"unexpected option string: (?P<option>.*)", "意外的选项：{option}"),
    (r"cannot have multiple subparser arguments", "不能有多组子命令"),
    # ArgumentError, inside "argument NAME: ..."
    (r"invalid choice: (?P<value>.*) \(choose from (?P<choices>.*)\)",
     "无效的选择 {value}（可选：{choices}）"),
    (r"invalid (?P<type>\S+) value: (?P<value>.*)", _invalid_value),
    (r"expected one argument", "需要一个值"),
    (r"expected at most one argument", "最多只能给一个值"),
    (r"expected at least one argument", "至少需要一个值"),
    (r"expected (?P<count>\d+) arguments?", "需要 {count} 个值"),
    (r"not allowed with argument (?P<other>.*)", "不能与参数 {other} 同时使用"),
    (r"ignored explicit argument (?P<value>.*)", "该选项不接受值，却给了 {value}"),
    (r"unknown parser (?P<name>.*) \(choices: (?P<choices>.*)\)",
     "未知的子命令 {name}（可选：{choices}）"),
    (r"can't open '(?P<file>.*)': (?P<error>.*)", "无法打开文件 '{file}'：{error}"),
    (r"(?P<type>.*) is not callable", "类型 {type} 不可调用"),
]
_HAN = re.compile(r"[\u4e00-\u9fff]")


def _chinese(message: str) -> str | None:
    """The Chinese of one of argparse's messages, if it is one."""
    for pattern, zh in _TEMPLATES:
        found = re.fullmatch(pattern, message, re.DOTALL)
        if found is not None:
            return zh.format(**found.groupdict()) if isinstance(zh, str) else zh(found)
    return None


def _bilingual(message: str) -> tuple[str, str] | None:
    """A message already in both languages (``中文。 English``), as its two parts."""
    zh, sep, en = message.partition(SEPARATOR)
    return (zh, en) if sep and _HAN.search(zh) and en.strip() else None


def translate(message: str, commands: frozenset[str] = frozenset()) -> tuple[str, str]:
    """The Chinese and the English of an error message argparse passes to ``error``.

    The English is argparse's message, but for an argument's own message in both languages
    (an ``ArgumentTypeError`` of a ``type=`` function), whose English alone follows
    ``argument NAME:``. ``commands`` are the names argparse gives the parser's subcommand
    arguments: an invalid choice there is an unknown command.
    """
    zh = _chinese(message)
    if zh is not None:
        return zh, message
    if message.startswith("argument "):
        # "argument NAME: MESSAGE": the name ends at the first ": " after which the message
        # is one of argparse's or in both languages, else at the first.
        rest = message[len("argument "):]
        splits = [found.start() for found in re.finditer(": ", rest)]
        for at in splits:
            name, inner = rest[:at], rest[at + 2:]
            zh = _chinese(inner)
            if zh is not None and name in commands and inner.startswith("invalid choice: "):
                return "未知的命令" + zh.removeprefix("无效的选择"), message
            if zh is not None:
                return f"参数 {name}：{zh}", message
            both = _bilingual(inner)
            if both is not None:
                return f"参数 {name}：{both[0]}", f"argument {name}: {both[1]}"
        if splits:
            return f"参数 {rest[:splits[0]]} 有误", message
    return _bilingual(message) or (ERROR_ZH, message)


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

    def error(self, message: str) -> NoReturn:
        """The usage, then argparse's message in Chinese and in English; exit status 2."""
        commands = frozenset(
            _action_name(action) for action in self._actions
            if isinstance(action, argparse._SubParsersAction))
        zh, en = translate(message, commands)
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: {ERROR}{zh.removesuffix('。')}{SEPARATOR}{en}\n")


def _action_name(action: argparse.Action) -> str:
    """The name argparse's errors give ``action`` (as its ``_get_action_name`` does)."""
    if action.option_strings:
        return "/".join(action.option_strings)
    for name in (action.metavar, action.dest):
        if isinstance(name, str) and name != argparse.SUPPRESS:
            return name
    return "{" + ",".join(action.choices or ()) + "}"


def add_lang(parser: argparse.ArgumentParser) -> None:
    """The ``--lang`` option of a command whose output is Chinese by default."""
    parser.add_argument("--lang", choices=["ZH", "EN"], default="ZH", help=LANG_HELP)
