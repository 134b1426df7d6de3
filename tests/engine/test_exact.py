"""Exact numbers (docs/decisions/0006-exact-numbers.md): every threshold of the shipped rule sets
(the seven programs and early warning)
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
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- the other programs: monitoring's other categories and risk elimination, temporary
# assistance (programs 5), employment (6), housing (7) -----------------------------------------

TA_CAP = Fraction(20000)
TA_STANDARD = Fraction(600)
MIN_AGE, MAX_AGE = 16, 60


def _sums(hh: dict[str, Any]) -> tuple[Fraction, Fraction, Fraction, Fraction | None]:
    """(per capita, rigid expenses, per capita after rigid, drop ratio or None) in fractions."""
    size = len(hh["members"])
    income = F(hh.get("annualNetIncome", 0))
    rigid = (sum((F(m.get("medicalOutOfPocket", 0)) for m in hh["members"]), Fraction(0))
             + F(hh.get("disasterLoss", 0)) + F(hh.get("accidentLoss", 0)))
    prev = hh.get("previousAnnualNetIncome")
    drop = 1 - income / F(prev) if prev else None
    return income / size, rigid, (income - rigid) / size, drop


def _age(born: str) -> int:
    b = date.fromisoformat(born)
    return AS_OF.year - b.year - ((AS_OF.month, AS_OF.day) < (b.month, b.day))


def temporary(hh: dict[str, Any]) -> dict[tuple[str, str | None], tuple[str, float | None]]:
    """Programme 5: emergency first, then ordinary (an exclusive group), with their amounts."""
    per_capita, rigid, after_rigid, drop = _sums(hh)
    size = len(hh["members"])
    fresh = not hh.get("temporaryAssistanceLast12Months")
    emergency = fresh and rigid > 0 and after_rigid < INCOME_LINE
    out: dict[tuple[str, str | None], tuple[str, float | None]] = {
        ("temporary_assistance.emergency", None):
            ("GRANTED", float(min(TA_CAP, 6 * TA_STANDARD * size))) if emergency
            else ("NOT_GRANTED", None)}
    others = fresh and per_capita < HARDSHIP_BAND * INCOME_LINE
    if emergency or not others or (drop is not None and drop < SHARP_DROP):
        ordinary: tuple[str, float | None] = ("NOT_GRANTED", None)
    elif drop is None:
        ordinary = ("UNDETERMINED", None)
    else:
        ordinary = ("GRANTED", float(min(TA_CAP, 3 * TA_STANDARD * size)))
    out[("temporary_assistance.ordinary", None)] = ordinary
    return out


def temporary_own(hh: dict[str, Any]) -> dict[str, bool]:
    """Whether each rule's own condition holds (what durable_rules fires, before priorities)."""
    per_capita, rigid, after_rigid, drop = _sums(hh)
    fresh = not hh.get("temporaryAssistanceLast12Months")
    return {"temporary_assistance.emergency": fresh and rigid > 0 and after_rigid < INCOME_LINE,
            "temporary_assistance.ordinary": fresh and drop is not None and drop >= SHARP_DROP
            and per_capita < HARDSHIP_BAND * INCOME_LINE}


def employment(hh: dict[str, Any]) -> dict[tuple[str, str | None], tuple[str, float | None]]:
    eligible_household = bool(hh.get("povertyAlleviated") or hh.get("monitored"))
    out: dict[tuple[str, str | None], tuple[str, float | None]] = {}
    for m in hh["members"]:
        holds = (eligible_household and MIN_AGE <= _age(m["birthDate"]) <= MAX_AGE
                 and m.get("laborCapacity", "FULL") in ("FULL", "PARTIAL")
                 and m.get("employmentStatus") == "UNEMPLOYED"
                 and m.get("schoolStage", "NONE") == "NONE")
        out[("employment.public_welfare_job", m["id"])] = (
            ("GRANTED", 500.0) if holds else ("NOT_GRANTED", None))
    return out


def housing(hh: dict[str, Any]) -> dict[tuple[str, str | None], tuple[str, float | None]]:
    low = bool(hh.get("povertyAlleviated") or hh.get("monitored") or hh.get("dibao")
               or hh.get("dibaoMarginal") or any(m.get("tekun") for m in hh["members"]))
    grade = hh.get("housingSafetyGrade", "A")
    return {("housing.repair", None): ("GRANTED", 10000.0) if low and grade == "C"
            else ("NOT_GRANTED", None),
            ("housing.rebuild", None): ("GRANTED", 35000.0) if low and grade == "D"
            else ("NOT_GRANTED", None)}


def categories(hh: dict[str, Any]) -> dict[tuple[str, str | None], tuple[str, float | None]]:
    """Monitoring's categories and risk elimination (risk items are all clear here)."""
    per_capita, _, after_rigid, _ = _sums(hh)
    low = per_capita < INCOME_LINE
    alleviated = bool(hh.get("povertyAlleviated"))
    sudden = sudden_hardship(hh)
    flagged = low or sudden == "GRANTED"
    since = hh.get("monitoredSince")
    long_enough = since is not None and date.fromisoformat(since) <= date(2023, 12, 30)
    can_work = any(_age(m["birthDate"]) >= 16 and m.get("laborCapacity", "FULL") != "NONE"
                   for m in hh["members"])
    if not (hh.get("monitored") and long_enough and per_capita >= INCOME_LINE
            and after_rigid >= INCOME_LINE and can_work) or flagged:
        elimination = "NOT_GRANTED"
    else:
        elimination = "UNDETERMINED" if sudden == "UNDETERMINED" else "GRANTED"
    def status(b: bool) -> tuple[str, None]:
        return ("GRANTED" if b else "NOT_GRANTED", None)
    return {("monitoring.unstable_alleviated", None): status(alleviated and low),
            ("monitoring.marginal_at_risk", None): status(not alleviated and low),
            ("monitoring.sudden_hardship", None): (sudden, None),
            ("monitoring.risk_elimination", None): (elimination, None)}


SINCE = "2023-12-30"  # six calendar months before AS_OF


def adults(n: int, *amounts: float, **kw: Any) -> list[dict[str, Any]]:
    out = [member(i, **kw) for i in range(n)]
    for m, amount in zip(out, amounts, strict=False):
        m["medicalOutOfPocket"] = amount
    return out


def born(age: int, days_later: int = 0) -> str:
    from datetime import timedelta
    return (date(AS_OF.year - age, AS_OF.month, AS_OF.day) + timedelta(days=days_later)
            ).isoformat()


def worker(i: int, birth: str, **kw: Any) -> dict[str, Any]:
    return {"id": f"w{i}", "birthDate": birth, "employmentStatus": "UNEMPLOYED", **kw}


TEMPORARY: list[dict[str, Any]] = [
    # Emergency: rigid > 0 (one fen is enough) and after-rigid per capita < incomeLine.
    household("ta-fen", adults(1, 0.01)),
    household("ta-none", adults(1)),
    household("ta-after-eq", adults(1), annualNetIncome=11495.21, accidentLoss=5495.21,
              previousAnnualNetIncome=11495.21),
    household("ta-after-below", adults(1), annualNetIncome=11495.21, accidentLoss=5495.22,
              previousAnnualNetIncome=11495.21),
    household("ta-after-3", adults(3, 4000.01, 4000.01, 4000.02), annualNetIncome=30000.03),
    household("ta-after-3-eq", adults(3, 4000.01, 4000.01, 4000.01), annualNetIncome=30000.03),
    household("ta-cap-5", adults(5, 0.01)),     # 6 x 600 x 5 = 18000 (under the cap)
    household("ta-cap-6", adults(6, 0.01)),     # 21600, capped at 20000
    household("ta-already", adults(1, 0.01), temporaryAssistanceLast12Months=True),
    # Ordinary: the drop ratio at one half, the per-capita band at 1.5 x incomeLine.
    household("ta-drop-eq", adults(1), annualNetIncome=8000.01, previousAnnualNetIncome=16000.02),
    household("ta-drop-below", adults(1), annualNetIncome=8000.01,
              previousAnnualNetIncome=16000.01),
    household("ta-band-eq", adults(2), annualNetIncome=18000.0, previousAnnualNetIncome=36000.0),
    household("ta-band-below", adults(2), annualNetIncome=17999.99,
              previousAnnualNetIncome=36000.0),
    household("ta-band-3", adults(3), annualNetIncome=26999.99, previousAnnualNetIncome=53999.98),
    household("ta-unknown", adults(2), annualNetIncome=17999.99),
    household("ta-cap-12", adults(12), annualNetIncome=3, previousAnnualNetIncome=6),  # 21600
]

EMPLOYMENT: list[dict[str, Any]] = [
    household("job-ages", [worker(0, born(16)), worker(1, born(16, 1)), worker(2, born(60)),
                           worker(3, born(61, 1)), worker(4, born(61)),
                           worker(5, born(30), laborCapacity="PARTIAL"),
                           worker(6, born(30), laborCapacity="NONE"),
                           worker(7, born(30), employmentStatus="NOT_SEEKING"),
                           worker(8, born(17), schoolStage="SENIOR")],
              povertyAlleviated=True),
    household("job-monitored", [worker(0, born(16))], monitored=True),
    household("job-neither", [worker(0, born(40))], dibao=True),
]

HOUSING: list[dict[str, Any]] = [
    household(f"house-{grade}-{who}", [member(0, tekun=(who == "tekun"))],
              housingSafetyGrade=grade, **({} if who in ("none", "tekun") else {who: True}))
    for grade in "ABCD"
    for who in ("povertyAlleviated", "monitored", "dibao", "dibaoMarginal", "tekun", "none")
]

ELIMINATION: list[dict[str, Any]] = [
    # Per capita and after-rigid per capita exactly at incomeLine (>=): eliminable.
    household("el-eq", adults(2), annualNetIncome=12000.0, previousAnnualNetIncome=12000.0,
              monitored=True, monitoredSince=SINCE),
    household("el-below", adults(2), annualNetIncome=11999.99, previousAnnualNetIncome=12000.0,
              monitored=True, monitoredSince=SINCE),
    household("el-after-eq", adults(2, 0.01, 0.01), annualNetIncome=12000.02,
              previousAnnualNetIncome=12000.02, monitored=True, monitoredSince=SINCE),
    household("el-after-below", adults(2, 0.02, 0.01), annualNetIncome=12000.02,
              previousAnnualNetIncome=12000.02, monitored=True, monitoredSince=SINCE),
    household("el-thirds", adults(3, 0.01), annualNetIncome=18000.01,
              previousAnnualNetIncome=18000.01, monitored=True, monitoredSince=SINCE),
    household("el-short", adults(2), annualNetIncome=12000.0, previousAnnualNetIncome=12000.0,
              monitored=True, monitoredSince="2023-12-31"),
    household("el-open", adults(2), annualNetIncome=12000.0, monitored=True,
              monitoredSince=SINCE),  # sudden hardship undetermined: so is elimination
    household("pa-eq-3", adults(3), annualNetIncome=18000.0, povertyAlleviated=True,
              previousAnnualNetIncome=18000.0),
    household("pa-below-3", adults(3), annualNetIncome=17999.99, povertyAlleviated=True),
]

MORE = {"temporary_assistance": (TEMPORARY, temporary), "employment": (EMPLOYMENT, employment),
        "housing": (HOUSING, housing), "monitoring": (ELIMINATION, categories)}
MORE_CASES = [(program, hh) for program, (cases, _) in MORE.items() for hh in cases]


@pytest.fixture(scope="module")
def all_versions(catalog: Catalog) -> Any:
    return catalog.in_force(AS_OF, list(MORE))


def _statuses_are_varied() -> None:
    for program, (cases, reference) in MORE.items():
        seen = {s for hh in cases for s, _ in reference(hh).values()}
        assert {"GRANTED", "NOT_GRANTED"} <= seen, program


def test_the_other_programs_boundaries_give_both_answers() -> None:
    _statuses_are_varied()
    assert temporary(TEMPORARY[7])[("temporary_assistance.emergency", None)] == (
        "GRANTED", 20000.0)
    assert temporary(TEMPORARY[-2])[("temporary_assistance.ordinary", None)][0] == "UNDETERMINED"
    assert categories(ELIMINATION[-3])[("monitoring.risk_elimination", None)][0] == \
        "UNDETERMINED"


@pytest.mark.parametrize(("program", "hh"), MORE_CASES, ids=lambda x: x if isinstance(x, str)
                         else x["id"])
def test_other_programs_interactive_and_durable_agree_with_fractions(
        program: str, hh: dict[str, Any], all_versions: Any) -> None:
    det = determine(hh, AS_OF, all_versions)  # durable_rules fires; a disagreement would raise
    for (code, mid), (status, amount) in MORE[program][1](hh).items():
        o = outcome(det, code, mid)
        assert (o.status.value, o.amount) == (status, amount), (code, mid)
    facts = derive(parse_household(hh, AS_OF), AS_OF)
    programs = [p for p, _ in all_versions]
    for p, verdicts in zip(programs, fire_all(load(*programs), facts), strict=True):
        tree = trace_rules(p, facts)
        fired = {(i, None) for i in verdicts.household}
        fired |= {(i, m) for m, rules in enumerate(verdicts.members) for i in rules}
        assert fired == {k for k, t in tree.items() if t[0] is True}
        if p.code == "temporary_assistance":
            own = temporary_own(hh)
            for i, r in enumerate(p.rules):
                assert ((i, None) in fired) == own[r.id], r.id


def test_other_programs_batch_backend_agrees_with_fractions(all_versions: Any) -> None:
    evaluator = evaluator_for(all_versions, AS_OF)
    households = [hh for _, hh in MORE_CASES]
    table = evaluator.as_polars(evaluator.evaluate(*frames_of(households, AS_OF)).outcomes)
    got = {(r["household_id"], r["code"], r["member_id"]): r
           for r in table.iter_rows(named=True)}
    for program, hh in MORE_CASES:
        for (code, mid), (status, amount) in MORE[program][1](hh).items():
            row = got[(hh["id"], code, mid)]
            assert (row["status"], row["amount"]) == (status, amount), (hh["id"], code, mid)


def test_other_programs_explanations_print_exact_values(all_versions: Any) -> None:
    det = determine(TEMPORARY[4], AS_OF, all_versions)  # (30000.03 - 12000.04) / 3
    checks = {c.expression: c for r in outcome(det, "temporary_assistance.emergency").reasons
              for c in r.conditions}
    check = checks["perCapitaIncomeAfterRigid < incomeLine"]
    # 5999.99666...: the fraction is the exact value; to the cent it would print as 6000.00.
    assert (check.actual, check.expected, check.passed) == (
        "1799999/300 (≈6000.00)", "< 6000.00", True)
    det = determine(ELIMINATION[2], AS_OF, all_versions)  # (12000.02 - 0.02) / 2
    checks = {c.expression: c for r in outcome(det, "monitoring.risk_elimination").reasons
              for c in r.conditions}
    assert checks["perCapitaIncomeAfterRigid >= incomeLine"].actual == "6000.00"


# --- early warning: the large-expense lines (one event, or summed over the window) and the
# income-drop ratio, hit exactly by cent amounts -------------------------------------------------

AT_RISK_LINE, OTHER_LINE = Fraction(5000), Fraction(20000)


def _event(i: int, kind: str, amount: float, day: str, **kw: Any) -> dict[str, Any]:
    return {"source": "医保", "eventId": f"e{i}", "kind": kind, "householdId": "ew",
            "occurredOn": day, "amount": amount, **kw}


def _inpatient(i: int, amount: float, day: str = "2024-06-30") -> dict[str, Any]:
    return _event(i, "INPATIENT_COST", amount, day, memberId="m0")


WARNING_CASES: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = [
    ("at-risk-one-eq", {"povertyAlleviated": True}, [_inpatient(0, 5000.0)]),
    ("at-risk-one-below", {"povertyAlleviated": True}, [_inpatient(0, 4999.99)]),
    ("at-risk-sum-eq", {"monitored": True},
     [_inpatient(0, 2500.01, "2023-07-02"), _inpatient(1, 2499.99)]),  # 364 days apart
    ("at-risk-sum-below", {"monitored": True},
     [_inpatient(0, 2500.01, "2023-07-02"), _inpatient(1, 2499.98)]),
    ("at-risk-sum-outside", {"monitored": True},
     [_inpatient(0, 2500.01, "2023-07-01"), _inpatient(1, 2499.99)]),  # 365 days apart
    ("other-sum-eq", {}, [_inpatient(0, 0.1), _inpatient(1, 0.2), _inpatient(2, 19999.7)]),
    ("other-sum-below", {}, [_inpatient(0, 0.1), _inpatient(1, 0.2), _inpatient(2, 19999.69)]),
    ("other-under-at-risk-line", {}, [_inpatient(0, 5000.0)]),
    ("drop-eq", {"annualNetIncome": 16000.02},
     [_event(0, "INCOME_REPORTED", 8000.01, "2024-06-30")]),
    ("drop-below", {"annualNetIncome": 16000.01},
     [_event(0, "INCOME_REPORTED", 8000.01, "2024-06-30")]),
    ("drop-thirds", {"annualNetIncome": 0.03},
     [_event(0, "INCOME_REPORTED", 0.01, "2024-06-30")]),  # 1 - 1/3
]


def warning_reference(facts: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, str]:
    at_risk = bool(facts.get("povertyAlleviated") or facts.get("monitored"))
    last = date(2024, 6, 30)
    large = drop = False
    for e in events:
        amount = F(e["amount"])
        if e["kind"] == "INPATIENT_COST":
            window = sum((F(x["amount"]) for x in events if x["kind"] == "INPATIENT_COST"
                          and 0 <= (date.fromisoformat(e["occurredOn"])
                                    - date.fromisoformat(x["occurredOn"])).days < 365),
                         Fraction(0))
            line = AT_RISK_LINE if at_risk else OTHER_LINE
            large |= amount >= line or window >= line
        else:
            drop |= 1 - amount / F(facts["annualNetIncome"]) >= SHARP_DROP
    assert date.fromisoformat(max(e["occurredOn"] for e in events)) == last
    return {"alert.large_medical_expense": "GRANTED" if large else "NOT_GRANTED",
            "alert.income_drop": "GRANTED" if drop else "NOT_GRANTED"}


@pytest.mark.parametrize(("name", "facts", "events"), WARNING_CASES,
                         ids=[c[0] for c in WARNING_CASES])
def test_early_warning_lines_agree_with_fractions(name: str, facts: dict[str, Any],
                                                  events: list[dict[str, Any]]) -> None:
    from engine.testcases import draft_ref
    from engine.warning import determine_events, parse_case_events
    from services.rulesets import RULESETS

    program = load_file(RULESETS / "early_warning" / "v1.yaml")
    ref = draft_ref(program, "PUBLISHED")
    hh = household("ew", [member(0)], **facts)
    # Each event is evaluated with the others as its window; durable_rules fires on every
    # one, checked against the condition tree.
    det = determine_events(program, ref, hh, parse_case_events(events, AS_OF), AS_OF)
    got = {o.code: o.status.value for o in det.outcomes()}
    for code, status in warning_reference(facts, events).items():
        assert got[code] == status, code


def test_early_warning_cases_give_both_answers() -> None:
    answers = [warning_reference(f, e) for _, f, e in WARNING_CASES]
    for code in ("alert.large_medical_expense", "alert.income_drop"):
        assert {a[code] for a in answers} == {"GRANTED", "NOT_GRANTED"}, code
    assert [a["alert.large_medical_expense"] for a in answers[:5]] == [
        "GRANTED", "NOT_GRANTED", "GRANTED", "NOT_GRANTED", "NOT_GRANTED"]


_NUMBERS = st.one_of(
    st.integers(-10**6, 10**6),
    st.builds(lambda n, places: Decimal(n).scaleb(-places), st.integers(-10**12, 10**12),
              st.integers(0, 4)),
    st.builds(Fraction, st.integers(-1000, 1000), st.integers(1, 60)),
    st.sampled_from([Decimal("0.3"), Decimal("-0.0"), Decimal("7E+3"), Decimal("3E-70"),
                     Decimal("1E+60"), 3, 7, 64, 125]),
)


@settings(max_examples=2000, deadline=None)
@given(_NUMBERS, _NUMBERS)
def test_a_quotient_is_exact_and_a_decimal_exactly_when_it_terminates(x: Any, y: Any) -> None:
    from decimal import Context, Inexact, InvalidOperation

    from policy.exact import div

    if y == 0:
        return
    q = div(x, y)
    assert Fraction(q) == Fraction(x) / Fraction(y)
    if type(x) is int and type(y) is int and x % y == 0:
        assert type(q) is int
    elif isinstance(x, Fraction) or isinstance(y, Fraction):
        assert type(q) is (int if Fraction(q).denominator == 1 else Fraction)
    else:
        # A Decimal (with the exponent the exact division gives it) whenever 60 digits hold
        # the quotient exactly, a Fraction otherwise.
        exact = Context(prec=60, traps=[Inexact, InvalidOperation])
        try:
            expected: Any = exact.divide(x, y)
        except Inexact:
            assert type(q) is Fraction
        else:
            assert type(q) is Decimal and str(q) == str(expected)
