"""``engine.values.round_half_up`` on a whole column, with the same result for every value.

The engine rounds the number's *shortest decimal form* half up (``Decimal(repr(x))``), so
``round(2.675, 2)`` is 2.68 although the double nearest 2.675 is a little below it. On a column:

* ``p = x * 10**places`` is computed in floating point; for ``|p| <= 1e11`` it is within
  ``1.6e-5`` of the exact product, and the shortest decimal form of ``x`` (times ``10**places``)
  is within another ``1.2e-5``;
* so when the fraction of ``p`` is more than ``1e-4`` away from one half, the decimal form is on
  the same side of the half as ``p`` and is not a tie: the result is ``k / 10**places`` with
  ``k`` the integer nearest ``p`` (``k`` and ``10**places`` are exact, and the division is
  correctly rounded, as ``float(Decimal(...))`` is), with the sign of a zero result taken from
  ``x`` as ``Decimal`` keeps it;
* every other value (near a half, large, not finite, or an unusual ``places``) is rounded by the
  engine's own function, in Python. Those are rare: money amounts in yuan and fen never land
  there unless they are true ties.
"""

from __future__ import annotations

import polars as pl

from engine.values import round_half_up

_LIMIT = 1e11        # |x * 10**places| up to which the float product is trusted
_MARGIN = 1e-4       # distance from a half beyond which the side is certain
_MAX_PLACES = 6


def round_half_up_series(s: pl.Series, places: int) -> pl.Series:
    """``round_half_up(x, places)`` for every non-null ``x`` of a Float64 series."""
    s = s.cast(pl.Float64)
    if places < 0 or places > _MAX_PLACES:
        return _python(s, places, s.is_not_null())
    scale = float(10**places)
    # A column, not a scalar: polars divides by a scalar by multiplying with its reciprocal.
    frame = pl.DataFrame({"x": s, "scale": pl.repeat(scale, len(s), eager=True)})
    out = frame.select(
        r=_rounded(scale),
        certain=_certain(scale),
    )
    result = out["r"]
    uncertain = s.is_not_null() & ~out["certain"].fill_null(False)
    if uncertain.any():
        return _python(result, places, uncertain, s)
    return result


def _rounded(scale: float) -> pl.Expr:
    x = pl.col("x")
    p = x * scale
    k = p.floor()
    k = pl.when(p - k > 0.5).then(k + 1.0).otherwise(k)
    r = k / pl.col("scale")
    # Decimal keeps the sign of a zero result: -0.004 rounds to -0.00.
    return pl.when(r == 0).then(x * 0.0).otherwise(r)


def _certain(scale: float) -> pl.Expr:
    x = pl.col("x")
    p = x * scale
    frac = p - p.floor()
    return p.is_finite() & (p.abs() <= _LIMIT) & ((frac - 0.5).abs() > _MARGIN)


def _python(result: pl.Series, places: int, where: pl.Series,
            source: pl.Series | None = None) -> pl.Series:
    src = result if source is None else source
    idx = where.arg_true()
    values = [round_half_up(v, places) for v in src.gather(idx).to_list()]
    out = result.clone()
    out.scatter(idx, pl.Series(values, dtype=pl.Float64))
    return out
