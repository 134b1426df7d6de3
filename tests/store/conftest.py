"""Fixtures for the store's tests: every test runs on a freshly migrated SQLite file and, when
``TEST_DATABASE_URL`` (or ``DATABASE_URL``) names a PostgreSQL database, again on a fresh schema
there (dropped afterwards, so runs repeat and never touch other schemas' data).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from policy.document import RuleSetDocument, load_document
from policy.facts import Household, parse_household
from store.db import migrate
from store.uow import UnitOfWork
from tests.databases import fresh_engine

ROOT = Path(__file__).resolve().parents[2]
MONITORING_V1 = ROOT / "fixtures" / "rulesets" / "monitoring" / "v1.yaml"
AS_OF = date(2024, 3, 1)


def postgres_url() -> str | None:
    """The PostgreSQL database to test against, if one is configured (a SQLite
    ``DATABASE_URL`` does not count: SQLite is tested anyway)."""
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    return url if url and url.startswith("postgres") else None


# Without a PostgreSQL URL the PostgreSQL runs are left out rather than skipped one by one
# (test_store_migrations.py reports the omission once).
BACKENDS = ["sqlite"] + (
    [pytest.param("postgresql", marks=pytest.mark.postgres)] if postgres_url() else []
)


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database (nothing migrated yet)."""
    with fresh_engine(request.param, tmp_path, postgres_url=postgres_url(),
                      prefix="store_test") as engine:
        yield engine


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """An engine on a database migrated to head."""
    migrate(empty_engine)
    return empty_engine


class FakeClock:
    """A clock that moves ``step`` (one millisecond) each time it is read, so stamps are
    distinct and ordered; ``advance`` jumps ahead; a zero step stops it."""

    def __init__(self, start: datetime = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)):
        self.current = start
        self.step = timedelta(milliseconds=1)

    def __call__(self) -> datetime:
        self.current += self.step
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def uow(engine: Engine, clock: FakeClock) -> Callable[[], UnitOfWork]:
    """Makes a new unit of work on the test database (call it once per transaction)."""
    return lambda: UnitOfWork(engine, clock=clock)


def household_json(
    household_id: str = "hh-001", region: str = "371300-001", **facts: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": household_id,
        "regionCode": region,
        "povertyAlleviated": True,
        "annualNetIncome": 16800,
        "previousAnnualNetIncome": 21000,
        "members": [
            {"id": "m1", "relation": "HEAD", "birthDate": "1968-04-02"},
            {"id": "m2", "relation": "CHILD", "birthDate": "2011-09-10", "schoolStage": "JUNIOR",
             "disabilityGrade": 3, "disabilityKind": "PHYSICAL"},
        ],
    }
    data.update(facts)
    return data


def make_household(
    household_id: str = "hh-001", region: str = "371300-001", **facts: Any
) -> Household:
    return parse_household(household_json(household_id, region, **facts), AS_OF)


@pytest.fixture
def monitoring_v1() -> RuleSetDocument:
    return load_document(MONITORING_V1.read_text(encoding="utf-8"))


def as_version(document: RuleSetDocument, number: int, **changes: Any) -> RuleSetDocument:
    """The document renumbered (and otherwise changed), as a new version would be."""
    return document.model_copy(update={"version": number, **changes})


@pytest.fixture
def published_v1(
    uow: Callable[[], UnitOfWork], monitoring_v1: RuleSetDocument, clock: FakeClock
) -> str:
    """The id of monitoring v1, stored and published (effective 2023-01-01)."""
    with uow() as u:
        u.rule_sets.add_rule_set(
            "monitoring", title_zh="防止返贫动态监测", title_en="Poverty-relapse monitoring",
            owner="县扶贫办",
        )
        version = u.rule_sets.add_version(monitoring_v1, author="editor")
        version.submit(by="editor", at=clock())
        version.publish(by="approver", at=clock(), effective_from=date(2023, 1, 1))
        u.commit()
        return version.id
