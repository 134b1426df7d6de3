"""Error messages in the caller's language: Chinese (the default) or English, chosen by the
request's ``Accept-Language``. Codes and field paths never change with the language.

Every error the API gives has a stable code (``extensions.code`` of a GraphQL error, ``code``
of a userError or of a field error in ``extensions.errors``). The English message is the one
the service wrote, with its details (names, numbers). The Chinese message is the code's text
(``policy.messages``, shared with the command line and the errors files of batch screening),
with the same details where the error carries them as parameters (``extensions.params``); a
code without a text (none should be, a test scans the sources) says so in general words
rather than falling back to English.

>>> language("en-US,en;q=0.9")
'en'
>>> language("zh-CN,zh;q=0.9,en;q=0.8")
'zh'
>>> language("en;q=0.5, zh;q=0.8")
'zh'
>>> language("")
'zh'
>>> chinese("QUERY_TOO_DEEP", {"max": 12})
'查询嵌套过深：最多 12 层'
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError

from policy.messages import EN, ZH, Blank, chinese

__all__ = ["EN", "LANGUAGE", "ZH", "chinese", "classify", "language", "localise_error",
           "message"]

Lang = str  # "zh" | "en"

# The language of the request being executed (set by the HTTP view in the thread that runs
# the operation), read where userErrors are made.
LANGUAGE: contextvars.ContextVar[str] = contextvars.ContextVar("language", default="zh")


def language(accept_language: str | None) -> Lang:
    """``zh`` or ``en``, whichever the header prefers (by q-value, then order); ``zh`` when it
    names neither."""
    best: tuple[float, int, str] | None = None
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in ("zh", "en"):
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        if best is None or (q, -i) > (best[0], -best[1]):
            best = (q, i, primary)
    return best[2] if best else "zh"


# Where the error carries no code of its own, graphql-core's message says which kind it is.
def _pattern(text: str) -> re.Pattern[str]:
    """graphql-core quotes names with ' or ", by version: ``'`` here matches either, and
    ``{x}`` a quoted name captured as ``x``."""
    text = re.sub(r"'\{(\w+)\}'", r"['\"](?P<\1>[^'\"]+)['\"]", text)
    return re.compile(text.replace("''", "['\"][^'\"]+['\"]"))


_GRAPHQL_PATTERNS: list[tuple[re.Pattern[str], str, str]] = [(_pattern(p), c, t) for p, c, t in [
    ("^Cannot query field '{field}' on type '{type}'",
     "GRAPHQL_VALIDATION_FAILED", "类型 {type} 没有字段 {field}"),
    ("^Unknown argument '{arg}' on field '{field}'",
     "GRAPHQL_VALIDATION_FAILED", "字段 {field} 没有参数 {arg}"),
    ("^Field '{field}' argument '{arg}' of type '' is required",
     "GRAPHQL_VALIDATION_FAILED", "字段 {field} 缺少必填参数 {arg}"),
    ("^Field '{field}' of type '' must have a selection",
     "GRAPHQL_VALIDATION_FAILED", "字段 {field} 须选择子字段"),
    ("^Field '{field}' must not have a selection",
     "GRAPHQL_VALIDATION_FAILED", "字段 {field} 没有子字段可选"),
    ("^Unknown type '{name}'", "GRAPHQL_VALIDATION_FAILED", "未知类型 {name}"),
    ("^Unknown fragment '{name}'", "GRAPHQL_VALIDATION_FAILED", "未知片段 {name}"),
    ("^Cannot spread fragment '{name}' within itself",
     "GRAPHQL_VALIDATION_FAILED", "片段 {name} 不能引用自身"),
    # A literal of another type (the scalar's or enum's own words), or an input object's field
    # unknown or missing.
    ("^(?P<type>String|Int|Float|Boolean|ID) cannot represent (a )?non[- ].*? value: "
     "(?P<value>.*?)$", "GRAPHQL_VALIDATION_FAILED", "{value} 不是 {type} 类型的值"),
    ("^Value cannot represent a (?P<type>\\w+): (?P<value>.*?)\\. ",
     "GRAPHQL_VALIDATION_FAILED", "{value} 不是 {type} 类型的值"),
    ("^Value '{value}' does not exist in '{type}' enum",
     "GRAPHQL_VALIDATION_FAILED", "{value} 不是枚举 {type} 的取值"),
    ("^Expected value of type '{type}' not to include unknown field '{field}'",
     "GRAPHQL_VALIDATION_FAILED", "输入类型 {type} 没有字段 {field}"),
    ("^Expected value of type '{type}' to include required field '{field}'",
     "GRAPHQL_VALIDATION_FAILED", "输入类型 {type} 缺少必填字段 {field}"),
    ("^There can be only one input field named '{field}'",
     "GRAPHQL_VALIDATION_FAILED", "输入字段 {field} 重复"),
    ("^Variable '{name}' of required type '' was not provided",
     "BAD_USER_INPUT", "缺少必填变量 {name}"),
    ("^Variable '{name}' (got|has) invalid value (.*? )?at '?(?P<at>[^';:]+)'?[;:]",
     "BAD_USER_INPUT", "变量 {name} 中 {at} 的值不符合其类型"),
    ("^Variable '{name}' (got|has) invalid value",
     "BAD_USER_INPUT", "变量 {name} 的值不符合其类型"),
    ("^Variable '{name}' of non-null type '' must not be null",
     "BAD_USER_INPUT", "变量 {name} 不能为 null"),
    ("^Variable '{name}'", "BAD_USER_INPUT", "变量 {name} 无效"),
    ("introspection (has been|is) disabled", "INTROSPECTION_DISABLED",
     ZH["INTROSPECTION_DISABLED"]),
    ("Document contains more than (?P<max>\\d+) tokens", "QUERY_TOO_LARGE", ZH["QUERY_TOO_LARGE"]),
    ("^Unknown operation named '", "OPERATION_NOT_FOUND", ZH["OPERATION_NOT_FOUND"]),
]]


def classify(error: GraphQLError) -> tuple[str, dict[str, Any], str | None]:
    """An error's code, its parameters and, for graphql-core's own errors, a Chinese text
    made from its message (None: the code's text)."""
    extensions = error.extensions or {}
    code = extensions.get("code")
    params = dict(extensions.get("params") or {})
    if code is not None:
        return str(code), params, None
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        return "INTERNAL", params, None
    for pattern, kind, text in _GRAPHQL_PATTERNS:
        found = pattern.search(error.message)
        if found:
            return kind, {**params, **found.groupdict()}, text.format_map(
                Blank(found.groupdict()))
    if isinstance(error, GraphQLSyntaxError) or error.message.startswith("Syntax Error"):
        where = error.locations[0] if error.locations else None
        return "GRAPHQL_PARSE_FAILED", params, None if where is None else \
            f"查询语法错误（第 {where.line} 行第 {where.column} 列）"
    return "GRAPHQL_VALIDATION_FAILED", params, None


def localise_error(error: GraphQLError, lang: Lang) -> dict[str, Any]:
    """``error`` as the response shows it: ``extensions.code`` always, the message in
    ``lang``, field errors (``extensions.errors``) in ``lang`` too."""
    formatted: dict[str, Any] = error.formatted  # type: ignore[assignment]
    code, params, zh_text = classify(error)
    extensions = dict(formatted.get("extensions") or {})
    extensions["code"] = code
    extensions.pop("params", None)
    if lang == "zh":
        formatted["message"] = zh_text if zh_text is not None else chinese(code, params)
        inner = extensions.get("errors")
        if isinstance(inner, list):
            extensions["errors"] = [
                {**e, "message": chinese(str(e.get("code")), e.get("params"))}
                if isinstance(e, dict) else e for e in inner]
    formatted["extensions"] = extensions
    return formatted


def message(code: str, english: str, params: Mapping[str, Any] | None = None) -> str:
    """A userError's or refusal's message in the language of the request being served."""
    return english if LANGUAGE.get() == "en" else chinese(code, params)
