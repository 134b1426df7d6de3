"""Engines, sessions and migrations. Configuration comes from the caller (a URL), never from a
global settings object.

>>> normalize_url("postgres://u@db/pe").drivername
'postgresql+psycopg'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from store.errors import ConflictError
from store.immutability import refuse_bulk_changes, translate_trigger_error

DEFAULT_URL = "sqlite:///./var/policy-engine.sqlite3"
MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
IMMEDIATE = "policy_engine_immediate"  # execution option: SQLite's BEGIN IMMEDIATE


def normalize_url(url: str | URL | None) -> URL:
    """Parse a database URL; bare ``postgresql://`` (and Heroku-style ``postgres://``) mean
    psycopg 3, the driver this project installs."""
    text = DEFAULT_URL if url is None else url
    if isinstance(text, str) and text.startswith("postgres://"):
        text = "postgresql://" + text.removeprefix("postgres://")
    parsed = make_url(text)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL | None = None, *, echo: bool = False, **kwargs: Any) -> Engine:
    """An engine for ``url`` (default: ``DEFAULT_URL``, a SQLite file under ./var/).

    SQLite gets foreign keys on, WAL, a busy timeout, recursive triggers (so ``INSERT OR
    REPLACE`` cannot slip past the append-only triggers), real transactions, and a stale
    snapshot reported as ``ConflictError``. Every engine translates the triggers' refusals
    into ``ImmutableError``.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        _create_sqlite_folder(parsed)
        engine = create_engine(parsed, echo=echo, **kwargs)
        _configure_sqlite(engine)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(parsed, echo=echo, **kwargs)
    event.listen(engine, "handle_error", translate_trigger_error)
    return engine


def _create_sqlite_folder(url: URL) -> None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite opens transactions on its own (and not before DDL or SAVEPOINT); switch that
        # off and let the "begin" hook below start them, as SQLAlchemy's docs recommend.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA recursive_triggers = ON")
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")  # in-memory databases keep "memory"
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock at once (waiting up to the busy timeout), before the
        # transaction reads anything: for a check-then-insert that must not race another
        # process (``Session.connection(execution_options={IMMEDIATE: True})``).
        if connection.get_execution_options().get(IMMEDIATE):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    event.listen(engine, "handle_error", _translate_stale_snapshot)


# SQLite's refusals of a write because another connection writes: after the busy timeout
# (SQLITE_BUSY), at once when a read transaction would have to wait for a writer that may
# itself wait for it (SQLITE_BUSY, the busy handler is not called), or when its snapshot went
# stale (SQLITE_BUSY_SNAPSHOT).
_BUSY = frozenset({"SQLITE_BUSY", "SQLITE_BUSY_SNAPSHOT", "SQLITE_BUSY_RECOVERY",
                   "SQLITE_LOCKED", "SQLITE_LOCKED_SHAREDCACHE"})


def _translate_stale_snapshot(context: ExceptionContext) -> BaseException | None:
    # Another process wrote (or is writing) what this transaction read: the same situation
    # as a stale revision, so the same error, CONFLICT to clients ("re-read and retry"),
    # not "database is locked" as an internal error. E.g. two processes creating one
    # household id at once: one wins, the other is told to re-read.
    if getattr(context.original_exception, "sqlite_errorname", None) not in _BUSY:
        return None
    error = ConflictError(
        "the database changed after this transaction read it, or another writer held it "
        f"longer than {SQLITE_BUSY_TIMEOUT_MS // 1000} s: someone else wrote first; re-read "
        "and retry"
    )
    error.__cause__ = context.original_exception
    return error


def read_row(engine: Engine, sql: str) -> tuple[Any, ...]:
    """The one row a constant read-only ``sql`` (no parameters) returns, on a pooled DBAPI
    connection without SQLAlchemy's transaction bookkeeping: about 10 µs on SQLite against
    85 for ``engine.connect()``, for the reads made on every request. SQLite runs it in
    autocommit (the latest committed state); on PostgreSQL it opens a transaction that the
    pool rolls back when the connection returns to it."""
    connection = engine.raw_connection()
    dbapi_error = engine.dialect.loaded_dbapi.Error
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(sql)
            row = cursor.fetchone()
        except dbapi_error as exc:
            # The driver's own error, wrapped as SQLAlchemy wraps it on every other path, so
            # callers that handle SQLAlchemyError (a database not migrated, gone, locked)
            # handle this read too.
            raise DBAPIError.instance(sql, None, exc, dbapi_error,
                                      dialect=engine.dialect) from exc
        finally:
            cursor.close()
    finally:
        connection.close()
    if row is None:
        raise LookupError(f"no row: {sql}")
    return tuple(row)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for the unit of work. Objects stay readable after commit (``expire_on_commit``
    off), so a use case can return what it saved; ORM bulk updates and deletes of append-only
    tables are refused."""
    factory = sessionmaker(engine, expire_on_commit=False)
    event.listen(factory, "do_orm_execute", refuse_bulk_changes)
    return factory


# --- migrations ----------------------------------------------------------------------------


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for ``store/migrations`` (there is no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(target: str | URL | Engine | None = None, revision: str = "head") -> None:
    """Upgrade the database at ``target`` (a URL or an engine; default ``DEFAULT_URL``) to
    ``revision``, in one transaction."""
    engine = target if isinstance(target, Engine) else make_engine(target)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    finally:
        if engine is not target:
            engine.dispose()


def head_revision() -> str:
    """The newest migration's revision id."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package ships its migrations
        raise RuntimeError(f"no migrations found in {MIGRATIONS}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None when it was never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_up_to_date(engine: Engine) -> bool:
    """True when the database is at the newest migration (for a readiness check)."""
    return current_revision(engine) == head_revision()
