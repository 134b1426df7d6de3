"""The application: use cases over the store's unit of work and the engine.

One ``Application`` per process. It owns the database engine, the catalog of rule-set versions
(compiled once per content hash, rebuilt when a version changes), and the authorization policy.
Each use case opens one unit of work, so every write is one transaction.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import Engine, text

from engine.determine import determine
from engine.results import Determination, determination_json
from policy.catalog import Catalog, UnknownProgram, VersionRecord, VersionRef
from policy.document import Program, compile_document, load_document
from policy.errors import DocumentInvalid, FactsInvalid, FieldError
from policy.facts import Household, parse_household
from services import integrity
from services.assistance import Assistance
from services.auth import Policy, Principal, covered_codes, in_region
from services.cases import MonitoringCases, parse_household_input
from services.config import Settings
from services.early_warning import EarlyWarning
from services.editing import RuleSetEditing
from services.errors import Conflict, IntegrityFailure, InvalidInput, NotFoundError
from services.impact_jobs import ImpactJobs
from services.impact_pool import ImpactPool
from services.rulesets import FIXTURES, document_files, load_file, version_id
from services.tokens import TokenCache
from services.tokens import Tokens as Tokens  # where callers have always found it
from services.visits import Visits
from services.webhooks import Webhooks
from store import db
from store.errors import ConflictError, InvalidCursor, RowNotFound
from store.models import DeterminationRecord, RuleSetVersion, StoredHousehold
from store.pagination import Page, decode_cursor
from store.uow import UnitOfWork

T = TypeVar("T")


def _fingerprint(data: Mapping[str, Any]) -> bytes:
    """The facts as canonical JSON (keys sorted), the key of a remembered determination."""
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS, default=str)
    except TypeError:  # e.g. an integer beyond 64 bits: slower, same canonical form
        return json.dumps(data, sort_keys=True, ensure_ascii=False, default=str,
                          separators=(",", ":")).encode()


class Recent(Generic[T]):
    """A small least-recently-used map (thread-safe: one lock around each operation)."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> T | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self.hits += 1
            self._items.move_to_end(key)
            return item

    def put(self, key: Hashable, value: T) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


@dataclass(frozen=True)
class RuleSetView:
    code: str
    title_zh: str
    title_en: str
    owner: str
    versions: tuple[VersionRef, ...]


@dataclass(frozen=True)
class HouseholdView:
    id: str
    region_code: str
    revision: int
    facts: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True)
class RecordView:
    id: str
    household_id: str | None
    household_revision: int | None
    region_code: str
    as_of: date
    created_at: datetime
    created_by: str
    versions: tuple[VersionRef, ...]
    result: dict[str, Any]
    facts: dict[str, Any]


@dataclass(frozen=True)
class BatchItem:
    """One household of ``evaluate_many``: the caller's key, the facts and the date."""

    key: str
    facts: Mapping[str, Any] | None  # None: the item gave no facts (or two sets of them)
    as_of: date
    argument: str = "household"  # the item's field that held the facts, for field paths


@dataclass(frozen=True)
class BatchResult:
    """One item's answer: its determination, or its own errors (field paths from the call's
    arguments, e.g. ``items[3].facts.members[1].birthDate``)."""

    key: str
    determination: Determination | None
    errors: tuple[FieldError, ...]


@dataclass(frozen=True)
class Replay:
    determination: Determination
    identical: bool


class Application:
    def __init__(self, settings: Settings, engine: Engine | None = None):
        self.settings = settings
        self.engine = engine or db.make_engine(settings.database_url)
        # a child process can open the same database only from the URL
        self.impacts = ImpactPool(self, enabled=engine is None)
        self.impact_jobs = ImpactJobs(self)
        self.policy = Policy(dev=settings.dev)
        self.token_cache = TokenCache()  # what the tokens this process has seen stand for
        self._catalog: Catalog | None = None
        self._catalog_stamp: tuple[int, int] | None = None
        self._programs: dict[str, Program] = {}
        self._lock = threading.Lock()
        self._recent: Recent[Determination] = Recent(settings.determination_cache_size)
        self._refused: frozenset[str] = frozenset()  # versions failing their integrity check
        self.editing = RuleSetEditing(self)  # drafts, review and publication
        self.warning = EarlyWarning(self)  # department events and alerts
        self.webhooks = Webhooks(self)  # alerts pushed to api_clients
        self.cases = MonitoringCases(self)  # monitoring cases
        self.visits = Visits(self)  # cadres' visits and households' timelines
        self.assistance = Assistance(self)  # measures against a monitoring object's risks

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, migrate: bool = True) -> None:
        """Migrate the database and, if it is empty, seed it from fixtures/ (``migrate``
        False: a worker process whose parent did both), then load the catalog."""
        if migrate:
            # A service that runs as a role owning nothing cannot migrate; it need not when
            # the owner already has (policy-engine migrate).
            if not db.is_up_to_date(self.engine):
                db.migrate(self.engine)
            if self.settings.seed_fixtures:
                self.seed(FIXTURES)
        self.catalog()
        if self.settings.correlate_on_start:
            # Events stored before a crash but never correlated lose nothing.
            self.warning.correlate_pending()

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine)

    def ready(self) -> tuple[bool, str]:
        """Database reachable and rule sets loaded."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            return False, f"database unreachable: {type(exc).__name__}"
        catalog = self._catalog
        if catalog is None or not catalog.programs():
            return False, "rule sets not loaded"
        return True, f"{len(catalog.programs())} programs"

    def seed(self, fixtures: Path) -> None:
        with self.uow() as uow:
            if uow.rule_sets.list_rule_sets():
                return
            for path in document_files(fixtures / "rulesets"):
                program = load_file(path)
                doc = program.document
                try:
                    uow.rule_sets.get_rule_set(doc.program)
                except RowNotFound:
                    uow.rule_sets.add_rule_set(doc.program, title_zh=doc.title.zh,
                                               title_en=doc.title.en, owner=doc.owner)
                version = uow.rule_sets.add_version(
                    doc, author="fixtures", version_id=version_id(doc.program, doc.version))
                if doc.effectiveFrom is not None:
                    version.submit(by="fixtures", at=uow.now())
                    version.publish(by="fixtures", at=uow.now(), effective_from=doc.effectiveFrom)
                uow.audit.append(actor="system:fixtures", action="ruleset.seed",
                                 object_type="rule_set_version", object_id=version.id,
                                 details={"contentHash": version.content_hash,
                                          "effectiveFrom": doc.effectiveFrom.isoformat()
                                          if doc.effectiveFrom is not None else None})
            today = uow.now().date()
            for path in sorted((fixtures / "households").glob("*.json")):
                household = parse_household(json.loads(path.read_text(encoding="utf-8")), today)
                uow.households.save(household, by="system:fixtures")
                uow.audit.append(actor="system:fixtures", action="household.seed",
                                 object_type="household", object_id=household.id)
            uow.commit()
        self.invalidate()

    # -- the catalog -----------------------------------------------------------------------

    def invalidate(self) -> None:
        with self._lock:
            self._catalog = None

    def program(self, version: RuleSetVersion) -> Program:
        """A stored version compiled (once per content hash)."""
        program = self._programs.get(version.content_hash)
        if program is None:
            program = compile_document(load_document(dict(version.document)))
            if program.content_hash != version.content_hash:
                raise RuntimeError(f"stored version {version.id} does not hash to its "
                                   f"recorded contentHash")
            self._programs[version.content_hash] = program
        return program

    def _stamp(self) -> tuple[int, int]:
        """What the stored versions look like, in one small query: their number and the sum
        of their revisions (every change of a version bumps its revision). Another process
        (``serve --workers N``) that adds, edits, submits, publishes or retires a version
        changes it, so every process sees every change on its next request."""
        count, total = db.read_row(
            self.engine, "SELECT count(*), coalesce(sum(revision), 0) FROM rule_set_versions")
        return int(count), int(total)

    def catalog(self) -> Catalog:
        stamp = self._stamp()
        with self._lock:
            if self._catalog is None or self._catalog_stamp != stamp:
                with self.uow() as uow:
                    records = []
                    refused: set[str] = set()
                    for rule_set in uow.rule_sets.list_rule_sets():
                        for v in uow.rule_sets.list_versions(rule_set.code):
                            # Every stored document is hashed again on every load; one that
                            # no longer matches keeps its place in time but is not served.
                            holds = integrity.stored_hash_holds(v)
                            try:
                                program = self.program(v) if holds else compile_document(
                                    load_document(dict(v.document)))
                            except DocumentInvalid:
                                if v.frozen and holds:
                                    raise
                                continue  # a draft being edited need not compile yet
                            if not holds:
                                refused.add(v.id)
                            records.append(VersionRecord(v.id, program, v.status.value,
                                                         v.effective_from))
                self._catalog = Catalog(records)
                self._catalog_stamp = stamp
                self._refused = frozenset(refused)
            return self._catalog

    # -- evaluation ------------------------------------------------------------------------

    def evaluate(
        self, principal: Principal, data: Mapping[str, Any], as_of: date,
        programs: Sequence[str] | None = None,
    ) -> Determination:
        """Evaluate facts that are not stored, under the versions in force on ``as_of``."""
        self.policy.evaluate(principal)
        return self._determine(data, as_of, programs)

    def evaluate_many(
        self, principal: Principal, items: Sequence[BatchItem],
        programs: Sequence[str] | None = None,
    ) -> list[BatchResult]:
        """Evaluate many households (not stored), each under the versions in force on its own
        ``as_of``: one result per item, in order. An item's invalid facts or repeated key are
        that item's errors; the others are evaluated all the same. What is wrong with the call
        as a whole (too many items, an unknown program) is an error of the call."""
        self.policy.evaluate(principal)
        limit = self.settings.max_batch_items
        if len(items) > limit:
            msg = f"at most {limit} items a call, got {len(items)}"
            raise InvalidInput(msg, [FieldError("items", "BATCH_TOO_LARGE", msg)],
                               code="BATCH_TOO_LARGE")
        # The stored versions are looked at once for the whole call, not once an item.
        catalog = self.catalog()
        if programs is not None:  # an unknown name is the call's error, not each item's
            try:
                catalog.in_force(items[0].as_of if items else date.min, programs)
            except UnknownProgram as exc:
                raise InvalidInput(str(exc), [FieldError("programs", "UNKNOWN_PROGRAM",
                                                         str(exc))],
                                   code="UNKNOWN_PROGRAM") from None
        seen: dict[str, int] = {}
        out: list[BatchResult] = []
        for i, item in enumerate(items):
            first = seen.setdefault(item.key, i)
            if first != i:
                msg = f"the key repeats that of items[{first}]"
                out.append(BatchResult(item.key, None, (
                    FieldError(f"items[{i}].key", "DUPLICATE_KEY", msg),)))
                continue
            if item.facts is None:
                out.append(BatchResult(item.key, None, (FieldError(
                    f"items[{i}].facts", "HOUSEHOLD_OR_FACTS", HOUSEHOLD_OR_FACTS),)))
                continue
            try:
                det = self._determine(item.facts, item.as_of, programs, catalog)
            except InvalidInput as exc:
                out.append(BatchResult(item.key, None, tuple(
                    FieldError(f"items[{i}].{renamed(e.field, item.argument)}", e.code,
                               e.message) for e in exc.errors)))
                continue
            out.append(BatchResult(item.key, det, ()))
        return out

    def _determine(self, data: Mapping[str, Any] | Household, as_of: date,
                   programs: Sequence[str] | None,
                   catalog: Catalog | None = None) -> Determination:
        try:
            versions = (catalog or self.catalog()).in_force(as_of, programs)
        except UnknownProgram as exc:
            raise InvalidInput(str(exc), [FieldError("programs", "UNKNOWN_PROGRAM", str(exc))],
                               code="UNKNOWN_PROGRAM") from None
        if self._refused:
            for _, ref in versions:
                if ref.id in self._refused:
                    raise IntegrityFailure(
                        f"{ref.rule_set} version {ref.version} failed its integrity check "
                        "(its stored document does not hash to its contentHash) and is not "
                        "served; an operator must run policy-engine verify")
        # A determination is a pure function of the facts, the date and the versions' content:
        # recent ones are remembered (the same household is often asked about again).
        key = None
        if not isinstance(data, Household):
            key = (_fingerprint(data), as_of, tuple(ref for _, ref in versions))
            hit = self._recent.get(key)
            if hit is not None:
                return hit
        try:
            det = determine(data, as_of, versions)
        except FactsInvalid as exc:
            raise InvalidInput(f"invalid household facts: {len(exc.errors)} problem(s)",
                               [FieldError(f"household.{e.field}", e.code, e.message)
                                for e in exc.errors], code="INVALID_FACTS") from None
        if key is not None:
            self._recent.put(key, det)
        return det

    # -- rule sets -------------------------------------------------------------------------

    def rule_sets(self, principal: Principal) -> list[RuleSetView]:
        self.policy.read_rule_sets(principal)
        catalog = self.catalog()
        drafts = self.policy.see_drafts(principal)
        with self.uow() as uow:
            out = []
            for rs in uow.rule_sets.list_rule_sets():
                refs = tuple(
                    catalog.ref(r) for r in catalog.records
                    if r.program.code == rs.code
                    and (drafts or r.status in ("PUBLISHED", "RETIRED"))
                )
                if drafts:  # drafts that do not compile yet are not in the catalog
                    known = {r.id for r in refs}
                    refs += tuple(
                        VersionRef(v.id, v.rule_set_code, v.version, v.status.value,
                                   v.effective_from, None, v.content_hash)
                        for v in uow.rule_sets.list_versions(rs.code) if v.id not in known)
                out.append(RuleSetView(rs.code, rs.title_zh, rs.title_en, rs.owner,
                                       tuple(sorted(refs, key=lambda v: v.version))))
        return out

    def rule_set(self, principal: Principal, code: str) -> RuleSetView | None:
        return next((r for r in self.rule_sets(principal) if r.code == code), None)

    def not_in_force(self, as_of: date, programs: Sequence[str] | None = None,
                     ) -> list[tuple[str, date | None]]:
        """The programs (all, or those named) with no version in force on ``as_of``, with the
        date the first takes effect: what an evaluation on ``as_of`` left out. Read from the
        catalog the evaluation just used (no second look at the database)."""
        catalog = self._catalog or self.catalog()
        return catalog.not_in_force(as_of, programs)

    def version_in_force(self, code: str, as_of: date) -> VersionRef | None:
        catalog = self.catalog()
        record = catalog.version_in_force(code, as_of)
        return catalog.ref(record) if record else None

    # -- households ------------------------------------------------------------------------

    def save_household(
        self, principal: Principal, data: Mapping[str, Any], today: date,
        expected_revision: int | None = None,
    ) -> HouseholdView:
        """Save a household's facts as its new revision. Checked in this order, so that no
        step tells a caller more than the one before allowed: the token and the role, the
        household's existence (another region's household is answered as one that does not
        exist, except that its id cannot be taken), the facts, the region they name."""
        self.policy.write_households(principal)
        hid = data.get("id")
        with self.uow() as uow:
            existing = uow.households.find(hid) if isinstance(hid, str) else None
            if existing is not None and not in_region(existing.region_code, principal.regions):
                if expected_revision:
                    raise _no_household(hid)
                msg = f"household id {hid!r} is already taken; choose another id"
                raise Conflict(msg, [FieldError("household.id", "ID_TAKEN", msg)],
                               code="ID_TAKEN")
            if existing is None and expected_revision:
                raise _no_household(hid)
            household = parse_household_input(data, today)
            self.policy.write_household(principal, household.regionCode)
            try:
                stored = uow.households.save(household, by=principal.actor,
                                             expected_revision=expected_revision)
                uow.audit.append(actor=principal.actor, action="household.save",
                                 object_type="household", object_id=stored.id,
                                 details={"revision": stored.revision})
                uow.commit()
            except ConflictError as exc:
                raise Conflict(str(exc), [FieldError("expectedRevision", "CONFLICT",
                                                     str(exc))]) from None
        # Events that arrived before the household was stored (or changed) are correlated now.
        self.warning.correlate([stored.id])
        return _household_view(stored)

    def _readable_household(self, principal: Principal, uow: UnitOfWork,
                            household_id: str) -> StoredHousehold:
        """The stored household if the caller may read it; another region's household is
        not acknowledged to exist (NotFound, as a missing one)."""
        stored = uow.households.find(household_id)
        if stored is None:
            self.policy.read_households(principal)
            raise NotFoundError(f"no household {household_id!r}")
        self.policy.read_household(principal, stored.region_code, "household", household_id)
        return stored

    def household(self, principal: Principal, household_id: str) -> HouseholdView:
        with self.uow() as uow:
            stored = self._readable_household(principal, uow, household_id)
            return _household_view(stored)

    def households(
        self, principal: Principal, first: int | None, after: str | None,
        region_codes: Sequence[str] | None = None, id_prefix: str | None = None,
        *, last: int | None = None, before: str | None = None,
    ) -> tuple[Page[HouseholdView], int]:
        """A page of the stored households the caller may read, by id, as a Relay connection
        pages them (``first``/``after`` forwards, ``last``/``before`` backwards), and how many
        there are in all."""
        self.policy.read_households(principal)
        self._check_window(first, after, last, before, "households", 1)
        with self.uow() as uow:
            expanded = self._listing_regions(principal, region_codes, uow)
            if expanded is not None and not expanded:
                return Page([], None, False), 0
            page: Page[StoredHousehold] = uow.households.window(
                first=first, after=after, last=last, before=before, region_codes=expanded,
                id_prefix=id_prefix)
            total = uow.households.count(region_codes=expanded, id_prefix=id_prefix)
            return Page([_household_view(h) for h in page.items], page.end_cursor,
                        page.has_next_page, page.has_previous_page, page.start_cursor), total

    def _check_window(self, first: int | None, after: str | None, last: int | None,
                      before: str | None, what: str, key_parts: int) -> None:
        """The arguments of a Relay connection's page of ``what``: one of first and last, each
        within bounds, and cursors (of ``key_parts`` sort keys) this listing wrote."""
        if first is None and last is None:
            msg = f"give first or last (how many {what} a page holds)"
            raise InvalidInput(msg, [FieldError("first", "PAGE_SIZE", msg)], code="PAGE_SIZE")
        if first is not None:
            self._check_first(first)
        if last is not None:
            self._check_first(last, "last")
        for name, cursor in (("after", after), ("before", before)):
            if cursor is not None:
                try:
                    decode_cursor(cursor, key_parts)
                except InvalidCursor as exc:
                    raise InvalidInput(str(exc), [FieldError(name, "INVALID_CURSOR", str(exc))],
                                       code="INVALID_CURSOR") from None

    def _listing_regions(self, principal: Principal, requested: Sequence[str] | None,
                         uow: UnitOfWork) -> list[str] | None:
        """The stored region codes a listing is restricted to (None: all): those requested
        (or else all) of the caller's regions, with their villages; empty when none is left."""
        allowed = self.policy.region_filter(principal)
        regions: list[str] | None
        if allowed is None:
            regions = list(requested) if requested else None
        else:
            regions = sorted(allowed) if not requested else [
                r for r in requested if in_region(r, allowed)]
        return None if regions is None else _expand(regions, uow)

    def household_count(self, region_codes: Sequence[str] | None = None) -> int:
        """How many households are stored (in ``region_codes`` and their villages)."""
        with self.uow() as uow:
            regions = _expand(region_codes, uow) if region_codes else None
            return uow.households.count(region_codes=regions, id_prefix=None)

    def _check_first(self, first: int, name: str = "first") -> None:
        limit = self.settings.max_page_size
        if not 1 <= first <= limit:
            raise InvalidInput(f"{name} must be between 1 and {limit}, got {first}",
                               [FieldError(name, "PAGE_SIZE",
                                           f"{name} must be between 1 and {limit}")],
                               code="PAGE_SIZE")

    # -- determinations --------------------------------------------------------------------

    def determine_household(
        self, principal: Principal, household_id: str, as_of: date,
        programs: Sequence[str] | None = None, idempotency_key: str | None = None,
    ) -> tuple[Determination, RecordView]:
        """Evaluate a stored household and record the determination (append-only).

        With an ``idempotency_key``, a call the same caller made before with that key and the
        same arguments returns the first call's record (its determination replayed from the
        record, so exactly the first answer) and records nothing; the same key with other
        arguments is refused (``IDEMPOTENCY_KEY_REUSED``)."""
        self.policy.evaluate(principal)
        request_hash = None
        if idempotency_key is not None:
            _check_idempotency_key(idempotency_key)
            request_hash = hashlib.sha256(json.dumps(
                ["householdDetermine", household_id, as_of.isoformat(),
                 None if programs is None else list(programs)]).encode()).hexdigest()
            first = self._idempotent_replay(principal, idempotency_key, request_hash)
            if first is not None:
                return first
        with self.uow() as uow:
            stored = self._readable_household(principal, uow, household_id)
            det = self._determine(stored.facts, as_of, programs)
            record = uow.determinations.add(
                region_code=stored.region_code, as_of=as_of, facts=stored.facts,
                versions=[{"program": p.program, "versionId": p.version.id,
                           "version": p.version.version, "contentHash": p.version.content_hash}
                          for p in det.programs],
                result=determination_json(det),
                created_by=principal.actor, household_id=stored.id,
                household_revision=stored.revision,
            )
            uow.audit.append(actor=principal.actor, action="determination.record",
                             object_type="determination", object_id=record.id,
                             details={"household": stored.id, "asOf": as_of.isoformat(),
                                      "flagged": det.flagged_for_monitoring})
            if idempotency_key is not None and request_hash is not None:
                uow.idempotency.add(actor=principal.actor, key=idempotency_key,
                                    operation="householdDetermine",
                                    request_hash=request_hash, object_id=record.id)
            try:
                uow.commit()
            except ConflictError:
                if idempotency_key is None or request_hash is None:
                    raise
                # the same key, sent again while the first call was still running: that
                # call's record is the answer (nothing of this one was written)
                first = self._idempotent_replay(principal, idempotency_key, request_hash)
                if first is None:
                    raise
                return first
            return det, self._record_view(record)

    def _idempotent_replay(self, principal: Principal, key: str, request_hash: str,
                           ) -> tuple[Determination, RecordView] | None:
        with self.uow() as uow:
            seen = uow.idempotency.find(principal.actor, key)
            if seen is None:
                return None
            if seen.request_hash != request_hash:
                msg = (f"the idempotency key {key!r} was used for a call with other "
                       "arguments; use a new key for a new call")
                raise Conflict(msg, [FieldError("idempotencyKey", "IDEMPOTENCY_KEY_REUSED",
                                                msg)], code="IDEMPOTENCY_KEY_REUSED")
            view = self._record_view(uow.determinations.get(seen.object_id))
        return self.replay(view).determination, view

    def determination_record(self, principal: Principal, record_id: str) -> RecordView:
        with self.uow() as uow:
            try:
                record = uow.determinations.get(record_id)
            except RowNotFound:
                self.policy.read_households(principal)
                raise NotFoundError(f"no determination record {record_id!r}") from None
            self.policy.read_household(principal, record.region_code, "determination record",
                                       record_id)
            return self._record_view(record)

    def household_determinations(self, principal: Principal,
                                 household_id: str) -> list[RecordView]:
        """A stored household's recorded determinations, newest first (same visibility as the
        household itself)."""
        with self.uow() as uow:
            self._readable_household(principal, uow, household_id)
            records = uow.determinations.for_household(household_id)
            return [self._record_view(r) for r in reversed(records)]

    def replay(self, record: RecordView) -> Replay:
        """Evaluate the recorded facts again with the recorded versions (by content hash)."""
        versions: list[tuple[Program, VersionRef]] = []
        catalog = self.catalog()
        for ref in record.versions:
            found = catalog.by_hash(ref.content_hash)
            if found is None:
                raise NotFoundError(f"version {ref.id} ({ref.content_hash}) is not stored")
            versions.append((found.program, catalog.ref(found)))
        det = determine(record.facts, record.as_of, versions)
        again = determination_json(det)
        identical = _without_version_dates(again) == _without_version_dates(record.result)
        return Replay(det, identical)

    def _record_view(self, record: DeterminationRecord) -> RecordView:
        catalog = self.catalog()
        refs = []
        for v in record.versions:
            found = catalog.by_hash(v["contentHash"])
            refs.append(catalog.ref(found) if found else VersionRef(
                v["versionId"], v["program"], v["version"], "UNKNOWN", None, None,
                v["contentHash"]))
        return RecordView(record.id, record.household_id, record.household_revision,
                          record.region_code, record.as_of, record.created_at,
                          record.created_by, tuple(refs), dict(record.result),
                          dict(record.facts))


def renamed(field: str, argument: str) -> str:
    """A field path under ``household`` as under ``argument`` (the input that held the facts).

    >>> renamed("household.members[1].birthDate", "facts")
    'facts.members[1].birthDate'
    >>> renamed("programs", "facts")
    'programs'
    """
    if field == "household" or field.startswith(("household.", "household[")):
        return argument + field[len("household"):]
    return field


HOUSEHOLD_OR_FACTS = "give the household's facts once: either facts or household, not both"


def _check_idempotency_key(key: str) -> None:
    if not (1 <= len(key) <= 128 and key.isascii() and key.isprintable()):
        msg = "an idempotency key is 1 to 128 printable ASCII characters"
        raise InvalidInput(msg, [FieldError("idempotencyKey", "INVALID_IDEMPOTENCY_KEY", msg)],
                           code="INVALID_IDEMPOTENCY_KEY")


def _no_household(hid: object) -> NotFoundError:
    msg = f"no household {hid!r}"
    return NotFoundError(msg, [FieldError("household.id", "NOT_FOUND", msg)])


def invalid_cursor(exc: InvalidCursor) -> InvalidInput:
    """A cursor this service did not hand out: the client's error, with a code."""
    return InvalidInput(str(exc), [FieldError("after", "INVALID_CURSOR", str(exc))],
                        code="INVALID_CURSOR")


def _without_version_dates(result: Mapping[str, Any]) -> Any:
    # effectiveTo and status of a version change when a later version is published; the
    # decision itself (and the content hash) must not.
    data = json.loads(json.dumps(result))
    for p in data.get("programs", []):
        p["ruleSetVersion"].pop("effectiveTo", None)
        p["ruleSetVersion"].pop("status", None)
    return data


def _household_view(h: StoredHousehold) -> HouseholdView:
    return HouseholdView(h.id, h.region_code, h.revision, dict(h.facts), h.updated_at)


def _expand(regions: Sequence[str], uow: UnitOfWork) -> list[str]:
    """Region codes as stored: a prefix region covers its villages."""
    return covered_codes(regions, uow.households.region_codes())
