"""Bearer tokens: issued to a user, listed, revoked, expiring.

Each process remembers what the tokens it has seen stand for (``TokenCache``, by the token's
sha256), but only under the token generation it read from the database first
(``store.counters``): every change of a token or user bumps the generation in the changing
transaction (by trigger), so a revocation, or an expiry moved, holds on the very next request
in every worker process. Each request reads the generation (one primary-key read) instead of
looking the token up; the expiry of a remembered token is checked against the clock on every
request. Only the token's sha256 is stored; the plain token is shown once, by ``create``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from policy.errors import FieldError
from services.auth import REGIONAL_ROLES, ROLES, Principal
from services.errors import InvalidInput, NotFoundError
from store import counters
from store.errors import RowNotFound
from store.logins import InvalidLogin, normalise_login
from store.models import ApiToken, Role, User
from store.repositories import hash_token
from store.types import utc_now

if TYPE_CHECKING:
    from services.application import Application


# The longest department and region code a token can name: the columns' widths (the token's
# department column; the households' region code column, which a region must match).
DEPARTMENT_LENGTH = 100
REGION_LENGTH = 32


def _scope(value: str, field: str, limit: int, problems: list[FieldError]) -> str | None:
    """``value`` without surrounding spaces, or None with a problem added when it is empty,
    too long for its column or holds a control character (checked here, so that SQLite and
    PostgreSQL refuse the same values)."""
    trimmed = value.strip()
    if not trimmed or len(trimmed) > limit or any(ord(c) < 32 or ord(c) == 127
                                                 for c in trimmed):
        problems.append(FieldError(field, "INVALID_VALUE",
                                   f"a {field} is 1 to {limit} characters, none of them a "
                                   f"control character; got {len(trimmed)} characters"))
        return None
    return trimmed


@dataclass(frozen=True)
class TokenView:
    """A token as ``token list`` shows it (never the token itself)."""

    id: str
    user_id: str
    login: str
    role: str
    regions: tuple[str, ...]
    department: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


def _view(record: ApiToken, user: User) -> TokenView:
    return TokenView(record.id, user.id, user.login, record.role.value, tuple(record.regions),
                     record.department, record.created_at, record.expires_at,
                     record.revoked_at)


def principal_of(record: ApiToken, user: User) -> Principal:
    """The caller a token stands for: its user, acting in the token's role and scope."""
    return Principal(name=user.login, role=record.role.value, regions=frozenset(record.regions),
                     department=record.department, token_id=record.id, user_id=user.id)


class TokenCache:
    """What tokens stand for, as read under one token generation (one per process).

    An entry is used only by a request that read the same generation the entry was looked up
    under (the generation is read before the lookup): had anything changed a token or a user
    since, the generation would differ. A different generation empties the cache. Only tokens
    that authenticate someone are remembered, at most ``size`` of them."""

    def __init__(self, size: int = 10_000):
        self.size = size
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._entries: dict[str, tuple[Principal, datetime | None]] = {}

    def get(self, generation: int, token_hash: str) -> tuple[Principal, datetime | None] | None:
        with self._lock:
            if generation != self._generation:
                self._generation, self._entries = generation, {}
                return None
            return self._entries.get(token_hash)

    def put(self, generation: int, token_hash: str, principal: Principal,
            expires_at: datetime | None) -> None:
        with self._lock:
            if generation != self._generation:
                return  # looked up under a generation that is no longer this cache's
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[token_hash] = (principal, expires_at)


class Tokens:
    """Issue, look up, list and revoke bearer tokens (each change in the audit log)."""

    def __init__(self, app: Application):
        self.app = app

    def create(self, *, role: str, name: str, regions: Sequence[str] = (),
               department: str | None = None, expires_at: datetime | None = None,
               actor: str = "system:cli") -> str:
        """A new token for the user ``name`` names (created on first use); the plain token,
        shown only here. Bad input is ``InvalidInput`` with every problem as a field."""
        problems: list[FieldError] = []
        login = ""
        try:
            login = normalise_login(name)
        except InvalidLogin as exc:
            problems.append(FieldError("name", "INVALID_LOGIN", str(exc)))
        if role not in ROLES:
            problems.append(FieldError("role", "UNKNOWN_ROLE",
                                       f"unknown role {role!r}; roles: {', '.join(ROLES)}"))
        if role in REGIONAL_ROLES and not regions:
            problems.append(FieldError("region", "REQUIRED",
                                       f"a {role} needs at least one region"))
        if role in ("policy_editor", "policy_approver") and not department:
            problems.append(FieldError("department", "REQUIRED",
                                       f"a {role} needs a department (e.g. 县教体局)"))
        department = _scope(department, "department", DEPARTMENT_LENGTH, problems) \
            if department else None
        regions = [r for r in (_scope(r, "region", REGION_LENGTH, problems) for r in regions)
                   if r is not None]
        if expires_at is not None:
            if expires_at.tzinfo is None:
                problems.append(FieldError("expires", "INVALID_VALUE",
                                           "an expiry needs a time zone (e.g. ...T00:00:00Z)"))
            elif expires_at <= self.app.uow().now():
                problems.append(FieldError("expires", "IN_THE_PAST",
                                           "the expiry must be in the future"))
        if problems:
            raise InvalidInput(problems[0].message, problems)
        with self.app.uow() as uow:
            issued = uow.tokens.create(name=login, role=Role(role), regions=regions,
                                       department=department, expires_at=expires_at)
            uow.audit.append(actor=actor, action="token.create", object_type="token",
                             object_id=issued.record.id,
                             details={"role": role, "login": login,
                                      "userId": issued.record.user_id,
                                      "regions": sorted(set(regions)),
                                      "department": department,
                                      "expiresAt": expires_at.isoformat() if expires_at
                                      else None})
            uow.commit()
            return issued.token

    def principal(self, token: str, now: float | None = None) -> Principal | None:
        """The caller a token stands for, or None when it is unknown, revoked or expired.
        (``now`` is accepted for older callers and ignored: the database's answer holds.)"""
        cache = self.app.token_cache
        generation = counters.generation(self.app.engine)  # before the lookup, never after
        token_hash = hash_token(token)
        known = cache.get(generation, token_hash)
        if known is not None:
            principal, expires_at = known
            return principal if expires_at is None or utc_now() < expires_at else None
        with self.app.uow() as uow:
            found = uow.tokens.lookup(token)
            if found is None:
                return None
            record, user = found
            principal = principal_of(record, user)
            cache.put(generation, token_hash, principal, record.expires_at)
            return principal

    def list(self, *, include_inactive: bool = False) -> list[TokenView]:
        """Tokens with their users (active ones only unless ``include_inactive``)."""
        with self.app.uow() as uow:
            return [_view(t, u) for t, u in uow.tokens.list_tokens(
                include_inactive=include_inactive)]

    def revoke(self, token_id: str, *, actor: str = "system:cli",
               reason: str | None = None) -> TokenView:
        """Revoke a token: refused from the next request on, in every worker."""
        with self.app.uow() as uow:
            try:
                record = uow.tokens.get(token_id)
            except RowNotFound:
                raise NotFoundError(f"no token {token_id!r}", [FieldError(
                    "id", "NOT_FOUND", f"no token {token_id!r}")]) from None
            already = record.revoked_at is not None
            uow.tokens.revoke(token_id)
            if not already:
                uow.audit.append(actor=actor, action="token.revoke", object_type="token",
                                 object_id=record.id,
                                 details={"userId": record.user_id, "reason": reason})
            uow.commit()
            return _view(record, uow.users.get(record.user_id))
