"""The audit log in the schema: ``auditLog`` (auditors only), a connection newest first."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from graphql_api.types import PageInfo
from services.audit import AuditFilter, AuditReader
from services.errors import ServiceError


@strawberry.type(description="One audit log entry: who did what to which object, when. "
                 "entryHash chains it to the entry before (prevHash), so a changed or removed "
                 "entry shows.")
class AuditEntry:
    id: strawberry.ID
    at: datetime
    actor: str = strawberry.field(description="role:login of the user, or system:...")
    action: str = strawberry.field(description="e.g. ruleset.version.publish, household.save")
    object_type: str
    object_id: str
    details: JSON
    prev_hash: str
    entry_hash: str


@strawberry.type
class AuditEntryEdge:
    cursor: str
    node: AuditEntry


@strawberry.type
class AuditEntryConnection:
    edges: list[AuditEntryEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description="All entries that match, on every page.")


@strawberry.input(description="Every given filter must match.")
class AuditLogFilter:
    actor: str | None = strawberry.field(
        default=None, description="A login (any spelling: every role the user acted in) or "
        "an exact actor such as policy_approver:ap-1.")
    object_type: str | None = None
    object_id: str | None = None
    action: str | None = None
    since: date | None = strawberry.field(default=None, description="From this day (UTC).")
    until: date | None = strawberry.field(default=None,
                                          description="Up to and including this day (UTC).")


@strawberry.type
class AuditQuery:
    @strawberry.field(description="The audit log, newest first (auditors only), a Relay "
                      "connection: first/after forwards, last/before backwards (1 to 500; "
                      "neither: the newest 100). 审计日志。")
    def audit_log(self, info: strawberry.Info, first: int | None = None,
                  after: str | None = None, filter: AuditLogFilter | None = None,
                  last: Annotated[int | None, strawberry.argument(
                      description="How many items from the end (1 to 500).")] = None,
                  before: Annotated[str | None, strawberry.argument(
                      description="Only items before this cursor (an edge's cursor or "
                      "pageInfo.startCursor).")] = None) -> AuditEntryConnection:
        from graphql_api.errors import service_error

        f = filter or AuditLogFilter()
        where = AuditFilter(actor=f.actor, object_type=f.object_type, object_id=f.object_id,
                            action=f.action, since=f.since, until=f.until)
        try:
            page = AuditReader(info.context.app).page(info.context.principal, first, after,
                                                      where, last=last, before=before)
        except ServiceError as exc:
            raise service_error(exc) from None
        edges = [AuditEntryEdge(cursor=_cursor(e.id), node=AuditEntry(
            id=strawberry.ID(str(e.id)), at=e.at, actor=e.actor, action=e.action,
            object_type=e.object_type, object_id=e.object_id, details=cast(JSON, e.details),
            prev_hash=e.prev_hash, entry_hash=e.entry_hash)) for e in page.entries]
        return AuditEntryConnection(edges=edges, page_info=PageInfo(
            has_next_page=page.has_next_page, end_cursor=page.end_cursor,
            has_previous_page=page.has_previous_page, start_cursor=page.start_cursor),
            total_count=page.total_count)


def _cursor(entry_id: int) -> str:
    from store.pagination import encode_cursor

    return encode_cursor(entry_id)
