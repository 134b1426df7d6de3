"""alertRaised over graphql-transport-ws: a real websocket client against a running uvicorn
server gets the alerts of its region as they are raised, and not another region's."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.sync.client import connect

from graphql_api.app import create_app
from services.application import Application, Tokens
from services.config import Settings
from tests.api.conftest import BACKENDS, free_port, fresh_engine, wait_until_ready


@pytest.fixture(scope="module", params=BACKENDS)
def live(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Application]]:
    """A real uvicorn server on loopback, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""
    for engine in fresh_engine(request.param, tmp_path_factory.mktemp("ws")):
        settings = Settings(env="dev")
        application = Application(settings, engine)
        server = uvicorn.Server(uvicorn.Config(create_app(settings, application),
                                               host="127.0.0.1", port=free_port(),
                                               log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.config.port}"
        wait_until_ready(base)
        yield base, application
        server.should_exit = True
        thread.join(timeout=10)

SAVE = """mutation($h: HouseholdInput!) { householdSave(household: $h) { userErrors { code } } }"""
INGEST = """mutation($e: [EventInput!]!) { eventsIngest(events: $e) { accepted
  alerts { id } } }"""
SUBSCRIBE = """subscription { alertRaised { id rule householdId regionCode status
  reasons { ruleId citation { clause } } } }"""


def post(base: str, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(f"{base}/graphql", json={"query": query, "variables": variables},
                   headers={"authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert "errors" not in body, body
    return body


def household(hid: str, region: str) -> dict[str, Any]:
    return {"id": hid, "regionCode": region,
            "members": [{"id": "m1", "relation": "HEAD", "birthDate": "1970-05-01"}]}


def test_alert_raised_reaches_a_websocket_client(live: tuple[str, Application]) -> None:
    base, application = live
    tokens = Tokens(application)
    mine = tokens.create(role="caseworker", name="ws-1", regions=["371300-001"])
    other = tokens.create(role="caseworker", name="ws-2", regions=["371300-002"])
    feed = tokens.create(role="api_client", name="ws-feed", regions=["371300"])
    post(base, mine, SAVE, {"h": household("ws-a", "371300-001")})
    post(base, other, SAVE, {"h": household("ws-b", "371300-002")})
    listeners = application.warning.listeners
    before = len(listeners._items)
    with connect(base.replace("http://", "ws://") + "/graphql",
                 subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                 additional_headers={"Authorization": f"Bearer {mine}"},
                 open_timeout=10) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
        deadline = time.monotonic() + 10
        while len(listeners._items) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(listeners._items) == before + 1
        # Another village's alert first: it must not reach this subscriber.
        post(base, feed, INGEST, {"e": [{"source": "住建", "eventId": "ws-h1",
                                         "kind": "HOUSING_REGRADED", "householdId": "ws-b",
                                         "occurredOn": "2024-03-01", "value": "D"}]})
        raised = post(base, feed, INGEST, {"e": [{
            "source": "民政", "eventId": "ws-d1", "kind": "DIBAO_GRANTED",
            "householdId": "ws-a", "occurredOn": "2024-03-02"}]})
        (expected,) = raised["data"]["eventsIngest"]["alerts"]
        message = json.loads(ws.recv(timeout=10))
        assert message["type"] == "next" and message["id"] == "1", message
        got = message["payload"]["data"]["alertRaised"]
        assert got["id"] == expected["id"]
        assert (got["rule"], got["householdId"], got["regionCode"], got["status"]) == (
            "alert.new_dibao_or_temporary_relief", "ws-a", "371300-001", "OPEN")
        assert got["reasons"][0]["citation"]["clause"] == "二、2"
        ws.send(json.dumps({"id": "1", "type": "complete"}))
    deadline = time.monotonic() + 10
    while len(listeners._items) > before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(listeners._items) == before  # the subscription let go of its listener


def test_an_anonymous_subscription_is_refused(live: tuple[str, Application]) -> None:
    base, _ = live
    with connect(base.replace("http://", "ws://") + "/graphql",
                 subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                 open_timeout=10) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
        message = json.loads(ws.recv(timeout=10))
    # graphql-transport-ws reports an error raised by the subscription's resolver as a result
    # with errors (its "error" message is for requests that do not validate).
    assert message["type"] == "next" and message["payload"]["data"] is None, message
    assert message["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def _subscribe_once(base: str, query: str, variables: dict[str, Any], token: str | None,
                    protocol: str = "graphql-transport-ws", **headers: str) -> dict[str, Any]:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with connect(base.replace("http://", "ws://") + "/graphql",
                 subprotocols=[protocol],  # type: ignore[list-item]
                 additional_headers=headers, open_timeout=10) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        start = "subscribe" if protocol == "graphql-transport-ws" else "start"
        ws.send(json.dumps({"id": "1", "type": start,
                            "payload": {"query": query, "variables": variables}}))
        message: dict[str, Any] = json.loads(ws.recv(timeout=10))
        return message


def _errors(message: dict[str, Any]) -> list[dict[str, Any]]:
    """graphql-transport-ws sends a request that does not validate as an "error" message (a
    list), the older graphql-ws as one error; a refusal comes as a result with errors."""
    payload = message["payload"]
    if isinstance(payload, list):
        return payload
    return payload.get("errors", [payload])  # type: ignore[no-any-return]


def test_a_subscribers_errors_have_codes_and_the_handshakes_language(
        live: tuple[str, Application]) -> None:
    """Every error a subscription gets has its code and speaks the language of the
    handshake's Accept-Language, as over HTTP: a document that does not validate (no
    suggestion), variables that do not coerce (told to a subscriber with a valid token: its
    token is looked up when the subscription starts) and a refusal (UNAUTHENTICATED alone
    without a token)."""
    base, application = live
    token = Tokens(application).create(role="caseworker", name="ws-vars",
                                       regions=["371300-001"])
    variables = "subscription($r: [String!]) { alertRaised(regionCodes: $r) { id } }"
    typo = "subscription { alertRaised { idd } }"
    for protocol in ("graphql-transport-ws", "graphql-ws"):
        told = _errors(_subscribe_once(base, variables, {"r": [5]}, token, protocol))
        assert [e["extensions"]["code"] for e in told] == ["BAD_USER_INPUT"], told
        assert told[0]["message"] == "变量 $r 中 [0] 的值不符合其类型"
        refused = _errors(_subscribe_once(base, variables, {"r": [5]}, None, protocol))
        assert [e["extensions"]["code"] for e in refused] == ["UNAUTHENTICATED"], refused
        assert refused[0]["message"].startswith("需要有效的访问令牌")
        wrong = _errors(_subscribe_once(base, typo, {}, token, protocol))
        assert [e["extensions"]["code"] for e in wrong] == ["GRAPHQL_VALIDATION_FAILED"]
        assert wrong[0]["message"] == "类型 Alert 没有字段 idd"
        english = _errors(_subscribe_once(base, typo, {}, token, protocol,
                                          **{"Accept-Language": "en"}))
        assert english[0]["message"].startswith("Cannot query field 'idd' on type 'Alert'")
        assert english[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_a_websocket_connection_is_one_log_line_without_variables(
        live: tuple[str, Application], caplog: pytest.LogCaptureFixture) -> None:
    """A subscriber's connection is logged once, when it ends: its token id (never the
    person's name), status 101 and the error codes of what it was sent; never the query or
    a variable."""
    base, application = live
    token = Tokens(application).create(role="caseworker", name="ws-logged",
                                       regions=["371300-001"])
    [view] = [t for t in Tokens(application).list() if t.login == "ws-logged"]
    query = "subscription($r: [String!]) { alertRaised(regionCodes: $r) { id } }"
    caplog.set_level(logging.INFO, logger="policy_engine.http")
    with connect(base.replace("http://", "ws://") + "/graphql",
                 subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                 additional_headers={"Authorization": f"Bearer {token}"},
                 open_timeout=10) as ws:  # subscribed, then closed
        ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        listeners = application.warning.listeners
        before = len(listeners._items)
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": query, "variables": {"r": ["371300-001"]}}}))
        deadline = time.monotonic() + 10
        while len(listeners._items) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        ws.send(json.dumps({"id": "1", "type": "complete"}))
    _subscribe_once(base, query, {"r": [54321]}, token)  # variables refused
    _subscribe_once(base, query, {"r": ["371300-001"]}, None)  # anonymous: refused
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [r.fields for r in caplog.records  # type: ignore[attr-defined]
                 if getattr(r, "fields", {}).get("method") == "WEBSOCKET"]
        if len(lines) >= 3:
            break
        time.sleep(0.05)
    assert [(x["status"], x.get("principal"), x.get("errors")) for x in lines] == [
        (101, view.id, None), (101, None, ["BAD_USER_INPUT"]),
        (101, "anonymous", ["UNAUTHENTICATED"])], lines
    assert all(x["path"] == "/graphql" and x["ms"] >= 0 for x in lines)
    text = caplog.text + repr([r.__dict__ for r in caplog.records])
    assert "54321" not in text and "ws-logged" not in text and "alertRaised" not in text
