"""The household inputs, generated from the fact catalogue.

Each input fact of ``fixtures/facts.yaml`` is a field named as in the household JSON, with a
description in Chinese and English that says what happens when it is left out, and its unit.

- ``HouseholdFactsInput`` and ``MemberFactsInput``: closed sets are enums (``Relation``,
  ``SchoolStage``, ``DisabilityKind``, ``LaborCapacity``, ``HousingSafetyGrade``,
  ``EmploymentStatus``), generated from the catalogue's ``enums`` with each value's Chinese and
  English label. Code generators give clients typed values.
- ``HouseholdInput`` and ``MemberInput`` (deprecated where they are taken): the same fields with
  closed sets as ``String`` (e.g. ``housingSafetyGrade: "B"``), their values listed in the
  description and checked by the household validation like every other fact. Kept while
  clients move to the typed inputs (the contract's rule: add, deprecate, then remove).

An argument or input field of type ``HouseholdInput`` or ``HouseholdFactsInput`` reaches its
resolver as the contract's household JSON (a ``dict``, see ``HouseholdJSON``), not as an input
object: the two classes declare strawberry's ``from_input`` hook (the one ``strawberry.pydantic``
uses to build its own values) as ``household_json``. A 5-member household is ~80 input fields;
building strawberry input objects for them and turning those back into JSON cost more than
answering a remembered household, and the service wants the JSON anyway.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from enum import Enum
from typing import Any

import strawberry
from strawberry.types.arguments import InputContext

from policy.fact_catalogue import CATALOGUE, FactScopeName, InputFact

UNSET: Any = strawberry.UNSET

HouseholdJSON = dict[str, Any]
"""The contract's household JSON, as a resolver receives a ``HouseholdInput`` or
``HouseholdFactsInput``."""

_TYPES: dict[str, type] = {"text": str, "bool": bool, "money": float, "integer": int,
                           "date": date, "enum": str}


def _snake(name: str) -> str:
    # strawberry names a field by camel-casing its Python name back: the JSON name.
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _json(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


_UNITS = {"yuan/year": "元/年 (yuan a year)", "yuan": "元 (yuan, to the fen)",
          "yuan/person/year": "元/人/年 (yuan per person a year)", "years": "年 (years)",
          "ratio": "a ratio (0.5 = 50 %)"}


def describe(fact: InputFact, scope: FactScopeName = "household") -> str:
    """A field's description: what the fact is (ZH, then EN), its values and its default."""
    text = f"{fact.label.zh}：{fact.description.zh}。{fact.label.en}: {fact.description.en}."
    if fact.enum is not None:
        values = CATALOGUE.enums[fact.enum]
        text += " " + ", ".join(f"{v} ({label.zh} / {label.en})" for v, label in values.items())
        text += "."
    if fact.unit:
        text += f" Unit: {_UNITS.get(fact.unit, fact.unit)}"
        if fact.unit.startswith("yuan"):
            text += (", for the whole household (家庭合计)" if scope == "household"
                     else ", this member's own (本人)")
        text += "."
    if fact.required:
        text += " Required."
    elif fact.unknownWhenLeftOut:
        shown = f" ({_json(fact.absentAs)} in conditions)" if fact.absentAs is not None else ""
        text += f" Left out: unknown{shown}."
    else:
        text += f" Left out: {_json(fact.default)}."
    return text


def _enum(name: str) -> Any:
    """The catalogue's closed set ``name`` as a GraphQL enum, each value described ZH / EN."""
    labels = CATALOGUE.enums[name]
    members = {v: strawberry.enum_value(v, description=f"{label.zh} / {label.en}")
               for v, label in labels.items()}
    values = ", ".join(labels)
    cls = Enum(name, members)  # type: ignore[misc]
    cls.__module__ = __name__
    return strawberry.enum(cls, name=name, description=(
        f"A closed set of the fact catalogue (fixtures/facts.yaml): {values}. 事实目录中的枚举。"))


def _input_enums() -> dict[str, Any]:
    used = {f.enum for scope in ("household", "member") for f in CATALOGUE.inputs(scope)
            if f.enum is not None}
    return {name: _enum(name) for name in CATALOGUE.enums if name in used}


ENUMS = _input_enums()


def _type(fact: InputFact, typed: bool) -> Any:
    if typed and fact.enum is not None:
        return ENUMS[fact.enum]
    return _TYPES[fact.type]


def coerced_to_json(value: Any) -> Any:
    """graphql-core's coerced value of a ``HouseholdInput`` or ``HouseholdFactsInput`` as the
    contract's household JSON (what strawberry's input objects would give, field by field,
    without building them): the keys are already the GraphQL names (the JSON names), left-out
    fields are already absent, dates become ISO text and enum values their string."""
    if isinstance(value, dict):
        return {k: v if type(v) in _JSON_LEAVES else coerced_to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [x if type(x) in _JSON_LEAVES else coerced_to_json(x) for x in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):  # a closed set's value (HouseholdFactsInput)
        return value.value
    return value


_JSON_LEAVES = frozenset({str, int, float, bool, type(None)})


def household_json(_cls: type, value: Mapping[str, Any], _context: InputContext) -> Any:
    """strawberry's ``from_input`` hook of the household inputs: the coerced value as the
    contract's household JSON (``HouseholdJSON``)."""
    return coerced_to_json(dict(value))


def _input_class(name: str, scope: FactScopeName, description: str,
                 extra: dict[str, tuple[Any, str]], typed: bool = False,
                 as_json: bool = False) -> type:
    """A strawberry input class with a field per input fact of the scope (required ones first,
    then ``extra``, then the others, each in the catalogue's order); ``typed``: closed sets as
    enums; ``as_json``: a value of it is built as household JSON (``household_json``)."""
    facts = CATALOGUE.inputs(scope)
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    for fact in (f for f in facts if f.required):
        annotations[_snake(fact.name)] = _type(fact, typed)
        namespace[_snake(fact.name)] = strawberry.field(description=describe(fact, scope))
    for field, (annotation, text) in extra.items():
        annotations[field] = annotation
        namespace[field] = strawberry.field(description=text)
    for fact in (f for f in facts if not f.required):
        annotations[_snake(fact.name)] = _type(fact, typed) | None
        namespace[_snake(fact.name)] = strawberry.field(default=UNSET,
                                                        description=describe(fact, scope))
    namespace["__annotations__"] = annotations
    namespace["__module__"] = __name__
    namespace["__doc__"] = description
    cls = strawberry.input(type(name, (), namespace), description=description)
    if as_json:
        # The definition is declared with the hook before any schema reads it (strawberry's
        # decorator takes no from_input argument; integrations pass it to the definition).
        cls.__strawberry_definition__.from_input = household_json  # type: ignore[attr-defined]
    return cls


_MAX = CATALOGUE.limits.maxMembers
MemberInput = _input_class(
    "MemberInput", "member",
    "A household member (the household JSON's member object), closed sets as strings; "
    "MemberFactsInput has them as enums. 家庭成员。", {})
HouseholdInput = _input_class(
    "HouseholdInput", "household",
    "Household facts; left-out fields take the contract's defaults, left-out optional facts "
    "are unknown. Closed sets are strings here; HouseholdFactsInput has them as enums. "
    "家庭信息：未填写的字段取默认值，未填写的可选事实为未知。",
    {"members": (list[MemberInput],  # type: ignore[valid-type]
                 f"The household's members, 1 to {_MAX}. 家庭成员（1至{_MAX}人）。")},
    as_json=True)
MemberFactsInput = _input_class(
    "MemberFactsInput", "member",
    "A household member (the household JSON's member object), closed sets as enums. 家庭成员。",
    {}, typed=True)
HouseholdFactsInput = _input_class(
    "HouseholdFactsInput", "household",
    "Household facts, closed sets as enums (the household JSON's keys and values); left-out "
    "fields take the contract's defaults, left-out optional facts are unknown. "
    "家庭信息（枚举类型）：未填写的字段取默认值，未填写的可选事实为未知。",
    {"members": (list[MemberFactsInput],  # type: ignore[valid-type]
                 f"The household's members, 1 to {_MAX}. 家庭成员（1至{_MAX}人）。")},
    typed=True, as_json=True)

HOUSEHOLD_DEPRECATED = ("Closed sets are strings here; send facts (HouseholdFactsInput, the same "
                        "fields with enums) instead.")
