"""Exact numbers: money to the cent and everything computed from it, never binary floating point.

A number the rules read is an ``int``, a ``decimal.Decimal`` or a ``fractions.Fraction``
(``Number``); see docs/decisions/0006-exact-numbers.md. Money enters as the decimal the user
wrote (``11495.21`` is 1149521/100 exactly, never the double nearest to it); parameters and
literals likewise. Sums, differences and products are exact ``Decimal`` arithmetic (a context
that traps every rounding); a quotient is a ``Decimal`` when it terminates and a ``Fraction``
when it does not (``20000 / 3``). Python compares all three exactly with each other, and equal
values hash equally, so a memo keyed by values never mixes two different numbers.

Rounding happens only where a rule says ``round(x, n)``: half up (away from zero on a tie), on
the exact value. Showing a number is a function of its value alone (``fmt``), never of how it
was computed: ``6000``, ``Decimal("6000.00")`` and ``Fraction(6000)`` print alike.
"""

from __future__ import annotations

import math
import re
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from fractions import Fraction

Number = int | Decimal | Fraction

# Every operation of this context is exact or raises: 60 digits hold a product of two amounts
# of up to 10^12 yuan with their cents many times over.
_EXACT = Context(prec=60, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])
_ROUND = Context(prec=60, rounding=ROUND_HALF_UP, traps=[InvalidOperation, Overflow])
_CENT = Decimal("0.01")
_ZERO = Decimal(0)
MAX_SAFE_DOUBLE_INT = 2**53


def exact(value: object) -> Number:
    """The exact number a value stands for: a double is read as its shortest decimal form (what
    was written: ``0.1`` is one tenth, not the double nearest it).

    >>> exact(0.1), exact(6000.0), exact(7), exact(Decimal("2.50"))
    (Decimal('0.1'), 6000, 7, Decimal('2.50'))
    """
    t = type(value)
    if t is int or t is Decimal or t is Fraction:
        return value  # type: ignore[return-value]
    if t is float:
        f: float = value  # type: ignore[assignment]
        if not math.isfinite(f):
            raise ValueError(f"not a finite number: {f!r}")
        if f.is_integer():
            return int(f)
        return Decimal(repr(f))
    if isinstance(value, bool) or not isinstance(value, int | Decimal | Fraction):
        raise TypeError(f"not a number: {value!r}")
    return int(value) if isinstance(value, int) else value


def decimals(value: float | int) -> int:
    """How many decimals the shortest decimal form of a number has (``11495.21`` -> 2).

    >>> decimals(11495.21), decimals(6000.0), decimals(0.125), decimals(1e-7)
    (2, 0, 3, 7)
    """
    if isinstance(value, int) or value.is_integer():
        return 0
    exponent = Decimal(repr(value)).as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def _fraction(x: Number) -> Fraction:
    return x if type(x) is Fraction else Fraction(x)


def _int_or(x: Fraction) -> Number:
    return x.numerator if x.denominator == 1 else x


def add(x: Number, y: Number) -> Number:
    if type(x) is int and type(y) is int:
        return x + y
    if isinstance(x, Fraction) or isinstance(y, Fraction):
        return _int_or(_fraction(x) + _fraction(y))
    try:
        return _EXACT.add(x, y)
    except Inexact:  # beyond 60 digits: no Decimal holds it, a Fraction does
        return _int_or(_fraction(x) + _fraction(y))


def sub(x: Number, y: Number) -> Number:
    if type(x) is int and type(y) is int:
        return x - y
    if isinstance(x, Fraction) or isinstance(y, Fraction):
        return _int_or(_fraction(x) - _fraction(y))
    try:
        return _EXACT.subtract(x, y)
    except Inexact:
        return _int_or(_fraction(x) - _fraction(y))


def mul(x: Number, y: Number) -> Number:
    if type(x) is int and type(y) is int:
        return x * y
    if isinstance(x, Fraction) or isinstance(y, Fraction):
        return _int_or(_fraction(x) * _fraction(y))
    try:
        return _EXACT.multiply(x, y)
    except Inexact:
        return _int_or(_fraction(x) * _fraction(y))


def div(x: Number, y: Number) -> Number:
    """``x / y`` exactly; ``y`` must not be zero (callers make that unknown).

    >>> div(Decimal("36807.00"), 5), div(20000, 3), div(Decimal("0.5"), Decimal("-0.3"))
    (Decimal('7361.40'), Fraction(20000, 3), Fraction(-5, 3))
    """
    if type(x) is int and type(y) is int and x % y == 0:
        return x // y
    if not isinstance(x, Fraction) and not isinstance(y, Fraction):
        if y and _terminates(x, y) is False:
            # Built from the integer ratios: the same fraction as below, without a Decimal
            # division that raises Inexact and without converting Decimals to Fractions.
            xn, xd = x.as_integer_ratio()
            yn, yd = y.as_integer_ratio()
            return Fraction(xn * yd, xd * yn)
        try:
            return _EXACT.divide(x, y)
        except Inexact:  # the quotient does not terminate (20000 / 3) or needs > 60 digits
            pass
    return _int_or(_fraction(x) / _fraction(y))


def _terminates(x: int | Decimal, y: int | Decimal) -> bool | None:
    """Whether the quotient of two finite numbers has a finite decimal expansion (None: not
    told, for a Decimal that is not finite). A decimal's denominator has no prime factor but 2
    and 5, so only the part of ``y``'s numerator without them must divide ``x``'s numerator."""
    if isinstance(y, int):
        m = y if y > 0 else -y
    elif y.is_finite():
        m = abs(y.as_integer_ratio()[0])
    else:
        return None
    m >>= (m & -m).bit_length() - 1  # without its factors 2
    while m % 5 == 0:
        m //= 5
    if m == 1:
        return True
    if isinstance(x, int):
        return x % m == 0
    if not x.is_finite():
        return None
    return x.as_integer_ratio()[0] % m == 0


def neg(x: Number) -> Number:
    return -x


def round_half_up(x: Number, places: int) -> Decimal:
    """``x`` rounded to ``places`` decimals, a tie away from zero (as people round money).

    >>> round_half_up(Decimal("25000.005"), 2), round_half_up(Fraction(1, 8), 2)
    (Decimal('25000.01'), Decimal('0.13'))
    >>> round_half_up(Fraction(-5, 2), 0), round_half_up(7, 0)
    (Decimal('-3'), Decimal('7'))
    """
    quantum = Decimal(1).scaleb(-places)
    if not isinstance(x, Fraction):
        return Decimal(x).quantize(quantum, context=_ROUND)
    # floor(|x| * 10^places + 1/2) in integers: n/d -> (2 * |n| * 10^places + d) // (2 * d)
    n, d = x.numerator, x.denominator
    scale = 10 ** places if places >= 0 else None
    if scale is None:
        units = math.floor(abs(x) * Fraction(10) ** places + Fraction(1, 2))
    else:
        units = (2 * abs(n) * scale + d) // (2 * d)
    return Decimal(-units if n < 0 else units).scaleb(-places, context=_ROUND)


def to_float(x: Number) -> float:
    """The double nearest to ``x`` (correctly rounded): for the JSON of a result, never for
    arithmetic. A number with at most two decimals prints back as written (``25000.01``)."""
    return float(x)


def result_number(value: Number, unit: str) -> float:
    """An exact amount or term as the result carries it (a JSON number): money to the cent
    (half up; a no-op for the shipped rules, whose amounts are cents already), so the double
    prints back as its two-decimal form (``25000.01``); other units as the nearest double."""
    if unit.startswith("yuan"):
        value = round_half_up(value, 2)
    return to_float(value)


def is_integral(x: Number) -> bool:
    return type(x) is int or (x == int(x))


# ``fmt``'s text of a quotient that does not terminate (numerator, denominator, the value to
# two decimals), for readers of explanations that say it in other words (engine.words).
QUOTIENT = re.compile(r"(-?\d+)/(\d+) \(≈(-?[\d.]+)\)")


def fmt(value: Number, money: bool = False) -> str:
    """A number as explanations show it, from its value alone: money with (at least) two
    decimals (``6000.00``), other numbers as short as they are exact (``16``, ``0.5``). A
    quotient that does not terminate shows as a fraction with its value to two decimals
    (``20000/3 (≈6666.67)``).

    >>> fmt(6000, money=True), fmt(Decimal("6000.000"), money=True), fmt(Decimal("0.50"))
    ('6000.00', '6000.00', '0.5')
    >>> fmt(Fraction(20000, 3), money=True), fmt(Fraction(1, 8)), fmt(Decimal("-0"))
    ('20000/3 (≈6666.67)', '0.125', '0')
    >>> QUOTIENT.fullmatch(fmt(Fraction(-3, 35))).groups()
    ('-3', '35', '-0.09')
    """
    if isinstance(value, int):
        return f"{value}.00" if money else str(value)
    if isinstance(value, Fraction):
        f = value
        d = f.denominator
        while d % 2 == 0:
            d //= 2
        while d % 5 == 0:
            d //= 5
        if d != 1:  # does not terminate
            approx = round_half_up(f, 2)
            return f"{f.numerator}/{f.denominator} (≈{_plain(approx, 2)})"
        return _plain(_EXACT.divide(f.numerator, f.denominator), 2 if money else 0)  # exact
    return _plain(value, 2 if money else 0)


def fmt_decimal(value: Decimal, money: bool = False) -> str:
    """``fmt`` of a ``Decimal``."""
    return _plain(value, 2 if money else 0)


def _plain(d: Decimal, min_places: int) -> str:
    # The normalised value in positional notation, padded with zeros to ``min_places``
    # decimals (what quantizing it would print, without a second Decimal operation).
    text = format(d.normalize(_ROUND) if d else _ZERO, "f")
    if min_places:
        dot = text.find(".")
        if dot < 0:
            return f"{text}.{'0' * min_places}"
        short = min_places - (len(text) - dot - 1)
        if short > 0:
            return text + "0" * short
    return text


def exact_in_double(x: Number) -> bool:
    """Whether a double holds ``x`` exactly (so durable_rules compares it exactly)."""
    if type(x) is int:
        return abs(x) <= MAX_SAFE_DOUBLE_INT
    try:
        return Fraction(float(x)) == x
    except OverflowError:
        return False
