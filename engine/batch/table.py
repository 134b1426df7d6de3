"""The outcome table: its columns, statuses and orders, and how it is written as Arrow columns.

One row per household (and member, for member outcomes) and outcome code; the interactive
engine's answer in the same shape (``determination_rows``) is what the differential tests
compare the vectorised backend's rows with. Text columns are dictionary-encoded over the
chunk's households and members, which Parquet writes as it is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from engine.results import Determination

STATUSES = ("GRANTED", "NOT_GRANTED", "UNDETERMINED")
PERIODS = ("YEAR", "MONTH", "ONCE")
STATUS = pl.Enum(list(STATUSES))
PERIOD = pl.Enum(list(PERIODS))
ALL_STATUSES = frozenset(STATUSES)
# What the screen and rescreen commands write unless asked for more: the outcomes someone acts
# on (docs/decisions/0010-screening-output.md); the summary counts every outcome either way.
DEFAULT_STATUSES = frozenset({"GRANTED", "UNDETERMINED"})
ORDERS = ("household", "outcome")
STATUS_CODE = {name: i for i, name in enumerate(STATUSES)}  # 0 GRANTED, 1 NOT_ .., 2 UND..

def check_order(order: str) -> None:
    """Raises ``ValueError`` unless ``order`` is one of ``ORDERS``."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; one of {', '.join(ORDERS)}")


def outcome_schema(programs: Sequence[str], codes: Sequence[str],
                   hashes: Sequence[str]) -> dict[str, pl.DataType]:
    """The outcome table as a polars frame (``screen_households``)."""
    return {
        "household_id": pl.String(),
        "member_id": pl.String(),
        "region_code": pl.String(),
        "program": pl.Enum(list(dict.fromkeys(programs))),
        "version": pl.Int32(),
        "version_hash": pl.Enum(list(dict.fromkeys(hashes))),
        "code": pl.Enum(list(dict.fromkeys(codes))),
        "status": STATUS,
        "amount": pl.Float64(),
        "period": PERIOD,
        "flags_monitoring": pl.Boolean(),
        "terms": pl.String(),          # JSON: [{"key": .., "value": .., "unit": ..}]
        "missing_facts": pl.String(),  # JSON: ["previousAnnualNetIncome"]
    }


OUTCOME_COLUMNS = tuple(outcome_schema([], [], []))

HOUSEHOLD_SUMMARY: dict[str, pl.DataType] = {
    "household_id": pl.String(),
    "region_code": pl.String(),
    "members": pl.UInt32(),
    "flagged": pl.Boolean(),
    "granted": pl.UInt32(),        # GRANTED outcomes of the household (all programs)
    "undetermined": pl.UInt32(),   # UNDETERMINED outcomes
}

COUNTS: dict[str, pl.DataType] = {
    "program": pl.String(),
    "version": pl.Int32(),
    "code": pl.String(),
    "status": pl.String(),
    "period": pl.String(),
    "outcomes": pl.Int64(),
    # The sum of the amounts (GRANTED outcomes with an amount) in whole fen: money is summed
    # exactly, so a total does not depend on the order rows, chunks or threads are added in.
    "amount_fen": pl.Int64(),
}


def determination_rows(det: Determination, region_code: str) -> list[dict[str, Any]]:
    """A determination as rows of the outcome table (the interactive engine's answer in the
    batch shape; the differential tests compare the two)."""
    out = []
    for p in det.programs:
        for o in p.outcomes:
            out.append({
                "household_id": det.household_id,
                "member_id": o.member_id,
                "region_code": region_code,
                "program": p.program,
                "version": p.version.version,
                "version_hash": p.version.content_hash,
                "code": o.code,
                "status": o.status.value,
                "amount": o.amount,
                "period": o.period,
                "flags_monitoring": o.flags_monitoring,
                "terms": json.dumps(
                    [{"key": t.key, "value": t.value, "unit": t.unit} for t in o.terms],
                    ensure_ascii=False, separators=(",", ":")) if o.terms else None,
                "missing_facts": json.dumps(list(o.missing_facts), separators=(",", ":"))
                if o.missing_facts else None,
            })
    return out


def text_array(s: pl.Series, compat_level: pl.CompatLevel | None = None) -> pa.Array:
    arr = s.to_arrow(compat_level=compat_level)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def strings_array(values: Sequence[str]) -> pa.Array:
    """Texts as an Arrow array (built by polars: ``pa.array`` on a Python list imports pandas
    when it is installed, which takes half a second)."""
    return text_array(pl.Series(list(values), dtype=pl.String))


STATUS_TEXT = strings_array(STATUSES)
PERIOD_TEXT = strings_array(PERIODS)


def dictionary(indices: pl.Series, values: pa.Array) -> pa.DictionaryArray:
    """Indices (valid ones: not checked again) into ``values``."""
    return pa.DictionaryArray.from_arrays(text_array(indices), values, safe=False)


def member_ids(members: pl.Series, ids: pl.Series) -> pa.DictionaryArray:
    """The member id column: indices into the chunk's member ids, or, when ids repeat across
    households (``m1``, ``m2``, ...; judged on the first ones), into their distinct values,
    whose dictionary is far cheaper to write."""
    sample = ids.head(4096)
    if sample.len() and sample.n_unique() * 4 <= sample.len():
        # Encoded from polars' own string views (no copy into Arrow's layout first).
        distinct = pc.dictionary_encode(text_array(ids, pl.CompatLevel.newest()))
        index = pl.from_arrow(distinct.indices)
        assert isinstance(index, pl.Series)
        return dictionary(index.cast(pl.UInt32).gather(members),
                           distinct.dictionary.cast(pa.large_string()))
    return dictionary(members, text_array(ids))
