"""``whatWouldChange`` for at most ``max_what_if_items`` households a request, whatever the
route: counted while the operation runs (a record's replay, ``householdDetermine`` under
aliases, ``evaluate`` under aliases), each further household refused with ``WHAT_IF_LIMIT``
instead of being computed. ``evaluateMany`` is also refused before it runs
(``test_what_if_limit.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import engine.whatif
from engine.results import Status
from graphql_api.app import create_app
from services.application import Application
from services.config import Settings
from services.rulesets import FIXTURES
from tests.api.conftest import BACKENDS, Api, AppClient, _tokens, fresh_engine

LIMIT = 3
HOUSEHOLD = json.loads((FIXTURES / "households" / "hh-002.json").read_text(encoding="utf-8"))
ZH_REFUSAL = ("一次请求为过多家庭计算怎样会改变结果（whatWouldChange）："
              "最多 {max} 户，本次 {count} 户")

SAVE = """mutation($h: HouseholdInput!) { householdSave(household: $h) {
  household { id } userErrors { code } } }"""
DETERMINE = """mutation($id: ID!, $asOf: Date!) { householdDetermine(id: $id, asOf: $asOf) {
  record { id } userErrors { code } } }"""
REPLAYS = """query($id: ID!) { household(id: $id) { id determinationRecords(first: 100) {
  edges { node { id asOf replay { determination {
    outcomes { code status whatWouldChange { fact operator } } } } } } } } }"""
REPLAYS_WITHOUT = """query($id: ID!) { household(id: $id) { id determinationRecords(first: 100) {
  edges { node { id replay { determination { outcomes { code status } } } } } } } }"""
FACTS = "outcomes { code status whatWouldChange { fact } }"


@pytest.fixture(scope="module", params=BACKENDS)
def limited(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The app (prod) with whatWouldChange allowed for LIMIT households a request."""
    for engine_ in fresh_engine(request.param, tmp_path_factory.mktemp("whatifcount")):
        settings = Settings(env="prod", max_what_if_items=LIMIT)  # type: ignore[arg-type]
        application = Application(settings, engine_)
        yield Api(application, AppClient(create_app(settings, application)),
                  _tokens(application))


class Computed:
    """The determinations whatWouldChange was computed for (an outcome not granted of each)."""

    def __init__(self) -> None:
        self.determinations: list[Any] = []  # kept alive: their ids are not reused

    def count(self) -> int:
        return len({id(d) for d in self.determinations})


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> Computed:
    seen = Computed()
    real = engine.whatif.what_would_change

    def counted(det: Any, outcome: Any) -> Any:
        if outcome.status is not Status.GRANTED:
            seen.determinations.append(det)
        return real(det, outcome)

    monkeypatch.setattr(engine.whatif, "what_would_change", counted)
    return seen


def _household(api: Api, hid: str, income: int = 9000) -> dict[str, Any]:
    data = {**HOUSEHOLD, "id": hid, "regionCode": "371300-001", "annualNetIncome": income}
    body = api.gql(SAVE, {"h": data}, token="caseworker")
    assert body["data"]["householdSave"]["userErrors"] == [], body
    return data


def _record(api: Api, hid: str, as_of: str) -> str:
    body = api.gql(DETERMINE, {"id": hid, "asOf": as_of}, token="caseworker")
    assert body["data"]["householdDetermine"]["userErrors"] == [], body
    return str(body["data"]["householdDetermine"]["record"]["id"])


def _limit_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    errors = body.get("errors") or []
    assert errors, body
    assert {e["extensions"]["code"] for e in errors} == {"WHAT_IF_LIMIT"}, errors
    for e in errors:
        assert e["path"], e
        assert "errors" not in e["extensions"], "no input field is at fault"
    return list(errors)


def test_replays_over_the_limit(limited: Api, computed: Computed) -> None:
    _household(limited, "t-wi-replay")
    records = {_record(limited, "t-wi-replay", f"2024-06-0{day}") for day in range(1, LIMIT + 3)}
    assert len(records) == LIMIT + 2

    body = limited.gql(REPLAYS, {"id": "t-wi-replay"}, token="caseworker")
    (error,) = _limit_errors(body)
    # replay and its determination are non-null: the error nulls the nearest nullable parent,
    # the household, and the answer stays well-formed
    assert body["data"] == {"household": None}
    assert error["path"][:3] == ["household", "determinationRecords", "edges"]
    assert error["path"][4:] == ["node", "replay", "determination"]
    assert error["path"][3] == LIMIT, "the records before it were computed"
    assert error["message"] == (f"whatWouldChange is computed for at most {LIMIT} households "
                                f"a request; this one has asked it for {LIMIT + 1} so far: ask "
                                "for fewer households (records, aliases, items), or leave "
                                "whatWouldChange out")
    assert "t-wi-replay" not in json.dumps(body)
    assert computed.count() == LIMIT

    # without whatWouldChange every record is replayed
    answered = limited.gql(REPLAYS_WITHOUT, {"id": "t-wi-replay"}, token="caseworker")
    assert "errors" not in answered, answered
    assert len(answered["data"]["household"]["determinationRecords"]["edges"]) == LIMIT + 2
    assert computed.count() == LIMIT


def test_replays_at_the_limit(limited: Api, computed: Computed) -> None:
    _household(limited, "t-wi-replay-3")
    for day in range(1, LIMIT + 1):
        _record(limited, "t-wi-replay-3", f"2024-07-0{day}")
    body = limited.gql(REPLAYS, {"id": "t-wi-replay-3"}, token="caseworker")
    assert "errors" not in body, body
    edges = body["data"]["household"]["determinationRecords"]["edges"]
    assert len(edges) == LIMIT
    changes = [o["whatWouldChange"] for e in edges
               for o in e["node"]["replay"]["determination"]["outcomes"]]
    assert any(changes)
    assert computed.count() == LIMIT


def test_aliased_household_determine_over_the_limit(limited: Api, computed: Computed) -> None:
    _household(limited, "t-wi-det")
    aliases = [f"d{i}" for i in range(LIMIT + 2)]
    mutation = "mutation($id: ID!) {" + " ".join(
        f'{a}: householdDetermine(id: $id, asOf: "2024-0{i + 1}-15") {{ record {{ id }} '
        f"determination {{ {FACTS} }} userErrors {{ code }} }}"
        for i, a in enumerate(aliases)) + "}"
    body = limited.gql(mutation, {"id": "t-wi-det"}, token="caseworker",
                       **{"accept-language": "zh"})
    errors = _limit_errors(body)
    # mutations run in order: the first LIMIT are answered, each later one's determination
    # (nullable) is null with its error; its record is stored all the same
    assert [e["path"] for e in errors] == [[a, "determination"] for a in aliases[LIMIT:]]
    assert [e["message"] for e in errors] == [
        ZH_REFUSAL.format(max=LIMIT, count=n) for n in range(LIMIT + 1, LIMIT + 3)]
    data = body["data"]
    for a in aliases[:LIMIT]:
        assert all(isinstance(o["whatWouldChange"], list)
                   for o in data[a]["determination"]["outcomes"])
    assert any(o["whatWouldChange"] for o in data[aliases[0]]["determination"]["outcomes"])
    for a in aliases[LIMIT:]:
        assert data[a]["determination"] is None and data[a]["record"]["id"]
    assert computed.count() == LIMIT


def test_one_evaluate_is_answered(limited: Api, computed: Computed) -> None:
    one = {**HOUSEHOLD, "annualNetIncome": 8300}  # a household no other test asks about
    body = limited.gql(f'query($h: HouseholdInput!) {{ evaluate(asOf: "2024-06-01", '
                       f"household: $h) {{ {FACTS} }} }}", {"h": one}, token="api_client")
    assert "errors" not in body, body
    assert any(o["whatWouldChange"] for o in body["data"]["evaluate"]["outcomes"])
    assert computed.count() == 1


def test_the_same_determination_counts_once(limited: Api, computed: Computed) -> None:
    # "a" and "again" are one determination (the same household on the same day, remembered),
    # asked through two selections each: with "b" and "c", LIMIT households
    def query(*days: tuple[str, str]) -> str:
        return "query($h: HouseholdInput!) {" + " ".join(
            f'{alias}: evaluate(asOf: "{day}", household: $h) {{ {FACTS} '
            f"programs {{ outcomes {{ again: whatWouldChange {{ fact }} }} }} }}"
            for alias, day in days) + "}"

    days = [("a", "2024-06-01"), ("again", "2024-06-01"), ("b", "2024-05-01"),
            ("c", "2024-04-01")]
    body = limited.gql(query(*days), {"h": HOUSEHOLD}, token="api_client")
    assert "errors" not in body, body
    assert body["data"]["a"] == body["data"]["again"]
    assert computed.count() == LIMIT

    # One more household is over the limit: evaluate is non-null, so the whole answer is null.
    # (Another income: the determinations above, served again, are answered from their kept
    # projection, computing nothing.)
    other = {**HOUSEHOLD, "annualNetIncome": 7100}
    body = limited.gql(query(*days, ("d", "2024-03-01")), {"h": other}, token="api_client")
    (error,) = _limit_errors(body)
    assert body["data"] is None
    assert error["path"] == ["d"]
