"""``evaluateMany``: one result per item, in order; an invalid item keeps its own errors and
loses the others nothing."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from engine.determine import determine
from engine.results import determination_json
from services.application import Application
from services.config import Settings
from services.rulesets import FIXTURES, load_catalog
from tests.api.conftest import Api, AppClient

HOUSEHOLDS = [json.loads(p.read_text(encoding="utf-8"))
              for p in sorted((FIXTURES / "households").glob("hh-*.json"))]

MANY = """
query Many($items: [EvaluateItem!]!, $programs: [String!]) {
  evaluateMany(items: $items, programs: $programs) {
    key
    errors { field code errorCode message }
    determination {
      asOf flaggedForMonitoring
      programs { program ruleSetVersion { id } outcomes { code memberId status amount period } }
    }
  }
}
"""


def _expected(household: dict[str, Any], as_of: date) -> dict[str, Any]:
    """The engine's answer, as the selection above shows it."""
    det = determination_json(determine(household, as_of, load_catalog().in_force(as_of)))
    return {
        "asOf": det["asOf"], "flaggedForMonitoring": det["flaggedForMonitoring"],
        "programs": [{"program": p["program"], "ruleSetVersion": {"id": p["ruleSetVersion"]["id"]},
                      "outcomes": [{k: o[k] for k in ("code", "memberId", "status", "amount",
                                                      "period")} for o in p["outcomes"]]}
                     for p in det["programs"]],
    }


def test_one_invalid_item_among_valid_ones(api: Api) -> None:
    bad = {**HOUSEHOLDS[1], "annualNetIncome": -5,
           "members": [{"id": "a", "birthDate": "2030-01-01"}]}
    items = [
        {"key": "first", "household": HOUSEHOLDS[0], "asOf": "2024-06-01"},
        {"key": "bad", "household": bad, "asOf": "2024-06-01"},
        {"key": "third", "household": HOUSEHOLDS[2], "asOf": "2023-09-01"},
    ]
    body = api.gql(MANY, {"items": items}, token="api_client")
    assert "errors" not in body, body
    results = body["data"]["evaluateMany"]
    assert [r["key"] for r in results] == ["first", "bad", "third"]

    assert results[0]["errors"] == []
    assert results[0]["determination"] == _expected(HOUSEHOLDS[0], date(2024, 6, 1))
    assert results[2]["errors"] == []
    assert results[2]["determination"] == _expected(HOUSEHOLDS[2], date(2023, 9, 1))

    assert results[1]["determination"] is None
    problems = {(e["field"], e["code"]) for e in results[1]["errors"]}
    assert any(f == "items[1].household.annualNetIncome" for f, _ in problems), problems
    assert any(f == "items[1].household.members[0].birthDate" for f, _ in problems), problems
    assert all(e["message"] for e in results[1]["errors"])
    assert all(e["errorCode"] == e["code"] for e in results[1]["errors"])


def test_same_answers_as_evaluate_in_order(api: Api) -> None:
    items = [{"key": f"k{i}", "household": h, "asOf": "2024-06-01"}
             for i, h in enumerate(reversed(HOUSEHOLDS))]
    results = api.gql(MANY, {"items": items}, token="caseworker")["data"]["evaluateMany"]
    assert [r["key"] for r in results] == [f"k{i}" for i in range(len(HOUSEHOLDS))]
    for result, household in zip(results, reversed(HOUSEHOLDS), strict=True):
        assert result["errors"] == []
        assert result["determination"] == _expected(household, date(2024, 6, 1))


def test_repeated_key_is_that_items_error(api: Api) -> None:
    items = [{"key": "x", "household": HOUSEHOLDS[0], "asOf": "2024-06-01"},
             {"key": "y", "household": HOUSEHOLDS[1], "asOf": "2024-06-01"},
             {"key": "x", "household": HOUSEHOLDS[2], "asOf": "2024-06-01"}]
    results = api.gql(MANY, {"items": items}, token="api_client")["data"]["evaluateMany"]
    assert [r["key"] for r in results] == ["x", "y", "x"]
    assert results[0]["determination"] is not None and results[1]["determination"] is not None
    assert results[2]["determination"] is None
    (err,) = results[2]["errors"]
    assert (err["field"], err["code"]) == ("items[2].key", "DUPLICATE_KEY")
    assert "items[0]" in err["message"]


def test_programs_and_unknown_program(api: Api) -> None:
    items = [{"key": "a", "household": HOUSEHOLDS[0], "asOf": "2024-06-01"}]
    results = api.gql(MANY, {"items": items, "programs": ["education"]},
                      token="api_client")["data"]["evaluateMany"]
    assert [p["program"] for p in results[0]["determination"]["programs"]] == ["education"]
    body = api.gql(MANY, {"items": items, "programs": ["roads"]}, token="api_client")
    assert body["data"] is None
    (err,) = body["errors"]
    assert err["extensions"]["code"] == "UNKNOWN_PROGRAM"


def test_empty_call_gives_empty_list(api: Api) -> None:
    assert api.gql(MANY, {"items": []}, token="api_client")["data"] == {"evaluateMany": []}


def test_an_unknown_token_is_refused(api: Api) -> None:
    items = [{"key": "a", "household": HOUSEHOLDS[0], "asOf": "2024-06-01"}]
    body = api.gql(MANY, {"items": items}, token="pe_not-a-token")
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_at_most_the_configured_number_of_items(tmp_path: Path) -> None:
    from graphql_api.app import create_app

    settings = Settings(env="test", max_batch_items=3,  # type: ignore[arg-type]
                        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    application = Application(settings)
    client = AppClient(create_app(settings, application))
    from services.application import Tokens

    token = Tokens(application).create(role="api_client", name="app-batch")

    def ask(n: int) -> dict[str, Any]:
        items = [{"key": str(i), "household": HOUSEHOLDS[0], "asOf": "2024-06-01"}
                 for i in range(n)]
        response = client.post("/graphql", json={"query": MANY, "variables": {"items": items}},
                               headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 200
        return response.json()  # type: ignore[no-any-return]

    assert len(ask(3)["data"]["evaluateMany"]) == 3
    body = ask(4)
    assert body["data"] is None
    (err,) = body["errors"]
    assert err["extensions"]["code"] == "BATCH_TOO_LARGE"
    assert err["extensions"]["errors"][0]["field"] == "items"


def _counts(api: Api) -> dict[str, float]:
    counts = {}
    for line in api.client.get("/metrics").text.splitlines():
        if line.startswith(("policy_engine_evaluations_total{",
                            "policy_engine_outcomes_granted_total{")):
            name, value = line.rsplit(" ", 1)
            counts[name] = float(value)
    return counts


def test_the_items_determinations_are_counted(api: Api) -> None:
    # Counted once per call (each program's counters incremented by the call's totals): the
    # same figures as counting each item's determination.
    as_of = date(2024, 6, 1)
    items = [{"key": f"c{i}", "household": h, "asOf": as_of.isoformat()}
             for i, h in enumerate(HOUSEHOLDS)]
    items.append({"key": "bad", "household": {**HOUSEHOLDS[0], "annualNetIncome": -5},
                  "asOf": as_of.isoformat()})
    before = _counts(api)
    results = api.gql(MANY, {"items": items}, token="api_client")["data"]["evaluateMany"]
    assert results[-1]["determination"] is None
    after = _counts(api)
    want: dict[str, float] = {}
    for h in HOUSEHOLDS:
        for p in determine(h, as_of, load_catalog().in_force(as_of)).programs:
            evaluated = f'policy_engine_evaluations_total{{program="{p.program}"}}'
            want[evaluated] = want.get(evaluated, 0) + 1
            if p.granted_count:
                granted = f'policy_engine_outcomes_granted_total{{program="{p.program}"}}'
                want[granted] = want.get(granted, 0) + p.granted_count
    assert want
    assert {k: after[k] - before.get(k, 0) for k in want} == want
