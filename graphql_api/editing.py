"""Rule-set editing in the schema: the query field ``ruleSetVersion`` and the mutations policy
staff move a version through (the public contract's "Rule-set editing"), as thin calls into
``services.editing``. Expected failures (a stale revision, a failing test, an invalid document)
are ``userErrors``; a missing or insufficient token is a GraphQL error, as everywhere."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.scalars import JSON

from graphql_api.errors import UserError, service_error, user_errors
from graphql_api.messages import message
from graphql_api.types import (
    ImpactReport,
    ParameterChangeInput,
    RuleSetVersion,
    TestCaseResult,
    ValidationIssue,
)
from services.editing import ParameterChange
from services.errors import ServiceError

T = TypeVar("T")


def _attempt(fn: Callable[[], T]) -> tuple[T | None, list[UserError]]:

    try:
        return fn(), []
    except ServiceError as exc:
        return None, user_errors(exc)


def _editing(info: strawberry.Info) -> Any:
    return info.context.app.editing


@strawberry.type
class RuleSetVersionPayload:
    version: RuleSetVersion | None
    user_errors: list[UserError]


@strawberry.type
class RuleSetDraftValidatePayload:
    version: RuleSetVersion | None
    valid: bool = strawberry.field(description="No ERROR issues (warnings do not count).")
    issues: list[ValidationIssue]
    user_errors: list[UserError]


@strawberry.type
class RuleSetDraftTestPayload:
    version: RuleSetVersion | None
    passed: bool
    total: int
    failed: int
    cases: list[TestCaseResult]
    user_errors: list[UserError]


@strawberry.type
class RuleSetDraftImpactPayload:
    impact: ImpactReport | None
    user_errors: list[UserError]


@strawberry.enum(description="Where a background impact preview is. 影响预览任务的状态。")
class ImpactJobStatus(Enum):
    QUEUED = strawberry.enum_value("QUEUED", description="等待运行 / waiting to run")
    RUNNING = strawberry.enum_value("RUNNING", description="正在运行 / running")
    DONE = strawberry.enum_value("DONE", description="已完成，result 可读 / done: read result")
    FAILED = strawberry.enum_value("FAILED", description="未完成，见 error / failed: see error")


@strawberry.type(description="An impact preview running in the background "
                 "(ruleSetDraftImpactStart); poll ruleSetDraftImpactJob until it is DONE or "
                 "FAILED. Only the user who started it reads it. 后台运行的影响预览。")
class ImpactJob:
    id: strawberry.ID = strawberry.field(description="The job's id (poll it with "
                                         "ruleSetDraftImpactJob). 任务编号。")
    version_id: strawberry.ID = strawberry.field(description="The draft previewed.")
    as_of: date = strawberry.field(description="The date the households are evaluated on.")
    region_codes: list[str] = strawberry.field(
        description="The regions asked for (empty: every stored household).")
    first: int = strawberry.field(description="Changed households listed in full, at most.")
    households_done: int = strawberry.field(
        description="Households counted so far (written after each batch).")
    households_total: int = strawberry.field(
        description="Households stored when the job was started (in regionCodes).")
    created_at: datetime = strawberry.field(description="When it was started.")
    updated_at: datetime = strawberry.field(description="The job's last progress.")
    finished_at: datetime | None = strawberry.field(description="When it became DONE or "
                                                    "FAILED.")

    @strawberry.field(description="QUEUED, RUNNING, DONE (result is set) or FAILED (error is "
                      "set; INTERRUPTED when the process running it stopped).")
    def status(self) -> ImpactJobStatus:
        return ImpactJobStatus(_job(self).status)

    @strawberry.field(description="The report, once DONE (as ruleSetDraftImpact's).")
    def result(self) -> ImpactReport | None:
        return _job(self).report  # type: ignore[no-any-return]

    @strawberry.field(description="Why it FAILED: the refusal the preview met, or "
                      "INTERRUPTED.")
    def error(self) -> UserError | None:
        job = _job(self)
        if job.error_code is None:
            return None
        return UserError(field=None, code=job.error_code,
                         message=message(job.error_code, job.error_message or ""))


def _job(root: Any) -> Any:
    return root


@strawberry.type
class RuleSetDraftImpactJobPayload:
    job: ImpactJob | None = strawberry.field(description="The job started (null when "
                                             "refused: see userErrors).")
    user_errors: list[UserError]


def _version_payload(info: strawberry.Info, fn: Callable[[], Any]) -> RuleSetVersionPayload:
    version, errors = _attempt(fn)
    return RuleSetVersionPayload(version=version, user_errors=errors)


@strawberry.type
class EditingQuery:
    @strawberry.field(description="A rule-set version by id (drafts only for policy staff).")
    def rule_set_version(self, info: strawberry.Info,
                         id: strawberry.ID) -> RuleSetVersion | None:

        try:
            return _editing(info).version(info.context.principal, str(id))  # type: ignore[no-any-return]
        except ServiceError as exc:
            if exc.code == "NOT_FOUND":
                return None
            raise service_error(exc) from None

    @strawberry.field(description="A background impact preview you started "
                      "(ruleSetDraftImpactStart), with its progress and, once DONE, its "
                      "report; null when there is none of yours with this id.")
    def rule_set_draft_impact_job(self, info: strawberry.Info,
                                  id: strawberry.ID) -> ImpactJob | None:
        try:
            return info.context.app.impact_jobs.get(  # type: ignore[no-any-return]
                info.context.principal, str(id))
        except ServiceError as exc:
            if exc.code == "NOT_FOUND":
                return None
            raise service_error(exc) from None


@strawberry.type
class EditingMutation:
    @strawberry.mutation(description="Start a DRAFT of a rule set, copied from a published "
                         "version (default: the latest to take effect). One open draft per "
                         "rule set.")
    def rule_set_draft_create(
        self, info: strawberry.Info, rule_set: str,
        from_: Annotated[strawberry.ID | None, strawberry.argument(name="from")] = None,
    ) -> RuleSetVersionPayload:
        p = info.context.principal
        return _version_payload(info, lambda: _editing(info).create_draft(
            p, rule_set, str(from_) if from_ is not None else None))

    @strawberry.mutation(description="Change a DRAFT: a whole new document (JSON, as "
                         "RuleSetVersion.document gives it) and/or parameter values. "
                         "expectedRevision is the revision you read; if someone changed the "
                         "draft since, nothing is saved and userErrors has CONFLICT.")
    def rule_set_draft_update(
        self, info: strawberry.Info, id: strawberry.ID, expected_revision: int,
        document: JSON | None = None,
        parameters: list[ParameterChangeInput] | None = None,
    ) -> RuleSetVersionPayload:
        p = info.context.principal
        changes = [
            ParameterChange(
                c.name, c.value, c.unit,
                None if c.citation is None else {"document": c.citation.document,
                                                 "clause": c.citation.clause,
                                                 "quote": c.citation.quote,
                                                 "url": c.citation.url})
            for c in parameters or []
        ]
        if document is not None and not isinstance(document, dict):
            errors = [UserError(field="document", code="WRONG_TYPE",
                                message=message("WRONG_TYPE",
                                                "the document is a JSON object"))]
            return RuleSetVersionPayload(version=None, user_errors=errors)
        return _version_payload(info, lambda: _editing(info).update_draft(
            p, str(id), expected_revision, document, changes))

    @strawberry.mutation(description="Check a version without running it (or check document, "
                         "unsaved, as its next content): conditions, names, citations, "
                         "exclusive groups, amounts, outcome codes.")
    def rule_set_draft_validate(
        self, info: strawberry.Info, id: strawberry.ID, document: JSON | None = None,
    ) -> RuleSetDraftValidatePayload:
        p = info.context.principal
        if document is not None and not isinstance(document, dict):
            errors = [UserError(field="document", code="WRONG_TYPE",
                                message=message("WRONG_TYPE",
                                                "the document is a JSON object"))]
            return RuleSetDraftValidatePayload(version=None, valid=False, issues=[],
                                               user_errors=errors)
        result, errors = _attempt(lambda: _editing(info).validate(p, str(id), document))
        if result is None:
            return RuleSetDraftValidatePayload(version=None, valid=False, issues=[],
                                               user_errors=errors)
        return RuleSetDraftValidatePayload(version=result.version, valid=result.valid,
                                           issues=list(result.issues), user_errors=[])

    @strawberry.mutation(description="Run the version's own test cases against it.")
    def rule_set_draft_test(self, info: strawberry.Info,
                            id: strawberry.ID) -> RuleSetDraftTestPayload:
        p = info.context.principal
        result, errors = _attempt(lambda: _editing(info).run_tests(p, str(id)))
        if result is None:
            return RuleSetDraftTestPayload(version=None, passed=False, total=0, failed=0,
                                           cases=[], user_errors=errors)
        return RuleSetDraftTestPayload(version=result.version, passed=result.passed,
                                       total=len(result.cases), failed=result.failed,
                                       cases=list(result.cases), user_errors=[])

    @strawberry.mutation(description="Re-evaluate the stored households (or those of "
                         "regionCodes) as of asOf under the draft and under the version in "
                         "force: who gains, loses or changes, totals, by region, and the first "
                         "changed households with reasons on both sides.")
    def rule_set_draft_impact(
        self, info: strawberry.Info, id: strawberry.ID, as_of: date,
        region_codes: list[str] | None = None, first: int = 100,
    ) -> RuleSetDraftImpactPayload:
        p = info.context.principal
        result, errors = _attempt(lambda: info.context.app.impacts.impact(
            p, str(id), as_of, region_codes, first))
        return RuleSetDraftImpactPayload(impact=result, user_errors=errors)

    @strawberry.mutation(description="Start ruleSetDraftImpact's preview in the background "
                         "and return at once: poll ruleSetDraftImpactJob(id) for its progress "
                         "and report. Refused as the preview itself would be, and while "
                         "too many previews run (TOO_MANY_JOBS). 在后台开始影响预览。")
    def rule_set_draft_impact_start(
        self, info: strawberry.Info, id: strawberry.ID,
        as_of: Annotated[date, strawberry.argument(
            description="Evaluate the households as of this date.")],
        region_codes: Annotated[list[str] | None, strawberry.argument(
            description="Only these regions' households (and their villages').")] = None,
        first: int = 100,
    ) -> RuleSetDraftImpactJobPayload:
        p = info.context.principal
        job, errors = _attempt(lambda: info.context.app.impact_jobs.start(
            p, str(id), as_of, region_codes, first))
        return RuleSetDraftImpactJobPayload(job=job, user_errors=errors)

    @strawberry.mutation(description="DRAFT -> IN_REVIEW; refused unless the version validates "
                         "and its test cases pass.")
    def rule_set_version_submit(
        self, info: strawberry.Info, id: strawberry.ID, expected_revision: int | None = None,
    ) -> RuleSetVersionPayload:
        p = info.context.principal
        return _version_payload(info, lambda: _editing(info).submit(p, str(id),
                                                                     expected_revision))

    @strawberry.mutation(description="IN_REVIEW -> PUBLISHED, in force from effectiveFrom, by "
                         "an approver of the rule set's department who did not write, edit or "
                         "submit it (four eyes, by user). An effectiveFrom before today needs "
                         "retroactive: true and a reason (both audited). The previous "
                         "version's effectiveTo becomes the day before.")
    def rule_set_version_publish(
        self, info: strawberry.Info, id: strawberry.ID, effective_from: date,
        expected_revision: int | None = None, retroactive: bool = False,
        reason: str | None = None,
    ) -> RuleSetVersionPayload:
        p = info.context.principal
        return _version_payload(info, lambda: _editing(info).publish(
            p, str(id), effective_from, expected_revision, retroactive=retroactive,
            reason=reason))

    @strawberry.mutation(description="IN_REVIEW -> DRAFT: an approver of the rule set's "
                         "department sends the version back, with a comment saying what must "
                         "change (kept in the audit log).")
    def rule_set_version_reject(
        self, info: strawberry.Info, id: strawberry.ID, comment: str,
        expected_revision: int | None = None,
    ) -> RuleSetVersionPayload:
        p = info.context.principal
        return _version_payload(info, lambda: _editing(info).reject(
            p, str(id), comment, expected_revision))

    @strawberry.mutation(description="IN_REVIEW -> DRAFT: the version's author (or whoever "
                         "submitted it) takes it back.")
    def rule_set_version_withdraw(
        self, info: strawberry.Info, id: strawberry.ID, reason: str | None = None,
        expected_revision: int | None = None,
    ) -> RuleSetVersionPayload:
        p = info.context.principal
        return _version_payload(info, lambda: _editing(info).withdraw(
            p, str(id), reason, expected_revision))

    @strawberry.mutation(description="PUBLISHED -> RETIRED: no longer in force on any date.")
    def rule_set_version_retire(
        self, info: strawberry.Info, id: strawberry.ID, reason: str | None = None,
        expected_revision: int | None = None,
    ) -> RuleSetVersionPayload:
        p = info.context.principal
        return _version_payload(info, lambda: _editing(info).retire(
            p, str(id), reason, expected_revision))
