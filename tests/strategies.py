"""Hypothesis strategies that build households field by field.

Every fact is drawn by its own strategy (values clustered at the shipped policy's thresholds:
the 6,000 yuan line and its multiples, ages 6, 15, 16 and 60, the catastrophic medical
threshold), and optional fields are drawn as present or absent, so a failing example shrinks
to a minimal household (fewest members, defaults, round amounts), not to a random seed.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

from policy.semantics import add_months

AS_OF = date(2024, 6, 1)

SCHOOL_STAGES = ("NONE", "PRESCHOOL", "PRIMARY", "JUNIOR", "SENIOR", "SECONDARY_VOCATIONAL",
                 "HIGHER_VOCATIONAL", "UNDERGRADUATE")
DISABILITY_KINDS = ("VISUAL", "HEARING", "SPEECH", "PHYSICAL", "INTELLECTUAL", "MENTAL",
                    "MULTIPLE")
RELATIONS = ("HEAD", "SPOUSE", "CHILD", "PARENT", "GRANDCHILD", "OTHER")
EMPLOYMENT_STATUSES = ("EMPLOYED", "UNEMPLOYED", "NOT_SEEKING")


def money(*pivots: float, spread: int = 2000) -> st.SearchStrategy[float]:
    """Yuan to the cent: zero, a pivot, a cent either side of one, or near one."""
    near = st.tuples(st.sampled_from(pivots), st.integers(-spread * 100, spread * 100)).map(
        lambda t: max(0.0, round(t[0] + t[1] / 100, 2)))
    edges = st.tuples(st.sampled_from(pivots), st.sampled_from((-0.01, 0.0, 0.01))).map(
        lambda t: max(0.0, round(t[0] + t[1], 2)))
    return st.one_of(st.just(0.0), edges, near)


def birth_date(as_of: date = AS_OF) -> st.SearchStrategy[str]:
    ages = st.sampled_from((35, 0, 3, 6, 7, 14, 15, 16, 17, 59, 60, 70, 100))
    return st.tuples(ages, st.integers(-1, 1), st.integers(0, 364)).map(
        lambda t: min(as_of, date(as_of.year - max(0, t[0] + t[1]), as_of.month, 1)
                      - timedelta(days=t[2])).isoformat())


@st.composite
def members(draw: st.DrawFn, index: int, as_of: date = AS_OF) -> dict[str, Any]:
    m: dict[str, Any] = {"id": f"m{index + 1}", "birthDate": draw(birth_date(as_of))}
    m["relation"] = "HEAD" if index == 0 else draw(st.sampled_from(RELATIONS[1:]))
    for flag in ("tekun", "orphan", "needsLongTermCare", "boarding"):
        if draw(st.booleans()):
            m[flag] = True
    if draw(st.booleans()):
        m["medicallyInsured"] = False
    if draw(st.booleans()):
        m["medicalOutOfPocket"] = draw(money(3000, 9390, 20000, 37560, spread=4000))
    if draw(st.booleans()):
        m["disabilityGrade"] = draw(st.integers(1, 4))
        m["disabilityKind"] = draw(st.sampled_from(DISABILITY_KINDS))
    stage = draw(st.sampled_from(SCHOOL_STAGES))
    if stage != "NONE":
        m["schoolStage"] = stage
    capacity = draw(st.sampled_from(("FULL", "PARTIAL", "NONE")))
    if capacity != "FULL":
        m["laborCapacity"] = capacity
    employment = draw(st.sampled_from(EMPLOYMENT_STATUSES))
    if employment != "EMPLOYED":
        m["employmentStatus"] = employment
    return m


@st.composite
def households(draw: st.DrawFn, as_of: date = AS_OF, max_members: int = 5) -> dict[str, Any]:
    """One household as contract JSON, valid as of ``as_of``, drawn field by field."""
    n = draw(st.integers(1, max_members))
    hh: dict[str, Any] = {"id": "hh-drawn",
                          "members": [draw(members(i, as_of)) for i in range(n)]}
    hh["annualNetIncome"] = draw(money(*(6000.0 * n * k for k in (1, 1.5, 2)), spread=2000 * n))
    for flag in ("povertyAlleviated", "monitored"):
        if draw(st.booleans()):
            hh[flag] = True
    # A dibao household is not a dibao-marginal one: at most one of the two.
    assistance = draw(st.sampled_from((None, "dibao", "dibaoMarginal")))
    if assistance is not None:
        hh[assistance] = True
    if hh.get("monitored") and draw(st.booleans()):
        months = draw(st.sampled_from((6, 1, 5, 7, 12, 30)))
        hh["monitoredSince"] = add_months(as_of, -months).isoformat()
    if draw(st.booleans()):
        hh["previousAnnualNetIncome"] = draw(money(hh["annualNetIncome"] * 2,
                                                   hh["annualNetIncome"], spread=3000))
    for loss in ("disasterLoss", "accidentLoss"):
        if draw(st.booleans()):
            hh[loss] = draw(money(5000, 20000, spread=5000))
    for flag in ("foodAndClothingSecure", "drinkingWaterSafe"):
        if draw(st.booleans()):
            hh[flag] = False
    if draw(st.booleans()):
        hh["temporaryAssistanceLast12Months"] = True
    grade = draw(st.sampled_from("ABCD"))
    if grade != "A":
        hh["housingSafetyGrade"] = grade
    return hh
