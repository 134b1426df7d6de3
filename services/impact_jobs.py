"""Impact previews as background jobs: started by one request, polled by the next.

An impact preview over many stored households takes seconds. ``ruleSetDraftImpactStart``
checks what the preview itself would refuse (role, department, the version, ``first``), stores
a job (``store.models.ImpactJob``) and returns its id at once; the preview runs in a thread of
the serving process (large previews in its child process, ``services.impact_pool``), writing
how many households it has counted after every batch. ``ruleSetDraftImpactJob`` reads the
job from the database, so any worker process answers the poll.

* Only the user who started a job reads it (what a report shows depends on what its reader
  may see, docs/decisions/0008-pseudonymised-impact-previews.md); to anyone else it does not
  exist.
* At most ``MAX_ACTIVE_JOBS`` jobs are queued or running at once (across all workers); one
  more is refused (``TOO_MANY_JOBS``) until one finishes. The count and the insert run under a
  lock every process honours (``store.counters.lock`` on the ``impact_jobs`` counter, in a
  transaction that SQLite begins IMMEDIATE): two starts racing in two workers cannot both
  see three jobs.
* Jobs finished (or last heard of) more than ``impact_job_retention_days`` ago are deleted,
  with their reports, when a new job starts, and by ``policy-engine jobs purge``.
* A job whose process stopped (no progress written for ``STALE_SECONDS``) reads as FAILED
  (``INTERRUPTED``) and no longer counts against the limit.
* The preview is audited when it finishes, as the synchronous preview is
  (``ruleset.draft.impact``); starting one is audited too (``ruleset.draft.impact.start``).

The finished report is kept as a pickle read back by an unpickler that builds only the
project's own classes and a few plain value types (dates, decimals, fractions): a row someone
altered in the database cannot make the service run anything else.
"""

from __future__ import annotations

import io
import logging
import pickle
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from services.auth import Principal
from services.errors import Conflict, NotFoundError, ServiceError
from store import counters
from store.db import IMMEDIATE
from store.models import ImpactJob
from store.types import utc_now

if TYPE_CHECKING:
    from services.application import Application
    from services.editing import ImpactReport

log = logging.getLogger(__name__)

MAX_ACTIVE_JOBS = 4
STALE_SECONDS = 600
QUEUED, RUNNING, DONE, FAILED = "QUEUED", "RUNNING", "DONE", "FAILED"

_SAFE_BUILTINS = {
    ("datetime", "date"), ("datetime", "datetime"), ("datetime", "timedelta"),
    ("datetime", "timezone"), ("decimal", "Decimal"), ("fractions", "Fraction"),
    ("builtins", "frozenset"), ("builtins", "set"), ("builtins", "complex"),
    # A reason's lazily computed flat conditions pickle as the tuple they stand for.
    ("builtins", "tuple"),
}
_OWN_PACKAGES = ("engine.", "policy.", "services.")


def _enum_member(cls: object, name: object) -> Enum:
    """``getattr(cls, name)`` for a member of an enumeration of the project's own packages, and
    nothing else: how some Python 3.11 releases pickle an enumeration's member (by name,
    ``Enum.__reduce_ex__``: Debian's 3.11.2), where others pickle it as ``cls(value)`` (3.11.7)."""
    if (isinstance(cls, type) and issubclass(cls, Enum)
            and cls.__module__.startswith(_OWN_PACKAGES)
            and isinstance(name, str) and name in cls.__members__):
        return cls[name]
    raise pickle.UnpicklingError(f"getattr({cls!r}, {name!r}) is not part of an impact report")


class _ReportUnpickler(pickle.Unpickler):
    """Builds only classes of the project's own packages and plain value types."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_BUILTINS:
            return super().find_class(module, name)
        if (module, name) == ("builtins", "getattr"):
            return _enum_member
        if module.startswith(_OWN_PACKAGES) and "." not in name:
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not part of an impact report")


def dump_report(report: ImpactReport) -> bytes:
    return pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL)


def load_report(data: bytes) -> ImpactReport:
    report: ImpactReport = _ReportUnpickler(io.BytesIO(data)).load()
    return report


@dataclass(frozen=True)
class ImpactJobView:
    id: str
    version_id: str
    as_of: date
    region_codes: tuple[str, ...]
    first: int
    status: str
    households_done: int
    households_total: int
    report: ImpactReport | None
    error_code: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


def record_progress(app: Application, job_id: str, done: int) -> None:
    """Write how many households a running job has counted (and that it is alive)."""
    with app.uow() as uow:
        uow.session.execute(update(ImpactJob).where(ImpactJob.id == job_id).values(
            households_done=done, updated_at=utc_now()))
        uow.commit()


def purge(session: Session, before: datetime) -> int:
    """Delete the jobs finished before ``before``, and those never finished whose process was
    last heard of before it (a running job writes its progress after every batch); the
    number deleted."""
    deleted = session.execute(delete(ImpactJob).where(or_(
        and_(ImpactJob.finished_at.is_not(None), ImpactJob.finished_at < before),
        and_(ImpactJob.finished_at.is_(None), ImpactJob.updated_at < before))))
    return int(getattr(deleted, "rowcount", 0) or 0)


def purge_jobs(app: Application, older_than_days: float) -> int:
    """``policy-engine jobs purge``: delete the jobs finished (or last heard of) more than
    ``older_than_days`` ago; the number deleted."""
    with app.uow() as uow:
        counters.lock(uow.session.connection(execution_options={IMMEDIATE: True}),
                      counters.IMPACT_JOBS)
        count = purge(uow.session, utc_now() - timedelta(days=older_than_days))
        uow.commit()
        return count


class ImpactJobs:
    """The background impact previews of one serving process."""

    def __init__(self, app: Application):
        self.app = app
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                # One preview at a time per process: each already uses both cores.
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="impact-job")
            return self._executor

    def start(self, p: Principal, version_id: str, as_of: date,
              region_codes: Sequence[str] | None = None, first: int = 100) -> ImpactJobView:
        self.app.editing.check_impact(p, version_id, first)
        total = self.app.household_count(region_codes)
        now = utc_now()
        with self.app.uow() as uow:
            # The lock first, before anything is read (SQLite: the snapshot is then taken
            # after the previous holder committed); held until commit or rollback.
            counters.lock(uow.session.connection(execution_options={IMMEDIATE: True}),
                          counters.IMPACT_JOBS)
            self._purge(uow.session, now)
            active = uow.session.scalar(select(func.count()).select_from(ImpactJob).where(
                ImpactJob.status.in_((QUEUED, RUNNING)),
                ImpactJob.updated_at > now - timedelta(seconds=STALE_SECONDS))) or 0
            if active >= MAX_ACTIVE_JOBS:
                msg = (f"{active} impact previews are queued or running (at most "
                       f"{MAX_ACTIVE_JOBS}); start this one when one has finished")
                raise Conflict(msg, code="TOO_MANY_JOBS")
            job = ImpactJob(actor=p.actor, version_id=version_id, as_of=as_of,
                            region_codes=list(region_codes or []), first=first, status=QUEUED,
                            households_done=0, households_total=total, created_at=now,
                            updated_at=now)
            uow.session.add(job)
            uow.session.flush()
            uow.audit.append(actor=p.actor, action="ruleset.draft.impact.start",
                             object_type="rule_set_version", object_id=version_id,
                             details={"job": job.id, "asOf": as_of.isoformat(),
                                      "regionCodes": list(region_codes or []),
                                      "households": total})
            job_id = job.id
            uow.commit()
        self._pool().submit(self._run, job_id, p, version_id, as_of,
                            list(region_codes) if region_codes else None, first)
        return self.get(p, job_id)

    def _purge(self, session: Session, now: datetime) -> None:
        """Old jobs out, in a savepoint: a PostgreSQL service role granted before jobs could be
        deleted (run `policy-engine migrate --grant-to ROLE` again) still starts jobs."""
        before = now - timedelta(days=self.app.settings.impact_job_retention_days)
        try:
            with session.begin_nested():
                purge(session, before)
        except DBAPIError:
            log.warning("old impact jobs not deleted (no DELETE on impact_jobs: grant it "
                        "with policy-engine migrate --grant-to ROLE)")

    def _run(self, job_id: str, p: Principal, version_id: str, as_of: date,
             region_codes: Sequence[str] | None, first: int) -> None:
        self._set(job_id, status=RUNNING)
        try:
            report = self.app.impacts.impact(p, version_id, as_of, region_codes, first,
                                             job_id=job_id)
        except ServiceError as exc:
            self._set(job_id, status=FAILED, error_code=exc.code, error_message=exc.message,
                      finished_at=utc_now())
        except Exception:
            # No arguments in the log: they name a version and regions, never household facts,
            # but the traceback is all an operator needs.
            log.exception("impact job %s failed", job_id)
            self._set(job_id, status=FAILED, error_code="INTERNAL",
                      error_message="the impact preview failed; see the service's log",
                      finished_at=utc_now())
        else:
            self._set(job_id, status=DONE, result=dump_report(report),
                      households_done=report.households + report.skipped,
                      finished_at=utc_now())

    def _set(self, job_id: str, **values: Any) -> None:
        with self.app.uow() as uow:
            uow.session.execute(update(ImpactJob).where(ImpactJob.id == job_id).values(
                updated_at=utc_now(), **values))
            uow.commit()

    def get(self, p: Principal, job_id: str) -> ImpactJobView:
        """The job, if ``p`` started it (NOT_FOUND otherwise, whether or not it exists)."""
        self.app.policy.review_rule_sets(p)
        with self.app.uow() as uow:
            job = uow.session.get(ImpactJob, job_id) if len(job_id) <= 36 else None
            if job is None or job.actor != p.actor:
                raise NotFoundError(f"no impact preview job {job_id}")
            status, code, message = job.status, job.error_code, job.error_message
            if status in (QUEUED, RUNNING) and \
                    job.updated_at < utc_now() - timedelta(seconds=STALE_SECONDS):
                status, code = FAILED, "INTERRUPTED"
                message = ("the process running the impact preview stopped before it "
                           "finished; start it again")
            report = load_report(job.result) if job.result is not None else None
            return ImpactJobView(
                id=job.id, version_id=job.version_id, as_of=job.as_of,
                region_codes=tuple(job.region_codes), first=job.first, status=status,
                households_done=job.households_done, households_total=job.households_total,
                report=report, error_code=code, error_message=message,
                created_at=job.created_at, updated_at=job.updated_at,
                finished_at=job.finished_at)

    def wait(self) -> None:
        """Wait for the jobs started so far (tests; shutting down)."""
        with self._lock:
            executor = self._executor
        if executor is not None:
            executor.submit(lambda: None).result()

    def close(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None
