"""GraphQL types. Plain data is served straight from the engine's immutable results (no
per-field resolver work); only fields with arguments (``title(lang)``, ``outcomes(status)``) have
resolvers."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from engine.results import Status

if TYPE_CHECKING:
    from engine.results import Determination as EngineDetermination
    from engine.results import Outcome as EngineOutcome

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


@strawberry.type
class Reason:
    rule_id: str
    citation: Citation
    conditions: list[ConditionCheck]

    @strawberry.field
    def text(self, lang: Lang = Lang.ZH) -> str:
        return self.text_en if lang is Lang.EN else self.text_zh  # type: ignore[attr-defined]


@strawberry.type
class Outcome:
    code: str
    member_id: str | None = strawberry.field(description="Null for household-level outcomes.")
    status: OutcomeStatus  # type: ignore[valid-type]
    amount: float | None = strawberry.field(description="Yuan; null for in-kind and tiers.")
    period: AmountPeriod | None
    terms: list[Term]
    reasons: list[Reason]
    missing_facts: list[str]

    @strawberry.field
    def title(self, lang: Lang = Lang.ZH) -> str:
        return self.title_en if lang is Lang.EN else self.title_zh  # type: ignore[attr-defined]


def _filter(outcomes: Any, status: Status | None) -> list[EngineOutcome]:
    return [o for o in outcomes if status is None or o.status is status]


@strawberry.type
class RuleSetVersion:
    id: strawberry.ID
    rule_set: str
    version: int
    status: VersionStatus
    effective_from: date | None
    effective_to: date | None = strawberry.field(
        description="The day before the next published version takes effect.")
    content_hash: str


@strawberry.type
class ProgramResult:
    program: str
    rule_set_version: RuleSetVersion = strawberry.field(
        resolver=lambda root: root.version)

    @strawberry.field
    def outcomes(self, status: OutcomeStatus | None = None) -> list[Outcome]:  # type: ignore[valid-type]
        return _filter(self.outcomes_all, status)  # type: ignore[attr-defined, return-value]


@strawberry.type
class Determination:
    as_of: date
    flagged_for_monitoring: bool
    flagged_by: list[str] = strawberry.field(
        description="The monitoring categories and risk items that flagged the household.")

    @strawberry.field
    def programs(self) -> list[ProgramResult]:
        return self.programs_all  # type: ignore[attr-defined, no-any-return]

    @strawberry.field(description="All programs' outcomes, flattened.")
    def outcomes(self, status: OutcomeStatus | None = None) -> list[Outcome]:  # type: ignore[valid-type]
        det: EngineDetermination = self  # type: ignore[assignment]
        return _filter(det.outcomes(), status)  # type: ignore[return-value]


@strawberry.type
class UserError:
    field: str | None
    message: str
    code: str


@strawberry.type
class RuleSet:
    code: str
    owner: str = strawberry.field(description="The responsible department, e.g. 县教体局.")
    versions: list[RuleSetVersion]

    @strawberry.field
    def title(self, lang: Lang = Lang.ZH) -> str:
        return self.title_en if lang is Lang.EN else self.title_zh  # type: ignore[attr-defined]

    @strawberry.field
    def version_in_force(self, info: strawberry.Info, as_of: date) -> RuleSetVersion | None:
        return info.context.app.version_in_force(self.code, as_of)  # type: ignore[no-any-return]


@strawberry.type
class Household:
    id: strawberry.ID
    region_code: str
    revision: int
    updated_at: datetime
    facts: JSON = strawberry.field(description="The household JSON as stored (HouseholdInput).")


@strawberry.type
class HouseholdEdge:
    cursor: str
    node: Household


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


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
class DeterminationRecord:
    id: strawberry.ID
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
        return ReplayResult(determination=wrap_determination(replayed.determination),  # type: ignore[arg-type]
                            identical=replayed.identical)


@strawberry.type
class ReplayResult:
    determination: Determination
    identical: bool = strawberry.field(
        description="True when the replay reproduces the recorded result exactly.")


# --- inputs ---------------------------------------------------------------------------------

UNSET: Any = strawberry.UNSET


@strawberry.input(description="A household member (CONTRACT.md, Household JSON).")
class MemberInput:
    id: str
    birth_date: date
    relation: str | None = UNSET
    tekun: bool | None = UNSET
    orphan: bool | None = UNSET
    medically_insured: bool | None = UNSET
    medical_out_of_pocket: float | None = UNSET
    disability_grade: int | None = UNSET
    disability_kind: str | None = UNSET
    needs_long_term_care: bool | None = UNSET
    school_stage: str | None = UNSET
    boarding: bool | None = UNSET
    labor_capacity: str | None = UNSET


@strawberry.input(description="Household facts; left-out fields take the contract's defaults, "
                  "left-out optional facts are unknown.")
class HouseholdInput:
    id: str
    members: list[MemberInput]
    region_code: str | None = UNSET
    poverty_alleviated: bool | None = UNSET
    monitored: bool | None = UNSET
    monitored_since: date | None = UNSET
    dibao: bool | None = UNSET
    dibao_marginal: bool | None = UNSET
    annual_net_income: float | None = UNSET
    previous_annual_net_income: float | None = UNSET
    disaster_loss: float | None = UNSET
    accident_loss: float | None = UNSET
    food_and_clothing_secure: bool | None = UNSET
    housing_safety_grade: str | None = UNSET
    drinking_water_safe: bool | None = UNSET


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def input_to_json(obj: Any) -> Any:
    """An input object as the contract's household JSON: camelCase keys, left-out fields left
    out (so defaults and unknowns apply), dates as ISO text."""
    if isinstance(obj, list):
        return [input_to_json(x) for x in obj]
    if isinstance(obj, date):
        return obj.isoformat()
    if hasattr(obj, "__strawberry_definition__"):
        return {
            _camel(k): input_to_json(v) for k, v in vars(obj).items() if v is not strawberry.UNSET
        }
    return obj


# --- adapters -------------------------------------------------------------------------------


class _DeterminationView:
    """The engine's Determination, with the names the GraphQL types read."""

    __slots__ = ("_d", "programs_all")

    def __init__(self, d: EngineDetermination):
        self._d = d
        self.programs_all = [_ProgramView(p) for p in d.programs]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._d, name)


class _ProgramView:
    __slots__ = ("outcomes_all", "program", "version")

    def __init__(self, p: Any):
        self.program = p.program
        self.version = p.version
        self.outcomes_all = p.outcomes


def wrap_determination(d: EngineDetermination) -> Annotated[Any, "Determination"]:
    return _DeterminationView(d)
