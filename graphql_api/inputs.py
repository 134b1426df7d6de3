"""``HouseholdInput`` and ``MemberInput``, generated from the fact catalogue.

Each input fact of ``fixtures/facts.yaml`` is a field named as in the household JSON, with a
description in Chinese and English that says what happens when it is left out. Closed sets stay
``String`` fields (clients send their values as strings in variables, e.g.
``housingSafetyGrade: "B"``); their values are listed in the description and checked by the
household validation like every other fact.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import strawberry

from policy.fact_catalogue import CATALOGUE, FactScopeName, InputFact

UNSET: Any = strawberry.UNSET

_TYPES: dict[str, type] = {"text": str, "bool": bool, "money": float, "integer": int,
                           "date": date, "enum": str}


def _snake(name: str) -> str:
    # strawberry names a field by camel-casing its Python name back: the JSON name.
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _json(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def describe(fact: InputFact) -> str:
    """A field's description: what the fact is (ZH, then EN), its values and its default."""
    text = f"{fact.label.zh}：{fact.description.zh}。{fact.label.en}: {fact.description.en}."
    if fact.enum is not None:
        values = CATALOGUE.enums[fact.enum]
        text += " " + ", ".join(f"{v} ({label.zh} / {label.en})" for v, label in values.items())
        text += "."
    if fact.unit:
        text += f" Unit: {fact.unit}."
    if fact.required:
        text += " Required."
    elif fact.unknownWhenLeftOut:
        shown = f" ({_json(fact.absentAs)} in conditions)" if fact.absentAs is not None else ""
        text += f" Left out: unknown{shown}."
    else:
        text += f" Left out: {_json(fact.default)}."
    return text


def _input_class(name: str, scope: FactScopeName, description: str,
                 extra: dict[str, tuple[Any, str]]) -> type:
    """A strawberry input class with a field per input fact of the scope (required ones first,
    then ``extra``, then the others, each in the catalogue's order)."""
    facts = CATALOGUE.inputs(scope)
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    for fact in (f for f in facts if f.required):
        annotations[_snake(fact.name)] = _TYPES[fact.type]
        namespace[_snake(fact.name)] = strawberry.field(description=describe(fact))
    for field, (annotation, text) in extra.items():
        annotations[field] = annotation
        namespace[field] = strawberry.field(description=text)
    for fact in (f for f in facts if not f.required):
        annotations[_snake(fact.name)] = _TYPES[fact.type] | None
        namespace[_snake(fact.name)] = strawberry.field(default=UNSET,
                                                        description=describe(fact))
    namespace["__annotations__"] = annotations
    namespace["__module__"] = __name__
    namespace["__doc__"] = description
    cls = type(name, (), namespace)
    return strawberry.input(cls, description=description)


_MAX = CATALOGUE.limits.maxMembers
MemberInput = _input_class(
    "MemberInput", "member",
    "A household member (the household JSON's member object). 家庭成员。", {})
HouseholdInput = _input_class(
    "HouseholdInput", "household",
    "Household facts; left-out fields take the contract's defaults, left-out optional facts "
    "are unknown. 家庭信息：未填写的字段取默认值，未填写的可选事实为未知。",
    {"members": (list[MemberInput],  # type: ignore[valid-type]
                 f"The household's members, 1 to {_MAX}. 家庭成员（1至{_MAX}人）。")})
