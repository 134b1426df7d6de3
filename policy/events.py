"""Department events (预警监测, WP 二、2): what a feed may send, and the facts an event and its
household's window of events give the ``early_warning`` rule set.

``parse_event`` validates one event of the public contract (``EventInput``: camelCase keys) and
either returns a ``DepartmentEvent`` or raises ``FactsInvalid`` with one error per problem, each
with its field path. ``event_facts`` extends a household's ``FactSet`` with one event's facts
(its kind, amount, grade ...) and the windowed aggregates over the household's events, so the
alert rules are ordinary conditions over declared facts (``policy.schema.EVENT_FACTS``).

>>> e = parse_event({"source": "医保", "eventId": "a1", "kind": "INPATIENT_COST",
...                  "householdId": "h", "memberId": "m", "occurredOn": "2023-05-01",
...                  "amount": 5000}, today=date(2024, 1, 1))
>>> e.key, e.amount
('医保:a1', Decimal('5000'))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from policy.errors import FactsInvalid, FieldError
from policy.exact import div as x_div
from policy.exact import sub as x_sub
from policy.facts import MAX_MONEY, FactSet
from policy.semantics import UNKNOWN, Value

# The rule sets that read event facts. They are evaluated per event by the early-warning
# correlation, never as part of a household's determination.
EVENT_PROGRAMS = frozenset({"early_warning"})
# Parameters of an event program that its correlation reads (not its conditions).
EVENT_PARAMETERS = frozenset({"windowDays"})

SOURCES = ("民政", "医保", "残联", "教育", "住建", "应急", "扶贫")
EVENT_KINDS = (
    "INPATIENT_COST", "DIBAO_GRANTED", "TEMPORARY_RELIEF_GRANTED", "DISABILITY_CERTIFIED",
    "SCHOOL_DROPOUT", "HOUSING_REGRADED", "INCOME_REPORTED",
)
# What each kind must carry besides the common fields.
_NEEDS_MEMBER = frozenset({"INPATIENT_COST", "DISABILITY_CERTIFIED", "SCHOOL_DROPOUT"})
_NEEDS_AMOUNT = frozenset({"INPATIENT_COST", "INCOME_REPORTED"})
_VALUES: dict[str, tuple[str, ...]] = {
    "DISABILITY_CERTIFIED": ("1", "2", "3", "4"),
    "HOUSING_REGRADED": ("A", "B", "C", "D"),
}
_FIELDS = ("source", "eventId", "kind", "householdId", "memberId", "occurredOn", "amount",
           "value")
# The kinds of a household's other events that an event's facts read (the window's sums:
# ``event_facts``, ``suggested_facts``): correlation reads the other kinds of the window's
# earlier events no further.
WINDOW_KINDS = frozenset({"INPATIENT_COST"})
MAX_ID = 64
MAX_EVENT_ID = 100
MAX_VALUE = 32
DEFAULT_WINDOW_DAYS = 365


@dataclass(frozen=True)
class DepartmentEvent:
    """A validated event. ``amount`` is exact (yuan, at most two decimals)."""

    source: str
    event_id: str
    kind: str
    household_id: str
    member_id: str | None
    occurred_on: date
    amount: Decimal | None = None
    value: str | None = None

    @property
    def key(self) -> str:
        """The idempotency key: the sender's id within its department (sources hold no ``:``)."""
        return f"{self.source}:{self.event_id}"

    def payload(self) -> dict[str, Any]:
        """What the store keeps besides the columns (the amount as exact text)."""
        out: dict[str, Any] = {"eventId": self.event_id}
        if self.amount is not None:
            out["amount"] = str(self.amount)
        if self.value is not None:
            out["value"] = self.value
        return out

    def as_input(self) -> dict[str, Any]:
        """The event as the contract's ``EventInput`` JSON."""
        return {
            "source": self.source, "eventId": self.event_id, "kind": self.kind,
            "householdId": self.household_id, "memberId": self.member_id,
            "occurredOn": self.occurred_on.isoformat(),
            "amount": str(self.amount) if self.amount is not None else None,
            "value": self.value,
        }


def from_stored(source: str, kind: str, household_id: str, member_id: str | None,
                occurred_on: date, payload: Mapping[str, Any]) -> DepartmentEvent:
    """An event as the store keeps it (columns and payload), back as a ``DepartmentEvent``."""
    amount = payload.get("amount")
    return DepartmentEvent(source, str(payload.get("eventId", "")), kind, household_id, member_id,
                           occurred_on, Decimal(amount) if amount is not None else None,
                           payload.get("value"))


def parse_event(data: Any, *, today: date, path: str = "") -> DepartmentEvent:
    """Validate one event, or raise ``FactsInvalid`` listing every problem (paths start with
    ``path``, e.g. ``events[3]``)."""
    p = (path + ".") if path else ""
    if not isinstance(data, Mapping):
        raise FactsInvalid([FieldError(path or "event", "WRONG_TYPE",
                                       f"expected an object, got {type(data).__name__}")])
    errors: list[FieldError] = []
    for k in data:
        if k not in _FIELDS:
            errors.append(FieldError(f"{p}{k}", "UNKNOWN_FIELD", f"unknown field {str(k)!r}"))

    def text(name: str, limit: int, required: bool) -> str | None:
        v = data.get(name)
        if v is None or v == "":
            if required:
                errors.append(FieldError(f"{p}{name}", "REQUIRED", f"{name} is required"))
            return None
        if not isinstance(v, str):
            errors.append(FieldError(f"{p}{name}", "WRONG_TYPE",
                                     f"expected text, got {type(v).__name__}"))
            return None
        if len(v) > limit or "\x00" in v:
            errors.append(FieldError(f"{p}{name}", "INVALID_VALUE",
                                     f"at most {limit} characters, no NUL"))
            return None
        return v

    source = text("source", 16, True)
    if source is not None and source not in SOURCES:
        errors.append(FieldError(f"{p}source", "INVALID_VALUE",
                                 f"source is one of {', '.join(SOURCES)}; got {source[:16]!r}"))
    event_id = text("eventId", MAX_EVENT_ID, True)
    kind = text("kind", 32, True)
    if kind is not None and kind not in EVENT_KINDS:
        errors.append(FieldError(f"{p}kind", "INVALID_VALUE",
                                 f"kind is one of {', '.join(EVENT_KINDS)}; got {kind!r}"))
        kind = None
    household_id = text("householdId", MAX_ID, True)
    member_id = text("memberId", MAX_ID, False)
    occurred = _date(data.get("occurredOn"), f"{p}occurredOn", today, errors)
    amount = _amount(data.get("amount"), f"{p}amount", errors)
    value = text("value", MAX_VALUE, False)
    if kind is not None:
        if kind in _NEEDS_MEMBER and member_id is None and "memberId" not in _failed(errors, p):
            errors.append(FieldError(f"{p}memberId", "REQUIRED",
                                     f"a {kind} event names the member (memberId)"))
        if kind in _NEEDS_AMOUNT and amount is None and "amount" not in _failed(errors, p):
            errors.append(FieldError(f"{p}amount", "REQUIRED",
                                     f"a {kind} event carries an amount (yuan)"))
        allowed = _VALUES.get(kind)
        if allowed is not None and value not in allowed and "value" not in _failed(errors, p):
            errors.append(FieldError(f"{p}value", "INVALID_VALUE" if value else "REQUIRED",
                                     f"a {kind} event's value is one of {', '.join(allowed)}"
                                     + (f"; got {value!r}" if value else "")))
    if errors:
        raise FactsInvalid(sorted(set(errors), key=lambda e: (e.field, e.code)))
    assert source and event_id and kind and household_id and occurred is not None
    return DepartmentEvent(source, event_id, kind, household_id, member_id, occurred, amount,
                           value)


def _failed(errors: list[FieldError], prefix: str) -> set[str]:
    return {e.field.removeprefix(prefix) for e in errors}


def _date(v: Any, field: str, today: date, errors: list[FieldError]) -> date | None:
    if v is None or v == "":
        errors.append(FieldError(field, "REQUIRED", "occurredOn is required (YYYY-MM-DD)"))
        return None
    if isinstance(v, date):
        d = v
    elif isinstance(v, str):
        try:
            d = date.fromisoformat(v)
        except ValueError:
            errors.append(FieldError(field, "WRONG_TYPE",
                                     f"expected an ISO 8601 date such as 2024-03-01, got "
                                     f"{v[:20]!r}"))
            return None
    else:
        errors.append(FieldError(field, "WRONG_TYPE",
                                 f"expected an ISO 8601 date string, got {type(v).__name__}"))
        return None
    if d > today:
        errors.append(FieldError(field, "DATE_IN_FUTURE",
                                 f"{d.isoformat()} is after today ({today.isoformat()})"))
        return None
    return d


def _amount(v: Any, field: str, errors: list[FieldError]) -> Decimal | None:
    if v is None or v == "":
        return None
    if isinstance(v, bool) or not isinstance(v, int | float | str | Decimal):
        errors.append(FieldError(field, "WRONG_TYPE",
                                 f"expected an amount in yuan, got {type(v).__name__}"))
        return None
    try:
        # A float's shortest repr is the number the sender wrote (5000.1 -> "5000.1").
        d = Decimal(repr(v) if isinstance(v, float) else str(v).strip())
    except InvalidOperation:
        errors.append(FieldError(field, "WRONG_TYPE", f"not a number: {str(v)[:20]!r}"))
        return None
    if not d.is_finite():
        errors.append(FieldError(field, "NOT_FINITE", "an amount is a finite number"))
        return None
    if d < 0:
        errors.append(FieldError(field, "NEGATIVE_AMOUNT", f"must be 0 or more, got {d}"))
        return None
    if d > Decimal(int(MAX_MONEY)):
        errors.append(FieldError(field, "AMOUNT_TOO_LARGE",
                                 f"must be at most {int(MAX_MONEY)} yuan"))
        return None
    exponent = d.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and d != d.quantize(Decimal("0.01")):
        errors.append(FieldError(field, "TOO_MANY_DECIMALS",
                                 f"yuan to the cent (two decimals), got {d}"))
        return None
    # One spelling per amount ("5000", "5000.5"): Decimal("5000.00") and Decimal("5E+3") are
    # the same number, but stored and compared as text they would not be.
    return d.quantize(Decimal(1)) if d == d.to_integral_value() else d.normalize()


# --- the facts of an event and its window ------------------------------------------------------


def in_window(d: date, end: date, days: int) -> bool:
    """True when ``d`` is one of the ``days`` days that end on ``end`` (both ends included):
    with 365 days, an event 364 days before ``end`` counts, one 365 days before does not.

    >>> in_window(date(2023, 1, 2), date(2024, 1, 1), 365), in_window(
    ...     date(2023, 1, 1), date(2024, 1, 1), 365)
    (True, False)
    """
    return end - timedelta(days=days - 1) <= d <= end


def window_sum(events: Iterable[DepartmentEvent], kind: str, end: date, days: int,
               member_id: str | None = None) -> Decimal:
    """The exact sum of the amounts of ``kind`` events in the window ending on ``end`` (of one
    member's events when ``member_id`` is given)."""
    total = Decimal(0)
    for e in events:
        if (e.kind == kind and e.amount is not None and in_window(e.occurred_on, end, days)
                and (member_id is None or e.member_id == member_id)):
            total += e.amount
    return total


def event_facts(base: FactSet, event: DepartmentEvent, window: Sequence[DepartmentEvent],
                window_days: int = DEFAULT_WINDOW_DAYS) -> FactSet:
    """``base`` (the household's facts derived as of the event's date) with the event's facts
    and the window's aggregates (``policy.schema.EVENT_FACTS``). ``window`` is the household's
    events, in any order (the event itself among them or not: it is counted once)."""
    others = [e for e in window if e.key != event.key]
    everything = [*others, event]
    household: dict[str, Value] = dict(base.household)
    household["eventKind"] = event.kind
    household["eventSource"] = event.source
    household["eventAmount"] = event.amount if event.amount is not None else UNKNOWN
    household["eventDisabilityGrade"] = (
        int(event.value) if event.kind == "DISABILITY_CERTIFIED" and event.value else UNKNOWN)
    household["eventHousingGrade"] = (
        event.value if event.kind == "HOUSING_REGRADED" and event.value else UNKNOWN)
    income = base.household.get("annualNetIncome")
    drop: Value = UNKNOWN
    if (event.kind == "INCOME_REPORTED" and event.amount is not None
            and isinstance(income, int | Decimal | Fraction) and not isinstance(income, bool)
            and income > 0):
        # Exact, like every quantity derived from money (docs/decisions/0006-exact-numbers.md).
        drop = x_sub(1, x_div(event.amount, income))
    household["eventIncomeDropRatio"] = drop
    household["windowInpatientSelfPaid"] = window_sum(
        everything, "INPATIENT_COST", event.occurred_on, window_days)
    members = tuple({**m, "eventMember": mid == event.member_id}
                    for m, mid in zip(base.members, base.member_ids, strict=True))
    return FactSet(base.as_of, household, members, base.member_ids)


def suggested_facts(event: DepartmentEvent, member_index: int | None,
                    facts: Mapping[str, Any], window: Sequence[DepartmentEvent],
                    window_days: int = DEFAULT_WINDOW_DAYS) -> list[tuple[str, str]]:
    """The household facts an event suggests updating, as (fact path, value as JSON text), e.g.
    ``("dibao", "true")`` or ``("members[1].disabilityGrade", "1")``. ``facts`` is the stored
    household JSON; the paths index its members."""
    m = f"members[{member_index}]." if member_index is not None else None
    k = event.kind
    if k == "DIBAO_GRANTED":
        return [("dibao", "true")]
    if k == "TEMPORARY_RELIEF_GRANTED":
        return [("dibaoMarginal", "true")] if not facts.get("dibao") else []
    if k == "DISABILITY_CERTIFIED" and m is not None and event.value:
        return [(m + "disabilityGrade", event.value)]
    if k == "SCHOOL_DROPOUT" and m is not None:
        return [(m + "schoolStage", '"NONE"')]
    if k == "HOUSING_REGRADED" and event.value:
        return [("housingSafetyGrade", f'"{event.value}"')]
    if k == "INCOME_REPORTED" and event.amount is not None:
        out = [("annualNetIncome", _plain(event.amount))]
        if "annualNetIncome" in facts:
            out.append(("previousAnnualNetIncome", _plain(Decimal(str(facts["annualNetIncome"])))))
        return out
    if k == "INPATIENT_COST" and m is not None:
        distinct = {e.key: e for e in [*window, event]}.values()
        member_sum = window_sum(distinct, "INPATIENT_COST", event.occurred_on, window_days,
                                member_id=event.member_id)
        return [(m + "medicalOutOfPocket", _plain(member_sum))]
    return []


def _plain(d: Decimal) -> str:
    return format(d.quantize(Decimal(1)), "f") if d == d.to_integral_value() else format(
        d.normalize(), "f")
