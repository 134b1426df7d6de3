"""Fresh databases for tests: a SQLite file, or a new PostgreSQL schema dropped afterwards (so
runs repeat and never touch other schemas' data)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from store.db import make_engine


@contextmanager
def fresh_engine(backend: str, folder: Path, *, postgres_url: str | None,
                 prefix: str = "test") -> Iterator[Engine]:
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{folder / f'{prefix}-{uuid.uuid4().hex[:8]}.sqlite3'}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    if not postgres_url:
        raise ValueError("a PostgreSQL URL is needed for the postgresql backend")
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = make_engine(postgres_url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def second_engine(engine: Engine) -> Engine:
    """Another engine (so another connection pool, as another process would have) on
    ``engine``'s database: the same SQLite file, or the same PostgreSQL schema."""
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name != "postgresql":
        return make_engine(url)
    with engine.connect() as connection:
        schema = connection.scalar(text("SELECT current_schema()"))
    return make_engine(url, connect_args={"options": f"-csearch_path={schema}"})


def database_url(engine: Engine) -> str:
    """``engine``'s database as a DATABASE_URL another process can use (on PostgreSQL, with
    the engine's schema as its search path)."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar()
        url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)
