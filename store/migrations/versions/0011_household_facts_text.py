"""Households' facts as text, kept by the database beside the facts themselves: reading every
household's facts as text (the impact preview, rescreening) no longer has PostgreSQL make the
text of each jsonb value anew.

On PostgreSQL a stored generated column (``facts::text``, compressed with lz4 where the server
has it); on SQLite, which stores JSON as its text already, a virtual one (the same text).
Adding the stored column rewrites the table once (about 8 s for 100,000 households).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        op.add_column("households", sa.Column(
            "facts_text", sa.Text(), sa.Computed("CAST(facts AS TEXT)", persisted=False)))
        return
    # lz4 decompresses several times faster than the default pglz; a server built without it
    # refuses the clause, and the column then takes the default.
    for compression in (" COMPRESSION lz4", ""):
        try:
            with bind.begin_nested():
                op.execute(f"ALTER TABLE households ADD COLUMN facts_text text{compression} "
                           "GENERATED ALWAYS AS (CAST(facts AS TEXT)) STORED")
            return
        except sa.exc.DBAPIError:
            continue
    raise RuntimeError("could not add households.facts_text")


def downgrade() -> None:
    with op.batch_alter_table("households") as batch:
        batch.drop_column("facts_text")
