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

    def page(self, p: Principal | None, first: int, after: str | None = None,
             where: AuditFilter | None = None) -> AuditPage:
        """A page of entries, newest first. ``p`` None: an operator on the command line."""
        if p is not None:
            self.app.policy.read_audit(p)
        if not 1 <= first <= MAX_PAGE:
            msg = f"first must be between 1 and {MAX_PAGE}, got {first}"
            raise InvalidInput(msg, [FieldError("first", "PAGE_SIZE", msg)], code="PAGE_SIZE")
        where = where or AuditFilter()
        if where.since and where.until and where.since > where.until:
            msg = "filter.since is after filter.until"
            raise InvalidInput(msg, [FieldError("filter.since", "INVALID_RANGE", msg)])
        exact, login = _actor(where.actor)
        with self.app.uow() as uow:
            try:
                page = uow.audit.page(
                    first, after, action=where.action, actor=exact, actor_login=login,
                    object_type=where.object_type, object_id=where.object_id,
                    since=where.since, until=where.until)
            except InvalidCursor as exc:
                raise InvalidInput(str(exc), [FieldError("after", "INVALID_CURSOR", str(exc))],
                                   code="INVALID_CURSOR") from None
            return AuditPage([_view(e) for e in page.items], page.has_next_page,
                             page.end_cursor)
