"""Tokens belong to users: `token create/list/revoke` on the command line, expiry, and a
revocation that holds on the very next request in every server process (each process
remembers tokens only under the token generation it reads on every request)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from graphql_api.app import create_app
from services.application import Application
from services.config import Settings
from services.errors import InvalidInput
from services.tokens import Tokens
from store import counters
from store.db import make_engine
from store.repositories import TokenRepository
from tests.api.conftest import BACKENDS, free_port, fresh_engine, wait_until_ready
from tests.databases import second_engine

ROOT = Path(__file__).resolve().parents[2]
HOUSEHOLDS = "{ households(first: 1) { totalCount } }"


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", "token", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def test_token_commands_create_list_and_revoke(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'tok.sqlite3'}"}
    made = _cli(env, "create", "--role", "auditor", "--name", " Wang Fang ",
                "--expires", "2099-01-01")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    listed = _cli(env, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert (row["login"], row["role"], row["expiresAt"], row["revokedAt"]) == (
        "wang fang", "auditor", "2099-01-01T00:00:00+00:00", None)
    assert token not in listed.stdout

    # A name that cannot be a login is refused with exit 2 and a message, not a traceback
    # (95 characters used to overflow the actor columns on PostgreSQL).
    long_name = _cli(env, "create", "--role", "auditor", "--name", "x" * 95)
    assert long_name.returncode == 2 and "at most 64 characters" in long_name.stderr
    assert "Traceback" not in long_name.stderr
    approver = _cli(env, "create", "--role", "policy_approver", "--name", "ap")
    assert approver.returncode == 2 and "--department" in approver.stderr
    past = _cli(env, "create", "--role", "auditor", "--name", "a", "--expires", "2001-01-01")
    assert past.returncode == 2 and "IN_THE_PAST" in past.stderr

    revoked = _cli(env, "revoke", row["id"], "--reason", "left the office")
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(_cli(env, "list", "--json").stdout) == []
    [gone] = json.loads(_cli(env, "list", "--all", "--json").stdout)
    assert gone["revokedAt"] is not None
    assert _cli(env, "revoke", "no-such-id").returncode == 2


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[Application, list[str]]]:
    """Two server processes' worth of state (two Applications, two engines, two uvicorn
    servers) on one database, as `serve --workers 2` runs them."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    settings = Settings(env="prod", database_url=url)
    servers, threads, bases, apps = [], [], [], []
    for _ in range(2):
        application = Application(settings, make_engine(url))
        app = create_app(settings, application)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(base)
        servers.append(server)
        threads.append(thread)
        bases.append(base)
        apps.append(application)
    yield apps[0], bases
    for server in servers:
        server.should_exit = True
    for thread in threads:
        thread.join(timeout=10)
    for application in apps:
        application.engine.dispose()


def _ask(base: str, token: str) -> dict[str, Any]:
    response = httpx.post(f"{base}/graphql", json={"query": HOUSEHOLDS},
                          headers={"authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_revoked_token_is_refused_on_its_next_request_in_every_server(
    two_servers: tuple[Application, list[str]],
) -> None:
    app, bases = two_servers
    tokens = Tokens(app)
    token = tokens.create(role="auditor", name="au-revoke")
    for _ in range(3):  # warm whatever a server might remember
        for base in bases:
            assert "errors" not in _ask(base, token)
    [view] = [v for v in tokens.list() if v.login == "au-revoke"]
    tokens.revoke(view.id)
    for base in bases:
        body = _ask(base, token)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_an_expired_token_is_refused(two_servers: tuple[Application, list[str]]) -> None:
    app, bases = two_servers
    tokens = Tokens(app)
    # an hour ahead, so a slow first request cannot outlive it; expired below in the database
    later = datetime.now(UTC) + timedelta(hours=1)
    token = tokens.create(role="auditor", name="au-expiring", expires_at=later)
    assert "errors" not in _ask(bases[0], token)
    with app.uow() as uow:  # expire it now (a token change bumps every cache's generation)
        [view] = [t for t, _ in uow.tokens.list_tokens() if t.name == "au-expiring"]
        view.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        uow.commit()
    for base in bases:
        assert _ask(base, token)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    with pytest.raises(InvalidInput) as refused:
        tokens.create(role="auditor", name="x", expires_at=datetime(2001, 1, 1, tzinfo=UTC))
    assert [e.code for e in refused.value.errors] == ["IN_THE_PAST"]


@pytest.fixture(params=BACKENDS)
def two_processes(request: pytest.FixtureRequest, tmp_path: Path,
                  ) -> Iterator[tuple[Application, Application]]:
    """Two processes' worth of state (an Application and an engine each) on one database."""
    for engine in fresh_engine(request.param, tmp_path):
        settings = Settings(env="prod", seed_fixtures=False)
        first = Application(settings, engine)
        first.start()
        # the second engine opens the same database (PostgreSQL: the same schema)
        second = Application(settings, second_engine(engine))
        try:
            yield first, second
        finally:
            second.engine.dispose()


def _refused_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the token was looked up although the generation had not moved")

    monkeypatch.setattr(TokenRepository, "lookup", refuse)


def test_a_remembered_token_is_not_looked_up_again_until_a_token_changes(
    two_processes: tuple[Application, Application], monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = two_processes
    token = Tokens(first).create(role="auditor", name="au-cache")
    other = Tokens(first).create(role="auditor", name="au-other")
    for app in (first, second):
        found = Tokens(app).principal(token)
        assert found is not None and found.name == "au-cache"
    with monkeypatch.context() as patched:  # remembered: the generation read is all it takes
        _refused_lookups(patched)
        for app in (first, second):
            assert Tokens(app).principal(token) is not None
    # Revoking another token moves the generation: both processes look theirs up again.
    [view] = [v for v in Tokens(second).list() if v.login == "au-other"]
    before = counters.generation(first.engine)
    Tokens(second).revoke(view.id)
    assert counters.generation(first.engine) > before
    for app in (first, second):
        assert Tokens(app).principal(token) is not None
        assert Tokens(app).principal(other) is None


def test_a_revocation_or_expiry_written_in_sql_holds_on_the_next_lookup(
    two_processes: tuple[Application, Application],
) -> None:
    """The triggers bump the generation whoever changes the row: an operator's UPDATE in
    psql or sqlite3 reaches every process as `token revoke` does."""
    first, second = two_processes
    revoked = Tokens(first).create(role="auditor", name="au-sql-revoked")
    expired = Tokens(first).create(role="auditor", name="au-sql-expired")
    renamed = Tokens(first).create(role="auditor", name="au-sql-renamed")
    for app in (first, second):
        for token in (revoked, expired, renamed):
            assert Tokens(app).principal(token) is not None
    with first.engine.begin() as connection:
        connection.execute(text("UPDATE api_tokens SET revoked_at = :now WHERE name = :n"),
                           {"now": datetime.now(UTC), "n": "au-sql-revoked"})
    with first.engine.begin() as connection:
        connection.execute(text("UPDATE api_tokens SET expires_at = :t WHERE name = :n"),
                           {"t": datetime.now(UTC) - timedelta(seconds=1),
                            "n": "au-sql-expired"})
    with first.engine.begin() as connection:
        connection.execute(text("UPDATE users SET login = 'au-sql-new' "
                                "WHERE login = 'au-sql-renamed'"))
    for app in (first, second):
        assert Tokens(app).principal(revoked) is None
        assert Tokens(app).principal(expired) is None
        found = Tokens(app).principal(renamed)
        assert found is not None and found.name == "au-sql-new"


def test_a_remembered_token_expires_by_the_clock(
    two_processes: tuple[Application, Application], monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, _ = two_processes
    token = Tokens(first).create(role="auditor", name="au-clock",
                                 expires_at=datetime.now(UTC) + timedelta(hours=1))
    assert Tokens(first).principal(token) is not None
    _refused_lookups(monkeypatch)
    later = datetime.now(UTC) + timedelta(hours=2)
    monkeypatch.setattr("services.tokens.utc_now", lambda: later)
    assert Tokens(first).principal(token) is None


@pytest.fixture(params=BACKENDS)
def store_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Application]:
    for engine in fresh_engine(request.param, tmp_path):
        application = Application(Settings(env="prod", seed_fixtures=False), engine)
        application.start()
        yield application


def test_a_department_or_region_that_cannot_be_stored_is_refused_alike_on_both_databases(
        store_app: Application) -> None:
    """A department longer than its column (100) failed on PostgreSQL only, with an internal
    error, and was stored on SQLite; a NUL or an empty region made a token nobody could use.
    Each is refused with a field error before anything is stored, on both databases."""
    tokens = Tokens(store_app)
    cases = [
        ({"role": "policy_editor", "department": "县" * 101}, "department"),
        ({"role": "policy_editor", "department": "县教\u0000体局"}, "department"),
        ({"role": "policy_approver", "department": "   "}, "department"),
        ({"role": "caseworker", "regions": ["371300-001", "3" * 33]}, "region"),
        ({"role": "caseworker", "regions": [" "]}, "region"),
        ({"role": "caseworker", "regions": ["371300\u0000"]}, "region"),
    ]
    for claims, field in cases:
        with pytest.raises(InvalidInput) as refused:
            tokens.create(name="bad-scope", **claims)  # type: ignore[arg-type]
        assert [(e.field, e.code) for e in refused.value.errors] == [
            (field, "INVALID_VALUE")], claims
        assert "\u0000" not in str(refused.value)
    assert [v for v in tokens.list() if v.login == "bad-scope"] == []
    # Surrounding spaces are not part of a department or a region: trimmed, the scope
    # matches the rule sets' owners and the households' region codes.
    token = tokens.create(role="policy_editor", name="ed-trim", department=" 县教体局 ")
    token2 = tokens.create(role="caseworker", name="cw-trim", regions=[" 371300-001 "])
    assert tokens.principal(token).department == "县教体局"  # type: ignore[union-attr]
    assert tokens.principal(token2).regions == frozenset({"371300-001"})  # type: ignore[union-attr]
