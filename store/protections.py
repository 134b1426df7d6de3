"""The database's own protections, as the migrations leave them, and the PostgreSQL role the
service runs as.

``expected_triggers`` names the triggers ``verify`` expects (a dropped or disabled one is a
finding). ``grant_service_role`` gives a PostgreSQL login role what the service needs and no
more: it owns nothing (so it can neither drop nor disable a trigger, nor alter a table), has no
TRUNCATE, and may only insert into the append-only tables. Migrations run as the owner.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection

APPEND_ONLY = ("audit_log", "determinations", "household_fact_revisions",
               "monitoring_case_entries", "visits")

_SQLITE = {
    *(f"{t}_no_{verb}" for t in APPEND_ONLY for verb in ("update", "delete", "replace")),
    "rule_set_versions_frozen_update", "rule_set_versions_frozen_delete",
    "rule_set_versions_no_replace", "rule_set_versions_no_displace",
    "rule_sets_no_delete", "rule_sets_no_replace",
    # a token's change must reach the generation that processes remembering tokens read
    *(f"{t}_{verb}_bumps_generation" for t in ("api_tokens", "users")
      for verb in ("insert", "update", "delete")),
}
_POSTGRESQL = {
    *(f"{t}_append_only" for t in APPEND_ONLY),
    *(f"{t}_no_truncate" for t in (*APPEND_ONLY, "rule_sets", "rule_set_versions",
                                     "households", "users", "api_tokens")),
    "rule_set_versions_frozen",
    "api_tokens_bumps_generation", "users_bumps_generation",
}

# What the service does to each table (tables not listed: SELECT, INSERT and UPDATE). No
# DELETE anywhere but on the impact jobs (previews' working state, not records): the service
# deletes no version, not even a draft.
_PRIVILEGES = {
    "installation_secrets": "SELECT, INSERT",
    "audit_log": "SELECT, INSERT",
    "determinations": "SELECT, INSERT",
    "household_fact_revisions": "SELECT, INSERT",
    "rule_sets": "SELECT, INSERT",
    "rule_set_versions": "SELECT, INSERT, UPDATE",
    "households": "SELECT, INSERT, UPDATE",
    "users": "SELECT, INSERT",
    "api_tokens": "SELECT, INSERT, UPDATE",
    "events": "SELECT, INSERT, UPDATE",
    "alerts": "SELECT, INSERT, UPDATE",
    "monitoring_cases": "SELECT, INSERT, UPDATE",
    "monitoring_case_entries": "SELECT, INSERT",
    "visits": "SELECT, INSERT",
    "assistance_measures": "SELECT, INSERT",
    "idempotency_keys": "SELECT, INSERT",
    # finished jobs are deleted after their retention (services/impact_jobs.py)
    "impact_jobs": "SELECT, INSERT, UPDATE, DELETE",
    "alembic_version": "SELECT",
}
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def expected_triggers(dialect: str) -> set[str]:
    """The immutability triggers a database at the newest migration has."""
    return set(_POSTGRESQL if dialect == "postgresql" else _SQLITE)


def grant_service_role(connection: Connection, role: str) -> list[str]:
    """Grant the PostgreSQL ``role`` what the service needs on the current schema (run as the
    tables' owner, after migrating; again after every upgrade). Tables not listed above get
    SELECT, INSERT and UPDATE. Returns the statements run."""
    if connection.dialect.name != "postgresql":
        raise ValueError("database roles are PostgreSQL's; SQLite has none")
    if not _ROLE_NAME.match(role):
        raise ValueError(f"not a plain role name: {role!r}")
    schema = connection.exec_driver_sql("SELECT current_schema()").scalar_one()
    tables = list(connection.exec_driver_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").scalars())
    statements = [f'GRANT USAGE ON SCHEMA "{schema}" TO {role}',
                  f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM {role}']
    for table in sorted(tables):
        privileges = _PRIVILEGES.get(table, "SELECT, INSERT, UPDATE")
        statements.append(f'GRANT {privileges} ON "{schema}"."{table}" TO {role}')
    statements.append(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {role}')
    for statement in statements:
        connection.exec_driver_sql(statement)
    return statements
