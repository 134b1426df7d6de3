"""Repositories of monitoring cases, their entries, visits and assistance measures."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from store.errors import InvalidCursor
from store.models import (
    AssistanceMeasure,
    CaseKind,
    CaseStatus,
    CaseStep,
    MonitoringCase,
    MonitoringCaseEntry,
    Visit,
)
from store.pagination import Page, check_page_size, decode_cursor, encode_cursor
from store.repositories import _in_regions, _page, _Repository, keyset_window


def _parse(text: str, cursor: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidCursor(f"not a cursor this store handed out: {cursor!r}") from None


class CaseRepository(_Repository):
    """Monitoring cases and what was done to them (entries, oldest first)."""

    def add(self, case: MonitoringCase) -> MonitoringCase:
        self.session.add(case)
        self._flush("monitoring case")
        return case

    def find(self, case_id: str) -> MonitoringCase | None:
        return self.session.get(MonitoringCase, case_id)

    def open_of(self, household_id: str, kind: CaseKind) -> MonitoringCase | None:
        return self.session.scalars(select(MonitoringCase).where(
            MonitoringCase.household_id == household_id, MonitoringCase.kind == kind,
            MonitoringCase.status == CaseStatus.OPEN)).first()

    def of_household(self, household_id: str) -> list[MonitoringCase]:
        return list(self.session.scalars(select(MonitoringCase).where(
            MonitoringCase.household_id == household_id).order_by(MonitoringCase.opened_at,
                                                                   MonitoringCase.id)))

    def add_entry(self, entry: MonitoringCaseEntry) -> MonitoringCaseEntry:
        self.session.add(entry)
        self._flush("monitoring case entry")
        return entry

    def entries(self, case_ids: Collection[str]) -> dict[str, list[MonitoringCaseEntry]]:
        out: dict[str, list[MonitoringCaseEntry]] = {c: [] for c in case_ids}
        if not out:
            return out
        for e in self.session.scalars(select(MonitoringCaseEntry).where(
                MonitoringCaseEntry.case_id.in_(sorted(out))).order_by(MonitoringCaseEntry.id)):
            out[e.case_id].append(e)
        return out

    def _filtered(self, query: Any, *, region_codes: Collection[str] | None,
                  status: CaseStatus | None, kind: CaseKind | None,
                  overdue_on: date | None, household_id: str | None,
                  overdue: bool = True, step: CaseStep | None = None) -> Any:
        query = query.where(*_in_regions(MonitoringCase.region_code, region_codes))
        if step is not None:
            query = query.where(MonitoringCase.step == step)
        if status is not None:
            query = query.where(MonitoringCase.status == status)
        if kind is not None:
            query = query.where(MonitoringCase.kind == kind)
        if household_id is not None:
            query = query.where(MonitoringCase.household_id == household_id)
        if overdue_on is not None:
            late = and_(MonitoringCase.status == CaseStatus.OPEN, or_(
                MonitoringCase.step_due_on < overdue_on, MonitoringCase.due_on < overdue_on))
            query = query.where(late if overdue else ~late)
        return query

    def page(self, first: int, after: str | None = None, *,
             region_codes: Collection[str] | None = None, status: CaseStatus | None = None,
             kind: CaseKind | None = None, overdue_on: date | None = None,
             household_id: str | None = None, overdue: bool = True,
             step: CaseStep | None = None) -> Page[MonitoringCase]:
        """Cases newest first, ``first`` at a time; ``overdue_on``: only OPEN cases whose step
        or whole case was due before that day (``overdue`` False: only the others)."""
        check_page_size(first)
        query = self._filtered(select(MonitoringCase), region_codes=region_codes, status=status,
                               kind=kind, overdue_on=overdue_on, household_id=household_id,
                               overdue=overdue, step=step)
        if after is not None:
            opened_text, last_id = decode_cursor(after, 2)
            opened = _parse(str(opened_text), after)
            query = query.where(or_(
                MonitoringCase.opened_at < opened,
                and_(MonitoringCase.opened_at == opened, MonitoringCase.id < str(last_id))))
        rows = self.session.scalars(query.order_by(
            MonitoringCase.opened_at.desc(), MonitoringCase.id.desc()).limit(first + 1)).all()
        return _page(rows, first, lambda c: encode_cursor(c.opened_at.isoformat(), c.id))

    def window(self, *, first: int | None, after: str | None, last: int | None,
               before: str | None, region_codes: Collection[str] | None = None,
               status: CaseStatus | None = None, kind: CaseKind | None = None,
               overdue_on: date | None = None, household_id: str | None = None,
               overdue: bool = True, step: CaseStep | None = None) -> Page[MonitoringCase]:
        """Cases newest first (as ``page``) as a Relay connection pages them: first/after
        forwards, last/before backwards (``keyset_window``)."""
        query = self._filtered(select(MonitoringCase), region_codes=region_codes, status=status,
                               kind=kind, overdue_on=overdue_on, household_id=household_id,
                               overdue=overdue, step=step)
        filters = [query.whereclause] if query.whereclause is not None else []

        def decode(cursor: str) -> tuple[Any, ...]:
            opened_text, last_id = decode_cursor(cursor, 2)
            return _parse(str(opened_text), cursor), str(last_id)

        return keyset_window(self.session, MonitoringCase,
                             [MonitoringCase.opened_at, MonitoringCase.id], filters, decode,
                             lambda c: encode_cursor(c.opened_at.isoformat(), c.id),
                             first=first, after=after, last=last, before=before,
                             descending=True)

    def count(self, *, region_codes: Collection[str] | None = None,
              status: CaseStatus | None = None, kind: CaseKind | None = None,
              overdue_on: date | None = None, household_id: str | None = None,
              overdue: bool = True, step: CaseStep | None = None) -> int:
        query = self._filtered(select(func.count()).select_from(MonitoringCase),
                               region_codes=region_codes, status=status, kind=kind,
                               overdue_on=overdue_on, household_id=household_id,
                               overdue=overdue, step=step)
        return int(self.session.scalar(query) or 0)

    def overdue_by_region(self, on: date, *,
                          region_codes: Collection[str] | None = None) -> dict[str, int]:
        """The number of overdue OPEN cases (see ``overdue``) by region code."""
        query = self._filtered(select(MonitoringCase.region_code, func.count()),
                               region_codes=region_codes, status=None, kind=None,
                               overdue_on=on, household_id=None
                               ).group_by(MonitoringCase.region_code)
        return {region: int(n) for region, n in self.session.execute(query)}

    def overdue(self, on: date, *, region_codes: Collection[str] | None = None,
                limit: int = 1000) -> list[MonitoringCase]:
        """OPEN cases whose step or whole case was due before ``on``, oldest due first."""
        query = self._filtered(select(MonitoringCase), region_codes=region_codes, status=None,
                               kind=None, overdue_on=on, household_id=None)
        return list(self.session.scalars(query.order_by(
            MonitoringCase.region_code, MonitoringCase.step_due_on, MonitoringCase.id
        ).limit(limit)))


class VisitRepository(_Repository):
    def add(self, visit: Visit) -> Visit:
        self.session.add(visit)
        self._flush("visit")
        return visit

    def find(self, visit_id: str) -> Visit | None:
        return self.session.get(Visit, visit_id)

    def of_household(self, household_id: str) -> list[Visit]:
        return list(self.session.scalars(select(Visit).where(
            Visit.household_id == household_id).order_by(Visit.visited_on, Visit.recorded_at)))


class MeasureRepository(_Repository):
    def add(self, measure: AssistanceMeasure) -> AssistanceMeasure:
        self.session.add(measure)
        self._flush("assistance measure")
        return measure

    def of_household(self, household_id: str) -> list[AssistanceMeasure]:
        return list(self.session.scalars(select(AssistanceMeasure).where(
            AssistanceMeasure.household_id == household_id).order_by(
                AssistanceMeasure.started_on, AssistanceMeasure.id)))
