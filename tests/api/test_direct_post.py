"""``POST /graphql`` goes from ``JsonOnly`` straight to the GraphQL view
(``GraphQLApp.answer_post``), not through Starlette's layers, router and the view's general
``run``: every request here is sent both ways and must get the same status, headers (but the
request id) and bytes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from graphql_api.app import GraphQLApp, JsonOnly
from testing import asgi
from testing.queries import QUERY_B
from tests.api.conftest import Api, fixture_household

EXPLAINED = QUERY_B

SHAPED = """query S($h: HouseholdInput!, $why: Boolean!, $terse: Boolean!) {
  first: evaluate(household: $h, asOf: "2024-06-01") { ...Outcomes __typename }
  second: evaluate(household: $h, asOf: "2024-06-01", programs: ["nope"]) { asOf }
}
fragment Outcomes on Determination {
  outcomes(status: ELIGIBLE) { c: code title(lang: EN) status @skip(if: $terse)
    reasons @include(if: $why) { text(lang: EN) conditions { passed } } }
}"""


def _bodies() -> list[tuple[str, dict[str, Any] | bytes]]:
    household = fixture_household("hh-direct-1")
    return [
        ("explained", {"query": EXPLAINED, "variables": {"h": household}}),
        ("explained, named", {"query": EXPLAINED, "variables": {"h": household},
                              "operationName": "B"}),
        ("fragments, aliases, directives", {"query": SHAPED, "variables": {
            "h": household, "why": True, "terse": False}}),
        ("directives the other way", {"query": SHAPED, "variables": {
            "h": household, "why": False, "terse": True}}),
        ("a variable missing", {"query": SHAPED, "variables": {"h": household}}),
        ("a variable of the wrong type", {"query": SHAPED, "variables": {
            "h": household, "why": "yes", "terse": False}}),
        ("a household that does not coerce", {"query": EXPLAINED, "variables": {
            "h": {**household, "members": "none"}}}),
        ("an invalid household", {"query": EXPLAINED, "variables": {
            "h": {**household, "id": ""}}}),
        ("not valid GraphQL", {"query": "{ evaluate(", "variables": {}}),
        ("an unknown field", {"query": "{ househol }"}),
        ("__typename", {"query": "{ __typename }"}),
        ("no query", {"variables": {}}),
        ("a null query", {"query": None}),
        ("a query that is not a string", {"query": 5}),
        ("variables that are not an object", {"query": "{ __typename }", "variables": [1]}),
        ("extensions that are not an object", {"query": "{ __typename }", "extensions": 3}),
        ("extensions", {"query": "{ __typename }", "extensions": {"x": 1}}),
        ("an unknown operation", {"query": "query A { __typename }", "operationName": "Z"}),
        ("two operations, none named", {"query": "query A { __typename } query B { __typename }"}),
        ("a mutation refused", {"query": "mutation { householdDelete(id: \"x\") { id } }"}),
        ("a subscription", {"query": "subscription { alertRaised { id } }"}),
        ("a string with a NUL", {"query": "{ __typename }", "variables": {"s": "a\u0000b"}}),
        ("not JSON", b"{"),
        ("an array", b"[]"),
    ]


HEADERS = [
    {"content-type": "application/json"},
    {"content-type": "application/json; charset=utf-8", "accept-language": "en"},
    {"content-type": "application/json", "authorization": "Bearer nope"},
    {"content-type": "application/json", "accept": "multipart/mixed"},
    {"content-type": "application/json", "accept": "text/event-stream"},
]


async def _post(app: Any, body: bytes, headers: dict[str, str], path: str = "/graphql",
                ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The status, the headers but the request id, and the answer."""
    status, response_headers, answer = await asgi.exchange(
        app, body, [(k.encode(), v.encode()) for k, v in headers.items()], path)
    return status, [(k, v) for k, v in response_headers if k.lower() != b"x-request-id"], answer


@pytest.fixture
def direct(api: Api) -> Iterator[tuple[Any, JsonOnly, list[bool]]]:
    """The app, its JsonOnly layer, and whether each request since was answered directly."""
    app = api.client.app
    json_only = app.app
    assert isinstance(json_only, JsonOnly) and json_only.graphql is not None
    graphql = json_only.graphql
    answered: list[bool] = []
    original = GraphQLApp.answer_post

    async def spy(self: GraphQLApp, *args: Any) -> bool:
        done = await original(self, *args)
        answered.append(done)
        return done

    graphql.answer_post = spy.__get__(graphql)  # type: ignore[method-assign]
    try:
        yield app, json_only, answered
    finally:
        del graphql.answer_post


def _both_ways(app: Any, json_only: JsonOnly, body: bytes, headers: dict[str, str],
               path: str = "/graphql") -> tuple[Any, Any]:
    direct = asyncio.run(_post(app, body, headers, path))
    graphql, json_only.graphql = json_only.graphql, None
    try:
        general = asyncio.run(_post(app, body, headers, path))
    finally:
        json_only.graphql = graphql
    return direct, general


@pytest.mark.parametrize("headers", HEADERS, ids=lambda h: ",".join(f"{k}={v}" for k, v in
                                                                      h.items()))
def test_every_body_is_answered_as_the_view_answers_it(
        direct: tuple[Any, JsonOnly, list[bool]], headers: dict[str, str]) -> None:
    app, json_only, answered = direct
    for name, data in _bodies():
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        answered.clear()
        fast, general = _both_ways(app, json_only, body, headers)
        assert fast == general, name
        assert fast[0] in (200, 400, 415, 405), name
        if headers.get("accept") or not isinstance(data, dict):
            continue
        plain = (isinstance(data.get("query"), str | None)
                 and isinstance(data.get("variables"), dict | None)
                 and isinstance(data.get("extensions"), dict | None))
        # the first request went the direct way unless the view must refuse the body itself
        assert answered[:1] == [plain], name


def test_an_explained_answer_is_the_same_bytes_with_a_token(
        api: Api, direct: tuple[Any, JsonOnly, list[bool]]) -> None:
    app, json_only, answered = direct
    headers = {"content-type": "application/json",
               "authorization": f"Bearer {api.tokens['caseworker']}"}
    body = json.dumps({"query": EXPLAINED,
                       "variables": {"h": fixture_household("hh-direct-2")}}).encode()
    fast, general = _both_ways(app, json_only, body, headers)
    assert answered == [True]
    assert fast == general
    assert fast[0] == 200 and json.loads(fast[2])["data"]["evaluate"]["outcomes"]


def test_other_paths_and_methods_are_not_answered_directly(
        direct: tuple[Any, JsonOnly, list[bool]]) -> None:
    app, json_only, answered = direct
    body = json.dumps({"query": "{ __typename }"}).encode()
    for path in ("/graphql/", "/graphqlx"):
        fast, general = _both_ways(app, json_only, body, {"content-type": "application/json"},
                                   path)
        assert fast == general, path
    assert answered == []


def test_an_internal_error_is_a_plain_500_and_raised_on(
        direct: tuple[Any, JsonOnly, list[bool]], monkeypatch: pytest.MonkeyPatch) -> None:
    app, json_only, _answered = direct

    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("broken")

    monkeypatch.setattr(GraphQLApp, "execute_single", broken)
    body = json.dumps({"query": "{ __typename }"}).encode()
    seen = []
    for graphql in (json_only.graphql, None):
        json_only.graphql, kept = graphql, json_only.graphql
        sent: list[dict[str, Any]] = []

        async def go(messages: list[dict[str, Any]]) -> None:
            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                messages.append(message)

            scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                     "method": "POST", "scheme": "http", "path": "/graphql",
                     "raw_path": b"/graphql", "query_string": b"", "root_path": "",
                     "headers": [(b"content-type", b"application/json")],
                     "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2)}
            await app(scope, receive, send)

        try:
            with pytest.raises(RuntimeError, match="broken"):
                asyncio.run(go(sent))
        finally:
            json_only.graphql = kept
        seen.append([(m["type"], m.get("status"), m.get("body"),
                      [h for h in m.get("headers", []) if h[0] != b"x-request-id"])
                     for m in sent])
    assert seen[0] == seen[1]
    assert seen[0][0][1] == 500 and seen[0][1][2] == b"Internal Server Error"
