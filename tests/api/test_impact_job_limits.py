"""Impact jobs across processes, on SQLite and PostgreSQL: the limit of active jobs holds when
two processes start jobs at the same moment, and old jobs are deleted (when a job starts, and
by `policy-engine jobs purge`)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, update

from services.application import Application
from services.auth import Principal
from services.config import Settings
from services.errors import ServiceError
from services.impact_jobs import MAX_ACTIVE_JOBS, ImpactJobView, purge_jobs
from store.models import ImpactJob
from store.types import utc_now
from tests.api.conftest import BACKENDS, fresh_engine
from tests.databases import second_engine

ROOT = Path(__file__).resolve().parents[2]
EDITOR = Principal(name="ed-jobs", role="policy_editor", department="县扶贫办")


@pytest.fixture(params=BACKENDS)
def two_apps(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Application]]:
    for engine in fresh_engine(request.param, tmp_path):
        settings = Settings(env="test")
        first = Application(settings, engine)
        first.start()
        second = Application(settings, second_engine(engine))
        try:
            yield [first, second]
        finally:
            for app in (first, second):
                app.impact_jobs.wait()
                app.impact_jobs.close()
            second.engine.dispose()


def _job(version_id: str, *, status: str, updated: timedelta,
         finished: timedelta | None = None) -> ImpactJob:
    now = utc_now()
    return ImpactJob(actor=EDITOR.actor, version_id=version_id, as_of=now.date(),
                     region_codes=[], first=10, status=status, households_done=0,
                     households_total=10, created_at=now - updated, updated_at=now - updated,
                     finished_at=now - finished if finished is not None else None)


def _add(app: Application, *jobs: ImpactJob) -> list[str]:
    with app.uow() as uow:
        uow.session.add_all(jobs)
        uow.session.flush()
        ids = [j.id for j in jobs]
        uow.commit()
    return ids


def _slow_count(engine: Engine) -> None:
    """Widen the window between counting the active jobs and inserting one: without a lock
    across processes, two starts would both count MAX - 1 and both insert."""

    @event.listens_for(engine, "after_cursor_execute")
    def pause(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "count(" in statement and "impact_jobs" in statement:
            time.sleep(0.3)


def test_two_processes_starting_jobs_at_once_stay_within_the_limit(
    two_apps: list[Application],
) -> None:
    first, _ = two_apps
    draft = first.editing.create_draft(EDITOR, "monitoring").id
    running = _add(first, *(_job(draft, status="RUNNING", updated=timedelta())
                            for _ in range(MAX_ACTIVE_JOBS - 1)))
    # The job that starts must stay active while the other start counts: on SQLite the loser
    # may wake from the busy wait tens of ms after the winner commits, time enough for a
    # preview of this small database to finish (then starting is right, not a race).
    release = threading.Event()
    for app in two_apps:
        _slow_count(app.engine)
        impact = app.impacts.impact

        def held(*args: Any, _impact: Any = impact, **kwargs: Any) -> Any:
            release.wait(60)
            return _impact(*args, **kwargs)

        app.impacts.impact = held  # type: ignore[method-assign]
    go = threading.Barrier(len(two_apps))
    results: list[ImpactJobView | Exception | None] = [None] * len(two_apps)

    def start(i: int) -> None:
        go.wait()
        try:
            results[i] = two_apps[i].impact_jobs.start(EDITOR, draft, utc_now().date(), first=5)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=start, args=(i,)) for i in range(len(two_apps))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    release.set()
    started = [r for r in results if isinstance(r, ImpactJobView)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(started) == 1 and len(refused) == 1, results
    assert isinstance(refused[0], ServiceError) and refused[0].code == "TOO_MANY_JOBS", \
        refused[0]
    with first.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(ImpactJob)) == \
            MAX_ACTIVE_JOBS
    with first.uow() as uow:
        uow.session.execute(update(ImpactJob).where(ImpactJob.id.in_(running)).values(
            status="FAILED", finished_at=utc_now()))
        uow.commit()


def test_old_jobs_are_deleted_when_a_job_starts_and_by_the_purge(
    two_apps: list[Application],
) -> None:
    first, second = two_apps
    draft = first.editing.create_draft(EDITOR, "monitoring").id
    days = timedelta(days=first.settings.impact_job_retention_days)
    old_done, old_interrupted, recent_done, running = _add(
        first,
        _job(draft, status="DONE", updated=days * 2, finished=days * 2),
        _job(draft, status="RUNNING", updated=days * 2),  # its process stopped long ago
        _job(draft, status="DONE", updated=timedelta(days=1), finished=timedelta(days=1)),
        _job(draft, status="RUNNING", updated=timedelta()))
    started = second.impact_jobs.start(EDITOR, draft, utc_now().date(), first=5)
    second.impact_jobs.wait()

    def kept() -> set[str]:
        with first.uow() as uow:
            return set(uow.session.scalars(select(ImpactJob.id)))

    assert kept() == {recent_done, running, started.id}
    # The purge of older than half a day leaves the job running (heard of just now) and the
    # one that just finished.
    assert purge_jobs(first, 0.5) == 1
    assert kept() == {running, started.id}
    with first.uow() as uow:
        uow.session.execute(update(ImpactJob).where(ImpactJob.id == running).values(
            status="FAILED", finished_at=utc_now()))
        uow.commit()
    assert old_done and old_interrupted  # deleted above


def test_jobs_purge_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": url, "POLICY_ENGINE_ENV": "prod"}

    def purge(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cli.main", "jobs", "purge", *args],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                              check=False)

    done = purge("--older-than", "30")
    assert done.returncode == 0, done.stderr
    assert "deleted 0 impact preview job(s)" in done.stdout
    app = Application(Settings(env="prod", database_url=url))
    try:
        app.start()
        _add(app, _job("v", status="DONE", updated=timedelta(days=40),
                       finished=timedelta(days=40)))
    finally:
        app.engine.dispose()
    done = purge("--older-than", "30")
    assert done.returncode == 0 and "deleted 1 impact preview job(s)" in done.stdout, done
    bad = purge("--older-than", "-1")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
