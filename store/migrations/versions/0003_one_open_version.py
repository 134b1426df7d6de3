"""At most one open (DRAFT or IN_REVIEW) version per rule set, enforced by the database.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05

The service checks for an open version before it creates a draft, but two processes can both
check before either inserts; a partial unique index makes the second insert fail, and the
service reports it as DRAFT_EXISTS. (A database that already holds two open versions of one
rule set must have one withdrawn or retired by hand before this migration.)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('DRAFT', 'IN_REVIEW')"


def upgrade() -> None:
    op.create_index(
        "uq_rule_set_versions_one_open", "rule_set_versions", ["rule_set_code"], unique=True,
        postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("uq_rule_set_versions_one_open", table_name="rule_set_versions")
