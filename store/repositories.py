"""Repositories: the only code that queries the tables. Each works inside the session of one
``store.uow.UnitOfWork``; none of them commits (the use case decides, once).

Reads that must find a row raise ``RowNotFound``; writes based on stale data raise
``ConflictError``; lists are keyset-paginated ``Page``s. Region filters take a collection of
region codes: ``None`` means no filter, an empty collection matches nothing (a caseworker with
no regions sees no household). Writes take their time from the unit of work's clock.
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, NamedTuple, TypedDict, TypeVar

import orjson
from sqlalchemy import (
    ColumnElement,
    String,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    func,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.exc import StaleDataError

from policy.document import RuleSetDocument, canonical, content_hash
from policy.facts import Household
from store.audit_chain import GENESIS, digest
from store.errors import ConflictError, ImmutableError, InvalidCursor, RowNotFound
from store.logins import normalise_login
from store.models import (
    Alert,
    AlertStatus,
    ApiToken,
    AuditEntry,
    DeterminationRecord,
    Event,
    HouseholdFactRevision,
    IdempotencyKey,
    InstallationSecret,
    Role,
    RuleSet,
    RuleSetVersion,
    StoredHousehold,
    User,
    VersionStatus,
    new_id,
)
from store.pagination import MAX_PAGE_SIZE, Page, check_page_size, decode_cursor, encode_cursor
from store.upsert import insert_many_unless_exist, insert_unless_exists

Clock = Callable[[], datetime]
AUDIT_CHAIN_LOCK = 0x706F6C6963790002  # PostgreSQL advisory lock serialising audit appends
T = TypeVar("T")


class Upserted(NamedTuple, Generic[T]):
    """A row written idempotently; ``created`` is False when it was already there."""

    item: T
    created: bool


class IssuedToken(NamedTuple):
    """A new token: the stored record and the plain token, shown to its holder once."""

    record: ApiToken
    token: str


class VersionUsed(TypedDict):
    """One rule-set version a determination used (camelCase: it is stored as JSON)."""

    program: str
    versionId: str
    version: int
    contentHash: str


class _Repository:
    def __init__(self, session: Session, clock: Clock):
        self.session = session
        self._clock = clock

    def _flush(self, what: str) -> None:
        # Flush now so a constraint fails at the call that caused it, not at commit.
        try:
            self.session.flush()
        except StaleDataError as exc:
            raise ConflictError(f"{what} was changed by someone else; re-read and retry") from exc
        except IntegrityError as exc:
            raise ConflictError(f"{what} conflicts with a stored row: {exc.orig}") from exc


def _in_regions(
    column: InstrumentedAttribute[str], region_codes: Collection[str] | None
) -> list[ColumnElement[bool]]:
    if region_codes is None:
        return []
    return [column.in_(sorted(set(region_codes)))]  # an empty list compiles to "false"


def _int_key(value: str | int) -> int:
    if isinstance(value, int):
        return value
    raise InvalidCursor(f"not a cursor this store handed out: {value!r}")


def _page(rows: Sequence[T], first: int, cursor_of: Callable[[T], str]) -> Page[T]:
    # The query asked for one row more than a page: its presence says there is a next page.
    items = list(rows[:first])
    return Page(
        items=items,
        end_cursor=cursor_of(items[-1]) if items else None,
        has_next_page=len(rows) > first,
    )


def keyset_window(
    session: Session, model: Any, columns: Sequence[Any],
    filters: Sequence[ColumnElement[bool]], decode: Callable[[str], tuple[Any, ...]],
    encode: Callable[[Any], str], *, first: int | None, after: str | None,
    last: int | None, before: str | None, descending: bool = False,
) -> Page[Any]:
    """Rows of ``model`` ordered by ``columns`` (together unique; ascending, or
    ``descending``), as a Relay connection pages them: the rows after ``after`` and before
    ``before``, then the first ``first`` of those, then the last ``last`` (neither: the last
    ``MAX_PAGE_SIZE``). A cursor holds a row's values of ``columns`` (``encode``/``decode``).
    ``has_previous_page`` and ``has_next_page`` also say whether rows lie before ``after`` or
    after ``before``."""

    def beyond(values: tuple[Any, ...], later: bool, strict: bool) -> ColumnElement[bool]:
        # lexicographic comparison of the columns with the cursor's values
        greater = later != descending
        terms = []
        for n, (column, value) in enumerate(zip(columns, values, strict=True)):
            equal_before = [c == v for c, v in zip(columns[:n], values[:n], strict=True)]
            terms.append(and_(*equal_before, column > value if greater else column < value))
        if not strict:
            terms.append(and_(*[c == v for c, v in zip(columns, values, strict=True)]))
        return or_(*terms)

    forwards = [c.desc() if descending else c for c in columns]
    backwards = [c if descending else c.desc() for c in columns]
    low = decode(after) if after is not None else None
    high = decode(before) if before is not None else None
    query = select(model).where(*filters)
    if low is not None:
        query = query.where(beyond(low, later=True, strict=True))
    if high is not None:
        query = query.where(beyond(high, later=False, strict=True))

    def exists(where: ColumnElement[bool]) -> bool:
        return session.scalar(select(columns[0]).where(*filters, where).limit(1)) is not None

    if first is not None:
        check_page_size(first)
        rows = list(session.scalars(query.order_by(*forwards).limit(first + 1)).all())
        has_next = len(rows) > first
        rows = rows[:first]
        if not has_next and high is not None:
            has_next = exists(beyond(high, later=True, strict=False))
        has_previous = low is not None and exists(beyond(low, later=False, strict=False))
        if last is not None:
            check_page_size(last)
            if len(rows) > last:
                rows, has_previous = rows[-last:], True
    else:
        count = last if last is not None else MAX_PAGE_SIZE
        check_page_size(count)
        rows = list(session.scalars(query.order_by(*backwards).limit(count + 1)).all())
        has_previous = len(rows) > count
        rows = rows[:count][::-1]
        has_next = high is not None and exists(beyond(high, later=True, strict=False))
        if not has_previous and low is not None:
            has_previous = exists(beyond(low, later=False, strict=False))
    return Page(items=rows, end_cursor=encode(rows[-1]) if rows else None,
                has_next_page=has_next, has_previous_page=has_previous,
                start_cursor=encode(rows[0]) if rows else None)


# --- rule sets ------------------------------------------------------------------------------


class RuleSetRepository(_Repository):
    """Programs and their versions. A version's document is stored in canonical form with its
    content hash, both computed here, so the two cannot disagree."""

    def add_rule_set(self, code: str, *, title_zh: str, title_en: str, owner: str) -> RuleSet:
        if self.session.get(RuleSet, code) is not None:
            raise ConflictError(f"rule set {code!r} already exists")
        rule_set = RuleSet(
            code=code, title_zh=title_zh, title_en=title_en, owner=owner,
            created_at=self._clock(),
        )
        self.session.add(rule_set)
        self._flush(f"rule set {code!r}")
        return rule_set

    def get_rule_set(self, code: str) -> RuleSet:
        rule_set = self.session.get(RuleSet, code)
        if rule_set is None:
            raise RowNotFound("rule set", code)
        return rule_set

    def list_rule_sets(self) -> list[RuleSet]:
        return list(self.session.scalars(select(RuleSet).order_by(RuleSet.code)))

    def add_version(
        self,
        document: RuleSetDocument,
        *,
        author: str,
        based_on_id: str | None = None,
        version_id: str | None = None,
    ) -> RuleSetVersion:
        """Store ``document`` as a DRAFT of rule set ``document.program``, numbered
        ``document.version`` (see ``next_version_number``). ``version_id`` defaults to a new
        UUID."""
        code = document.program
        self.get_rule_set(code)
        if based_on_id is not None and self.get_version(based_on_id).rule_set_code != code:
            raise ValueError(f"version {based_on_id} is not a version of rule set {code!r}")
        if self._find(code, document.version) is not None:
            raise ConflictError(
                f"rule set {code!r} already has a version {document.version}",
                expected=self.next_version_number(code), actual=document.version,
            )
        if version_id is not None and self.session.get(RuleSetVersion, version_id) is not None:
            raise ConflictError(f"a rule set version with id {version_id!r} already exists")
        version = RuleSetVersion(
            id=version_id or new_id(),
            rule_set_code=code,
            version=document.version,
            status=VersionStatus.DRAFT,
            effective_from=document.effectiveFrom,
            document=canonical(document),
            content_hash=content_hash(document),
            based_on_id=based_on_id,
            author=author,
            created_at=self._clock(),
        )
        self.session.add(version)
        self._flush(f"{code} version {document.version}")
        return version

    def update_draft(
        self, version_id: str, document: RuleSetDocument, *, expected_revision: int
    ) -> RuleSetVersion:
        """Replace a DRAFT's document, if nobody has changed it since ``expected_revision``
        was read; the revision then goes up by one."""
        version = self.get_version(version_id)
        if version.frozen:
            raise ImmutableError(
                f"{version.rule_set_code} version {version.version} is {version.status.value}; "
                "create a new draft from it instead"
            )
        if version.revision != expected_revision:
            raise ConflictError(
                f"{version.rule_set_code} version {version.version} is at revision "
                f"{version.revision}, not {expected_revision}: someone else changed it",
                expected=expected_revision, actual=version.revision,
            )
        if version.status != VersionStatus.DRAFT:
            raise ConflictError(
                f"{version.rule_set_code} version {version.version} is "
                f"{version.status.value}; only a DRAFT can be edited",
                expected=VersionStatus.DRAFT.value, actual=version.status.value,
            )
        if (document.program, document.version) != (version.rule_set_code, version.version):
            raise ValueError(
                f"the document is {document.program} version {document.version}, but the draft "
                f"is {version.rule_set_code} version {version.version}"
            )
        version.document = canonical(document)
        version.content_hash = content_hash(document)
        version.effective_from = document.effectiveFrom
        self._flush(f"{version.rule_set_code} version {version.version}")
        return version

    def get_version(self, version_id: str) -> RuleSetVersion:
        version = self.session.get(RuleSetVersion, version_id)
        if version is None:
            raise RowNotFound("rule set version", version_id)
        return version

    def get_by_number(self, code: str, number: int) -> RuleSetVersion:
        version = self._find(code, number)
        if version is None:
            raise RowNotFound("rule set version", f"{code} v{number}")
        return version

    def _find(self, code: str, number: int) -> RuleSetVersion | None:
        return self.session.scalars(
            select(RuleSetVersion).where(
                RuleSetVersion.rule_set_code == code, RuleSetVersion.version == number
            )
        ).one_or_none()

    def list_versions(self, code: str) -> list[RuleSetVersion]:
        """Every version of a rule set, oldest first."""
        return list(
            self.session.scalars(
                select(RuleSetVersion)
                .where(RuleSetVersion.rule_set_code == code)
                .order_by(RuleSetVersion.version)
            )
        )

    def list_published(
        self, code: str | None = None, *, include_retired: bool = False
    ) -> list[RuleSetVersion]:
        """Published versions (of one rule set, or all), by rule set, then effective date,
        then version number: the order in which they take effect."""
        statuses = [VersionStatus.PUBLISHED]
        if include_retired:
            statuses.append(VersionStatus.RETIRED)
        query = select(RuleSetVersion).where(RuleSetVersion.status.in_(statuses))
        if code is not None:
            query = query.where(RuleSetVersion.rule_set_code == code)
        return list(
            self.session.scalars(
                query.order_by(
                    RuleSetVersion.rule_set_code,
                    RuleSetVersion.effective_from,
                    RuleSetVersion.version,
                )
            )
        )

    def next_version_number(self, code: str) -> int:
        """One more than the highest version number of the rule set (1 for the first)."""
        highest = self.session.scalar(
            select(func.max(RuleSetVersion.version)).where(RuleSetVersion.rule_set_code == code)
        )
        return (highest or 0) + 1


# --- households -----------------------------------------------------------------------------


class HouseholdRepository(_Repository):
    """Households' current facts and the history of every saved state."""

    def get(self, household_id: str) -> StoredHousehold:
        household = self.find(household_id)
        if household is None:
            raise RowNotFound("household", household_id)
        return household

    def find(self, household_id: str) -> StoredHousehold | None:
        return self.session.get(StoredHousehold, household_id)

    def facts_text_of(self, household_ids: Collection[str]) -> dict[str, tuple[str, str]]:
        """(region code, facts as JSON text) of the stored households among these ids, by id:
        the text kept beside the facts (``facts_text``), for a validator that reads JSON text
        itself (``Household.model_validate_json``), without building the facts' dicts."""
        out: dict[str, tuple[str, str]] = {}
        for among in _among(self.session, StoredHousehold.id, household_ids):
            # Columns only, through the connection: no ORM compilation or loading per call
            # (nor autoflush: correlation reads before it changes anything).
            out.update((hid, (region, text)) for hid, region, text in
                       self.session.connection().execute(
                           select(StoredHousehold.id, StoredHousehold.region_code,
                                  StoredHousehold.facts_text).where(among)).all())
        return out

    def ids_among(self, household_ids: Collection[str]) -> set[str]:
        """The ids among these of households the store knows (ids only: no facts read)."""
        out: set[str] = set()
        for among in _among(self.session, StoredHousehold.id, household_ids):
            out.update(self.session.scalars(select(StoredHousehold.id).where(among)))
        return out

    def find_many(self, household_ids: Collection[str]) -> dict[str, StoredHousehold]:
        """The stored households among these ids, by id."""
        out: dict[str, StoredHousehold] = {}
        ids = sorted(set(household_ids))
        for i in range(0, len(ids), 500):
            for h in self.session.scalars(
                    select(StoredHousehold).where(StoredHousehold.id.in_(ids[i:i + 500]))):
                out[h.id] = h
        return out

    def save(
        self, household: Household, *, by: str, expected_revision: int | None = None
    ) -> StoredHousehold:
        """Store validated facts as the household's new revision (and append it to the
        history). ``expected_revision``, when given, is the revision the caller read (0 for
        "must not exist yet"); any other current revision is a ``ConflictError``. Saving the
        facts it already has changes nothing."""
        # Left-out optional facts stay left out: the contract reads absence as "unknown".
        facts = household.model_dump(mode="json", exclude_none=True)
        stored = self.find(household.id)
        current = stored.revision if stored is not None else 0
        if expected_revision is not None and expected_revision != current:
            raise ConflictError(
                f"household {household.id!r} is at revision {current}, not "
                f"{expected_revision}: someone else changed it",
                expected=expected_revision, actual=current,
            )
        now = self._clock()
        if stored is None:
            stored = StoredHousehold(
                id=household.id, region_code=household.regionCode, facts=facts, revision=1,
                created_at=now, updated_at=now,
            )
            self.session.add(stored)
        elif stored.facts == facts:
            return stored
        else:
            stored.facts = facts
            stored.region_code = household.regionCode
            stored.revision = current + 1
            stored.updated_at = now
        # Written first: without a relationship() the ORM does not order the two inserts.
        self._flush(f"household {household.id!r}")
        self.session.add(
            HouseholdFactRevision(
                household_id=household.id, revision=stored.revision, facts=copy.deepcopy(facts),
                recorded_at=now, recorded_by=by,
            )
        )
        self._flush(f"household {household.id!r}")
        return stored

    def history(self, household_id: str) -> list[HouseholdFactRevision]:
        """Every saved state of the household, oldest first."""
        return list(
            self.session.scalars(
                select(HouseholdFactRevision)
                .where(HouseholdFactRevision.household_id == household_id)
                .order_by(HouseholdFactRevision.revision)
            )
        )

    def get_revision(self, household_id: str, revision: int) -> HouseholdFactRevision:
        row = self.session.get(HouseholdFactRevision, (household_id, revision))
        if row is None:
            raise RowNotFound("household revision", f"{household_id}@{revision}")
        return row

    def page(
        self,
        first: int,
        after: str | None = None,
        *,
        region_codes: Collection[str] | None = None,
        id_prefix: str | None = None,
    ) -> Page[StoredHousehold]:
        """Households by id, ``first`` at a time, after the cursor ``after``."""
        check_page_size(first)
        query = select(StoredHousehold).where(*self._filters(region_codes, id_prefix))
        if after is not None:
            (last_id,) = decode_cursor(after, 1)
            query = query.where(StoredHousehold.id > str(last_id))
        rows = self.session.scalars(query.order_by(StoredHousehold.id).limit(first + 1)).all()
        return _page(rows, first, lambda h: encode_cursor(h.id))

    def window(
        self,
        *,
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
        region_codes: Collection[str] | None = None,
        id_prefix: str | None = None,
    ) -> Page[StoredHousehold]:
        """Households by id as a Relay connection pages them (``keyset_window``)."""
        return keyset_window(self.session, StoredHousehold, [StoredHousehold.id],
                             list(self._filters(region_codes, id_prefix)),
                             lambda c: (str(decode_cursor(c, 1)[0]),),
                             lambda h: encode_cursor(h.id),
                             first=first, after=after, last=last, before=before)

    def iterate(
        self,
        *,
        region_codes: Collection[str] | None = None,
        id_prefix: str | None = None,
        batch_size: int = 500,
    ) -> Iterator[StoredHousehold]:
        """Every matching household by id, fetched ``batch_size`` at a time (e.g. to preview
        a draft's impact without holding all of them in one query)."""
        after: str | None = None
        while True:
            page = self.page(batch_size, after, region_codes=region_codes, id_prefix=id_prefix)
            yield from page.items
            if not page.has_next_page:
                return
            after = page.end_cursor

    def facts_texts(
        self,
        *,
        region_codes: Collection[str] | None = None,
        batch_size: int = 5000,
    ) -> Iterator[list[tuple[str, str, str]]]:
        """Every matching household as (id, region code, facts as JSON text), by id, in lists
        of ``batch_size``: rows of three columns, the text kept beside the facts
        (``facts_text``, which PostgreSQL does not make anew from the jsonb at each read),
        without building an object per household or parsing its JSON (the batch validator
        reads the texts in columns, ``engine.batch.lines``)."""
        facts = StoredHousehold.facts_text
        after: str | None = None
        while True:
            query = select(StoredHousehold.id, StoredHousehold.region_code, facts).where(
                *self._filters(region_codes, None))
            if after is not None:
                query = query.where(StoredHousehold.id > after)
            rows = [(r[0], r[1], r[2]) for r in self.session.execute(
                query.order_by(StoredHousehold.id).limit(batch_size))]
            if rows:
                yield rows
            if len(rows) < batch_size:
                return
            after = rows[-1][0]

    def count(
        self, *, region_codes: Collection[str] | None = None, id_prefix: str | None = None
    ) -> int:
        query = select(func.count()).select_from(StoredHousehold)
        return self.session.scalar(query.where(*self._filters(region_codes, id_prefix))) or 0

    def region_codes(self) -> list[str]:
        """Every region code some stored household has, sorted (e.g. to expand a county's
        code into its villages' codes for a region filter)."""
        query = select(StoredHousehold.region_code).distinct().order_by(
            StoredHousehold.region_code
        )
        return list(self.session.scalars(query))

    @staticmethod
    def _filters(
        region_codes: Collection[str] | None, id_prefix: str | None
    ) -> list[ColumnElement[bool]]:
        filters = _in_regions(StoredHousehold.region_code, region_codes)
        if id_prefix:
            filters.append(StoredHousehold.id.startswith(id_prefix, autoescape=True))
        return filters


# --- determinations -------------------------------------------------------------------------


class DeterminationRepository(_Repository):
    """Recorded evaluations (append-only)."""

    def add(
        self,
        *,
        region_code: str,
        as_of: date,
        facts: Mapping[str, Any],
        versions: Sequence[VersionUsed],
        result: Mapping[str, Any],
        created_by: str,
        household_id: str | None = None,
        household_revision: int | None = None,
    ) -> DeterminationRecord:
        """Record a determination: the facts as evaluated, each version's id and content
        hash, and the result, so it can be replayed and must reproduce."""
        for i, ref in enumerate(versions):
            missing = sorted(set(VersionUsed.__required_keys__) - set(ref))
            if missing:
                raise ValueError(f"versions[{i}] lacks {', '.join(missing)}")
        record = DeterminationRecord(
            id=new_id(),
            household_id=household_id,
            household_revision=household_revision,
            region_code=region_code,
            as_of=as_of,
            # Copies: the caller's dicts may change after this call; the record must not.
            facts=copy.deepcopy(dict(facts)),
            versions=[dict(copy.deepcopy(ref)) for ref in versions],
            result=copy.deepcopy(dict(result)),
            created_at=self._clock(),
            created_by=created_by,
        )
        self.session.add(record)
        self._flush("determination")
        return record

    def get(self, determination_id: str) -> DeterminationRecord:
        record = self.session.get(DeterminationRecord, determination_id)
        if record is None:
            raise RowNotFound("determination", determination_id)
        return record

    def for_household(self, household_id: str) -> list[DeterminationRecord]:
        """A household's recorded determinations, oldest first."""
        return list(
            self.session.scalars(
                select(DeterminationRecord)
                .where(DeterminationRecord.household_id == household_id)
                .order_by(DeterminationRecord.created_at, DeterminationRecord.id)
            )
        )


class IdempotencyRepository(_Repository):
    """Keys of calls that created a record (``IdempotencyKey``)."""

    def find(self, actor: str, key: str) -> IdempotencyKey | None:
        return self.session.get(IdempotencyKey, (actor, key))

    def add(self, *, actor: str, key: str, operation: str, request_hash: str,
            object_id: str) -> IdempotencyKey:
        """Remember a key; a concurrent call with the same key makes the commit fail with
        ``ConflictError`` (the primary key), and the caller reads the winner's."""
        row = IdempotencyKey(actor=actor, key=key, operation=operation,
                             request_hash=request_hash, object_id=object_id,
                             created_at=self._clock())
        self.session.add(row)
        return row


# --- audit log ------------------------------------------------------------------------------


class AuditLog(_Repository):
    """Who did what, when (append-only). The use case that knows *why* appends the entry, in
    the same unit of work as the change it describes."""

    def append(
        self,
        *,
        actor: str,
        action: str,
        object_type: str,
        object_id: str,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append an entry, chained to the one before it (``store.audit_chain``). Appends are
        serialised until the transaction ends (PostgreSQL: an advisory lock; SQLite: its
        write lock), so the chain follows the ids; append last in a use case."""
        at = self._clock()
        content = copy.deepcopy(dict(details or {}))
        prev = self._head()
        entry = AuditEntry(
            at=at, actor=actor, action=action, object_type=object_type, object_id=object_id,
            details=content, prev_hash=prev,
            entry_hash=digest(prev, at, actor, action, object_type, object_id, content),
        )
        self.session.add(entry)
        self._flush("audit entry")
        return entry

    def _head(self) -> str:
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(select(func.pg_advisory_xact_lock(AUDIT_CHAIN_LOCK)))
        last = self.session.scalar(
            select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1))
        return last if last is not None else GENESIS

    @staticmethod
    def _where(
        *,
        action: str | None = None,
        actor: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        actor_login: str | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if actor_login is not None:
            where.append(or_(AuditEntry.actor == actor_login,
                             AuditEntry.actor.endswith(":" + actor_login, autoescape=True)))
        if since is not None:
            where.append(AuditEntry.at >= datetime.combine(since, time(0), tzinfo=UTC))
        if until is not None:
            where.append(AuditEntry.at < datetime.combine(until + timedelta(days=1), time(0),
                                                          tzinfo=UTC))
        for column, value in (
            (AuditEntry.action, action),
            (AuditEntry.actor, actor),
            (AuditEntry.object_type, object_type),
            (AuditEntry.object_id, object_id),
        ):
            if value is not None:
                where.append(column == value)
        return where

    def page(
        self,
        first: int,
        after: str | None = None,
        *,
        action: str | None = None,
        actor: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        actor_login: str | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> Page[AuditEntry]:
        """Entries newest first, ``first`` at a time, after the cursor ``after``.
        ``actor_login`` matches every role the user acted in ("role:login"); ``since`` and
        ``until`` are UTC days, both included."""
        check_page_size(first)
        query = select(AuditEntry).where(*self._where(
            action=action, actor=actor, object_type=object_type, object_id=object_id,
            actor_login=actor_login, since=since, until=until))
        if after is not None:
            (last_id,) = decode_cursor(after, 1)
            query = query.where(AuditEntry.id < int(last_id))
        rows = self.session.scalars(query.order_by(AuditEntry.id.desc()).limit(first + 1)).all()
        return _page(rows, first, lambda e: encode_cursor(e.id))

    def window(self, *, first: int | None, after: str | None, last: int | None,
               before: str | None, **where: Any) -> tuple[Page[AuditEntry], int]:
        """Entries newest first as a Relay connection pages them (``keyset_window``), with
        how many match in all; ``where`` as ``page`` takes it."""
        filters = self._where(**where)
        page = keyset_window(self.session, AuditEntry, [AuditEntry.id], filters,
                             lambda c: (_int_key(decode_cursor(c, 1)[0]),),
                             lambda e: encode_cursor(e.id),
                             first=first, after=after, last=last, before=before,
                             descending=True)
        total = self.session.scalar(select(func.count()).select_from(AuditEntry)
                                    .where(*filters)) or 0
        return page, total


# --- API tokens -----------------------------------------------------------------------------

TOKEN_PREFIX = "pe_"


def hash_token(token: str) -> str:
    """The sha256 (hex) stored in place of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


class SecretRepository(_Repository):
    """Keys the installation generates once and keeps."""

    def get_or_create(self, name: str) -> str:
        """The secret called ``name``, made (random, 256 bits) on first use; two processes
        asking at once get the same one."""
        insert_unless_exists(
            self.session, InstallationSecret,
            {"name": name, "value": secrets.token_hex(32), "created_at": self._clock()},
            ["name"],
        )
        return str(self.session.scalars(
            select(InstallationSecret.value).where(InstallationSecret.name == name)).one())


class UserRepository(_Repository):
    """People, one per normalised login."""

    def get_or_create(self, name: str) -> User:
        """The user whose login ``name`` normalises to, created on first use (``InvalidLogin``
        when it cannot be a login). Two calls racing on one new login make one user."""
        login = normalise_login(name)
        insert_unless_exists(
            self.session, User,
            {"id": new_id(), "login": login, "display_name": name.strip()[:100],
             "created_at": self._clock()},
            ["login"],
        )
        return self.session.scalars(
            select(User).where(User.login == login).execution_options(populate_existing=True)
        ).one()

    def find(self, name: str) -> User | None:
        """The user of that login (any spelling of it), or None."""
        return self.session.scalars(
            select(User).where(User.login == normalise_login(name))
        ).one_or_none()

    def get(self, user_id: str) -> User:
        user = self.session.get(User, user_id)
        if user is None:
            raise RowNotFound("user", user_id)
        return user


class TokenRepository(_Repository):
    """Bearer tokens. The plain token exists only in ``create``'s answer; the table holds its
    sha256, so a leaked database does not leak working tokens."""

    def create(
        self,
        *,
        name: str,
        role: Role,
        regions: Collection[str] = (),
        department: str | None = None,
        expires_at: datetime | None = None,
    ) -> IssuedToken:
        """A new token for the user ``name`` names (created if new; ``InvalidLogin`` when
        the name cannot be a login)."""
        user = UserRepository(self.session, self._clock).get_or_create(name)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        record = ApiToken(
            id=new_id(), user_id=user.id, name=user.login, role=Role(role),
            regions=sorted(set(regions)), department=department, token_hash=hash_token(token),
            created_at=self._clock(), expires_at=expires_at,
        )
        self.session.add(record)
        self._flush(f"token of {user.login!r}")
        return IssuedToken(record, token)

    def lookup(self, token: str, now: datetime | None = None) -> tuple[ApiToken, User] | None:
        """The token's record and user, or None for an unknown, revoked or expired token."""
        row = self.session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == hash_token(token))
        ).one_or_none()
        if row is None:
            return None
        record, user = row
        return (record, user) if record.active_at(now or self._clock()) else None

    def get(self, token_id: str) -> ApiToken:
        record = self.session.get(ApiToken, token_id)
        if record is None:
            raise RowNotFound("token", token_id)
        return record

    def list_tokens(
        self, *, include_inactive: bool = False, now: datetime | None = None
    ) -> list[tuple[ApiToken, User]]:
        """Tokens with their users, oldest first; only active ones unless
        ``include_inactive``."""
        query = select(ApiToken, User).join(User, User.id == ApiToken.user_id)
        if not include_inactive:
            moment = now or self._clock()
            query = query.where(
                ApiToken.revoked_at.is_(None),
                or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > moment),
            )
        rows = self.session.execute(query.order_by(ApiToken.created_at, ApiToken.id)).all()
        return [(token, user) for token, user in rows]

    def revoke(self, token_id: str) -> ApiToken:
        """Revoke a token (revoking it again keeps the first revocation time)."""
        record = self.get(token_id)
        if record.revoked_at is None:
            record.revoked_at = self._clock()
            self._flush(f"token {token_id}")
        return record


# --- early warning --------------------------------------------------------------------------


class EventRow(TypedDict):
    """An event to store (the columns a feed's event fills)."""

    idempotency_key: str
    source: str
    kind: str
    household_id: str
    member_id: str | None
    occurred_on: date
    payload: dict[str, Any]


class WindowRow(NamedTuple):
    """A stored event as correlation reads it (``EventRepository.window_rows``)."""

    id: str
    idempotency_key: str
    source: str
    kind: str
    household_id: str
    member_id: str | None
    occurred_on: date
    payload: dict[str, Any]


def _json_loads(text: str) -> Any:
    """JSON text read by orjson; what orjson refuses (an integer beyond 64 bits) by json."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class EventRepository(_Repository):
    """Department events, stored once per idempotency key."""

    def add(
        self,
        *,
        idempotency_key: str,
        source: str,
        kind: str,
        household_id: str,
        occurred_on: date,
        payload: Mapping[str, Any] | None = None,
        member_id: str | None = None,
    ) -> Upserted[Event]:
        """Store an event unless its key was seen before. A replay of the same event returns
        the stored one (``created`` False); the same key with other content is a
        ``ConflictError``, since one of the two senders is wrong."""
        content: dict[str, Any] = {
            "source": source, "kind": kind, "household_id": household_id,
            "member_id": member_id, "occurred_on": occurred_on,
            "payload": copy.deepcopy(dict(payload or {})),
        }
        created = insert_unless_exists(
            self.session, Event,
            {"id": new_id(), "idempotency_key": idempotency_key, "received_at": self._clock(),
             **content},
            ["idempotency_key"],
        )
        event = self.session.scalars(
            select(Event)
            .where(Event.idempotency_key == idempotency_key)
            .execution_options(populate_existing=True)
        ).one()
        if not created:
            differing = sorted(k for k, v in content.items() if getattr(event, k) != v)
            if differing:
                raise ConflictError(
                    f"idempotency key {idempotency_key!r} was used for another event "
                    f"(differs in {', '.join(differing)})"
                )
        return Upserted(event, created)

    def add_many(self, rows: Sequence[EventRow]) -> tuple[set[str], dict[str, list[str]]]:
        """Store many events in one statement, each unless its key was seen before. Returns
        the keys stored now, and for each key already stored with *other* content, the
        columns that differ (the event is not stored again). Keys must be distinct."""
        if not rows:
            return set(), {}
        now = self._clock()
        created: set[str] = set()
        for chunk in _chunks(rows, 500):
            # The rows are written out as the statement's parameters (no object keeps them).
            created |= set(insert_many_unless_exist(
                self.session, Event,
                [{"id": new_id(), "received_at": now, "correlated_at": None, **r}
                 for r in chunk],
                ["idempotency_key"],
            ))
        seen = [r for r in rows if r["idempotency_key"] not in created]
        conflicts: dict[str, list[str]] = {}
        for chunk in _chunks(seen, 500):
            stored = {e.idempotency_key: e for e in self.session.scalars(
                select(Event).where(Event.idempotency_key.in_(
                    [r["idempotency_key"] for r in chunk])))}
            for r in chunk:
                e = stored[r["idempotency_key"]]
                differing = sorted(k for k, v in r.items() if getattr(e, k) != v)
                if differing:
                    conflicts[r["idempotency_key"]] = differing
        return created, conflicts

    def get(self, event_id: str) -> Event:
        event = self.session.get(Event, event_id)
        if event is None:
            raise RowNotFound("event", event_id)
        return event

    def by_keys(self, keys: Collection[str]) -> list[Event]:
        """The events of these idempotency keys (those stored), oldest first."""
        out: list[Event] = []
        for chunk in _chunks(sorted(set(keys)), 500):
            out.extend(self.session.scalars(
                select(Event).where(Event.idempotency_key.in_(chunk))))
        return sorted(out, key=lambda e: (e.occurred_on, e.idempotency_key))

    def for_household(self, household_id: str, *, since: date, until: date) -> list[Event]:
        """A household's events that occurred from ``since`` to ``until`` (both included),
        in order of occurrence: the window the early-warning rules look at."""
        return list(
            self.session.scalars(
                select(Event)
                .where(
                    Event.household_id == household_id,
                    Event.occurred_on >= since,
                    Event.occurred_on <= until,
                )
                .order_by(Event.occurred_on, Event.received_at, Event.id)
            )
        )

    def for_households(self, since: Mapping[str, date]) -> dict[str, list[Event]]:
        """For each household, its events that occurred on or after its date in ``since``,
        in order of occurrence (then key)."""
        out: dict[str, list[Event]] = {h: [] for h in since}
        if not since:
            return out
        earliest = min(since.values())
        for chunk in _chunks(sorted(since), 500):
            for e in self.session.scalars(
                select(Event).where(Event.household_id.in_(chunk),
                                    Event.occurred_on >= earliest)
            ):
                if e.occurred_on >= since[e.household_id]:
                    out[e.household_id].append(e)
        for events in out.values():
            events.sort(key=lambda e: (e.occurred_on, e.idempotency_key))
        return out

    def pending_rows(self, household_ids: Collection[str]) -> list[Any]:
        """(id, household_id, occurred_on) of the uncorrelated events of these households:
        plain rows, no ORM objects (correlation reads thousands)."""
        out: list[Any] = []
        for among in _among(self.session, Event.household_id, household_ids):
            out.extend(self.session.connection().execute(
                select(Event.id, Event.household_id, Event.occurred_on)
                .where(Event.correlated_at.is_(None), among)))
        return out

    def window_rows(self, since: Mapping[str, date], *,
                    every_kind_from: Mapping[str, date] | None = None,
                    kinds: Collection[str] = ()) -> dict[str, list[WindowRow]]:
        """For each household, (id, idempotency_key, source, kind, household_id, member_id,
        occurred_on, payload) of its events on or after its date in ``since``, by date; with
        ``every_kind_from``, those before the household's date there only of ``kinds``."""
        out: dict[str, list[WindowRow]] = {h: [] for h in since}
        if not since:
            return out
        earliest = min(since.values())
        where: list[ColumnElement[bool]] = [Event.occurred_on >= earliest]
        if every_kind_from is not None:
            where.append(or_(Event.occurred_on >= min(every_kind_from.values()),
                             Event.kind.in_(sorted(kinds))))
        # The payload as its JSON text, parsed here: small objects, which orjson reads several
        # times as fast as the driver's json.loads.
        payload: ColumnElement[str] = (
            cast(Event.payload, Text) if self.session.get_bind().dialect.name == "postgresql"
            else type_coerce(Event.payload, Text))
        connection = self.session.connection()
        for among in _among(self.session, Event.household_id, since):
            for (id_, key, source, kind, household_id, member_id, occurred_on,
                 text) in connection.execute(
                    select(Event.id, Event.idempotency_key, Event.source, Event.kind,
                           Event.household_id, Event.member_id, Event.occurred_on, payload)
                    .where(among, *where)).all():
                if occurred_on >= since[household_id] and (
                        every_kind_from is None or kind in kinds
                        or occurred_on >= every_kind_from[household_id]):
                    out[household_id].append(WindowRow(
                        id_, key, source, kind, household_id, member_id, occurred_on,
                        _json_loads(text)))
        for rows in out.values():
            rows.sort(key=lambda r: (r.occurred_on, r.idempotency_key))
        return out

    def pending(self, household_ids: Collection[str] | None = None, *,
                limit: int | None = None, known_only: bool = True) -> list[Event]:
        """Events not yet correlated (of these households, or all), oldest first; with
        ``known_only`` only those of households the store knows."""
        query = select(Event).where(Event.correlated_at.is_(None))
        if known_only:
            query = query.where(Event.household_id.in_(select(StoredHousehold.id)))
        if household_ids is not None:
            out: list[Event] = []
            for chunk in _chunks(sorted(set(household_ids)), 500):
                out.extend(self.session.scalars(query.where(Event.household_id.in_(chunk))))
            return sorted(out, key=lambda e: (e.received_at, e.id))
        query = query.order_by(Event.received_at, Event.id)
        if limit is not None:
            query = query.limit(limit)
        return list(self.session.scalars(query))

    def count_pending(self, *, known_only: bool = True) -> int:
        query = select(func.count()).select_from(Event).where(Event.correlated_at.is_(None))
        if known_only:
            query = query.where(Event.household_id.in_(select(StoredHousehold.id)))
        return self.session.scalar(query) or 0

    def mark_correlated(self, event_ids: Collection[str]) -> None:
        """Record that these events' households' alerts are up to date with them."""
        now = self._clock()
        for among in _among(self.session, Event.id, event_ids):
            self.session.execute(
                update(Event).where(among).values(correlated_at=now)
                .execution_options(synchronize_session=False))


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _among(session: Session, column: Any, values: Collection[str]) -> Iterator[Any]:
    """``column IN values`` in as few statements as the database allows: on PostgreSQL one
    ``column = ANY(%s)`` with the values as one array parameter (the same short statement
    text whatever their number, so the driver does not parse thousands of placeholders
    again for every batch); elsewhere chunks of 500. Nothing for no values."""
    items = sorted(set(values))
    if not items:
        return
    if session.get_bind().dialect.name == "postgresql":
        yield column == any_(bindparam(None, items, type_=ARRAY(String)))
        return
    for chunk in _chunks(items, 500):
        yield column.in_(chunk)


class AlertCounts(NamedTuple):
    """How many alerts there are, by status and by rule."""

    by_status: dict[str, int]
    by_rule: dict[str, int]


class AlertUpsert(NamedTuple):
    """An alert to raise, or to add evidence to (see ``AlertRepository.upsert``)."""

    household_id: str
    region_code: str
    rule: str
    cause: str
    explanation: Mapping[str, Any]
    event_ids: Sequence[str]
    member_id: str | None
    replace_explanation: Callable[[Mapping[str, Any]], bool] | None = None


class AlertRow(NamedTuple):
    """An alert's columns as ``AlertRepository.upsert_many`` wrote or read them."""

    id: str
    household_id: str
    rule: str
    cause: str
    region_code: str
    status: AlertStatus
    member_id: str | None
    explanation: Mapping[str, Any]
    event_ids: list[str]
    created_at: datetime
    updated_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_note: str | None


class AlertRepository(_Repository):
    """Early-warning alerts, one per (household, alert rule, cause)."""

    def upsert_many(self, items: Sequence[AlertUpsert], *, order_keys: Sequence[str] = ()
                    ) -> list[tuple[Upserted[AlertRow], bool]]:
        """``upsert`` for many alerts in a few statements (no ORM objects): each as the row now
        stored, with whether it changed. The explanations are handed over (not copied): the
        caller builds them for this call. Keys must be distinct.

        ``order_keys`` names the top-level keys of an explanation that ``replace_explanation``
        reads: of a stored explanation only those are read back (a mapping without the keys
        whose value is null), and the whole of it only where it is kept or where those keys
        hold the same values as the new one's (where they differ, so do the explanations).
        Without ``order_keys`` the whole stored explanation is read."""
        if not items:
            return []
        now = self._clock()
        unique = ["household_id", "rule", "cause"]
        keys = [(i.household_id, i.rule, i.cause) for i in items]
        # The stored alerts are read and locked first, so only the new ones are sent.
        stored = self._locked(set(keys), order_keys)
        rows: dict[tuple[str, str, str], dict[str, Any]] = {
            k: {"id": new_id(), "household_id": i.household_id, "rule": i.rule,
                "cause": i.cause, "region_code": i.region_code, "status": AlertStatus.OPEN,
                "member_id": i.member_id, "explanation": dict(i.explanation),
                "event_ids": list(dict.fromkeys(i.event_ids)), "created_at": now,
                "updated_at": now}
            for k, i in zip(keys, items, strict=True) if k not in stored}
        created: set[tuple[str, str, str]] = set()
        for part in _chunks(list(rows.values()), 500):
            created.update(insert_many_unless_exist(self.session, Alert, part, unique,
                                                    returning=unique))
        if len(created) < len(rows):  # raised meanwhile by another transaction
            stored.update(self._locked(set(rows) - created, order_keys))
        decided: dict[tuple[str, str, str], bool] = {}  # replace?, where known from order
        whole: set[str] = set()  # alerts whose whole stored explanation is needed
        for k, i in zip(keys, items, strict=True):
            if k in created:
                continue
            if not order_keys:
                continue
            row = stored[k]
            partial = {key: row._mapping[f"order_{n}"] for n, key in enumerate(order_keys)
                       if row._mapping[f"order_{n}"] is not None}
            if i.replace_explanation is not None and not i.replace_explanation(partial):
                decided[k] = False
                whole.add(row.id)
            elif any(partial.get(key) != i.explanation.get(key) for key in order_keys):
                decided[k] = True  # a later firing: another explanation
            else:
                whole.add(row.id)
        explanations = self._explanations(whole) if order_keys else {}
        out: list[tuple[Upserted[AlertRow], bool]] = []
        updates: list[dict[str, Any]] = []
        replaced: list[dict[str, Any]] = []
        for k, i in zip(keys, items, strict=True):
            if k in created:
                r = rows[k]
                out.append((Upserted(AlertRow(**r, resolved_by=None, resolved_at=None,
                                              resolution_note=None), True), True))
                continue
            row = stored[k]
            explanation = row.explanation if not order_keys else explanations.get(row.id)
            merged = list(dict.fromkeys([*row.event_ids, *i.event_ids]))
            if k in decided:
                replace = decided[k]
            else:
                assert explanation is not None
                replace = (i.replace_explanation(explanation)
                           if i.replace_explanation is not None else True) and (
                    explanation != dict(i.explanation) or row.member_id != i.member_id)
            changed = merged != row.event_ids or replace
            member_id = row.member_id
            updated_at = row.updated_at
            if changed:
                updated_at = now
                if replace:  # the member goes with the explanation (the same firing)
                    explanation = dict(i.explanation)
                    member_id = i.member_id
                    replaced.append({"b_id": row.id, "event_ids": merged,
                                     "explanation": explanation, "member_id": member_id,
                                     "updated_at": now})
                else:
                    updates.append({"b_id": row.id, "event_ids": merged, "updated_at": now})
            assert explanation is not None
            out.append((Upserted(AlertRow(
                id=row.id, household_id=row.household_id, rule=row.rule, cause=row.cause,
                region_code=row.region_code, status=row.status, member_id=member_id,
                explanation=explanation, event_ids=merged,
                created_at=row.created_at, updated_at=updated_at, resolved_by=row.resolved_by,
                resolved_at=row.resolved_at, resolution_note=row.resolution_note), False),
                changed))
        table = Alert.__table__
        assert isinstance(table, Table)
        connection = self.session.connection()
        if replaced:
            connection.execute(
                update(table).where(table.c.id == bindparam("b_id"))
                .values(event_ids=bindparam("event_ids"), explanation=bindparam("explanation"),
                        member_id=bindparam("member_id"), updated_at=bindparam("updated_at")),
                replaced)
        if updates:
            connection.execute(
                update(table).where(table.c.id == bindparam("b_id"))
                .values(event_ids=bindparam("event_ids"), updated_at=bindparam("updated_at")),
                updates)
        return out

    def _locked(self, keys: Collection[tuple[str, str, str]],
                order_keys: Sequence[str]) -> dict[tuple[str, str, str], Any]:
        """The stored alerts of these keys, locked (FOR UPDATE) until the transaction ends:
        their columns, with the values of ``order_keys`` in the explanation (``order_0``,
        ``order_1`` ...) or, without ``order_keys``, the whole explanation."""
        if not keys:
            return {}
        columns: list[Any] = [
            Alert.id, Alert.household_id, Alert.rule, Alert.cause, Alert.region_code,
            Alert.member_id, Alert.status, Alert.event_ids, Alert.created_at,
            Alert.updated_at, Alert.resolved_by, Alert.resolved_at, Alert.resolution_note]
        columns += [Alert.explanation[k].label(f"order_{n}") for n, k in enumerate(order_keys)
                    ] if order_keys else [Alert.explanation]
        out: dict[tuple[str, str, str], Any] = {}
        connection = self.session.connection()
        for among in _among(self.session, Alert.household_id, {h for h, _, _ in keys}):
            for row in connection.execute(select(*columns).where(among).with_for_update()
                                          ).all():
                key = (row.household_id, row.rule, row.cause)
                if key in keys:
                    out[key] = row
        return out

    def _explanations(self, alert_ids: Collection[str]) -> dict[str, Any]:
        """The whole stored explanations of these alerts, by id."""
        out: dict[str, Any] = {}
        connection = self.session.connection()
        for among in _among(self.session, Alert.id, alert_ids):
            out.update((i, x) for i, x in connection.execute(
                select(Alert.id, Alert.explanation).where(among)).all())
        return out

    def upsert(
        self,
        *,
        household_id: str,
        region_code: str,
        rule: str,
        cause: str,
        explanation: Mapping[str, Any],
        event_ids: Sequence[str] = (),
        member_id: str | None = None,
        replace_explanation: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> Upserted[Alert]:
        """Raise an alert, or, when it is already raised, add the new evidence to it
        (``created`` False). The status is left alone: a dismissed alert stays dismissed
        when the same cause is seen again. The stored explanation is replaced when
        ``replace_explanation(stored)`` says so (always, without it)."""
        now = self._clock()
        key = {"household_id": household_id, "rule": rule, "cause": cause}
        created = insert_unless_exists(
            self.session, Alert,
            {"id": new_id(), **key, "region_code": region_code, "status": AlertStatus.OPEN,
             "member_id": member_id, "explanation": copy.deepcopy(dict(explanation)),
             "event_ids": list(dict.fromkeys(event_ids)), "created_at": now, "updated_at": now},
            list(key),
        )
        alert = self.session.scalars(
            select(Alert)
            .where(Alert.household_id == household_id, Alert.rule == rule, Alert.cause == cause)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        if not created:
            merged = list(dict.fromkeys([*alert.event_ids, *event_ids]))
            replace = (replace_explanation(alert.explanation) if replace_explanation is not None
                       else True) and (alert.explanation != dict(explanation)
                                       or alert.member_id != member_id)
            if merged != alert.event_ids or replace:
                alert.event_ids = merged
                if replace:  # the member goes with the explanation (the same firing)
                    alert.explanation = copy.deepcopy(dict(explanation))
                    alert.member_id = member_id
                alert.updated_at = now
                self._flush(f"alert {alert.id}")
        return Upserted(alert, created)

    def get(self, alert_id: str) -> Alert:
        alert = self.session.get(Alert, alert_id)
        if alert is None:
            raise RowNotFound("alert", alert_id)
        return alert

    def find(self, alert_id: str) -> Alert | None:
        return self.session.get(Alert, alert_id)

    def _filtered(
        self, query: Any, *, status: AlertStatus | None, region_codes: Collection[str] | None,
        household_id: str | None, rule: str | None, since: datetime | None,
    ) -> Any:
        if status is not None:
            query = query.where(Alert.status == AlertStatus(status))
        query = query.where(*_in_regions(Alert.region_code, region_codes))
        if household_id is not None:
            query = query.where(Alert.household_id == household_id)
        if rule is not None:
            query = query.where(Alert.rule == rule)
        if since is not None:
            query = query.where(Alert.created_at >= since)
        return query

    def page(
        self,
        first: int,
        after: str | None = None,
        *,
        status: AlertStatus | None = None,
        region_codes: Collection[str] | None = None,
        household_id: str | None = None,
        rule: str | None = None,
        since: datetime | None = None,
    ) -> Page[Alert]:
        """Alerts newest first, ``first`` at a time, after the cursor ``after``."""
        check_page_size(first)
        query = self._filtered(select(Alert), status=status, region_codes=region_codes,
                               household_id=household_id, rule=rule, since=since)
        if after is not None:
            created_text, last_id = decode_cursor(after, 2)
            created = _parse_timestamp(str(created_text), after)
            query = query.where(
                or_(
                    Alert.created_at < created,
                    and_(Alert.created_at == created, Alert.id < str(last_id)),
                )
            )
        rows = self.session.scalars(
            query.order_by(Alert.created_at.desc(), Alert.id.desc()).limit(first + 1)
        ).all()
        return _page(rows, first, lambda a: encode_cursor(a.created_at.isoformat(), a.id))

    def window(
        self,
        *,
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
        status: AlertStatus | None = None,
        region_codes: Collection[str] | None = None,
        household_id: str | None = None,
        rule: str | None = None,
        since: datetime | None = None,
    ) -> Page[Alert]:
        """Alerts newest first as a Relay connection pages them (``keyset_window``)."""
        query = self._filtered(select(Alert), status=status, region_codes=region_codes,
                               household_id=household_id, rule=rule, since=since)
        filters = [query.whereclause] if query.whereclause is not None else []

        def decode(cursor: str) -> tuple[Any, ...]:
            created_text, last_id = decode_cursor(cursor, 2)
            return _parse_timestamp(str(created_text), cursor), str(last_id)

        return keyset_window(self.session, Alert, [Alert.created_at, Alert.id], filters, decode,
                             lambda a: encode_cursor(a.created_at.isoformat(), a.id),
                             first=first, after=after, last=last, before=before,
                             descending=True)

    def count(
        self,
        *,
        status: AlertStatus | None = None,
        region_codes: Collection[str] | None = None,
        household_id: str | None = None,
        rule: str | None = None,
        since: datetime | None = None,
    ) -> int:
        query = self._filtered(select(func.count()).select_from(Alert), status=status,
                               region_codes=region_codes, household_id=household_id,
                               rule=rule, since=since)
        return int(self.session.scalar(query) or 0)

    def counts(self, *, region_codes: Collection[str] | None = None) -> AlertCounts:
        """The number of alerts by status and by rule (of these regions, or all)."""
        where = _in_regions(Alert.region_code, region_codes)
        by_status = {str(s.value if isinstance(s, AlertStatus) else s): int(n)
                     for s, n in self.session.execute(
                         select(Alert.status, func.count()).where(*where)
                         .group_by(Alert.status))}
        by_rule = {str(r): int(n) for r, n in self.session.execute(
            select(Alert.rule, func.count()).where(*where).group_by(Alert.rule))}
        return AlertCounts(by_status, by_rule)

    def created_since(self, since: datetime, *, region_codes: Collection[str] | None = None,
                      limit: int = 500) -> list[Alert]:
        """Alerts raised at or after ``since``, oldest first (for pushing them)."""
        query = select(Alert).where(Alert.created_at >= since,
                                    *_in_regions(Alert.region_code, region_codes))
        return list(self.session.scalars(
            query.order_by(Alert.created_at, Alert.id).limit(limit)))


def _parse_timestamp(text: str, cursor: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidCursor(f"not a cursor this store handed out: {cursor!r}") from None
    if value.tzinfo is None:
        raise InvalidCursor(f"not a cursor this store handed out: {cursor!r}")
    return value
