"""Alembic environment, driven from ``store.db.migrate`` (there is no alembic.ini).

The caller hands over an open connection in ``config.attributes["connection"]``; the whole
upgrade runs in that connection's transaction, so a failed migration leaves nothing behind (on
SQLite too: ``store.db.make_engine`` lets SQLAlchemy emit BEGIN, making DDL transactional).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from store.models import Base

# Any constant will do; it only has to be the same for every process migrating this database.
_PG_MIGRATION_LOCK = 0x706F6C6963790001


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        transactional_ddl=True,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite's ALTER TABLE is limited
        compare_type=True,
    )
    if connection.dialect.name == "postgresql":
        # Two servers starting at once must not both create the tables.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "store migrations run through store.db.migrate(url), which passes a connection"
        )
    if context.is_offline_mode():
        raise RuntimeError("offline (SQL script) migrations are not supported")
    _run(connection)


_main()
