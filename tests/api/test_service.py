"""Service qualities: readiness, metrics, logs without personal data, the serve command."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from services.application import Application
from services.config import Settings
from store.db import make_engine
from tests.api.conftest import Api, free_port, wait_until_ready

ROOT = Path(__file__).resolve().parents[2]
HH = json.loads((ROOT / "fixtures" / "households" / "hh-003.json").read_text(encoding="utf-8"))
Q = """query($h: HouseholdInput!) { evaluate(household: $h, asOf: "2024-06-01") { asOf } }"""


def test_not_ready_without_a_database() -> None:
    app = Application(Settings(env="prod"),
                      make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    ok, detail = app.ready()
    assert ok is False and "database unreachable" in detail


def test_evaluations_are_counted(api: Api) -> None:
    api.gql(Q, {"h": HH})
    metrics = api.client.get("/metrics").text
    counted = [line for line in metrics.splitlines()
               if line.startswith('policy_engine_evaluations_total{program="monitoring"}')]
    assert counted and float(counted[0].split()[-1]) >= 1


def test_an_operations_queueing_and_work_are_timed(api: Api) -> None:
    """/metrics tells an operation's wait for a thread and for the event loop from its run."""
    def counts() -> dict[str, tuple[float, float]]:
        found: dict[str, tuple[float, float]] = {}
        metrics = api.client.get("/metrics").text
        for stage in ("queued", "running", "resumed"):
            values = {}
            for suffix in ("count", "sum"):
                prefix = f'policy_engine_graphql_operation_seconds_{suffix}{{stage="{stage}"}}'
                line = [x for x in metrics.splitlines() if x.startswith(prefix)]
                values[suffix] = float(line[0].split()[-1]) if line else 0.0
            found[stage] = (values["count"], values["sum"])
        return found

    before = counts()
    api.gql(Q, {"h": HH})
    api.gql("{ __typename }")
    after = counts()
    for stage in ("queued", "running", "resumed"):
        assert after[stage][0] - before[stage][0] == 2, stage
        assert after[stage][1] >= before[stage][1], stage
    assert after["running"][1] > before["running"][1]


def test_metrics_name_the_worker_that_answered(api: Api) -> None:
    assert f'policy_engine_worker_info{{pid="{os.getpid()}"}} 1.0' in api.client.get(
        "/metrics").text


def test_logs_carry_a_request_id_and_no_personal_data(api: Api,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="policy_engine"):
        api.gql(Q, {"h": HH}, **{"x-request-id": "req42"})
    records = [r for r in caplog.records if r.name == "policy_engine.http"]
    assert records and records[-1].fields["request_id"] == "req42"  # type: ignore[attr-defined]
    text = " ".join(json.dumps(getattr(r, "fields", {}), ensure_ascii=False) + r.getMessage()
                    for r in caplog.records)
    assert HH["id"] not in text and HH["regionCode"] not in text and "1990" not in text


def test_serve_command_starts_seeds_and_stops_gracefully(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}"}
    env.pop("POLICY_ENGINE_ENV", None)
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        # A generous bound: on a loaded 2-core machine the server's start (imports, migrations,
        # seeding) has taken over 15 s.
        wait_until_ready(base, 90)
        r = httpx.post(f"{base}/graphql", json={"query": Q, "variables": {"h": HH}}, timeout=30)
        assert r.json()["data"]["evaluate"]["asOf"] == "2024-06-01"  # anonymous: dev default
        page = httpx.get(f"{base}/graphql", headers={"accept": "text/html"}, timeout=5)
        assert "graphiql" in page.text.lower()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal it caught.
    assert proc.returncode in (0, -signal.SIGTERM), err
    assert "Traceback" not in err
    assert (tmp_path / "serve.sqlite3").exists()


def test_token_create_command(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'tok.sqlite3'}"}
    run = [sys.executable, "-m", "cli.main", "token", "create"]
    done = subprocess.run([*run, "--role", "caseworker", "--name", "cw", "--region",
                           "371300-001"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert token.startswith("pe_") and len(token) > 30
    app = Application(Settings(database_url=f"sqlite:///{tmp_path / 'tok.sqlite3'}"))
    with app.uow() as uow:
        found = uow.tokens.lookup(token)
        assert found is not None and found[0].regions == ["371300-001"]
        assert token not in json.dumps([t.token_hash for t, _ in uow.tokens.list_tokens()])
    bad = subprocess.run([*run, "--role", "caseworker", "--name", "x"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 2 and "--region" in bad.stderr
    bad = subprocess.run([*run, "--role", "root", "--name", "x"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 2 and "unknown role" in bad.stderr


def test_recent_determinations_are_remembered(api: Api) -> None:
    from datetime import date

    from services.auth import ANONYMOUS

    app = api.application
    first = app.evaluate(ANONYMOUS, HH, date(2024, 6, 1))
    again = app.evaluate(ANONYMOUS, dict(HH), date(2024, 6, 1))
    assert again is first
    other = app.evaluate(ANONYMOUS, {**HH, "annualNetIncome": 1}, date(2024, 6, 1))
    assert other is not first and other != first
    assert app.evaluate(ANONYMOUS, HH, date(2024, 6, 2)) is not first


def test_memos_are_counted_on_metrics(api: Api) -> None:
    """Every memo of the process is a ``policy.cache.BoundedCache``: /metrics shows each one's
    hits, misses, entries and bound."""
    api.gql(Q, {"h": HH})
    api.gql(Q, {"h": HH})
    metrics = api.client.get("/metrics").text

    def value(name: str, cache: str) -> float:
        prefix = f'{name}{{cache="{cache}"}} '
        found = [line for line in metrics.splitlines() if line.startswith(prefix)]
        assert found, (name, cache)
        return float(found[0].split()[-1])

    for cache in ("graphql.plans", "graphql.variable_coercers", "engine.closures"):
        assert value("policy_engine_cache_max_entries", cache) >= 1
        assert value("policy_engine_cache_entries", cache) >= 1
    # the same document twice: its variable's compiled coercion is found the second time
    assert value("policy_engine_cache_hits_total", "graphql.variable_coercers") >= 1
