"""Per-household reductions over the member frame, where a household's members are contiguous.

polars' grouped aggregations hash the key and are slow for this shape; a list column whose
offsets are the households' boundaries is built without copying (an Arrow ``ListArray`` over
the member column) and reduced with polars' list kernels. Kleene logic over members uses the
order false < unknown < true: ``any`` is the maximum and ``all`` the minimum of the codes
0 (false), 1 (unknown), 2 (true).
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]


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
        """Kleene OR (``every=False``) or AND of a nullable boolean per household."""
        codes = pl.DataFrame({"v": values}).select(
            pl.when(pl.col("v")).then(pl.lit(2, pl.UInt8))
            .when(pl.col("v").is_null()).then(pl.lit(1, pl.UInt8))
            .otherwise(pl.lit(0, pl.UInt8))
        ).to_series()
        lists = self.lists(codes)
        reduced = lists.list.min() if every else lists.list.max()
        return pl.DataFrame({"r": reduced}).select(
            pl.when(pl.col("r") == 2).then(pl.lit(True))
            .when(pl.col("r") == 0).then(pl.lit(False))
            .otherwise(pl.lit(None, pl.Boolean))
        ).to_series()

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
        return frame.lazy().select(acc.alias("sum")).collect().to_series()
