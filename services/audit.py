"""The audit log, read: auditors through the API (``auditLog``), operators with
``policy-engine audit``. Filters by actor (a login matches every role that user acted in),
object, action and time; newest first, keyset-paginated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from policy.errors import FieldError
from services.auth import Principal
from services.errors import InvalidInput
from store.errors import InvalidCursor
from store.logins import InvalidLogin, normalise_login
from store.models import AuditEntry
from store.pagination import decode_cursor

if TYPE_CHECKING:
    from services.application import Application

MAX_PAGE = 500


@dataclass(frozen=True)
class AuditFilter:
    """``actor``: a login (any spelling; every role the user acted in) or an exact actor
    ("policy_approver:ap-1", "system:cli"); ``since``/``until``: days, both included."""

    actor: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    action: str | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class AuditEntryView:
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntryView]
    has_next_page: bool
    end_cursor: str | None
    has_previous_page: bool = False
    start_cursor: str | None = None
    total_count: int = 0


def _view(e: AuditEntry) -> AuditEntryView:
    return AuditEntryView(e.id, e.at, e.actor, e.action, e.object_type, e.object_id,
                          dict(e.details), e.prev_hash, e.entry_hash)


def _actor(actor: str | None) -> tuple[str | None, str | None]:
    """(exact actor, login) for the store's filter."""
    if actor is None:
        return None, None
    if ":" in actor:
        return actor.strip(), None
    try:
        return None, normalise_login(actor)
    except InvalidLogin as exc:
        raise InvalidInput(str(exc), [FieldError("filter.actor", "INVALID_LOGIN",
                                                 str(exc))]) from None


class AuditReader:
    def __init__(self, app: Application):
        self.app = app

    def page(self, p: Principal | None, first: int | None, after: str | None = None,
             where: AuditFilter | None = None, *, last: int | None = None,
             before: str | None = None) -> AuditPage:
        """A page of entries, newest first, as a Relay connection pages them (``first``/
        ``after`` forwards, ``last``/``before`` backwards). ``p`` None: an operator on the
        command line."""
        if p is not None:
            self.app.policy.read_audit(p)
        if first is None and last is None:
            first = 100
        for name, count in (("first", first), ("last", last)):
            if count is not None and not 1 <= count <= MAX_PAGE:
                msg = f"{name} must be between 1 and {MAX_PAGE}, got {count}"
                raise InvalidInput(msg, [FieldError(name, "PAGE_SIZE", msg)], code="PAGE_SIZE")
        where = where or AuditFilter()
        if where.since and where.until and where.since > where.until:
            msg = "filter.since is after filter.until"
            raise InvalidInput(msg, [FieldError("filter.since", "INVALID_RANGE", msg)])
        exact, login = _actor(where.actor)
        with self.app.uow() as uow:
            for name, cursor in (("after", after), ("before", before)):
                if cursor is not None:
                    try:
                        (key,) = decode_cursor(cursor, 1)
                        if not isinstance(key, int):
                            raise InvalidCursor(f"not a cursor of the audit log: {cursor!r}")
                    except InvalidCursor as exc:
                        raise InvalidInput(str(exc), [FieldError(name, "INVALID_CURSOR",
                                                                 str(exc))],
                                           code="INVALID_CURSOR") from None
            page, total = uow.audit.window(
                first=first, after=after, last=last, before=before, action=where.action,
                actor=exact, actor_login=login, object_type=where.object_type,
                object_id=where.object_id, since=where.since, until=where.until)
            return AuditPage([_view(e) for e in page.items], page.has_next_page,
                             page.end_cursor, page.has_previous_page, page.start_cursor, total)
