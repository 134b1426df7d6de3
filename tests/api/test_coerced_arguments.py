"""The household inputs reach their resolvers as household JSON: strawberry's ``from_input``
hook of ``HouseholdInput`` and ``HouseholdFactsInput`` (``graphql_api.inputs.household_json``)
builds it from graphql-core's coerced value. It must be exactly what strawberry's ordinary
conversion (input objects, field by field) turned into JSON gives, for generated households,
explicit nulls and left-out fields, with closed sets as strings and as enums."""

from __future__ import annotations

import dataclasses
import random
from datetime import date
from enum import Enum
from typing import Any

import pytest
import strawberry
from graphql import coerce_input_value
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.types.arguments import convert_argument
from strawberry.utils.str_converters import to_camel_case

from graphql_api import inputs
from graphql_api.schema import build_schema
from services.config import Settings
from testing.households import random_household

SCHEMA = build_schema(Settings(env="dev"))
CLASSES = {"HouseholdInput": inputs.HouseholdInput,
           "HouseholdFactsInput": inputs.HouseholdFactsInput}


def _without_hook(cls: Any) -> Any:
    """The same input class, converted by strawberry the ordinary way (no ``from_input``)."""
    plain = type(f"Plain{cls.__name__}", (cls,), {})
    plain.__strawberry_definition__ = dataclasses.replace(  # type: ignore[attr-defined]
        cls.__strawberry_definition__, from_input=None, origin=plain)
    return plain


def _object_to_json(obj: Any) -> Any:
    """Strawberry input objects as household JSON: camelCase keys, left-out fields left out."""
    if isinstance(obj, list):
        return [_object_to_json(x) for x in obj]
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, Enum):
        return obj.value
    if hasattr(obj, "__strawberry_definition__"):
        return {to_camel_case(k): _object_to_json(v) for k, v in vars(obj).items()
                if v is not strawberry.UNSET}
    return obj


def both_ways(type_name: str, household: dict[str, Any]) -> tuple[Any, Any]:
    coerced = coerce_input_value(household, SCHEMA._schema.type_map[type_name])
    registry, config = SCHEMA.schema_converter.scalar_registry, SCHEMA.config
    cls = CLASSES[type_name]
    hooked = convert_argument(coerced, cls, registry, config)
    ordinary = convert_argument(coerced, _without_hook(cls), registry, config)
    assert not isinstance(ordinary, dict)  # built as input objects
    return hooked, _object_to_json(ordinary)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10**6), nulls=st.lists(st.sampled_from(
    ["regionCode", "monitoredSince", "dibao", "annualNetIncome", "housingSafetyGrade"]),
    unique=True), member_nulls=st.lists(st.sampled_from(
        ["relation", "disabilityGrade", "medicalOutOfPocket", "schoolStage"]), unique=True),
    type_name=st.sampled_from(sorted(CLASSES)))
def test_the_hook_gives_what_strawberrys_input_objects_give(
        seed: int, nulls: list[str], member_nulls: list[str], type_name: str) -> None:
    household = random_household(random.Random(seed), date(2024, 6, 1), hid=f"g-{seed}")
    for name in nulls:
        household[name] = None
    for member in household["members"]:
        for name in member_nulls:
            member[name] = None
    hooked, ordinary = both_ways(type_name, household)
    assert type(hooked) is dict
    assert hooked == ordinary


@pytest.mark.parametrize("type_name", sorted(CLASSES))
@pytest.mark.parametrize("household", [
    {"id": "x", "members": [{"id": "m", "birthDate": "2000-02-29"}]},
    {"id": "x", "monitoredSince": "2023-01-31", "members": []},
    {"id": "x", "housingSafetyGrade": "C",
     "members": [{"id": "m", "birthDate": "1960-05-01", "relation": "SPOUSE",
                  "disabilityGrade": 2, "disabilityKind": "PHYSICAL",
                  "employmentStatus": "UNEMPLOYED", "medicalOutOfPocket": 12.5}]},
])
def test_dates_enums_and_left_out_fields(type_name: str, household: dict[str, Any]) -> None:
    hooked, ordinary = both_ways(type_name, household)
    assert hooked == ordinary == household


def test_the_evaluate_resolver_is_the_declared_one() -> None:
    """The schema serves the strawberry resolvers as declared: nothing is swapped in after
    the schema is built."""
    query = SCHEMA._schema.query_type
    assert query is not None
    for name in ("evaluate", "evaluateMany"):
        field = query.fields[name]
        declared = field.extensions["strawberry-definition"]
        assert declared.base_resolver is not None
        assert field.resolve is not None
        assert field.resolve.__module__.startswith("strawberry."), field.resolve


@pytest.mark.parametrize("given", [
    {"key": "a", "asOf": "2024-06-01", "household": {"id": "x", "members": [
        {"id": "m", "birthDate": "2000-02-29", "relation": "HEAD"}]}},
    {"key": "b", "asOf": "2023-01-31", "facts": {"id": "y", "housingSafetyGrade": "D",
                                                 "members": [{"id": "m", "birthDate": "1960-05-01",
                                                              "employmentStatus": "UNEMPLOYED"}]}},
    {"key": "c", "asOf": "2024-06-01", "household": None, "facts": None},
])
def test_evaluate_items_are_built_as_strawberrys_input_objects(given: dict[str, Any]) -> None:
    from graphql_api.schema import EvaluateItem

    item_type = SCHEMA._schema.type_map["EvaluateItem"]
    coerced = coerce_input_value(given, item_type)
    registry, config = SCHEMA.schema_converter.scalar_registry, SCHEMA.config
    hooked = convert_argument(coerced, EvaluateItem, registry, config)
    ordinary = convert_argument(coerced, _without_hook(EvaluateItem), registry, config)
    assert isinstance(hooked, EvaluateItem)
    assert vars(hooked) == vars(ordinary)
    assert hooked.as_of == date.fromisoformat(given["asOf"])
    for name in ("household", "facts"):
        assert getattr(hooked, name) == given.get(name)
