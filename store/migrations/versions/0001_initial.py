"""Initial schema: rule sets and versions, households and their history, determinations,
audit log, API tokens, events and alerts; triggers that keep published versions frozen and
append-only tables append-only.

Revision ID: 0001
Revises:
Create Date: 2024-11-29

A migration is a frozen record of the schema, so it spells every table out rather than
importing ``store.models``; ``tests/store/test_store_migrations.py`` checks the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _status_check(table: str, name: str, column: str, values: Sequence[str]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=f"ck_{table}_{name}")


VERSION_STATUSES = ("DRAFT", "IN_REVIEW", "PUBLISHED", "RETIRED")
ROLES = ("caseworker", "policy_editor", "policy_approver", "auditor", "api_client")
ALERT_STATUSES = ("OPEN", "VERIFIED", "INCLUDED", "DISMISSED")

APPEND_ONLY = ("audit_log", "determinations", "household_fact_revisions")

# Columns of a rule-set version that never change once it is PUBLISHED or RETIRED; status,
# retired_by and retired_at may change once, in the move PUBLISHED -> RETIRED; revision is the
# ORM's update counter.
FROZEN_COLUMNS = (
    "id", "rule_set_code", "version", "effective_from", "document", "content_hash",
    "based_on_id", "author", "submitted_by", "submitted_at", "published_by", "published_at",
    "created_at",
)
RETIREMENT_COLUMNS = ("status", "retired_by", "retired_at")


def upgrade() -> None:
    _create_tables()
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _create_tables() -> None:
    op.create_table(
        "rule_sets",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("title_zh", sa.String(200), nullable=False),
        sa.Column("title_en", sa.String(200), nullable=False),
        sa.Column("owner", sa.String(100), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("code", name="pk_rule_sets"),
    )
    op.create_table(
        "rule_set_versions",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("rule_set_code", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("document", JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("based_on_id", sa.String(100), nullable=True),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("submitted_by", sa.String(100), nullable=True),
        _ts("submitted_at", nullable=True),
        sa.Column("published_by", sa.String(100), nullable=True),
        _ts("published_at", nullable=True),
        sa.Column("retired_by", sa.String(100), nullable=True),
        _ts("retired_at", nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_rule_set_versions"),
        sa.ForeignKeyConstraint(
            ["rule_set_code"], ["rule_sets.code"],
            name="fk_rule_set_versions_rule_set_code_rule_sets",
        ),
        sa.ForeignKeyConstraint(
            ["based_on_id"], ["rule_set_versions.id"],
            name="fk_rule_set_versions_based_on_id_rule_set_versions",
        ),
        sa.UniqueConstraint(
            "rule_set_code", "version", name="uq_rule_set_versions_rule_set_code_version"
        ),
        sa.CheckConstraint("version >= 1", name="ck_rule_set_versions_version_positive"),
        sa.CheckConstraint(
            "status NOT IN ('PUBLISHED', 'RETIRED') OR (effective_from IS NOT NULL"
            " AND published_at IS NOT NULL AND published_by IS NOT NULL)",
            name="ck_rule_set_versions_published_has_publication",
        ),
        sa.CheckConstraint(
            "status <> 'RETIRED' OR (retired_at IS NOT NULL AND retired_by IS NOT NULL)",
            name="ck_rule_set_versions_retired_has_retirement",
        ),
        _status_check("rule_set_versions", "version_status", "status", VERSION_STATUSES),
    )
    op.create_index(
        "ix_rule_set_versions_rule_set_code", "rule_set_versions", ["rule_set_code"]
    )
    op.create_table(
        "households",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("region_code", sa.String(32), nullable=False),
        sa.Column("facts", JSON, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_households"),
    )
    op.create_index("ix_households_region_code", "households", ["region_code"])
    op.create_table(
        "household_fact_revisions",
        sa.Column("household_id", sa.String(64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("facts", JSON, nullable=False),
        _ts("recorded_at"),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("household_id", "revision", name="pk_household_fact_revisions"),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"],
            name="fk_household_fact_revisions_household_id_households",
        ),
    )
    op.create_table(
        "determinations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("household_id", sa.String(64), nullable=True),
        sa.Column("household_revision", sa.Integer(), nullable=True),
        sa.Column("region_code", sa.String(32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("facts", JSON, nullable=False),
        sa.Column("versions", JSON, nullable=False),
        sa.Column("result", JSON, nullable=False),
        _ts("created_at"),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_determinations"),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"],
            name="fk_determinations_household_id_households",
        ),
    )
    op.create_index("ix_determinations_household_id", "determinations", ["household_id"])
    op.create_index("ix_determinations_region_code", "determinations", ["region_code"])
    op.create_table(
        "audit_log",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        _ts("at"),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(64), nullable=False),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    op.create_index(
        "ix_audit_log_object_type_object_id", "audit_log", ["object_type", "object_id"]
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("regions", JSON, nullable=False),
        sa.Column("department", sa.String(100), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _ts("created_at"),
        _ts("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
        _status_check("api_tokens", "token_role", "role", ROLES),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("household_id", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(64), nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        _ts("received_at"),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("idempotency_key", name="uq_events_idempotency_key"),
    )
    op.create_index(
        "ix_events_household_id_occurred_on", "events", ["household_id", "occurred_on"]
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("household_id", sa.String(64), nullable=False),
        sa.Column("region_code", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("cause", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("explanation", JSON, nullable=False),
        sa.Column("event_ids", JSON, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("resolved_by", sa.String(100), nullable=True),
        _ts("resolved_at", nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint(
            "household_id", "rule", "cause", name="uq_alerts_household_id_rule_cause"
        ),
        _status_check("alerts", "alert_status", "status", ALERT_STATUSES),
    )
    op.create_index("ix_alerts_region_code", "alerts", ["region_code"])
    op.create_index("ix_alerts_status", "alerts", ["status"])
    op.create_index("ix_alerts_created_at_id", "alerts", ["created_at", "id"])


# --- triggers: the database itself refuses, whatever client sends the SQL ---------------------
# Every message starts with "immutable:"; store.immutability turns it into ImmutableError.


def _postgresql_triggers() -> None:
    op.execute(
        """
        CREATE FUNCTION refuse_append_only_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'immutable: % is append-only; cannot % rows',
                TG_TABLE_NAME, lower(TG_OP) USING ERRCODE = 'restrict_violation';
        END $$
        """
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change()"
        )
    frozen_new = ", ".join(f"NEW.{c}" for c in FROZEN_COLUMNS)
    frozen_old = ", ".join(f"OLD.{c}" for c in FROZEN_COLUMNS)
    retire_new = ", ".join(f"NEW.{c}" for c in RETIREMENT_COLUMNS)
    retire_old = ", ".join(f"OLD.{c}" for c in RETIREMENT_COLUMNS)
    op.execute(
        f"""
        CREATE FUNCTION freeze_published_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.status NOT IN ('PUBLISHED', 'RETIRED') THEN
                IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
                RETURN NEW;
            END IF;
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'immutable: rule set version % v% is % and cannot be deleted',
                    OLD.rule_set_code, OLD.version, OLD.status
                    USING ERRCODE = 'restrict_violation';
            END IF;
            IF ROW({frozen_new}) IS DISTINCT FROM ROW({frozen_old})
               OR (NOT (OLD.status = 'PUBLISHED' AND NEW.status = 'RETIRED')
                   AND ROW({retire_new}) IS DISTINCT FROM ROW({retire_old})) THEN
                RAISE EXCEPTION 'immutable: rule set version % v% is % and cannot change; '
                    'the only move left is PUBLISHED -> RETIRED',
                    OLD.rule_set_code, OLD.version, OLD.status
                    USING ERRCODE = 'restrict_violation';
            END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER rule_set_versions_frozen BEFORE UPDATE OR DELETE ON rule_set_versions "
        "FOR EACH ROW EXECUTE FUNCTION freeze_published_version()"
    )


# SQLite's RAISE takes one string literal (no concatenation, no values of the row).
_FROZEN_MESSAGE = (
    "immutable: a PUBLISHED or RETIRED rule set version cannot change; "
    "the only move left is PUBLISHED -> RETIRED"
)


def _sqlite_triggers() -> None:
    # RAISE(ABORT) undoes the statement; the unit of work then rolls the transaction back.
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'immutable: {table} is append-only; "
                f"cannot {verb.lower()} rows'); END"
            )
    frozen_changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FROZEN_COLUMNS)
    retirement_changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in RETIREMENT_COLUMNS)
    op.execute(
        f"""
        CREATE TRIGGER rule_set_versions_frozen_update BEFORE UPDATE ON rule_set_versions
        FOR EACH ROW WHEN OLD.status IN ('PUBLISHED', 'RETIRED') AND (
            {frozen_changed}
            OR (NOT (OLD.status = 'PUBLISHED' AND NEW.status = 'RETIRED')
                AND ({retirement_changed}))
        )
        BEGIN
            SELECT RAISE(ABORT, '{_FROZEN_MESSAGE}');
        END
        """
    )
    op.execute(
        """
        CREATE TRIGGER rule_set_versions_frozen_delete BEFORE DELETE ON rule_set_versions
        FOR EACH ROW WHEN OLD.status IN ('PUBLISHED', 'RETIRED')
        BEGIN
            SELECT RAISE(ABORT,
                'immutable: a PUBLISHED or RETIRED rule set version cannot be deleted');
        END
        """
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER rule_set_versions_frozen ON rule_set_versions")
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION freeze_published_version()")
        op.execute("DROP FUNCTION refuse_append_only_change()")
    # SQLite drops a table's triggers with the table.
    for table in (
        "alerts", "events", "api_tokens", "audit_log", "determinations",
        "household_fact_revisions", "households", "rule_set_versions", "rule_sets",
    ):
        op.drop_table(table)
