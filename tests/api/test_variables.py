"""Compiled coercion of input-object variables (``graphql_api.variables``) gives exactly what
graphql-core gives: the same coerced values, or the same errors, for valid households, broken
ones and arbitrary JSON, and for input types with defaults, nested lists, ``@oneOf`` and
recursion."""

from __future__ import annotations

import copy
import math
import random
from datetime import date
from typing import Any

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLError,
    GraphQLField,
    GraphQLFloat,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    parse,
)
from graphql.execution.values import get_variable_values
from hypothesis import given, settings
from hypothesis import strategies as st

from graphql_api.schema import build_schema as build_service_schema
from graphql_api.variables import coercer, compiled_variable_values
from services.config import Settings
from testing.households import random_household

SCHEMA = build_service_schema(Settings(env="dev"))._schema
HOUSEHOLD = SCHEMA.type_map["HouseholdInput"]
EVALUATE = parse('query Q($h: HouseholdInput!, $d: Date!) { evaluate(household: $h, asOf: $d) '
                 '{ asOf } }').definitions[0].variable_definitions  # type: ignore[attr-defined]

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40),
                      st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                      st.sampled_from(["2024-02-29", "20240229", "2023-02-29", "HEAD", "C",
                                       "SENIOR", "1", ""]))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)


def same(schema: Any, definitions: Any, inputs: dict[str, Any]) -> Any:
    """Both coercions of ``inputs``; asserts they agree and returns graphql-core's."""
    expected = get_variable_values(schema, definitions, copy.deepcopy(inputs))
    got = compiled_variable_values(schema, definitions, inputs)
    if isinstance(expected, list):
        assert isinstance(got, list)
        assert [e.formatted for e in got] == [e.formatted for e in expected]
        return expected
    assert not isinstance(got, list), [e.message for e in got]
    assert _comparable(got.coerced) == _comparable(expected.coerced)
    assert {k: (s.value, str(s.signature.type), s.signature.default)
            for k, s in got.sources.items()} == {
        k: (s.value, str(s.signature.type), s.signature.default)
        for k, s in expected.sources.items()}
    return expected


def _comparable(value: Any) -> Any:
    # NaN is not equal to itself; types matter (1 and 1.0 must not pass for each other).
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    return (type(value).__name__, value)


MANY = parse('query Q($items: [EvaluateItem!]!, $loose: [EvaluateItem]) '
             '{ a: evaluateMany(items: $items) { key } b: evaluateMany(items: $loose) { key } }'
             ).definitions[0].variable_definitions  # type: ignore[attr-defined]


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(0, 4), value=json_value,
       how=st.sampled_from(["valid", "null item", "single", "item", "field", "not a list"]))
def test_lists_of_items_as_graphql_core(seed: int, n: int, value: Any, how: str) -> None:
    """evaluateMany's items: a list of input objects, compiled item by item; whatever is not a
    list of such objects is graphql-core's, with its values or its errors."""
    rng = random.Random(seed)
    items: Any = [{"key": f"k{i}", "asOf": "2024-06-01",
                   "facts": random_household(rng, date(2024, 6, 1), hid=f"m-{seed}-{i}")}
                  for i in range(n)]
    if how == "null item":
        items.insert(rng.randint(0, n), None)
    elif how == "single":
        items = items[0] if items else {"key": "k", "asOf": "2024-06-01"}
    elif how == "item" and items:
        items[rng.randrange(n)] = value
    elif how == "field" and items:
        items[rng.randrange(n)]["asOf"] = value
    elif how == "not a list":
        items = value
    result = same(SCHEMA, MANY, {"items": items, "loose": copy.deepcopy(items)})
    if how == "valid":
        assert not isinstance(result, list)


def test_the_household_input_is_compiled() -> None:
    assert coercer(HOUSEHOLD) is not None


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_generated_households(seed: int) -> None:
    household = random_household(random.Random(seed), date(2024, 6, 1), hid=f"v-{seed}")
    result = same(SCHEMA, EVALUATE, {"h": household, "d": "2024-06-01"})
    assert not isinstance(result, list)


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 10**6), where=st.integers(0, 10**6), value=json_value,
       how=st.sampled_from(["set", "delete", "wrap"]))
def test_broken_households(seed: int, where: int, value: Any, how: str) -> None:
    """One place in a valid household changed: a field set to any JSON value, deleted, or
    wrapped in a list (graphql-core takes a single value for a list of one)."""
    household = random_household(random.Random(seed), date(2024, 6, 1), hid=f"b-{seed}")
    places: list[tuple[dict[str, Any], str]] = [(household, k) for k in household]
    places += [(m, k) for m in household["members"] for k in m]
    places += [(household, "unknownField"), (household["members"][0], "alsoUnknown")]
    if household["members"]:
        places += [(household["members"][0], name) for name in
                   ("id", "birthDate", "disabilityGrade", "medicalOutOfPocket", "boarding")]
    target, key = places[where % len(places)]
    if how == "set":
        target[key] = value
    elif how == "delete":
        target.pop(key, None)
    elif key in target:
        target[key] = [target[key]]
    same(SCHEMA, EVALUATE, {"h": household, "d": "2024-06-01"})


@settings(max_examples=200, deadline=None)
@given(value=json_value)
def test_any_json_as_the_household(value: Any) -> None:
    same(SCHEMA, EVALUATE, {"h": value, "d": "2024-06-01"})


@pytest.mark.parametrize("inputs", [
    {"d": "2024-06-01"},  # the household left out
    {"h": None, "d": "2024-06-01"},
    {"h": {"id": "x", "members": []}, "d": "June"},  # another variable is wrong
    {"h": {"id": "x", "members": {"id": "m", "birthDate": "2000-01-01"}}, "d": "2024-06-01"},
    {"h": {"id": 7, "members": [], "annualNetIncome": 5}, "d": "2024-06-01"},
])
def test_edges(inputs: dict[str, Any]) -> None:
    same(SCHEMA, EVALUATE, inputs)


OTHER = build_schema("""
    input Point { x: Float! = 1.5, y: Int = 3, tags: [[String!]], when: ID, ok: Boolean! }
    input Tree { value: Int, children: [Tree!] }
    input One @oneOf { a: Int, b: String }
    enum Colour { RED GREEN }
    input Paint { colour: Colour!, points: [Point!]! = [] }
    type Query { f(p: Point, t: Tree, o: One, c: Paint): Int }
""")
OTHER_DEFINITIONS = parse(
    "query Q($p: Point, $t: Tree, $o: One, $c: Paint = {colour: RED}) "
    "{ f(p: $p, t: $t, o: $o, c: $c) }").definitions[0].variable_definitions  # type: ignore[attr-defined]


def test_what_is_and_is_not_compiled() -> None:
    assert coercer(OTHER.type_map["Point"]) is not None  # type: ignore[arg-type]
    assert coercer(OTHER.type_map["Paint"]) is not None  # type: ignore[arg-type]
    assert coercer(OTHER.type_map["Tree"]) is None  # type: ignore[arg-type]
    assert coercer(OTHER.type_map["One"]) is None  # type: ignore[arg-type]


point = st.fixed_dictionaries({}, optional={
    "x": st.one_of(st.floats(allow_nan=False), st.integers(-5, 5), json_leaf),
    "y": st.one_of(st.integers(-(2**33), 2**33), json_leaf),
    "tags": st.one_of(st.lists(st.one_of(st.lists(st.text(max_size=3), max_size=2),
                                         st.text(max_size=3), st.none()), max_size=3),
                      json_value),
    "when": st.one_of(st.integers(), st.text(max_size=4), st.floats(), json_leaf),
    "ok": st.one_of(st.booleans(), json_leaf),
    "zz": json_leaf,
})


@settings(max_examples=300, deadline=None)
@given(p=st.one_of(point, json_value), t=json_value, o=json_value,
       c=st.one_of(st.fixed_dictionaries({"colour": st.sampled_from(["RED", "GREEN", "BLUE"])},
                                         optional={"points": st.lists(point, max_size=2)}),
                   json_value),
       leave_out=st.sets(st.sampled_from(["p", "t", "o", "c"])))
def test_other_input_types(p: Any, t: Any, o: Any, c: Any, leave_out: set[str]) -> None:
    inputs = {k: v for k, v in {"p": p, "t": t, "o": o, "c": c}.items() if k not in leave_out}
    same(OTHER, OTHER_DEFINITIONS, inputs)


def test_defaults_are_graphql_cores() -> None:
    result = same(OTHER, OTHER_DEFINITIONS, {"p": {"ok": True}, "c": {"colour": "GREEN"}})
    assert not isinstance(result, list)
    assert result.coerced["p"] == {"x": 1.5, "y": 3, "ok": True}
    assert result.coerced["c"] == {"colour": "GREEN", "points": []}


def test_errors_are_graphql_cores() -> None:
    result = same(OTHER, OTHER_DEFINITIONS, {"p": {"ok": "yes"}})
    assert isinstance(result, list) and all(isinstance(e, GraphQLError) for e in result)
    assert "ok" in result[0].message


GEO = GraphQLInputObjectType("Geo", {"lat": GraphQLInputField(GraphQLNonNull(GraphQLFloat)),
                                     "lon": GraphQLInputField(GraphQLFloat, out_name="lng")},
                             out_type=lambda value: ("geo", tuple(sorted(value.items()))))
GEO_SCHEMA = GraphQLSchema(GraphQLObjectType("Query", {"f": GraphQLField(
    GraphQLInt, args={"g": GraphQLArgument(GEO)})}))
GEO_DEFINITIONS = parse("query Q($g: Geo) { f(g: $g) }").definitions[0].variable_definitions  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", [{"lat": 1, "lon": 2.5}, {"lat": 1.0}, {"lon": 1.0}, [{}]])
def test_out_names_and_out_types_are_graphql_cores(value: Any) -> None:
    assert coercer(GEO) is not None
    same(GEO_SCHEMA, GEO_DEFINITIONS, {"g": value})
