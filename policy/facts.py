"""Household facts: validation, defaults and derived facts.

``parse_household`` accepts the household JSON of the public contract (camelCase keys) and
either returns a ``Household`` or raises ``FactsInvalid`` with one error per problem. Nothing
downstream ever sees unvalidated facts: durable_rules compares ``"900" < 1500`` as strings, so
types are settled here.

``derive`` computes the facts the rules read (householdSize, perCapitaNetIncome, ages, ...).
Optional facts that were left out stay *unknown* (``UNKNOWN``), never zero.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, ValidationError

from policy.errors import FactsInvalid, FieldError

MAX_MEMBERS = 20
MAX_AGE = 120

MAX_MONEY = 1e12  # yuan; anything larger is a typing error, not a household
Money = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Flag = Annotated[bool, Strict()]
HousingSafetyGrade = Literal["A", "B", "C", "D"]
Relation = Literal[
    "HEAD", "SPOUSE", "CHILD", "CHILD_IN_LAW", "GRANDCHILD", "PARENT", "PARENT_IN_LAW",
    "GRANDPARENT", "SIBLING", "OTHER",
]
DisabilityKind = Literal[
    "VISUAL", "HEARING", "SPEECH", "PHYSICAL", "INTELLECTUAL", "MENTAL", "MULTIPLE",
]
SchoolStage = Literal[
    "NONE", "PRESCHOOL", "PRIMARY", "JUNIOR", "SENIOR", "SECONDARY_VOCATIONAL",
    "HIGHER_VOCATIONAL", "UNDERGRADUATE",
]
LaborCapacity = Literal["FULL", "PARTIAL", "NONE"]


def _iso_date_text(value: Any) -> Any:
    # pydantic's lax mode would take a number as a Unix timestamp; the contract says ISO 8601.
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 date string such as 2024-03-01, got {value!r}")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]

MONEY_FIELDS = (
    "annualNetIncome", "previousAnnualNetIncome", "disasterLoss", "accidentLoss",
    "medicalOutOfPocket",
)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Member(_Input):
    id: Annotated[str, Strict(), Field(min_length=1, max_length=64)]
    relation: Relation = "OTHER"
    birthDate: IsoDate
    tekun: Flag = False
    orphan: Flag = False
    medicallyInsured: Flag = True
    medicalOutOfPocket: Money = 0
    disabilityGrade: Annotated[int, Strict()] | None = None
    disabilityKind: DisabilityKind | None = None
    needsLongTermCare: Flag = False
    schoolStage: SchoolStage = "NONE"
    boarding: Flag = False
    laborCapacity: LaborCapacity = "FULL"


class Household(_Input):
    id: Annotated[str, Strict(), Field(min_length=1, max_length=64)]
    regionCode: Annotated[str, Strict(), Field(min_length=1, max_length=32)] = "000000"
    povertyAlleviated: Flag = False
    monitored: Flag = False
    monitoredSince: IsoDate | None = None
    dibao: Flag = False
    dibaoMarginal: Flag = False
    annualNetIncome: Money = 0
    previousAnnualNetIncome: Money | None = None
    disasterLoss: Money = 0
    accidentLoss: Money = 0
    foodAndClothingSecure: Flag = True
    housingSafetyGrade: HousingSafetyGrade = "A"
    drinkingWaterSafe: Flag = True
    members: list[Member]


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "household"


_CODES = {
    "extra_forbidden": "UNKNOWN_FIELD",
    "missing": "REQUIRED",
    "literal_error": "INVALID_VALUE",
    "string_too_short": "INVALID_VALUE",
    "string_too_long": "INVALID_VALUE",
    "value_error": "WRONG_TYPE",
    "finite_number": "NOT_FINITE",
}


def _from_pydantic(exc: ValidationError) -> list[FieldError]:
    errors = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        # Drop the union/tagged-type hops pydantic adds for optional fields ("float", "int").
        loc = tuple(p for p in loc if p not in ("float", "int", "date", "str", "bool"))
        code = _CODES.get(err["type"], "WRONG_TYPE")
        if loc and loc[-1] == "members" and err["type"] == "list_type":
            code = "WRONG_TYPE"
        got = err.get("input")
        msg = err["msg"]
        if code == "UNKNOWN_FIELD":
            msg = f"unknown field {loc[-1]!r}"
        elif code == "WRONG_TYPE":
            msg = f"{msg}; got {type(got).__name__} {_short(got)}"
        elif code == "INVALID_VALUE":
            msg = f"{msg}; got {_short(got)}"
        errors.append(FieldError(_path(loc), code, msg))
    return errors


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_household(data: Any, as_of: date) -> Household:
    """Validate household JSON (already parsed) as of a date, or raise ``FactsInvalid``.

    >>> hh = parse_household({"id": "h", "members": [{"id": "m", "birthDate": "1980-01-01"}]},
    ...                      date(2024, 1, 1))
    >>> hh.members[0].schoolStage
    'NONE'
    """
    if not isinstance(data, Mapping):
        raise FactsInvalid(
            [FieldError("household", "WRONG_TYPE",
                        f"expected an object, got {type(data).__name__}")]
        )
    errors: list[FieldError] = []
    members = data.get("members")
    if isinstance(members, list):
        if not members:
            errors.append(
                FieldError("members", "NO_MEMBERS", "a household has at least one member"))
        elif len(members) > MAX_MEMBERS:
            errors.append(
                FieldError(
                    "members", "TOO_MANY_MEMBERS",
                    f"at most {MAX_MEMBERS} members, got {len(members)}",
                )
            )
    try:
        household = Household.model_validate(data)
    except ValidationError as exc:
        errors.extend(_from_pydantic(exc))
        raise FactsInvalid(_sorted(errors)) from None
    errors.extend(_semantic_errors(household, as_of))
    if errors:
        raise FactsInvalid(_sorted(errors))
    return household


def _sorted(errors: list[FieldError]) -> list[FieldError]:
    return sorted(set(errors), key=lambda e: (e.field, e.code))


def _semantic_errors(hh: Household, as_of: date) -> list[FieldError]:
    errors = []
    for name in MONEY_FIELDS:
        value = getattr(hh, name, None)
        if value is not None and value < 0:
            errors.append(FieldError(name, "NEGATIVE_AMOUNT", f"must be 0 or more, got {value:g}"))
        elif value is not None and value > MAX_MONEY:
            errors.append(FieldError(name, "AMOUNT_TOO_LARGE",
                                     f"must be at most {MAX_MONEY:.0f} yuan, got {value:g}"))
    if hh.monitoredSince is not None and hh.monitoredSince > as_of:
        errors.append(
            FieldError(
                "monitoredSince", "DATE_AFTER_AS_OF",
                f"{hh.monitoredSince.isoformat()} is after the evaluation date {as_of.isoformat()}",
            )
        )
    seen: dict[str, int] = {}
    for i, m in enumerate(hh.members):
        p = f"members[{i}]"
        if m.id in seen:
            errors.append(
                FieldError(
                    f"{p}.id", "DUPLICATE_MEMBER_ID",
                    f"member id {m.id!r} is already used by members[{seen[m.id]}]",
                )
            )
        else:
            seen[m.id] = i
        if m.medicalOutOfPocket < 0:
            errors.append(
                FieldError(
                    f"{p}.medicalOutOfPocket", "NEGATIVE_AMOUNT",
                    f"must be 0 or more, got {m.medicalOutOfPocket:g}",
                )
            )
        elif m.medicalOutOfPocket > MAX_MONEY:
            errors.append(FieldError(f"{p}.medicalOutOfPocket", "AMOUNT_TOO_LARGE",
                                     f"must be at most {MAX_MONEY:.0f} yuan, "
                                     f"got {m.medicalOutOfPocket:g}"))
        if m.birthDate > as_of:
            errors.append(
                FieldError(
                    f"{p}.birthDate", "BIRTH_AFTER_AS_OF",
                    f"{m.birthDate.isoformat()} is after the evaluation date {as_of.isoformat()}",
                )
            )
        elif age_on(m.birthDate, as_of) > MAX_AGE:
            errors.append(
                FieldError(
                    f"{p}.birthDate", "AGE_OVER_LIMIT",
                    f"age {age_on(m.birthDate, as_of)} on {as_of.isoformat()} is over {MAX_AGE}",
                )
            )
        if m.disabilityGrade is not None and not 1 <= m.disabilityGrade <= 4:
            errors.append(
                FieldError(
                    f"{p}.disabilityGrade", "DISABILITY_GRADE_RANGE",
                    f"a disability grade is 1 to 4, got {m.disabilityGrade}",
                )
            )
        if m.disabilityGrade is not None and m.disabilityKind is None:
            errors.append(
                FieldError(
                    f"{p}.disabilityKind", "DISABILITY_KIND_REQUIRED",
                    "a member with a disability grade needs a disabilityKind",
                )
            )
        if m.disabilityKind is not None and m.disabilityGrade is None:
            errors.append(
                FieldError(
                    f"{p}.disabilityGrade", "DISABILITY_GRADE_REQUIRED",
                    "a member with a disabilityKind needs a disabilityGrade",
                )
            )
    return errors


# --- derived facts ---------------------------------------------------------------------------


class _Unknown:
    """A fact that was not supplied (or cannot be derived): Kleene logic's third value."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        raise TypeError("UNKNOWN has no truth value; use Kleene operators")


UNKNOWN = _Unknown()
Value = float | int | bool | str | date | _Unknown


def age_on(birth: date, on: date) -> int:
    """Full years on a date.

    >>> age_on(date(2010, 3, 1), date(2016, 2, 29)), age_on(date(2010, 3, 1), date(2016, 3, 1))
    (5, 6)
    """
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def add_months(d: date, months: int) -> date:
    """Calendar months later (or earlier); a day past the month's end clamps to its last day.

    >>> add_months(date(2023, 8, 31), -6), add_months(date(2024, 1, 31), 1)
    (datetime.date(2023, 2, 28), datetime.date(2024, 2, 29))
    """
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class FactSet:
    """The facts the rules read: the household's (input and derived) and each member's."""

    as_of: date
    household: dict[str, Value]
    members: tuple[dict[str, Value], ...]
    member_ids: tuple[str, ...]

    def member_context(self, index: int) -> Mapping[str, Value]:
        """A member's facts with the household's beside them (names never clash); built once
        per member and shared by every reader, so never to be changed."""
        return self._contexts[index]

    @cached_property
    def _contexts(self) -> tuple[Mapping[str, Value], ...]:
        return tuple({**self.household, **m} for m in self.members)


def derive(hh: Household, as_of: date) -> FactSet:
    """Compute the derived facts of a validated household as of a date."""
    size = len(hh.members)
    medical = sum(m.medicalOutOfPocket for m in hh.members)
    rigid = medical + hh.disasterLoss + hh.accidentLoss
    prev = hh.previousAnnualNetIncome
    household: dict[str, Value] = {
        "asOf": as_of,
        "regionCode": hh.regionCode,
        "povertyAlleviated": hh.povertyAlleviated,
        "monitored": hh.monitored,
        "monitoredSince": hh.monitoredSince if hh.monitoredSince is not None else UNKNOWN,
        "dibao": hh.dibao,
        "dibaoMarginal": hh.dibaoMarginal,
        "annualNetIncome": hh.annualNetIncome,
        "previousAnnualNetIncome": prev if prev is not None else UNKNOWN,
        "disasterLoss": hh.disasterLoss,
        "accidentLoss": hh.accidentLoss,
        "foodAndClothingSecure": hh.foodAndClothingSecure,
        "housingSafetyGrade": hh.housingSafetyGrade,
        "drinkingWaterSafe": hh.drinkingWaterSafe,
        "householdSize": size,
        "perCapitaNetIncome": hh.annualNetIncome / size,
        "householdMedicalOutOfPocket": medical,
        "rigidExpenses": rigid,
        "perCapitaIncomeAfterRigid": (hh.annualNetIncome - rigid) / size,
        "incomeDropRatio": (1 - hh.annualNetIncome / prev) if prev else UNKNOWN,
        "economicHardship": hh.povertyAlleviated or hh.monitored or hh.dibao or hh.dibaoMarginal,
    }
    members: tuple[dict[str, Value], ...] = tuple(
        {
            "relation": m.relation,
            "birthDate": m.birthDate,
            "age": age_on(m.birthDate, as_of),
            "tekun": m.tekun,
            "orphan": m.orphan,
            "medicallyInsured": m.medicallyInsured,
            "medicalOutOfPocket": m.medicalOutOfPocket,
            "disabilityGrade": m.disabilityGrade or 0,
            "disabilityKind": m.disabilityKind or "NONE",
            "disabled": m.disabilityGrade is not None,
            "needsLongTermCare": m.needsLongTermCare,
            "schoolStage": m.schoolStage,
            "boarding": m.boarding,
            "laborCapacity": m.laborCapacity,
        }
        for m in hh.members
    )
    return FactSet(as_of, household, members, tuple(m.id for m in hh.members))
