"""Monitoring cases: cases and what was done at each step, visits, assistance measures, and the
township and county officers' token roles.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
OLD_ROLES = ("caseworker", "policy_editor", "policy_approver", "auditor", "api_client")
NEW_ROLES = (*OLD_ROLES, "township_officer", "county_officer")
KINDS = ("INCLUSION", "RISK_ELIMINATION")
STATUSES = ("OPEN", "APPROVED", "REJECTED")
STEPS = ("VERIFICATION", "COMPARISON", "VILLAGE_REVIEW", "TOWNSHIP_REVIEW", "COUNTY_APPROVAL")
CHANNELS = ("ALERT", "APPLICATION", "VISIT")
OPEN_CASE = "status = 'OPEN'"


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _roles(old: Sequence[str], new: Sequence[str]) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # 0001 named it through the naming convention twice over; found by what it checks.
        name = bind.exec_driver_sql(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'api_tokens'::regclass "
            "AND contype = 'c' AND position('token_role' in conname) > 0").scalar_one()
        op.execute(f'ALTER TABLE api_tokens DROP CONSTRAINT "{name}"')
        op.execute(f'ALTER TABLE api_tokens ADD CONSTRAINT "{name}" CHECK ({_in("role", new)})')
        return
    # SQLite cannot alter a CHECK constraint, and rebuilding api_tokens (which webhooks
    # reference, with foreign keys on) inside the migration's transaction is not possible.
    # Widening a CHECK's list changes no stored row, so the table's SQL is edited in place, the
    # procedure SQLite documents for such changes (lang_altertable.html, "otheralter").
    before, after = _in("role", old), _in("role", new)
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'api_tokens'").scalar_one()
    if before not in sql:
        raise RuntimeError("api_tokens does not have the role check this migration expects")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND "
                         "name = 'api_tokens'", (sql.replace(before, after),))
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    _roles(OLD_ROLES, NEW_ROLES)
    op.create_table(
        "monitoring_cases",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("household_id", sa.String(64), nullable=False),
        sa.Column("region_code", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("alert_id", sa.String(36), nullable=True),
        sa.Column("visit_id", sa.String(36), nullable=True),
        sa.Column("application_signed_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("procedure_version", sa.Integer(), nullable=False),
        sa.Column("procedure_hash", sa.String(64), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        _ts("opened_at"),
        sa.Column("opened_by", sa.String(100), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("step_started_on", sa.Date(), nullable=False),
        sa.Column("step_due_on", sa.Date(), nullable=False),
        sa.Column("step_recorded", sa.Boolean(), nullable=False),
        sa.Column("notice_started_on", sa.Date(), nullable=True),
        sa.Column("notice_ends_on", sa.Date(), nullable=True),
        sa.Column("objections", JSON, nullable=False),
        sa.Column("determination_id", sa.String(36), nullable=True),
        sa.Column("criteria_granted", JSON, nullable=False),
        sa.Column("criteria_reason", sa.Text(), nullable=True),
        sa.Column("criteria_reason_by", sa.String(100), nullable=True),
        sa.Column("township_reviewer_id", sa.String(36), nullable=True),
        sa.Column("township_reviewer", sa.String(100), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        _ts("closed_at", nullable=True),
        sa.Column("closed_by", sa.String(100), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("household_revision", sa.Integer(), nullable=True),
        _ts("updated_at"),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitoring_cases"),
        sa.ForeignKeyConstraint(["household_id"], ["households.id"],
                                name="fk_monitoring_cases_household_id_households"),
        sa.CheckConstraint(_in("kind", KINDS), name="ck_monitoring_cases_case_kind"),
        sa.CheckConstraint(_in("channel", CHANNELS), name="ck_monitoring_cases_case_channel"),
        sa.CheckConstraint(_in("status", STATUSES), name="ck_monitoring_cases_case_status"),
        sa.CheckConstraint(_in("step", STEPS), name="ck_monitoring_cases_case_step"),
    )
    op.create_index("ix_monitoring_cases_household_id", "monitoring_cases", ["household_id"])
    op.create_index("ix_monitoring_cases_region_code", "monitoring_cases", ["region_code"])
    op.create_index("ix_monitoring_cases_opened_at_id", "monitoring_cases", ["opened_at", "id"])
    op.create_index("ix_monitoring_cases_status_step_due_on", "monitoring_cases",
                    ["status", "step_due_on"])
    # One OPEN case of a kind per household, whoever races to open it.
    op.create_index("uq_monitoring_cases_one_open", "monitoring_cases", ["household_id", "kind"],
                    unique=True, postgresql_where=sa.text(OPEN_CASE),
                    sqlite_where=sa.text(OPEN_CASE))
    op.create_table(
        "monitoring_case_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False,
                  autoincrement=True),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        _ts("at"),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitoring_case_entries"),
        sa.ForeignKeyConstraint(["case_id"], ["monitoring_cases.id"],
                                name="fk_monitoring_case_entries_case_id_monitoring_cases"),
        sa.CheckConstraint(_in("step", STEPS), name="ck_monitoring_case_entries_case_entry_step"),
    )
    op.create_index("ix_monitoring_case_entries_case_id_id", "monitoring_case_entries",
                    ["case_id", "id"])
    op.create_table(
        "visits",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("household_id", sa.String(64), nullable=False),
        sa.Column("region_code", sa.String(32), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("observations", sa.Text(), nullable=False),
        sa.Column("facts_changed", JSON, nullable=False),
        sa.Column("household_revision", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        _ts("recorded_at"),
        sa.PrimaryKeyConstraint("id", name="pk_visits"),
        sa.ForeignKeyConstraint(["household_id"], ["households.id"],
                                name="fk_visits_household_id_households"),
    )
    op.create_index("ix_visits_household_id_visited_on", "visits",
                    ["household_id", "visited_on"])
    op.create_index("ix_visits_region_code", "visits", ["region_code"])
    op.create_table(
        "assistance_measures",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("household_id", sa.String(64), nullable=False),
        sa.Column("region_code", sa.String(32), nullable=False),
        sa.Column("risk", sa.String(100), nullable=False),
        sa.Column("measure", sa.String(200), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        _ts("recorded_at"),
        sa.PrimaryKeyConstraint("id", name="pk_assistance_measures"),
        sa.ForeignKeyConstraint(["household_id"], ["households.id"],
                                name="fk_assistance_measures_household_id_households"),
    )
    op.create_index("ix_assistance_measures_household_id", "assistance_measures",
                    ["household_id"])


def downgrade() -> None:
    op.drop_table("assistance_measures")
    op.drop_table("visits")
    op.drop_table("monitoring_case_entries")
    op.drop_table("monitoring_cases")
    bind = op.get_bind()
    taken = bind.exec_driver_sql(
        "SELECT count(*) FROM api_tokens WHERE role IN ('township_officer', 'county_officer')"
    ).scalar_one()
    if taken:
        raise RuntimeError(f"{taken} token(s) hold the township_officer or county_officer role; "
                           "revoke and delete them before downgrading")
    _roles(NEW_ROLES, OLD_ROLES)
