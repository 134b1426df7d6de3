"""Users: every token belongs to a person with a normalised, unique login; tokens can expire.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05

Existing tokens are given users by their names, normalised as ``store.logins`` does it today
(the rule is copied here: a migration is a frozen record and must not change with the code).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _login(name: str, token_id: str) -> str:
    login = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", name).casefold()).strip()
    login = "".join(c for c in login if not unicodedata.category(c).startswith("C"))
    login = login.replace(":", "-")[:64].strip()
    return login or f"token-{token_id[:8]}"


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("login", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("login", name="uq_users_login"),
    )
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("user_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))

    bind = op.get_bind()
    users: dict[str, str] = {}
    now = datetime.now(UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # stored as naive UTC, as store.types.UTCDateTime does
    for token_id, name in bind.execute(sa.text("SELECT id, name FROM api_tokens")).all():
        login = _login(name, token_id)
        if login not in users:
            users[login] = str(uuid.uuid4())
            bind.execute(
                sa.text("INSERT INTO users (id, login, display_name, created_at) "
                        "VALUES (:id, :login, :name, :now)"),
                {"id": users[login], "login": login, "name": name[:100], "now": now},
            )
        bind.execute(sa.text("UPDATE api_tokens SET user_id = :user WHERE id = :id"),
                     {"user": users[login], "id": token_id})

    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("user_id", existing_type=sa.String(36), nullable=False)
        batch.create_foreign_key("fk_api_tokens_user_id_users", "users", ["user_id"], ["id"])
        batch.create_index("ix_api_tokens_user_id", ["user_id"])


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_index("ix_api_tokens_user_id")
        batch.drop_constraint("fk_api_tokens_user_id_users", type_="foreignkey")
        batch.drop_column("expires_at")
        batch.drop_column("user_id")
    op.drop_table("users")
