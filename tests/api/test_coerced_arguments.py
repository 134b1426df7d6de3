"""``evaluate`` reads graphql-core's coerced arguments (``coerced_to_json``) instead of
strawberry's input objects (``input_to_json``): both must give the same household JSON, for
generated households, explicit nulls and left-out fields."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest
from graphql import coerce_input_value
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.types.arguments import convert_arguments

from graphql_api.schema import Query, build_schema
from graphql_api.types import coerced_to_json, input_to_json
from services.config import Settings
from testing.households import random_household

SCHEMA = build_schema(Settings(env="dev"))
INPUT = SCHEMA._schema.type_map["HouseholdInput"]
ARGUMENTS = [a for a in Query.__strawberry_definition__.get_field("evaluate").arguments
             if a.python_name == "household"]


def through_strawberry(coerced: dict[str, Any]) -> Any:
    converted = convert_arguments({"household": coerced}, ARGUMENTS,
                                  SCHEMA.schema_converter.scalar_registry, SCHEMA.config)
    return input_to_json(converted["household"])


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10**6), nulls=st.lists(st.sampled_from(
    ["regionCode", "monitoredSince", "dibao", "annualNetIncome", "housingSafetyGrade"]),
    unique=True), member_nulls=st.lists(st.sampled_from(
        ["relation", "disabilityGrade", "medicalOutOfPocket", "schoolStage"]), unique=True))
def test_coerced_household_is_the_strawberry_household(seed: int, nulls: list[str],
                                                       member_nulls: list[str]) -> None:
    household = random_household(random.Random(seed), date(2024, 6, 1), hid=f"g-{seed}")
    for name in nulls:
        household[name] = None
    for member in household["members"]:
        for name in member_nulls:
            member[name] = None
    coerced = coerce_input_value(household, INPUT)
    assert coerced_to_json(coerced) == through_strawberry(coerced)


@pytest.mark.parametrize("household", [
    {"id": "x", "members": [{"id": "m", "birthDate": "2000-02-29"}]},
    {"id": "x", "monitoredSince": "2023-01-31", "members": []},
])
def test_dates_and_left_out_fields(household: dict[str, Any]) -> None:
    coerced = coerce_input_value(household, INPUT)
    assert coerced_to_json(coerced) == through_strawberry(coerced) == household
