"""Derived facts are computed from their definitions in the fact catalogue, and every backend
computes the same value for each.

- The interactive engine evaluates the definitions (``policy.derivation``); durable_rules is
  handed those values (``engine.evaluator``), so it reads what the engine reads.
- The vectorised backend compiles the same definitions into columns (``engine.batch.derived``).

Every derived fact of the catalogue is compared, exactly, on generated households (field by
field, so a failure shrinks to a small household) and on the edges the definitions have: a
previous income of 0 or left out, members with and without a disability certificate, 29
February birthdays.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings

from engine.batch.derived import HOUSEHOLD_STEPS, MEMBER_STEPS
from engine.batch.exact import fact_rat
from engine.batch.frames import derive_frames
from engine.batch.records import frames_of
from policy.derivation import HOUSEHOLD_PLAN, MEMBER_PLAN
from policy.fact_catalogue import CATALOGUE
from policy.facts import derive, parse_household
from policy.semantics import UNKNOWN
from tests import strategies

AS_OF = strategies.AS_OF
DERIVED = [d for d in CATALOGUE.derived if d.definition != d.name]


def test_every_derived_fact_has_a_definition_both_backends_compute() -> None:
    names = {d.name for d in DERIVED}
    assert {name for name, _ in MEMBER_PLAN + HOUSEHOLD_PLAN} == names
    assert {step.fact for step in MEMBER_STEPS + HOUSEHOLD_STEPS} == names


def _batch_value(frame: pl.DataFrame, row: int, name: str, number: bool) -> Any:
    if not number:
        value = frame[name][row]
        return UNKNOWN if value is None else value
    rat = fact_rat(name)
    num = frame[rat.columns[0]][row]
    den = rat.den if isinstance(rat.den, int) else frame[rat.columns[1]][row]
    return UNKNOWN if num is None or den is None else Fraction(num, den)


def _compare(households: list[dict[str, Any]], as_of: date) -> None:
    hh_in, m_in = frames_of(households, as_of)
    hh, members, _ = derive_frames(hh_in, m_in, as_of)
    member_row = 0
    for h, data in enumerate(households):
        facts = derive(parse_household(data, as_of), as_of)
        for d in DERIVED:
            number = d.type == "number"
            if d.scope == "household":
                want = facts.household[d.name]
                got = _batch_value(hh, h, d.name, number)
                assert got == want and (got is UNKNOWN) == (want is UNKNOWN), (d.name, data)
            else:
                for k, m in enumerate(facts.members):
                    got = _batch_value(members, member_row + k, d.name, number)
                    assert got == m[d.name], (d.name, k, data)
        member_row += len(facts.members)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.households())
def test_derived_facts_agree_on_generated_households(household: dict[str, Any]) -> None:
    _compare([household], AS_OF)


def test_derived_facts_agree_at_the_edges() -> None:
    base = {"members": [{"id": "m1", "birthDate": "2008-02-29"},
                        {"id": "m2", "birthDate": "1964-02-29", "disabilityGrade": 2,
                         "disabilityKind": "PHYSICAL", "medicalOutOfPocket": 1234.56},
                        {"id": "m3", "birthDate": "2024-02-28", "medicalOutOfPocket": 0.01}]}
    households = [
        {"id": "a", **base, "annualNetIncome": 20000, "previousAnnualNetIncome": 0},
        {"id": "b", **base, "annualNetIncome": 20000},
        {"id": "c", **base, "annualNetIncome": 7000.01, "previousAnnualNetIncome": 30000.03,
         "disasterLoss": 99999.99, "accidentLoss": 0.01, "dibaoMarginal": True},
        {"id": "d", "members": [{"id": "x", "birthDate": "1990-03-01"}]},
    ]
    for as_of in (date(2026, 2, 28), date(2026, 3, 1), date(2028, 2, 29)):
        _compare(households, as_of)
    facts = derive(parse_household(households[0], date(2026, 2, 28)), date(2026, 2, 28))
    assert facts.household["incomeDropRatio"] is UNKNOWN  # 1 - x / 0: unknown, not infinite
    assert [m["age"] for m in facts.members] == [17, 61, 2]
    assert [m["disabled"] for m in facts.members] == [False, True, False]
    assert facts.household["perCapitaNetIncome"] == Fraction(20000, 3)
