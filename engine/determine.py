"""The engine's front door: a household, a date and the versions in force -> a Determination."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from engine.evaluator import check_agreement, fire_all, load, trace_by_member, tree_fired
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
    raise ``policy.errors.FactsInvalid``) or an already validated ``Household``. Versions whose
    reference is not PUBLISHED are evaluated without durable_rules."""
    hh = household if isinstance(household, Household) else parse_household(household, as_of)
    facts = derive(hh, as_of)
    results = []
    # Published versions run in durable_rules (registered once each, for good: a registered
    # ruleset cannot be freed). Drafts and versions in review are evaluated on their condition
    # trees alone, so testing or previewing any number of revisions registers nothing.
    published = [program for program, ref in versions if ref.status == "PUBLISHED"]
    fired = iter(fire_all(load(*published), facts)) if published else iter(())
    for program, ref in versions:
        tree, members = trace_by_member(program, facts)
        if ref.status == "PUBLISHED":
            verdicts = next(fired)
            check_agreement(program, verdicts, tree)
        else:
            verdicts = tree_fired(tree, len(facts.members))
        results.append(explain_program(program, ref, facts, verdicts, tree, members))
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
