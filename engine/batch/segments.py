"""Per-household reductions over the member frame, where a household's members are contiguous.

polars' grouped aggregations hash the key and are slow for this shape; a list column whose
offsets are the households' boundaries is built without copying (an Arrow ``ListArray`` over
the member column) and reduced with polars' list kernels, which are fast on unsigned integers
without nulls. Kleene logic over members is counted: ``any`` is true when some member is true,
else unknown when some member is unknown, else false (``all`` likewise with false); the
booleans counted are packed several to a 64-bit word, one list sum per word.
"""

from __future__ import annotations

import functools
import operator

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from engine.batch.execution import ENGINE


class Segments:
    """The households' member ranges, from each household's number of members."""

    def __init__(self, size: pl.Series):
        self.size = size.cast(pl.UInt32)
        ends = self.size.cast(pl.Int64).cum_sum()
        self.start = (ends - self.size.cast(pl.Int64)).alias("start")
        total = int(ends[-1]) if ends.len() else 0
        offsets = pl.concat([pl.Series([0], dtype=pl.Int64), ends])
        self._large = total >= 2**31 - 1
        self._offsets = offsets.cast(pl.Int64 if self._large else pl.Int32).to_arrow()

    def lists(self, values: pl.Series) -> pl.Series:
        """``values`` (one per member) as one list per household, without copying."""
        arr = values.rechunk().to_arrow()
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        cls = pa.LargeListArray if self._large else pa.ListArray
        out = pl.from_arrow(cls.from_arrays(self._offsets, arr))
        assert isinstance(out, pl.Series)
        return out

    def kleene(self, values: pl.Series, every: bool) -> pl.Series:
        """Kleene OR (``every=False``) or AND of a nullable boolean per household: decided by a
        member that is true (OR) or false (AND), else unknown if a member is unknown."""
        frame = pl.DataFrame({"d": (~values if every else values).fill_null(False),
                              "u": values.is_null()})
        return self.any(frame, ["d", "u"]).select(
            kleene(pl.col("d"), pl.col("u"), every)).to_series()

    def total(self, values: pl.Series) -> pl.Series:
        """The sum of an unsigned integer column per household (exact)."""
        return self.lists(values.cast(pl.UInt32)).list.sum().cast(pl.UInt32)

    def sequential_sum(self, values: pl.Series) -> pl.Series:
        """Per household, ``sum(values)`` as Python adds floats: ``((0 + x0) + x1) + ...``.

        Floating-point addition is not associative, so the order is spelled out: position by
        position. Adding 0.0 where a household has no k-th member changes nothing (the running
        sum, started as ``0 + x0``, is never -0.0)."""
        n = self.size.len()
        if n == 0:
            return pl.Series([], dtype=pl.Float64)
        last = values.len() - 1
        most = int(self.size.max() or 0)  # type: ignore[arg-type]
        frame = pl.DataFrame({"start": self.start, "size": self.size})
        acc = pl.lit(0.0, pl.Float64)
        x = pl.lit(values.cast(pl.Float64))
        for k in range(most):
            idx = (pl.col("start") + k).clip(upper_bound=last)
            acc = acc + pl.when(pl.col("size") > k).then(x.gather(idx)).otherwise(0.0)
        return frame.lazy().select(acc.alias("sum")).collect(engine=ENGINE).to_series()

    def totals(self, frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
        """Per household, the sum of each of these unsigned integer columns of the member
        frame (exact)."""
        return pl.DataFrame([self.total(frame[c]).alias(c) for c in columns])

    def any(self, frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
        """Per household, whether some member is true in each of these boolean columns (without
        nulls) of the member frame.

        The columns are packed side by side into 64-bit words, each in as many bits as a
        household's count of true members can need, and the words are summed per household:
        one list sum per word instead of one per column, exact because no lane can carry into
        the next. A lane is then tested against its mask (no unpacking)."""
        if not columns:
            return pl.DataFrame()
        most = int(self.size.max() or 0) if self.size.len() else 0  # type: ignore[arg-type]
        width = max(1, most.bit_length())
        per_word = 64 // width
        words = [columns[i:i + per_word] for i in range(0, len(columns), per_word)]
        packed = frame.lazy().select(
            functools.reduce(operator.add, (
                pl.col(n).cast(pl.UInt64) * pl.lit(1 << (width * j), pl.UInt64)
                for j, n in enumerate(word))).alias(f"w{k}")
            for k, word in enumerate(words)).collect(engine=ENGINE)
        sums = pl.DataFrame([self.lists(packed[f"w{k}"]).list.sum().alias(f"w{k}")
                             for k in range(len(words))])
        return sums.select(
            ((pl.col(f"w{k}") & pl.lit(((1 << width) - 1) << (width * j), pl.UInt64)) != 0)
            .alias(n)
            for k, word in enumerate(words) for j, n in enumerate(word))


def kleene(decided: pl.Expr, unknown: pl.Expr, every: bool) -> pl.Expr:
    """A quantifier's value from whether some member decides it (is true for ``any``, false
    for ``all``) and whether some member is unknown."""
    return (pl.when(decided).then(pl.lit(not every))
            .when(unknown).then(pl.lit(None, pl.Boolean))
            .otherwise(pl.lit(every)))
