"""Households outside the range the vectorised path is proven on (a number neither 0 nor
between 1e-6 and 1e15 in magnitude; one in millions in real registers), which the interactive
engine itself evaluates (``evaluate_interactively``): their rows, summary and counts in the
outcome table's columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from engine.batch.exact import fen
from engine.batch.execution import ENGINE
from engine.batch.frames import MONEY_HOUSEHOLD, household_json
from engine.batch.table import COUNTS, HOUSEHOLD_SUMMARY, determination_rows
from engine.results import Determination
from policy.catalog import VersionRef
from policy.document import Program
from policy.errors import PolicyError

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


@dataclass(frozen=True)
class EvaluationError:
    """A household the interactive engine itself refused."""

    household: int            # the household's row in the input frame
    household_id: str
    message: str


def evaluate_interactively(
        hh: pl.DataFrame, members: pl.DataFrame, which: pl.Series, statuses: frozenset[str],
        as_of: date, versions: Sequence[tuple[Program, VersionRef]],
        schema: dict[str, pl.DataType],
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, tuple[EvaluationError, ...]]:
    """The households ``which`` picks, evaluated by the interactive engine
    (``interactive_determination``): their outcome rows with one of ``statuses`` (columns
    ``_h``, ``_k``, ``schema``'s and ``rule_id``), their summary rows, their counts, and the
    households the engine refused."""
    rows: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    errors: list[EvaluationError] = []
    m_by_h: dict[int, list[dict[str, Any]]] = {}
    picked = which.arg_true()
    for row in members.filter(pl.col("_h").is_in(picked.cast(pl.UInt32).implode())
                              ).iter_rows(named=True):
        m_by_h.setdefault(row["_h"], []).append(row)
    for h in picked.to_list():
        row = hh.row(h, named=True)
        data = household_json(row, m_by_h.get(h, []))
        try:
            det = interactive_determination(data, as_of, versions)
        except (PolicyError, ArithmeticError, ValueError) as exc:
            errors.append(EvaluationError(h, row["household_id"], str(exc) or repr(exc)))
            continue
        out = determination_rows(det, row["regionCode"])
        granting = [o.reasons[0].rule_id if o.status.value == "GRANTED" and o.reasons
                    else None for p in det.programs for o in p.outcomes]
        rows.extend({"_h": h, "_k": k, **r, "rule_id": g}
                    for k, (r, g) in enumerate(zip(out, granting, strict=True)))
        summary.append({"_h": h, "household_id": row["household_id"],
                        "region_code": row["regionCode"],
                        "members": len(m_by_h.get(h, [])),
                        "flagged": det.flagged_for_monitoring,
                        "granted": sum(r["status"] == "GRANTED" for r in out),
                        "undetermined": sum(r["status"] == "UNDETERMINED" for r in out)})
    frame_schema = {"_h": pl.UInt32(), "_k": pl.UInt32(), **schema, "rule_id": pl.String()}
    frame = pl.DataFrame(rows, schema=frame_schema, orient="row")
    counts = frame.group_by("program", "version", "code", "status", "period").agg(
        outcomes=pl.len().cast(pl.Int64), amount_fen=fen(pl.col("amount")).sum()
    ).with_columns(
        pl.col("program", "code", "status", "period").cast(pl.String),
        amount_fen=pl.when(pl.col("status") == "GRANTED").then(
            pl.when(pl.col("period").is_not_null()).then(pl.col("amount_fen"))),
    ).select(list(COUNTS))
    return (frame.filter(pl.col("status").cast(pl.String).is_in(sorted(statuses))),
            pl.DataFrame(summary, schema={"_h": pl.UInt32(), **HOUSEHOLD_SUMMARY},
                         orient="row"),
            counts, tuple(errors))
