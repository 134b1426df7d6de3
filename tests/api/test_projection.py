"""The projecting execution context must answer exactly as graphql-core's ordinary execution:
generated selections (aliases, fragments, @skip/@include, arguments, __typename) are run both
ways and compared."""

from __future__ import annotations

import json
import random
from datetime import date
from typing import Any

import pytest
import strawberry
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graphql_api import projection
from graphql_api.schema import Context, Mutation, Query, build_schema
from services.application import Application
from services.auth import ANONYMOUS
from services.config import Settings
from services.rulesets import FIXTURES
from store.db import make_engine

HOUSEHOLD = json.loads((FIXTURES / "households" / "hh-002.json").read_text(encoding="utf-8"))

CONDITION = ["expression", "actual", "expected", "passed", "__typename"]
CITATION = ["document", "clause", "quote", "url"]
TERM = ["key", "value", "unit", "label", "labelEn: label(lang: EN)", "unitLabel",
        "unitEn: unitLabel(lang: EN)"]
VERSION = ["id", "ruleSet", "version", "status", "effectiveFrom", "effectiveTo", "contentHash"]


def pick(draw: Any, fields: list[str]) -> list[str]:
    chosen: list[str] = draw(st.lists(st.sampled_from(fields), min_size=1, max_size=len(fields),
                                      unique=True))
    return chosen


@st.composite
def selections(draw: Any) -> str:
    def alias(name: str) -> str:
        return f"{draw(st.sampled_from(['a', 'b', 'c']))}{name}: {name}" if draw(
            st.booleans()) else name

    def directive() -> str:
        return draw(st.sampled_from(["", "", " @include(if: $yes)", " @skip(if: $yes)",
                                     " @skip(if: false)"]))

    def alias_plain(f: str) -> str:
        return f if "(" in f else alias(f)

    reason_fields = ["ruleId", "text", "textEn: text(lang: EN)"]
    reason_parts = [alias_plain(f) for f in pick(draw, reason_fields)]
    if draw(st.booleans()):
        reason_parts.append("citation { " + " ".join(pick(draw, CITATION)) + " }")
    if draw(st.booleans()):
        reason_parts.append("conditions { " + " ".join(pick(draw, CONDITION)) + " }")
    outcome_fields = ["code", "title", "titleEn: title(lang: EN)", "memberId", "status",
                      "amount", "period", "missingFacts", "__typename"]
    outcome_parts = [alias_plain(f) + directive() for f in pick(draw, outcome_fields)]
    if draw(st.booleans()):
        outcome_parts.append("terms { " + " ".join(pick(draw, TERM)) + " }")
    if draw(st.booleans()):
        outcome_parts.append("reasons { " + " ".join(reason_parts) + " }")
    if draw(st.booleans()):  # the outcome then needs its determination
        outcome_parts.append("whatWouldChange { fact operator value current }")
    status = draw(st.sampled_from(["", "(status: GRANTED)", "(status: NOT_GRANTED)",
                                   "(status: $status)"]))
    parts = [f"outcomes{status} {{ ...O }}"]
    if draw(st.booleans()):
        changes = draw(st.sampled_from(["", " whatWouldChange { fact value }"]))
        parts.append("programs { program ruleSetVersion { " + " ".join(pick(draw, VERSION))
                     + " } outcomes { code" + changes + " } }")
    if draw(st.booleans()):
        parts.append("asOf flaggedForMonitoring flaggedBy __typename")
    body = ("{ evaluate(household: $h, asOf: \"2024-06-01\") { " + " ".join(parts) + " } } "
            "fragment O on Outcome { " + " ".join(outcome_parts) + " }")
    # Only declared variables that are used: GraphQL refuses unused ones.
    declared = ["$h: HouseholdInput!"]
    if "$yes" in body:
        declared.append("$yes: Boolean!")
    if "$status" in body:
        declared.append("$status: OutcomeStatus")
    return f"query({', '.join(declared)}) {body}"


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Context]:
    folder = tmp_path_factory.mktemp("proj")
    settings_ = Settings(env="dev")
    app = Application(settings_, make_engine(f"sqlite:///{folder / 'p.sqlite3'}"))
    app.start()
    projecting = build_schema(settings_)
    ordinary = strawberry.Schema(query=Query, mutation=Mutation,
                                 execution_context_class=StrawberryGraphQLCoreExecutionContext)
    return projecting, ordinary, Context(app, ANONYMOUS, date(2024, 6, 1))


@settings(max_examples=60, deadline=None)
@given(query=selections(), yes=st.booleans(),
       status=st.sampled_from([None, "GRANTED", "UNDETERMINED"]), seed=st.integers(0, 10**6))
def test_projection_equals_ordinary_execution(schemas: Any, query: str, yes: bool,
                                              status: str | None, seed: int) -> None:
    projecting, ordinary, ctx = schemas
    from testing.households import random_household

    household = HOUSEHOLD if seed % 3 == 0 else random_household(
        random.Random(seed), date(2024, 6, 1), hid="gen")
    variables: dict[str, Any] = {"h": household}
    if "$yes" in query:
        variables["yes"] = yes
    if "$status" in query:
        variables["status"] = status
    fast = projecting.execute_sync(query, variable_values=variables, context_value=ctx)
    slow = ordinary.execute_sync(query, variable_values=variables, context_value=ctx)
    assert fast.errors is None and slow.errors is None, (fast.errors, slow.errors)
    assert json.dumps(fast.data, sort_keys=True) == json.dumps(slow.data, sort_keys=True)


def test_the_same_document_with_other_variables_projects_anew(schemas: Any) -> None:
    # Plans are remembered by document; the variables that shape a selection (directives,
    # arguments) are part of that memory, the household is not.
    projecting, ordinary, ctx = schemas
    from testing.households import random_household

    query = """query($h: HouseholdInput!, $yes: Boolean!, $status: OutcomeStatus, $lang: Lang) {
      evaluate(household: $h, asOf: "2024-06-01") {
        outcomes(status: $status) { code title(lang: $lang) amount @include(if: $yes)
          reasons { text(lang: $lang) conditions @skip(if: $yes) { expression passed } } } } }"""
    rng = random.Random(11)
    for i, (yes, status, lang) in enumerate([
            (True, None, None), (False, None, "EN"), (True, "GRANTED", "ZH"),
            (False, "NOT_GRANTED", None), (True, None, None), (False, "GRANTED", "EN")]):
        household = random_household(rng, date(2024, 6, 1), hid=f"v{i}")
        variables = {"h": household, "yes": yes, "status": status}
        if lang is not None:
            variables["lang"] = lang
        fast = projecting.execute_sync(query, variable_values=variables, context_value=ctx)
        slow = ordinary.execute_sync(query, variable_values=variables, context_value=ctx)
        assert fast.errors is None and slow.errors is None, (fast.errors, slow.errors)
        assert fast.data == slow.data
        outcomes = fast.data["evaluate"]["outcomes"]
        assert all(("amount" in o) == yes for o in outcomes)


def test_an_argument_that_does_not_coerce_is_reported_as_ordinary_execution_does(
        schemas: Any) -> None:
    projecting, ordinary, ctx = schemas
    query = """query($h: HouseholdInput!, $lang: Lang) {
      evaluate(household: $h, asOf: "2024-06-01") { outcomes { code title(lang: $lang) } } }"""
    variables = {"h": HOUSEHOLD, "lang": None}  # null for a non-null argument
    fast = projecting.execute_sync(query, variable_values=variables, context_value=ctx)
    slow = ordinary.execute_sync(query, variable_values=variables, context_value=ctx)
    assert fast.data == slow.data
    assert [(e.message, e.path) for e in fast.errors or []] == \
        [(e.message, e.path) for e in slow.errors or []] != []


def test_the_encoded_response_is_the_plain_json(schemas: Any) -> None:
    # Shared projections carry their JSON, written the second time they are encoded; the
    # response must be byte for byte what orjson writes for the plain data, on first use, when
    # served again (the JSON written) and after (the JSON copied).
    import orjson

    from graphql_api.projection import SharedJSON, encode

    projecting, ordinary, ctx = schemas
    query = """query($h: HouseholdInput!) { evaluate(household: $h, asOf: "2024-06-01") {
      outcomes { code title memberId status amount period terms { key value unit }
        reasons { ruleId text citation { document clause quote url }
          conditions { expression actual expected passed } } missingFacts } } }"""
    slow = ordinary.execute_sync(query, variable_values={"h": HOUSEHOLD}, context_value=ctx)
    for _ in range(3):
        fast = projecting.execute_sync(query, variable_values={"h": HOUSEHOLD},
                                       context_value=ctx)
        outcomes = fast.data["evaluate"]["outcomes"]
        assert any(isinstance(r, SharedJSON) for o in outcomes for r in o["reasons"])
        assert encode(fast.data) == orjson.dumps(json.loads(json.dumps(fast.data)))
        assert orjson.loads(encode(fast.data)) == slow.data


def test_encode_writes_subclasses_as_their_plain_values() -> None:
    import enum

    import orjson

    from graphql_api.projection import SharedJSON, encode

    class Kind(enum.StrEnum):
        A = "甲"

    class Level(enum.IntEnum):
        ONE = 1

    class Ratio(float):
        pass

    class Items(list[Any]):
        pass

    class Table(dict[str, Any]):
        pass

    data = {"k": Kind.A, "l": Level.ONE, "r": Ratio(0.5), "i": Items([Kind.A, 2]),
            "t": Table(x=Table(y=[Level.ONE])), "s": SharedJSON(a=SharedJSON(b=Kind.A))}
    plain = {"k": "甲", "l": 1, "r": 0.5, "i": ["甲", 2], "t": {"x": {"y": [1]}},
             "s": {"a": {"b": "甲"}}}
    assert encode(data) == orjson.dumps(plain)
    assert encode([data, data]) == orjson.dumps([plain, plain])
    assert encode([data, data, data]) == orjson.dumps([plain, plain, plain])


def test_a_shared_projection_is_written_apart_only_when_encoded_again() -> None:
    # Encoded once, a shared projection is written in place and keeps no JSON of its own (most
    # are never encoded again); encoded again, its JSON is written apart, and copied after.
    import orjson

    from graphql_api.projection import _ONCE, SharedJSON, encode

    inner = SharedJSON(b="乙", c=[1, 2.5, None])
    outer = SharedJSON(a=inner, d=True)
    plain = {"a": {"b": "乙", "c": [1, 2.5, None]}, "d": True}
    assert encode(outer) == orjson.dumps(plain)
    assert outer._json is _ONCE and inner._json is _ONCE
    assert encode({"x": outer}) == orjson.dumps({"x": plain})
    written = outer._json
    assert written is not _ONCE and isinstance(written, orjson.Fragment)
    assert encode([outer, outer]) == orjson.dumps([plain, plain])
    assert outer._json is written


def test_a_remembered_determination_is_projected_per_selection(schemas: Any) -> None:
    # The same household again is the same determination (remembered), whose projection is
    # shared between requests: only between requests whose selections are the same.
    projecting, ordinary, ctx = schemas
    # The shared projections are a process-wide bounded cache (the oldest entries go when it is
    # full); start it empty, or whatever the tests before this one left there decides whether
    # entries are evicted between the requests compared below.
    projection._SHARED.clear()
    query = """query($h: HouseholdInput!, $yes: Boolean!, $status: OutcomeStatus, $lang: Lang) {
      evaluate(household: $h, asOf: "2024-06-01") { flaggedBy
        outcomes(status: $status) { code title(lang: $lang) amount @include(if: $yes)
          reasons { text(lang: $lang) } } } }"""
    seen = []
    for yes, status, lang in [(True, None, "ZH"), (False, None, "ZH"), (True, "GRANTED", "EN"),
                              (True, None, "ZH"), (False, "NOT_GRANTED", "EN"),
                              (True, None, "ZH")]:
        # a household no other test asks about (the recent determinations are the process's)
        variables = {"h": {**HOUSEHOLD, "id": "projected-per-selection"}, "yes": yes,
                     "status": status, "lang": lang}
        fast = projecting.execute_sync(query, variable_values=variables, context_value=ctx)
        slow = ordinary.execute_sync(query, variable_values=variables, context_value=ctx)
        assert fast.errors is None and slow.errors is None, (fast.errors, slow.errors)
        assert fast.data == slow.data
        seen.append(fast.data["evaluate"])
    # The first answer about a determination is not kept (most are never asked about again);
    # asked about again, its projection is shared, per selection.
    assert not isinstance(seen[0], projection.SharedJSON)
    assert isinstance(seen[3], projection.SharedJSON)
    assert seen[3] is seen[5]  # the same selection of the same determination: shared
    assert all(seen[3] is not other for other in seen[:3] + seen[4:5])


def test_a_determination_asked_about_once_keeps_no_shared_projection(schemas: Any) -> None:
    from graphql_api.types import _DeterminationView

    projecting, _, ctx = schemas
    projection._SHARED.clear()
    query = """query($h: HouseholdInput!) { evaluate(household: $h, asOf: "2024-06-01") {
      outcomes { code reasons { ruleId text citation { document } } } } }"""
    household = {**HOUSEHOLD, "id": "asked-once", "annualNetIncome": 12345.67}
    fast = projecting.execute_sync(query, variable_values={"h": household}, context_value=ctx)
    assert fast.errors is None, fast.errors
    kept = [source for source, _ in projection._SHARED._data.values()]
    assert kept  # the reasons' projections are shared as ever
    assert not any(isinstance(source, _DeterminationView) for source in kept)
    again = projecting.execute_sync(query, variable_values={"h": household}, context_value=ctx)
    assert again.data == fast.data
    kept = [source for source, _ in projection._SHARED._data.values()]
    assert sum(isinstance(source, _DeterminationView) for source in kept) == 1
