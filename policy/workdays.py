"""Working days: weekends and public holidays skipped, the weekend days worked in their place
(调休上班) counted. The calendar is data (a configured YAML file), not code.

    >>> cal = Calendar(holidays={date(2024, 10, 1), date(2024, 10, 2)},
    ...                workdays={date(2024, 10, 12)})
    >>> add_working_days(date(2024, 9, 27), 3, cal)  # Fri + 3: Mon 30, (1, 2 off), Thu 3, Fri 4
    datetime.date(2024, 10, 4)
    >>> cal.is_working_day(date(2024, 10, 12))          # a Saturday worked in lieu
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from policy.errors import DocumentInvalid, FieldError


@dataclass(frozen=True)
class Calendar:
    """Public holidays (days off that would be working days) and weekend days worked."""

    holidays: frozenset[date] | set[date] = field(default_factory=frozenset)
    workdays: frozenset[date] | set[date] = field(default_factory=frozenset)
    source: str = ""

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5


def add_working_days(start: date, n: int, calendar: Calendar) -> date:
    """The ``n``-th working day after ``start`` (``start`` itself not counted): a step begun on
    ``start`` with ``n`` working days is due on the returned day, and late from the day after."""
    if n < 0:
        raise ValueError("n must not be negative")
    day, left = start, n
    while left:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            left -= 1
    return day


def working_days_between(start: date, end: date, calendar: Calendar) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end <= start``)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            count += 1
    return count


def _dates(data: Any, key: str, source: str) -> frozenset[date]:
    items = data.get(key) or []
    if not isinstance(items, list):
        raise DocumentInvalid([FieldError(key, "WRONG_TYPE",
                                          f"{key} 应为日期列表 / {key} is a list of dates")])
    out: set[date] = set()
    for i, entry in enumerate(items):
        value = entry.get("date") if isinstance(entry, dict) else entry
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                value = None
        if not isinstance(value, date):
            raise DocumentInvalid([FieldError(f"{key}[{i}]", "INVALID_DATE",
                                              f"不是日期 / not a date in {source}")])
        out.add(value)
    return frozenset(out)


def load_calendar(path: Path) -> Calendar:
    """A calendar file: ``holidays`` and ``workdays``, lists of dates (or ``{date, name}``)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise DocumentInvalid([FieldError(str(path), "WRONG_TYPE", "日历应为映射 / the calendar "
                                          "is a mapping of holidays and workdays")])
    holidays, workdays = _dates(data, "holidays", path.name), _dates(data, "workdays", path.name)
    both = holidays & workdays
    if both:
        raise DocumentInvalid([FieldError("workdays", "CONTRADICTION",
                                          f"既是假日又是工作日 / both a holiday and a workday: "
                                          f"{min(both).isoformat()}")])
    return Calendar(holidays, workdays, path.name)
