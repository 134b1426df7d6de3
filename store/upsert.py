"""``INSERT ... ON CONFLICT DO NOTHING`` for the two backends the store supports.

Both SQLite and PostgreSQL have it, with RETURNING, so an idempotent insert is one statement
that cannot race: two requests carrying the same key both succeed, and exactly one inserts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Dialect, TextualSelect, text
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
    """Insert the rows of ``model`` whose ``unique`` columns are not stored yet, in one
    statement on PostgreSQL (each column an array, unnested) and as one executemany on SQLite
    (SQLAlchemy batches it into multi-row statements); for the rows inserted, the first unique
    column's value (or a tuple of the ``returning`` columns). A key must not appear twice in
    ``rows``, and every row has the same columns."""
    if not rows:
        return []
    dialect = session.get_bind().dialect
    table = model.__table__
    columns = [table.c[c] for c in (returning or unique[:1])]
    if dialect.name == "postgresql":
        result: Any = session.execute(_unnest_insert(table, list(rows[0]), unique, columns,
                                                     dialect), _arrays(table, rows, dialect))
        if returning is None:
            return [row[0] for row in result]
        return [tuple(row) for row in result]
    if dialect.name == "sqlite":
        statement: Any = sqlite.insert(table)
    else:  # pragma: no cover - only the two supported backends
        raise NotImplementedError(f"no idempotent insert for the {dialect.name} dialect")
    # Without sort_by_parameter_order: rows skipped by ON CONFLICT would make SQLAlchemy send
    # one statement a row to keep the order, and the values returned say which rows they are.
    statement = statement.on_conflict_do_nothing(index_elements=list(unique)).returning(
        *columns)
    result = session.execute(statement, [dict(r) for r in rows])
    if returning is None:
        return [row[0] for row in result]
    return [tuple(row) for row in result]


# PostgreSQL: the rows go as one array a column (``INSERT ... SELECT FROM unnest(...)``), so the
# statement's text is the same for any number of rows: short, parsed and planned once, where a
# multi-row VALUES list is a new statement of thousands of placeholders for every batch.


def _unnest_insert(table: Any, names: Sequence[str], unique: Sequence[str],
                   returning: Sequence[Any], dialect: Dialect) -> TextualSelect:
    compiler = dialect.type_compiler_instance
    arrays = ", ".join(
        # A JSON column goes as one JSON array (a text array of JSON documents would be
        # escaped element by element on the client).
        f"ARRAY(SELECT v FROM jsonb_array_elements(CAST(:{_param(n)} AS JSONB)) "
        "WITH ORDINALITY AS e(v, i) ORDER BY i)" if _is_json(table.c[n].type)
        else f"CAST(:{_param(n)} AS {compiler.process(table.c[n].type.dialect_impl(dialect))}[])"
        for n in names)
    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
           f"SELECT * FROM unnest({arrays}) "
           f"ON CONFLICT ({', '.join(quote(n) for n in unique)}) DO NOTHING "
           f"RETURNING {', '.join(quote(c.name) for c in returning)}")
    return text(sql).columns(*returning)


def _arrays(table: Any, rows: Sequence[Mapping[str, Any]],
            dialect: Dialect) -> dict[str, list[Any]]:
    out: dict[str, Any] = {}
    dumps = getattr(dialect, "_json_serializer", None) or _dumps
    for n in rows[0]:
        values = [r[n] for r in rows]
        if _is_json(table.c[n].type):  # None is JSON null, as SQLAlchemy's JSON stores it
            out[_param(n)] = dumps(values)
            continue
        process = table.c[n].type._cached_bind_processor(dialect)
        out[_param(n)] = values if process is None else [
            None if v is None else process(v) for v in values]
    return out


def _dumps(value: Any) -> str:
    """JSON text of ``value`` as PostgreSQL reads it back: written by orjson (several times as
    fast as json.dumps, and UTF-8 instead of escapes: the same JSON values), by json.dumps
    what orjson refuses (keys that are not text, integers beyond 64 bits). The two differ on
    a float that is not finite (json.dumps writes a token PostgreSQL refuses, orjson null):
    the rows written here (events, alerts) hold their amounts and values as text."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def _is_json(type_: Any) -> bool:
    return isinstance(type_, JSON)


def _param(name: str) -> str:
    return f"col_{name}"
