"""Impact of a new version: every household's outcomes under two versions of a program,
compared and counted (who gains, who loses, whose tier or amount changes, by region).

``outcome_tables`` (and ``frame_tables``, its form for input frames) is the one place that
evaluates: it gives, per household, each version's outcome *summaries* (status, amount,
period, granting rule) without explanations, which is what a preview of 100,000 households
needs. It runs the vectorised batch backend (``engine.batch``, the one ``policy-engine
screen`` uses), one compiled evaluator per version, so two versions of the same program (a
draft and the version in force) are evaluated side by side; the batch backend gives the
interactive engine's statuses, amounts and periods (tests/batch/test_differential.py).
Explanations for the few households a person will read are made by ``engine.determine`` as
usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import islice, pairwise
from typing import Any, Literal

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from engine.batch import EvaluationFailed, evaluator_for
from engine.batch.frames import input_frames
from engine.batch.table import STATUS_TEXT
from engine.batch.unusual import EvaluationError
from engine.testcases import draft_ref
from policy.catalog import VersionRef
from policy.document import Program
from policy.facts import Household

Key = tuple[str, str | None]  # (outcome code, member id or None)
Table = dict[Key, "Summary"]
ChangeKind = Literal["GAINED", "LOST", "AMOUNT", "TIER", "STATUS"]
HouseholdKind = Literal["GAINED", "LOST", "CHANGED"]

ANNUAL_FACTOR = {"YEAR": 1, "MONTH": 12}


@dataclass(frozen=True)
class Summary:
    """One outcome, without its explanation."""

    status: str  # GRANTED | NOT_GRANTED | UNDETERMINED
    amount: float | None = None
    period: str | None = None
    rule_id: str | None = None  # the rule that granted it (the tier, in a group)


NOT_GRANTED = Summary("NOT_GRANTED")


@dataclass(frozen=True)
class FrameTables:
    """``frame_tables``' answer: per household row of the input frames, one table per version
    (None for a household the engine could not evaluate), and why those could not be."""

    tables: list[tuple[Table, ...] | None]
    errors: dict[int, str]  # household row -> message


def frame_tables(hh: pl.DataFrame, members: pl.DataFrame, as_of: date,
                 versions: Sequence[tuple[Program, VersionRef] | None]) -> FrameTables:
    """Outcome tables of validated households given as the batch backend's input frames
    (``engine.batch.frames.HOUSEHOLD_INPUT`` and ``MEMBER_INPUT``, e.g. from
    ``engine.batch.records.check_records``), one per version (an empty table for None: no
    version in force). Every outcome is listed, NOT_GRANTED ones included.

    A household that the engine cannot evaluate under some version (e.g. an amount too large
    to round; one in millions) has None and its message in ``errors``."""
    n = hh.height
    per_version: list[list[Table]] = []
    errors: dict[int, str] = {}
    if n:
        # Households are numbered by their row: the outcome rows name them by that number,
        # whatever their ids (which need not be unique here).
        hh = hh.with_columns(household_id=pl.int_range(n, dtype=pl.UInt32).cast(pl.String))
    # One object per distinct summary, shared by the versions: comparing a household's
    # tables is then mostly comparing identities.
    summaries = _Summaries()
    for version in versions:
        if version is None or not n:
            per_version.append([{} for _ in range(n)])
            continue
        evaluator = evaluator_for([version], as_of)
        # terms=True: without terms the evaluator fails on a chunk holding households it
        # hands to the interactive engine (amounts between 0 and 1e-6). Only medical_relief
        # has terms, so they cost little.
        result = evaluator.evaluate(hh, members, terms=True, rule_ids=True)
        for e in result.errors:
            errors.setdefault(e.household, e.message)
        per_version.append(_tables(result.outcomes, n, summaries))
    tables: list[tuple[Table, ...] | None] = [
        None if h in errors else tuple(t[h] for t in per_version) for h in range(n)]
    return FrameTables(tables, errors)


@dataclass(frozen=True)
class FrameImpact:
    """``frame_impact``'s answer, per household row of the input frames.

    ``counted`` has one row per household compared in columns (``h``, its row): its kind
    (GAINED, LOST, CHANGED, or null when its outcomes are the same under both versions, as
    ``classify(compare(...))`` would say) and its money under each version (annual and one-off,
    in fen, as ``money`` counts them). The few households whose comparison is left to Python
    (an amount that is NaN or too large to count in columns, an outcome listed twice) are in
    ``tables`` with both versions' outcome tables instead; those the engine could not evaluate
    are in ``errors``. ``tables_of`` makes the tables of any evaluated household (e.g. the
    changed ones a report lists in full)."""

    counted: pl.DataFrame                    # h, kind, annual/once before/after (fen)
    tables: dict[int, tuple[Table, Table]]   # household row -> (before, after)
    errors: dict[int, str]                   # household row -> message
    frames: tuple[pl.DataFrame, pl.DataFrame] = field(repr=False)  # each version's outcomes
    texts: dict[str, pl.Series] = field(repr=False)  # the frames' text columns' codes

    def tables_of(self, rows: Sequence[int]) -> dict[int, tuple[Table, Table]]:
        """The two versions' outcome tables of these household rows."""
        wanted = sorted(set(rows))
        summaries = _Summaries()
        made = [_tables_of(frame, self.texts, wanted, summaries) for frame in self.frames]
        return {h: (tb, ta) for h, tb, ta in zip(wanted, *made, strict=True)}


_KEY = ["household_id", "code", "member_id"]
_VALUES = ["status", "amount", "period", "rule_id"]
_FEN_LIMIT = 1e13  # amounts beyond this many yuan are left to ``money`` (no Int64 overflow)
COUNTED = {"h": pl.UInt32, "kind": pl.String, "annual_before": pl.Int64,
           "once_before": pl.Int64, "annual_after": pl.Int64, "once_after": pl.Int64}


def frame_impact(hh: pl.DataFrame, members: pl.DataFrame, as_of: date,
                 before: tuple[Program, VersionRef] | None,
                 after: tuple[Program, VersionRef] | None) -> FrameImpact:
    """``frame_tables`` for two versions, compared and counted in columns: each household's
    kind of change (as ``classify(compare(before, after))`` gives it) and its money under both
    versions (as ``money`` sums it: amounts rounded to fen by Python's ``round``, once per
    distinct amount), without a Python table per household. Households whose comparison
    columns cannot make exactly as Python does (a NaN amount, one of ``_FEN_LIMIT`` yuan or
    more, an outcome listed twice) get their two tables, compared by ``compare`` as usual."""
    n = hh.height
    errors: dict[int, str] = {}
    outcomes: list[pa.Table | None] = []
    if n:
        hh = hh.with_columns(household_id=pl.int_range(n, dtype=pl.UInt32).cast(pl.String))
    for version in (before, after):
        table, failed = _outcomes(hh, members, as_of, version)
        for e in failed:
            errors.setdefault(e.household, e.message)
        outcomes.append(table)
    (b, a), texts = _coded(outcomes)
    status = texts["status"].to_list()
    granted, not_granted = status.index("GRANTED"), status.index("NOT_GRANTED")
    # One row per outcome of either version: its status and values under both (an outcome a
    # version does not list is NOT_GRANTED there, with no amount, period or rule).
    listed = [b, a]
    if b.height == a.height and b.select(_KEY).equals(a.select(_KEY)):
        # The same outcomes in the same order (e.g. a parameter changed): side by side.
        pairs = b.with_columns(a.select(pl.col(_VALUES).name.suffix("_after")))
        listed = [b]  # the same keys in both
    else:
        pairs = b.join(a, on=_KEY, how="full", nulls_equal=True, coalesce=True,
                       suffix="_after").with_columns(
            pl.col("status").fill_null(not_granted),
            pl.col("status_after").fill_null(not_granted))
    amounts = [pl.col("amount"), pl.col("amount_after")]
    odd_rows = pl.any_horizontal([x.is_nan() | (x.abs() >= _FEN_LIMIT) for x in amounts])
    odd = set(pairs.filter(odd_rows.fill_null(False))["household_id"].to_list())
    for frame in listed:  # an outcome listed twice: its table keeps the last one
        odd.update(_listed_twice(frame, texts))
    odd.difference_update(errors)
    left_out = pl.Series(sorted(odd | set(errors)), dtype=pl.UInt32)
    differs = pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}_after")) for c in _VALUES])
    granted_b = pl.col("status") == granted
    granted_a = pl.col("status_after") == granted
    kinds = (pairs.filter(differs & ~pl.col("household_id").is_in(left_out.implode()))
             .group_by("household_id")
             .agg(gained=(granted_a & ~granted_b).any(), lost=(granted_b & ~granted_a).any())
             .select(h="household_id", kind=pl.when(pl.col("gained") & ~pl.col("lost"))
                     .then(pl.lit("GAINED"))
                     .when(pl.col("lost") & ~pl.col("gained")).then(pl.lit("LOST"))
                     .otherwise(pl.lit("CHANGED"))))
    counted = (pl.DataFrame({"h": pl.int_range(n, dtype=pl.UInt32, eager=True)})
               .filter(~pl.col("h").is_in(left_out.implode()))
               .join(kinds, on="h", how="left")
               .join(_money_frame(b, texts, "before"), on="h", how="left")
               .join(_money_frame(a, texts, "after"), on="h", how="left")
               .with_columns(pl.col("annual_before", "once_before", "annual_after",
                                    "once_after").fill_null(0))
               .sort("h").select(list(COUNTED)).cast(COUNTED))  # type: ignore[arg-type]
    rows = sorted(odd)
    summaries = _Summaries()
    made = [_tables_of(frame, texts, rows, summaries) for frame in (b, a)]
    tables = {h: (tb, ta) for h, tb, ta in zip(rows, *made, strict=True)}
    return FrameImpact(counted, tables, errors, (b, a), texts)


def _outcomes(hh: pl.DataFrame, members: pl.DataFrame, as_of: date,
              version: tuple[Program, VersionRef] | None
              ) -> tuple[pa.Table | None, Sequence[EvaluationError]]:
    """A version's outcome table of the households (None: no version, or no household) and
    the households the engine could not evaluate."""
    if version is None or not hh.height:
        return None, ()
    result = evaluator_for([version], as_of).evaluate(hh, members, terms=True, rule_ids=True)
    return result.outcomes, result.errors


_TEXTS = ["code", "member_id", "status", "period", "rule_id"]


def _coded(outcomes: Sequence[pa.Table | None]
           ) -> tuple[list[pl.DataFrame], dict[str, pl.Series]]:
    """The outcome tables' rows as frames (households numbered by their row, in order) whose
    text columns hold codes (UInt32) into texts shared by the frames, one list per column
    (every status is in its list): comparing codes is comparing the texts. An empty frame for
    None. The evaluator's text columns are dictionary-encoded: only their dictionaries (a
    few values, or the members' ids) are looked at as texts."""
    given = [t for t in outcomes if t is not None]
    texts: dict[str, pl.Series] = {}
    codes: dict[str, list[pl.Series]] = {}
    for c in _TEXTS:
        chunks = [[_dictionary_encoded(x) for x in t.column(c).chunks] for t in given]
        known = [STATUS_TEXT] if c == "status" else []
        values = pc.unique(pa.concat_arrays(
            [v.cast(pa.large_string()) for v in known]
            + [x.dictionary.cast(pa.large_string()) for per_table in chunks for x in per_table]
        ) if known or any(chunks) else pa.array([], pa.large_string()))
        texts[c] = _series(values, pl.String)
        codes[c] = [_series(pa.chunked_array(
            [pc.take(pc.cast(pc.index_in(x.dictionary.cast(pa.large_string()), values),
                             pa.uint32()), x.indices) for x in per_table], pa.uint32()),
            pl.UInt32) for per_table in chunks]
    frames: list[pl.DataFrame] = []
    k = 0
    for t in outcomes:
        if t is None:
            frames.append(pl.DataFrame(schema=_CODED))
            continue
        # Households are numbered by their row: the ids are the rows' numbers as text.
        hid = pa.chunked_array(
            [pc.take(pc.cast(x.dictionary, pa.uint32()), x.indices) for x in
             (_dictionary_encoded(y) for y in t.column("household_id").chunks)], pa.uint32())
        frames.append(pl.DataFrame({
            "household_id": _series(hid, pl.UInt32),
            **{c: codes[c][k] for c in _TEXTS},
            "amount": _series(t.column("amount"), pl.Float64),
        }).select(list(_CODED)))
        k += 1
    return frames, texts


_CODED = {"household_id": pl.UInt32, "code": pl.UInt32, "member_id": pl.UInt32,
          "status": pl.UInt32, "amount": pl.Float64, "period": pl.UInt32, "rule_id": pl.UInt32}


def _dictionary_encoded(a: pa.Array) -> pa.DictionaryArray:
    return a if pa.types.is_dictionary(a.type) else pc.dictionary_encode(a)


def _series(values: pa.Array | pa.ChunkedArray, dtype: type[pl.DataType]) -> pl.Series:
    out = pl.Series(values) if len(values) else pl.Series(dtype=dtype)
    return out.cast(dtype)


def _listed_twice(frame: pl.DataFrame, texts: dict[str, pl.Series]) -> list[int]:
    """The households of a coded outcome frame with an outcome (code, member) listed twice.
    The three key columns are one 64-bit number when the codes fit, and sorted numbers show
    a repeated one beside itself (numpy's sort is far cheaper than hashing every key)."""
    code_bits = max(len(texts["code"]), 1).bit_length()
    member_bits = (len(texts["member_id"]) + 1).bit_length()
    if 32 + code_bits + member_bits > 64:
        return frame.filter(pl.struct(_KEY).is_duplicated())["household_id"].to_list()
    key = np.sort(frame.select(
        (pl.col("household_id").cast(pl.UInt64) * (1 << (code_bits + member_bits)))
        | (pl.col("code").cast(pl.UInt64) * (1 << member_bits))
        | (pl.col("member_id").cast(pl.UInt64) + 1).fill_null(0)).to_series().to_numpy())
    twice = key[1:][key[1:] == key[:-1]]
    return sorted({int(k) >> (code_bits + member_bits) for k in twice})


def _tables_of(frame: pl.DataFrame, texts: dict[str, pl.Series], rows: list[int],
               summaries: _Summaries) -> list[Table]:
    """The tables of the households ``rows`` (sorted) of a coded outcome frame."""
    if not rows:
        return []
    wanted = pl.Series(rows, dtype=pl.UInt32)
    part = frame.filter(pl.col("household_id").is_in(wanted.implode())).with_columns(
        pl.lit(texts[c]).gather(pl.col(c)).alias(c) for c in _TEXTS)
    ids = part["household_id"]
    starts = ids.search_sorted(wanted, side="left").to_list()
    ends = ids.search_sorted(wanted, side="right").to_list()
    keys, key_of = _numbered(part, ["code", "member_id"])
    values, value_of = _numbered(part, _VALUES)
    made = [summaries[v] for v in values]
    pairs = list(zip(map(keys.__getitem__, key_of), map(made.__getitem__, value_of),
                     strict=True))
    return [dict(pairs[s:e]) for s, e in zip(starts, ends, strict=True)]


def _money_frame(frame: pl.DataFrame, texts: dict[str, pl.Series], version: str
                 ) -> pl.DataFrame:
    """Per household row (``h``) with a granted amount in ``frame``, ``money`` of its table
    as ``annual_<version>`` and ``once_<version>`` (no outcome listed twice, no amount of
    ``_FEN_LIMIT`` yuan or more: those households are counted from their tables)."""
    status, periods = texts["status"].to_list(), texts["period"].to_list()
    granted = frame.filter((pl.col("status") == status.index("GRANTED"))
                           & pl.col("amount").is_not_null())
    amounts = granted["amount"].unique()
    fen = pl.DataFrame({"amount": amounts,
                        "_fen": pl.Series([round(x * 100) if abs(x) < _FEN_LIMIT else 0
                                           for x in amounts.to_list()], dtype=pl.Int64)})
    period = pl.col("period").replace_strict(
        list(range(len(periods))), periods, default=None, return_dtype=pl.String)
    once = (period == "ONCE").fill_null(False)
    factor = pl.when(period == "MONTH").then(12).otherwise(1)
    return (granted.join(fen, on="amount", how="left", nulls_equal=True)
            .group_by("household_id")
            .agg(pl.when(once).then(0).otherwise(pl.col("_fen") * factor).sum()
                 .alias(f"annual_{version}"),
                 pl.when(once).then(pl.col("_fen")).otherwise(0).sum()
                 .alias(f"once_{version}"))
            .rename({"household_id": "h"}))


class _Summaries(dict[tuple[str, float | None, str | None, str | None], Summary]):
    """Summaries by (status, amount, period, rule id), made when first asked for."""

    def __init__(self) -> None:
        super().__init__({("NOT_GRANTED", None, None, None): NOT_GRANTED})

    def __missing__(self, key: tuple[str, float | None, str | None, str | None]) -> Summary:
        s = self[key] = Summary(*key)
        return s


def _tables(outcomes: pa.Table, n: int, summaries: _Summaries) -> list[Table]:
    """The outcome table's rows (of households numbered 0..n-1, in order) as one table per
    household, in the rows' order."""
    frame = pl.from_arrow(outcomes.select(
        ["household_id", "code", "member_id", "status", "amount", "period", "rule_id"]))
    assert isinstance(frame, pl.DataFrame)
    frame = frame.with_columns(  # text columns may come dictionary-encoded
        pl.col("household_id").cast(pl.String).cast(pl.UInt32),
        pl.col("code", "member_id", "status", "period", "rule_id").cast(pl.String))
    starts = frame["household_id"].search_sorted(
        pl.Series(range(n + 1), dtype=pl.UInt32), side="left").to_list()
    # Few distinct keys and summaries: each is made once, and the rows point at them.
    keys, key_of = _numbered(frame, ["code", "member_id"])
    values, value_of = _numbered(frame, ["status", "amount", "period", "rule_id"])
    made = [summaries[v] for v in values]
    rows = zip(map(keys.__getitem__, key_of), map(made.__getitem__, value_of), strict=True)
    return [dict(islice(rows, end - start)) for start, end in pairwise(starts)]


def _numbered(frame: pl.DataFrame, columns: list[str]) -> tuple[list[tuple[Any, ...]], list[int]]:
    """The distinct values of ``columns`` (as tuples) and, per row, the index of its own."""
    part = frame.select(columns)
    distinct = part.unique(maintain_order=True).with_row_index("_i")
    index = part.join(distinct, on=columns, how="left", nulls_equal=True,
                      maintain_order="left")["_i"]
    return distinct.drop("_i").rows(), index.to_list()


def outcome_tables(
    households: Sequence[Household], as_of: date, programs: Sequence[Program | None],
    refs: Sequence[VersionRef | None] | None = None,
) -> list[tuple[Table, ...]]:
    """Per household, one outcome table per program (an empty table for None: a program with
    no version in force). ``refs`` name the versions (by default, as ``draft_ref`` does).
    Raises ``engine.batch.EvaluationFailed`` for a household the engine cannot evaluate."""
    refs = refs if refs is not None else [None] * len(programs)
    versions = [None if p is None else (p, r if r is not None else draft_ref(p))
                for p, r in zip(programs, refs, strict=True)]
    hh, members = input_frames(households)
    result = frame_tables(hh, members, as_of, versions)
    out: list[tuple[Table, ...]] = []
    for h, tables in enumerate(result.tables):
        if tables is None:
            raise EvaluationFailed(households[h].id, result.errors[h])
        out.append(tables)
    return out


# --- comparing and counting ------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeChange:
    code: str
    member_id: str | None
    kind: ChangeKind
    before: Summary
    after: Summary


@dataclass(frozen=True)
class HouseholdImpact:
    household_id: str
    region_code: str
    kind: HouseholdKind
    changes: tuple[OutcomeChange, ...]
    annual_before: float
    annual_after: float


@dataclass(kw_only=True)
class Totals:
    """Households counted, how many gain, lose or change, and the amounts before and after:
    summed exactly, in fen (integers), and shown in yuan."""

    households: int = 0
    gained: int = 0
    lost: int = 0
    changed: int = 0
    annual_before_fen: int = 0
    annual_after_fen: int = 0
    once_before_fen: int = 0
    once_after_fen: int = 0

    @property
    def annual_before(self) -> float:
        return self.annual_before_fen / 100  # the double nearest the exact total

    @property
    def annual_after(self) -> float:
        return self.annual_after_fen / 100

    @property
    def once_before(self) -> float:
        return self.once_before_fen / 100

    @property
    def once_after(self) -> float:
        return self.once_after_fen / 100


@dataclass(kw_only=True)
class RegionImpact(Totals):
    region_code: str


def compare(before: Table, after: Table) -> tuple[OutcomeChange, ...]:
    """The outcomes whose status, amount or granting rule differ between the two tables."""
    if before == after:
        return ()
    changes = []
    for key in [*after, *(k for k in before if k not in after)]:
        b, a = before.get(key, NOT_GRANTED), after.get(key, NOT_GRANTED)
        if b is a or b == a:  # summaries are mostly shared objects (``_Summaries``)
            continue
        kind: ChangeKind
        if a.status == "GRANTED" and b.status != "GRANTED":
            kind = "GAINED"
        elif b.status == "GRANTED" and a.status != "GRANTED":
            kind = "LOST"
        elif a.status == "GRANTED":
            kind = "AMOUNT" if (a.amount, a.period) != (b.amount, b.period) else "TIER"
            if a.rule_id != b.rule_id and kind == "AMOUNT":
                kind = "TIER"
        else:
            kind = "STATUS"
        changes.append(OutcomeChange(key[0], key[1], kind, b, a))
    return tuple(changes)


def classify(changes: Sequence[OutcomeChange]) -> HouseholdKind | None:
    """A household gains when it gets something and loses nothing, loses when the reverse,
    and otherwise (a new tier, amount or status, or gains and losses at once) changes."""
    if not changes:
        return None
    gained = any(c.kind == "GAINED" for c in changes)
    lost = any(c.kind == "LOST" for c in changes)
    if gained and not lost:
        return "GAINED"
    if lost and not gained:
        return "LOST"
    return "CHANGED"


def money(table: Table) -> tuple[int, int]:
    """(annual amount, one-off amount) granted, in fen (exact): a monthly amount counts twelve
    times. Amounts are to the cent, so ``amount * 100`` rounds to their exact number of fen."""
    annual = once = 0
    for s in table.values():
        if s.status != "GRANTED" or s.amount is None:
            continue
        fen = round(s.amount * 100)
        if s.period == "ONCE":
            once += fen
        else:
            annual += fen * ANNUAL_FACTOR.get(s.period or "YEAR", 1)
    return annual, once


@dataclass(kw_only=True)
class Tally(Totals):
    """Counts and totals over households, and the first ``keep`` changed ones in full."""

    keep: int = 100
    regions: dict[str, RegionImpact] = field(default_factory=dict)
    examples: list[HouseholdImpact] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        return self.households - self.gained - self.lost - self.changed

    @property
    def changed_total(self) -> int:
        return self.gained + self.lost + self.changed

    def add_unchanged(self, region_code: str, annual: int, once: int) -> None:
        """A household whose outcomes are the same under both versions, by its money (fen):
        what ``add`` counts for it."""
        self._count(region_code, annual, once, annual, once)

    def _count(self, region_code: str, annual_before: int, once_before: int,
               annual_after: int, once_after: int) -> RegionImpact:
        """One household and its money (fen) counted in the total and in its region's."""
        region = self.regions.get(region_code)
        if region is None:
            region = self.regions[region_code] = RegionImpact(region_code=region_code)
        for target in (self, region):
            target.households += 1
            target.annual_before_fen += annual_before
            target.annual_after_fen += annual_after
            target.once_before_fen += once_before
            target.once_after_fen += once_after
        return region

    def add(self, household_id: str, region_code: str, before: Table, after: Table) -> None:
        (ab, ob), (aa, oa) = money(before), money(after)
        region = self._count(region_code, ab, ob, aa, oa)
        changes = compare(before, after)
        kind = classify(changes)
        if kind is None:
            return
        for target in (self, region):
            if kind == "GAINED":
                target.gained += 1
            elif kind == "LOST":
                target.lost += 1
            else:
                target.changed += 1
        self.keep_example(household_id, region_code, changes, ab, aa)

    def add_region(self, totals: RegionImpact) -> None:
        """Households of one region counted together (``RegionImpact``'s counts and money,
        e.g. summed in columns): what ``add`` of each would count."""
        region = self.regions.get(totals.region_code)
        if region is None:
            region = self.regions[totals.region_code] = RegionImpact(
                region_code=totals.region_code)
        for target in (self, region):
            for name in ("households", "gained", "lost", "changed", "annual_before_fen",
                         "annual_after_fen", "once_before_fen", "once_after_fen"):
                setattr(target, name, getattr(target, name) + getattr(totals, name))

    def keep_example(self, household_id: str, region_code: str,
                     changes: tuple[OutcomeChange, ...], annual_before: int,
                     annual_after: int) -> None:
        """A changed household (already counted) listed in full while fewer than ``keep``
        are."""
        kind = classify(changes)
        if kind is not None and len(self.examples) < self.keep:
            self.examples.append(HouseholdImpact(household_id, region_code, kind, changes,
                                                 annual_before / 100, annual_after / 100))
