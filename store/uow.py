"""The unit of work: one transaction, the repositories that work inside it, and the clock.

    with UnitOfWork(engine) as uow:
        stored = uow.households.save(household, by="caseworker-7")
        uow.audit.append(actor="caseworker-7", action="household.save",
                         object_type="household", object_id=stored.id)
        uow.commit()

Nothing is written unless ``commit`` is called; leaving the block without it (or with an
exception) rolls everything back, so a failure never leaves half a change behind.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from store.cases import CaseRepository, MeasureRepository, VisitRepository
from store.db import session_factory
from store.errors import ConflictError
from store.repositories import (
    AlertRepository,
    AuditLog,
    Clock,
    DeterminationRepository,
    EventRepository,
    HouseholdRepository,
    IdempotencyRepository,
    RuleSetRepository,
    SecretRepository,
    TokenRepository,
    UserRepository,
)
from store.types import utc_now


class UnitOfWork:
    """A transaction and its repositories; use it once per use case, as a context manager.

    ``clock`` stamps every write (created_at, recorded_at ...); pass a fixed one in tests.
    """

    rule_sets: RuleSetRepository
    households: HouseholdRepository
    determinations: DeterminationRepository
    audit: AuditLog
    tokens: TokenRepository
    users: UserRepository
    secrets: SecretRepository
    events: EventRepository
    alerts: AlertRepository
    cases: CaseRepository
    visits: VisitRepository
    measures: MeasureRepository
    idempotency: IdempotencyRepository

    def __init__(self, sessions: Engine | sessionmaker[Session], *, clock: Clock = utc_now):
        self._sessions = session_factory(sessions) if isinstance(sessions, Engine) else sessions
        self._clock = clock
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        """The open session (for queries no repository has yet; prefer adding one)."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use it in a with block")
        return self._session

    def now(self) -> datetime:
        """The unit of work's clock (the time its writes are stamped with)."""
        return self._clock()

    def __enter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("this unit of work is already open")
        session = self._sessions()
        self._session = session
        self.rule_sets = RuleSetRepository(session, self._clock)
        self.households = HouseholdRepository(session, self._clock)
        self.determinations = DeterminationRepository(session, self._clock)
        self.audit = AuditLog(session, self._clock)
        self.tokens = TokenRepository(session, self._clock)
        self.users = UserRepository(session, self._clock)
        self.secrets = SecretRepository(session, self._clock)
        self.events = EventRepository(session, self._clock)
        self.alerts = AlertRepository(session, self._clock)
        self.cases = CaseRepository(session, self._clock)
        self.visits = VisitRepository(session, self._clock)
        self.measures = MeasureRepository(session, self._clock)
        self.idempotency = IdempotencyRepository(session, self._clock)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        # close() rolls back whatever was not committed and detaches the objects without
        # expiring them (rollback() would), so what a use case read stays readable after.
        session.close()

    def commit(self) -> None:
        """Make every change of this unit of work durable, all at once."""
        try:
            self.session.commit()
        except StaleDataError as exc:
            raise ConflictError("a row was changed by someone else; re-read and retry") from exc
        except IntegrityError as exc:
            raise ConflictError(f"the change conflicts with a stored row: {exc.orig}") from exc

    def rollback(self) -> None:
        """Discard every change since the last commit (the unit of work stays open)."""
        self.session.rollback()
