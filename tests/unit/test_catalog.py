"""The catalog's answers about versions: which is in force on a date, until when, and which has
a given content hash (found thin by the mutation run, docs/mutation-testing.md)."""

from __future__ import annotations

from datetime import date

from policy.catalog import Catalog, VersionRecord
from services.rulesets import load_catalog

SHIPPED = load_catalog()


def record(version_id: str) -> VersionRecord:
    return next(r for r in SHIPPED.records if r.id == version_id)


def test_effective_to_is_the_day_before_the_next_version() -> None:
    assert SHIPPED.effective_to(record("education-v1")) == date(2024, 2, 29)
    assert SHIPPED.effective_to(record("education-v3")) == date(2025, 2, 28)
    assert SHIPPED.effective_to(record("education-v4")) is None  # the latest: open-ended
    assert SHIPPED.effective_to(record("monitoring-v1")) is None


def test_a_draft_has_no_effective_dates() -> None:
    v4 = record("education-v4")
    draft = VersionRecord("education-v5", v4.program, "DRAFT", None)
    catalog = Catalog([*SHIPPED.records, draft])
    assert catalog.effective_to(draft) is None
    # ... and a draft does not end the version before it.
    assert catalog.effective_to(v4) is None
    assert catalog.ref(draft).effective_from is None


def test_by_hash_finds_the_version_with_that_content() -> None:
    v2 = record("education-v2")
    assert SHIPPED.by_hash(v2.program.content_hash) is v2
    assert SHIPPED.by_hash("0" * 64) is None


def test_version_in_force_on_the_first_and_last_day() -> None:
    found = SHIPPED.version_in_force("education", date(2024, 3, 1))
    assert found is not None and found.id == "education-v2"
    found = SHIPPED.version_in_force("education", date(2024, 2, 29))
    assert found is not None and found.id == "education-v1"
    assert SHIPPED.version_in_force("education", date(2022, 12, 31)) is None
