"""An outcome code's columns: its status by the status rules of ``policy.semantics`` over
polars' Kleene logic, its granting rule's terms and its missing facts as JSON text.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import polars as pl

from engine.batch.compiler import CodePlan, fact_column, source_facts
from policy import semantics


class _Columns:
    """Kleene's connectives on nullable boolean columns (polars' ``&``, ``|`` and ``~`` are
    three-valued): the logic ``policy.semantics`` writes the status rules over."""

    def and_(self, operands: Sequence[pl.Expr]) -> pl.Expr:
        return functools.reduce(operator.and_, operands)

    def or_(self, operands: Sequence[pl.Expr]) -> pl.Expr:
        return functools.reduce(operator.or_, operands)

    def not_(self, operand: pl.Expr) -> pl.Expr:
        return ~operand


COLUMNS: semantics.Logic[pl.Expr] = _Columns()


def status_code(verdict: pl.Expr) -> pl.Expr:
    """``policy.semantics.status`` as a code: true 0 GRANTED, false 1 NOT_GRANTED, unknown 2
    UNDETERMINED (``STATUSES``)."""
    return (pl.lit(1, pl.UInt8) - verdict.cast(pl.UInt8)).fill_null(2)


def _json_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def terms_expr(cp: CodePlan, rules: dict[int, Any], g: pl.Expr) -> pl.Expr:
    """The granting rule's terms as JSON text, ``[{"key": .., "value": .., "unit": ..}]``;
    a term whose value is unknown is left out, and no terms at all is null."""
    out: pl.Expr = pl.lit(None, pl.String)
    for i in reversed(cp.rules):
        terms = rules[i].terms
        if not terms:
            continue
        items = [
            pl.concat_str([
                pl.lit(f'{{"key":{_json_string(key)},"value":'),
                expr.cast(pl.Float64).cast(pl.String),
                pl.lit(f',"unit":{_json_string(unit)}}}'),
            ])
            for key, expr, unit in terms
        ]
        body = pl.concat_str(items, separator=",", ignore_nulls=True)
        text = pl.concat_str([pl.lit("["), body, pl.lit("]")])
        if rules[i].terms_nullable:
            text = pl.when(pl.any_horizontal([e.is_not_null() for _, e, _ in terms])).then(text)
        out = pl.when(g == i).then(text).otherwise(out)
    return out


def missing_expr(cp: CodePlan, rules: dict[int, Any], effs: dict[int, pl.Expr]) -> pl.Expr:
    """``missingFacts`` as JSON text (``["previousAnnualNetIncome"]``), null when none: the
    input facts that the open rules' unknown elementary conditions read, first seen first."""
    pairs: list[tuple[pl.Expr, str]] = []
    for i in cp.rules:
        open_ = effs[i].is_null()
        for atom, facts in rules[i].atoms:
            for f in facts:
                cond = open_ & atom.is_null() & pl.col(fact_column(f)).is_null()
                for src in source_facts(f):
                    pairs.append((cond, src))
    if not pairs:
        return pl.lit(None, pl.String)
    sources = list(dict.fromkeys(s for _, s in pairs))
    first = {
        s: pl.min_horizontal([pl.when(c).then(pl.lit(k, pl.Int32))
                              for k, (c, src) in enumerate(pairs) if src == s])
        for s in sources
    }
    if len(sources) <= 3:
        # Every order of the sources that can occur, spelled out (no list kernels).
        out: pl.Expr = pl.lit(None, pl.String)
        for order in _orders(sources):
            cond = pl.lit(True)
            for s in sources:
                cond = cond & (first[s].is_not_null() if s in order else first[s].is_null())
            for x, y in pairwise(order):
                cond = cond & (first[x] < first[y])
            text = "[" + ",".join(_json_string(s) for s in order) + "]"
            out = pl.when(cond).then(pl.lit(text)).otherwise(out)
        return out
    lst = pl.concat_list([pl.struct(p=first[s], n=pl.lit(_json_string(s))) for s in sources])
    # Structs sort by their first field, the position; unknown positions are dropped.
    lst = (lst.list.eval(pl.element().filter(pl.element().struct.field("p").is_not_null()))
           .list.eval(pl.element().sort())
           .list.eval(pl.element().struct.field("n")))
    text_expr = pl.concat_str([pl.lit("["), lst.list.join(","), pl.lit("]")])
    return pl.when(lst.list.len() > 0).then(text_expr)


def _orders(items: list[str]) -> list[tuple[str, ...]]:
    """Every non-empty ordered selection of ``items``."""
    from itertools import permutations

    return [order for n in range(1, len(items) + 1) for order in permutations(items, n)]
