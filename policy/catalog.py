"""Which version of each program is in force on a date.

A ``Catalog`` is built from version records handed to it (from files or the database); it never
reads anything itself. Time is an argument: there is no "latest", only "in force on D".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from policy.document import Program, outcome_titles
from policy.errors import PolicyError
from policy.events import EVENT_PROGRAMS


@dataclass(frozen=True)
class VersionRef:
    """Which version of a program was used; enough to replay."""

    id: str
    rule_set: str
    version: int
    status: str
    effective_from: date | None
    effective_to: date | None
    content_hash: str


@dataclass(frozen=True)
class VersionRecord:
    id: str
    program: Program
    status: str  # DRAFT | IN_REVIEW | PUBLISHED | RETIRED
    effective_from: date | None


class UnknownProgram(PolicyError):
    def __init__(self, names: Sequence[str], known: Sequence[str]):
        self.names = list(names)
        self.known = list(known)
        super().__init__(
            f"unknown program {', '.join(map(repr, names))}; known programs: {', '.join(known)}"
        )


class Catalog:
    def __init__(self, records: Iterable[VersionRecord]):
        self.records = list(records)
        self._published: dict[str, list[VersionRecord]] = {}
        for r in self.records:
            if r.status == "PUBLISHED" and r.effective_from is not None:
                self._published.setdefault(r.program.code, []).append(r)
        for versions in self._published.values():
            versions.sort(key=lambda r: (r.effective_from, r.program.document.version))
        self._programs = sorted({r.program.code for r in self.records})
        # in_force by (date, programs): a catalog never changes, and a service asks it on every
        # evaluation, mostly for a few dates.
        self._in_force: dict[tuple[date, tuple[str, ...] | None],
                             tuple[tuple[Program, VersionRef], ...]] = {}
        self._not_in_force: dict[tuple[date, tuple[str, ...] | None],
                                 tuple[tuple[str, date | None], ...]] = {}

    def programs(self) -> list[str]:
        """Every program with at least one version, in a stable order."""
        return list(self._programs)

    def ref(self, record: VersionRecord) -> VersionRef:
        return VersionRef(
            id=record.id,
            rule_set=record.program.code,
            version=record.program.document.version,
            status=record.status,
            effective_from=record.effective_from,
            effective_to=self.effective_to(record),
            content_hash=record.program.content_hash,
        )

    def effective_to(self, record: VersionRecord) -> date | None:
        """The day before the next published version of the program takes effect."""
        if record.status != "PUBLISHED" or record.effective_from is None:
            return None
        later = [
            r.effective_from for r in self._published.get(record.program.code, [])
            if r.effective_from is not None and r.effective_from > record.effective_from
        ]
        return min(later) - timedelta(days=1) if later else None

    def version_in_force(self, program: str, as_of: date) -> VersionRecord | None:
        found = None
        for r in self._published.get(program, []):
            if r.effective_from is not None and r.effective_from <= as_of:
                found = r
        return found

    def in_force(
        self, as_of: date, programs: Sequence[str] | None = None
    ) -> list[tuple[Program, VersionRef]]:
        """Per program (all, or those named), the published version in force on ``as_of``.
        A program with none in force is left out; an unknown name is an error. Event programs
        (early warning) are not among them: they evaluate department events, not a household
        alone (see ``version_in_force``)."""
        key = (as_of, None if programs is None else tuple(programs))
        found = self._in_force.get(key)
        if found is None:
            found = tuple(self._find_in_force(as_of, programs))
            if len(self._in_force) >= 4096:
                self._in_force.clear()
            self._in_force[key] = found
        return list(found)

    def _find_in_force(
        self, as_of: date, programs: Sequence[str] | None
    ) -> list[tuple[Program, VersionRef]]:
        known = [p for p in self._programs if p not in EVENT_PROGRAMS]
        if programs is not None:
            unknown = [p for p in programs if p not in known]
            if unknown:
                raise UnknownProgram(unknown, known)
        chosen = known if programs is None else [p for p in known if p in programs]
        out = []
        for code in chosen:
            record = self.version_in_force(code, as_of)
            if record is not None:
                out.append((record.program, self.ref(record)))
        return out

    def not_in_force(
        self, as_of: date, programs: Sequence[str] | None = None
    ) -> list[tuple[str, date | None]]:
        """The programs (all, or those named) with no published version in force on
        ``as_of``, each with the date its first published version takes effect (None: none
        is published). What ``in_force`` leaves out, said.

        Names must be known (``in_force`` has refused unknown ones)."""
        key = (as_of, None if programs is None else tuple(programs))
        found = self._not_in_force.get(key)
        if found is None:
            found = tuple(self._find_not_in_force(as_of, programs))
            if len(self._not_in_force) >= 4096:
                self._not_in_force.clear()
            self._not_in_force[key] = found
        return list(found)

    def _find_not_in_force(
        self, as_of: date, programs: Sequence[str] | None
    ) -> list[tuple[str, date | None]]:
        known = [p for p in self._programs if p not in EVENT_PROGRAMS]
        chosen = known if programs is None else [p for p in known if p in programs]
        out = []
        for code in chosen:
            if self.version_in_force(code, as_of) is None:
                later = [r.effective_from for r in self._published.get(code, [])
                         if r.effective_from is not None]
                out.append((code, min(later) if later else None))
        return out

    def by_hash(self, content_hash: str) -> VersionRecord | None:
        return next((r for r in self.records if r.program.content_hash == content_hash), None)

    def outcome_titles(self, content_hashes: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Outcome code -> (Chinese, English) title, from the versions of these content hashes
        (a determination's): the first version that names a code gives its title."""
        found = (self.by_hash(content_hash) for content_hash in content_hashes)
        return outcome_titles(r.program for r in found if r is not None)
