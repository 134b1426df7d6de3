"""Tamper evidence: a hash-chained audit log, and protections that hold for every client.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05

- ``audit_log.prev_hash`` and ``entry_hash``: each entry's sha256 covers its content and the
  hash of the entry before it (``store.audit_chain``; the rule is copied here, frozen).
  Existing entries are chained in id order.
- SQLite: ``REPLACE INTO`` (and ``INSERT OR REPLACE``) deletes the row it replaces without
  firing delete triggers unless ``recursive_triggers`` is on, which only the service's own
  connections set. New BEFORE INSERT triggers refuse an insert that would replace a row of an
  append-only table or a published version, whatever the connection (the message opens with
  "conflict:": for the service's own inserts that is a duplicate key, as on PostgreSQL);
  ``UPDATE OR REPLACE`` that would displace a published version is refused too, as is
  deleting or replacing a rule set that has versions.
- PostgreSQL: TRUNCATE is refused on every table the service protects (also when cascaded).
- ``installation_secrets``: keys this installation generates once and keeps (e.g. the key of
  the pseudonyms in impact previews), the same for every worker and across restarts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
APPEND_ONLY_KEYS = {
    "audit_log": ("id",),
    "determinations": ("id",),
    "household_fact_revisions": ("household_id", "revision"),
}
TRUNCATE_PROTECTED = ("rule_sets", "rule_set_versions", "households", "users", "api_tokens")
FROZEN = "('PUBLISHED', 'RETIRED')"


def _digest(prev: str, at: datetime, actor: str, action: str, object_type: str,
            object_id: str, details: Any) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    payload = json.dumps(
        ["v1", prev, at.astimezone(UTC).isoformat(timespec="microseconds"), actor, action,
         object_type, object_id, details],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.create_table(
        "installation_secrets",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_installation_secrets"),
    )
    # NOT NULL with a default: SQLite can add such a column without rebuilding the table (a
    # rebuild would drop the table's triggers). An empty hash never verifies.
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(64), nullable=False,
                                         server_default=""))
    op.add_column("audit_log", sa.Column("entry_hash", sa.String(64), nullable=False,
                                         server_default=""))
    if sqlite:
        op.execute("DROP TRIGGER audit_log_no_update")
    else:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    audit = sa.table("audit_log", sa.column("id", sa.BigInteger()),
                     sa.column("at", sa.DateTime(timezone=True)), sa.column("actor", sa.String()),
                     sa.column("action", sa.String()), sa.column("object_type", sa.String()),
                     sa.column("object_id", sa.String()), sa.column("details", JSON),
                     sa.column("prev_hash", sa.String()), sa.column("entry_hash", sa.String()))
    prev = GENESIS
    for row in bind.execute(sa.select(audit).order_by(audit.c.id)).all():
        entry = _digest(prev, row.at, row.actor, row.action, row.object_type, row.object_id,
                        row.details)
        bind.execute(audit.update().where(audit.c.id == row.id)
                     .values(prev_hash=prev, entry_hash=entry))
        prev = entry
    if sqlite:
        op.execute(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'immutable: audit_log is append-only; "
            "cannot update rows'); END"
        )
        _sqlite_replace_triggers()
    else:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        op.execute(
            """
            CREATE FUNCTION refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'immutable: % cannot be truncated', TG_TABLE_NAME
                    USING ERRCODE = 'restrict_violation';
            END $$
            """
        )
        for table in TRUNCATE_PROTECTED:
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate()"
            )


def _sqlite_replace_triggers() -> None:
    for table, key in APPEND_ONLY_KEYS.items():
        same = " AND ".join(f"old_row.{c} = NEW.{c}" for c in key)
        op.execute(
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN EXISTS (SELECT 1 FROM {table} AS old_row WHERE {same}) "
            f"BEGIN SELECT RAISE(ABORT, 'conflict: {table} already has this row; "
            "append-only rows cannot be replaced'); END"
        )
    op.execute(
        f"""
        CREATE TRIGGER rule_set_versions_no_replace BEFORE INSERT ON rule_set_versions
        WHEN EXISTS (SELECT 1 FROM rule_set_versions AS old_row
                     WHERE old_row.status IN {FROZEN} AND (old_row.id = NEW.id
                       OR (old_row.rule_set_code = NEW.rule_set_code
                           AND old_row.version = NEW.version)))
        BEGIN
            SELECT RAISE(ABORT,
                'conflict: a PUBLISHED or RETIRED rule set version with this id or number exists');
        END
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER rule_set_versions_no_displace BEFORE UPDATE ON rule_set_versions
        WHEN (NEW.id IS NOT OLD.id OR NEW.rule_set_code IS NOT OLD.rule_set_code
              OR NEW.version IS NOT OLD.version)
         AND EXISTS (SELECT 1 FROM rule_set_versions AS old_row
                     WHERE old_row.id <> OLD.id AND old_row.status IN {FROZEN}
                       AND (old_row.id = NEW.id OR (old_row.rule_set_code = NEW.rule_set_code
                                                    AND old_row.version = NEW.version)))
        BEGIN
            SELECT RAISE(ABORT,
                'immutable: a PUBLISHED or RETIRED rule set version cannot be replaced');
        END
        """
    )
    op.execute(
        """
        CREATE TRIGGER rule_sets_no_delete BEFORE DELETE ON rule_sets
        WHEN EXISTS (SELECT 1 FROM rule_set_versions WHERE rule_set_code = OLD.code)
        BEGIN
            SELECT RAISE(ABORT, 'immutable: a rule set with versions cannot be deleted');
        END
        """
    )
    op.execute(
        """
        CREATE TRIGGER rule_sets_no_replace BEFORE INSERT ON rule_sets
        WHEN EXISTS (SELECT 1 FROM rule_sets AS old_row WHERE old_row.code = NEW.code)
        BEGIN
            SELECT RAISE(ABORT, 'conflict: the rule set exists and cannot be replaced');
        END
        """
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in (*(f"{t}_no_replace" for t in APPEND_ONLY_KEYS),
                     "rule_set_versions_no_replace", "rule_set_versions_no_displace",
                     "rule_sets_no_delete", "rule_sets_no_replace"):
            op.execute(f"DROP TRIGGER {name}")
    else:
        for table in TRUNCATE_PROTECTED:
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION refuse_truncate()")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch rebuild would drop the table's
    # triggers.
    op.drop_column("audit_log", "entry_hash")
    op.drop_column("audit_log", "prev_hash")
    op.drop_table("installation_secrets")
