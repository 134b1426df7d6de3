"""Rule sets and versions: round trips, numbering, the lifecycle, and drafts' revisions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from policy.document import RuleSetDocument, canonical, content_hash
from store.errors import ConflictError, ImmutableError, RowNotFound
from store.models import VersionStatus
from store.uow import UnitOfWork
from tests.store.conftest import FakeClock, as_version

NewUow = Callable[[], UnitOfWork]


def _edited(document: RuleSetDocument, number: int, income_line: float) -> RuleSetDocument:
    parameters = dict(document.parameters)
    parameters["incomeLine"] = parameters["incomeLine"].model_copy(update={"value": income_line})
    return as_version(document, number, parameters=parameters)


def test_rule_set_and_version_round_trip(
    uow: NewUow, monitoring_v1: RuleSetDocument, published_v1: str
) -> None:
    with uow() as u:
        rule_set = u.rule_sets.get_rule_set("monitoring")
        version = u.rule_sets.get_version(published_v1)

    assert (rule_set.title_zh, rule_set.title_en, rule_set.owner) == (
        "防止返贫动态监测", "Poverty-relapse monitoring", "县扶贫办",
    )
    assert version.rule_set_code == "monitoring"
    assert version.version == 1
    assert version.status is VersionStatus.PUBLISHED
    assert version.effective_from == date(2023, 1, 1)
    assert version.document == canonical(monitoring_v1)
    assert version.content_hash == content_hash(monitoring_v1)
    assert (version.author, version.submitted_by, version.published_by) == (
        "editor", "editor", "approver",
    )
    assert version.published_at is not None and version.published_at.tzinfo is not None
    # The document read back is the same document: its hash reproduces.
    assert content_hash(version.to_document()) == version.content_hash
    assert version.to_document().effectiveFrom == date(2023, 1, 1)


def test_numbering_listing_and_lookup(
    uow: NewUow, monitoring_v1: RuleSetDocument, published_v1: str, clock: FakeClock
) -> None:
    with uow() as u:
        assert u.rule_sets.next_version_number("monitoring") == 2
        assert u.rule_sets.next_version_number("unknown") == 1
        # One open version at a time: v3 is published before v2 is drafted.
        v3 = u.rule_sets.add_version(
            _edited(monitoring_v1, 3, 7000), author="editor", version_id="monitoring-v3"
        )
        v3.submit(by="editor", at=clock())
        v3.publish(by="approver", at=clock(), effective_from=date(2024, 1, 1))
        u.session.flush()
        v2 = u.rule_sets.add_version(
            _edited(monitoring_v1, 2, 6500), author="editor", based_on_id=published_v1
        )
        u.commit()

    with uow() as u:
        assert [v.version for v in u.rule_sets.list_versions("monitoring")] == [1, 2, 3]
        assert [v.id for v in u.rule_sets.list_published("monitoring")] == [
            published_v1, "monitoring-v3",
        ]
        assert [v.version for v in u.rule_sets.list_published()] == [1, 3]
        assert u.rule_sets.get_by_number("monitoring", 2).id == v2.id
        assert u.rule_sets.get_version(v2.id).based_on_id == published_v1
        assert u.rule_sets.get_version(v2.id).status is VersionStatus.DRAFT
        assert [r.code for r in u.rule_sets.list_rule_sets()] == ["monitoring"]
        assert u.rule_sets.next_version_number("monitoring") == 4


def test_missing_rows_are_not_found(uow: NewUow, monitoring_v1: RuleSetDocument) -> None:
    with uow() as u:
        with pytest.raises(RowNotFound, match="rule set version"):
            u.rule_sets.get_version("nope")
        with pytest.raises(RowNotFound):
            u.rule_sets.get_by_number("monitoring", 9)
        with pytest.raises(RowNotFound) as info:
            u.rule_sets.add_version(monitoring_v1, author="editor")  # no such rule set yet
        assert (info.value.what, info.value.key, info.value.code) == (
            "rule set", "monitoring", "NOT_FOUND",
        )


def test_a_version_number_is_used_once(
    uow: NewUow, monitoring_v1: RuleSetDocument, published_v1: str
) -> None:
    with uow() as u, pytest.raises(ConflictError, match="already has a version 1") as info:
        u.rule_sets.add_version(monitoring_v1, author="editor")
    assert (info.value.expected, info.value.actual) == (2, 1)


def test_lifecycle_refuses_moves_it_does_not_have(
    uow: NewUow, monitoring_v1: RuleSetDocument, published_v1: str, clock: FakeClock
) -> None:
    with uow() as u:
        draft = u.rule_sets.add_version(as_version(monitoring_v1, 2), author="editor")
        with pytest.raises(ConflictError, match="only a IN_REVIEW version can be published"):
            draft.publish(by="approver", at=clock(), effective_from=date(2024, 1, 1))
        with pytest.raises(ConflictError, match="only a PUBLISHED version can be retired"):
            draft.retire(by="approver", at=clock())
        published = u.rule_sets.get_version(published_v1)
        with pytest.raises(ConflictError, match="only a DRAFT version can be submitted"):
            published.submit(by="editor", at=clock())
        published.retire(by="approver", at=clock())
        u.commit()
    with uow() as u:
        retired = u.rule_sets.get_version(published_v1)
        assert retired.status is VersionStatus.RETIRED
        assert retired.retired_by == "approver"
        assert u.rule_sets.list_published("monitoring") == []
        assert [v.id for v in u.rule_sets.list_published(include_retired=True)] == [published_v1]


def test_draft_update_with_the_revision_it_was_read_at(
    uow: NewUow, monitoring_v1: RuleSetDocument, published_v1: str
) -> None:
    with uow() as u:
        draft = u.rule_sets.add_version(as_version(monitoring_v1, 2), author="editor")
        u.commit()
    assert draft.revision == 1

    with uow() as u:
        updated = u.rule_sets.update_draft(
            draft.id, _edited(monitoring_v1, 2, 6500), expected_revision=1
        )
        u.commit()
    assert updated.revision == 2
    with uow() as u:
        stored = u.rule_sets.get_version(draft.id)
        assert stored.document["parameters"]["incomeLine"]["value"] == 6500
        assert stored.content_hash == content_hash(_edited(monitoring_v1, 2, 6500))

    # A second editor who read revision 1 is refused, and nothing is overwritten.
    with uow() as u, pytest.raises(ConflictError, match="at revision 2, not 1") as info:
        u.rule_sets.update_draft(draft.id, _edited(monitoring_v1, 2, 9999), expected_revision=1)
    assert (info.value.expected, info.value.actual, info.value.code) == (1, 2, "CONFLICT")
    with uow() as u:
        assert u.rule_sets.get_version(draft.id).document["parameters"]["incomeLine"][
            "value"
        ] == 6500


def test_concurrent_draft_updates_cannot_both_win(
    uow: NewUow, monitoring_v1: RuleSetDocument, published_v1: str
) -> None:
    # Both read revision 1 and pass the explicit check; the UPDATE's own revision check
    # (SQLAlchemy's version counter) stops the second one at commit.
    with uow() as u:
        draft = u.rule_sets.add_version(as_version(monitoring_v1, 2), author="editor")
        u.commit()
    with uow() as first, uow() as second:
        first.rule_sets.update_draft(draft.id, _edited(monitoring_v1, 2, 6100), expected_revision=1)
        first_version = second.rule_sets.get_version(draft.id)  # read before the first commits
        assert first_version.revision == 1
        first.commit()
        with pytest.raises(ConflictError, match="someone else"):
            second.rule_sets.update_draft(
                draft.id, _edited(monitoring_v1, 2, 6200), expected_revision=1
            )
    with uow() as u:
        stored = u.rule_sets.get_version(draft.id)
        assert (stored.revision, stored.document["parameters"]["incomeLine"]["value"]) == (2, 6100)


def test_only_drafts_are_edited(
    uow: NewUow, monitoring_v1: RuleSetDocument, published_v1: str, clock: FakeClock
) -> None:
    with uow() as u:
        draft = u.rule_sets.add_version(as_version(monitoring_v1, 2), author="editor")
        draft.submit(by="editor", at=clock())
        u.commit()
    with uow() as u:
        with pytest.raises(ConflictError, match="is IN_REVIEW; only a DRAFT can be edited"):
            u.rule_sets.update_draft(draft.id, as_version(monitoring_v1, 2), expected_revision=2)
        with pytest.raises(ImmutableError, match="is PUBLISHED"):
            u.rule_sets.update_draft(published_v1, monitoring_v1, expected_revision=1)


def test_a_draft_holds_its_own_program_and_number(
    uow: NewUow, monitoring_v1: RuleSetDocument, published_v1: str
) -> None:
    with uow() as u:
        draft = u.rule_sets.add_version(as_version(monitoring_v1, 2), author="editor")
        with pytest.raises(ValueError, match="the document is monitoring version 3"):
            u.rule_sets.update_draft(draft.id, as_version(monitoring_v1, 3), expected_revision=1)
