"""Generated households for property tests, differential tests and benchmarks.

Values cluster around the shipped policy's thresholds (the 6000 yuan income line, ages 6, 15,
16, the catastrophic medical threshold) so that generated data exercises every branch, and
optional facts are sometimes left out so unknowns are exercised too.

Facts of the catalogue (``fixtures/facts.yaml``) that the hand-tuned part below does not know
are generated from their declaration (a flag or a closed set's value, sometimes left out) with
a second random stream seeded by the household drawn so far, so that adding a fact to the
catalogue leaves every other generated value as it was.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from typing import Any

from policy.fact_catalogue import CATALOGUE, FactScopeName, InputFact
from policy.semantics import add_months

SCHOOL_STAGES = (
    "NONE", "PRESCHOOL", "PRIMARY", "JUNIOR", "SENIOR", "SECONDARY_VOCATIONAL",
    "HIGHER_VOCATIONAL", "UNDERGRADUATE",
)
DISABILITY_KINDS = (
    "VISUAL", "HEARING", "SPEECH", "PHYSICAL", "INTELLECTUAL", "MENTAL", "MULTIPLE",
)
RELATIONS = ("HEAD", "SPOUSE", "CHILD", "PARENT", "GRANDCHILD", "OTHER")


_TUNED = {
    "household": frozenset({
        "id", "regionCode", "povertyAlleviated", "monitored", "monitoredSince", "dibao",
        "dibaoMarginal", "annualNetIncome", "previousAnnualNetIncome", "disasterLoss",
        "accidentLoss", "foodAndClothingSecure", "housingSafetyGrade", "drinkingWaterSafe"}),
    "member": frozenset({
        "id", "relation", "birthDate", "tekun", "orphan", "medicallyInsured",
        "medicalOutOfPocket", "disabilityGrade", "disabilityKind", "needsLongTermCare",
        "schoolStage", "boarding", "laborCapacity"}),
}


def _generic(rng: random.Random, fact: InputFact) -> Any:
    """A value of a fact the hand-tuned generator does not know, or None to leave it out."""
    if fact.type == "bool":
        return (not fact.default) if rng.random() < 0.3 else None
    if fact.type == "enum" and fact.enum is not None:
        return rng.choice(CATALOGUE.values(fact.enum)) if rng.random() < 0.6 else None
    if fact.type == "money":
        return _money(rng, (1000.0, 6000.0, 20000.0), 1000) if rng.random() < 0.3 else None
    lo, hi = fact.bounds.min, fact.bounds.max
    if fact.type == "integer" and lo is not None and hi is not None and rng.random() < 0.3:
        return rng.randint(int(lo), int(hi))
    return None


def _add_generic(obj: dict[str, Any], scope: FactScopeName) -> dict[str, Any]:
    rng = random.Random(json.dumps(obj, sort_keys=True))
    for fact in CATALOGUE.inputs(scope):
        if fact.name not in _TUNED[scope] and not fact.required:
            value = _generic(rng, fact)
            if value is not None:
                obj[fact.name] = value
    return obj


def _money(rng: random.Random, pivots: tuple[float, ...], spread: float) -> float:
    """Often exactly on a pivot, often near one, sometimes anywhere."""
    r = rng.random()
    if r < 0.15:
        return 0.0
    pivot = rng.choice(pivots)
    if r < 0.3:
        return float(pivot)
    if r < 0.85:
        return float(max(0, round(pivot + rng.uniform(-spread, spread))))
    return float(round(rng.uniform(0, pivot * 3)))


def _birth(rng: random.Random, as_of: date) -> date:
    age = rng.choice([0, 3, 5, 6, 7, 10, 14, 15, 16, 17, 18, 22, 35, 45, 59, 60, 70, 85, 100])
    age = min(119, max(0, age + rng.choice([0, 0, 0, -1, 1])))
    days = rng.randint(0, 364)
    born = date(as_of.year - age, as_of.month, 1) - timedelta(days=days)
    return min(born, as_of)


def random_member(rng: random.Random, as_of: date, index: int) -> dict[str, Any]:
    m: dict[str, Any] = {"id": f"m{index + 1}", "birthDate": _birth(rng, as_of).isoformat()}
    m["relation"] = "HEAD" if index == 0 else rng.choice(RELATIONS[1:])
    if rng.random() < 0.1:
        m["tekun"] = True
    if rng.random() < 0.05:
        m["orphan"] = True
    if rng.random() < 0.1:
        m["medicallyInsured"] = False
    if rng.random() < 0.4:
        m["medicalOutOfPocket"] = _money(rng, (3000, 9390, 20000, 37560), 4000)
    if rng.random() < 0.2:
        m["disabilityGrade"] = rng.randint(1, 4)
        m["disabilityKind"] = rng.choice(DISABILITY_KINDS)
    if rng.random() < 0.15:
        m["needsLongTermCare"] = True
    if rng.random() < 0.5:
        m["schoolStage"] = rng.choice(SCHOOL_STAGES)
        if rng.random() < 0.5:
            m["boarding"] = True
    r = rng.random()
    if r < 0.15:
        m["laborCapacity"] = "NONE"
    elif r < 0.3:
        m["laborCapacity"] = "PARTIAL"
    return _add_generic(m, "member")


def random_household(rng: random.Random, as_of: date, hid: str = "hh-gen",
                     members: int | None = None) -> dict[str, Any]:
    """One household as contract JSON, valid as of ``as_of``."""
    n = members if members is not None else rng.choice([1, 1, 2, 3, 3, 4, 4, 5, 5, 6, 8])
    hh: dict[str, Any] = {
        "id": hid,
        "regionCode": rng.choice(["371300-001", "371300-002", "371300-003", "371311-004"]),
        "annualNetIncome": _money(rng, tuple(6000.0 * n * k for k in (1, 1.5)), 2000 * n),
        "members": [random_member(rng, as_of, i) for i in range(n)],
    }
    for flag, p in (("povertyAlleviated", 0.4), ("monitored", 0.2), ("dibao", 0.15),
                    ("dibaoMarginal", 0.1)):
        # A dibao household is not a marginal one (the draw is made all the same, so that the
        # other values stay as they were).
        if rng.random() < p and not (flag == "dibaoMarginal" and hh.get("dibao")):
            hh[flag] = True
    if hh.get("monitored") and rng.random() < 0.8:
        hh["monitoredSince"] = add_months(as_of, -rng.choice([1, 5, 6, 7, 12, 30])).isoformat()
    if rng.random() < 0.7:
        hh["previousAnnualNetIncome"] = _money(rng, (hh["annualNetIncome"] * 2,
                                                     hh["annualNetIncome"]), 3000)
    if rng.random() < 0.1:
        hh["disasterLoss"] = _money(rng, (5000, 20000), 5000)
    if rng.random() < 0.05:
        hh["accidentLoss"] = _money(rng, (5000, 20000), 5000)
    if rng.random() < 0.05:
        hh["foodAndClothingSecure"] = False
    if rng.random() < 0.1:
        hh["housingSafetyGrade"] = rng.choice("ABCD")
    if rng.random() < 0.05:
        hh["drinkingWaterSafe"] = False
    return _add_generic(hh, "household")


AS_OF_DATES = (
    date(2023, 1, 1), date(2023, 6, 30), date(2024, 2, 29), date(2024, 3, 1), date(2024, 8, 31),
    date(2024, 9, 1), date(2025, 2, 28), date(2025, 3, 1), date(2026, 6, 1),
)
