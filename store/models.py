"""The tables, as SQLAlchemy 2 typed declarative models (portable across SQLite and PostgreSQL).

    rule_sets ─< rule_set_versions (documents; PUBLISHED and RETIRED rows are frozen)
    households ─< household_fact_revisions (append-only fact history)
    households ─< determinations (append-only: facts snapshot, version hashes, result)
    audit_log (append-only), users ─< api_tokens (sha256 of the token only)
    events (idempotent by key), alerts (one per household, rule and cause)
    webhooks (one URL per api_client token) ─< webhook_deliveries (with their attempts)
    households ─< monitoring_cases ─< monitoring_case_entries (who did what at each step)
    households ─< visits, households ─< assistance_measures

Names of constraints follow ``NAMING_CONVENTION`` so the migration and the models agree.
What may never change is enforced twice: by the ORM listeners in ``store.immutability`` (a
clear ``ImmutableError`` before anything is sent) and by database triggers the migration
creates (whatever client sends the SQL). This module only declares; it does no I/O.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from policy.document import RuleSetDocument, load_document
from store.errors import ConflictError
from store.types import Json, UTCDateTime, utc_now

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class VersionStatus(StrEnum):
    """A rule-set version's lifecycle: DRAFT -> IN_REVIEW -> PUBLISHED -> RETIRED (and
    IN_REVIEW -> DRAFT when it is rejected or withdrawn)."""

    DRAFT = "DRAFT"
    IN_REVIEW = "IN_REVIEW"
    PUBLISHED = "PUBLISHED"
    RETIRED = "RETIRED"


FROZEN_STATUSES = frozenset({VersionStatus.PUBLISHED, VersionStatus.RETIRED})
OPEN_CONDITION = "status IN ('DRAFT', 'IN_REVIEW')"


class Role(StrEnum):
    """What a token's holder may do (the checks themselves live in the application layer)."""

    CASEWORKER = "caseworker"
    POLICY_EDITOR = "policy_editor"
    POLICY_APPROVER = "policy_approver"
    AUDITOR = "auditor"
    API_CLIENT = "api_client"
    TOWNSHIP_OFFICER = "township_officer"
    COUNTY_OFFICER = "county_officer"


class AlertStatus(StrEnum):
    """An early-warning alert: OPEN -> VERIFIED -> INCLUDED, or DISMISSED (with a reason)."""

    OPEN = "OPEN"
    VERIFIED = "VERIFIED"
    INCLUDED = "INCLUDED"
    DISMISSED = "DISMISSED"


def _enum(cls: type[StrEnum], name: str) -> Enum:
    # A VARCHAR with a CHECK on both backends (no PostgreSQL ENUM type to migrate later),
    # storing the values ("caseworker"), not the Python names ("CASEWORKER").
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def new_id() -> str:
    """A new random primary key (UUID 4, as text so SQLite and PostgreSQL store the same)."""
    return str(uuid.uuid4())


# SQLite only auto-increments an INTEGER PRIMARY KEY, not a BIGINT one.
AutoIncrementId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), date: Date()}


class RuleSet(Base):
    """A program (e.g. ``education``), owned by one department."""

    __tablename__ = "rule_sets"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class RuleSetVersion(Base):
    """One whole version of a rule set's document.

    ``document`` is the canonical document (``policy.document.canonical``: no effectiveFrom,
    defaults left out) and ``content_hash`` its sha256; ``effective_from`` lives in its own
    column because it is set at publication. Once PUBLISHED or RETIRED nothing but the move
    to RETIRED may change. ``revision`` counts every update (SQLAlchemy's version counter),
    so an update based on a stale read is refused.
    """

    __tablename__ = "rule_set_versions"
    __table_args__ = (
        UniqueConstraint("rule_set_code", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint(
            "status NOT IN ('PUBLISHED', 'RETIRED') OR (effective_from IS NOT NULL"
            " AND published_at IS NOT NULL AND published_by IS NOT NULL)",
            name="published_has_publication",
        ),
        CheckConstraint(
            "status <> 'RETIRED' OR (retired_at IS NOT NULL AND retired_by IS NOT NULL)",
            name="retired_has_retirement",
        ),
        # At most one open (DRAFT or IN_REVIEW) version per rule set, however many processes
        # race to create one (migration 0003).
        Index("uq_rule_set_versions_one_open", "rule_set_code", unique=True,
              postgresql_where=text(OPEN_CONDITION), sqlite_where=text(OPEN_CONDITION)),
    )

    # A UUID by default; seeding may choose readable ids such as "education-v1".
    id: Mapped[str] = mapped_column(String(100), primary_key=True, default=new_id)
    rule_set_code: Mapped[str] = mapped_column(ForeignKey("rule_sets.code"), index=True)
    version: Mapped[int]
    # active_history: the immutability listener must know the status a row had before.
    status: Mapped[VersionStatus] = mapped_column(
        _enum(VersionStatus, "version_status"), default=VersionStatus.DRAFT, active_history=True
    )
    effective_from: Mapped[date | None]
    document: Mapped[dict[str, Any]] = mapped_column(Json)
    content_hash: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer)
    based_on_id: Mapped[str | None] = mapped_column(ForeignKey("rule_set_versions.id"))
    author: Mapped[str] = mapped_column(String(100))
    submitted_by: Mapped[str | None] = mapped_column(String(100))
    submitted_at: Mapped[datetime | None]
    published_by: Mapped[str | None] = mapped_column(String(100))
    published_at: Mapped[datetime | None]
    retired_by: Mapped[str | None] = mapped_column(String(100))
    retired_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    # SQLAlchemy declares __mapper_args__ as an instance attribute, so no ClassVar here.
    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012

    @property
    def frozen(self) -> bool:
        """True once published: the document can no longer change."""
        return self.status in FROZEN_STATUSES

    def to_document(self) -> RuleSetDocument:
        """The stored document as the domain model, with this version's effectiveFrom."""
        return load_document(self.document).model_copy(
            update={"effectiveFrom": self.effective_from}
        )

    # The lifecycle moves. Who may make them (e.g. a publisher other than the author) is the
    # application layer's decision; these only refuse moves the lifecycle does not have.

    def submit(self, *, by: str, at: datetime) -> None:
        """DRAFT -> IN_REVIEW."""
        self._expect(VersionStatus.DRAFT, "submitted")
        self.status = VersionStatus.IN_REVIEW
        self.submitted_by, self.submitted_at = by, at

    def publish(self, *, by: str, at: datetime, effective_from: date) -> None:
        """IN_REVIEW -> PUBLISHED, in force from ``effective_from``; frozen from then on."""
        self._expect(VersionStatus.IN_REVIEW, "published")
        self.status = VersionStatus.PUBLISHED
        self.effective_from = effective_from
        self.published_by, self.published_at = by, at

    def send_back(self) -> None:
        """IN_REVIEW -> DRAFT: rejected by a reviewer or withdrawn by its author; editable
        again, and no longer submitted."""
        self._expect(VersionStatus.IN_REVIEW, "sent back to draft")
        self.status = VersionStatus.DRAFT
        self.submitted_by, self.submitted_at = None, None

    def retire(self, *, by: str, at: datetime) -> None:
        """PUBLISHED -> RETIRED."""
        self._expect(VersionStatus.PUBLISHED, "retired")
        self.status = VersionStatus.RETIRED
        self.retired_by, self.retired_at = by, at

    def _expect(self, status: VersionStatus, move: str) -> None:
        if self.status != status:
            raise ConflictError(
                f"{self.rule_set_code} version {self.version} is {self.status.value}; only a "
                f"{status.value} version can be {move}",
                expected=status.value,
                actual=self.status.value,
            )


class StoredHousehold(Base):
    """A household's current facts (the contract's household JSON, validated before saving)."""

    __tablename__ = "households"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(32), index=True)
    facts: Mapped[dict[str, Any]] = mapped_column(Json)
    # The facts' JSON text, kept by the database (migration 0011): read in bulk without
    # PostgreSQL making each jsonb value's text anew. Never loaded with the object.
    facts_text: Mapped[str] = mapped_column(
        Text, Computed("CAST(facts AS TEXT)", persisted=True), deferred=True)
    # Set by the repository (save bumps it); the UPDATE also checks the old value, so two
    # concurrent saves of one household cannot both win.
    revision: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)

    __mapper_args__ = {"version_id_col": revision, "version_id_generator": False}  # noqa: RUF012


class HouseholdFactRevision(Base):
    """One saved state of a household's facts (append-only)."""

    __tablename__ = "household_fact_revisions"

    household_id: Mapped[str] = mapped_column(ForeignKey("households.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    facts: Mapped[dict[str, Any]] = mapped_column(Json)
    recorded_at: Mapped[datetime] = mapped_column(default=utc_now)
    recorded_by: Mapped[str] = mapped_column(String(100))


class DeterminationRecord(Base):
    """A recorded evaluation: enough to replay it exactly (append-only).

    ``versions`` lists ``{program, versionId, version, contentHash}`` for every version used;
    ``household_id`` is null for an ad-hoc evaluation of facts that were not saved.
    """

    __tablename__ = "determinations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    household_id: Mapped[str | None] = mapped_column(ForeignKey("households.id"), index=True)
    household_revision: Mapped[int | None]
    region_code: Mapped[str] = mapped_column(String(32), index=True)
    as_of: Mapped[date]
    facts: Mapped[dict[str, Any]] = mapped_column(Json)
    versions: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    result: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    created_by: Mapped[str] = mapped_column(String(100))


class AuditEntry(Base):
    """Who did what to which object, and when (append-only, hash-chained)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(AutoIncrementId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utc_now)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    # The hash chain (store.audit_chain): the entry before's hash and this entry's own.
    prev_hash: Mapped[str] = mapped_column(String(64), server_default="")
    entry_hash: Mapped[str] = mapped_column(String(64), server_default="")


class InstallationSecret(Base):
    """A key this installation generated once (e.g. for pseudonyms); never changes."""

    __tablename__ = "installation_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class User(Base):
    """A person. ``login`` is normalised (``store.logins.normalise_login``) and unique, so every
    way of typing one name is one user; the four-eyes check compares users."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class ApiToken(Base):
    """A bearer token of one user, with its role and scope. Only the token's sha256 is
    stored. A token past ``expires_at`` or with ``revoked_at`` set authenticates nobody."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(_enum(Role, "token_role"))
    regions: Mapped[list[str]] = mapped_column(Json, default=list)
    department: Mapped[str | None] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]

    def active_at(self, now: datetime) -> bool:
        """Neither revoked nor expired at ``now``."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


class Event(Base):
    """A department feed's event about a household, stored before it is correlated.
    ``correlated_at`` stays null until the household's alerts have been brought up to date
    with it (an event of a household the store does not know waits for the household)."""

    __tablename__ = "events"
    __table_args__ = (Index(None, "household_id", "occurred_on"), Index(None, "correlated_at"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    household_id: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[str | None] = mapped_column(String(64))
    occurred_on: Mapped[date]
    payload: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utc_now)
    correlated_at: Mapped[datetime | None]


class Alert(Base):
    """An early-warning alert; one per (household, alert rule, cause), so replays never
    raise it twice."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("household_id", "rule", "cause"),
        Index(None, "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    household_id: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(32), index=True)
    rule: Mapped[str] = mapped_column(String(100))
    cause: Mapped[str] = mapped_column(String(200))
    member_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[AlertStatus] = mapped_column(
        _enum(AlertStatus, "alert_status"), default=AlertStatus.OPEN, index=True
    )
    explanation: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    event_ids: Mapped[list[str]] = mapped_column(Json, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None]
    resolution_note: Mapped[str | None] = mapped_column(Text)

    def resolve(self, status: AlertStatus, *, by: str, at: datetime, note: str | None) -> None:
        """Move a caseworker's decision onto the alert: OPEN -> VERIFIED -> INCLUDED, or
        DISMISSED from OPEN or VERIFIED. INCLUDED and DISMISSED are final."""
        allowed = _ALERT_MOVES[self.status]
        if status not in allowed:
            raise ConflictError(
                f"alert {self.id} is {self.status.value}; it can move to "
                f"{', '.join(s.value for s in allowed) or 'nothing (final)'}, not {status.value}",
                expected=sorted(s.value for s in allowed),
                actual=status.value,
            )
        self.status = status
        self.resolved_by, self.resolved_at, self.resolution_note = by, at, note
        self.updated_at = at


_ALERT_MOVES: dict[AlertStatus, frozenset[AlertStatus]] = {
    AlertStatus.OPEN: frozenset({AlertStatus.VERIFIED, AlertStatus.DISMISSED}),
    AlertStatus.VERIFIED: frozenset({AlertStatus.INCLUDED, AlertStatus.DISMISSED}),
    AlertStatus.INCLUDED: frozenset(),
    AlertStatus.DISMISSED: frozenset(),
}


class DeliveryStatus(StrEnum):
    """A webhook delivery: PENDING (to be tried, again after a failure), DELIVERED, or FAILED
    once every attempt failed."""

    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class IdempotencyKey(Base):
    """A client's ``Idempotency-Key`` on a call that creates a record: who sent it, what the
    call asked (a hash of its arguments) and what it created, so a retried call returns the
    first result instead of a second record."""

    __tablename__ = "idempotency_keys"

    actor: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    operation: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Webhook(Base):
    """Where an api_client wants alerts pushed: a URL, and the secret its bodies are signed with
    (HMAC-SHA256; the receiver holds the same secret)."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token_id: Mapped[str] = mapped_column(ForeignKey("api_tokens.id"), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))
    regions: Mapped[list[str]] = mapped_column(Json, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class WebhookDelivery(Base):
    """One alert to push to one webhook, and every attempt made (``log``)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index(None, "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id"), index=True)
    alert_id: Mapped[str] = mapped_column(String(36))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utc_now)
    log: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    delivered_at: Mapped[datetime | None]


class CaseKind(StrEnum):
    """What a monitoring case decides: inclusion (纳入监测) or risk elimination (风险消除)."""

    INCLUSION = "INCLUSION"
    RISK_ELIMINATION = "RISK_ELIMINATION"


class CaseStatus(StrEnum):
    """OPEN until the county approves it (APPROVED) or someone rejects it (REJECTED)."""

    OPEN = "OPEN"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class CaseStep(StrEnum):
    """The steps of a case, in order."""

    VERIFICATION = "VERIFICATION"
    COMPARISON = "COMPARISON"
    VILLAGE_REVIEW = "VILLAGE_REVIEW"
    TOWNSHIP_REVIEW = "TOWNSHIP_REVIEW"
    COUNTY_APPROVAL = "COUNTY_APPROVAL"


class CaseChannel(StrEnum):
    """How a case was found: an alert, the household's application, or a cadre's visit."""

    ALERT = "ALERT"
    APPLICATION = "APPLICATION"
    VISIT = "VISIT"


OPEN_CASE_CONDITION = "status = 'OPEN'"


class MonitoringCase(Base):
    """A monitoring case: one household, one kind, the steps of the identification procedure.

    ``revision`` counts every change (SQLAlchemy's version counter): of two decisions read at
    the same revision, the second to write is refused, so one wins. At most one OPEN case of a
    kind per household, however many processes race to open one (a partial unique index).
    """

    __tablename__ = "monitoring_cases"
    __table_args__ = (
        Index("uq_monitoring_cases_one_open", "household_id", "kind", unique=True,
              postgresql_where=text(OPEN_CASE_CONDITION),
              sqlite_where=text(OPEN_CASE_CONDITION)),
        Index(None, "opened_at", "id"),
        Index(None, "status", "step_due_on"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    household_id: Mapped[str] = mapped_column(ForeignKey("households.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[CaseKind] = mapped_column(_enum(CaseKind, "case_kind"))
    channel: Mapped[CaseChannel] = mapped_column(_enum(CaseChannel, "case_channel"))
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus, "case_status"),
                                               default=CaseStatus.OPEN)
    step: Mapped[CaseStep] = mapped_column(_enum(CaseStep, "case_step"))
    alert_id: Mapped[str | None] = mapped_column(String(36))
    visit_id: Mapped[str | None] = mapped_column(String(36))
    application_signed_on: Mapped[date | None]
    note: Mapped[str | None] = mapped_column(Text)
    procedure_version: Mapped[int] = mapped_column(Integer)
    procedure_hash: Mapped[str] = mapped_column(String(64))
    opened_on: Mapped[date]
    opened_at: Mapped[datetime] = mapped_column(default=utc_now)
    opened_by: Mapped[str] = mapped_column(String(100))
    due_on: Mapped[date]
    step_started_on: Mapped[date]
    step_due_on: Mapped[date]
    step_recorded: Mapped[bool] = mapped_column(default=False)
    notice_started_on: Mapped[date | None]
    notice_ends_on: Mapped[date | None]
    objections: Mapped[list[str]] = mapped_column(Json, default=list)
    determination_id: Mapped[str | None] = mapped_column(String(36))
    criteria_granted: Mapped[list[str]] = mapped_column(Json, default=list)
    criteria_reason: Mapped[str | None] = mapped_column(Text)
    criteria_reason_by: Mapped[str | None] = mapped_column(String(100))
    township_reviewer_id: Mapped[str | None] = mapped_column(String(36))
    township_reviewer: Mapped[str | None] = mapped_column(String(100))
    closed_on: Mapped[date | None]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(100))
    close_reason: Mapped[str | None] = mapped_column(Text)
    household_revision: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    revision: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012


class MonitoringCaseEntry(Base):
    """One thing done to a case (opened, a step recorded, a decision), with who and when."""

    __tablename__ = "monitoring_case_entries"
    __table_args__ = (Index(None, "case_id", "id"),)

    id: Mapped[int] = mapped_column(AutoIncrementId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("monitoring_cases.id"))
    step: Mapped[CaseStep] = mapped_column(_enum(CaseStep, "case_entry_step"))
    action: Mapped[str] = mapped_column(String(16))  # OPEN, RECORD, APPROVE, RETURN, REJECT
    on: Mapped[date]
    at: Mapped[datetime] = mapped_column(default=utc_now)
    actor: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[str | None] = mapped_column(String(36))
    details: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class Visit(Base):
    """A cadre's regular visit (干部定期回访): what was seen, and the facts it changed."""

    __tablename__ = "visits"
    __table_args__ = (Index(None, "household_id", "visited_on"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    household_id: Mapped[str] = mapped_column(ForeignKey("households.id"))
    region_code: Mapped[str] = mapped_column(String(32), index=True)
    visited_on: Mapped[date]
    observations: Mapped[str] = mapped_column(Text)
    facts_changed: Mapped[list[str]] = mapped_column(Json, default=list)
    household_revision: Mapped[int | None]
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(default=utc_now)


class AssistanceMeasure(Base):
    """A measure (帮扶措施) a monitoring object receives against one of its risks, recorded by
    hand (e.g. a 公益性岗位 placement); granted benefits come from its determination."""

    __tablename__ = "assistance_measures"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    household_id: Mapped[str] = mapped_column(ForeignKey("households.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(32))
    risk: Mapped[str] = mapped_column(String(100))
    measure: Mapped[str] = mapped_column(String(200))
    started_on: Mapped[date]
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(default=utc_now)


class ImpactJob(Base):
    """An impact preview running (or run) in the background: who asked (``actor``; only they
    read it, since what it shows depends on what they may read), what was asked, how far it
    is, and the report when done (``services.impact_jobs``)."""

    __tablename__ = "impact_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    version_id: Mapped[str] = mapped_column(String(36))
    as_of: Mapped[date]
    region_codes: Mapped[list[str]] = mapped_column(Json, default=list)
    first: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), index=True)
    households_done: Mapped[int] = mapped_column(default=0)
    households_total: Mapped[int] = mapped_column(default=0)
    result: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ServiceCounter(Base):
    """A counter the serving processes share (``store.counters``): ``tokens`` is bumped by
    triggers on every change of ``api_tokens`` or ``users``; ``impact_jobs`` is the row whose
    lock serialises the start of impact jobs."""

    __tablename__ = "service_counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
