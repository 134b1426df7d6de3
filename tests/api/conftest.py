"""API fixtures: the real ASGI app on a fresh database per backend (SQLite always, PostgreSQL
when TEST_DATABASE_URL is set), tokens for every role, and a real uvicorn server."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from graphql_api.app import create_app
from services.application import Application, Tokens
from services.config import Settings
from services.rulesets import FIXTURES
from testing.serving import free_port, wait_until_ready
from tests import databases

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def postgres_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL")


def fresh_engine(backend: str, folder: Path) -> Iterator[Engine]:
    if backend == "postgresql" and not postgres_url():
        pytest.skip("PostgreSQL: set TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/test")
    with databases.fresh_engine(backend, folder, postgres_url=postgres_url(),
                                prefix="api_test") as engine:
        yield engine


class AppClient:
    """A synchronous HTTP client for the ASGI app in-process (httpx with its ASGI transport)."""

    def __init__(self, app: Any):
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await c.request(method, url, **kwargs)

        return anyio.run(go)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


@dataclass
class Api:
    """A running app and the tokens of each role."""

    application: Application
    client: AppClient
    tokens: dict[str, str]

    def gql(self, query: str, variables: dict[str, Any] | None = None,
            token: str | None = None, **headers: str) -> dict[str, Any]:
        """The answer to one operation. Messages are asked for in English (the tests read
        their details); pass ``**{"accept-language": "zh"}`` for the Chinese ones, which are
        the service's default."""
        h = {"content-type": "application/json", "accept-language": "en", **headers}
        if token is not None:
            h["authorization"] = f"Bearer {self.tokens.get(token, token)}"
        response = self.client.post("/graphql", json={"query": query, "variables": variables or {}},
                                    headers=h)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def _tokens(application: Application) -> dict[str, str]:
    t = Tokens(application)
    return {
        "caseworker": t.create(role="caseworker", name="cw-001", regions=["371300-001"]),
        "caseworker2": t.create(role="caseworker", name="cw-002", regions=["371300-002"]),
        "county_caseworker": t.create(role="caseworker", name="cw-county", regions=["371300"]),
        "policy_editor": t.create(role="policy_editor", name="ed-1", department="县扶贫办"),
        "policy_editor2": t.create(role="policy_editor", name="ed-2", department="县扶贫办"),
        "education_editor": t.create(role="policy_editor", name="ed-edu", department="县教体局"),
        "policy_approver": t.create(role="policy_approver", name="ap-1", department="县扶贫办"),
        "policy_approver2": t.create(role="policy_approver", name="ap-2", department="县扶贫办"),
        "education_approver": t.create(role="policy_approver", name="ap-edu",
                                       department="县教体局"),
        "disability_approver": t.create(role="policy_approver", name="ap-dis",
                                        department="县残联"),
        "auditor": t.create(role="auditor", name="au-1"),
        "api_client": t.create(role="api_client", name="app-1"),
        "township_officer": t.create(role="township_officer", name="tw-001",
                                     regions=["371300-001"]),
        "township_officer2": t.create(role="township_officer", name="tw-002",
                                      regions=["371300-002"]),
        "county_officer": t.create(role="county_officer", name="co-001", regions=["371300"]),
        # the township officer tw-001's own user with a county token (four eyes are by user)
        "county_officer_tw": t.create(role="county_officer", name="tw-001",
                                      regions=["371300"]),
    }


def _api(backend: str, folder: Path, env: str) -> Iterator[Api]:
    for engine in fresh_engine(backend, folder):
        settings = Settings(env=env)  # type: ignore[arg-type]
        application = Application(settings, engine)
        app = create_app(settings, application)
        yield Api(application, AppClient(app), _tokens(application))


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The app in dev (as `policy-engine serve` runs it)."""
    yield from _api(request.param, tmp_path_factory.mktemp("api"), "dev")


@pytest.fixture(params=BACKENDS)
def own_api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    """The app in dev on a database of the test's own, for a test that needs a state no other
    test may have changed (such as the one open draft of a rule set)."""
    yield from _api(request.param, tmp_path, "dev")


@pytest.fixture(scope="module")
def prod_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The app as deployed (POLICY_ENGINE_ENV=prod)."""
    yield from _api("sqlite", tmp_path_factory.mktemp("prod"), "prod")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Api]]:
    """A real uvicorn server on loopback, with its own database."""
    folder = tmp_path_factory.mktemp("live")
    for engine in fresh_engine("sqlite", folder):
        settings = Settings(env="dev")
        application = Application(settings, engine)
        app = create_app(settings, application)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(base)
        yield base, Api(application, AppClient(app), _tokens(application))
        server.should_exit = True
        thread.join(timeout=10)


def fixture_household(hid: str) -> dict[str, Any]:
    """The fixture household hh-002 (two members) under another id, in region 371300-001."""
    data: dict[str, Any] = json.loads(
        (FIXTURES / "households" / "hh-002.json").read_text(encoding="utf-8"))
    data.update(id=hid, regionCode="371300-001")
    return data
