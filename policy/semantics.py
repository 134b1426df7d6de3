"""What every construct of the condition language means, defined once.

Every backend reads a condition through this module or is generated from it:

- the interactive engine (``engine.values`` compiles a typed tree into closures whose every
  step is a function below), and through it the explanation tree and trace;
- the durable_rules hand-off (``engine.compiler``): the negation normal form it compiles to is
  ``NEGATED`` and ``FLIPPED``, constants are folded with ``compare``, ``arith`` and ``call``;
- the vectorised backend (``engine.batch``): constants are folded here too, the columns' Kleene
  logic and the status rules are ``effective`` and ``outcome`` over polars' logic;
- static validation (``policy.validation``): a condition at a point of fact values is
  ``compare``, ``member_of``, ``between`` and the Kleene connectives below (``x / 0`` is
  unknown there as everywhere, ``round`` rounds);
- what-would-change (``engine.whatif``): the status of a changed household is ``outcome``.

``tests/conformance`` holds the table of conditions, households and three-valued results that
every backend must give.

The meanings:

**Unknown.** ``UNKNOWN`` is the third truth value and the value of anything computed from an
unknown fact: an optional fact left out, a derived fact whose definition divides by zero.

**Connectives** are Kleene's strong logic: ``false and unknown`` is false, ``true or unknown``
is true, ``not unknown`` is unknown. ``any member(c)`` is the ``or`` of ``c`` over the members,
``all members(c)`` its ``and`` (a household has at least one member).

**Comparisons** (``< <= > >= == !=``) are unknown when either side is; numbers compare exactly
(``policy.exact``), dates by day, enum values by name.

**Membership.** ``x in {a, b}`` is unknown only when ``x`` is; an item whose value is unknown
equals nothing. ``x not in {..}`` is its negation. ``x between lo and hi`` is
``x >= lo and x <= hi`` (both ends included).

**Arithmetic** is exact (``policy.exact``): sums, differences and products of decimals,
quotients as decimals when they terminate and fractions when not. ``x / 0`` is unknown, never
infinite and never an error. ``min`` and ``max`` are unknown when an argument is. ``round(x,
n)`` rounds the exact value to ``n`` decimals, a tie away from zero.

**Dates.** ``addMonths(d, n)`` is calendar months later (earlier for negative ``n``), a day past
the month's end clamped to its last day (31 August minus 6 months is 28 February). A member's
``age`` is ``full_years(birthDate, asOf)``: someone born on 29 February is a year older on
1 March in a year without one.

**Status.** A rule's *effective* verdict is its own verdict and not the verdict of any
higher-priority rule of its exclusive group; an outcome's verdict is the ``or`` of its rules'
effective verdicts: GRANTED when true (the first such rule by priority grants), UNDETERMINED
when unknown, NOT_GRANTED when false.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Protocol, TypeVar

from policy import exact as x
from policy.exact import Number

# --- the third value ---------------------------------------------------------------------------


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
# Numbers are exact (policy.exact): never a float.
Value = Number | bool | str | date | _Unknown
S = TypeVar("S")  # what a lazily read operand is computed from (a scope)


# --- connectives -------------------------------------------------------------------------------


def k_not(v: Value) -> Value:
    """``not v``.

    >>> k_not(True), k_not(UNKNOWN)
    (False, UNKNOWN)
    """
    return UNKNOWN if v is UNKNOWN else not v


def k_and(values: Iterable[Value]) -> Value:
    """``v1 and v2 and ...``: false when one is false (the rest are not read), else unknown
    when one is unknown, else true.

    >>> k_and([True, UNKNOWN]), k_and([UNKNOWN, False]), k_and([])
    (UNKNOWN, False, True)
    """
    unknown = False
    for v in values:
        if v is False:
            return False
        if v is UNKNOWN:
            unknown = True
    return UNKNOWN if unknown else True


def k_or(values: Iterable[Value]) -> Value:
    """``v1 or v2 or ...``: true when one is true (the rest are not read), else unknown when
    one is unknown, else false.

    >>> k_or([False, UNKNOWN]), k_or([UNKNOWN, True]), k_or([])
    (UNKNOWN, True, False)
    """
    unknown = False
    for v in values:
        if v is True:
            return True
        if v is UNKNOWN:
            unknown = True
    return UNKNOWN if unknown else False


def k_and_of(operands: Sequence[Callable[[S], Value]], scope: S) -> Value:
    """``k_and`` of the operands' values in ``scope``, each computed only when read (none past
    a false one): what an ``and`` evaluates to, without a generator in between.

    >>> k_and_of([lambda s: s, lambda s: 1 / 0], False), k_and_of([lambda s: s], UNKNOWN)
    (False, UNKNOWN)
    """
    unknown = False
    for f in operands:
        v = f(scope)
        if v is False:
            return False
        if v is UNKNOWN:
            unknown = True
    return UNKNOWN if unknown else True


def k_or_of(operands: Sequence[Callable[[S], Value]], scope: S) -> Value:
    """``k_or`` of the operands' values in ``scope``, each computed only when read (none past a
    true one).

    >>> k_or_of([lambda s: s, lambda s: 1 / 0], True), k_or_of([lambda s: s], UNKNOWN)
    (True, UNKNOWN)
    """
    unknown = False
    for f in operands:
        v = f(scope)
        if v is True:
            return True
        if v is UNKNOWN:
            unknown = True
    return UNKNOWN if unknown else False


def any_member(values: Iterable[Value]) -> Value:
    """``any member(c)``: ``c`` of each member, or-ed."""
    return k_or(values)


def all_members(values: Iterable[Value]) -> Value:
    """``all members(c)``: ``c`` of each member, and-ed."""
    return k_and(values)


QUANTIFIERS: dict[str, Callable[[Iterable[Value]], Value]] = {
    "any": any_member, "all": all_members,
}


# --- comparisons -------------------------------------------------------------------------------

COMPARE_OPS = ("<", "<=", ">", ">=", "==", "!=")
# ``not (a op b)`` is ``a NEGATED[op] b`` wherever both sides are known (and unknown with them).
NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
# ``a op b`` is ``b FLIPPED[op] a``.
FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _lt(a: Value, b: Value) -> Value:
    return UNKNOWN if a is UNKNOWN or b is UNKNOWN else a < b  # type: ignore[operator]


def _le(a: Value, b: Value) -> Value:
    return UNKNOWN if a is UNKNOWN or b is UNKNOWN else a <= b  # type: ignore[operator]


def _gt(a: Value, b: Value) -> Value:
    return UNKNOWN if a is UNKNOWN or b is UNKNOWN else a > b  # type: ignore[operator]


def _ge(a: Value, b: Value) -> Value:
    return UNKNOWN if a is UNKNOWN or b is UNKNOWN else a >= b  # type: ignore[operator]


def _eq(a: Value, b: Value) -> Value:
    return UNKNOWN if a is UNKNOWN or b is UNKNOWN else a == b


def _ne(a: Value, b: Value) -> Value:
    return UNKNOWN if a is UNKNOWN or b is UNKNOWN else a != b


# One function per operator: the interactive engine binds it once per node.
COMPARISONS: dict[str, Callable[[Value, Value], Value]] = {
    "<": _lt, "<=": _le, ">": _gt, ">=": _ge, "==": _eq, "!=": _ne,
}


def compare(op: str, left: Value, right: Value) -> Value:
    """``left op right``, unknown when a side is.

    >>> from decimal import Decimal
    >>> compare("<", Decimal("5999.99"), 6000), compare("==", UNKNOWN, 1)
    (True, UNKNOWN)
    """
    return COMPARISONS[op](left, right)


def member_of(value: Value, items: Iterable[Value], negated: bool = False) -> Value:
    """``value in {items}`` (``not in`` when ``negated``): unknown only when ``value`` is; an
    unknown item equals nothing.

    >>> member_of("C", ["C", "D"]), member_of(UNKNOWN, ["C"]), member_of(1, [UNKNOWN], True)
    (True, UNKNOWN, True)
    """
    if value is UNKNOWN:
        return UNKNOWN
    found = any(item is not UNKNOWN and value == item for item in items)
    return not found if negated else found


def between(value: Value, low: Value, high: Value) -> Value:
    """``value between low and high``: ``value >= low and value <= high``."""
    return k_and((_ge(value, low), _le(value, high)))


# --- arithmetic and functions ------------------------------------------------------------------


def negate(v: Value) -> Value:
    """``-v``."""
    return UNKNOWN if v is UNKNOWN else -v  # type: ignore[operator]


def _div(a: Number, b: Number) -> Value:
    return UNKNOWN if b == 0 else x.div(a, b)


_ARITH: dict[str, Callable[[Number, Number], Value]] = {
    "+": x.add, "-": x.sub, "*": x.mul, "/": _div,
}
ARITH_OPS = tuple(_ARITH)


def arith(op: str, left: Value, right: Value) -> Value:
    """``left op right`` exactly; unknown when a side is, or for a division by zero.

    >>> from decimal import Decimal
    >>> arith("+", Decimal("0.1"), Decimal("0.2")), arith("/", 20000, 3), arith("/", 5, 0)
    (Decimal('0.3'), Fraction(20000, 3), UNKNOWN)
    """
    if left is UNKNOWN or right is UNKNOWN:
        return UNKNOWN
    return _ARITH[op](left, right)  # type: ignore[arg-type]


def round_half_up(value: Number, places: int) -> Number:
    """``round(value, places)``: a tie away from zero, on the exact value.

    >>> from decimal import Decimal
    >>> round_half_up(Decimal("2.675"), 2), round_half_up(Decimal("-0.125"), 2)
    (Decimal('2.68'), Decimal('-0.13'))
    """
    return x.round_half_up(value, places)


def full_years(birth: date, on: date) -> int:
    """Full years from ``birth`` to ``on`` (a member's ``age``): a year is full on the
    anniversary, and the anniversary of 29 February in a year without one is 1 March.

    >>> full_years(date(2008, 2, 29), date(2026, 2, 28)), full_years(date(2008, 2, 29),
    ...                                                                date(2026, 3, 1))
    (17, 18)
    >>> full_years(date(2008, 2, 29), date(2024, 2, 29))
    16
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


def _min(args: Sequence[Value]) -> Value:
    return min(args)  # type: ignore[type-var]


def _max(args: Sequence[Value]) -> Value:
    return max(args)  # type: ignore[type-var]


def _round(args: Sequence[Value]) -> Value:
    return round_half_up(args[0], int(args[1]))  # type: ignore[arg-type]


def _add_months(args: Sequence[Value]) -> Value:
    d = args[0]
    assert isinstance(d, date)
    return add_months(d, int(args[1]))  # type: ignore[arg-type]


FUNCTIONS: dict[str, Callable[[Sequence[Value]], Value]] = {
    "min": _min, "max": _max, "round": _round, "addMonths": _add_months,
}


def _full_years(args: Sequence[Value]) -> Value:
    birth, on = args
    assert isinstance(birth, date) and isinstance(on, date)
    return full_years(birth, on)


# What only the fact catalogue's definitions of derived facts say (rules cannot): full years,
# and ``memberSum(x)``, the sum of ``x`` over the household's members (``member_sum``).
DERIVATION_FUNCTIONS: dict[str, Callable[[Sequence[Value]], Value]] = {
    "fullYears": _full_years,
}
MEMBER_SUM = "memberSum"


def call(func: str, args: Sequence[Value]) -> Value:
    """A function of the language (or of derivation), unknown when an argument is.

    >>> from decimal import Decimal
    >>> call("round", [Decimal("2.5"), 0]), call("min", [UNKNOWN, 1])
    (Decimal('3'), UNKNOWN)
    """
    if any(v is UNKNOWN for v in args):
        return UNKNOWN
    fn = FUNCTIONS.get(func) or DERIVATION_FUNCTIONS[func]
    return fn(args)


def member_sum(values: Iterable[Value]) -> Value:
    """``memberSum(x)``: the exact sum of ``x`` over the members, unknown when one is.

    >>> from decimal import Decimal
    >>> member_sum([1, 1, 1]), member_sum([Decimal("0.10"), 2]), member_sum([1, UNKNOWN])
    (3, Decimal('2.10'), UNKNOWN)
    """
    total: Value = 0
    for v in values:
        total = arith("+", total, v)
    return total


# --- status rules --------------------------------------------------------------------------------

T = TypeVar("T")


class Logic(Protocol[T]):
    """Kleene's connectives over some representation of truth values: Python values here,
    polars columns in the vectorised backend. The status rules below are written once over it."""

    def and_(self, operands: Sequence[T]) -> T: ...

    def or_(self, operands: Sequence[T]) -> T: ...

    def not_(self, operand: T) -> T: ...


class _Values:
    def and_(self, operands: Sequence[Value]) -> Value:
        return k_and(operands)

    def or_(self, operands: Sequence[Value]) -> Value:
        return k_or(operands)

    def not_(self, operand: Value) -> Value:
        return k_not(operand)


VALUES: Logic[Value] = _Values()

GRANTED, NOT_GRANTED, UNDETERMINED = "GRANTED", "NOT_GRANTED", "UNDETERMINED"


def effective(logic: Logic[T], own: T, higher: Sequence[T]) -> T:
    """A rule's effective verdict: its own, and no higher-priority rule of its exclusive group
    (``higher``) applies."""
    if not higher:
        return own
    return logic.and_([own, *[logic.not_(h) for h in higher]])


def outcome(logic: Logic[T], effectives: Sequence[T]) -> T:
    """An outcome's verdict: one of its rules' effective verdicts is true."""
    if len(effectives) == 1:
        return effectives[0]
    return logic.or_(effectives)


def status(verdict: Value) -> str:
    """The status of an outcome with this verdict.

    >>> status(True), status(False), status(UNKNOWN)
    ('GRANTED', 'NOT_GRANTED', 'UNDETERMINED')
    """
    if verdict is UNKNOWN:
        return UNDETERMINED
    return GRANTED if verdict else NOT_GRANTED


def granting(effectives: Sequence[Value]) -> int | None:
    """Which of an outcome's rules (by priority) grants it: the first effectively true one."""
    return next((i for i, v in enumerate(effectives) if v is True), None)
