"""Through the GraphQL service (a running uvicorn, real HTTP): a household's determination,
reasons and what-would-change included, does not depend on what the service evaluated before,
in any order, from concurrent clients; it is byte for byte what a fresh process that evaluated
nothing else gives."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.api.conftest import Api
from tests.api.test_graphql import FULL
from tests.engine.test_history import dated_households, each_in_a_fresh_process


def _served(base: str, hh: dict[str, Any], as_of: date) -> str:
    r = httpx.post(f"{base}/graphql", timeout=60, json={
        "query": FULL, "variables": {"h": hh, "asOf": as_of.isoformat()}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body
    return json.dumps(body["data"]["evaluate"], ensure_ascii=False, sort_keys=True)


def _as_served(fresh: str) -> str:
    """The engine's JSON as the query above selects it (every field but flaggedBy)."""
    data = json.loads(fresh)
    data.pop("flaggedBy")
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


@settings(max_examples=4)
@given(data=st.data())
def test_the_service_answers_as_a_fresh_process_whatever_came_before(
        live: tuple[str, Api], data: st.DataObject) -> None:
    base, _ = live
    items = data.draw(dated_households(), label="households")
    order = data.draw(st.permutations(range(len(items))), label="order")
    in_order = {i: _served(base, *items[i]) for i in order}
    with ThreadPoolExecutor(max_workers=3) as pool:  # concurrent clients, the other order
        concurrent = list(pool.map(lambda i: _served(base, *items[i]), reversed(order)))
    fresh = [_as_served(text) for text in each_in_a_fresh_process(items)]
    for i in range(len(items)):
        assert in_order[i] == fresh[i], f"household {i} differs from a fresh process"
    assert concurrent == [fresh[i] for i in reversed(order)]
