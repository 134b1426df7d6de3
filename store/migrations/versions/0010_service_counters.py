"""Counters the serving processes share: the token generation (bumped by triggers on every
change of a token or a user, so a process that remembers tokens knows when to forget them)
and the row that serialises the start of impact jobs.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every write to these tables bumps the "tokens" counter, in the writing transaction.
WATCHED = ("api_tokens", "users")
VERBS = ("insert", "update", "delete")


def upgrade() -> None:
    counters = op.create_table(
        "service_counters",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_service_counters"),
    )
    op.bulk_insert(counters, [{"name": "tokens", "value": 0},
                              {"name": "impact_jobs", "value": 0}])
    if op.get_bind().dialect.name == "sqlite":
        for table in WATCHED:
            for verb in VERBS:
                op.execute(
                    f"CREATE TRIGGER {table}_{verb}_bumps_generation AFTER {verb.upper()} "
                    f"ON {table} BEGIN UPDATE service_counters SET value = value + 1 "
                    "WHERE name = 'tokens'; END"
                )
    else:
        op.execute(
            """
            CREATE FUNCTION bump_token_generation() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE service_counters SET value = value + 1 WHERE name = 'tokens';
                RETURN NULL;
            END $$
            """
        )
        for table in WATCHED:
            op.execute(
                f"CREATE TRIGGER {table}_bumps_generation AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_token_generation()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in WATCHED:
            for verb in VERBS:
                op.execute(f"DROP TRIGGER {table}_{verb}_bumps_generation")
    else:
        for table in WATCHED:
            op.execute(f"DROP TRIGGER {table}_bumps_generation ON {table}")
        op.execute("DROP FUNCTION bump_token_generation()")
    op.drop_table("service_counters")
