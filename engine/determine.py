"""The engine's front door: a household, a date and the versions in force -> a Determination."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from engine.evaluator import check_agreement, fire_all, load, trace_rules
from engine.explain import explain_program
from engine.results import Determination, VersionRef
from policy.document import Program
from policy.facts import Household, derive, parse_household


def determine(
    household: Household | Mapping[str, Any],
    as_of: date,
    versions: Sequence[tuple[Program, VersionRef]],
) -> Determination:
    """Evaluate and explain. ``household`` may be raw JSON data (validated here; invalid facts
    raise ``policy.errors.FactsInvalid``) or an already validated ``Household``."""
    hh = household if isinstance(household, Household) else parse_household(household, as_of)
    facts = derive(hh, as_of)
    results = []
    if versions:
        loaded = load(*(program for program, _ in versions))
        for (program, ref), verdicts in zip(versions, fire_all(loaded, facts), strict=True):
            tree = trace_rules(program, facts)
            check_agreement(program, verdicts, tree)
            results.append(explain_program(program, ref, facts, verdicts, tree))
    flagged_by = tuple(
        dict.fromkeys(o.code for r in results for o in r.outcomes if o.flags_monitoring)
    )
    return Determination(
        as_of=as_of,
        household_id=hh.id,
        programs=tuple(results),
        flagged_for_monitoring=bool(flagged_by),
        flagged_by=flagged_by,
        inputs=(hh, as_of, tuple(versions)),
    )
