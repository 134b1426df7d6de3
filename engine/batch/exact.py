"""Exact numbers on columns: a number is an integer numerator over a positive integer
denominator (``Rat``), as ``policy.exact`` is for one household (docs/decisions/
0006-exact-numbers.md).

Money columns are integer fen over 100 (``_n_annualNetIncome``); whole-number facts are
themselves over 1; a derived fact is whatever its definition compiles to (``engine.batch.
derived``: ``perCapitaNetIncome`` is ``_n_perCapitaNetIncome`` over ``_d_perCapitaNetIncome``,
fen over ``100 * householdSize``). Nothing is reduced: ``x < y`` is
``x.num * y.den < y.num * x.den``.

Every ``Rat`` carries bounds, from the validated ranges of the facts: the largest numerator
and denominator it can have. An operation whose result can leave Int64 is done in Int128, and
one that could leave Int128 is refused (``Unsupported``) when the version is compiled: no
overflow at run time, ever.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import polars as pl

from policy.exact import Number
from policy.facts import MAX_MONEY

_INT64_SAFE = 2**62
_INT128_SAFE = 2**126
MAX_FEN = int(MAX_MONEY) * 100

Part = pl.Expr | int


class Overflow(Exception):
    """A tree whose integers could leave Int128 (``engine.batch.compiler.Unsupported``)."""


@dataclass(frozen=True)
class Rat:
    """``num / den``: ``den`` is positive; either may be a Python int (a constant)."""

    num: Part
    den: Part
    num_bound: int   # the largest |num| it can take
    den_bound: int   # the largest den it can take
    columns: tuple[str, ...] = ()  # the frame columns it reads

    # -- building blocks -------------------------------------------------------------------

    def _with(self, other: Rat, num: Part, den: Part, nb: int, db: int) -> Rat:
        if nb >= _INT128_SAFE or db >= _INT128_SAFE:
            raise Overflow("an exact number of this tree could exceed 128-bit integers")
        return Rat(num, den, nb, db, tuple(dict.fromkeys(self.columns + other.columns)))

    # -- arithmetic ------------------------------------------------------------------------

    def neg(self) -> Rat:
        return Rat(_neg(self.num), self.den, self.num_bound, self.den_bound, self.columns)

    def add(self, o: Rat) -> Rat:
        return self._sum(o, _add)

    def sub(self, o: Rat) -> Rat:
        return self._sum(o, _sub)

    def _sum(self, o: Rat, op: Callable[[Part, Part, int], Part]) -> Rat:
        if isinstance(self.den, int) and isinstance(o.den, int) and self.den == o.den:
            nb = self.num_bound + o.num_bound
            return self._with(o, op(self.num, o.num, nb), self.den, nb, self.den_bound)
        nb = self.num_bound * o.den_bound + o.num_bound * self.den_bound
        db = self.den_bound * o.den_bound
        left = _mul(self.num, o.den, self.num_bound * o.den_bound)
        right = _mul(o.num, self.den, o.num_bound * self.den_bound)
        return self._with(o, op(left, right, nb), _mul(self.den, o.den, db), nb, db)

    def mul(self, o: Rat) -> Rat:
        nb = self.num_bound * o.num_bound
        db = self.den_bound * o.den_bound
        return self._with(o, _mul(self.num, o.num, nb), _mul(self.den, o.den, db), nb, db)

    def div(self, o: Rat) -> Rat:
        """``self / o``, unknown (null) where ``o`` is zero."""
        nb = self.num_bound * o.den_bound
        db = self.den_bound * o.num_bound
        if isinstance(o.num, int):
            if o.num == 0:
                raise ZeroDivisionError  # folded away by the compiler
            sign = -1 if o.num < 0 else 1
            num = _mul(_mul(self.num, o.den, nb), sign, nb)
            return self._with(o, num, _mul(self.den, abs(o.num), db), nb, db)
        on = _expr(o.num, o.num_bound)
        negative = on < 0
        num = _expr(_mul(self.num, o.den, nb), nb)
        num = pl.when(on == 0).then(None).when(negative).then(_negate(num)).otherwise(num)
        den = _expr(_mul(self.den, _abs(on), db), db)
        return self._with(o, num, den, nb, db)

    def compare(self, op: str, o: Rat) -> pl.Expr:
        bound = max(self.num_bound * o.den_bound, o.num_bound * self.den_bound)
        if bound >= _INT128_SAFE:
            raise Overflow("a comparison of this tree could exceed 128-bit integers")
        left = _expr(_mul(self.num, o.den, bound), bound)
        right = _expr(_mul(o.num, self.den, bound), bound)
        return _CMP[op](left, right)

    def lt(self, o: Rat) -> pl.Expr:
        return self.compare("<", o)

    def pick(self, o: Rat, take_other: pl.Expr) -> Rat:
        """``o`` where ``take_other`` holds, else ``self``; unknown where it is unknown."""
        nb = max(self.num_bound, o.num_bound)
        db = max(self.den_bound, o.den_bound)

        def choose(x: Part, y: Part, bound: int) -> Part:
            if isinstance(x, int) and isinstance(y, int) and x == y:
                return x
            return (pl.when(take_other.is_null()).then(None).when(take_other)
                    .then(_expr(y, bound)).otherwise(_expr(x, bound)))

        return self._with(o, choose(self.num, o.num, nb), choose(self.den, o.den, db), nb, db)

    def round_half_up(self, places: int) -> Rat:
        """Rounded to ``places`` decimals, a tie away from zero: ``k = (2|n| + d) // 2d``."""
        scale = 10 ** abs(places)
        if places >= 0:
            n, nb = _mul(self.num, scale, self.num_bound * scale), self.num_bound * scale
            d, db = self.den, self.den_bound
        else:
            n, nb = self.num, self.num_bound
            d, db = _mul(self.den, scale, self.den_bound * scale), self.den_bound * scale
        top = 2 * nb + db
        if top >= _INT128_SAFE:
            raise Overflow("rounding this tree could exceed 128-bit integers")
        ne, de = _expr(n, top), _expr(d, top)
        k = (_abs(ne) * 2 + de) // (de * 2)
        k = pl.when(ne < 0).then(_negate(k)).otherwise(k)
        if places >= 0:
            return Rat(k, scale, nb + 1, scale, self.columns)
        return Rat(k * scale, 1, (nb + 1) * scale, 1, self.columns)

    def trunc(self) -> pl.Expr:
        """``int(x)``: towards zero, as Int64."""
        n, d = _expr(self.num, self.num_bound), _expr(self.den, self.num_bound)
        q = _abs(n) // d
        return pl.when(n < 0).then(_negate(q)).otherwise(q).cast(pl.Int64)

    def to_float(self) -> pl.Expr:
        """The double nearest the value: numerator and denominator are exact doubles below
        2**53 (money rounded to the cent is), and IEEE division of two exact doubles is
        correctly rounded, as Python's ``float(Fraction)`` is. A constant denominator becomes
        a column: polars divides by a scalar by multiplying with its reciprocal."""
        n = _expr(self.num, self.num_bound).cast(pl.Float64)
        if isinstance(self.den, int):
            from engine.batch.compiler import column_of

            return n / column_of(float(self.den))
        return n / self.den.cast(pl.Float64)

    def is_null(self) -> pl.Expr:
        return _expr(self.num, self.num_bound).is_null()


def _dtype(bound: int) -> pl.DataType:
    return pl.Int64() if bound < _INT64_SAFE else pl.Int128()


def _expr(x: Part, bound: int) -> pl.Expr:
    if isinstance(x, int):
        return pl.lit(x, dtype=_dtype(max(bound, abs(x))))
    return x.cast(_dtype(bound)) if bound >= _INT64_SAFE else x


def _neg(x: Part) -> Part:
    # 0 - x: polars has no negation (nor abs) for Int128.
    return -x if isinstance(x, int) else pl.lit(0, pl.Int64) - x


def _negate(e: pl.Expr) -> pl.Expr:
    return pl.lit(0, pl.Int64) - e


def _abs(e: pl.Expr) -> pl.Expr:
    return pl.when(e < 0).then(_negate(e)).otherwise(e)


def _mul(x: Part, y: Part, bound: int) -> Part:
    if isinstance(x, int) and isinstance(y, int):
        return x * y
    if isinstance(y, int) and y == 1:
        return x
    if isinstance(x, int) and x == 1:
        return y
    return _expr(x, bound) * _expr(y, bound)


def _add(x: Part, y: Part, bound: int) -> Part:
    if isinstance(x, int) and isinstance(y, int):
        return x + y
    return _expr(x, bound) + _expr(y, bound)


def _sub(x: Part, y: Part, bound: int) -> Part:
    if isinstance(x, int) and isinstance(y, int):
        return x - y
    return _expr(x, bound) - _expr(y, bound)


_CMP: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "<": lambda x, y: x < y, "<=": lambda x, y: x <= y, ">": lambda x, y: x > y,
    ">=": lambda x, y: x >= y, "==": lambda x, y: x == y, "!=": lambda x, y: x != y,
}


def const_rat(value: Number) -> Rat:
    f = Fraction(value)
    return Rat(f.numerator, f.denominator, abs(f.numerator), f.denominator)


# The frame columns of each number fact: (numerator column, denominator column or constant,
# largest |numerator|, largest denominator). Money is fen over 100. Input facts are listed
# here; derived facts are registered by ``engine.batch.derived``, from their definitions.
_FACT_COLUMNS: dict[str, tuple[str, str | int, int, int]] = {
    "annualNetIncome": ("_n_annualNetIncome", 100, MAX_FEN, 100),
    "previousAnnualNetIncome": ("_n_previousAnnualNetIncome", 100, MAX_FEN, 100),
    "disasterLoss": ("_n_disasterLoss", 100, MAX_FEN, 100),
    "accidentLoss": ("_n_accidentLoss", 100, MAX_FEN, 100),
    "medicalOutOfPocket": ("_n_medicalOutOfPocket", 100, MAX_FEN, 100),
    "disabilityGrade": ("disabilityGrade", 1, 4, 1),
}
RATIONAL_FACTS: set[str] = set(_FACT_COLUMNS)


def register(name: str, num: str, den: str | int, num_bound: int, den_bound: int) -> None:
    """A derived number fact's columns and bounds (``engine.batch.derived``)."""
    if num_bound >= _INT128_SAFE or den_bound >= _INT128_SAFE:
        raise Overflow(f"{name} could exceed 128-bit integers")
    _FACT_COLUMNS[name] = (num, den, num_bound, den_bound)
    RATIONAL_FACTS.add(name)


def fact_rat(name: str) -> Rat:
    num, den, nb, db = _FACT_COLUMNS[name]
    columns = (num,) if isinstance(den, int) else (num, den)
    return Rat(pl.col(num), den if isinstance(den, int) else pl.col(den), nb, db, columns)


def fen(money: pl.Expr) -> pl.Expr:
    """Yuan with at most two decimals (validated) as integer fen: ``x * 100`` is within a
    rounding of the whole number of fen, so rounding it gives that number exactly."""
    return (money * 100.0).round(0).cast(pl.Int64)
