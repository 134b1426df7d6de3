"""Household facts: validation, defaults and derived facts.

``parse_household`` accepts the household JSON of the public contract (camelCase keys) and
either returns a ``Household`` or raises ``FactsInvalid`` with one error per problem. Nothing
downstream ever sees unvalidated facts: durable_rules compares ``"900" < 1500`` as strings, so
types are settled here.

``derive`` computes the facts the rules read (householdSize, perCapitaNetIncome, ages, ...).
Optional facts that were left out stay *unknown* (``UNKNOWN``), never zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
    create_model,
)

from policy.derivation import derive_facts
from policy.errors import FactsInvalid, FieldError
from policy.exact import decimals, exact
from policy.fact_catalogue import CATALOGUE, FactScopeName, InputFact
from policy.semantics import UNKNOWN, Value, full_years

MAX_MEMBERS = CATALOGUE.limits.maxMembers
MAX_AGE = CATALOGUE.limits.maxAge

MAX_MONEY = CATALOGUE.limits.maxMoney  # yuan; anything larger is a typing error
Money = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Flag = Annotated[bool, Strict()]


def _iso_date_text(value: Any) -> Any:
    # pydantic's lax mode would take a number as a Unix timestamp; the contract says ISO 8601.
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 date string such as 2024-03-01, got {value!r}")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]


def _money_facts(scope: FactScopeName) -> tuple[str, ...]:
    return tuple(f.name for f in CATALOGUE.inputs(scope) if f.type == "money")


MONEY_FIELDS = (*_money_facts("household"), *_money_facts("member"))
_HOUSEHOLD_MONEY = _money_facts("household")
_MEMBER_MONEY = _money_facts("member")


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _annotation(fact: InputFact) -> Any:
    """The pydantic type of an input fact (strict: no text for numbers, no 0/1 for flags)."""
    if fact.type == "text":
        return Annotated[str, Strict(), Field(min_length=fact.bounds.minLength,
                                              max_length=fact.bounds.maxLength)]
    if fact.type == "bool":
        return Flag
    if fact.type == "money":
        return Money
    if fact.type == "integer":
        return Annotated[int, Strict()]
    if fact.type == "date":
        return IsoDate
    assert fact.enum is not None
    return Literal[CATALOGUE.values(fact.enum)]


def _fields(scope: FactScopeName) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for fact in CATALOGUE.inputs(scope):
        t = _annotation(fact)
        if fact.required:
            fields[fact.name] = (t, ...)
        elif fact.unknownWhenLeftOut:
            fields[fact.name] = (t | None, None)
        else:
            fields[fact.name] = (t, fact.default)
    return fields


if TYPE_CHECKING:
    class Member(_Input):
        """A member's facts (fields generated from the fact catalogue)."""

        id: str
        birthDate: date

        def __getattr__(self, name: str) -> Any: ...

    class Household(_Input):
        """A household's facts (fields generated from the fact catalogue)."""

        id: str
        members: list[Member]

        def __getattr__(self, name: str) -> Any: ...
else:
    Member = create_model("Member", __base__=_Input, __module__=__name__,
                          __doc__="A member's facts (fields generated from the fact catalogue).",
                          **_fields("member"))
    Household = create_model(
        "Household", __base__=_Input, __module__=__name__,
        __doc__="A household's facts (fields generated from the fact catalogue).",
        **_fields("household"), members=(list[Member], ...))


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


# What a field of each pydantic type error should hold, in Chinese (WRONG_TYPE's details).
_EXPECTED_ZH = {
    "float_type": "数字", "float_parsing": "数字",
    "int_type": "整数", "int_parsing": "整数", "int_from_float": "整数",
    "bool_type": "布尔值（true 或 false）", "bool_parsing": "布尔值（true 或 false）",
    "date_type": "日期（年-月-日）", "date_parsing": "日期（年-月-日）",
    "date_from_datetime_parsing": "日期（年-月-日）",
    "date_from_datetime_inexact": "日期（年-月-日）",
    "string_type": "文本", "list_type": "列表", "dict_type": "对象", "model_type": "对象",
}
_KIND_ZH = {"str": "文本", "int": "整数", "float": "数字", "bool": "布尔值", "list": "列表",
            "dict": "对象", "NoneType": "空值"}


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
        params = None
        if code == "UNKNOWN_FIELD":
            msg = f"unknown field {loc[-1]!r}"
        elif code == "WRONG_TYPE":
            msg = f"{msg}; got {type(got).__name__} {_short(got)}"
            expected = _EXPECTED_ZH.get(err["type"])
            if expected is not None:
                kind = type(got).__name__
                params = {"expected": expected,
                          "got": f"{_KIND_ZH.get(kind, kind)} {_short(got)}"}
        elif code == "INVALID_VALUE":
            msg = f"{msg}; got {_short(got)}"
        errors.append(FieldError(_path(loc), code, msg, params))
    return errors


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_household(data: Any, as_of: date) -> Household:
    """Validate household JSON (already parsed) as of a date, or raise ``FactsInvalid``.

    Every problem is reported at once, one error each: a structural one (an unknown key, a
    wrong type, a value outside a closed set, a required field left out) does not hide the
    checks beyond types of the fields that are well typed (a negative amount, a birth date
    after ``asOf``, contradictory facts).

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
        # The fields that are well typed are checked beyond their types all the same.
        hh_values = _typed_values("household", data)
        member_values = [(i, _typed_values("member", m))
                         for i, m in enumerate(members if isinstance(members, list) else ())
                         if isinstance(m, Mapping)]
        errors.extend(_semantic_errors(hh_values, member_values, as_of))
        raise FactsInvalid(_sorted(errors)) from None
    errors.extend(_semantic_errors(
        household.__dict__, list(enumerate(m.__dict__ for m in household.members)), as_of))
    if errors:
        raise FactsInvalid(_sorted(errors))
    return household


def _sorted(errors: list[FieldError]) -> list[FieldError]:
    return sorted(set(errors), key=lambda e: (e.field, e.code))


class _Invalid:
    """A field whose value does not have its type (reported by pydantic): no other check
    reads it."""

    def __repr__(self) -> str:
        return "INVALID"


_INVALID: Any = _Invalid()

# One validator per input fact, for the fields of an object the model as a whole refused.
_ADAPTERS: dict[str, tuple[tuple[InputFact, TypeAdapter[Any]], ...]] = {
    scope: tuple((fact, TypeAdapter(
        _annotation(fact) | None if fact.unknownWhenLeftOut else _annotation(fact)))
        for fact in CATALOGUE.inputs(scope))
    for scope in ("household", "member")
}


def _typed_values(scope: FactScopeName, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Each input fact's value as the model would have it, ``_INVALID`` where it is not well
    typed (or required and left out), the default where it is left out."""
    out: dict[str, Any] = {}
    for fact, adapter in _ADAPTERS[scope]:
        if fact.name not in raw:
            out[fact.name] = _INVALID if fact.required else fact.default
            continue
        try:
            out[fact.name] = adapter.validate_python(raw[fact.name])
        except ValidationError:
            out[fact.name] = _INVALID
    return out


def _semantic_errors(hh: Mapping[str, Any], members: Sequence[tuple[int, Mapping[str, Any]]],
                     as_of: date) -> list[FieldError]:
    """The contract's checks beyond types (the catalogue's bounds, checks, requirements and
    contradictions) on the well-typed values of a household and of its members."""
    errors = _fact_errors("household", hh, "", as_of)
    for i, m in members:
        errors.extend(_fact_errors("member", m, f"members[{i}].", as_of))
    for fact in CATALOGUE.member:
        for c in fact.checks:
            if c.check == "uniqueInHousehold":
                seen: dict[Any, int] = {}
                for i, m in members:
                    value = m[fact.name]
                    if value is _INVALID:
                        continue
                    if value in seen:
                        errors.append(FieldError(
                            f"members[{i}].{fact.name}", c.code,
                            f"member {fact.name} {value!r} is already used by "
                            f"members[{seen[value]}]"))
                    else:
                        seen[value] = i
    return errors


# Per scope, the input facts with anything to check beyond their type (a requirement, a
# contradiction, money's or an integer's bounds, a check): the others cannot be in error here.
_CHECKED: dict[str, tuple[InputFact, ...]] = {
    scope: tuple(f for f in CATALOGUE.inputs(scope)
                 if f.requires is not None or f.contradicts or f.type in ("money", "integer")
                 or f.checks)
    for scope in ("household", "member")}


def _fact_errors(scope: FactScopeName, values: Mapping[str, Any], prefix: str, as_of: date
                 ) -> list[FieldError]:
    errors = []
    for fact in _CHECKED[scope]:
        value = values[fact.name]
        if value is None or value is _INVALID:
            continue
        path = prefix + fact.name
        if fact.requires is not None and values[fact.requires.fact] is None:
            errors.append(FieldError(
                prefix + fact.requires.fact, fact.requires.code,
                f"a {scope} with a {fact.name} needs a {fact.requires.fact}"))
        if value is not False:
            for k in fact.contradicts:
                if values[k.fact] == k.equals and values[k.fact] is not _INVALID:
                    errors.append(FieldError(
                        path, k.code,
                        f"{fact.name} contradicts {k.fact} = {_json(k.equals)}: "
                        f"{k.reason.en}"))
        if fact.type == "money":
            if value < 0:
                errors.append(FieldError(path, "NEGATIVE_AMOUNT",
                                         f"must be 0 or more, got {value:g}"))
            elif value > MAX_MONEY:
                errors.append(FieldError(path, "AMOUNT_TOO_LARGE",
                                         f"must be at most {MAX_MONEY:.0f} yuan, got {value:g}"))
            elif type(value) is float and round(value, 2) != value and decimals(value) > 2:
                errors.append(FieldError(
                    path, "TOO_MANY_DECIMALS",
                    f"yuan to the cent (at most two decimals), got {value!r}"))
        elif fact.type == "integer":
            lo, hi = fact.bounds.min, fact.bounds.max
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                errors.append(FieldError(path, fact.rangeCode or "OUT_OF_RANGE",
                                         f"{fact.name} is {_bound(lo)} to {_bound(hi)}, "
                                         f"got {value}"))
        for c in fact.checks:
            if c.check == "notAfterAsOf" and value > as_of:
                errors.append(FieldError(
                    path, c.code,
                    f"{value.isoformat()} is after the evaluation date {as_of.isoformat()}"))
                break  # a date after asOf has no age to check
            if c.check == "maxAge" and age_on(value, as_of) > MAX_AGE:
                errors.append(FieldError(
                    path, c.code,
                    f"age {age_on(value, as_of)} on {as_of.isoformat()} is over {MAX_AGE}"))
    return errors


def _json(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _bound(value: float | None) -> str:
    return "any" if value is None else f"{value:g}"


# --- derived facts ---------------------------------------------------------------------------


# The third value, the values the rules read, ages and calendar months are the semantics'
# (policy.semantics): one meaning for derivation and every backend.
age_on = full_years


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


def _inputs(scope: FactScopeName) -> tuple[tuple[str, Value], ...]:
    """The input facts conditions read, each with what they see when it is left out."""
    return tuple((f.name, UNKNOWN if f.absentAs is None else f.absentAs)
                 for f in CATALOGUE.inputs(scope) if f.condition)


_HOUSEHOLD_INPUTS = _inputs("household")
_MEMBER_INPUTS = _inputs("member")


def _exact(value: Any) -> Value:
    """An input value as the rules read it: a number exactly as written (policy.exact)."""
    return exact(value) if type(value) is float else value


def _member_facts(m: Member) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for name, absent in _MEMBER_INPUTS:
        value = getattr(m, name)
        out[name] = absent if value is None else _exact(value)
    return out


def derive(hh: Household, as_of: date) -> FactSet:
    """The facts the rules read of a validated household as of a date: its input facts (exact
    numbers, policy.exact) and the derived facts, computed from their definitions in the fact
    catalogue (policy.derivation)."""
    household: dict[str, Value] = {"asOf": as_of}
    for name, absent in _HOUSEHOLD_INPUTS:
        value = getattr(hh, name)
        household[name] = absent if value is None else _exact(value)
    members = tuple(_member_facts(m) for m in hh.members)
    derive_facts(household, members, as_of)
    return FactSet(as_of, household, members, tuple(m.id for m in hh.members))
