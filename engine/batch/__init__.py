"""Batch screening: every household of a register against every program, as of a date.

The vectorised backend (``compiler``, ``evaluate``) is compiled from the same typed condition
trees as the interactive engine and gives the same outcomes, amounts and statuses;
``sources`` reads CSV, JSON Lines and Parquet registers in chunks, ``layout`` and ``records``
validate them exactly as ``parse_household`` does; ``runner`` streams a register through them
to ``writers``; ``spark`` runs the same chunk evaluator on Apache Spark. See
docs/screening.md and docs/decisions/0002-batch-backend.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl

from engine.batch.evaluate import Evaluated, Evaluator
from engine.batch.records import frames_of
from policy.cache import BoundedCache
from policy.catalog import VersionRef
from policy.document import Program

__all__ = ["Evaluated", "EvaluationFailed", "Evaluator", "evaluator_for", "screen_households"]


class EvaluationFailed(RuntimeError):
    """The engine could not evaluate a (valid) household, e.g. an amount too large to round."""

    def __init__(self, household_id: str, message: str):
        self.household_id = household_id
        super().__init__(f"household {household_id}: {message}")

# Compiled evaluators hold polars query plans: a few are kept (screening runs one; an impact
# preview one per side), not one per draft revision ever previewed.
_EVALUATORS: BoundedCache[tuple[date, tuple[str, ...]], Evaluator] = BoundedCache(
    "engine.batch_evaluators", 16)


def evaluator_for(versions: Sequence[tuple[Program, VersionRef]], as_of: date) -> Evaluator:
    """The compiled evaluator of these versions on ``as_of`` (cached per process)."""
    key = (as_of, tuple(f"{r.id}:{p.content_hash}" for p, r in versions))
    return _EVALUATORS.get_or_make(key, lambda: Evaluator(versions, as_of))


def screen_households(
    households: Sequence[dict[str, Any]],
    as_of: date,
    versions: Sequence[tuple[Program, VersionRef]],
) -> pl.DataFrame:
    """Screen household JSON objects (the contract's format) with the vectorised backend.

    Returns the long outcome table (one row per household and outcome, in the interactive
    engine's order), with ``rule_id``: the rule that grants a GRANTED outcome. Each household
    is validated as ``policy.facts.parse_household`` validates it; an invalid one raises
    ``policy.errors.FactsInvalid`` as ``engine.determine`` would."""
    hh, members = frames_of(households, as_of)
    evaluator = evaluator_for(versions, as_of)
    result = evaluator.evaluate(hh, members, rule_ids=True)
    if result.errors:
        raise EvaluationFailed(result.errors[0].household_id, result.errors[0].message)
    return evaluator.as_polars(result.outcomes)
