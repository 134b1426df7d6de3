"""``verify``: the whole store checked for tampering, independently of database permissions.

- The audit log's hash chain (``store.audit_chain``): every entry hashes to its recorded hash
  and links to the one before; optionally an anchor (an entry id and hash kept elsewhere, e.g.
  a previous run's head) is still in the chain, so a cut-off tail shows too.
- Every rule-set version's document hashes to its recorded ``contentHash``.
- Published and retired versions match what the audit log recorded when they were published
  or seeded (content hash, effective date); retired ones were retired in the log.
- Every recorded determination is in the audit log and names versions the store holds (by
  content hash); every household's current facts are its latest revision's, and its
  revisions are numbered 1, 2, ... without a gap.
- The database's own protections are in place: the immutability triggers exist (on
  PostgreSQL: and are enabled).

It reads the rows and recomputes; nothing here trusts the application's code paths.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Connection, Engine, Row, Table, select, text

from policy.document import content_hash, load_document
from policy.errors import DocumentInvalid
from store.audit_chain import GENESIS, digest
from store.models import (
    AuditEntry,
    DeterminationRecord,
    HouseholdFactRevision,
    RuleSetVersion,
    StoredHousehold,
)
from store.protections import expected_triggers

BATCH = 2000
FROZEN = ("PUBLISHED", "RETIRED")


@dataclass(frozen=True)
class Finding:
    """One sign of tampering: what kind, which object, and what is wrong."""

    kind: str
    object: str
    message: str


@dataclass
class Report:
    """What ``verify_store`` found; ``ok`` when nothing."""

    findings: list[Finding] = field(default_factory=list)
    audit_entries: int = 0
    head_id: int | None = None
    head_hash: str = GENESIS
    versions: int = 0
    determinations: int = 0
    households: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, kind: str, obj: str, message: str) -> None:
        self.findings.append(Finding(kind, obj, message))


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _rows(connection: Connection, table: Table, key: Column[Any]) -> Iterator[Row[Any]]:
    """Every row of ``table`` in ``key`` order, ``BATCH`` at a time."""
    last: Any = None
    while True:
        query = select(table).order_by(key).limit(BATCH)
        if last is not None:
            query = query.where(key > last)
        rows = list(connection.execute(query))
        yield from rows
        if len(rows) < BATCH:
            return
        last = rows[-1]._mapping[key.name]


def verify_store(engine: Engine, anchors: Sequence[tuple[int, str]] = ()) -> Report:
    """Check the whole store at ``engine`` (see the module's docstring)."""
    report = Report()
    with engine.connect() as connection:
        published = _chain(connection, report, dict(anchors))
        _versions(connection, report, published)
        _determinations(connection, report, published)
        _households(connection, report)
        _triggers(connection, report)
    return report


def _chain(connection: Connection, report: Report,
           anchors: dict[int, str]) -> dict[str, Any]:
    """Walk the chain; return what it says about versions and determinations."""
    audit = _table(AuditEntry)
    prev = GENESIS
    facts: dict[str, Any] = {"publish": {}, "seed": {}, "retire": set(), "determinations": set()}
    broken = 0
    for row in _rows(connection, audit, audit.c.id):
        e = row._mapping
        report.audit_entries += 1
        expected = digest(prev, e["at"], e["actor"], e["action"], e["object_type"],
                          e["object_id"], e["details"])
        if e["prev_hash"] != prev:
            broken += 1
            if broken <= 20:
                report.add("AUDIT_CHAIN_BROKEN", f"audit_log#{e['id']}",
                           "does not link to the entry before it (an entry was removed, "
                           "inserted or reordered)")
        if e["entry_hash"] != expected:
            broken += 1
            if broken <= 20:
                report.add("AUDIT_ENTRY_ALTERED", f"audit_log#{e['id']}",
                           "its content does not hash to its recorded hash")
        if e["id"] in anchors and anchors.pop(e["id"]) != e["entry_hash"]:
            report.add("AUDIT_ANCHOR_MISMATCH", f"audit_log#{e['id']}",
                       "the entry's hash is not the anchor's")
        prev = e["entry_hash"] or ""
        report.head_id, report.head_hash = e["id"], prev
        details = e["details"] if isinstance(e["details"], dict) else {}
        action, oid = e["action"], e["object_id"]
        if action == "ruleset.version.publish":
            facts["publish"][oid] = details
        elif action == "ruleset.seed":
            facts["seed"][oid] = details
        elif action == "ruleset.version.retire":
            facts["retire"].add(oid)
        elif action == "determination.record":
            facts["determinations"].add(oid)
    if broken > 20:
        report.add("AUDIT_CHAIN_BROKEN", "audit_log", f"{broken - 20} more broken links")
    for entry_id in anchors:
        report.add("AUDIT_ANCHOR_MISSING", f"audit_log#{entry_id}",
                   "the anchored entry is no longer in the audit log")
    return facts


def _versions(connection: Connection, report: Report, facts: dict[str, Any]) -> None:
    versions = _table(RuleSetVersion)
    hashes: set[str] = set()
    for row in _rows(connection, versions, versions.c.id):
        v = row._mapping
        report.versions += 1
        name = f"rule_set_version {v['id']} ({v['rule_set_code']} v{v['version']})"
        try:
            actual = content_hash(load_document(dict(v["document"])))
        except DocumentInvalid:
            actual = None
        if actual != v["content_hash"]:
            if v["status"] in FROZEN:
                report.add("CONTENT_HASH_MISMATCH", name,
                           f"the {v['status']} document does not hash to its contentHash")
            elif actual is not None:
                report.add("CONTENT_HASH_MISMATCH", name,
                           "the draft's document does not hash to its contentHash")
        hashes.add(v["content_hash"])
        if v["status"] not in FROZEN:
            continue
        published, seeded = facts["publish"].get(v["id"]), facts["seed"].get(v["id"])
        recorded = published or seeded
        if recorded is None:
            report.add("VERSION_NOT_IN_AUDIT_LOG", name,
                       f"{v['status']} but the audit log never published or seeded it")
        elif recorded.get("contentHash") != v["content_hash"]:
            report.add("VERSION_ALTERED", name, "its contentHash is not the one published")
        elif recorded.get("effectiveFrom") is not None and (
                v["effective_from"] is None
                or recorded["effectiveFrom"] != v["effective_from"].isoformat()):
            report.add("VERSION_ALTERED", name, "its effectiveFrom is not the one published")
        if v["status"] == "RETIRED" and v["id"] not in facts["retire"]:
            report.add("VERSION_NOT_IN_AUDIT_LOG", name,
                       "RETIRED but the audit log never retired it")
    facts["hashes"] = hashes


def _determinations(connection: Connection, report: Report, facts: dict[str, Any]) -> None:
    records = _table(DeterminationRecord)
    hashes: set[str] = facts["hashes"]
    for row in _rows(connection, records, records.c.id):
        r = row._mapping
        report.determinations += 1
        name = f"determination {r['id']}"
        if r["id"] not in facts["determinations"]:
            report.add("DETERMINATION_NOT_IN_AUDIT_LOG", name,
                       "recorded, but the audit log never recorded it")
        for used in r["versions"] or []:
            if used.get("contentHash") not in hashes:
                report.add("DETERMINATION_VERSION_MISSING", name,
                           f"used {used.get('program')} version {used.get('versionId')}, "
                           "whose content the store no longer holds")


def _households(connection: Connection, report: Report) -> None:
    households, revisions = _table(StoredHousehold), _table(HouseholdFactRevision)
    numbers: dict[str, list[int]] = {}
    for number_row in connection.execute(
            select(revisions.c.household_id, revisions.c.revision)
            .order_by(revisions.c.household_id, revisions.c.revision)):
        numbers.setdefault(number_row.household_id, []).append(number_row.revision)
    # Each household with the facts of the revision it says is current (outer join: a missing
    # revision shows as None).
    latest = (
        select(households.c.id, households.c.revision, households.c.facts,
               revisions.c.facts.label("revision_facts"))
        .select_from(households.outerjoin(revisions, (revisions.c.household_id
                                                      == households.c.id)
                                          & (revisions.c.revision == households.c.revision)))
        .order_by(households.c.id)
    )
    for row in connection.execute(latest):
        report.households += 1
        name = f"household {row.id}"
        got = numbers.get(row.id, [])
        if got != list(range(1, row.revision + 1)):
            report.add("FACT_HISTORY_ALTERED", name,
                       f"its revisions are {got[:5]}{'...' if len(got) > 5 else ''}, not 1 to "
                       f"{row.revision}")
        elif row.revision_facts != row.facts:
            report.add("FACT_HISTORY_ALTERED", name,
                       "its current facts are not its latest revision's")


def _triggers(connection: Connection, report: Report) -> None:
    expected = expected_triggers(connection.dialect.name)
    if connection.dialect.name == "postgresql":
        found = {row.tgname: row.tgenabled for row in connection.execute(text(
            "SELECT t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = "
            "t.tgrelid WHERE c.relnamespace = current_schema()::regnamespace "
            "AND NOT t.tgisinternal"))}
        for name in sorted(expected):
            if name not in found:
                report.add("PROTECTION_MISSING", f"trigger {name}", "has been dropped")
            elif found[name] == "D":
                report.add("PROTECTION_DISABLED", f"trigger {name}", "has been disabled")
    else:
        present = set(connection.scalars(text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")))
        for name in sorted(expected - present):
            report.add("PROTECTION_MISSING", f"trigger {name}", "has been dropped")
