"""``policy-engine cases list``, run as a user runs it (a real process) on a database with
cases: overdue cases in a Chinese-first table with counts per township and county, or JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from services.application import Application, Tokens
from services.config import Settings

D = date.fromisoformat


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli-cases') / 'cases.sqlite3'}"
    app = Application(Settings(database_url=url, correlate_on_start=False))
    try:
        app.start()
        t = Tokens(app)
        cw = t.principal(t.create(role="caseworker", name="cli-cw", regions=["371300"]))
        assert cw is not None
        for hid, region, opened in (("cli-a", "371300-001", "2024-09-27"),
                                    ("cli-b", "371300-002", "2024-10-08"),
                                    ("cli-c", "371300-002", "2024-10-14")):
            app.save_household(cw, {"id": hid, "regionCode": region, "annualNetIncome": 3000,
                                    "members": [{"id": "m1", "relation": "HEAD",
                                                 "birthDate": "1970-01-01"}]}, D(opened))
            app.cases.open(cw, hid, "INCLUSION", "APPLICATION", D(opened),
                           application_signed_on=D(opened))
    finally:
        app.engine.dispose()
    return url


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "cli.main", "cases", "list", *args],
                          capture_output=True, text=True, timeout=120, check=False, env=env,
                          cwd=Path(__file__).resolve().parent.parent)


def test_overdue_cases_as_json_with_counts_per_township_and_county(database: str) -> None:
    # Verification was due on 8 Oct (cli-a) and 11 Oct (cli-b); cli-c is due on 17 Oct.
    done = run(database, "--overdue", "--as-of", "2024-10-15", "--format", "json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["asOf"] == "2024-10-15"
    assert sorted((c["householdId"], c["stepDueOn"], c["daysOverdue"]) for c in out["cases"]) \
        == [("cli-a", "2024-10-08", 7), ("cli-b", "2024-10-11", 4)]
    assert out["overdueBy"] == [
        {"level": "COUNTY", "regionCode": "371300", "count": 2},
        {"level": "TOWNSHIP", "regionCode": "371300-001", "count": 1},
        {"level": "TOWNSHIP", "regionCode": "371300-002", "count": 1}]
    done = run(database, "--overdue", "--as-of", "2024-10-08", "--format", "json")
    assert json.loads(done.stdout)["cases"] == []
    done = run(database, "--overdue", "--as-of", "2024-10-15", "--region", "371300-002",
               "--format", "json")
    assert [c["householdId"] for c in json.loads(done.stdout)["cases"]] == ["cli-b"]


def test_the_table_is_chinese_first_and_english_on_request(database: str) -> None:
    done = run(database, "--overdue", "--as-of", "2024-10-15")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["案件编号", "农户", "地区", "类型", "状态", "当前环节",
                                "环节期限", "办结期限", "逾期天数"]
    assert any("cli-a" in line and "纳入监测" in line and "入户核查" in line for line in lines)
    assert "（共 2 件逾期案件，截至 2024-10-15）" in lines
    assert "县 371300: 2 件" in lines and "乡镇 371300-001: 1 件" in lines
    done = run(database, "--lang", "EN", "--as-of", "2024-10-15")
    assert done.stdout.splitlines()[0].split()[:3] == ["case", "household", "region"]
    assert "(3 cases as of 2024-10-15)" in done.stdout
