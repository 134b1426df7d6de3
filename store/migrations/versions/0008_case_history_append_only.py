"""A monitoring case's history and the visits are append-only, as the audit log is: what was
done at a step, by whom and when, and what a visit found, are never changed or deleted, by the
service or by any other client of the database.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> its key (a REPLACE that would overwrite a row of it is refused on SQLite)
APPEND_ONLY_KEYS = {"monitoring_case_entries": ("id",), "visits": ("id",)}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # refuse_append_only_change() is 0001's.
        for table in APPEND_ONLY_KEYS:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change()")
        return
    for table, key in APPEND_ONLY_KEYS.items():
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'immutable: {table} is append-only; "
                f"cannot {verb.lower()} rows'); END")
        same = " AND ".join(f"old_row.{c} = NEW.{c}" for c in key)
        op.execute(
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN EXISTS (SELECT 1 FROM {table} AS old_row WHERE {same}) "
            f"BEGIN SELECT RAISE(ABORT, 'conflict: {table} already has this row; "
            "append-only rows cannot be replaced'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_KEYS:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        return
    for table in APPEND_ONLY_KEYS:
        for verb in ("update", "delete", "replace"):
            op.execute(f"DROP TRIGGER {table}_no_{verb}")
