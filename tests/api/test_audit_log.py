"""The auditor reads the audit log: the ``auditLog`` connection (filtered by actor, object,
action and date; newest first; auditors only) and ``policy-engine audit``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.tokens import Tokens
from tests.api.conftest import Api

ROOT = Path(__file__).resolve().parents[2]
AUDIT = """query($first: Int, $after: String, $filter: AuditLogFilter) {
  auditLog(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id at actor action objectType objectId details entryHash prevHash } }
    pageInfo { hasNextPage endCursor } } }"""
SAVE = """mutation($h: HouseholdInput!) { householdSave(household: $h) {
  household { id } userErrors { code } } }"""


def _entries(api: Api, token: str = "auditor", **variables: Any) -> dict[str, Any]:
    body = api.gql(AUDIT, variables, token=token)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]["auditLog"]
    return data


def test_auditors_read_the_audit_log_filtered(api: Api) -> None:
    hh = {"id": "t-audit-1", "regionCode": "371300-001", "annualNetIncome": 9000,
          "members": [{"id": "m1", "relation": "HEAD", "birthDate": "1970-01-01"}]}
    assert api.gql(SAVE, {"h": hh}, token="caseworker")["data"]["householdSave"][
        "userErrors"] == []
    # By object and action: the save just made.
    found = _entries(api, filter={"objectId": "t-audit-1", "action": "household.save"})
    [edge] = found["edges"]
    node = edge["node"]
    assert (node["actor"], node["objectType"], node["details"]) == (
        "caseworker:cw-001", "household", {"revision": 1})
    assert len(node["entryHash"]) == 64 and len(node["prevHash"]) == 64
    # By actor: a login in any spelling finds every role the user acted in.
    Tokens(api.application).create(role="auditor", name="ＣＷ-001")
    by_login = _entries(api, first=50, filter={"actor": " CW-001 "})["edges"]
    assert by_login and {e["node"]["actor"] for e in by_login} == {"caseworker:cw-001"}
    exact = _entries(api, filter={"actor": "caseworker:cw-001", "objectId": "t-audit-1"})
    assert [e["node"]["id"] for e in exact["edges"]] == [node["id"]]
    # By date: today (UTC) has it, a day long past has nothing.
    today = datetime.now(UTC).date()
    assert _entries(api, filter={"objectId": "t-audit-1", "since": today.isoformat(),
                                 "until": today.isoformat()})["edges"]
    past = (today - timedelta(days=400)).isoformat()
    assert _entries(api, filter={"objectId": "t-audit-1", "until": past})["edges"] == []


def test_the_audit_log_pages_newest_first(api: Api) -> None:
    first = _entries(api, first=3)
    ids = [int(e["node"]["id"]) for e in first["edges"]]
    assert ids == sorted(ids, reverse=True) and first["pageInfo"]["hasNextPage"]
    following = _entries(api, first=3, after=first["pageInfo"]["endCursor"])
    assert int(following["edges"][0]["node"]["id"]) < ids[-1]
    # The chain links each entry to the one before it.
    assert first["edges"][0]["node"]["prevHash"] == first["edges"][1]["node"]["entryHash"]


def test_only_auditors_read_it(api: Api) -> None:
    for token, code in ((None, "UNAUTHENTICATED"), ("caseworker", "FORBIDDEN"),
                        ("policy_approver", "FORBIDDEN"), ("api_client", "FORBIDDEN")):
        body = api.gql(AUDIT, {}, token=token)
        assert body["errors"][0]["extensions"]["code"] == code, token
        assert body["data"] is None or body["data"].get("auditLog") is None
    body = api.gql(AUDIT, {"first": 0}, token="auditor")
    assert body["errors"][0]["extensions"]["code"] == "PAGE_SIZE"
    body = api.gql(AUDIT, {"after": "!!!"}, token="auditor")
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


def test_the_audit_command(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'audit.sqlite3'}"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120, check=False)

    assert cli("token", "create", "--role", "auditor", "--name", "Li Wei").returncode == 0
    done = cli("audit", "--action", "token.create", "--json")
    assert done.returncode == 0, done.stderr
    [entry] = json.loads(done.stdout)
    assert (entry["actor"], entry["details"]["login"]) == ("system:cli", "li wei")
    seeded = cli("audit", "--object", "rule_set_version:education-v4", "--limit", "5")
    assert seeded.returncode == 0 and "ruleset.seed" in seeded.stdout
    assert cli("audit", "--since", "2030-01-02", "--until", "2030-01-01").returncode == 2
