"""Persistence: SQLAlchemy models, repositories, a unit of work and Alembic migrations, on
SQLite (the default) or PostgreSQL.

Start with ``store.db.make_engine(url)`` and ``store.db.migrate(engine)``, then do each use
case in a ``store.uow.UnitOfWork(engine)``. The store imports ``policy`` and nothing of the
engine, the services or the API. Importing it registers the ORM listeners that keep published
versions and append-only tables unchanged (``store.immutability``).
"""

from store import immutability as _immutability  # noqa: F401  (registers the listeners)
from store.db import DEFAULT_URL, make_engine, migrate, session_factory
from store.errors import ConflictError, ImmutableError, InvalidCursor, RowNotFound, StoreError
from store.pagination import Page
from store.uow import UnitOfWork

__all__ = [
    "DEFAULT_URL",
    "ConflictError",
    "ImmutableError",
    "InvalidCursor",
    "Page",
    "RowNotFound",
    "StoreError",
    "UnitOfWork",
    "make_engine",
    "migrate",
    "session_factory",
]
