"""``INSERT ... ON CONFLICT DO NOTHING`` for the two backends the store supports.

Both SQLite and PostgreSQL have it, with RETURNING, so an idempotent insert is one statement
that cannot race: two requests carrying the same key both succeed, and exactly one inserts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_unless_exists(
    session: Session, model: type[Any], values: Mapping[str, Any], unique: Sequence[str]
) -> bool:
    """Insert a row of ``model`` unless one with the same ``unique`` columns exists; True when
    this call inserted it."""
    dialect = session.get_bind().dialect.name
    table = model.__table__
    if dialect == "postgresql":
        statement: Any = postgresql.insert(table)
    elif dialect == "sqlite":
        statement = sqlite.insert(table)
    else:  # pragma: no cover - only the two supported backends
        raise NotImplementedError(f"no idempotent insert for the {dialect} dialect")
    statement = (
        statement.values(dict(values))
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(table.c[unique[0]])
    )
    return session.execute(statement).first() is not None


def insert_many_unless_exist(
    session: Session, model: type[Any], rows: Sequence[Mapping[str, Any]], unique: Sequence[str],
    returning: Sequence[str] | None = None,
) -> list[Any]:
    """Insert the rows of ``model`` whose ``unique`` columns are not stored yet, as one
    executemany (SQLAlchemy batches it into multi-row statements, compiled once); for the rows
    inserted, the first unique column's value (or a tuple of the ``returning`` columns). A key
    must not appear twice in ``rows``."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    table = model.__table__
    if dialect == "postgresql":
        statement: Any = postgresql.insert(table)
    elif dialect == "sqlite":
        statement = sqlite.insert(table)
    else:  # pragma: no cover - only the two supported backends
        raise NotImplementedError(f"no idempotent insert for the {dialect} dialect")
    columns = [table.c[c] for c in (returning or unique[:1])]
    # Without sort_by_parameter_order: rows skipped by ON CONFLICT would make SQLAlchemy send
    # one statement a row to keep the order, and the values returned say which rows they are.
    statement = statement.on_conflict_do_nothing(index_elements=list(unique)).returning(
        *columns)
    result = session.execute(statement, [dict(r) for r in rows])
    if returning is None:
        return [row[0] for row in result]
    return [tuple(row) for row in result]
