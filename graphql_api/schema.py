"""The schema: Query and Mutation as thin calls into the use cases (services.application)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, TypeVar, cast

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaskErrors
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.types.arguments import InputContext

from graphql_api.audit import AuditQuery
from graphql_api.cases import CasesMutation, CasesQuery, VisitsMutation
from graphql_api.descriptions import describe_schema
from graphql_api.editing import EditingMutation, EditingQuery
from graphql_api.errors import UserError, call, service_error, user_errors
from graphql_api.inputs import HOUSEHOLD_DEPRECATED, HouseholdJSON, coerced_to_json
from graphql_api.limits import Limits, deadline_rule
from graphql_api.messages import message
from graphql_api.node import NodeQuery
from graphql_api.observability import (
    count_determination,
    count_determinations,
    log_internal_error,
)
from graphql_api.projection import ProjectingExecutionContext
from graphql_api.strings import string_rule
from graphql_api.types import (
    Determination,
    DeterminationRecord,
    Household,
    HouseholdConnection,
    HouseholdEdge,
    HouseholdFactsInput,
    HouseholdFilter,
    HouseholdInput,
    PageInfo,
    RuleSet,
    wrap_determination,
)
from graphql_api.validation_cache import DocumentCache
from graphql_api.viewer import ViewerQuery
from graphql_api.warning import Subscription, WarningMutation, WarningQuery
from policy.errors import FieldError
from services.application import HOUSEHOLD_OR_FACTS, Application, BatchItem, renamed
from services.auth import Principal
from services.config import Settings
from services.errors import InvalidInput, ServiceError
from store.pagination import encode_cursor


@dataclass
class Context:
    app: Application
    principal: Principal
    today: date
    cache: dict[str, Any] = field(default_factory=dict)  # per request, e.g. stored versions
    authorization: str = ""  # the header, looked up off the event loop
    log: dict[str, Any] = field(default_factory=dict)  # fields of the request's log line
    language: str = "zh"  # of messages: "zh" or "en" (Accept-Language)
    idempotency_key: str | None = None  # the Idempotency-Key header
    client: str = ""  # the client's address (anonymous callers' rate limit)


T = TypeVar("T")

PROGRAMS = ("Only these programs (rule-set codes, e.g. education); null: every program. An "
            "unknown code is an UNKNOWN_PROGRAM error. 只评估这些项目。")


def _info_context(info: strawberry.Info) -> Context:
    ctx: Context = info.context
    return ctx


@strawberry.type
class Query(EditingQuery, ViewerQuery, AuditQuery, WarningQuery, NodeQuery, CasesQuery):
    @strawberry.field(description="Evaluate a household (not stored) under the versions in force "
                      "on asOf.")
    def evaluate(
        self, info: strawberry.Info, as_of: Annotated[date, strawberry.argument(
            description="Evaluate under the versions in force on this day. 评估日期。")],
        household: Annotated[HouseholdJSON | None, strawberry.argument(
            description="The household's facts, closed sets as strings.",
            deprecation_reason=HOUSEHOLD_DEPRECATED,
            graphql_type=HouseholdInput | None)] = None,
        facts: Annotated[HouseholdJSON | None, strawberry.argument(
            description="The household's facts, closed sets as enums (give facts or "
            "household). 家庭信息。", graphql_type=HouseholdFactsInput | None)] = None,
        programs: Annotated[list[str] | None, strawberry.argument(
            description=PROGRAMS)] = None,
    ) -> Determination:
        return cast(Determination, _evaluate(
            _info_context(info), _facts(household, facts), as_of, programs,
            "facts" if household is None else "household"))

    @strawberry.field(description="Evaluate many households (not stored), each as of its own "
                      "date: one result per item, in order, each its determination or its own "
                      "errors (an invalid item does not stop the others). At most "
                      "POLICY_ENGINE_MAX_BATCH_ITEMS items (default 500); a request that asks "
                      "whatWouldChange of more than POLICY_ENGINE_MAX_WHAT_IF_ITEMS of them "
                      "(default 20, counted over its evaluateMany fields) is refused before "
                      "anything is evaluated (WHAT_IF_LIMIT). 批量评估：每项一个结果，"
                      "顺序不变；某项无效只影响该项；一次请求最多为 20 户（默认）"
                      "计算怎样会改变结果。")
    def evaluate_many(
        self, info: strawberry.Info, items: list[EvaluateItem],
        programs: list[str] | None = None,
    ) -> list[EvaluateResult]:
        return _evaluate_many(_info_context(info), [
            BatchItem(i.key, _one(i.household, i.facts), i.as_of,
                      "facts" if i.household is None else "household")
            for i in items], programs)

    @strawberry.field
    def rule_sets(self, info: strawberry.Info) -> list[RuleSet]:
        ctx = _info_context(info)
        return cast(list[RuleSet], call(lambda: ctx.app.rule_sets(ctx.principal)))

    @strawberry.field
    def rule_set(self, info: strawberry.Info, code: str) -> RuleSet | None:
        ctx = _info_context(info)
        return call(lambda: ctx.app.rule_set(ctx.principal, code))  # type: ignore[return-value]

    @strawberry.field(description="A stored household, if it exists and you may see it.")
    def household(self, info: strawberry.Info, id: strawberry.ID) -> Household | None:
        ctx = _info_context(info)
        try:
            return ctx.app.household(ctx.principal, str(id))  # type: ignore[return-value]
        except ServiceError as exc:
            if exc.code == "NOT_FOUND":
                return None
            raise service_error(exc) from None

    @strawberry.field(description="Stored households you may read, by id, a page at a time "
                      "(a Relay connection): first/after forwards, last/before backwards; first "
                      "or last is required (1 to 100). 已存储的家庭（分页）。")
    def households(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
        filter: HouseholdFilter | None = None,
        last: Annotated[int | None, strawberry.argument(
            description="How many items from the end (1 to 100).")] = None,
        before: Annotated[str | None, strawberry.argument(
            description="Only items before this cursor (an edge's cursor or "
            "pageInfo.startCursor).")] = None,
    ) -> HouseholdConnection:
        ctx = _info_context(info)
        page, total = call(lambda: ctx.app.households(
            ctx.principal, first, after,
            region_codes=filter.region_codes if filter else None,
            id_prefix=filter.id_prefix if filter else None, last=last, before=before,
        ))
        edges = [HouseholdEdge(cursor=encode_cursor(h.id), node=h) for h in page.items]  # type: ignore[arg-type]
        return HouseholdConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor,
                               has_previous_page=page.has_previous_page,
                               start_cursor=page.start_cursor),
            total_count=total,
        )

    @strawberry.field(description="A recorded determination, if you may see it.")
    def determination_record(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> DeterminationRecord | None:
        ctx = _info_context(info)
        try:
            return ctx.app.determination_record(ctx.principal, str(id))  # type: ignore[return-value]
        except ServiceError as exc:
            if exc.code == "NOT_FOUND":
                return None
            raise service_error(exc) from None


@strawberry.input(description="One household of evaluateMany. 批量评估的一户。")
class EvaluateItem:
    key: str = strawberry.field(description="The caller's key for this item, returned with its "
                                "result; unique within the call. 调用方的标识，随结果返回。")
    household: HouseholdJSON | None = strawberry.field(
        default=None, description="The household's facts, closed sets as strings.",
        deprecation_reason=HOUSEHOLD_DEPRECATED, graphql_type=HouseholdInput | None)
    facts: HouseholdJSON | None = strawberry.field(
        default=None, description="The household's facts, closed sets as enums (give facts or "
        "household). 家庭信息。", graphql_type=HouseholdFactsInput | None)
    as_of: date = strawberry.field(description="Evaluate under the versions in force on this "
                                   "day. 评估日期。")


def _evaluate_item(cls: type[EvaluateItem], value: Mapping[str, Any],
                   _context: InputContext) -> EvaluateItem:
    """strawberry's ``from_input`` hook of ``EvaluateItem``: the item built in one call from
    graphql-core's coerced value (its households as household JSON, as ``household_json``
    builds them), instead of field by field (a 500-item call spent more on that than on
    answering remembered households)."""
    household, facts = value.get("household"), value.get("facts")
    return cls(key=value["key"], as_of=value["asOf"],
               household=None if household is None else coerced_to_json(household),
               facts=None if facts is None else coerced_to_json(facts))


# Declared with the hook before any schema reads it (strawberry's decorator takes no
# from_input argument; graphql_api.inputs declares the household inputs' the same way).
EvaluateItem.__strawberry_definition__.from_input = _evaluate_item  # type: ignore[attr-defined]


@strawberry.type(description="One item's answer: its determination, or its errors. "
                 "批量评估中一项的结果。")
class EvaluateResult:
    key: str = strawberry.field(description="The item's key as sent. 调用方的标识。")
    determination: Determination | None = strawberry.field(
        description="Null when the item has errors. 有错误时为空。")
    errors: list[UserError] = strawberry.field(
        description="The item's own problems, with field paths from the call's arguments "
        "(e.g. items[3].facts.members[1].birthDate). 该项的问题及字段路径。")


@strawberry.type
class HouseholdSavePayload:
    household: Household | None
    user_errors: list[UserError]


@strawberry.type
class HouseholdDeterminePayload:
    record: DeterminationRecord | None
    determination: Determination | None
    user_errors: list[UserError]


@strawberry.type
class Mutation(EditingMutation, WarningMutation, CasesMutation, VisitsMutation):
    @strawberry.mutation(description="Save a household's facts as a new revision.")
    def household_save(
        self, info: strawberry.Info,
        household: Annotated[HouseholdJSON | None, strawberry.argument(
            description="The household's facts, closed sets as strings.",
            deprecation_reason=HOUSEHOLD_DEPRECATED,
            graphql_type=HouseholdInput | None)] = None,
        expected_revision: Annotated[int | None, strawberry.argument(
            description="The revision the household was read at (null: a new household); a "
            "stale one is a CONFLICT.")] = None,
        facts: Annotated[HouseholdJSON | None, strawberry.argument(
            description="The household's facts, closed sets as enums (give facts or "
            "household). 家庭信息。", graphql_type=HouseholdFactsInput | None)] = None,
    ) -> HouseholdSavePayload:
        ctx = _info_context(info)
        data = _one(household, facts)
        if data is None:
            return HouseholdSavePayload(household=None, user_errors=user_errors(InvalidInput(
                HOUSEHOLD_OR_FACTS, [FieldError("facts", "HOUSEHOLD_OR_FACTS",
                                                HOUSEHOLD_OR_FACTS)], code="HOUSEHOLD_OR_FACTS")))
        try:
            saved = ctx.app.save_household(ctx.principal, data, ctx.today,
                                           expected_revision)
        except ServiceError as exc:
            if household is None:
                _rename(exc, "facts")
            return HouseholdSavePayload(household=None, user_errors=user_errors(exc))
        return HouseholdSavePayload(household=saved, user_errors=[])  # type: ignore[arg-type]

    @strawberry.mutation(description="Evaluate a stored household and record the determination.")
    def household_determine(
        self, info: strawberry.Info, id: strawberry.ID, as_of: date,
        programs: list[str] | None = None,
        idempotency_key: Annotated[str | None, strawberry.argument(
            description="Makes a retry safe: a second call with the same key and arguments "
            "returns the first call's record and determination and records nothing (the "
            "Idempotency-Key header does the same; this argument wins). The same key with "
            "other arguments is IDEMPOTENCY_KEY_REUSED. 1 to 128 printable ASCII characters, "
            "e.g. a UUID. / 幂等键：重试时返回首次结果，不重复记录。")] = None,
    ) -> HouseholdDeterminePayload:
        ctx = _info_context(info)
        key = idempotency_key if idempotency_key is not None else ctx.idempotency_key
        try:
            det, record = ctx.app.determine_household(ctx.principal, str(id), as_of, programs,
                                                      key)
        except ServiceError as exc:
            return HouseholdDeterminePayload(record=None, determination=None,
                                             user_errors=user_errors(exc))
        return HouseholdDeterminePayload(
            record=record,  # type: ignore[arg-type]
            determination=wrap_determination(det, _not_in_force(ctx, det, as_of, programs)),
            user_errors=[])


def _should_mask(error: GraphQLError) -> bool:
    # Validation errors and our business errors are shown; anything unexpected is masked.
    original = error.original_error
    if original is None or isinstance(original, ServiceError):
        return False
    return not isinstance(original, GraphQLError)


class _MaskErrors(MaskErrors):
    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return GraphQLError(self.error_message, error.nodes, error.source, error.positions,
                            error.path, extensions={"code": "INTERNAL"})

    # strawberry's checks a runtime protocol (isinstance on a Protocol walks its attributes) on
    # every result; an attribute read says the same.
    def _process_result(self, result: object) -> None:
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]


def _one(household: Any, facts: Any) -> Any:
    """The facts a call gave, as household JSON, or None unless it gave exactly one set."""
    if (household is None) == (facts is None):
        return None
    return facts if household is None else household


def _facts(household: Any, facts: Any) -> Any:
    """``_one``, or the call's error."""
    found = _one(household, facts)
    if found is None:
        raise service_error(InvalidInput(HOUSEHOLD_OR_FACTS, [FieldError(
            "facts", "HOUSEHOLD_OR_FACTS", HOUSEHOLD_OR_FACTS)], code="HOUSEHOLD_OR_FACTS"))
    return found


def _evaluate_many(ctx: Context, items: list[BatchItem],
                   programs: list[str] | None) -> list[EvaluateResult]:
    results = call(lambda: ctx.app.evaluate_many(ctx.principal, items, programs))
    count_determinations(r.determination for r in results if r.determination is not None)
    out = []
    for item, r in zip(items, results, strict=True):
        out.append(EvaluateResult(
            key=r.key,
            determination=wrap_determination(
                r.determination, _not_in_force(ctx, r.determination, item.as_of, programs))
            if r.determination is not None else None,
            errors=[UserError(field=e.field, message=message(e.code, e.message), code=e.code)
                    for e in r.errors]))
    return out


def _rename(exc: ServiceError, argument: str) -> None:
    """Field paths under ``household`` said as under ``argument`` (in place)."""
    exc.errors = [FieldError(renamed(e.field, argument), e.code, e.message) for e in exc.errors]


def _evaluate(ctx: Context, household: dict[str, Any], as_of: date,
              programs: list[str] | None, argument: str = "household") -> Any:
    try:
        det = ctx.app.evaluate(ctx.principal, household, as_of, programs)
    except ServiceError as exc:
        _rename(exc, argument)
        raise service_error(exc) from None
    count_determination(det)
    return wrap_determination(det, _not_in_force(ctx, det, as_of, programs))


def _not_in_force(ctx: Context, det: Any, as_of: date,
                  programs: list[str] | None) -> list[tuple[str, date | None]]:
    if programs is not None and len(det.programs) >= len(set(programs)):
        return []  # every program named is there: nothing to look up
    return ctx.app.not_in_force(as_of, programs)


class _QuietExecutionContext(ProjectingExecutionContext):
    """Outside dev: no "Did you mean ...?" in the errors of variables that do not coerce
    (strawberry does not pass graphql-core's ``hide_suggestions``)."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        kwargs["hide_suggestions"] = True
        return super().build(*args, **kwargs)


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        """Only internal errors are logged (with their stack, never the query, the variables
        or an exception's text, which may quote them); refusals and validation errors are
        counted in the request's log line instead."""
        for error in errors:
            if _should_mask(error):
                context = getattr(execution_context, "context", None)
                log = getattr(context, "log", None)
                log_internal_error(error, log.get("request_id") if log else None)
            _drop_traceback(error)


def _drop_traceback(error: BaseException) -> None:
    """Once an error is logged, its traceback (and its causes') goes: the traceback's frames
    hold the executor, variables and context of the request in a reference cycle, which only a
    collection would free (see ProjectingExecutionContext._release)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        e.__traceback__ = None
        todo += [e.__cause__, e.__context__, getattr(e, "original_error", None)]


_RFC3339 = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"
_SCALARS = {
    "Date": (_RFC3339, "A calendar date: RFC 3339 full-date (ISO 8601), e.g. 2024-03-01. 日期。"),
    "DateTime": (_RFC3339, "A point in time: RFC 3339 date-time (ISO 8601), "
                 "e.g. 2024-03-01T08:30:00+00:00. 时间。"),
}


def build_schema(settings: Settings) -> strawberry.Schema:
    # Factories: strawberry builds the extensions per request. The validation rules are built
    # once here, so the validation cache (keyed by the rule classes) hits across requests; the
    # parser and validation caches themselves live at module level. Depth, aliases and size
    # are measured by graphql_api.limits, in time linear in the document.
    rules: list[Any] = [string_rule(settings.max_string_length)]
    if not settings.dev:
        rules.append(NoSchemaIntrospectionCustomRule)
    limits = Limits(max_depth=settings.max_depth, max_aliases=settings.max_aliases,
                    max_fields=settings.max_fields, max_spreads=settings.max_fragment_spreads)
    deadline = deadline_rule(settings.validation_seconds)
    extensions: list[Any] = [
        lambda: DocumentCache(settings.max_tokens, rules, limits, deadline,
                              settings.validation_seconds, hide_suggestions=not settings.dev,
                              maxsize=256),
        lambda: _MaskErrors(should_mask_error=_should_mask,
                            error_message="internal error"),
    ]
    schema = Schema(query=Query, mutation=Mutation, subscription=Subscription,
                    extensions=extensions,
                    execution_context_class=ProjectingExecutionContext if settings.dev
                    else _QuietExecutionContext,
                    config=StrawberryConfig(disable_field_suggestions=not settings.dev))
    describe_schema(schema._schema)
    for name, (url, text) in _SCALARS.items():
        scalar = schema._schema.type_map[name]
        scalar.specified_by_url = url  # type: ignore[attr-defined]
        scalar.description = text
    return schema


def export_schema() -> str:
    """The schema as served (SDL)."""
    return build_schema(Settings(env="dev")).as_str() + "\n"

