"""Out-of-order and duplicate events give the same alerts as in-order ones: a household fed a
stream in date order and a twin fed the same events shuffled, repeated and split into batches
end with the same alerts (rules, causes, members, events and explanations)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.application import Application
from services.config import Settings
from tests import databases
from tests.store.conftest import postgres_url
from tests.warning.conftest import AUDITOR, BACKENDS, CASEWORKER, FEED, TODAY, household

KINDS = ["INPATIENT_COST", "INPATIENT_COST", "INPATIENT_COST", "DIBAO_GRANTED",
         "TEMPORARY_RELIEF_GRANTED", "DISABILITY_CERTIFIED", "SCHOOL_DROPOUT",
         "HOUSING_REGRADED", "INCOME_REPORTED"]
SOURCES = {"INPATIENT_COST": "医保", "DIBAO_GRANTED": "民政", "TEMPORARY_RELIEF_GRANTED": "民政",
           "DISABILITY_CERTIFIED": "残联", "SCHOOL_DROPOUT": "教育", "HOUSING_REGRADED": "住建",
           "INCOME_REPORTED": "扶贫"}
_twins = itertools.count()


@pytest.fixture(scope="module", params=BACKENDS)
def order_app(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Application]:
    # One database for every example: each example uses households of its own.
    with databases.fresh_engine(request.param, tmp_path_factory.mktemp("order"),
                                postgres_url=postgres_url(), prefix="order") as engine:
        a = Application(Settings(env="test"), engine)  # type: ignore[arg-type]
        a.start()
        yield a


def stream(rng: random.Random, hid: str, n: int) -> list[dict[str, Any]]:
    out = []
    start = date(2022, 6, 1)
    for i in range(n):
        kind = rng.choice(KINDS)
        e: dict[str, Any] = {"source": SOURCES[kind], "eventId": f"{hid}-{i}", "kind": kind,
                             "householdId": hid,
                             "occurredOn": (start + timedelta(days=rng.randrange(700))).isoformat()}
        if kind in ("INPATIENT_COST", "DISABILITY_CERTIFIED", "SCHOOL_DROPOUT"):
            e["memberId"] = rng.choice(["m1", "m2"])
        if kind in ("INPATIENT_COST", "INCOME_REPORTED"):
            e["amount"] = rng.choice([1500, 3000, 4999.99, 5000, 9000, 14000])
        if kind == "DISABILITY_CERTIFIED":
            e["value"] = rng.choice("1234")
        if kind == "HOUSING_REGRADED":
            e["value"] = rng.choice("ABCD")
        out.append(e)
    return out


def alerts_of(a: Application, hid: str) -> list[tuple[Any, ...]]:
    items, _, _, _ = a.warning.alerts(AUDITOR, 100, household_id=hid)
    out = []
    for alert in items:
        events = sorted((e.event_id.split("-", 2)[-1], e.occurred_on, e.amount)
                        for e in a.warning.events_of(alert))
        reasons = tuple((r.rule_id, r.citation, r.conditions, r.condition)
                        for r in alert.reasons)  # the tree by value, not the lazy holder
        out.append((alert.rule, alert.cause, alert.member_id, alert.status, tuple(events),
                    reasons, alert.suggested_facts))
    return sorted(out, key=repr)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 14), alleviated=st.booleans())
def test_shuffled_and_duplicated_streams_raise_the_same_alerts(
        order_app: Application, seed: int, n: int, alleviated: bool) -> None:
    a = order_app
    rng = random.Random(seed)
    k = next(_twins)
    ordered_id, shuffled_id = f"o{k}", f"s{k}"
    for hid in (ordered_id, shuffled_id):
        a.save_household(CASEWORKER, household(hid, povertyAlleviated=alleviated), TODAY)
    base = stream(rng, "x", n)

    def renamed(hid: str) -> list[dict[str, Any]]:
        return [{**e, "householdId": hid, "eventId": f"{hid}-{e['eventId']}"} for e in base]

    for e in sorted(renamed(ordered_id), key=lambda e: (e["occurredOn"], e["eventId"])):
        a.warning.ingest(FEED, [e], TODAY)
    messy = renamed(shuffled_id)
    messy += rng.sample(messy, k=rng.randint(0, len(messy)))  # replays, some in one batch
    rng.shuffle(messy)
    while messy:
        size = rng.randint(1, 5)
        batch, messy = messy[:size], messy[size:]
        a.warning.ingest(FEED, batch, TODAY)
    got = alerts_of(a, shuffled_id)
    assert got == alerts_of(a, ordered_id)
    # Not vacuous: a grant while the rule set is in force (from 2023-01-01) raises an alert.
    if any(e["kind"] == "DIBAO_GRANTED" and e["occurredOn"] >= "2023-01-01" for e in base):
        assert any(rule == "alert.new_dibao_or_temporary_relief" for rule, *_ in got)
