"""Evaluate compiled versions over household and member frames: the long outcome table.

This module runs the compiled versions over a chunk and selects and orders the rows; the
table's columns and Arrow encoding are ``engine.batch.table``, an outcome code's status, terms
and missing-facts columns ``engine.batch.codes``, the households outside the vectorised path's
proven range ``engine.batch.unusual``.

Statuses are assigned by the status rules of ``policy.semantics`` (``effective``, ``outcome``),
written once over Kleene logic and applied here to polars' nullable boolean columns, per outcome
code (per member for member rules):

* a rule's *effective* verdict is its own verdict AND NOT the verdict of each higher-priority
  rule of its exclusive group (Kleene);
* GRANTED when some rule of the code is effectively true (the first by priority gives the
  amount, period and terms), else UNDETERMINED when some is unknown, else NOT_GRANTED;
* the amount (and its period) only on GRANTED, and only when the amount is known; terms whose
  value is unknown are left out; ``missingFacts`` of an UNDETERMINED outcome are the input facts
  that the open rules' unknown conditions read, in the trace's order.

Rows come out in one of two orders (``ORDERS``):

* ``household``, the interactive engine's order: by household, then program, outcome code and
  member. Each outcome's place among all the chunk's outcomes is computed from the household's
  and member's row numbers (no searching or grouping), and the selected rows are put in the
  order of their places;
* ``outcome``: code by code (programs and their outcome codes in the versions' order), each
  code's rows by household and member. This is the order the rows are found in, so nothing is
  sorted; Parquet writes the columns that follow from the code (program, version, code,
  status, period) as long runs, in half the time.

Either way the rows are built as an Arrow table whose text columns are dictionary-encoded over
the chunk's households and members, which Parquet writes as it is.

A household with a number outside what the vectorised path is proven on (not finite, above
1e15, or between 0 and 1e-6) is evaluated by the interactive engine itself
(``engine.determine``); it is one in millions in real registers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from engine.batch.codes import COLUMNS, missing_expr, status_code, terms_expr
from engine.batch.compiler import CodePlan, compile_version
from engine.batch.exact import fen
from engine.batch.execution import ENGINE
from engine.batch.frames import derive_frames
from engine.batch.segments import Segments, kleene
from engine.batch.table import (
    ALL_STATUSES,
    COUNTS,
    OUTCOME_COLUMNS,
    PERIOD_TEXT,
    PERIODS,
    STATUS_CODE,
    STATUS_TEXT,
    STATUSES,
    check_order,
    dictionary,
    member_ids,
    outcome_schema,
    strings_array,
    text_array,
)
from engine.batch.unusual import EvaluationError, evaluate_interactively, subset
from engine.batch.unusual import unusual as unusual_households
from policy import semantics
from policy.cache import per_instance
from policy.catalog import VersionRef
from policy.document import Program


@dataclass(frozen=True)
class Evaluated:
    outcomes: pa.Table          # the outcome table (the statuses asked for, in the order asked)
    households: pl.DataFrame    # HOUSEHOLD_SUMMARY, one row per household evaluated
    counts: pl.DataFrame        # COUNTS: outcomes per program, code, status (and period)
    errors: tuple[EvaluationError, ...]   # households the interactive engine itself refused


@dataclass(frozen=True)
class _Part:
    index: int
    version: int
    plan: CodePlan
    rule_base: int          # global number of the version's first rule


@dataclass(frozen=True)
class _Stages:
    member: tuple[list[pl.Expr], ...]      # with_columns on the member frame, in turn
    household: tuple[list[pl.Expr], ...]   # with_columns on the household frame, in turn
    flags: list[str]                       # member columns: whether some member is true
    totals: list[str]                      # member columns: summed per household


@dataclass(frozen=True)
class _Query:
    per_member: bool                # on the member frame, else the household frame
    keep: pl.Expr | None            # the rows wanted (None: all)
    columns: list[pl.Expr]


@dataclass(frozen=True)
class _Selection:
    rows: list[_Query]              # per code: its rows with one of the statuses asked for
    texts: dict[str, list[_Query]]  # missing facts, terms: per code that has them


@dataclass
class _Rows:
    """The selected outcomes of a chunk, in output order, as index columns."""

    h: pl.Series            # household row
    member: pl.Series       # member row (null for household outcomes)
    slot: pl.Series         # the code and status, and the granting rule of a GRANTED one
    amount: pl.Series
    missing: pl.Series
    terms: pl.Series | None


class Evaluator:
    """The versions in force, compiled once for a date; ``evaluate`` takes input frames."""

    def __init__(self, versions: Sequence[tuple[Program, VersionRef]], as_of: date):
        self.as_of = as_of
        self.versions = list(versions)
        self.compiled = [compile_version(p, r, as_of, f"v{k}_")
                         for k, (p, r) in enumerate(versions)]
        self._rules = [{r.index: r for r in cv.rules} for cv in self.compiled]
        parts: list[_Part] = []
        base = 0
        for k, cv in enumerate(self.compiled):
            for cp in cv.codes:
                parts.append(_Part(len(parts), k, cp, base))
            base += len(cv.rules)
        self.parts = tuple(parts)
        self._household_codes = sum(1 for p in self.parts if not p.plan.per_member)
        reads: set[str] = {"householdSize"}
        for cv in self.compiled:
            reads |= cv.member_household_reads
        self.member_reads = tuple(sorted(reads))
        programs = [cv.code for cv in self.compiled]
        codes = [cp.code for cv in self.compiled for cp in cv.codes]
        hashes = [cv.ref.content_hash for cv in self.compiled]
        self.schema = outcome_schema(programs, codes, hashes)
        self._programs = strings_array(programs)
        self._codes = strings_array(codes)
        self._hashes = strings_array(hashes)
        self._version_numbers = pl.Series(
            [cv.program.document.version for cv in self.compiled], dtype=pl.Int32)
        periods: list[int | None] = []
        flags: list[bool] = []
        for cv in self.compiled:
            for r in cv.rules:
                periods.append(PERIODS.index(r.period)
                               if r.amount is not None and r.period else None)
                flags.append(r.flags_monitoring)
        self._rule_ids = strings_array([r.rule_id for cv in self.compiled for r in cv.rules])
        # A slot is what an outcome is apart from its household, member and amount: its code
        # and status, and for a GRANTED one the granting rule (one slot per rule of the
        # code, then NOT_GRANTED, then UNDETERMINED). Output columns are looked up by slot.
        self._slot_base: list[int] = []
        slot_part: list[int] = []
        slot_status: list[int] = []
        slot_rule: list[int | None] = []
        for p in self.parts:
            self._slot_base.append(len(slot_part))
            for i in p.plan.rules:
                slot_part.append(p.index)
                slot_status.append(0)
                slot_rule.append(p.rule_base + i)
            for code in (1, 2):
                slot_part.append(p.index)
                slot_status.append(code)
                slot_rule.append(None)
        self._slot_status = pl.Series(slot_status, dtype=pl.UInt8)
        self._slot_rule = pl.Series(slot_rule, dtype=pl.UInt16)
        self._slot_version = pl.Series([self.parts[p].version for p in slot_part],
                                       dtype=pl.UInt8)
        self._slot_version_number = self._version_numbers.gather(self._slot_version)
        self._slot_code = pl.Series(slot_part, dtype=pl.UInt8 if len(self.parts) < 256
                                    else pl.UInt16)
        self._slot_flag = pl.Series([r is not None and flags[r] for r in slot_rule],
                                    dtype=pl.Boolean)
        self._slot_period = pl.Series([None if r is None else periods[r] for r in slot_rule],
                                      dtype=pl.UInt8)
        self._code_index = pa.uint8() if len(self.parts) < 256 else pa.uint16()
        self.arrow_schema = pa.schema([
            # The columns that are never null are declared so: Parquet then writes no
            # definition levels for them.
            pa.field("household_id", pa.dictionary(pa.uint32(), pa.large_string()), False),
            pa.field("member_id", pa.dictionary(pa.uint32(), pa.large_string())),
            pa.field("region_code", pa.dictionary(pa.uint32(), pa.large_string()), False),
            pa.field("program", pa.dictionary(pa.uint8(), pa.large_string()), False),
            pa.field("version", pa.int32(), False),
            pa.field("version_hash", pa.dictionary(pa.uint8(), pa.large_string()), False),
            pa.field("code", pa.dictionary(self._code_index, pa.large_string()), False),
            pa.field("status", pa.dictionary(pa.uint8(), pa.large_string()), False),
            pa.field("amount", pa.float64()),
            pa.field("period", pa.dictionary(pa.uint8(), pa.large_string())),
            pa.field("flags_monitoring", pa.bool_(), False),
            pa.field("terms", pa.large_string()),
            pa.field("missing_facts", pa.large_string()),
            pa.field("rule_id", pa.dictionary(pa.uint16(), pa.large_string())),
        ])

    # --- the whole chunk ---------------------------------------------------------------------

    def evaluate(self, hh: pl.DataFrame, members: pl.DataFrame,
                 statuses: frozenset[str] = ALL_STATUSES, terms: bool = True,
                 rule_ids: bool = False, order: str = "household") -> Evaluated:
        """Outcomes of validated households: ``hh`` and ``members`` have the columns of
        ``frames.HOUSEHOLD_INPUT`` and ``frames.MEMBER_INPUT``, members sorted by ``_h`` and in
        household order. Only outcomes with one of ``statuses`` are listed (the summary and
        counts cover all of them); ``terms=False`` leaves the terms column out, and
        ``rule_ids=True`` adds ``rule_id``, the granting rule of a GRANTED outcome. ``order``
        is one of ``ORDERS`` (see the module's description)."""
        check_order(order)
        by_outcome = order == "outcome"
        unusual = unusual_households(hh, members)
        if not unusual.any():
            rows, hh_d, m_d, summary, counts = self._vectorised(hh, members, statuses, terms,
                                                                by_outcome)
            return Evaluated(self._arrow(rows, hh_d, m_d, terms, rule_ids), summary, counts, ())
        sub_hh, sub_m, orig = subset(hh, members, ~unusual)
        rows, hh_d, m_d, summary, counts = self._vectorised(sub_hh, sub_m, statuses, True,
                                                            by_outcome)
        vec = self._polars(self._arrow(rows, hh_d, m_d, True, True)).select(
            pl.lit(orig.gather(rows.h)).alias("_h"),
            pl.int_range(pl.len(), dtype=pl.UInt32).alias("_k"), *OUTCOME_COLUMNS,
            pl.col("rule_id").cast(pl.String))
        summary = summary.with_columns(_h=orig)
        py_out, py_summary, py_counts, errors = evaluate_interactively(
            hh, members, unusual, statuses, self.as_of, self.versions, self.schema)
        # Both parts are in household order within each code, and in the code's own order
        # within each household (``_k``): the programs and codes (enums in the versions' order)
        # come first for the outcome order.
        keys: list[str | pl.Expr] = ["_h", "_k"]
        if by_outcome:
            keys = [pl.col("program").to_physical(), pl.col("code").to_physical(), *keys]
        out = pl.concat([vec, py_out], how="diagonal").sort(keys).drop("_h", "_k")
        if not terms:
            out = out.drop("terms")
        if not rule_ids:
            out = out.drop("rule_id")
        all_summary = pl.concat([summary, py_summary], how="diagonal").sort("_h").drop("_h")
        table = out.to_arrow()
        table = table.cast(pa.schema([self.arrow_schema.field(c) for c in table.column_names]))
        return Evaluated(table, all_summary, pl.concat([counts, py_counts]), errors)

    def as_polars(self, table: pa.Table) -> pl.DataFrame:
        """An outcome table as a polars frame with plain text and enum columns."""
        return self._polars(table)

    def _polars(self, table: pa.Table) -> pl.DataFrame:
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        schema = {**self.schema, "rule_id": pl.String()}
        return frame.with_columns(
            pl.col(c).cast(pl.String).cast(t) if isinstance(t, pl.Enum) else
            pl.col(c).cast(t)
            for c, t in schema.items() if c in frame.columns)

    # --- the vectorised path -------------------------------------------------------------------
    #
    # A code with one rule has no columns of its own (but its effective verdict when its
    # exclusive group has rules of higher priority): its status, granting rule and amount are
    # expressions over the rule's verdict, evaluated where they are needed (often only on the
    # rows selected for output). A code with several rules gets its status (``_s``), granting
    # rule (``_g``) and amount (``_a``) as columns.

    def _vectorised(self, hh_in: pl.DataFrame, m_in: pl.DataFrame, statuses: frozenset[str],
                    terms: bool, by_outcome: bool = False
                    ) -> tuple[_Rows, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        wanted = frozenset(STATUS_CODE[x] for x in statuses)
        # The household figures (GRANTED and UNDETERMINED outcomes, flagged) are counted on
        # the selected rows when those are exactly the GRANTED and UNDETERMINED outcomes, else
        # on the frames.
        from_rows = wanted == {0, 2}
        hh, m, seg = self.frames(hh_in, m_in, from_rows)
        counts = self._counts(hh, m)
        # 3. the outcome rows asked for, in the order asked for
        rows = self._select(hh, m, seg, wanted, terms, by_outcome)
        if from_rows:
            hh = hh.with_columns(**self._figures_from_rows(rows, hh.height))
        return rows, hh, m, self.household_summary(hh), counts

    def frames(self, hh_in: pl.DataFrame, m_in: pl.DataFrame, from_rows: bool = False
               ) -> tuple[pl.DataFrame, pl.DataFrame, Segments]:
        """The household and member frames with every rule's verdict and every code's
        columns (``_code_columns``); unless ``from_rows``, also each household's figures
        (``_granted``, ``_undetermined``, ``_flagged``). The wide layout
        (``engine.batch.wide``) reads its columns from them."""
        hh, m, seg = derive_frames(hh_in, m_in, self.as_of, self.member_reads)
        stages = self._stages(from_rows)
        # 1. On the member frame: member rules and the bodies of quantifiers, the statuses of
        # codes with several rules, and what each member adds to its household's figures.
        lazy_m = m.lazy()
        for exprs in stages.member:
            lazy_m = lazy_m.with_columns(exprs)
        m = lazy_m.collect(engine=ENGINE)
        per_household = [seg.any(m, stages.flags), seg.totals(m, stages.totals)]
        # 2. On the household frame: quantifiers, household rules, the statuses of codes with
        # several rules.
        lazy_h = hh.hstack([c for f in per_household for c in f.get_columns()]).lazy()
        for exprs in stages.household:
            lazy_h = lazy_h.with_columns(exprs)
        return lazy_h.collect(engine=ENGINE), m, seg

    @staticmethod
    def household_summary(hh: pl.DataFrame) -> pl.DataFrame:
        """``HOUSEHOLD_SUMMARY`` of the household frame (with its figures)."""
        return hh.select(
            household_id=pl.col("household_id"),
            region_code=pl.col("regionCode"),
            members=pl.col("householdSize").cast(pl.UInt32),
            flagged=pl.col("_flagged"),
            granted=pl.col("_granted").cast(pl.UInt32),
            undetermined=pl.col("_undetermined").cast(pl.UInt32),
        )

    @per_instance
    def _stages(self, from_rows: bool) -> _Stages:
        """The expressions of the member and household stages (built once: building them
        costs about as much as running them on a small chunk)."""
        m_parts = [p for p in self.parts if p.plan.per_member]
        h_parts = [p for p in self.parts if not p.plan.per_member]
        quantifiers = [q for cv in self.compiled for q in cv.quantifiers]
        member_rules: list[pl.Expr] = []
        for cv in self.compiled:
            member_rules += [r.condition.alias(cv.rule_column(r.index))
                             for r in cv.rules if r.per_member]
        member_rules += [q.body.alias(q.name) for q in quantifiers]
        flags: dict[str, pl.Expr] = {}    # per household: whether some member is true
        totals: dict[str, pl.Expr] = {}   # per household: the sum over its members
        for q in quantifiers:
            body = pl.col(q.name)
            # all: whether some member is false; any: whether some member is true.
            flags[f"{q.name}_d"] = (~body if q.every else body).fill_null(False)
            if q.nullable:
                flags[f"{q.name}_u"] = body.is_null()
        if m_parts and not from_rows:
            flags["_flagged"] = self._flagged(m_parts) > 0
            totals["_granted"] = self._count_status(m_parts, 0)
            totals["_undetermined"] = self._count_status(m_parts, 2)
        member = [member_rules, [e for p in m_parts for e in self._code_columns(p)],
                  [e.alias(name) for name, e in (flags | totals).items()]]
        quantified = [kleene(pl.col(f"{q.name}_d"),
                             pl.col(f"{q.name}_u") if q.nullable else pl.lit(False),
                             q.every).alias(q.name)
                      for q in quantifiers]
        hh_rules = [r.condition.alias(cv.rule_column(r.index))
                    for cv in self.compiled for r in cv.rules if not r.per_member]
        household = [quantified, hh_rules, [e for p in h_parts for e in self._code_columns(p)]]
        if not from_rows:
            household.append([
                (self._count_status(h_parts, 0) + (pl.col("_granted") if m_parts else 0))
                .alias("_granted"),
                (self._count_status(h_parts, 2) + (pl.col("_undetermined") if m_parts else 0))
                .alias("_undetermined"),
                ((self._flagged(h_parts) > 0) | (pl.col("_flagged") if m_parts else False))
                .alias("_flagged"),
            ])
        return _Stages(tuple(e for e in member if e), tuple(e for e in household if e),
                       list(flags), list(totals))

    def _figures_from_rows(self, rows: _Rows, n: int) -> dict[str, pl.Series]:
        """Per household, its GRANTED and UNDETERMINED outcomes and whether one flags it for
        monitoring, counted on the selected rows (in either order; they must hold every
        GRANTED and UNDETERMINED outcome)."""
        status = self._slot_status.gather(rows.slot)

        def per_household(code: int) -> pl.Series:
            counts = np.bincount(rows.h.filter(status == code).to_numpy(), minlength=n)
            return pl.Series(counts).cast(pl.UInt32)

        return {"_granted": per_household(0),
                "_undetermined": per_household(2),
                "_flagged": pl.repeat(False, n, dtype=pl.Boolean, eager=True).scatter(
                    rows.h.filter(self._slot_flag.gather(rows.slot)), True)}

    def _select(self, hh: pl.DataFrame, m: pl.DataFrame, seg: Segments, wanted: frozenset[int],
                terms: bool, by_outcome: bool = False) -> _Rows:
        """The outcomes with one of the ``wanted`` statuses, in the engine's order (or, with
        ``by_outcome``, code by code).

        Every outcome has a place in the table of *all* outcomes, by household, then code,
        then member; it is computed, not searched: household ``h`` (its first member at row
        ``s``, ``k`` members) starts at ``H * h + M * s`` (``H`` household and ``M`` member
        codes), a code after ``b`` household and ``c`` member codes at ``b + c * k`` within
        it, and a member code's ``j``-th member ``j`` further. The selected outcomes are
        listed code by code and put in the order of their places: a scatter when every
        outcome is selected, a sort of the places otherwise. By outcome, a row's place is its
        code's number, then its row in the household or member frame: the order the rows are
        listed in."""
        n_h = self._household_codes
        total = n_h * hh.height + (len(self.parts) - n_h) * m.height
        plan = self._selection(wanted, terms, pl.UInt32 if total < 2**32 else pl.Int64,
                               by_outcome)
        if not by_outcome:
            hh = hh.with_columns(_start=seg.start)

        def query(q: _Query) -> pl.LazyFrame:
            lf = (m if q.per_member else hh).lazy()
            return (lf if q.keep is None else lf.filter(q.keep)).select(q.columns)

        queries = [query(q) for q in plan.rows]
        sparse = {name: [query(q) for q in qs] for name, qs in plan.texts.items()}
        found = pl.collect_all([*queries, *sparse["missing"], *sparse["terms"]],
                                engine=ENGINE)
        rows = pl.concat(found[:len(queries)]).rechunk()
        if not by_outcome:
            if len(wanted) == 3:
                order = pl.zeros(rows.height, dtype=pl.UInt32, eager=True).scatter(
                    rows["place"], pl.int_range(rows.height, dtype=pl.UInt32, eager=True))
            else:
                order = rows["place"].arg_sort()
            rows = rows[order]
        places = rows["place"]

        def placed(frames: list[pl.DataFrame]) -> pl.Series:
            out = pl.repeat(None, rows.height, dtype=pl.String, eager=True)
            if frames:
                texts = pl.concat(frames)
                out = out.scatter(places.search_sorted(texts["place"]), texts["text"])
            return out

        n_missing = len(sparse["missing"])
        missing = placed(found[len(queries):len(queries) + n_missing])
        terms_column = placed(found[len(queries) + n_missing:]) if terms else None
        return _Rows(rows["h"], rows["member"], rows["slot"], rows["amount"], missing,
                     terms_column)

    @per_instance
    def _selection(self, wanted: frozenset[int], terms: bool,
                   place_type: pl.DataType | type[pl.DataType],
                   by_outcome: bool = False) -> _Selection:
        """The queries of ``_select`` (built once: building them costs about as much as
        running them on a small chunk)."""
        n_h = self._household_codes
        n_m = len(self.parts) - n_h
        k = pl.col("householdSize").cast(place_type)
        h = pl.col("_h").cast(place_type)
        # The place of a household's (or a member's) first outcome, before the code's offset.
        household_base = h * n_h + pl.col("_start").cast(place_type) * n_m
        member_base = h * n_h + (pl.col("_m_row").cast(place_type)
                                 - pl.col("_m").cast(place_type)) * n_m \
            + pl.col("_m").cast(place_type)
        before_h = before_m = 0
        rows = []
        texts: dict[str, list[_Query]] = {"missing": [], "terms": []}
        for p in self.parts:
            if by_outcome:
                frame_row = pl.col("_m_row") if p.plan.per_member else pl.col("_h")
                place = (pl.lit(p.index << 32, pl.UInt64) + frame_row.cast(pl.UInt64)
                         ).alias("place")
            else:
                base = member_base if p.plan.per_member else household_base
                offset = before_h + before_m * k if before_m else pl.lit(before_h, place_type)
                place = (base + offset).alias("place")
            rows.append(_Query(p.plan.per_member, self._keep(p, wanted), [
                place,
                pl.col("_h").alias("h"),
                (pl.col("_m_row") if p.plan.per_member else pl.lit(None, pl.UInt32))
                .alias("member"),
                self._slot(p).alias("slot"),
                self._amount(p).alias("amount"),
            ]))
            # Texts only some codes have, on few of their rows: listed apart, put in place
            # after the rows are ordered.
            found = {"missing": (self._missingtext_array(p), 2)}
            if terms:
                found["terms"] = (self._termstext_array(p), 0)
            for name, (text, status) in found.items():
                if text is not None and status in wanted:
                    texts[name].append(_Query(p.plan.per_member, self._is_status(p, status),
                                              [place, text.alias("text")]))
            if p.plan.per_member:
                before_m += 1
            else:
                before_h += 1
        return _Selection(rows, texts)

    def _slot(self, p: _Part) -> pl.Expr:
        """The outcome's slot (see ``__init__``)."""
        base = self._slot_base[p.index]
        n = len(p.plan.rules)
        if n == 1:
            return pl.lit(base, pl.UInt16) + self._status(p).cast(pl.UInt16)
        position = pl.col(f"_g{p.index}").replace_strict(
            list(p.plan.rules), list(range(n)), default=None, return_dtype=pl.UInt16)
        s = pl.col(f"_s{p.index}").cast(pl.UInt16)
        return pl.when(s == 0).then(pl.lit(base, pl.UInt16) + position) \
            .otherwise(pl.lit(base + n - 1, pl.UInt16) + s)

    def _verdict(self, p: _Part) -> pl.Expr:
        """The effective verdict of the only rule of a one-rule code: its own column, or
        (when higher-priority rules of its exclusive group can exclude it) ``_e``."""
        (i,) = p.plan.rules
        if self._rules[p.version][i].higher:
            return pl.col(f"_e{p.index}")
        return pl.col(self.compiled[p.version].rule_column(i))

    def _status(self, p: _Part) -> pl.Expr:
        """0 GRANTED, 1 NOT_GRANTED, 2 UNDETERMINED."""
        if len(p.plan.rules) == 1:
            return status_code(self._verdict(p))
        return pl.col(f"_s{p.index}")

    def _keep(self, p: _Part, wanted: frozenset[int]) -> pl.Expr | None:
        """Whether the code's status is one of ``wanted`` (None: always)."""
        if len(wanted) == 3:
            return None
        if len(p.plan.rules) == 1:
            v = self._verdict(p)
            granted, not_granted, unknown = v.fill_null(False), (~v).fill_null(False), \
                v.is_null()
            return {frozenset({0}): granted, frozenset({1}): not_granted,
                    frozenset({2}): unknown, frozenset({0, 1}): v.is_not_null(),
                    frozenset({0, 2}): v | unknown, frozenset({1, 2}): ~granted}[wanted]
        s = pl.col(f"_s{p.index}")
        if len(wanted) == 2:
            return s != ({0, 1, 2} - wanted).pop()
        return s == next(iter(wanted))

    def _granting(self, p: _Part) -> pl.Expr:
        """The granting rule (its number in the version), null unless GRANTED."""
        if len(p.plan.rules) == 1:
            return pl.when(self._verdict(p).fill_null(False)).then(
                pl.lit(p.plan.rules[0], pl.Int16))
        return pl.col(f"_g{p.index}")

    def _amount(self, p: _Part) -> pl.Expr:
        """The amount of a GRANTED outcome (null otherwise, or when unknown)."""
        rules = self._rules[p.version]
        if len(p.plan.rules) == 1:
            amount = rules[p.plan.rules[0]].amount
            if amount is None:
                return pl.lit(None, pl.Float64)
            return pl.when(self._verdict(p).fill_null(False)).then(amount) \
                .otherwise(pl.lit(None, pl.Float64))
        if any(rules[i].amount is not None for i in p.plan.rules):
            return pl.col(f"_a{p.index}")
        return pl.lit(None, pl.Float64)

    def _missingtext_array(self, p: _Part) -> pl.Expr | None:
        """``missingFacts`` of an UNDETERMINED outcome of the code (None: it has none)."""
        rules = self._rules[p.version]
        if not any(rules[i].atoms for i in p.plan.rules):
            return None
        return missing_expr(p.plan, rules, self._effective(p))

    def _termstext_array(self, p: _Part) -> pl.Expr | None:
        """The terms of a GRANTED outcome of the code (None: it has none)."""
        rules = self._rules[p.version]
        term_rules = [i for i in p.plan.rules if rules[i].terms]
        if not term_rules:
            return None
        g = self._granting(p)
        return pl.when(g.is_in(term_rules)).then(terms_expr(p.plan, rules, g))

    def _arrow(self, rows: _Rows, hh: pl.DataFrame, m: pl.DataFrame, terms: bool,
               rule_ids: bool = False) -> pa.Table:
        """The outcome table (``arrow_schema``): text columns are dictionary-encoded, over
        the chunk's households (ids), distinct region codes, the chunk's members or their
        distinct ids (member ids), or the versions' names and codes."""
        slot = rows.slot
        version = self._slot_version.gather(slot)
        # A period only with an amount (a GRANTED outcome's amount can be unknown).
        period = pl.DataFrame({"p": self._slot_period.gather(slot), "a": rows.amount}).select(
            pl.when(pl.col("a").is_not_null()).then(pl.col("p"))).to_series()
        regions = pc.dictionary_encode(text_array(hh["regionCode"]))
        region = pl.from_arrow(regions.indices)
        assert isinstance(region, pl.Series)
        columns: dict[str, pa.Array] = {
            "household_id": dictionary(rows.h, text_array(hh["household_id"])),
            "member_id": member_ids(rows.member, m["member_id"]),
            "region_code": dictionary(region.cast(pl.UInt32).gather(rows.h),
                                       regions.dictionary),
            "program": dictionary(version, self._programs),
            "version": self._slot_version_number.gather(slot).to_arrow(),
            "version_hash": dictionary(version, self._hashes),
            "code": dictionary(self._slot_code.gather(slot), self._codes),
            "status": dictionary(self._slot_status.gather(slot), STATUS_TEXT),
            "amount": rows.amount.to_arrow(),
            "period": dictionary(period, PERIOD_TEXT),
            "flags_monitoring": self._slot_flag.gather(slot).to_arrow(),
        }
        if terms:
            assert rows.terms is not None
            columns["terms"] = text_array(rows.terms)
        columns["missing_facts"] = text_array(rows.missing)
        if rule_ids:
            columns["rule_id"] = dictionary(self._slot_rule.gather(slot), self._rule_ids)
        schema = pa.schema([self.arrow_schema.field(c) for c in columns])
        return pa.Table.from_arrays(list(columns.values()), schema=schema)

    def _effective(self, p: _Part) -> dict[int, pl.Expr]:
        cv = self.compiled[p.version]
        rules = self._rules[p.version]
        return {i: semantics.effective(COLUMNS, pl.col(cv.rule_column(i)),
                                       [pl.col(cv.rule_column(h)) for h in rules[i].higher])
                for i in p.plan.rules}

    def _code_columns(self, p: _Part) -> list[pl.Expr]:
        """The status (``_s``: 0 GRANTED, 1 NOT_GRANTED, 2 UNDETERMINED), granting rule
        (``_g``) and amount (``_a``, when a rule has one) of a code with several rules; the
        effective verdict (``_e``) of a one-rule code that rules of other codes can
        exclude."""
        rules = self._rules[p.version]
        effs = self._effective(p)
        if len(p.plan.rules) == 1:
            (i,) = p.plan.rules
            return [effs[i].alias(f"_e{p.index}")] if rules[i].higher else []
        # ``policy.semantics.granting``: the first effectively true rule by priority.
        granting: pl.Expr = pl.lit(None, pl.Int16)
        for i in reversed(p.plan.rules):
            granting = pl.when(effs[i].fill_null(False)).then(pl.lit(i, pl.Int16)) \
                .otherwise(granting)
        status = status_code(semantics.outcome(COLUMNS, list(effs.values())))
        exprs = [granting.alias(f"_g{p.index}"), status.alias(f"_s{p.index}")]
        amounts = {i: rules[i].amount for i in p.plan.rules if rules[i].amount is not None}
        if amounts:
            amount: pl.Expr = pl.lit(None, pl.Float64)
            for i in reversed(p.plan.rules):
                if i in amounts:
                    amount = pl.when(granting == i).then(amounts[i]).otherwise(amount)
            exprs.append(amount.alias(f"_a{p.index}"))
        return exprs

    def _is_status(self, p: _Part, code: int) -> pl.Expr:
        """Whether the code has this status (0 GRANTED, 1 NOT_GRANTED, 2 UNDETERMINED)."""
        if len(p.plan.rules) == 1:
            v = self._verdict(p)
            return (v.fill_null(False), (~v).fill_null(False), v.is_null())[code]
        return pl.col(f"_s{p.index}") == code

    def _count_status(self, parts: list[_Part], code: int) -> pl.Expr:
        """How many of these codes have the status, per row."""
        out: pl.Expr = pl.lit(0, pl.UInt32)
        for p in parts:
            out = out + self._is_status(p, code).cast(pl.UInt32)
        return out

    def _flagged(self, parts: list[_Part]) -> pl.Expr:
        """How many of these codes are granted by a rule that flags for monitoring, per row."""
        out: pl.Expr = pl.lit(0, pl.UInt32)
        for p in parts:
            rules = self._rules[p.version]
            flagging = [i for i in p.plan.rules if rules[i].flags_monitoring]
            if not flagging:
                continue
            if len(p.plan.rules) == 1:
                flag = self._is_status(p, 0)
            else:
                flag = pl.col(f"_g{p.index}").is_in(flagging).fill_null(False)
            out = out + flag.cast(pl.UInt32)
        return out

    @per_instance
    def _count_aggregations(self) -> tuple[dict[int, list[pl.Expr]],
                                           dict[int, list[tuple[_Part, str, int | None]]]]:
        """Per frame (0 households, 1 members): the counts' aggregations, and what each is."""
        aggs: dict[int, list[pl.Expr]] = {0: [], 1: []}
        keys: dict[int, list[tuple[_Part, str, int | None]]] = {0: [], 1: []}
        for p in self.parts:
            side = 1 if p.plan.per_member else 0
            rules = self._rules[p.version]
            for code in (1, 2):
                aggs[side].append(self._is_status(p, code).sum().cast(pl.Int64))
                keys[side].append((p, STATUSES[code], None))
            for i in p.plan.rules:
                if len(p.plan.rules) == 1:
                    granted, amount = self._is_status(p, 0), rules[i].amount
                else:
                    granted, amount = pl.col(f"_g{p.index}") == i, pl.col(f"_a{p.index}")
                aggs[side].append(granted.sum().cast(pl.Int64))
                keys[side].append((p, "GRANTED", i))
                if rules[i].amount is not None:
                    assert amount is not None
                    aggs[side].append(fen(amount.cast(pl.Float64).filter(granted)).sum())
                    keys[side].append((p, "AMOUNT", i))
        for side in aggs:
            aggs[side] = [e.alias(f"c{j}") for j, e in enumerate(aggs[side])]
        return aggs, keys

    def _counts(self, hh: pl.DataFrame, m: pl.DataFrame) -> pl.DataFrame:
        aggs, keys = self._count_aggregations()
        rows: dict[tuple[str, int, str, str, str | None], list[Any]] = {}
        queries = {side: frame.lazy().select(aggs[side])
                   for side, frame in ((0, hh), (1, m)) if aggs[side]}
        found = pl.collect_all(list(queries.values()), engine=ENGINE)
        results = dict(zip(queries, found, strict=True))
        for side, result in results.items():
            for (p, what, rule_i), v in zip(keys[side], result.row(0), strict=True):
                cv = self.compiled[p.version]
                period: str | None = None
                if rule_i is not None:
                    rule = self._rules[p.version][rule_i]
                    period = rule.period if rule.amount is not None else None
                key = (cv.code, cv.program.document.version, p.plan.code,
                       "GRANTED" if what in ("GRANTED", "AMOUNT") else what, period)
                row = rows.setdefault(key, [0, None])
                if what == "AMOUNT":
                    if v is not None:
                        row[1] = (row[1] or 0) + int(v)
                else:
                    row[0] += int(v or 0)
        return pl.DataFrame(
            [(*k, v[0], v[1]) for k, v in rows.items() if v[0]],
            schema=COUNTS, orient="row")
