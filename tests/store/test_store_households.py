"""Households: round trip, revision history, concurrency, keyset pagination and filters."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from policy.facts import parse_household
from store.errors import ConflictError, InvalidCursor, RowNotFound
from store.pagination import encode_cursor
from store.uow import UnitOfWork
from tests.store.conftest import AS_OF, FakeClock, household_json, make_household

NewUow = Callable[[], UnitOfWork]


def test_save_and_read_back(uow: NewUow, clock: FakeClock) -> None:
    household = make_household()
    with uow() as u:
        u.households.save(household, by="caseworker-7")
        u.commit()
    with uow() as u:
        stored = u.households.get("hh-001")
    assert stored.region_code == "371300-001"
    assert stored.revision == 1
    assert stored.created_at == stored.updated_at
    assert stored.created_at.tzinfo is not None
    # The stored facts are the household: validating them again gives the same household.
    assert parse_household(stored.facts, AS_OF) == household
    # Optional facts left out stay left out (unknown), not null.
    assert "monitoredSince" not in stored.facts
    assert "disabilityGrade" not in stored.facts["members"][0]


def test_each_save_is_a_revision_in_the_history(uow: NewUow, clock: FakeClock) -> None:
    with uow() as u:
        u.households.save(make_household(annualNetIncome=16800), by="caseworker-7")
        u.commit()
    clock.advance(days=30)
    with uow() as u:
        stored = u.households.save(
            make_household(annualNetIncome=5400, region="371300-002"), by="caseworker-8",
            expected_revision=1,
        )
        u.commit()
    assert (stored.revision, stored.region_code) == (2, "371300-002")
    assert stored.updated_at > stored.created_at

    with uow() as u:
        history = u.households.history("hh-001")
        second = u.households.get_revision("hh-001", 2)
        with pytest.raises(RowNotFound):
            u.households.get_revision("hh-001", 3)
    assert [(r.revision, r.recorded_by, r.facts["annualNetIncome"]) for r in history] == [
        (1, "caseworker-7", 16800), (2, "caseworker-8", 5400),
    ]
    assert history[0].recorded_at < history[1].recorded_at
    assert second.facts == stored.facts


def test_saving_the_same_facts_changes_nothing(uow: NewUow) -> None:
    with uow() as u:
        u.households.save(make_household(), by="a")
        u.commit()
    with uow() as u:
        again = u.households.save(make_household(), by="b")
        u.commit()
    assert again.revision == 1
    with uow() as u:
        assert len(u.households.history("hh-001")) == 1


def test_a_stale_revision_is_a_conflict(uow: NewUow) -> None:
    with uow() as u:
        u.households.save(make_household(), by="a")
        u.commit()
    with uow() as u:
        u.households.save(make_household(annualNetIncome=1), by="a", expected_revision=1)
        u.commit()
    with uow() as u, pytest.raises(ConflictError, match="at revision 2, not 1") as info:
        u.households.save(make_household(annualNetIncome=2), by="b", expected_revision=1)
    assert (info.value.expected, info.value.actual) == (1, 2)
    with uow() as u, pytest.raises(ConflictError, match="at revision 2, not 0"):
        u.households.save(make_household(annualNetIncome=2), by="b", expected_revision=0)
    with uow() as u:
        assert u.households.get("hh-001").facts["annualNetIncome"] == 1


def test_concurrent_saves_cannot_both_win(uow: NewUow) -> None:
    with uow() as u:
        u.households.save(make_household(), by="a")
        u.commit()
    with uow() as first, uow() as second:
        # Read before the first commits (and held: the identity map only keeps referenced
        # objects, and a fresh read would rightly see the new revision).
        seen = second.households.get("hh-001")
        assert seen.revision == 1
        first.households.save(make_household(annualNetIncome=100), by="a")
        first.commit()
        with pytest.raises(ConflictError, match="someone else"):
            second.households.save(make_household(annualNetIncome=200), by="b")
    with uow() as u:
        assert [r.facts["annualNetIncome"] for r in u.households.history("hh-001")] == [
            16800, 100,
        ]


def test_unknown_household_is_not_found(uow: NewUow) -> None:
    with uow() as u:
        assert u.households.find("nope") is None
        with pytest.raises(RowNotFound, match="no household with key 'nope'"):
            u.households.get("nope")


@pytest.fixture
def many(uow: NewUow) -> list[str]:
    """25 households over three regions; ids include LIKE's wildcards on purpose."""
    ids = []
    with uow() as u:
        for i in range(20):
            household_id = f"hh-{i:03d}"
            u.households.save(
                make_household(household_id, region=f"371300-00{i % 3}"), by="seed"
            )
            ids.append(household_id)
        for household_id in ("x_1", "x%2", "xa1", "xb2", "y-1"):
            u.households.save(make_household(household_id, region="371300-009"), by="seed")
            ids.append(household_id)
        u.commit()
    return sorted(ids)


def _all_pages(uow: NewUow, first: int, **filters: object) -> list[list[str]]:
    pages, after = [], None
    with uow() as u:
        while True:
            page = u.households.page(first, after, **filters)  # type: ignore[arg-type]
            pages.append([h.id for h in page.items])
            if not page.has_next_page:
                return pages
            after = page.end_cursor


def test_keyset_pagination_visits_every_household_once_in_id_order(
    uow: NewUow, many: list[str]
) -> None:
    pages = _all_pages(uow, 7)
    assert [len(p) for p in pages] == [7, 7, 7, 4]
    assert [i for p in pages for i in p] == many


def test_pagination_is_stable_when_rows_are_added_before_the_cursor(
    uow: NewUow, many: list[str]
) -> None:
    with uow() as u:
        first = u.households.page(5)
    with uow() as u:
        u.households.save(make_household("hh-000a"), by="seed")  # sorts into page one
        u.commit()
    with uow() as u:
        second = u.households.page(5, first.end_cursor)
    assert [h.id for h in second.items] == many[5:10]


def test_region_filter(uow: NewUow, many: list[str]) -> None:
    pages = _all_pages(uow, 4, region_codes=["371300-001", "371300-002"])
    ids = [i for p in pages for i in p]
    assert ids == [f"hh-{i:03d}" for i in range(20) if i % 3 in (1, 2)]
    with uow() as u:
        # No regions means no households, never all of them.
        assert u.households.page(10, region_codes=[]).items == []
        assert u.households.count(region_codes=["371300-009"]) == 5
        assert u.households.count() == 25
        assert u.households.region_codes() == [
            "371300-000", "371300-001", "371300-002", "371300-009",
        ]


def test_id_prefix_filter_treats_wildcards_literally(uow: NewUow, many: list[str]) -> None:
    with uow() as u:
        assert [h.id for h in u.households.page(10, id_prefix="x_").items] == ["x_1"]
        assert [h.id for h in u.households.page(10, id_prefix="x%").items] == ["x%2"]
        assert [h.id for h in u.households.page(10, id_prefix="hh-01").items] == [
            f"hh-{i:03d}" for i in range(10, 20)
        ]
        both = u.households.page(10, id_prefix="hh-00", region_codes=["371300-000"])
        assert [h.id for h in both.items] == ["hh-000", "hh-003", "hh-006", "hh-009"]
        assert not both.has_next_page


def test_iterate_and_empty_pages(uow: NewUow, many: list[str]) -> None:
    with uow() as u:
        assert [h.id for h in u.households.iterate(batch_size=6)] == many
        last = u.households.page(100)
        assert not last.has_next_page
        empty = u.households.page(5, last.end_cursor)
    assert (empty.items, empty.end_cursor, empty.has_next_page) == ([], None, False)


def test_bad_cursors_and_page_sizes_are_refused(uow: NewUow) -> None:
    with uow() as u:
        for cursor in ("not base64 at all!", encode_cursor("a", "b"), "bnVsbA"):
            with pytest.raises(InvalidCursor):
                u.households.page(5, cursor)
        for size in (0, -1, 1001):
            with pytest.raises(ValueError, match="page size"):
                u.households.page(size)


def test_the_stored_json_is_the_contracts_household_json(uow: NewUow) -> None:
    data = household_json(monitored=True, monitoredSince="2023-06-01")
    with uow() as u:
        stored = u.households.save(parse_household(data, AS_OF), by="a")
        u.commit()
    assert stored.facts["monitoredSince"] == "2023-06-01"
    assert stored.facts["members"][1]["disabilityKind"] == "PHYSICAL"
