"""Short queries in the event loop, in turn (graphql_api.turns): which operations run there,
in what order, and that the answers are the pool's."""

from __future__ import annotations

import asyncio
import contextvars
import json
from pathlib import Path
from typing import Any

import pytest
from graphql import parse

from graphql_api import turns
from graphql_api.app import create_app
from graphql_api.turns import Turns, loop_shaped
from services.application import Application
from services.config import Settings
from tests.api.conftest import Api, AppClient, fresh_engine

ROOT = Path(__file__).resolve().parents[2]
HH = json.loads((ROOT / "fixtures" / "households" / "hh-003.json").read_text(encoding="utf-8"))
EVALUATE = """query E($h: HouseholdInput!) { evaluate(household: $h, asOf: "2024-06-01") {
  asOf outcomes { code status memberId reasons { ruleId text } } } }"""


@pytest.fixture(autouse=True)
def _any_validation_is_quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """How long a text's validation took decides whether it may run in the loop; a loaded
    machine can take more than the bound to validate even this short text. The bound itself is
    test_a_slowly_validated_document_never_runs_in_the_loop's (it gives the seconds); the
    lanes asserted here are then the same on any machine."""
    monkeypatch.setattr(turns, "VALIDATION_IN_LOOP_SECONDS", 3600.0)


@pytest.mark.parametrize(("document", "name", "shaped"), [
    (EVALUATE, None, True),
    (EVALUATE, "E", True),
    (EVALUATE, "Other", False),  # no such operation
    ('{ __typename evaluate(household: {id: "x"}) { asOf } }', None, True),
    ("{ __typename }", None, True),
    # every evaluate of these asks what would change, even through a fragment
    ('{ evaluate(household: {id: "x"}) { outcomes { whatWouldChange { text } } } }', None, False),
    ('query { evaluate(household: {id: "x"}) { outcomes { ...W } } }'
     " fragment W on Outcome { whatWouldChange { text } }", None, False),
    # a fragment no operation spreads still keeps the document in the pool
    ('query { evaluate(household: {id: "x"}) { asOf } }'
     " fragment W on Outcome { whatWouldChange { text } }", None, False),
    # two evaluates, one through an alias, one through a fragment of the root
    ('{ a: evaluate(household: {id: "x"}) { asOf } b: evaluate(household: {id: "y"}) { asOf } }',
     None, False),
    ('query { evaluate(household: {id: "x"}) { asOf } ...R } fragment R on Query'
     ' { evaluate(household: {id: "y"}) { asOf } }', None, False),
    ('query { ... on Query { evaluate(household: {id: "x"}) { asOf } } }', None, True),
    # other root fields, mutations, several operations without a name
    ('{ evaluateMany(households: []) { asOf } }', None, False),
    ('{ evaluate(household: {id: "x"}) { asOf } ruleSets { code } }', None, False),
    ('mutation { evaluate(household: {id: "x"}) { asOf } }', None, False),
    ("query A { __typename } query B { __typename }", None, False),
    ("query A { __typename } query B { __typename }", "B", True),
    # a spread of a fragment the document does not define (validation refuses it anyway)
    ("query { ...Missing }", None, False),
    # a fragment spread in itself is opened once
    ("query { ...R } fragment R on Query { __typename ...R }", None, True),
])
def test_which_operations_may_run_in_the_loop(document: str, name: str | None,
                                              shaped: bool) -> None:
    assert loop_shaped(parse(document), name) is shaped


def test_functions_run_one_a_turn_in_the_order_given() -> None:
    """Callbacks due meanwhile (a request read, an answer to write) run between two functions;
    a function whose caller gave up is not run; an error reaches its caller alone."""
    seen: list[str] = []

    def step(name: str) -> Any:
        def run() -> str:
            seen.append(name)
            if name == "c":
                raise ValueError("c failed")
            return name.upper()
        return run

    async def go() -> list[Any]:
        loop = asyncio.get_running_loop()
        t = Turns(loop)
        futures = [t.run(step(n)) for n in "abcd"]
        assert len(t) == 4
        loop.call_soon(seen.append, "between")  # due after the first function is scheduled
        futures[1].cancel()
        return await asyncio.gather(*futures, return_exceptions=True)

    results = asyncio.run(go())
    assert seen == ["a", "between", "c", "d"]
    assert results[0] == "A" and results[3] == "D"
    assert isinstance(results[1], asyncio.CancelledError)
    assert isinstance(results[2], ValueError)


def test_each_function_runs_in_a_copy_of_its_callers_context() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def caller(t: Turns, value: str) -> tuple[str, str]:
        var.set(value)

        def run() -> str:
            seen = var.get()
            var.set("changed in the function")
            return seen

        seen = await t.run(run)
        return seen, var.get()

    async def go() -> list[tuple[str, str]]:
        t = Turns(asyncio.get_running_loop())
        return list(await asyncio.gather(caller(t, "one"), caller(t, "two")))

    assert asyncio.run(go()) == [("one", "one"), ("two", "two")]


def _lanes(api: Api) -> dict[str, float]:
    found = {"loop": 0.0, "threads": 0.0}
    for line in api.client.get("/metrics").text.splitlines():
        for lane in found:
            if line.startswith(f'policy_engine_graphql_operation_lanes_total{{lane="{lane}"}}'):
                found[lane] = float(line.split()[-1])
    return found


def _ran(api: Api, query: str, variables: dict[str, Any] | None = None,
         **kwargs: Any) -> tuple[dict[str, Any], str]:
    before = _lanes(api)
    answer = api.gql(query, variables, **kwargs)
    after = _lanes(api)
    moved = [lane for lane in after if after[lane] != before[lane]]
    assert len(moved) == 1 and after[moved[0]] - before[moved[0]] == 1, (before, after)
    return answer, moved[0]


def test_a_validated_evaluate_runs_in_the_loop_with_the_same_answer(api: Api) -> None:
    text = EVALUATE + " "  # a text of this test's own: the first request validates it
    first, lane = _ran(api, text, {"h": HH}, token="caseworker")
    assert lane == "threads" and "errors" not in first and first["data"]["evaluate"]["outcomes"]
    second, lane = _ran(api, text, {"h": HH}, token="caseworker")
    assert lane == "loop" and second == first
    other = {**HH, "id": HH["id"] + "-other"}
    third, lane = _ran(api, text, {"h": other}, token="caseworker")
    assert lane == "loop" and third["data"]["evaluate"]["outcomes"]


def test_refusals_and_errors_are_the_same_in_the_loop(api: Api) -> None:
    text = EVALUATE + "  "
    _ran(api, text, {"h": HH}, token="caseworker")  # validated
    refused, lane = _ran(api, text, {"h": HH}, token="pe_not-a-token")
    assert lane == "loop"
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    wrong, lane = _ran(api, text, {"h": {**HH, "members": "none"}}, token="caseworker")
    assert lane == "loop" and wrong["data"] is None and wrong["errors"]
    answer, lane = _ran(api, text, {"h": HH}, token="caseworker", **{"accept-language": "zh"})
    assert lane == "loop" and answer["data"]["evaluate"]["outcomes"]


def test_what_would_change_mutations_and_refused_documents_stay_in_the_pool(api: Api) -> None:
    what_if = """query W($h: HouseholdInput!) { evaluate(household: $h, asOf: "2024-06-01") {
      outcomes { code whatWouldChange { text } } } }"""
    for _ in range(2):
        answer, lane = _ran(api, what_if, {"h": HH}, token="caseworker")
        assert lane == "threads" and "errors" not in answer
    bad = "query { evaluate(household: {}) { noSuchField } }"
    for _ in range(2):
        answer, lane = _ran(api, bad, token="caseworker")
        assert lane == "threads" and answer["errors"]
    # a mutation, refused here (the auditor may not save households): validated all the same
    mutation = """mutation S($h: HouseholdInput!) { householdSave(household: $h) {
      household { id } } }"""
    for _ in range(2):
        answer, lane = _ran(api, mutation, {"h": HH}, token="auditor")
        assert lane == "threads" and answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_every_operation_in_the_pool_when_switched_off(tmp_path: Path) -> None:
    for engine in fresh_engine("sqlite", tmp_path):
        settings = Settings(env="dev", loop_queries=False)
        application = Application(settings, engine)
        api = Api(application, AppClient(create_app(settings, application)), {})
        for _ in range(3):
            _, lane = _ran(api, EVALUATE + "   ", {"h": HH})
            assert lane == "threads"


def test_a_slowly_validated_document_never_runs_in_the_loop() -> None:
    document, schema, other = parse(EVALUATE), object(), object()
    turns.validated(schema, "slow text", None, document, turns.VALIDATION_IN_LOOP_SECONDS * 2)
    turns.validated(schema, "quick text", None, document, turns.VALIDATION_IN_LOOP_SECONDS / 2)
    assert not turns.in_loop(schema, "slow text", None)
    assert turns.in_loop(schema, "quick text", None)
    assert not turns.in_loop(schema, "quick text", "E")  # another operationName
    assert not turns.in_loop(other, "quick text", None)  # validated against another schema
    assert not turns.in_loop(schema, None, None)


def test_a_text_the_loop_memo_forgot_is_noted_again_on_its_next_request(api: Api) -> None:
    """The validation cache still knows the text (no validation runs again): the next request
    runs in a thread and notes it, the one after runs in the loop."""
    text = EVALUATE + "    "
    _, lane = _ran(api, text, {"h": HH}, token="caseworker")
    assert lane == "threads"
    _, lane = _ran(api, text, {"h": HH}, token="caseworker")
    assert lane == "loop"
    turns._IN_LOOP.clear()
    _, lane = _ran(api, text, {"h": HH}, token="caseworker")
    assert lane == "threads"
    _, lane = _ran(api, text, {"h": HH}, token="caseworker")
    assert lane == "loop"
