"""Early warning: events remember when they were correlated, alerts name their member, and
webhooks push alerts to api_clients (with a log of every delivery attempt).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
DELIVERY_STATUSES = ("PENDING", "DELIVERED", "FAILED")


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # Plain ALTER TABLE ... ADD COLUMN (nullable): no batch rebuild, which on SQLite would drop
    # a table's triggers (0004). Events, alerts and webhooks are mutable by design (events are
    # marked correlated, alerts resolved, deliveries retried): no immutability triggers here.
    op.add_column("events", _ts("correlated_at", nullable=True))
    op.create_index("ix_events_correlated_at", "events", ["correlated_at"])
    op.add_column("alerts", sa.Column("member_id", sa.String(64), nullable=True))
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("token_id", sa.String(36), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("regions", JSON, nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks"),
        sa.ForeignKeyConstraint(["token_id"], ["api_tokens.id"],
                                name="fk_webhooks_token_id_api_tokens"),
        sa.UniqueConstraint("token_id", name="uq_webhooks_token_id"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("webhook_id", sa.String(36), nullable=False),
        sa.Column("alert_id", sa.String(36), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("next_attempt_at"),
        sa.Column("log", JSON, nullable=False),
        _ts("created_at"),
        _ts("delivered_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.ForeignKeyConstraint(["webhook_id"], ["webhooks.id"],
                                name="fk_webhook_deliveries_webhook_id_webhooks"),
        sa.CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in DELIVERY_STATUSES) + ")",
            name="ck_webhook_deliveries_delivery_status",
        ),
    )
    op.create_index("ix_webhook_deliveries_webhook_id", "webhook_deliveries", ["webhook_id"])
    op.create_index("ix_webhook_deliveries_status_next_attempt_at", "webhook_deliveries",
                    ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), for the same reason.
    op.drop_column("alerts", "member_id")
    op.drop_index("ix_events_correlated_at", table_name="events")
    op.drop_column("events", "correlated_at")
