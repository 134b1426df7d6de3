"""Working days and the procedure document: weekends, holidays, weekend days worked in lieu,
and the checks a procedure version must pass."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.errors import DocumentInvalid
from policy.procedure import load_procedure, load_procedures, procedure_in_force
from policy.workdays import Calendar, add_working_days, load_calendar, working_days_between

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "fixtures" / "procedure"
D = date.fromisoformat
PLAIN = Calendar()


def test_weekends_are_skipped() -> None:
    friday = D("2026-12-04")
    assert add_working_days(friday, 1, PLAIN) == D("2026-12-07")  # Monday
    assert add_working_days(friday, 0, PLAIN) == friday
    assert add_working_days(D("2026-12-05"), 1, PLAIN) == D("2026-12-07")  # from a Saturday
    assert add_working_days(D("2026-12-07"), 5, PLAIN) == D("2026-12-14")


def test_holidays_and_workdays_in_lieu_of_the_shipped_calendar() -> None:
    cal = load_calendar(FIXTURE / "calendar.yaml")
    assert not cal.is_working_day(D("2024-10-01")) and not cal.is_working_day(D("2024-10-07"))
    assert cal.is_working_day(D("2024-09-29"))  # a Sunday worked before the national day
    assert cal.is_working_day(D("2024-10-12"))  # a Saturday worked after it
    # Spring festival 2025: 28 Jan - 4 Feb off, Sunday 26 Jan and Saturday 8 Feb worked.
    assert add_working_days(D("2025-01-24"), 1, cal) == D("2025-01-26")
    assert add_working_days(D("2025-01-27"), 1, cal) == D("2025-02-05")
    assert add_working_days(D("2025-02-07"), 1, cal) == D("2025-02-08")
    assert working_days_between(D("2025-01-27"), D("2025-02-05"), cal) == 1
    # Spring festival 2026: 15-23 Feb off, Saturdays 14 and 28 Feb worked.
    assert add_working_days(D("2026-02-13"), 1, cal) == D("2026-02-14")
    assert add_working_days(D("2026-02-14"), 1, cal) == D("2026-02-24")
    assert cal.is_working_day(D("2026-02-28")) and not cal.is_working_day(D("2026-10-07"))


@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)),
       st.integers(min_value=0, max_value=40))
def test_the_nth_working_day_is_one_and_has_n_before_it(start: date, n: int) -> None:
    cal = load_calendar(FIXTURE / "calendar.yaml")
    due = add_working_days(start, n, cal)
    assert working_days_between(start, due, cal) == n
    assert n == 0 or cal.is_working_day(due)
    assert n == 0 or working_days_between(start, due - timedelta(days=1), cal) == n - 1


def test_a_calendar_may_not_call_a_day_both(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("holidays: [2025-05-01]\nworkdays: [2025-05-01]\n", encoding="utf-8")
    with pytest.raises(DocumentInvalid) as exc:
        load_calendar(bad)
    assert exc.value.errors[0].code == "CONTRADICTION"
    bad.write_text("holidays: [not-a-date]\n", encoding="utf-8")
    with pytest.raises(DocumentInvalid) as exc:
        load_calendar(bad)
    assert (exc.value.errors[0].field, exc.value.errors[0].code) == ("holidays[0]",
                                                                      "INVALID_DATE")


def test_the_shipped_procedure_is_cited_and_marked_sample() -> None:
    (v1,) = load_procedures(FIXTURE)
    doc = v1.document
    assert (v1.days("noticeCalendarDays"), v1.step_days("VERIFICATION"),
            v1.step_days("COMPARISON"), v1.days("caseWorkingDays")) == (5, 3, 5, 20)
    assert all(p.citation.document and p.citation.clause in ("二、1", "二、2")
               for p in doc.parameters.values())
    assert all(p.sample for p in doc.parameters.values())
    assert procedure_in_force([v1], D("2022-12-31")) is None
    assert procedure_in_force([v1], D("2023-01-01")) is v1


def test_a_procedure_needs_every_period_in_its_unit() -> None:
    text = (FIXTURE / "v1.yaml").read_text(encoding="utf-8")
    without = text.replace("  caseWorkingDays:", "  caseWorkingDaysX:")
    with pytest.raises(DocumentInvalid) as exc:
        load_procedure(without)
    assert [(e.field, e.code) for e in exc.value.errors] == [
        ("parameters.caseWorkingDays", "REQUIRED")]
    wrong = text.replace("value: 5\n    unit: calendar days", "value: 5\n    unit: working days",
                         1)
    with pytest.raises(DocumentInvalid) as exc:
        load_procedure(wrong)
    assert exc.value.errors[0].field == "parameters.noticeCalendarDays.unit"


def test_a_later_version_governs_cases_opened_after_it() -> None:
    text = (FIXTURE / "v1.yaml").read_text(encoding="utf-8")
    v2 = load_procedure(text.replace("version: 1", "version: 2").replace(
        "effectiveFrom: 2023-01-01", "effectiveFrom: 2026-01-01"))
    (v1,) = load_procedures(FIXTURE)
    assert procedure_in_force([v1, v2], D("2025-12-31")) is v1
    assert procedure_in_force([v1, v2], D("2026-01-01")) is v2
    assert v1.content_hash != v2.content_hash
