"""Counters the serving processes share (table ``service_counters``, migration 0010).

``tokens`` is the token generation: triggers bump it in the same transaction as every insert,
update or delete of a token or a user (``token revoke``, an expiry moved, a row changed by
hand in SQL alike). A process may remember what a token stands for as long as the generation
it read before looking the token up is still the generation: one primary-key read a request
instead of the token's lookup.

``impact_jobs`` is never read for its value: writing it is how the start of an impact job
takes a lock that every process (and both databases) honour (``lock``).
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text

from store.db import read_row

TOKENS = "tokens"
IMPACT_JOBS = "impact_jobs"

_READ = {name: f"SELECT value FROM service_counters WHERE name = '{name}'"
         for name in (TOKENS, IMPACT_JOBS)}
_BUMP = text("UPDATE service_counters SET value = value + 1 WHERE name = :name")


def generation(engine: Engine, name: str = TOKENS) -> int:
    """The counter's value now (one primary-key read of the latest committed state)."""
    return int(read_row(engine, _READ[name])[0])


def lock(connection: Connection, name: str) -> None:
    """Hold the counter's row lock until the transaction ends: a second transaction that
    locks the same counter waits for this one to commit or roll back. On SQLite the write
    takes the database's write lock (so run it before the transaction reads anything: its
    snapshot is then taken after the previous holder committed); on PostgreSQL it locks the
    row, and each later statement of a READ COMMITTED transaction sees what the previous
    holder committed."""
    connection.execute(_BUMP, {"name": name})
