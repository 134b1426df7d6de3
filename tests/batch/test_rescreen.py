"""Re-screening the stored households goes through the batch backend and gives the same
statuses and amounts as the interactive engine, household by household, on SQLite and on
PostgreSQL (whose facts text is jsonb's rendering: keys reordered, spaces of its own)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from engine.determine import determine
from policy.facts import parse_household
from services.application import Application
from services.config import Settings
from services.rescreen import rescreen_stored
from testing.households import random_household
from tests.databases import database_url, fresh_engine

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2024, 6, 1)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    postgres = os.environ.get("TEST_DATABASE_URL")
    if request.param == "postgresql" and not postgres:
        pytest.skip("PostgreSQL: set TEST_DATABASE_URL")
    with fresh_engine(request.param, tmp_path, postgres_url=postgres,
                      prefix="rescreen") as fresh:
        yield fresh


def test_stored_households_rescreened_like_determine(engine: Engine, tmp_path: Path) -> None:
    app = Application(Settings(env="test"), engine)
    app.start()
    rng = random.Random(11)
    with app.uow() as uow:
        for i in range(300):
            data = random_household(rng, AS_OF, hid=f"gen-{i:04d}")
            if i == 7:  # texts JSON escapes or keeps as they are
                data["id"] = '村-"7"\\'
            uow.households.save(parse_household(data, AS_OF), by="test")
        uow.commit()
    out = tmp_path / "out.parquet"
    summary = rescreen_stored(app, AS_OF, out)
    table = pl.read_parquet(out)
    with app.uow() as uow:
        stored = {h.id: h.facts for h in uow.households.iterate()}
    assert summary["households"]["screened"] == len(stored) >= 311
    versions = app.catalog().in_force(AS_OF)
    expected = []
    for hid, facts in stored.items():
        for o in determine(facts, AS_OF, versions).outcomes():
            expected.append((hid, o.member_id, o.code, o.status.value, o.amount, o.period))
    got = [(r["household_id"], r["member_id"], r["code"], r["status"], r["amount"], r["period"])
           for r in table.iter_rows(named=True)]
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    # A county's code covers its villages' households (as the impact preview's regionCodes).
    county = rescreen_stored(app, AS_OF, tmp_path / "county.parquet", region_codes=["371300"])
    with app.uow() as uow:
        villages = {h.id for h in uow.households.iterate()
                    if h.region_code.startswith("371300-")}
    assert 0 < len(villages) < len(stored)
    assert county["households"]["read"] == len(villages)
    assert set(pl.read_parquet(tmp_path / "county.parquet")["household_id"]) <= villages


def test_rescreen_command(engine: Engine, tmp_path: Path) -> None:
    Application(Settings(env="test"), engine).start()  # migrated and seeded from fixtures/
    env = {"DATABASE_URL": database_url(engine), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "rescreen", "--as-of", "2024-06-01", "--out",
         str(tmp_path / "o.csv"), "--status", "GRANTED", "--region", "371300-001"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    rows = pl.read_csv(tmp_path / "o.csv")
    assert rows.height > 0
    assert set(rows["status"].to_list()) == {"GRANTED"}
    assert set(rows["region_code"].to_list()) == {"371300-001"}
    # What each item granted, by the title of the version in force (the database's catalogue).
    assert any(line.startswith("  医疗救助第二档（低保对象）（medical.tier2）：获批 ")
               and " / Medical relief tier 2 (dibao recipients): " in line
               for line in done.stdout.splitlines()), done.stdout
    # Every outcome to CSV is written in the wide layout (decision 0012), as by screen.
    every = subprocess.run(
        [sys.executable, "-m", "cli.main", "rescreen", "--as-of", "2024-06-01", "--out",
         str(tmp_path / "all.csv"), "--status", "all", "--region", "371300-001"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert every.returncode == 0, every.stderr
    wide = pl.read_csv(tmp_path / "all.csv", infer_schema=False)
    assert "code" not in wide.columns and "disability.living_subsidy" in wide.columns
    households = wide.filter(pl.col("member_id").is_null())
    assert households.height > 0
    assert households["disability.living_subsidy"].null_count() == households.height
    assert households["housing.repair"].null_count() == 0
    assert set(wide["region_code"].to_list()) == {"371300-001"}
    assert set(wide["disability.living_subsidy"].drop_nulls().to_list()) <= {"G", "N", "U"}
    bad = subprocess.run(
        [sys.executable, "-m", "cli.main", "rescreen", "--as-of", "2024-06-01", "--out",
         str(tmp_path / "o.csv"), "--program", "roads"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert bad.returncode == 2 and "UNKNOWN_PROGRAM" in bad.stderr
