"""Early-warning fixtures: a real Application on a fresh, seeded database (SQLite always,
PostgreSQL when TEST_DATABASE_URL is set), tokens of every role, and household/event makers."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from services.application import Application
from services.auth import Principal
from services.config import Settings
from store.db import make_engine
from tests import databases
from tests.store.conftest import postgres_url

BACKENDS = ["sqlite"] + (
    [pytest.param("postgresql", marks=pytest.mark.postgres)] if postgres_url() else []
)
TODAY = date(2024, 6, 1)
CASEWORKER = Principal("cw-1", "caseworker", frozenset({"371300-001"}))
OTHER_CASEWORKER = Principal("cw-2", "caseworker", frozenset({"371300-002"}))
COUNTY_CASEWORKER = Principal("cw-county", "caseworker", frozenset({"371300"}))
FEED = Principal("feed", "api_client", frozenset({"371300"}))
AUDITOR = Principal("au", "auditor")
_ids = itertools.count(1)


@dataclass
class Warning_:
    app: Application

    def save(self, household: dict[str, Any]) -> None:
        self.app.save_household(CASEWORKER if household["regionCode"] == "371300-001"
                                else OTHER_CASEWORKER, household, TODAY)

    def ingest(self, *events: dict[str, Any], who: Principal = FEED) -> Any:
        return self.app.warning.ingest(who, list(events), TODAY)

    def alerts(self, who: Principal = AUDITOR, **filters: Any) -> list[Any]:
        items, _, _, _ = self.app.warning.alerts(who, 100, **filters)
        return items


def household(hid: str, region: str = "371300-001", **facts: Any) -> dict[str, Any]:
    members = facts.pop("members", None) or [
        {"id": "m1", "relation": "HEAD", "birthDate": "1970-05-01"},
        {"id": "m2", "relation": "CHILD", "birthDate": "2012-03-01", "schoolStage": "PRIMARY"},
    ]
    return {"id": hid, "regionCode": region, "annualNetIncome": 30000, "members": members,
            **facts}


def event(kind: str, hid: str, on: str, *, source: str | None = None,
          **more: Any) -> dict[str, Any]:
    sources = {"INPATIENT_COST": "医保", "DIBAO_GRANTED": "民政",
               "TEMPORARY_RELIEF_GRANTED": "民政", "DISABILITY_CERTIFIED": "残联",
               "SCHOOL_DROPOUT": "教育", "HOUSING_REGRADED": "住建", "INCOME_REPORTED": "扶贫"}
    return {"source": source or sources[kind], "eventId": more.pop("eventId", f"e{next(_ids)}"),
            "kind": kind, "householdId": hid, "occurredOn": on, **more}


@pytest.fixture(params=BACKENDS)
def warning(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warning_]:
    with databases.fresh_engine(request.param, tmp_path, postgres_url=postgres_url(),
                                prefix="warning_test") as engine:
        app = Application(Settings(env="test"), engine)  # type: ignore[arg-type]
        app.start()
        yield Warning_(app)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL another process can open: a SQLite file, or a fresh PostgreSQL schema (named in
    the URL's connection options, dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.sqlite3'}"
        return
    url = postgres_url()
    assert url is not None
    schema = f"crash_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
