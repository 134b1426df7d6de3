"""Exact numbers (docs/decisions/0006-exact-numbers.md): every threshold of the shipped rule sets
hit exactly by sums and quotients of cent amounts, checked on every backend against values
computed with ``fractions.Fraction``: the interactive engine (statuses, amounts and the
explanation's printed values), durable_rules' firings, the vectorised batch backend and static
validation."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from engine.batch import evaluator_for
from engine.batch.records import frames_of
from engine.determine import determine
from engine.evaluator import fire_all, load, trace_rules
from engine.results import Determination, Outcome
from policy.catalog import Catalog
from policy.exact import fmt, round_half_up
from policy.facts import derive, parse_household
from policy.validation import interval, validate_data
from services.rulesets import document_files, load_file
from tests.unit.test_validation import base, rule

AS_OF = date(2024, 6, 30)
INCOME_LINE = Fraction(6000)
HARDSHIP_BAND = Fraction(3, 2)
SHARP_DROP = Fraction(1, 2)
CATASTROPHIC = Fraction(37560)
TIERS = {  # ratio, cap, deductible (medical_relief v1)
    "medical.tier1": (Fraction(4, 5), 50000, 0),
    "medical.tier2": (Fraction(3, 4), 30000, 0),
    "medical.tier3": (Fraction(3, 5), 20000, 3000),
    "medical.tier4": (Fraction(1, 2), 20000, 9390),
}


def F(x: float | int) -> Fraction:
    """The amount as written (the JSON number's shortest decimal form)."""
    return Fraction(repr(x)) if isinstance(x, float) else Fraction(x)


def member(i: int, medical: float = 0, **kw: Any) -> dict[str, Any]:
    return {"id": f"m{i}", "birthDate": "1980-01-01", "medicalOutOfPocket": medical, **kw}


def household(hid: str, members: list[dict[str, Any]], **facts: Any) -> dict[str, Any]:
    return {"id": hid, **facts, "members": members}


# --- the reference, in fractions.Fraction ----------------------------------------------------


def sudden_hardship(hh: dict[str, Any]) -> str:
    size = len(hh["members"])
    income = F(hh.get("annualNetIncome", 0))
    rigid = (sum((F(m.get("medicalOutOfPocket", 0)) for m in hh["members"]), Fraction(0))
             + F(hh.get("disasterLoss", 0)) + F(hh.get("accidentLoss", 0)))
    per_capita = income / size
    after_rigid = (income - rigid) / size
    prev = hh.get("previousAnnualNetIncome")
    drop = 1 - income / F(prev) if prev else None  # unknown without a previous income
    if per_capita < INCOME_LINE or after_rigid < INCOME_LINE:
        return "NOT_GRANTED" if per_capita < INCOME_LINE else "GRANTED"
    if per_capita >= HARDSHIP_BAND * INCOME_LINE:
        return "NOT_GRANTED"
    if drop is None:
        return "UNDETERMINED"
    return "GRANTED" if drop >= SHARP_DROP else "NOT_GRANTED"


def low_income(hh: dict[str, Any]) -> bool:
    return F(hh.get("annualNetIncome", 0)) / len(hh["members"]) < INCOME_LINE


def own_tiers(hh: dict[str, Any], m: dict[str, Any]) -> list[str]:
    """The tiers whose own condition holds for a member (before priorities)."""
    total = sum((F(x.get("medicalOutOfPocket", 0)) for x in hh["members"]), Fraction(0))
    return [code for code, holds in (
        ("medical.tier1", bool(m.get("tekun") or m.get("orphan"))),
        ("medical.tier2", bool(hh.get("dibao"))),
        ("medical.tier3", bool(hh.get("dibaoMarginal") or hh.get("monitored"))),
        ("medical.tier4", F(m.get("medicalOutOfPocket", 0)) > 0 and total > CATASTROPHIC),
    ) if holds]


def tier_of(hh: dict[str, Any], m: dict[str, Any]) -> str | None:
    return next(iter(own_tiers(hh, m)), None)


def relief(code: str, medical: Fraction) -> Fraction:
    """``round(min(cap, max(0, x - deductible) * ratio), 2)``, half up, in fractions."""
    ratio, cap, deductible = TIERS[code]
    exact = min(Fraction(cap), max(Fraction(0), medical - deductible) * ratio)
    cents = exact * 100
    whole = int(cents)  # exact is never negative here
    if cents - whole >= Fraction(1, 2):
        whole += 1
    return Fraction(whole, 100)


# --- the boundary households -------------------------------------------------------------------

MONITORING: list[dict[str, Any]] = [
    # The issue's household: perCapitaIncomeAfterRigid is exactly 6000.00 (not < incomeLine).
    household("fp", [member(1)], annualNetIncome=11495.21, accidentLoss=5495.21,
              previousAnnualNetIncome=11495.21),
    household("fp-below", [member(1)], annualNetIncome=11495.21, accidentLoss=5495.22,
              previousAnnualNetIncome=11495.21),
    # Per-capita lines: sums of cents divided by the household's size.
    household("pc-eq-3", [member(i) for i in range(3)], annualNetIncome=18000.00),
    household("pc-above-3", [member(i) for i in range(3)], annualNetIncome=18000.01),
    household("pc-below-3", [member(i) for i in range(3)], annualNetIncome=17999.99),
    household("pc-eq-7", [member(i) for i in range(7)], annualNetIncome=42000.0),
    household("pc-above-7", [member(i) for i in range(7)], annualNetIncome=42000.01),
    # After-rigid line with the rigid expenses split over members in cents.
    household("ar-eq-3", [member(0, 4000.01), member(1, 4000.01), member(2, 4000.01)],
              annualNetIncome=30000.03, previousAnnualNetIncome=30000.03),
    household("ar-below-3", [member(0, 4000.01), member(1, 4000.01), member(2, 4000.02)],
              annualNetIncome=30000.03, previousAnnualNetIncome=30000.03),
    household("ar-mixed", [member(0, 0.1), member(1, 0.2)], annualNetIncome=12000.3,
              disasterLoss=0.3, accidentLoss=0.1, previousAnnualNetIncome=12000.3),
    # Drop ratios: 1 - income / previous exactly one half.
    household("drop-eq", [member(1)], annualNetIncome=8000.01, previousAnnualNetIncome=16000.02),
    household("drop-below", [member(1)], annualNetIncome=8000.01,
              previousAnnualNetIncome=16000.01),
    household("drop-third", [member(0), member(1), member(2)], annualNetIncome=20000.0,
              previousAnnualNetIncome=40000.0),
    household("third-cent", [member(0), member(1), member(2)], annualNetIncome=18000.01,
              accidentLoss=0.01, previousAnnualNetIncome=36000.02),
    # The hardship band: per capita exactly 1.5 * incomeLine.
    household("band-eq", [member(0), member(1)], annualNetIncome=18000.0,
              previousAnnualNetIncome=36000.0),
    household("band-below", [member(0), member(1)], annualNetIncome=17999.99,
              previousAnnualNetIncome=36000.0),
]

MEDICAL: list[dict[str, Any]] = [
    # The issue's household: tier 2's exact relief 25000.005 rounds half up to 25000.01.
    household("r2", [member(1, 33333.34, birthDate="1960-01-01")], dibao=True),
    household("r2-tie-small", [member(1, 0.02)], dibao=True),  # 0.015 -> 0.02
    household("r2-cap-eq", [member(1, 40000.0)], dibao=True),
    household("r2-cap-above", [member(1, 40000.01)], dibao=True),
    household("r2-cap-below", [member(1, 39999.99)], dibao=True),
    # Tier 4 ties (ratio 0.5 on an odd number of cents) and the catastrophic threshold.
    household("r4-tie", [member(1, 40000.01)]),
    household("cat-eq", [member(0, 12520.01), member(1, 12519.99), member(2, 12520.0)]),
    household("cat-above", [member(0, 12520.01), member(1, 12519.99), member(2, 12520.01)]),
    household("cat-tenths", [member(0, 37559.9), member(1, 0.1)]),
    household("cat-tenths-above", [member(0, 37559.9), member(1, 0.11)]),
    household("r1-cap", [member(1, 62500.0, tekun=True), member(2, 62500.01, orphan=True)]),
    household("r3", [member(1, 3000.01), member(2, 36333.34)], monitored=True),
]


def outcome(det: Determination, code: str, member_id: str | None = None) -> Outcome:
    (found,) = [o for o in det.outcomes() if o.code == code and o.member_id == member_id]
    return found


@pytest.fixture(scope="module")
def versions(catalog: Catalog) -> Any:
    return catalog.in_force(AS_OF, ["monitoring", "medical_relief"])


def expected(hh: dict[str, Any]) -> dict[tuple[str, str | None], tuple[str, float | None]]:
    """(status, amount) per (code, member) of what these tests check, from the reference."""
    out: dict[tuple[str, str | None], tuple[str, float | None]] = {
        ("monitoring.sudden_hardship", None): (sudden_hardship(hh), None),
        ("monitoring.marginal_at_risk", None):
            ("GRANTED" if low_income(hh) else "NOT_GRANTED", None),
    }
    for m in hh["members"]:
        granted = tier_of(hh, m)
        for code in TIERS:
            if code == granted:
                estimated = relief(code, F(m.get("medicalOutOfPocket", 0)))
                out[(code, m["id"])] = ("GRANTED", float(estimated))
            else:
                out[(code, m["id"])] = ("NOT_GRANTED", None)
    return out


def estimated_relief(o: Outcome) -> float | None:
    return next((t.value for t in o.terms if t.key == "estimatedRelief"), None)


CASES = MONITORING + MEDICAL


def test_the_issues_two_households(versions: Any) -> None:
    fp, r2 = CASES[0], MEDICAL[0]
    det = determine(fp, AS_OF, versions)
    sudden = outcome(det, "monitoring.sudden_hardship")
    assert sudden.status.value == "NOT_GRANTED"
    assert not det.flagged_for_monitoring
    (check,) = [c for c in sudden.reasons[0].conditions
                if c.expression == "perCapitaIncomeAfterRigid < incomeLine"]
    assert (check.actual, check.expected, check.passed) == ("6000.00", "< 6000.00", False)
    tier2 = outcome(determine(r2, AS_OF, versions), "medical.tier2", "m1")
    assert tier2.status.value == "GRANTED" and estimated_relief(tier2) == 25000.01


@pytest.mark.parametrize("hh", CASES, ids=lambda h: h["id"])
def test_interactive_engine_and_durable_rules_agree_with_fractions(hh: dict[str, Any],
                                                                   versions: Any) -> None:
    det = determine(hh, AS_OF, versions)  # durable_rules fires; a disagreement would raise
    for (code, mid), (status, amount) in expected(hh).items():
        o = outcome(det, code, mid)
        assert o.status.value == status, (code, mid)
        if code.startswith("medical."):
            assert estimated_relief(o) == amount, (code, mid)
    # durable_rules' own firings, apart from the condition tree: exactly the granted rules.
    facts = derive(parse_household(hh, AS_OF), AS_OF)
    programs = [p for p, _ in versions]
    for program, verdicts in zip(programs, fire_all(load(*programs), facts), strict=True):
        tree = trace_rules(program, facts)
        fired = {(i, None) for i in verdicts.household}
        fired |= {(i, m) for m, rules in enumerate(verdicts.members) for i in rules}
        assert fired == {k for k, t in tree.items() if t[0] is True}
        for i, r in enumerate(program.rules):
            if r.id == "sudden_hardship":
                assert ((i, None) in fired) == (sudden_hardship(hh) == "GRANTED")
            elif r.id == "marginal_at_risk":
                assert ((i, None) in fired) == low_income(hh)
            elif r.id in TIERS:
                for k, m in enumerate(hh["members"]):
                    assert ((i, k) in fired) == (r.id in own_tiers(hh, m)), (r.id, k)


def test_batch_backend_agrees_with_fractions(versions: Any) -> None:
    evaluator = evaluator_for(versions, AS_OF)
    table = evaluator.as_polars(evaluator.evaluate(*frames_of(CASES, AS_OF)).outcomes)
    got = {(r["household_id"], r["code"], r["member_id"]): r
           for r in table.iter_rows(named=True)}
    for hh in CASES:
        for (code, mid), (status, amount) in expected(hh).items():
            row = got[(hh["id"], code, mid)]
            assert row["status"] == status, (hh["id"], code, mid)
            if code.startswith("medical.") and status == "GRANTED":
                terms = {t["key"]: t["value"] for t in json.loads(row["terms"])}
                assert terms["estimatedRelief"] == amount, (hh["id"], code, mid)


def test_explanations_print_exact_values(versions: Any) -> None:
    det = determine(MONITORING[12], AS_OF, versions)  # drop-third: 20000.01 / 3 per person
    checks = {c.expression: c for r in outcome(det, "monitoring.sudden_hardship").reasons
              for c in r.conditions}
    assert checks["perCapitaNetIncome >= incomeLine"].actual == "20000/3 (≈6666.67)"
    assert checks["incomeDropRatio >= sharpDropRatio"].actual == "0.5"
    assert checks["perCapitaNetIncome < hardshipBand * incomeLine"].expected == "< 9000.00"
    assert fmt(Decimal("0.30"), money=False) == "0.3"
    assert round_half_up(Fraction(2500000500, 100000), 2) == Decimal("25000.01")


def test_static_validation_is_exact() -> None:
    # Amount ranges: the tier-2 relief's interval, computed exactly.
    path = next(p for p in document_files() if "medical_relief" in str(p))
    program = load_file(path)
    (tier2,) = [r for r in program.rules if r.id == "medical.tier2"]
    (estimated,) = [t for t in tier2.terms if t.key == "estimatedRelief"]
    assert interval(estimated.expr, program.parameters) == (0, 30000)
    # Tiers split at 0.1 + 0.2 and at 0.3 neither overlap nor leave a gap: in doubles
    # 0.1 + 0.2 is 0.30000000000000004 and both tiers would apply at 0.3.
    data = base()
    split: Callable[[str, str], dict[str, Any]] = lambda rid, cond: {  # noqa: E731
        **copy.deepcopy(rule(data, "subsidy.boarding")), "id": rid, "per": "household",
        "condition": cond}
    data["rules"][1:] = [split("subsidy.low", "incomeDropRatio < 0.1 + 0.2"),
                         {**split("subsidy.high", "incomeDropRatio >= 0.3"), "priority": 2}]
    found = {i.code for i in validate_data(data)}
    assert not found & {"TIER_OVERLAP", "TIER_GAP", "TIER_UNREACHABLE"}, found
