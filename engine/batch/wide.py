"""Every outcome in the wide layout: a row per household and a row per member, a column per
outcome code (docs/decisions/0012-wide-outcome-layout.md).

A household's row holds its household-level outcomes (``member_id`` empty), each of its
members' rows that member's member-level outcomes; the rows come in the register's order, a
household's row first and then its members' in order. The columns: ``household_id``,
``member_id``, ``region_code``, ``flags_monitoring`` (on the household's row: whether an
outcome flags it for monitoring), then per program and outcome code in the versions' order the
code's status (``G`` GRANTED, ``N`` NOT_GRANTED, ``U`` UNDETERMINED: ``WIDE_STATUSES``; empty
on the rows of the other level), ``<code>.amount`` where a rule of the code has an amount
(yuan, on GRANTED outcomes), ``<code>.period`` only where the code's amounts have more than one
period (otherwise the period is the code's, named in the summary's ``columns``), then
``missing_facts`` (the row's UNDETERMINED outcomes' facts to collect, as one JSON object
``{"code": ["fact", ...]}``) and, with terms, ``terms`` (the same for the GRANTED outcomes'
terms).

The columns are read from the evaluator's household and member frames (each code's status,
amount and texts are expressions on them, as for the long table), not pivoted from outcome
rows: the long table of every outcome is never built. The households the interactive engine
evaluates (``engine.batch.unusual``, one in millions) are put in the same columns from their
outcome rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import polars as pl

from engine.batch.evaluate import Evaluator, _Part
from engine.batch.execution import ENGINE
from engine.batch.table import ALL_STATUSES, PERIOD, STATUSES
from engine.batch.unusual import EvaluationError, evaluate_interactively, subset
from engine.batch.unusual import unusual as unusual_households

IDENTIFYING: dict[str, pl.DataType] = {
    "household_id": pl.String(), "member_id": pl.String(), "region_code": pl.String(),
    "flags_monitoring": pl.Boolean(),
}
# A status in the wide layout: one letter (the file is a third the size of the words and a third
# cheaper to write; decision 0012), in the order of ``STATUSES``.
WIDE_STATUSES = ("G", "N", "U")
WIDE_STATUS = pl.Enum(list(WIDE_STATUSES))
WIDE_STATUS_OF = dict(zip(STATUSES, WIDE_STATUSES, strict=True))
_LETTERS = pl.Series(list(WIDE_STATUSES), dtype=WIDE_STATUS)
PERIOD_ZH = {"YEAR": "元/年", "MONTH": "元/月", "ONCE": "元/次"}
PERIOD_EN = {"YEAR": "yuan/year", "MONTH": "yuan/month", "ONCE": "yuan once"}


@dataclass(frozen=True)
class CodeColumns:
    """An outcome code's columns in the wide layout."""

    program: str
    code: str
    title_zh: str
    per_member: bool
    amount: bool                # a ``<code>.amount`` column
    period: str | None          # the period of every amount of the code (None: none, or several)
    period_column: bool         # a ``<code>.period`` column (the amounts' periods differ)


@dataclass(frozen=True)
class WideLayout:
    codes: tuple[CodeColumns, ...]
    terms: bool

    @property
    def schema(self) -> dict[str, pl.DataType]:
        schema = dict(IDENTIFYING)
        for c in self.codes:
            schema[c.code] = WIDE_STATUS
            if c.amount:
                schema[f"{c.code}.amount"] = pl.Float64()
            if c.period_column:
                schema[f"{c.code}.period"] = PERIOD
        schema["missing_facts"] = pl.String()
        if self.terms:
            schema["terms"] = pl.String()
        return schema

    def zh_headers(self) -> dict[str, str]:
        """The columns' Chinese headers (a workbook's): the code's title with the code in
        brackets, its amount with the period's unit."""
        headers = {"household_id": "家庭编号", "member_id": "成员编号",
                   "region_code": "行政区划代码", "flags_monitoring": "纳入监测",
                   "missing_facts": "缺失事实", "terms": "条款"}
        for c in self.codes:
            headers[c.code] = f"{c.title_zh}（{c.code}）"
            unit = PERIOD_ZH.get(c.period or "", "元")
            headers[f"{c.code}.amount"] = f"{c.title_zh} 金额（{unit}）"
            headers[f"{c.code}.period"] = f"{c.title_zh} 周期"
        return headers

    def described(self) -> list[dict[str, Any]]:
        """The code columns as the summary lists them."""
        return [{"column": c.code, "program": c.program, "code": c.code,
                 "level": "member" if c.per_member else "household",
                 "amountColumn": f"{c.code}.amount" if c.amount else None,
                 "period": c.period,
                 "periodColumn": f"{c.code}.period" if c.period_column else None}
                for c in self.codes]


@dataclass(frozen=True)
class Wide:
    outcomes: pl.DataFrame      # ``WideLayout.schema``, a household's row then its members'
    households: pl.DataFrame    # HOUSEHOLD_SUMMARY, as ``Evaluator.evaluate`` gives it
    counts: pl.DataFrame        # COUNTS
    errors: tuple[EvaluationError, ...]


def wide_layout(ev: Evaluator, terms: bool = False) -> WideLayout:
    codes = []
    for p in ev.parts:
        cv = ev.compiled[p.version]
        rules = ev._rules[p.version]
        periods = list(dict.fromkeys(rules[i].period for i in p.plan.rules
                                     if rules[i].amount is not None))
        title = next(r.title.zh for r in cv.program.document.rules
                     if r.outcome == p.plan.code)
        codes.append(CodeColumns(cv.code, p.plan.code, title, p.plan.per_member,
                                 bool(periods), periods[0] if len(periods) == 1 else None,
                                 len(periods) > 1))
    return WideLayout(tuple(codes), terms)


def evaluate_wide(ev: Evaluator, layout: WideLayout, hh: pl.DataFrame,
                  members: pl.DataFrame) -> Wide:
    """Every outcome of validated households (the input frames of ``Evaluator.evaluate``) in
    the wide ``layout`` (``wide_layout(ev, terms)``, made once for every chunk)."""
    unusual = unusual_households(hh, members)
    if not unusual.any():
        table, summary, counts = _vectorised(ev, layout, hh, members, keys=False)
        return Wide(table, summary, counts, ())
    sub_hh, sub_m, orig = subset(hh, members, ~unusual)
    fast, summary, counts = _vectorised(ev, layout, sub_hh, sub_m, keys=True)
    fast = fast.with_columns(_h=orig.gather(fast["_h"]))
    long, py_summary, py_counts, errors = evaluate_interactively(
        hh, members, unusual, ALL_STATUSES, ev.as_of, ev.versions, ev.schema)
    slow = _from_rows(layout, long, py_summary, members)
    table = pl.concat([fast, slow]).sort("_h", "_k").drop("_h", "_k")
    all_summary = pl.concat([summary.with_columns(_h=orig), py_summary], how="diagonal"
                            ).sort("_h").drop("_h")
    return Wide(table, all_summary, pl.concat([counts, py_counts]), errors)


@dataclass(frozen=True)
class WideSides:
    """The wide table's rows of a chunk, not yet put in place: ``households`` a row per
    household, ``members`` a row per member (in the households' order, a household's members
    in order). Each holds, in the layout's order, ``household_id``, ``region_code``, the
    layout's columns of its own side and the JSON texts (null on the rows without one); a
    column of the other side is absent (empty on these rows). ``places`` is each household
    row's place in the table; its members' rows follow it."""

    households: pl.DataFrame
    members: pl.DataFrame
    places: pl.Series           # UInt32, ascending
    summary: pl.DataFrame       # HOUSEHOLD_SUMMARY, as ``Evaluator.evaluate`` gives it
    counts: pl.DataFrame        # COUNTS


def wide_sides(ev: Evaluator, layout: WideLayout, hh_in: pl.DataFrame,
               m_in: pl.DataFrame) -> WideSides | None:
    """``evaluate_wide``'s rows side by side instead of in place (a writer that renders each
    side on its own puts them in place cheaper than gathering every column into place: the
    CSV output). None when a household goes to the interactive engine (``evaluate_wide``
    then)."""
    if unusual_households(hh_in, m_in).any():
        return None
    hh, m, seg = ev.frames(hh_in, m_in)
    counts = ev._counts(hh, m)
    summary = ev.household_summary(hh)
    h_exprs, m_exprs = _expressions(ev, layout)
    ids = ("household_id", "region_code")
    own: tuple[dict[str, pl.Expr], dict[str, pl.Expr]] = (
        {"household_id": pl.col("household_id"), "region_code": pl.col("regionCode"),
         **{e.meta.output_name(): e for e in h_exprs}},
        {**{name: pl.lit(hh[column]).gather(pl.col("_h"))
            for name, column in zip(ids, ("household_id", "regionCode"), strict=True)},
         **{e.meta.output_name(): e for e in m_exprs}})
    text_columns = ["missing_facts", *(["terms"] if layout.terms else [])]
    queries = [
        hh.lazy().select(
            (pl.col("_h").cast(pl.UInt32) + seg.start.cast(pl.UInt32)).alias("_pos"),
            *(own[0][name].alias(name) for name in layout.schema if name in own[0])),
        m.lazy().select(own[1][name].alias(name) for name in layout.schema if name in own[1])]
    h_texts, m_texts = _texts(ev, layout)
    for frame, side_texts in ((hh, h_texts), (m, m_texts)):
        if side_texts is not None:
            has, columns = side_texts
            queries.append(frame.lazy().with_row_index("_i").filter(has).select("_i", *columns))
    found = pl.collect_all(queries, engine=ENGINE)
    sides = [found[0], found[1]]
    rest = iter(found[2:])
    for i, side_texts in enumerate((h_texts, m_texts)):
        n = sides[i].height
        if side_texts is None:
            texts = [pl.repeat(None, n, dtype=pl.String, eager=True).alias(name)
                     for name in text_columns]
        else:
            few = next(rest)
            texts = [pl.repeat(None, n, dtype=pl.String, eager=True).scatter(few["_i"], few[name])
                     .alias(name) for name in text_columns]
        sides[i] = sides[i].with_columns(texts)
    places = sides[0].get_column("_pos")
    return WideSides(sides[0].drop("_pos"), sides[1], places, summary, counts)


def _vectorised(ev: Evaluator, layout: WideLayout, hh_in: pl.DataFrame, m_in: pl.DataFrame,
                keys: bool) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The wide table of households the vectorised path evaluates, its summary and counts.
    A household's row goes to place ``h + s`` (``s`` its first member's row in the member
    frame), member row ``r`` of household ``h`` to ``h + r + 1``. The household rows'
    columns are gathered into place (null on the member rows), the member rows' likewise, the
    JSON texts (on a few rows) scattered. With ``keys`` the rows also have ``_h`` and ``_k``
    (0 for the household's row, 1 + the member's index), to be merged with other rows."""
    hh, m, seg = ev.frames(hh_in, m_in)
    counts = ev._counts(hh, m)
    summary = ev.household_summary(hh)
    h_exprs, m_exprs = _expressions(ev, layout)
    hh = hh.with_columns(_start=seg.start)
    h_texts, m_texts = _texts(ev, layout)
    queries = [
        hh.lazy().select((pl.col("_h").cast(pl.UInt32) + pl.col("_start").cast(pl.UInt32))
                         .alias("_pos"), *h_exprs),
        m.lazy().select((pl.col("_m_row").cast(pl.UInt32) + pl.col("_h").cast(pl.UInt32) + 1)
                        .alias("_pos"), pl.col("_h").cast(pl.UInt32).alias("_of"),
                        (pl.col("_m").cast(pl.UInt32) + 1).alias("_k"), *m_exprs)]
    # The JSON texts only on the rows that have one (a few): made on those rows, then put in
    # place.
    for frame, side_texts in ((hh, h_texts), (m, m_texts)):
        if side_texts is not None:
            has, columns = side_texts
            queries.append(frame.lazy().with_row_index("_i").filter(has).select("_i", *columns))
    found = pl.collect_all(queries, engine=ENGINE)
    h_rows, m_rows = found[0], found[1]
    n_h, n_m = h_rows.height, m_rows.height
    n = n_h + n_m
    h_pos, m_pos = h_rows["_pos"], m_rows["_pos"]
    h_range = pl.int_range(n_h, dtype=pl.UInt32, eager=True)
    owner = pl.zeros(n, dtype=pl.UInt32, eager=True).scatter(h_pos, h_range).scatter(
        m_pos, m_rows["_of"])
    at_h = pl.repeat(None, n, dtype=pl.UInt32, eager=True).scatter(h_pos, h_range)
    at_m = pl.repeat(None, n, dtype=pl.UInt32, eager=True).scatter(
        m_pos, pl.int_range(n_m, dtype=pl.UInt32, eager=True))
    parts = [hh.select("household_id", region_code="regionCode")[owner],
             h_rows.drop("_pos")[at_h], m_rows.drop("_pos", "_of", "_k")[at_m]]
    text_columns = ["missing_facts", *(["terms"] if layout.terms else [])]
    texts: dict[str, pl.Series] = {name: pl.repeat(None, n, dtype=pl.String, eager=True)
                                   for name in text_columns}
    rest = iter(found[2:])
    for pos, side in ((h_pos, h_texts), (m_pos, m_texts)):
        if side is not None:
            found_texts = next(rest)
            at = pos.gather(found_texts["_i"])
            for name in text_columns:
                texts[name] = texts[name].scatter(at, found_texts[name])
    if keys:
        k = pl.zeros(n, dtype=pl.UInt32, eager=True).scatter(m_pos, m_rows["_k"])
        parts.append(pl.DataFrame({"_h": owner, "_k": k}))
    parts.append(pl.DataFrame(texts))
    table = pl.concat(parts, how="horizontal")
    return table.select([*(["_h", "_k"] if keys else []), *layout.schema]), summary, counts


def _expressions(ev: Evaluator, layout: WideLayout) -> tuple[list[pl.Expr], list[pl.Expr]]:
    """The columns of the household rows (on the household frame) and of the member rows (on
    the member frame): each side's own (``household_id`` and ``region_code`` are the
    household's, the JSON texts are made apart)."""
    h: list[pl.Expr] = [pl.col("_flagged").alias("flags_monitoring")]
    m: list[pl.Expr] = [pl.col("member_id")]
    for p, c in zip(ev.parts, layout.codes, strict=True):
        own = m if p.plan.per_member else h
        own.append(_status(ev, p).alias(c.code))
        if c.amount:
            own.append(ev._amount(p).cast(pl.Float64).alias(f"{c.code}.amount"))
        if c.period_column:
            own.append(_period(ev, p).alias(f"{c.code}.period"))
    return h, m


def _texts(ev: Evaluator, layout: WideLayout
           ) -> tuple[tuple[pl.Expr, list[pl.Expr]] | None, tuple[pl.Expr, list[pl.Expr]] | None]:
    """Per side (household rows, member rows): which rows have a JSON text (an UNDETERMINED
    outcome with facts to collect, a GRANTED one with terms), and the texts' columns."""
    sides: list[tuple[pl.Expr, list[pl.Expr]] | None] = []
    for per_member in (False, True):
        missing: list[tuple[str, pl.Expr]] = []
        terms: list[tuple[str, pl.Expr]] = []
        has: list[pl.Expr] = []
        for p in ev.parts:
            if p.plan.per_member != per_member:
                continue
            text = ev._missingtext_array(p)
            if text is not None:
                undetermined = ev._is_status(p, 2)
                missing.append((p.plan.code, pl.when(undetermined).then(text)))
                has.append(undetermined)
            if layout.terms:
                text = ev._termstext_array(p)
                if text is not None:
                    terms.append((p.plan.code, text))
                    has.append(ev._is_status(p, 0))
        if not has:
            sides.append(None)
            continue
        columns = [_object(missing).alias("missing_facts")]
        if layout.terms:
            columns.append(_object(terms).alias("terms"))
        sides.append((pl.any_horizontal(has), columns))
    return sides[0], sides[1]


def _status(ev: Evaluator, p: _Part) -> pl.Expr:
    # The status code (0, 1, 2) indexes its letter (WIDE_STATUSES is in the order of
    # STATUSES): a gather from the three letters, not a lookup cell by cell
    # (``replace_strict`` took five to six times the CPU: about 0.9 CPU s a million households).
    return pl.lit(_LETTERS).gather(ev._status(p))


def _period(ev: Evaluator, p: _Part) -> pl.Expr:
    """The period of a GRANTED outcome's amount (a code whose rules' periods differ)."""
    rules = ev._rules[p.version]
    granting = ev._granting(p)
    out: pl.Expr = pl.lit(None, PERIOD)
    for i in p.plan.rules:
        if rules[i].amount is not None:
            out = pl.when(granting == i).then(pl.lit(rules[i].period, PERIOD)).otherwise(out)
    return pl.when(ev._amount(p).is_not_null()).then(out)


def _object(pieces: list[tuple[str, pl.Expr]]) -> pl.Expr:
    """One JSON object of the codes' JSON texts that are not null (null when none is)."""
    if not pieces:
        return pl.lit(None, pl.String)
    body = pl.concat_str([pl.lit(json.dumps(code) + ":") + text for code, text in pieces],
                         separator=",", ignore_nulls=True)
    return pl.when(body != "").then(pl.concat_str([pl.lit("{"), body, pl.lit("}")]))


def _from_rows(layout: WideLayout, long: pl.DataFrame, summary: pl.DataFrame,
               members: pl.DataFrame) -> pl.DataFrame:
    """The wide rows of households the interactive engine evaluated, from their outcome rows
    (``_h``, ``_k`` and the long table's columns; a few households, so in Python)."""
    schema = layout.schema
    flagged = dict(zip(summary["_h"].to_list(), summary["flagged"].to_list(), strict=True))
    index: dict[tuple[int, str], int] = {}
    picked = members.filter(pl.col("_h").is_in(summary["_h"].implode()))
    last, k = None, 0
    for h, member_id in picked.select("_h", "member_id").iter_rows():
        k = k + 1 if h == last else 1
        last = h
        index[(h, member_id)] = k
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    # The codes' JSON texts as the vectorised path joins them: {"code":text,...}
    missing: dict[tuple[int, int], list[str]] = {}
    terms: dict[tuple[int, int], list[str]] = {}
    for r in long.with_columns(pl.col(pl.Enum, pl.Categorical).cast(pl.String)
                               ).iter_rows(named=True):
        h, member_id = r["_h"], r["member_id"]
        key = (h, 0 if member_id is None else index[(h, member_id)])
        row = rows.setdefault(key, {
            "_h": h, "_k": key[1], "household_id": r["household_id"], "member_id": member_id,
            "region_code": r["region_code"],
            "flags_monitoring": flagged[h] if member_id is None else None})
        code = r["code"]
        row[code] = WIDE_STATUS_OF[r["status"]]
        if f"{code}.amount" in schema:
            row[f"{code}.amount"] = r["amount"]
        if f"{code}.period" in schema:
            row[f"{code}.period"] = r["period"]
        if r["missing_facts"] is not None:
            missing.setdefault(key, []).append(f"{json.dumps(code)}:{r['missing_facts']}")
        if layout.terms and r.get("terms") is not None:
            terms.setdefault(key, []).append(f"{json.dumps(code)}:{r['terms']}")
    for key, row in rows.items():
        if key in missing:
            row["missing_facts"] = "{" + ",".join(missing[key]) + "}"
        if key in terms:
            row["terms"] = "{" + ",".join(terms[key]) + "}"
    return pl.DataFrame(list(rows.values()),
                        schema={"_h": pl.UInt32(), "_k": pl.UInt32(), **schema}, orient="row")
