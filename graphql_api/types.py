"""GraphQL types. Plain data is served straight from the engine's immutable results (no
per-field resolver work); only fields with arguments (``title(lang)``, ``outcomes(status)``) have
resolvers."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON

from engine.results import Outcome as EngineOutcomeType
from engine.results import Status
from graphql_api import inputs
from graphql_api.errors import CODE_DEPRECATED, ERROR_CODE, ErrorCode, call, error_code
from graphql_api.node import Node, global_id
from graphql_api.what_if import admit
from policy.cache import BoundedCache
from policy.messages import chinese
from policy.term_catalogue import TERMS

if TYPE_CHECKING:
    from engine.results import Determination as EngineDetermination
    from engine.results import Outcome as EngineOutcome
    from graphql_api.cases import Assistance, MonitoringCase, TimelineEntry, Visit
    from graphql_api.warning import Alert

OutcomeStatus = strawberry.enum(Status, name="OutcomeStatus")


@strawberry.enum
class AmountPeriod(Enum):
    YEAR = "YEAR"
    MONTH = "MONTH"
    ONCE = "ONCE"


@strawberry.enum
class Lang(Enum):
    ZH = "ZH"
    EN = "EN"


@strawberry.enum
class VersionStatus(Enum):
    DRAFT = "DRAFT"
    IN_REVIEW = "IN_REVIEW"
    PUBLISHED = "PUBLISHED"
    RETIRED = "RETIRED"


@strawberry.type
class Term:
    key: str
    value: float
    unit: str
    sample: bool = strawberry.field(
        description="Computed from a parameter marked sample: a sample figure, not the "
        "county's decided one.")

    @strawberry.field(description="The term as people name it, e.g. 起付线 / Deductible for "
                      "deductible (the term catalogue, fixtures/terms.yaml); the key itself "
                      "when the catalogue has no label for it.")
    def label(self, lang: Lang = Lang.ZH) -> str:
        return TERMS.label(self.key, lang.value)

    @strawberry.field(description="The unit as people name it, e.g. 元 / yuan for yuan, 比例 / "
                      "ratio for ratio; the unit itself when the catalogue has no label for it.")
    def unit_label(self, lang: Lang = Lang.ZH) -> str:
        return TERMS.unit_label(self.unit, lang.value)


@strawberry.type
class Citation:
    document: str
    clause: str | None
    quote: str | None
    url: str | None


@strawberry.type
class ConditionCheck:
    expression: str = strawberry.field(description="The condition as written in the rule set.")
    actual: str | None = strawberry.field(description="The fact's value, e.g. \"5400\".")
    expected: str | None = strawberry.field(description="The threshold or set, e.g. \"< 6000\".")
    passed: bool | None = strawberry.field(description="Null when a fact is missing.")


@strawberry.type(description="One node of a condition as written: and, or, not, a "
                 "quantifier, a comparison, a fact, a parameter, arithmetic or a call.")
class ConditionNode:
    expression: str = strawberry.field(
        description="This node's text as written, e.g. \"perCapitaNetIncome < incomeLine\".")
    kind: str = strawberry.field(
        description="AND, OR, NOT, ANY_MEMBER, ALL_MEMBERS, COMPARE, IN, BETWEEN, FACT, "
        "DEFINITION, PARAMETER, CONSTANT, ARITH, NEG, CALL or PRIORITY (no higher-priority rule "
        "of the rule's exclusive group applies).")
    result: bool | None = strawberry.field(
        description="A condition's three-valued result: null when unknown (and for values).")
    actual: str | None = strawberry.field(
        description="This expression's value (for a comparison: its left side's value).")
    expected: str | None = strawberry.field(
        description="For a comparison: operator and right side, e.g. \"< 6000\".")
    decided: bool = strawberry.field(
        description="Part of the minimal set of nodes that justify the result.")
    member_ids: list[str] = strawberry.field(
        description="Quantifiers: the members it held for; a quantifier's child: its member.")
    children: list[ConditionNode] = strawberry.field(
        description="Operands; a derived fact's or a definition's child is its definition.")

    @strawberry.field(description="This node's condition in words, e.g. "
                      "\"年人均纯收入低于 6,000.00 元\" (EN: \"Per-capita net income is below "
                      "6,000.00 yuan\"): facts and enumeration values by their labels in the "
                      "fact catalogue, a comparison's threshold by its value, the rule set's "
                      "parameters and definitions by the words of their version's document "
                      "(its description), an and, or, not or quantifier by its children's "
                      "words.")
    def text(self, lang: Lang = Lang.ZH) -> str:
        from engine.words import node_text

        return node_text(self, lang.value)  # type: ignore[arg-type]

    @strawberry.field(description="actual in words: a truth value as 是/否 (yes/no), an "
                      "enumeration value by its label, an amount with its unit, a ratio as a "
                      "percentage, a quotient that does not terminate about its value to two "
                      "decimals (约 8.57%); null when unknown.")
    def actual_text(self, lang: Lang = Lang.ZH) -> str | None:
        from engine.words import actual_text

        return actual_text(self, lang.value)  # type: ignore[arg-type]


@strawberry.type(description="A single change of one input fact that would grant the outcome.")
class FactChange:
    fact: str = strawberry.field(
        description="An input fact path, e.g. annualNetIncome, members[1].schoolStage.")
    operator: str = strawberry.field(
        description="<, <=, >, >=, ==, in, between (value: [low, high], both included) or "
        "known.")
    value: str = strawberry.field(
        description="The bound or value(s) as JSON text, e.g. \"18000.00\", \"[\\\"SENIOR\\\"]\".")
    current: str | None = strawberry.field(
        description="The fact's value now (null when unknown).")

    @strawberry.field
    def text(self, lang: Lang = Lang.ZH) -> str:
        return cast(str, self.text_en if lang is Lang.EN else self.text_zh)  # type: ignore[attr-defined]


@strawberry.type
class Reason:
    rule_id: str
    citation: Citation
    conditions: list[ConditionCheck] = strawberry.field(
        deprecation_reason="A flat list loses the condition's structure; use condition, the "
        "condition as a tree.")

    @strawberry.field
    def text(self, lang: Lang = Lang.ZH) -> str:
        return cast(str, self.text_en if lang is Lang.EN else self.text_zh)  # type: ignore[attr-defined]

    @strawberry.field(description="The rule's condition as a tree. depth: how many levels of "
                      "derived facts are opened into their definitions (null: all).")
    def condition(self, depth: int | None = 1) -> ConditionNode:
        from engine.results import at_depth

        reason: Any = self  # the engine's Reason: its ``condition`` is the whole tree
        return at_depth(reason.condition, depth)  # type: ignore[return-value]


@strawberry.type
class Outcome:
    code: str
    member_id: str | None = strawberry.field(description="Null for household-level outcomes.")
    status: OutcomeStatus  # type: ignore[valid-type]
    amount: float | None = strawberry.field(description="Yuan; null for in-kind and tiers.")
    period: AmountPeriod | None
    amount_is_sample: bool = strawberry.field(
        description="The amount comes from a parameter marked sample: a sample figure, not the "
        "county's decided one.")
    terms: list[Term]
    reasons: list[Reason]
    missing_facts: list[str]

    @strawberry.field
    def title(self, lang: Lang = Lang.ZH) -> str:
        return cast(str, self.title_en if lang is Lang.EN else self.title_zh)  # type: ignore[attr-defined]

    @strawberry.field(description="For NOT_GRANTED and UNDETERMINED outcomes of an evaluation: "
                      "the smallest single changes of one input fact that would grant it (empty "
                      "when no single fact suffices, and for granted outcomes). For at most "
                      "POLICY_ENGINE_MAX_WHAT_IF_ITEMS households a request (default 20), "
                      "whatever the route: an evaluateMany that asks more is refused before it "
                      "runs, and past the limit each further household's is a WHAT_IF_LIMIT "
                      "error instead. 一次请求最多为 20 户（默认）计算。")
    def what_would_change(self) -> list[FactChange]:
        return outcome_changes(self)


def outcome_changes(outcome: Any) -> list[Any]:
    """What would grant an outcome served with its determination (``_InContext``): computed
    only for a household the operation's count admits (``graphql_api.what_if``), counted
    where there is something to compute (not for a granted outcome)."""
    det = getattr(outcome, "determination", None)
    if det is None:
        return []
    from engine.whatif import what_would_change

    if outcome.status is not Status.GRANTED and det.inputs is not None:
        admit(det)
    return list(what_would_change(det, outcome))


def _filter(outcomes: Any, status: Status | None) -> list[EngineOutcome]:
    return [o for o in outcomes if status is None or o.status is status]


@strawberry.type
class RuleSetVersion(Node):
    id: strawberry.ID

    @strawberry.field(description="Opaque global id (Node). 全局唯一标识。")
    def node_id(self) -> strawberry.ID:
        return strawberry.ID(global_id("RuleSetVersion", str(self.id)))
    rule_set: str
    version: int
    status: VersionStatus
    effective_from: date | None
    effective_to: date | None = strawberry.field(
        description="The day before the next published version takes effect.")
    content_hash: str

    # Editors' fields: read from the store (the fields above come with every determination).

    @strawberry.field(description="Counts every change; ruleSetDraftUpdate needs the revision "
                      "the draft was read at.")
    def revision(self, info: strawberry.Info) -> int:
        return _version_detail(self, info).revision  # type: ignore[no-any-return]

    @strawberry.field(description="Who created the draft (policy staff only).")
    def author(self, info: strawberry.Info) -> str | None:
        return _staff(self, info, "author")

    @strawberry.field(description="The published version this one was drafted from.")
    def based_on(self, info: strawberry.Info) -> RuleSetVersion | None:
        based_on = _version_detail(self, info).based_on_id
        if based_on is None:
            return None
        return info.context.app.editing.version(info.context.principal,  # type: ignore[no-any-return]
                                                based_on)

    @strawberry.field
    def created_at(self, info: strawberry.Info) -> datetime:
        return _version_detail(self, info).created_at  # type: ignore[no-any-return]

    @strawberry.field(description="Who submitted it for review (policy staff only).")
    def submitted_by(self, info: strawberry.Info) -> str | None:
        return _staff(self, info, "submitted_by")

    @strawberry.field
    def submitted_at(self, info: strawberry.Info) -> datetime | None:
        return _version_detail(self, info).submitted_at  # type: ignore[no-any-return]

    @strawberry.field(description="Who published it (policy staff only).")
    def published_by(self, info: strawberry.Info) -> str | None:
        return _staff(self, info, "published_by")

    @strawberry.field
    def published_at(self, info: strawberry.Info) -> datetime | None:
        return _version_detail(self, info).published_at  # type: ignore[no-any-return]

    @strawberry.field(description="Who retired it (policy staff only).")
    def retired_by(self, info: strawberry.Info) -> str | None:
        return _staff(self, info, "retired_by")

    @strawberry.field
    def retired_at(self, info: strawberry.Info) -> datetime | None:
        return _version_detail(self, info).retired_at  # type: ignore[no-any-return]

    @strawberry.field(description="The whole rule-set document (parameters, definitions, rules, "
                      "test cases) as JSON, in canonical form; ruleSetDraftUpdate takes it back.")
    def document(self, info: strawberry.Info) -> JSON:
        return cast(JSON, _version_detail(self, info).document)

    @strawberry.field(description="What changed from another version (default: the version "
                      "this one was drafted from, else the one numbered before it) to this one.")
    def diff(self, info: strawberry.Info,
             against: strawberry.ID | None = None) -> VersionDiff | None:

        ctx = info.context
        return call(lambda: ctx.app.editing.diff(  # type: ignore[no-any-return]
            ctx.principal, str(self.id), str(against) if against is not None else None))


def _version_detail(root: Any, info: strawberry.Info) -> Any:
    """The stored version behind a RuleSetVersion (once per request and version)."""
    if hasattr(root, "revision") and hasattr(root, "document"):
        return root

    ctx = info.context
    key = f"version:{root.id}"
    found = ctx.cache.get(key)
    if found is None:
        found = ctx.cache[key] = call(lambda: ctx.app.editing.version(ctx.principal,
                                                                       str(root.id)))
    return found


def _staff(root: Any, info: strawberry.Info, attribute: str) -> str | None:
    # Names of policy staff are shown to policy staff and auditors, not to the public.
    if not info.context.app.policy.see_drafts(info.context.principal):
        return None
    value: str | None = getattr(_version_detail(root, info), attribute)
    return value


@strawberry.type
class ProgramResult:
    program: str
    rule_set_version: RuleSetVersion = strawberry.field(
        resolver=lambda root: root.version)

    @strawberry.field
    def outcomes(self, status: OutcomeStatus | None = None) -> list[Outcome]:  # type: ignore[valid-type]
        return _filter(self.outcomes_all, status)  # type: ignore[attr-defined, return-value]


@strawberry.type(description="A program asked about (or every program, when none was named) "
                 "that had no published version in force on asOf, so it is not among "
                 "programs. / 评估日期没有生效版本的项目（因此不在 programs 中）。")
class ProgramNotInForce:
    program: str = strawberry.field(description="The program's code, e.g. education.")
    first_effective_from: date | None = strawberry.field(
        description="The date its first published version takes effect; null when none is "
        "published. / 首个已发布版本的生效日期；尚无已发布版本时为 null。")

    @strawberry.field(description="Says so in words.")
    def message(self, lang: Lang = Lang.ZH) -> str:
        when = self.first_effective_from
        if lang is Lang.EN:
            return (f"{self.program}: no version in force on this date; the first takes effect "
                    f"on {when.isoformat()}" if when else
                    f"{self.program}: no version has been published")
        return (f"{self.program}：评估日期没有生效的版本，首个版本自 {when.isoformat()} 起生效"
                if when else f"{self.program}：尚无已发布的版本")


@strawberry.type
class Determination:
    as_of: date
    flagged_for_monitoring: bool
    flagged_by: list[str] = strawberry.field(
        description="The monitoring categories and risk items that flagged the household.")
    not_in_force: list[ProgramNotInForce] = strawberry.field(
        description="The programs asked about that had no version in force on asOf (left out "
        "of programs), with the date the first takes effect: an asOf before any version took "
        "effect answers why programs is empty.")

    @strawberry.field
    def programs(self) -> list[ProgramResult]:
        return self.programs_all  # type: ignore[attr-defined, no-any-return]

    @strawberry.field(description="All programs' outcomes, flattened.")
    def outcomes(self, status: OutcomeStatus | None = None) -> list[Outcome]:  # type: ignore[valid-type]
        det: EngineDetermination = self  # type: ignore[assignment]
        return _filter(det.outcomes(), status)  # type: ignore[return-value]


@strawberry.type
class RuleSet(Node):
    code: str

    @strawberry.field(description="Opaque global id, the same as nodeId (a rule set's key is its "
                      "code). 全局唯一标识。")
    def id(self) -> strawberry.ID:
        return strawberry.ID(global_id("RuleSet", self.code))

    @strawberry.field(description="Opaque global id (Node). 全局唯一标识。")
    def node_id(self) -> strawberry.ID:
        return strawberry.ID(global_id("RuleSet", self.code))
    owner: str = strawberry.field(description="The responsible department, e.g. 县教体局.")
    versions: list[RuleSetVersion]

    @strawberry.field
    def title(self, lang: Lang = Lang.ZH) -> str:
        return cast(str, self.title_en if lang is Lang.EN else self.title_zh)  # type: ignore[attr-defined]

    @strawberry.field
    def version_in_force(self, info: strawberry.Info, as_of: date) -> RuleSetVersion | None:
        return info.context.app.version_in_force(self.code, as_of)  # type: ignore[no-any-return]


@strawberry.type
class Household(Node):
    id: strawberry.ID
    region_code: str

    @strawberry.field(description="Opaque global id (Node). 全局唯一标识。")
    def node_id(self) -> strawberry.ID:
        return strawberry.ID(global_id("Household", str(self.id)))
    revision: int
    updated_at: datetime
    facts: JSON = strawberry.field(description="The household JSON as stored (HouseholdInput).")

    @strawberry.field(description="The household's early-warning alerts, newest first.")
    def alerts(self, info: strawberry.Info) -> list[
            Annotated[Alert, strawberry.lazy("graphql_api.warning")]]:
        from graphql_api.warning import household_alerts

        return household_alerts(info, str(self.id))

    @strawberry.field(description="The household's monitoring cases you may see, oldest first.")
    def monitoring_cases(self, info: strawberry.Info) -> list[
            Annotated[MonitoringCase, strawberry.lazy("graphql_api.cases")]]:
        from graphql_api.cases import household_cases

        return household_cases(info, str(self.id))

    @strawberry.field(description="Visits, fact revisions, recorded determinations, alerts and "
                      "monitoring-case actions, newest first.")
    def timeline(self, info: strawberry.Info) -> list[
            Annotated[TimelineEntry, strawberry.lazy("graphql_api.cases")]]:
        from graphql_api.cases import household_timeline

        return household_timeline(info, str(self.id))

    @strawberry.field(description="The cadres' visits, newest first.")
    def visits(self, info: strawberry.Info) -> list[
            Annotated[Visit, strawberry.lazy("graphql_api.cases")]]:
        from graphql_api.cases import household_visits

        return household_visits(info, str(self.id))

    @strawberry.field(description="For a monitored household: its risks and the measures "
                      "against each (null when it is not monitored).")
    def assistance(self, info: strawberry.Info) -> Annotated[
            Assistance, strawberry.lazy("graphql_api.cases")] | None:
        from graphql_api.cases import household_assistance

        return household_assistance(info, str(self.id))

    @strawberry.field(description="The household's recorded determinations, newest first.",
                      deprecation_reason="A list without pages; use determinationRecords, a "
                      "connection.")
    def determinations(self, info: strawberry.Info) -> list[DeterminationRecord]:
        return _household_records(info, str(self.id))

    @strawberry.field(description="The household's recorded determinations, newest first, as "
                      "a Relay connection (first/after forwards, last/before backwards; neither: "
                      "the first 100). 历次认定记录（分页）。")
    def determination_records(
        self, info: strawberry.Info,
        first: Annotated[int | None, strawberry.argument(
            description="At most this many from the start (0 to 100).")] = None,
        after: Annotated[str | None, strawberry.argument(
            description="Only records after this cursor.")] = None,
        last: Annotated[int | None, strawberry.argument(
            description="At most this many from the end (0 to 100).")] = None,
        before: Annotated[str | None, strawberry.argument(
            description="Only records before this cursor.")] = None,
    ) -> DeterminationRecordConnection:
        from graphql_api.connections import paginate

        records = _household_records(info, str(self.id))
        page = call(lambda: paginate(records, lambda r: str(r.id), first=first, after=after,
                                     last=last, before=before,
                                     limit=info.context.app.settings.max_page_size))
        return DeterminationRecordConnection(
            edges=[DeterminationRecordEdge(cursor=c, node=r) for c, r in page.edges],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor,
                               has_previous_page=page.has_previous_page,
                               start_cursor=page.start_cursor),
            total_count=page.total_count)


def _household_records(info: strawberry.Info, household_id: str) -> list[Any]:
    ctx = info.context
    return call(lambda: ctx.app.household_determinations(ctx.principal, household_id))


@strawberry.type
class HouseholdEdge:
    cursor: str
    node: Household


@strawberry.type(description="Where a page of a connection lies (Relay). 分页信息。")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="More items follow this page (when paging forwards with first; with "
        "before: items after it exist).")
    end_cursor: str | None = strawberry.field(
        description="The last edge's cursor; after takes it (null: no edges).")
    has_previous_page: bool = strawberry.field(
        default=False, description="Items come before this page (when paging backwards with "
        "last; with after: items before it exist, where the listing can tell cheaply, else "
        "false).")
    start_cursor: str | None = strawberry.field(
        default=None, description="The first edge's cursor; before takes it (null: no edges).")


@strawberry.type(description="A determination record in a connection.")
class DeterminationRecordEdge:
    cursor: str = strawberry.field(description="This edge's position, for after and before.")
    node: DeterminationRecord


@strawberry.type(description="Determination records, a page at a time (Relay connection).")
class DeterminationRecordConnection:
    edges: list[DeterminationRecordEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description="All records, on every page.")


@strawberry.type
class HouseholdConnection:
    edges: list[HouseholdEdge]
    page_info: PageInfo
    total_count: int


@strawberry.input
class HouseholdFilter:
    region_codes: list[str] | None = None
    id_prefix: str | None = None


@strawberry.type
class DeterminationRecord(Node):
    id: strawberry.ID

    @strawberry.field(description="Opaque global id (Node). 全局唯一标识。")
    def node_id(self) -> strawberry.ID:
        return strawberry.ID(global_id("DeterminationRecord", str(self.id)))
    household_id: str | None
    household_revision: int | None
    region_code: str
    as_of: date
    created_at: datetime
    created_by: str
    versions: list[RuleSetVersion]
    result: JSON = strawberry.field(description="The determination as recorded.")

    @strawberry.field(description="The recorded facts evaluated again with the recorded versions.")
    def replay(self, info: strawberry.Info) -> ReplayResult:
        replayed = info.context.app.replay(self)
        return ReplayResult(determination=wrap_determination(replayed.determination),
                            identical=replayed.identical)


@strawberry.type
class ReplayResult:
    determination: Determination
    identical: bool = strawberry.field(
        description="True when the replay reproduces the recorded result exactly.")


# --- rule-set editing -----------------------------------------------------------------------


@strawberry.enum
class IssueSeverity(Enum):
    ERROR = "ERROR"
    WARNING = "WARNING"


@strawberry.type(description="A problem of a rule-set document; an ERROR blocks submitting and "
                 "publishing.")
class ValidationIssue:
    field: str = strawberry.field(description="Where, e.g. rules[2].condition.")
    code: str = strawberry.field(deprecation_reason=CODE_DEPRECATED)
    message: str
    severity: IssueSeverity
    column: int | None = strawberry.field(
        description="For conditions and expressions: the column (1-based) of the problem.")

    @strawberry.field(graphql_type=ErrorCode, description=ERROR_CODE)
    def error_code(self) -> Any:
        return error_code(self.code)

    @strawberry.field
    def text(self, lang: Lang = Lang.ZH) -> str:
        # Chinese first with the English details, as `policy-engine validate` prints them:
        # the details (names, figures, columns) are only in the English message.
        return self.message if lang is Lang.EN else f"{chinese(self.code)} / {self.message}"


@strawberry.type
class TestCaseResult:
    index: int
    name: str
    passed: bool
    failures: list[str]


@strawberry.enum
class ChangeKind(Enum):
    ADDED = "ADDED"
    REMOVED = "REMOVED"
    CHANGED = "CHANGED"


@strawberry.type(description="One field that differs, as the documents show it.")
class FieldChange:
    field: str
    old: str | None
    new: str | None


@strawberry.type
class ParameterDiff:
    name: str
    kind: ChangeKind
    old_value: float | None
    new_value: float | None
    old_unit: str | None
    new_unit: str | None
    old_citation: Citation | None
    new_citation: Citation | None
    changes: list[FieldChange]


@strawberry.type
class DefinitionDiff:
    name: str
    kind: ChangeKind
    old_condition: str | None
    new_condition: str | None
    changes: list[FieldChange]


@strawberry.type(description="A rule added, removed or changed; condition and amount side by "
                 "side. A row is identified by both versions and the rule: the diff of A "
                 "against B and of B against A are different rows.")
class RuleDiff(Node):
    @strawberry.field(description="The row's opaque global id, the same as nodeId (was the "
                      "rule's id, which two diffs share: read ruleId for it). 行标识。")
    def id(self) -> strawberry.ID:
        return cast(strawberry.ID, self.node_id())

    @strawberry.field(description="Opaque global id (Node): the two versions and the rule. "
                      "全局唯一标识。")
    def node_id(self) -> strawberry.ID:
        row: Any = self
        return strawberry.ID(global_id("RuleDiff", row.old_version_id, row.new_version_id,
                                       row.rule.id))

    @strawberry.field(description="The rule's id as the documents write it. 规则编号。")
    def rule_id(self) -> str:
        row: Any = self
        return row.rule.id  # type: ignore[no-any-return]

    kind: ChangeKind
    outcome: str
    old_condition: str | None
    new_condition: str | None
    old_amount: str | None
    new_amount: str | None
    changes: list[FieldChange]


@strawberry.type
class TestCaseDiff:
    name: str
    kind: ChangeKind
    changes: list[FieldChange]


@strawberry.type(description="What changed from one version (against) to another (version).")
class VersionDiff:
    against: RuleSetVersion = strawberry.field(resolver=lambda root: root.old)
    version: RuleSetVersion = strawberry.field(resolver=lambda root: root.new)

    @strawberry.field(description="True when the two documents have the same content.")
    def empty(self) -> bool:
        return self.diff.empty  # type: ignore[attr-defined, no-any-return]

    @strawberry.field(description="Title, owner and notes.")
    def metadata(self) -> list[FieldChange]:
        return list(self.diff.metadata)  # type: ignore[attr-defined]

    @strawberry.field
    def parameters(self) -> list[ParameterDiff]:
        return list(self.diff.parameters)  # type: ignore[attr-defined]

    @strawberry.field
    def definitions(self) -> list[DefinitionDiff]:
        return list(self.diff.definitions)  # type: ignore[attr-defined]

    @strawberry.field
    def rules(self) -> list[RuleDiff]:
        view: Any = self
        return [RuleRow(r, view.old.id, view.new.id) for r in view.diff.rules]  # type: ignore[misc]

    @strawberry.field
    def tests(self) -> list[TestCaseDiff]:
        return list(self.diff.tests)  # type: ignore[attr-defined]

    @strawberry.field(description="The diff for a person to read.")
    def text(self, lang: Lang = Lang.ZH) -> str:
        return self.diff.text(lang.value)  # type: ignore[attr-defined, no-any-return]


class RuleRow:
    """A rule's row of a diff, with the versions it compares (its identity)."""

    __slots__ = ("new_version_id", "old_version_id", "rule")

    def __init__(self, rule: Any, old_version_id: str, new_version_id: str):
        self.rule = rule
        self.old_version_id = old_version_id
        self.new_version_id = new_version_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rule, name)

    def node_id(self) -> strawberry.ID:
        return strawberry.ID(global_id("RuleDiff", self.old_version_id, self.new_version_id,
                                       self.rule.id))


def diff_row(view: Any, rule_id: str) -> RuleRow | None:
    """The row of ``rule_id`` in a diff (``services.editing.DiffView``), if it has one."""
    if view is None:
        return None
    for r in view.diff.rules:
        if r.id == rule_id:
            return RuleRow(r, view.old.id, view.new.id)
    return None


@strawberry.enum
class OutcomeChangeKind(Enum):
    GAINED = "GAINED"
    LOST = "LOST"
    AMOUNT = "AMOUNT"
    TIER = "TIER"
    STATUS = "STATUS"


@strawberry.enum
class HouseholdChangeKind(Enum):
    GAINED = "GAINED"
    LOST = "LOST"
    CHANGED = "CHANGED"


@strawberry.type(description="One outcome of a household under the version in force (before) "
                 "and under the draft (after), each with its reasons.")
class OutcomeChange:
    code: str
    member_id: str | None
    kind: OutcomeChangeKind
    before: Outcome | None
    after: Outcome | None


@strawberry.type(description="A household whose outcomes the draft changes. Shown "
                 "pseudonymised to whoever may not read the household (policy staff): "
                 "householdId and memberId are stable pseudonyms, and each side's reasons keep "
                 "only the conditions the draft changed.")
class HouseholdChange:
    household_id: str
    region_code: str
    kind: HouseholdChangeKind
    annual_amount_before: float
    annual_amount_after: float
    outcomes: list[OutcomeChange]
    pseudonymised: bool = strawberry.field(
        description="True when the ids are pseudonyms and only the changed conditions show.")


@strawberry.type
class RegionImpact:
    region_code: str
    households: int
    gained: int
    lost: int
    changed: int
    annual_amount_before: float = strawberry.field(resolver=lambda root: root.annual_before)
    annual_amount_after: float = strawberry.field(resolver=lambda root: root.annual_after)
    one_off_amount_before: float = strawberry.field(resolver=lambda root: root.once_before)
    one_off_amount_after: float = strawberry.field(resolver=lambda root: root.once_after)


@strawberry.type(description="Stored households evaluated as of asOf under the draft and under "
                 "the version of its program in force then (baseline). Annual amounts count a "
                 "monthly amount twelve times; one-off amounts are summed apart.")
class ImpactReport:
    as_of: date
    version: RuleSetVersion
    baseline: RuleSetVersion | None = strawberry.field(
        description="The version the draft would replace (null: none in force on asOf).")
    households: int = strawberry.field(description="Households evaluated.")
    skipped: int = strawberry.field(
        description="Stored households whose facts are not valid as of asOf (e.g. a member "
        "born later); left out.")
    gained: int
    lost: int
    changed: int
    unchanged: int
    annual_amount_before: float
    annual_amount_after: float
    one_off_amount_before: float
    one_off_amount_after: float
    by_region: list[RegionImpact] = strawberry.field(resolver=lambda root: root.regions)
    changed_households: list[HouseholdChange] = strawberry.field(
        description="The first changed households (by id), with both sides' reasons.")
    changed_total: int = strawberry.field(description="All households that gain, lose or "
                                          "change.")
    seconds: float
    pseudonymised: bool = strawberry.field(
        description="True when some changed households are shown pseudonymised (you may not "
        "read them).")


# --- inputs ---------------------------------------------------------------------------------


@strawberry.input
class CitationInput:
    document: str
    clause: str | None = None
    quote: str | None = None
    url: str | None = None


@strawberry.input(description="A parameter's new value; a new parameter also needs its unit and "
                  "citation.")
class ParameterChangeInput:
    name: str
    value: float
    unit: str | None = None
    citation: CitationInput | None = None

UNSET: Any = strawberry.UNSET

if TYPE_CHECKING:
    # Generated from the fact catalogue when graphql_api.inputs is imported: classes mypy
    # cannot see, so Any to the type checker.
    HouseholdInput = Any
    MemberInput = Any
    HouseholdFactsInput = Any
    MemberFactsInput = Any
else:
    HouseholdInput = inputs.HouseholdInput
    MemberInput = inputs.MemberInput
    HouseholdFactsInput = inputs.HouseholdFactsInput
    MemberFactsInput = inputs.MemberFactsInput


# --- adapters -------------------------------------------------------------------------------


class _DeterminationView:
    """The engine's Determination, with the names the GraphQL types read."""

    __slots__ = ("_d", "asked_again", "not_in_force", "programs_all")

    def __init__(self, d: EngineDetermination,
                 not_in_force: list[ProgramNotInForce] | None = None):
        self._d = d
        # Whether this determination was served before (remembered, and asked about again):
        # only then is its projection kept for the next request (graphql_api.projection).
        self.asked_again = False
        self.programs_all = [_ProgramView(p, d) for p in d.programs]
        self.not_in_force = not_in_force or []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._d, name)

    def outcomes(self, status: Status | None = None) -> list[Any]:
        return [o for p in self.programs_all for o in p.outcomes_all
                if status is None or o.status is status]

    def outcomes_plain(self) -> list[Any]:
        """The engine's outcomes themselves (a selection without whatWouldChange)."""
        return [o for p in self.programs_all for o in p.outcomes_plain]


class _InContext(EngineOutcomeType):
    """An outcome served with the determination it belongs to (what-would-change asks it)."""


def _in_context(o: Any, det: EngineDetermination) -> Any:
    out = _InContext._make(o)
    out.determination = det  # type: ignore[attr-defined]
    return out


class _ProgramView:
    """A program's result. ``outcomes_plain`` are the engine's outcome objects, which its memos
    share between households (and the projection's shared JSON with them);
    ``outcomes_all``, made when first asked for, are copies that know their determination,
    for whatWouldChange."""

    __slots__ = ("_det", "_in_context", "outcomes_plain", "program", "version")

    def __init__(self, p: Any, det: EngineDetermination):
        self.program = p.program
        self.version = p.version
        self.outcomes_plain = p.outcomes
        self._det = det
        self._in_context: list[Any] | None = None

    @property
    def outcomes_all(self) -> list[Any]:
        if self._in_context is None:
            self._in_context = [_in_context(o, self._det) for o in self.outcomes_plain]
        return self._in_context


_VIEWS: BoundedCache[int, _DeterminationView] = BoundedCache("graphql.determination_views", 4096)


def wrap_determination(d: EngineDetermination,
                       not_in_force: list[tuple[str, date | None]] | None = None,
                       ) -> Annotated[Any, "Determination"]:
    if not_in_force:  # rare (an early asOf, a program not yet published): a view of its own
        return _DeterminationView(d, [ProgramNotInForce(program=p, first_effective_from=f)
                                      for p, f in not_in_force])
    # One view per determination: a remembered determination is served as the same object,
    # so, once it is asked about again, its projection is shared like its reasons'
    # (graphql_api.projection). The view keeps its determination alive, so the id in the key
    # is not reused while the entry exists.
    view = _VIEWS.get(id(d))
    if view is None or view._d is not d:
        view = _VIEWS.put(id(d), _DeterminationView(d))
    else:
        view.asked_again = True
    return view
