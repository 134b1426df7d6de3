"""What overdue monitoring cases cost to find as cases accumulate: the grouped count behind
``/metrics`` (``overdue_by_county``, run at every scrape), the first page of
``monitoringCases(filter: {overdue: true})`` for a township officer, and the whole overdue list
of ``policy-engine cases list --overdue`` (its first 1,000 cases with their entries, and the
counts per township and county of all of them).

    .venv/bin/python bench/cases.py                   # PostgreSQL (TEST_DATABASE_URL or local)
    .venv/bin/python bench/cases.py --sqlite --cases 20000

Cases are written straight through the store (one OPEN case and one entry each, spread over
40 villages and a year of opening days, so about half are overdue); each query is timed five
times after one warm-up run and the median reported, in wall-clock milliseconds. The database
is a fresh PostgreSQL schema (dropped afterwards) or a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.application import Application
from services.auth import Principal
from services.config import Settings
from store.models import (
    CaseChannel,
    CaseKind,
    CaseStatus,
    CaseStep,
    MonitoringCase,
    MonitoringCaseEntry,
    StoredHousehold,
)
from tests import databases

TODAY = date(2025, 6, 30)


def fill(app: Application, n: int) -> None:
    proc = app.cases.procedures[0]
    start = time.perf_counter()
    for lo in range(0, n, 2000):
        with app.uow() as uow:
            rows = []
            for i in range(lo, min(n, lo + 2000)):
                region = f"371300-{i % 4 + 1:03d}-{i % 10 + 1:02d}"
                rows.append((f"bench-{i}", region, TODAY - timedelta(days=i % 365),
                             str(uuid.uuid4())))
            # Without relationships the ORM does not order inserts: each table flushed in turn.
            for hid, region, _, _ in rows:
                uow.session.add(StoredHousehold(
                    id=hid, region_code=region, revision=1,
                    facts={"id": hid, "regionCode": region, "members": []}))
            uow.session.flush()
            for hid, region, opened, cid in rows:
                uow.session.add(MonitoringCase(
                    id=cid, household_id=hid, region_code=region, kind=CaseKind.INCLUSION,
                    channel=CaseChannel.APPLICATION, status=CaseStatus.OPEN,
                    step=CaseStep.VERIFICATION, procedure_version=proc.version,
                    procedure_hash=proc.content_hash, opened_on=opened, opened_by="bench",
                    due_on=opened + timedelta(days=28), step_started_on=opened,
                    step_due_on=opened + timedelta(days=5), step_recorded=False,
                    objections=[], criteria_granted=[]))
            uow.session.flush()
            for _, _, opened, cid in rows:
                uow.session.add(MonitoringCaseEntry(case_id=cid, step=CaseStep.VERIFICATION,
                                                    action="OPEN", on=opened, actor="bench",
                                                    details={}))
            uow.commit()
    print(f"wrote {n} cases in {time.perf_counter() - start:.1f} s")


def timed(label: str, fn: object) -> None:
    call = fn  # type: ignore[assignment]
    call()  # type: ignore[operator]
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        result = call()  # type: ignore[operator]
        runs.append((time.perf_counter() - t0) * 1000)
    size = len(result) if hasattr(result, "__len__") else result
    print(f"{label:<58} {statistics.median(runs):8.1f} ms  (result size {size})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=50_000)
    ap.add_argument("--sqlite", action="store_true")
    args = ap.parse_args()
    url = os.environ.get("TEST_DATABASE_URL",
                         "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with tempfile.TemporaryDirectory() as folder, databases.fresh_engine(
            "sqlite" if args.sqlite else "postgresql", Path(folder), postgres_url=url,
            prefix="bench_cases") as engine:
        app = Application(Settings(env="test", seed_fixtures=False, correlate_on_start=False),
                          engine)
        app.start()
        print(f"backend: {engine.dialect.name}, cases: {args.cases}")
        fill(app, args.cases)
        township = Principal(name="bench-tw", role="township_officer",
                             regions=frozenset({"371300-001"}), user_id="u1")
        timed("overdue_by_county (the /metrics scrape)",
              lambda: app.cases.overdue_by_county(TODAY))
        timed("monitoringCases overdue, first 20, one township",
              lambda: app.cases.cases(township, 20, None, TODAY, overdue=True)[0])
        timed("cases list --overdue: 1,000 views with entries, all counts",
              lambda: app.cases.overdue(None, TODAY)[0])


if __name__ == "__main__":
    main()
