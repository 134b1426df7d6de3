"""``whatWouldChange`` through ``evaluateMany``: at most ``max_what_if_items`` households a
request, counted as the operation is executed (aliases each count, a fragment spread twice
once); over it the request is refused before anything is evaluated (``WHAT_IF_LIMIT``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from graphql_api.app import create_app
from services.application import Application
from services.config import Settings
from services.rulesets import FIXTURES
from tests.api.conftest import BACKENDS, Api, AppClient, _tokens, fresh_engine

LIMIT = 3
HOUSEHOLDS = [json.loads(p.read_text(encoding="utf-8"))
              for p in sorted((FIXTURES / "households").glob("hh-*.json"))]

ASKS = """
query Many($items: [EvaluateItem!]!) {
  evaluateMany(items: $items) {
    key
    determination { programs { outcomes { code status whatWouldChange { fact operator } } } }
  }
}
"""

# whatWouldChange reached through a named fragment, an inline fragment and Determination's own
# outcomes, under two aliases
ALIASED = """
query Many($a: [EvaluateItem!]!, $b: [EvaluateItem!]!) {
  first: evaluateMany(items: $a) { ...Result }
  second: evaluateMany(items: $b) { key determination { ... on Determination { ...Changes } } }
}
fragment Result on EvaluateResult { key determination { ...Changes } }
fragment Changes on Determination { outcomes { code whatWouldChange { fact } } }
"""

# One field spread twice through a fragment: executed (and counted) once.
SPREAD_TWICE = """
query Many($items: [EvaluateItem!]!) { ...Batch ...Batch }
fragment Batch on Query {
  evaluateMany(items: $items) { key determination { outcomes { whatWouldChange { fact } } } }
}
"""

WITHOUT = """
query Many($items: [EvaluateItem!]!) {
  evaluateMany(items: $items) { key determination { programs { outcomes { code status } } } }
}
"""


@pytest.fixture(scope="module", params=BACKENDS)
def limited(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The app (prod) with whatWouldChange allowed for LIMIT households a request."""
    for engine in fresh_engine(request.param, tmp_path_factory.mktemp("whatif")):
        settings = Settings(env="prod", max_what_if_items=LIMIT)  # type: ignore[arg-type]
        application = Application(settings, engine)
        yield Api(application, AppClient(create_app(settings, application)),
                  _tokens(application))


def _items(n: int, prefix: str = "k") -> list[dict[str, Any]]:
    # distinct households (no remembered determination answers for another item)
    return [{"key": f"{prefix}{i}", "asOf": "2024-06-01",
             "household": {**HOUSEHOLDS[i % len(HOUSEHOLDS)], "id": f"{prefix}-{i}",
                           "annualNetIncome": 9000 + 37 * i}}
            for i in range(n)]


def _evaluations(api: Api) -> float:
    """Determinations made so far, as /metrics counts them (every program of each)."""
    total = 0.0
    for line in api.client.get("/metrics").text.splitlines():
        if line.startswith("policy_engine_evaluations_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _refused(api: Api, body: dict[str, Any], before: float, asked: int) -> None:
    assert body.get("data") is None, body
    (error,) = body["errors"]
    extensions = error["extensions"]
    assert extensions["code"] == "WHAT_IF_LIMIT"
    assert [(e["field"], e["code"]) for e in extensions["errors"]] == [("items",
                                                                       "WHAT_IF_LIMIT")]
    assert f"at most {LIMIT} households" in error["message"]
    assert f"asks it for {asked}" in error["message"]
    assert _evaluations(api) == before, "nothing is evaluated"


def test_over_the_limit_is_refused_before_anything_is_evaluated(limited: Api) -> None:
    before = _evaluations(limited)
    body = limited.gql(ASKS, {"items": _items(LIMIT + 1)}, token="api_client")
    _refused(limited, body, before, LIMIT + 1)


def test_the_refusal_in_chinese(limited: Api) -> None:
    body = limited.gql(ASKS, {"items": _items(LIMIT + 2)}, token="caseworker",
                       **{"accept-language": "zh"})
    (error,) = body["errors"]
    assert error["message"] == ("一次请求为过多家庭计算怎样会改变结果（whatWouldChange）："
                                f"最多 {LIMIT} 户，本次 {LIMIT + 2} 户")
    assert error["extensions"]["errors"][0]["message"] == \
        "一次请求为过多家庭计算怎样会改变结果（whatWouldChange）"


def test_at_the_limit_is_answered(limited: Api) -> None:
    before = _evaluations(limited)
    body = limited.gql(ASKS, {"items": _items(LIMIT)}, token="api_client")
    assert "errors" not in body, body
    results = body["data"]["evaluateMany"]
    assert [r["key"] for r in results] == [f"k{i}" for i in range(LIMIT)]
    assert _evaluations(limited) > before
    changes = [o["whatWouldChange"] for r in results for p in r["determination"]["programs"]
               for o in p["outcomes"] if o["status"] != "GRANTED"]
    assert any(changes), "some outcome not granted has a change that would grant it"


def test_without_what_would_change_the_batch_limit_alone_applies(limited: Api) -> None:
    body = limited.gql(WITHOUT, {"items": _items(4 * LIMIT)}, token="api_client")
    assert "errors" not in body, body
    assert len(body["data"]["evaluateMany"]) == 4 * LIMIT


def test_aliases_are_counted_together(limited: Api) -> None:
    before = _evaluations(limited)
    body = limited.gql(ALIASED, {"a": _items(2, "a"), "b": _items(LIMIT - 1, "b")},
                       token="api_client")
    _refused(limited, body, before, LIMIT + 1)

    body = limited.gql(ALIASED, {"a": _items(1, "a"), "b": _items(LIMIT - 1, "b")},
                       token="api_client")
    assert "errors" not in body, body
    assert len(body["data"]["first"]) == 1 and len(body["data"]["second"]) == LIMIT - 1
    assert all(o["whatWouldChange"] is not None for r in body["data"]["second"]
               for o in r["determination"]["outcomes"])


def test_through_a_fragment_spread_twice(limited: Api) -> None:
    before = _evaluations(limited)
    body = limited.gql(SPREAD_TWICE, {"items": _items(LIMIT + 1)}, token="api_client")
    _refused(limited, body, before, LIMIT + 1)
    # the two spreads are one field: LIMIT households are LIMIT, not twice LIMIT
    body = limited.gql(SPREAD_TWICE, {"items": _items(LIMIT)}, token="api_client")
    assert "errors" not in body, body
    assert len(body["data"]["evaluateMany"]) == LIMIT


def test_items_written_in_the_document(limited: Api) -> None:
    item = ('{{key: "w{i}", asOf: "2024-06-01", facts: {{id: "w", regionCode: "371300-001", '
            'annualNetIncome: {income}, members: [{{id: "m", birthDate: "1980-01-01", '
            'relation: HEAD}}]}}}}')
    written = ", ".join(item.format(i=i, income=9000 + i) for i in range(LIMIT + 1))
    query = ("{ evaluateMany(items: [" + written + "]) { key determination { outcomes { "
             "whatWouldChange { fact } } } } }")
    before = _evaluations(limited)
    _refused(limited, limited.gql(query, token="api_client"), before, LIMIT + 1)


def test_skipped_what_would_change_is_not_counted(limited: Api) -> None:
    query = """
    query Many($items: [EvaluateItem!]!, $skip: Boolean!) {
      evaluateMany(items: $items) {
        key determination { outcomes { code whatWouldChange @skip(if: $skip) { fact } } }
      }
    }"""
    items = _items(LIMIT + 1)
    body = limited.gql(query, {"items": items, "skip": True}, token="api_client")
    assert "errors" not in body, body
    before = _evaluations(limited)
    _refused(limited, limited.gql(query, {"items": items, "skip": False}, token="api_client"),
             before, LIMIT + 1)


def test_evaluate_is_not_counted_before_it_runs(limited: Api) -> None:
    one = """
    query One($h: HouseholdInput!) {
      a: evaluate(asOf: "2024-06-01", household: $h) { outcomes { whatWouldChange { fact } } }
      b: evaluate(asOf: "2024-05-01", household: $h) { outcomes { whatWouldChange { fact } } }
      c: evaluate(asOf: "2024-04-01", household: $h) { outcomes { whatWouldChange { fact } } }
      d: evaluate(asOf: "2024-03-01", household: $h) { outcomes { whatWouldChange { fact } } }
    }"""
    body = limited.gql(one, {"h": HOUSEHOLDS[1]}, token="api_client")
    # evaluated, and refused only at the household past the limit, while the operation runs
    # (tests/api/test_what_if_count.py): no error on the field items
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "WHAT_IF_LIMIT"}
    assert error["path"] == ["d"]


def test_a_caller_without_a_token_learns_that_first(limited: Api) -> None:
    body = limited.gql(ASKS, {"items": _items(LIMIT + 1)})
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


def test_the_limit_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLICY_ENGINE_MAX_WHAT_IF_ITEMS", raising=False)
    assert Settings().max_what_if_items == 20
    monkeypatch.setenv("POLICY_ENGINE_MAX_WHAT_IF_ITEMS", "7")
    assert Settings().max_what_if_items == 7
