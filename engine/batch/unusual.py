"""Households outside the range the vectorised path is proven on (a number neither 0 nor
between 1e-6 and 1e15 in magnitude; one in millions in real registers), which the interactive
engine itself evaluates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl

from engine.batch.execution import ENGINE
from engine.batch.frames import MONEY_HOUSEHOLD
from engine.results import Determination
from policy.catalog import VersionRef
from policy.document import Program

SAFE_MAX = 1e15
SAFE_MIN_POSITIVE = 1e-6


def unusual(hh: pl.DataFrame, members: pl.DataFrame) -> pl.Series:
    """Households with a number outside the range the vectorised path is proven on: neither 0
    nor between 1e-6 and 1e15 in magnitude (not-a-number and infinities included)."""

    def bad(c: pl.Expr) -> pl.Expr:
        return (~((c == 0) | c.abs().is_between(SAFE_MIN_POSITIVE, SAFE_MAX))).fill_null(False)

    per_hh, per_member = pl.collect_all([
        hh.lazy().select(pl.any_horizontal([bad(pl.col(c)) for c in MONEY_HOUSEHOLD])),
        members.lazy().select(pl.col("_h").filter(bad(pl.col("medicalOutOfPocket")))),
    ], engine=ENGINE)
    flags = per_hh.to_series()
    if per_member.height:
        flags = flags.scatter(per_member.to_series(), True)
    return flags


def subset(hh: pl.DataFrame, members: pl.DataFrame, keep: pl.Series
            ) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """The kept households, renumbered, and each one's original row."""
    orig = keep.arg_true().cast(pl.UInt32)
    new_index = (keep.cast(pl.UInt32).cum_sum() - 1).cast(pl.UInt32)
    kept_members = members.filter(keep.gather(members["_h"]))
    kept_members = kept_members.with_columns(_h=new_index.gather(kept_members["_h"]))
    return hh.filter(keep), kept_members, orig


def interactive_determination(household: dict[str, Any], as_of: date,
                              versions: Sequence[tuple[Program, VersionRef]]) -> Determination:
    """``engine.determine`` without durable_rules: the condition trees' verdicts explained by
    ``engine.explain``. durable_rules fires exactly the rules whose tree verdict is true (the
    engine checks this on every call), so the answer is the same; durable_rules 2.0.28 crashes
    on numbers it prints with an exponent (a member's medicalOutOfPocket of 1e16 or 1e-05),
    which only these unusual households have."""
    from engine.evaluator import Verdicts, trace_rules
    from engine.explain import explain_program
    from policy.facts import derive, parse_household

    hh = parse_household(household, as_of)
    facts = derive(hh, as_of)
    results = []
    for program, ref in versions:
        tree = trace_rules(program, facts)
        true = {key for key, traced in tree.items() if traced[0] is True}
        fired_hh = frozenset(i for (i, m) in true if m is None)
        fired_m = tuple(frozenset(i for (i, m) in true if m == k)
                        for k in range(len(facts.members)))
        results.append(explain_program(program, ref, facts, Verdicts(fired_hh, fired_m), tree))
    flagged_by = tuple(
        dict.fromkeys(o.code for r in results for o in r.outcomes if o.flags_monitoring))
    return Determination(as_of=as_of, household_id=hh.id, programs=tuple(results),
                         flagged_for_monitoring=bool(flagged_by), flagged_by=flagged_by)
