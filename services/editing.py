"""Rule-set editing: the use cases policy staff move a version through, each in one unit of
work and each in the audit log.

    ruleSetDraftCreate      a DRAFT copied from a published version (one open per rule set)
    ruleSetDraftUpdate      a new document, given the revision it was read at (else CONFLICT)
    ruleSetDraftValidate    static validation (policy.validation)
    ruleSetDraftTest        the version's own test cases (engine.testcases)
    ruleSetDraftImpact      stored households re-evaluated under the draft and the version in
                            force (engine.impact): who gains, loses, changes, by region
    ruleSetVersionSubmit    DRAFT -> IN_REVIEW, only when valid and its tests pass
    ruleSetVersionPublish   IN_REVIEW -> PUBLISHED with effectiveFrom, by an approver who wrote
                            none of it (four eyes)
    ruleSetVersionRetire    PUBLISHED -> RETIRED
    RuleSetVersion.diff     what changed against another version (policy.diff)

Who may do what: editors of the owning department create and update drafts and submit them;
approvers submit, publish and retire; editors of the department, approvers and auditors
validate, test, preview and diff drafts. Published and retired versions never change: the
store refuses it (ORM listeners and database triggers), whatever this module does.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import polars as pl

from engine.determine import determine
from engine.impact import (
    FrameImpact,
    HouseholdImpact,
    OutcomeChange,
    RegionImpact,
    Tally,
    compare,
    frame_impact,
)
from engine.results import Outcome
from engine.testcases import draft_ref, run_cases
from policy.catalog import Catalog, VersionRef
from policy.diff import VersionDiff, diff_documents
from policy.document import Program, RuleSetDocument, compile_document, load_document
from policy.errors import DocumentInvalid, FieldError
from policy.events import EVENT_PROGRAMS
from policy.facts import parse_household
from policy.validation import Issue, errors, validate, validate_data
from services.auth import Policy, Principal, covered_codes
from services.errors import Conflict, InvalidInput, NotFoundError
from services.impact_cache import CheckedBatches
from services.pseudonyms import PSEUDONYM_KEY, Pseudonyms, changed_conditions, reduced
from store.db import IMMEDIATE
from store.errors import ConflictError, ImmutableError, RowNotFound
from store.logins import InvalidLogin, normalise_login
from store.models import RuleSetVersion, VersionStatus
from store.uow import UnitOfWork


class EditingHost(Protocol):
    """What rule-set editing needs from the application it is part of (the application is
    one; editing does not import it)."""

    policy: Policy

    def uow(self) -> UnitOfWork: ...

    def catalog(self) -> Catalog: ...

    def invalidate(self) -> None: ...

OPEN_STATUSES = (VersionStatus.DRAFT, VersionStatus.IN_REVIEW)
FROZEN = (VersionStatus.PUBLISHED, VersionStatus.RETIRED)
IMPACT_BATCH = 5000        # households evaluated per call of the batch evaluator
# Batches validated and evaluated at once: a batch not validated before (a fresh process,
# changed households) spends most of its time in Arrow's JSON reader, which a second thread
# runs on the other core.
IMPACT_THREADS = 2
MAX_IMPACT_EXAMPLES = 1000  # changed households listed in full, at most


# --- views -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionView:
    """A stored version as editors see it (the public ``VersionRef`` fields first)."""

    id: str
    rule_set: str
    version: int
    status: str
    effective_from: date | None
    effective_to: date | None
    content_hash: str
    revision: int
    author: str
    based_on_id: str | None
    created_at: datetime
    submitted_by: str | None
    submitted_at: datetime | None
    published_by: str | None
    published_at: datetime | None
    retired_by: str | None
    retired_at: datetime | None
    document: dict[str, Any]


@dataclass(frozen=True)
class ParameterChange:
    """A parameter's new value (and, optionally, unit and citation); a name the document does
    not have adds the parameter, which then needs a unit and a citation."""

    name: str
    value: float
    unit: str | None = None
    citation: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Validation:
    version: VersionView
    issues: tuple[Issue, ...]

    @property
    def valid(self) -> bool:
        return not errors(self.issues)


@dataclass(frozen=True)
class CaseReport:
    index: int
    name: str
    passed: bool
    failures: tuple[str, ...]


@dataclass(frozen=True)
class TestReport:
    version: VersionView
    cases: tuple[CaseReport, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cases)

    @property
    def failed(self) -> int:
        return sum(not c.passed for c in self.cases)


@dataclass(frozen=True)
class DiffView:
    old: VersionView
    new: VersionView
    diff: VersionDiff


@dataclass(frozen=True)
class OutcomeChangeView:
    code: str
    member_id: str | None
    kind: str
    before: Outcome | None
    after: Outcome | None


@dataclass(frozen=True)
class HouseholdChangeView:
    household_id: str
    region_code: str
    kind: str
    annual_amount_before: float
    annual_amount_after: float
    outcomes: tuple[OutcomeChangeView, ...]
    pseudonymised: bool = False  # ids are pseudonyms; only the changed conditions are shown


@dataclass(frozen=True)
class ImpactReport:
    as_of: date
    version: VersionView
    baseline: VersionRef | None
    households: int
    skipped: int
    gained: int
    lost: int
    changed: int
    unchanged: int
    annual_amount_before: float
    annual_amount_after: float
    one_off_amount_before: float
    one_off_amount_after: float
    regions: tuple[RegionImpact, ...]
    changed_households: tuple[HouseholdChangeView, ...]
    changed_total: int
    seconds: float
    skipped_ids: tuple[str, ...] = field(default=())
    pseudonymised: bool = False  # some households are shown pseudonymised


# --- the use cases ---------------------------------------------------------------------------


def _login(actor: str | None) -> str:
    """The user behind an audit actor ("policy_editor:Ed-1" -> "ed-1"), normalised as logins
    are, so actors written before logins were normalised still name the same user."""
    name = (actor or "").split(":", 1)[-1]
    try:
        return normalise_login(name)
    except InvalidLogin:
        return name


def _errors(issues: Sequence[Issue], prefix: str = "") -> list[FieldError]:
    return [FieldError(prefix + i.field, i.code, i.message) for i in issues]


class RuleSetEditing:
    def __init__(self, app: EditingHost):
        self.app = app
        # Validated batches of stored households, for the next previews.
        self.checked = CheckedBatches()

    @property
    def policy(self) -> Policy:
        return self.app.policy

    def uow(self) -> UnitOfWork:
        return self.app.uow()

    # -- access ----------------------------------------------------------------------------

    def _may_review(self, p: Principal, owner: str) -> None:
        """Validate, test and preview a version: the department's editors, approvers and
        auditors (reading changes nothing). Anyone else is refused before learning whether
        the version exists."""
        if p.role == "auditor":
            return
        if p.role == "policy_approver":
            self.policy.approve(p, owner, "review")
            return
        self.policy.edit_rule_set(p, owner)

    def _visible(self, p: Principal, v: RuleSetVersion) -> None:
        if v.status in FROZEN:
            self.policy.read_rule_sets(p)
            return
        if not self.policy.see_drafts(p):
            self.policy.read_rule_sets(p)
            # Drafts are not acknowledged to exist for those who may not see them.
            raise NotFoundError(f"no rule set version {v.id!r}", [FieldError(
                "id", "NOT_FOUND", f"no rule set version {v.id!r}")])

    def _get(self, uow: UnitOfWork, version_id: str) -> RuleSetVersion:
        try:
            return uow.rule_sets.get_version(version_id)
        except RowNotFound:
            raise NotFoundError(f"no rule set version {version_id!r}",
                                [FieldError("id", "NOT_FOUND",
                                            f"no rule set version {version_id!r}")]) from None

    def _owner(self, uow: UnitOfWork, code: str) -> str:
        return uow.rule_sets.get_rule_set(code).owner

    def view(self, v: RuleSetVersion) -> VersionView:
        catalog = self.app.catalog()
        record = next((r for r in catalog.records if r.id == v.id), None)
        return VersionView(
            id=v.id, rule_set=v.rule_set_code, version=v.version, status=v.status.value,
            effective_from=v.effective_from,
            effective_to=catalog.effective_to(record) if record else None,
            content_hash=v.content_hash, revision=v.revision, author=v.author,
            based_on_id=v.based_on_id, created_at=v.created_at,
            submitted_by=v.submitted_by, submitted_at=v.submitted_at,
            published_by=v.published_by, published_at=v.published_at,
            retired_by=v.retired_by, retired_at=v.retired_at, document=dict(v.document),
        )

    def version(self, p: Principal, version_id: str) -> VersionView:
        self.policy.read_rule_sets(p)
        with self.uow() as uow:
            v = self._get(uow, version_id)
            self._visible(p, v)
            return self.view(v)

    def _expect_revision(self, v: RuleSetVersion, expected: int | None) -> None:
        if expected is not None and v.revision != expected:
            msg = (f"{v.rule_set_code} version {v.version} is at revision {v.revision}, not "
                   f"{expected}: someone else changed it; read it again")
            raise Conflict(msg, [FieldError("expectedRevision", "CONFLICT", msg)])

    def _commit(self, uow: UnitOfWork) -> None:
        try:
            uow.commit()
        except ConflictError as exc:
            raise Conflict(str(exc), [FieldError("expectedRevision", "CONFLICT",
                                                 str(exc))]) from None

    # -- drafts ----------------------------------------------------------------------------

    def create_draft(self, p: Principal, rule_set: str,
                     from_version: str | None = None) -> VersionView:
        """A new DRAFT numbered after the rule set's highest version, copying a published
        (or retired) version: the one named, else the latest to take effect."""
        self.policy.edit_rule_sets(p)
        with _busy("ruleSet"), self.uow() as uow:
            # SQLite: take the write lock before reading (another process creating a draft
            # at the same time waits for it, then sees this one's draft: DRAFT_EXISTS).
            # PostgreSQL reads at once; the one-open-version index refuses the loser's insert.
            uow.session.connection(execution_options={IMMEDIATE: True})
            try:
                owner = self._owner(uow, rule_set)
            except RowNotFound:
                raise NotFoundError(f"no rule set {rule_set!r}", [FieldError(
                    "ruleSet", "NOT_FOUND", f"no rule set {rule_set!r}")]) from None
            self.policy.edit_rule_set(p, owner)
            versions = uow.rule_sets.list_versions(rule_set)
            open_ = [v for v in versions if v.status in OPEN_STATUSES]
            if open_:
                o = open_[0]
                msg = (f"{rule_set} already has an open version: version {o.version} "
                       f"({o.id}) is {o.status.value}; edit it, or publish it first")
                raise Conflict(msg, [FieldError("ruleSet", "DRAFT_EXISTS", msg)],
                               code="DRAFT_EXISTS")
            if from_version is not None:
                source = self._get(uow, from_version)
                if source.rule_set_code != rule_set or source.status not in FROZEN:
                    msg = (f"version {from_version} is not a published version of {rule_set}"
                           f" (it is {source.rule_set_code} version {source.version}, "
                           f"{source.status.value})")
                    raise InvalidInput(msg, [FieldError("from", "NOT_PUBLISHED", msg)],
                                       code="NOT_PUBLISHED")
            else:
                published = [v for v in versions if v.status is VersionStatus.PUBLISHED]
                if not published:
                    msg = f"{rule_set} has no published version to start a draft from"
                    raise InvalidInput(msg, [FieldError("from", "NOT_PUBLISHED", msg)],
                                       code="NOT_PUBLISHED")
                source = max(published, key=lambda v: (v.effective_from or date.min, v.version))
            number = uow.rule_sets.next_version_number(rule_set)
            doc = source.to_document().model_copy(update={"version": number,
                                                          "effectiveFrom": None})
            try:
                draft = uow.rule_sets.add_version(doc, author=p.actor, based_on_id=source.id)
            except ConflictError:
                # Someone created a version of this rule set since we looked (the database's
                # one-open-version index, or the version number, refused ours): theirs is
                # the open draft now.
                msg = (f"{rule_set} already has an open version: another draft was created "
                       "at the same time; edit that one")
                raise Conflict(msg, [FieldError("ruleSet", "DRAFT_EXISTS", msg)],
                               code="DRAFT_EXISTS") from None
            uow.audit.append(actor=p.actor, action="ruleset.draft.create",
                             object_type="rule_set_version", object_id=draft.id,
                             details={"ruleSet": rule_set, "version": number,
                                      "basedOn": source.id,
                                      "contentHash": draft.content_hash})
            uow.commit()
        self.app.invalidate()
        return self.view(draft)

    def update_draft(
        self, p: Principal, version_id: str, expected_revision: int,
        document: Mapping[str, Any] | None = None,
        parameters: Sequence[ParameterChange] = (),
    ) -> VersionView:
        """Replace the draft's document (``document``, else the stored one) after applying
        ``parameters``. Refused with CONFLICT when the draft is no longer at
        ``expected_revision``: nothing is overwritten silently."""
        self.policy.edit_rule_sets(p)
        with self.uow() as uow:
            v = self._get(uow, version_id)
            self.policy.edit_rule_set(p, self._owner(uow, v.rule_set_code))
            if v.frozen:
                msg = (f"{v.rule_set_code} version {v.version} is {v.status.value} and can "
                       "never change; create a new draft from it")
                raise Conflict(msg, [FieldError("id", "IMMUTABLE", msg)], code="IMMUTABLE")
            if v.status is not VersionStatus.DRAFT:
                msg = (f"{v.rule_set_code} version {v.version} is {v.status.value}; only a "
                       "DRAFT can be edited")
                raise Conflict(msg, [FieldError("id", "NOT_A_DRAFT", msg)], code="NOT_A_DRAFT")
            self._expect_revision(v, expected_revision)
            old = load_document(dict(v.document))
            doc = self._new_document(v, document, parameters)
            try:
                updated = uow.rule_sets.update_draft(v.id, doc,
                                                     expected_revision=expected_revision)
            except ConflictError as exc:
                raise Conflict(str(exc), [FieldError("expectedRevision", "CONFLICT",
                                                     str(exc))]) from None
            except ImmutableError as exc:
                raise Conflict(str(exc), [FieldError("id", "IMMUTABLE", str(exc))],
                               code="IMMUTABLE") from None
            uow.audit.append(actor=p.actor, action="ruleset.draft.update",
                             object_type="rule_set_version", object_id=v.id,
                             details={"revision": updated.revision,
                                      "previousRevision": expected_revision,
                                      "contentHash": updated.content_hash,
                                      "changes": _summary(diff_documents(old, doc))})
            self._commit(uow)
        self.app.invalidate()
        return self.view(updated)

    def _new_document(self, v: RuleSetVersion, document: Mapping[str, Any] | None,
                      parameters: Sequence[ParameterChange]) -> RuleSetDocument:
        data: dict[str, Any] = dict(document) if document is not None else dict(v.document)
        problems: list[FieldError] = []
        if data.get("effectiveFrom") is not None:
            problems.append(FieldError("document.effectiveFrom", "INVALID_VALUE",
                                       "effectiveFrom is set when the version is published "
                                       "(ruleSetVersionPublish), not in a draft"))
        data.pop("effectiveFrom", None)
        for key, have in (("program", v.rule_set_code), ("version", v.version)):
            got = data.setdefault(key, have)
            if got != have:
                problems.append(FieldError(f"document.{key}", "INVALID_VALUE",
                                           f"this draft is {v.rule_set_code} version "
                                           f"{v.version}; the document says {key} {got!r}"))
        params = {k: dict(x) for k, x in dict(data.get("parameters") or {}).items()}
        for i, change in enumerate(parameters):
            entry = params.get(change.name)
            if entry is None and (change.unit is None or change.citation is None):
                problems.append(FieldError(
                    f"parameters[{i}].name", "UNKNOWN_PARAMETER",
                    f"the draft has no parameter {change.name!r}; to add one give its unit "
                    f"and citation too (parameters: {', '.join(sorted(params))})"))
                continue
            entry = dict(entry or {})
            entry["value"] = change.value
            if change.unit is not None:
                entry["unit"] = change.unit
            if change.citation is not None:
                entry["citation"] = {k: x for k, x in change.citation.items() if x is not None}
            params[change.name] = entry
        if parameters:
            data["parameters"] = params
        if problems:
            raise InvalidInput(problems[0].message, problems)
        try:
            return load_document(data)
        except DocumentInvalid as exc:
            raise InvalidInput(f"the document is not a rule-set document: "
                               f"{len(exc.errors)} problem(s)",
                               [FieldError(f"document.{e.field}", e.code, e.message)
                                for e in exc.errors], code="INVALID_DOCUMENT") from None

    # -- checks ----------------------------------------------------------------------------

    def _baseline(self, uow: UnitOfWork, v: RuleSetVersion) -> RuleSetDocument | None:
        """The version a draft was based on (outcome codes must keep their meaning)."""
        if v.based_on_id is not None:
            return uow.rule_sets.get_version(v.based_on_id).to_document()
        earlier = [x for x in uow.rule_sets.list_versions(v.rule_set_code)
                   if x.version < v.version and x.status in FROZEN]
        return earlier[-1].to_document() if earlier else None

    def _issues(self, uow: UnitOfWork, v: RuleSetVersion,
                document: Mapping[str, Any] | None = None) -> list[Issue]:
        based_on = self._baseline(uow, v)
        if document is not None:
            return validate_data(document, based_on=based_on)
        return validate(load_document(dict(v.document)), based_on=based_on)

    def validate(self, p: Principal, version_id: str,
                 document: Mapping[str, Any] | None = None) -> Validation:
        """Static validation of a version (or of ``document``, unsaved, as its next
        content)."""
        self.policy.review_rule_sets(p)
        with self.uow() as uow:
            v = self._get(uow, version_id)
            self._may_review(p, self._owner(uow, v.rule_set_code))
            issues = self._issues(uow, v, document)
            uow.audit.append(actor=p.actor, action="ruleset.draft.validate",
                             object_type="rule_set_version", object_id=v.id,
                             details={"revision": v.revision, "unsaved": document is not None,
                                      "errors": len(errors(issues)),
                                      "warnings": len(issues) - len(errors(issues))})
            self._commit(uow)
            return Validation(self.view(v), tuple(issues))

    def _compiled(self, v: RuleSetVersion) -> Program:
        try:
            return compile_document(load_document(dict(v.document)))
        except DocumentInvalid as exc:
            raise InvalidInput(
                f"{v.rule_set_code} version {v.version} does not compile: "
                f"{len(exc.errors)} problem(s); run ruleSetDraftValidate",
                [FieldError(f"document.{e.field}", e.code, e.message) for e in exc.errors],
                code="INVALID_DOCUMENT") from None

    def _cases(self, v: RuleSetVersion) -> tuple[CaseReport, ...]:
        program = self._compiled(v)
        return tuple(CaseReport(i, r.name, r.passed, r.failures)
                     for i, r in enumerate(run_cases(program, draft_ref(program, v.status.value))))

    def run_tests(self, p: Principal, version_id: str) -> TestReport:
        """Run the version's own test cases against it."""
        self.policy.review_rule_sets(p)
        with self.uow() as uow:
            v = self._get(uow, version_id)
            self._may_review(p, self._owner(uow, v.rule_set_code))
            cases = self._cases(v)
            report = TestReport(self.view(v), cases)
            uow.audit.append(actor=p.actor, action="ruleset.draft.test",
                             object_type="rule_set_version", object_id=v.id,
                             details={"revision": v.revision, "contentHash": v.content_hash,
                                      "total": len(cases), "failed": report.failed,
                                      "failedCases": [c.name for c in cases if not c.passed]})
            self._commit(uow)
            return report

    def _ready(self, uow: UnitOfWork, v: RuleSetVersion, step: str) -> None:
        """Valid and its tests pass, or ``step`` (submit, publish) is refused with every
        problem as a field error."""
        problems = _errors(errors(self._issues(uow, v)), "document.")
        try:
            cases = self._cases(v)
        except InvalidInput:
            cases = ()  # it does not compile: the validation errors say why
        problems += [
            FieldError(f"document.tests[{c.index}]", "TEST_FAILED",
                       f"test case {c.name!r} fails: {'; '.join(c.failures)}")
            for c in cases if not c.passed
        ]
        if problems:
            raise InvalidInput(f"{v.rule_set_code} version {v.version} cannot be {step}: "
                               f"{len(problems)} problem(s)", problems, code="NOT_READY")

    # -- lifecycle -------------------------------------------------------------------------

    def submit(self, p: Principal, version_id: str,
               expected_revision: int | None = None) -> VersionView:
        """DRAFT -> IN_REVIEW, when the version validates and its test cases pass."""
        self.policy.submit_rule_sets(p)
        with self.uow() as uow:
            v = self._get(uow, version_id)
            self.policy.submit(p, self._owner(uow, v.rule_set_code))
            self._expect_status(v, VersionStatus.DRAFT, "submitted")
            self._expect_revision(v, expected_revision)
            self._ready(uow, v, "submitted")
            v.submit(by=p.actor, at=uow.now())
            uow.audit.append(actor=p.actor, action="ruleset.version.submit",
                             object_type="rule_set_version", object_id=v.id,
                             details={"contentHash": v.content_hash,
                                      "revision": expected_revision})
            self._commit(uow)
        self.app.invalidate()
        return self.view(v)

    def reject(self, p: Principal, version_id: str, comment: str,
               expected_revision: int | None = None) -> VersionView:
        """IN_REVIEW -> DRAFT, sent back by an approver of the department with a comment (in
        the audit log) saying what must change."""
        self.policy.may_approve(p, "reject")
        with self.uow() as uow:
            v = self._get(uow, version_id)
            self.policy.approve(p, self._owner(uow, v.rule_set_code), "reject")
            if not comment.strip():
                msg = "say what must change: a rejection needs a comment"
                raise InvalidInput(msg, [FieldError("comment", "REQUIRED", msg)])
            self._expect_status(v, VersionStatus.IN_REVIEW, "rejected")
            self._expect_revision(v, expected_revision)
            self._send_back(uow, p, v, "ruleset.version.reject", {"comment": comment})
        self.app.invalidate()
        return self.view(v)

    def withdraw(self, p: Principal, version_id: str, reason: str | None = None,
                 expected_revision: int | None = None) -> VersionView:
        """IN_REVIEW -> DRAFT, taken back by its author (or by whoever submitted it), e.g. to
        fix something before review, or to let a new draft be started after it."""
        with self.uow() as uow:
            v = self._get(uow, version_id)
            self.policy.submit(p, self._owner(uow, v.rule_set_code))
            self._expect_status(v, VersionStatus.IN_REVIEW, "withdrawn")
            if _login(p.actor) not in {_login(v.author), _login(v.submitted_by)}:
                msg = (f"only the author of {v.rule_set_code} version {v.version} (or whoever "
                       "submitted it) may withdraw it; an approver rejects it instead")
                raise InvalidInput(msg, [FieldError("id", "NOT_THE_AUTHOR", msg)],
                                   code="NOT_THE_AUTHOR")
            self._expect_revision(v, expected_revision)
            self._send_back(uow, p, v, "ruleset.version.withdraw", {"reason": reason})
        self.app.invalidate()
        return self.view(v)

    def _send_back(self, uow: UnitOfWork, p: Principal, v: RuleSetVersion, action: str,
                   details: dict[str, Any]) -> None:
        """IN_REVIEW -> DRAFT (rejected or withdrawn), audited with who had submitted it."""
        submitted_by = v.submitted_by
        v.send_back()
        uow.audit.append(actor=p.actor, action=action, object_type="rule_set_version",
                         object_id=v.id, details={"contentHash": v.content_hash, **details,
                                                  "submittedBy": submitted_by})
        self._commit(uow)

    def publish(self, p: Principal, version_id: str, effective_from: date,
                expected_revision: int | None = None, *, retroactive: bool = False,
                reason: str | None = None) -> VersionView:
        """IN_REVIEW -> PUBLISHED, in force from ``effective_from`` (after the effective date
        of every published version of the program), by an approver of the department who
        neither wrote, edited nor submitted it. An ``effective_from`` before today changes
        answers already given: it needs ``retroactive`` and a ``reason``, both audited. The
        previous version's effectiveTo follows."""
        self.policy.may_approve(p, "publish")
        with self.uow() as uow:
            v = self._get(uow, version_id)
            self.policy.approve(p, self._owner(uow, v.rule_set_code), "publish")
            self._expect_status(v, VersionStatus.IN_REVIEW, "published")
            self._expect_revision(v, expected_revision)
            # Four eyes compares users: the author, the submitter and everyone who edited the
            # draft, by normalised login (one user however many tokens or spellings).
            writers = {_login(v.author), _login(v.submitted_by)} | {
                _login(e.actor) for e in _entries(uow, v.id, "ruleset.draft.update")}
            if _login(p.actor) in writers:
                msg = (f"{p.name} wrote, edited or submitted {v.rule_set_code} version "
                       f"{v.version}; another approver must publish it (four eyes)")
                raise InvalidInput(msg, [FieldError("id", "SAME_PERSON", msg)],
                                   code="SAME_PERSON")
            latest = max((x.effective_from for x in uow.rule_sets.list_published(
                v.rule_set_code) if x.effective_from is not None), default=None)
            if latest is not None and effective_from <= latest:
                msg = (f"effectiveFrom must be after {latest.isoformat()}, when the latest "
                       f"published version of {v.rule_set_code} took effect; got "
                       f"{effective_from.isoformat()}")
                raise InvalidInput(msg, [FieldError("effectiveFrom", "EFFECTIVE_FROM_TOO_EARLY",
                                                    msg)], code="EFFECTIVE_FROM_TOO_EARLY")
            today = uow.now().date()
            if effective_from < today and not retroactive:
                msg = (f"effectiveFrom {effective_from.isoformat()} is before today "
                       f"({today.isoformat()}): the version would change answers already "
                       "given; to publish it retroactively set retroactive: true and give "
                       "the reason")
                raise InvalidInput(msg, [FieldError("effectiveFrom", "RETROACTIVE", msg)],
                                   code="RETROACTIVE")
            if retroactive and not (reason or "").strip():
                msg = "a retroactive publication needs a reason (kept in the audit log)"
                raise InvalidInput(msg, [FieldError("reason", "REQUIRED", msg)])
            self._ready(uow, v, "published")
            v.publish(by=p.actor, at=uow.now(), effective_from=effective_from)
            uow.audit.append(actor=p.actor, action="ruleset.version.publish",
                             object_type="rule_set_version", object_id=v.id,
                             details={"contentHash": v.content_hash,
                                      "effectiveFrom": effective_from.isoformat(),
                                      "author": v.author, "submittedBy": v.submitted_by,
                                      "retroactive": effective_from < today,
                                      "reason": reason})
            self._commit(uow)
        self.app.invalidate()
        return self.view(v)

    def retire(self, p: Principal, version_id: str, reason: str | None = None,
               expected_revision: int | None = None) -> VersionView:
        """PUBLISHED -> RETIRED: no longer in force on any date."""
        self.policy.may_approve(p, "retire")
        with self.uow() as uow:
            v = self._get(uow, version_id)
            self.policy.approve(p, self._owner(uow, v.rule_set_code), "retire")
            self._expect_status(v, VersionStatus.PUBLISHED, "retired")
            self._expect_revision(v, expected_revision)
            v.retire(by=p.actor, at=uow.now())
            uow.audit.append(actor=p.actor, action="ruleset.version.retire",
                             object_type="rule_set_version", object_id=v.id,
                             details={"contentHash": v.content_hash, "reason": reason})
            self._commit(uow)
        self.app.invalidate()
        return self.view(v)

    @staticmethod
    def _expect_status(v: RuleSetVersion, status: VersionStatus, move: str) -> None:
        if v.status is not status:
            msg = (f"{v.rule_set_code} version {v.version} is {v.status.value}; only a "
                   f"{status.value} version can be {move}")
            raise Conflict(msg, [FieldError("id", "WRONG_STATUS", msg)], code="WRONG_STATUS")

    # -- diff ------------------------------------------------------------------------------

    def diff(self, p: Principal, version_id: str,
             against: str | None = None) -> DiffView | None:
        """What changed from ``against`` (default: the version this one is based on, else the
        one numbered before it) to this version; None when there is nothing to compare."""
        self.policy.read_rule_sets(p)
        with self.uow() as uow:
            v = self._get(uow, version_id)
            self._visible(p, v)
            if against is not None:
                old = self._get(uow, against)
                self._visible(p, old)
            elif v.based_on_id is not None:
                old = uow.rule_sets.get_version(v.based_on_id)
            else:
                earlier = [x for x in uow.rule_sets.list_versions(v.rule_set_code)
                           if x.version < v.version
                           and (x.status in FROZEN or self.policy.see_drafts(p))]
                if not earlier:
                    return None
                old = earlier[-1]
            d = diff_documents(old.to_document(), v.to_document())
            return DiffView(self.view(old), self.view(v), d)

    # -- impact ----------------------------------------------------------------------------

    def check_impact(self, p: Principal, version_id: str, first: int) -> None:
        """What ``impact`` refuses before it reads a household (a background job is refused
        by the same checks when it is started)."""
        self._impact_version(p, version_id, first)

    def _impact_version(self, p: Principal, version_id: str, first: int
                        ) -> tuple[RuleSetVersion, VersionView]:
        self.policy.review_rule_sets(p)
        if not 0 <= first <= MAX_IMPACT_EXAMPLES:
            msg = f"first must be between 0 and {MAX_IMPACT_EXAMPLES}, got {first}"
            raise InvalidInput(msg, [FieldError("first", "PAGE_SIZE", msg)], code="PAGE_SIZE")
        with self.uow() as uow:
            v = self._get(uow, version_id)
            self._may_review(p, self._owner(uow, v.rule_set_code))
            view = self.view(v)
        if v.rule_set_code in EVENT_PROGRAMS:
            msg = (f"{v.rule_set_code} raises alerts from department events; an impact preview "
                   "over stored households does not apply (its test cases do)")
            raise InvalidInput(msg, [FieldError("id", "NOT_APPLICABLE", msg)],
                               code="NOT_APPLICABLE")
        return v, view

    def impact(self, p: Principal, version_id: str, as_of: date,
               region_codes: Sequence[str] | None = None, first: int = 100,
               on_progress: Callable[[int], None] | None = None) -> ImpactReport:
        """Every stored household (or those of ``region_codes``) evaluated as of ``as_of``
        under this version and under the version of its program in force then, through the
        batch backend (``engine.impact.frame_impact``), ``IMPACT_BATCH`` households at a time:
        their stored facts go straight into the batch input frames, validated as
        ``parse_household`` validates them (a batch whose exact text this process validated
        for the same date before is taken as it was then: ``services.impact_cache``). A
        household whose facts are invalid on ``as_of`` (e.g. a member born after it), or that
        the engine cannot evaluate, is skipped.
        ``on_progress`` is told the households counted so far after each batch."""
        started = time.perf_counter()
        v, view = self._impact_version(p, version_id, first)
        draft = self._compiled(v)
        # A draft is in no catalog: its reference is made from the stored version.
        draft_version = VersionRef(view.id, view.rule_set, view.version, view.status,
                                   view.effective_from, None, draft.content_hash)
        catalog = self.app.catalog()
        record = catalog.version_in_force(v.rule_set_code, as_of)
        baseline = record.program if record is not None else None
        baseline_ref = catalog.ref(record) if record is not None else None
        versions = [(baseline, baseline_ref) if baseline is not None and baseline_ref
                    is not None else None, (draft, draft_version)]
        tally = Tally(keep=first)
        kept: dict[str, dict[str, Any]] = {}  # the facts of the households listed in full
        skipped: list[str] = []
        # Batches are validated and evaluated in worker threads (most of it in Arrow's JSON
        # reader and polars, which release the GIL) while the next is read from the
        # database; they are counted in order.
        with self.uow() as uow, ThreadPoolExecutor(IMPACT_THREADS,
                                                   thread_name_prefix="impact") as pool:
            regions = covered_codes(region_codes, uow.households.region_codes()) if region_codes \
                else None
            pending: deque[Future[_Evaluated]] = deque()
            # The facts as stored (JSON texts), read in columns of three, not as objects.
            for batch in uow.households.facts_texts(region_codes=regions,
                                                    batch_size=IMPACT_BATCH):
                pending.append(pool.submit(_evaluate, batch, as_of, versions,
                                           self.checked))
                if len(pending) > IMPACT_THREADS:
                    _count(tally, kept, skipped, pending.popleft().result())
                    if on_progress is not None:
                        on_progress(tally.households + len(skipped))
            while pending:
                _count(tally, kept, skipped, pending.popleft().result())
                if on_progress is not None:
                    on_progress(tally.households + len(skipped))
        changes = tuple(_explained(h, kept[h.household_id], as_of, baseline, baseline_ref,
                                   draft, draft_version)
                        for h in tally.examples)
        # Who may not read a household sees it pseudonymised (services.pseudonyms).
        hidden = [h for h in changes if not self.policy.household_visible(p, h.region_code)]
        reveal_skipped = self.policy.household_visible_everywhere(p)
        if hidden or (skipped and not reveal_skipped):
            with self.uow() as uow:
                names = Pseudonyms(uow.secrets.get_or_create(PSEUDONYM_KEY))
                uow.commit()
            shown = [h for h in changes if self.policy.household_visible(p, h.region_code)]
            changes = tuple(shown) + tuple(sorted((_pseudonymised(h, names) for h in hidden),
                                                  key=lambda h: h.household_id))
            if not reveal_skipped:
                skipped = [names.household(hid) for hid in skipped]
        report = ImpactReport(
            as_of=as_of, version=view, baseline=baseline_ref,
            households=tally.households, skipped=len(skipped), gained=tally.gained,
            lost=tally.lost, changed=tally.changed, unchanged=tally.unchanged,
            annual_amount_before=tally.annual_before, annual_amount_after=tally.annual_after,
            one_off_amount_before=tally.once_before, one_off_amount_after=tally.once_after,
            regions=tuple(sorted(tally.regions.values(), key=lambda r: r.region_code)),
            changed_households=changes, changed_total=tally.changed_total,
            seconds=time.perf_counter() - started, skipped_ids=tuple(skipped[:100]),
            pseudonymised=bool(hidden),
        )
        with self.uow() as uow:
            uow.audit.append(actor=p.actor, action="ruleset.draft.impact",
                             object_type="rule_set_version", object_id=v.id,
                             details={"revision": v.revision, "asOf": as_of.isoformat(),
                                      "regionCodes": list(region_codes or []),
                                      "baseline": report.baseline.id if report.baseline
                                      else None,
                                      "households": report.households,
                                      "gained": report.gained, "lost": report.lost,
                                      "changed": report.changed,
                                      "pseudonymised": len(hidden)})
            self._commit(uow)
        return report


def _entries(uow: UnitOfWork, object_id: str, action: str) -> list[Any]:
    out: list[Any] = []
    after = None
    while True:
        page = uow.audit.page(1000, after, action=action, object_id=object_id)
        out.extend(page.items)
        if not page.has_next_page:
            return out
        after = page.end_cursor


@contextmanager
def _busy(field: str) -> Iterator[None]:
    """Another writer got in the way where no more particular answer is given (SQLite's
    "database is locked" once the busy timeout ran out, a stale snapshot): the caller's
    ``CONFLICT`` ("re-read and retry"), not an internal error; nothing was kept."""
    try:
        yield
    except ConflictError as exc:
        raise Conflict(str(exc), [FieldError(field, "CONFLICT", str(exc))]) from None


def _summary(d: VersionDiff) -> dict[str, Any]:
    """What an update changed, for the audit log."""
    return {
        "parameters": [{"name": x.name, "kind": x.kind, "old": x.old_value, "new": x.new_value}
                       for x in d.parameters],
        "definitions": [{"name": x.name, "kind": x.kind} for x in d.definitions],
        "rules": [{"id": x.id, "kind": x.kind, "fields": [c.field for c in x.changes]}
                  for x in d.rules],
        "tests": [{"name": x.name, "kind": x.kind} for x in d.tests],
        "metadata": [c.field for c in d.metadata],
    }


_Batch = list[tuple[str, str, str]]  # stored households: id, region code, facts (JSON text)
# A batch and, per household of it, its row in the evaluated frames (None: not valid on as_of).
_Evaluated = tuple[_Batch, list[int | None], FrameImpact]


def _evaluate(batch: _Batch, as_of: date,
              versions: Sequence[tuple[Program, VersionRef] | None],
              checked_batches: CheckedBatches) -> _Evaluated:
    """A batch of stored households, validated as ``parse_household`` validates them and
    evaluated under both versions (``engine.impact.frame_impact``: outcome tables only for
    the households whose outcomes may differ)."""
    # One JSON text a line (stored JSON has no raw newline: JSON escapes them in strings),
    # validated in columns; line n is the batch's household n - 1.
    block = "\n".join(facts if "\n" not in facts else json.dumps(json.loads(facts))
                      for _, _, facts in batch).encode("utf-8") + b"\n"
    checked = checked_batches.check(block, len(batch), as_of)
    before, after = versions
    result = frame_impact(checked.households, checked.members, as_of, before, after)
    rows: list[int | None] = [None] * len(batch)
    for h, line in enumerate(checked.first_rows.to_list()):
        rows[line - 1] = h
    return batch, rows, result


def _count(tally: Tally, kept: dict[str, dict[str, Any]], skipped: list[str],
           evaluated: _Evaluated) -> None:
    """Count an evaluated batch in ``tally``, keeping the facts of the households it lists in
    full; the households invalid on ``as_of`` or that the engine could not evaluate are
    ``skipped``. Households compared in columns are counted by region in columns; the first
    changed ones (as many as ``tally`` still lists) and those compared by their tables are
    taken one by one, in the batch's order."""
    batch, rows, result = evaluated
    tables, errors = result.tables, result.errors
    one_by_one: list[tuple[int, int]] = []  # (position in the batch, household row)
    for i, ((hid, _, _), h) in enumerate(zip(batch, rows, strict=True)):
        if h is None or h in errors:
            skipped.append(hid)  # e.g. a member born after as_of
        elif h in tables:
            one_by_one.append((i, h))
    placed = pl.DataFrame({"i": pl.int_range(len(batch), dtype=pl.UInt32, eager=True),
                           "h": pl.Series(rows, dtype=pl.UInt32),
                           "region": [region for _, region, _ in batch]}).join(
        result.counted, on="h", how="inner")
    kind = pl.col("kind")
    for r in placed.group_by("region").agg(
            pl.len().alias("households"), (kind == "GAINED").sum().alias("gained"),
            (kind == "LOST").sum().alias("lost"), (kind == "CHANGED").sum().alias("changed"),
            pl.col("annual_before").sum(), pl.col("annual_after").sum(),
            pl.col("once_before").sum(), pl.col("once_after").sum()).iter_rows(named=True):
        tally.add_region(RegionImpact(
            region_code=r["region"], households=r["households"], gained=r["gained"],
            lost=r["lost"], changed=r["changed"], annual_before_fen=r["annual_before"],
            annual_after_fen=r["annual_after"], once_before_fen=r["once_before"],
            once_after_fen=r["once_after"]))
    room = tally.keep - len(tally.examples)
    listed = placed.filter(kind.is_not_null()).sort("i").head(max(room, 0)).select(
        "i", "h", "annual_before", "annual_after").rows()
    shown = result.tables_of([h for _, h, _, _ in listed])
    money = {h: (ab, aa) for _, h, ab, aa in listed}
    for i, h in sorted([(i, h) for i, h, _, _ in listed] + one_by_one):
        hid, region, facts = batch[i]
        examples = len(tally.examples)
        if h in tables:
            tally.add(hid, region, *tables[h])
        else:
            tally.keep_example(hid, region, compare(*shown[h]), *money[h])
        if len(tally.examples) > examples:
            kept[hid] = json.loads(facts)


def _pseudonymised(h: HouseholdChangeView, names: Pseudonyms) -> HouseholdChangeView:
    """A changed household as someone who may not read it sees it: pseudonyms for its id and
    its members' ids, and of each side's reasons only the conditions the draft changed."""
    outcomes = []
    for c in h.outcomes:
        keep = changed_conditions(c.before, c.after)
        member = names.member(h.household_id, c.member_id)
        outcomes.append(OutcomeChangeView(c.code, member, c.kind,
                                          reduced(c.before, keep, member, c.after),
                                          reduced(c.after, keep, member, c.before)))
    return HouseholdChangeView(names.household(h.household_id), h.region_code, h.kind,
                               h.annual_amount_before, h.annual_amount_after, tuple(outcomes),
                               pseudonymised=True)


def _explained(h: HouseholdImpact, facts: dict[str, Any], as_of: date,
               baseline: Program | None, baseline_ref: VersionRef | None, draft: Program,
               draft_version: VersionRef) -> HouseholdChangeView:
    """A changed household with both sides' outcomes explained (reasons, citations)."""
    hh = parse_household(facts, as_of)
    after = {(o.code, o.member_id): o
             for o in determine(hh, as_of, [(draft, draft_version)]).outcomes()}
    before: dict[tuple[str, str | None], Outcome] = {}
    if baseline is not None and baseline_ref is not None:
        before = {(o.code, o.member_id): o
                  for o in determine(hh, as_of, [(baseline, baseline_ref)]).outcomes()}

    def change(c: OutcomeChange) -> OutcomeChangeView:
        key = (c.code, c.member_id)
        return OutcomeChangeView(c.code, c.member_id, c.kind, before.get(key), after.get(key))

    return HouseholdChangeView(h.household_id, h.region_code, h.kind, h.annual_before,
                               h.annual_after, tuple(change(c) for c in h.changes))

