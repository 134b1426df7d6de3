"""Pushing alerts out: a webhook receiver that fails twice gets the alert on the third attempt,
signed, with every attempt logged; and a crash between storing events and correlating them
loses nothing (the killed process's events are correlated when the service starts again)."""

from __future__ import annotations

import hmac
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from services.application import Application, Tokens
from services.config import Settings
from services.webhooks import SIGNATURE_HEADER, sign
from tests import databases
from tests.store.conftest import postgres_url
from tests.warning.conftest import AUDITOR, BACKENDS, CASEWORKER, FEED, TODAY, event, household

ROOT = Path(__file__).resolve().parents[2]


class Receiver:
    """A small HTTP server on loopback that answers 500 to the first ``fail`` requests."""

    def __init__(self, fail: int):
        self.fail = fail
        self.requests: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = 500 if len(outer.requests) <= outer.fail else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=BACKENDS)
def fast_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Application]:
    with databases.fresh_engine(request.param, tmp_path, postgres_url=postgres_url(),
                                prefix="push_test") as engine:
        settings = Settings(env="test", webhook_backoff_seconds=0.05)  # type: ignore[arg-type]
        app = Application(settings, engine)
        app.start()
        yield app
        app.webhooks.stop()


def test_a_webhook_is_retried_until_its_receiver_answers(fast_app: Application) -> None:
    Tokens(fast_app).create(role="api_client", name="county-system", regions=["371300"])
    Tokens(fast_app).create(role="api_client", name="elsewhere", regions=["990000"])
    with Receiver(fail=2) as receiver:
        _, secret = fast_app.webhooks.register("county-system", receiver.url)
        fast_app.webhooks.register("elsewhere", receiver.url + "-not-called")
        fast_app.webhooks.start()
        fast_app.save_household(CASEWORKER, household("wh1"), TODAY)
        report = fast_app.warning.ingest(FEED, [event("DIBAO_GRANTED", "wh1", "2024-03-01")],
                                         TODAY)
        (alert,) = report.alerts
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            (delivery,) = fast_app.webhooks.deliveries(alert.id)
            if delivery.status != "PENDING":
                break
            time.sleep(0.05)
    assert delivery.status == "DELIVERED" and delivery.attempts == 3
    assert [entry["status"] for entry in delivery.log] == [500, 500, 200]
    assert len(receiver.requests) == 3
    for headers, body in receiver.requests:
        assert hmac.compare_digest(headers[SIGNATURE_HEADER.lower()], sign(secret, body))
        assert headers["x-delivery-id"] == delivery.id
    payload = json.loads(receiver.requests[-1][1])
    assert payload["alert"]["id"] == alert.id
    assert payload["alert"]["rule"] == "alert.new_dibao_or_temporary_relief"
    assert payload["alert"]["suggestedFacts"] == [{"fact": "dibao", "value": "true"}]


CRASH = """
import os, signal, sys
from services.application import Application
from services.config import Settings
from services.auth import Principal
from datetime import date
app = Application(Settings(env="test", database_url=sys.argv[1]))
app.start()
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # the events are committed; correlation never runs
app.warning.correlate = die
feed = Principal("feed", "api_client", frozenset({"371300"}))
app.warning.ingest(feed, [{"source": "住建", "eventId": "k1", "kind": "HOUSING_REGRADED",
                           "householdId": "hh-001", "occurredOn": "2024-03-01", "value": "D"}],
                   date(2024, 6, 1))
"""


def test_events_stored_before_a_kill_are_correlated_on_restart(database_url: str) -> None:
    url = database_url
    done = subprocess.run([sys.executable, "-c", CRASH, url], cwd=ROOT, timeout=120,
                          capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == -9, done.stderr.decode()[-2000:]
    app = Application(Settings(env="test", database_url=url))  # type: ignore[arg-type]
    try:
        with app.uow() as uow:
            assert uow.events.count_pending() == 1  # stored, never correlated
            assert uow.alerts.count() == 0
        app.start()  # a new process: recovery on start
        items, _, _, total = app.warning.alerts(AUDITOR, 10, household_id="hh-001")
        assert total == 1 and items[0].rule == "alert.housing_unsafe"
        assert app.warning.pending_count() == 0
    finally:
        app.engine.dispose()
