"""What may never change, enforced on the ORM path (the migration's triggers cover raw SQL).

- A PUBLISHED or RETIRED rule-set version is frozen: the only change left is PUBLISHED ->
  RETIRED (with who and when), and it cannot be deleted.
- Audit entries, determination records, household fact revisions, monitoring-case entries and
  visits are append-only: no update, no delete, through the unit of work or through an ORM
  bulk statement.

Listeners raise ``ImmutableError`` before any SQL is sent. ``translate_trigger_error`` turns a
trigger's refusal (its message starts with ``immutable:``) into the same exception, so callers
handle one error whichever path the write took. Importing ``store`` registers the listeners.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, event, inspect, select
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.orm import InstanceState, Mapper, ORMExecuteState

from store.errors import ConflictError, ImmutableError, StoreError
from store.models import (
    FROZEN_STATUSES,
    AuditEntry,
    DeterminationRecord,
    HouseholdFactRevision,
    MonitoringCaseEntry,
    RuleSetVersion,
    VersionStatus,
    Visit,
)

APPEND_ONLY: tuple[type[Any], ...] = (AuditEntry, DeterminationRecord, HouseholdFactRevision,
                                      MonitoringCaseEntry, Visit)

# The markers the migrations' triggers put at the start of their message.
TRIGGER_MARKER = "immutable:"
CONFLICT_MARKER = "conflict:"

# What a retirement may change; every other column of a frozen version is fixed for good.
_RETIREMENT = frozenset({"status", "retired_by", "retired_at"})
_VERSION_COUNTER = "revision"


def _changed_columns(state: InstanceState[Any]) -> set[str]:
    return {
        attr.key
        for attr in state.mapper.column_attrs
        if state.attrs[attr.key].history.has_changes()
    }


def _stored_status(connection: Connection, state: InstanceState[Any]) -> VersionStatus:
    history = state.attrs["status"].history
    if history.deleted:
        return VersionStatus(history.deleted[0])
    if history.unchanged:
        return VersionStatus(history.unchanged[0])
    # Neither loaded nor set in this session (expired): ask the row itself.
    stored = connection.scalar(
        select(RuleSetVersion.__table__.c.status).where(
            RuleSetVersion.__table__.c.id == state.identity[0]  # type: ignore[index]
        )
    )
    return VersionStatus(str(stored))


def _describe(version: RuleSetVersion) -> str:
    return f"rule set version {version.rule_set_code} v{version.version} ({version.id})"


@event.listens_for(RuleSetVersion, "before_update")
def _freeze_published_version(
    mapper: Mapper[RuleSetVersion], connection: Connection, target: RuleSetVersion
) -> None:
    state = inspect(target)
    before = _stored_status(connection, state)
    if before not in FROZEN_STATUSES:
        return
    changed = _changed_columns(state) - {_VERSION_COUNTER}
    allowed = _RETIREMENT if (before, target.status) == (
        VersionStatus.PUBLISHED, VersionStatus.RETIRED
    ) else frozenset()
    refused = sorted(changed - allowed)
    if refused:
        raise ImmutableError(
            f"{_describe(target)} is {before.value} and cannot change "
            f"({', '.join(refused)}); the only move left is PUBLISHED -> RETIRED. "
            "Create a new version instead."
        )


@event.listens_for(RuleSetVersion, "before_delete")
def _keep_published_version(
    mapper: Mapper[RuleSetVersion], connection: Connection, target: RuleSetVersion
) -> None:
    before = _stored_status(connection, inspect(target))
    if before in FROZEN_STATUSES:
        raise ImmutableError(f"{_describe(target)} is {before.value} and cannot be deleted")


def _table(mapper: Mapper[Any]) -> str:
    return str(mapper.class_.__tablename__)


def _refuse_update(mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    # before_update also fires for objects marked dirty without a net change; only a real
    # change is refused.
    changed = _changed_columns(inspect(target))
    if changed:
        raise ImmutableError(
            f"{_table(mapper)} is append-only; cannot update "
            f"{', '.join(sorted(changed))}"
        )


def _refuse_delete(mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    raise ImmutableError(f"{_table(mapper)} is append-only; cannot delete a row")


for _model in APPEND_ONLY:
    event.listen(_model, "before_update", _refuse_update)
    event.listen(_model, "before_delete", _refuse_delete)


def refuse_bulk_changes(state: ORMExecuteState) -> None:
    """``do_orm_execute`` listener: ORM ``update()``/``delete()`` statements bypass the mapper
    events above, so refuse them here for append-only tables. (Bulk statements against rule-set
    versions cannot be judged row by row here; the database triggers refuse those.)"""
    if not (state.is_update or state.is_delete):
        return
    for mapper in state.all_mappers:
        if mapper.class_ in APPEND_ONLY:
            verb = "update" if state.is_update else "delete"
            raise ImmutableError(
                f"{_table(mapper)} is append-only; cannot {verb} rows"
            )


def translate_trigger_error(context: ExceptionContext) -> BaseException | None:
    """``handle_error`` listener: a trigger's refusal becomes ``ImmutableError`` (or, for a
    duplicate of a protected row, ``ConflictError``)."""
    # The marker must open the message: a duplicate-key error merely quoting a value that
    # contains it (say, a household id) is not a trigger's refusal.
    message = str(context.original_exception)
    error: StoreError
    if message.startswith(TRIGGER_MARKER):
        error = ImmutableError(message.removeprefix(TRIGGER_MARKER).strip().splitlines()[0])
    elif message.startswith(CONFLICT_MARKER):
        # SQLite's guard against REPLACE over a protected row: for an ordinary INSERT it is a
        # duplicate key, which PostgreSQL reports as a conflict too.
        error = ConflictError(message.removeprefix(CONFLICT_MARKER).strip().splitlines()[0])
    else:
        return None
    error.__cause__ = context.original_exception
    return error
