"""The shipped policy pinned by hand: for every rule of the shipped rule sets, households just
inside and just outside each of its boundaries, with the status and amount a person computed
from the policy brief (docs: /shared/POLICY_BRIEF.md), not taken from the engine's output.

Each expectation is written out; where an amount follows from a formula, the arithmetic is in a
comment beside it. A boundary moved by one (``<`` for ``<=``, a threshold off by a yuan, a day,
a grade or a year of age) or a rounding rule changed makes a row fail.

Amounts are chosen exact in binary floating point too (whole yuan per person, halves), except
the half-cent ties, which are exact in their shortest decimal form (what the engine rounds).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from engine.determine import determine
from engine.results import Determination, Outcome
from policy.catalog import Catalog

AS_OF = date(2024, 6, 1)
M = "monitoring."
G, N, U = "GRANTED", "NOT_GRANTED", "UNDETERMINED"


def person(mid: str = "m1", born: str = "1970-03-01", **facts: Any) -> dict[str, Any]:
    return {"id": mid, "relation": "HEAD" if mid == "m1" else "OTHER", "birthDate": born,
            **facts}


def couple(income: float, m1: dict[str, Any] | None = None, m2: dict[str, Any] | None = None,
           **facts: Any) -> dict[str, Any]:
    """Two working-age adults (54 and 52 on 2024-06-01, labour FULL) and the household facts."""
    return {"id": "pin", "annualNetIncome": income, **facts,
            "members": [person("m1", "1970-03-01", **(m1 or {})),
                        person("m2", "1972-05-01", **(m2 or {}))]}


def decide(catalog: Catalog, data: dict[str, Any], program: str,
           as_of: date = AS_OF) -> Determination:
    return determine(data, as_of, catalog.in_force(as_of, [program]))


def find(det: Determination, code: str, member: str | None = None) -> Outcome:
    found = [o for o in det.outcomes() if o.code == code and o.member_id == member]
    assert len(found) == 1, (code, member, [(o.code, o.member_id) for o in det.outcomes()])
    return found[0]


def money(value: object) -> Decimal | None:
    """An amount as the exact decimal it stands for (the shortest form of a float)."""
    return None if value is None else Decimal(str(value))


def term(o: Outcome, key: str) -> Decimal | None:
    return money(next((t.value for t in o.terms if t.key == key), None))


# --- Program 1: monitoring -------------------------------------------------------------------

# (id, household, as of, {outcome code: status}, flagged for verification)
MONITORING: list[tuple[str, dict[str, Any], date, dict[str, str], bool]] = [
    # perCapitaNetIncome < incomeLine (6000)
    ("exactly-on-the-line", couple(12000, previousAnnualNetIncome=12000), AS_OF,
     {"marginal_at_risk": N, "unstable_alleviated": N, "sudden_hardship": N}, False),
    ("a-yuan-below-the-line", couple(11998, previousAnnualNetIncome=11998), AS_OF,
     {"marginal_at_risk": G, "unstable_alleviated": N, "sudden_hardship": N}, True),
    ("alleviated-on-the-line",
     couple(12000, previousAnnualNetIncome=12000, povertyAlleviated=True), AS_OF,
     {"unstable_alleviated": N, "marginal_at_risk": N}, False),
    ("alleviated-a-yuan-below",
     couple(11998, previousAnnualNetIncome=11998, povertyAlleviated=True), AS_OF,
     {"unstable_alleviated": G, "marginal_at_risk": N}, True),
    ("one-person-on-the-line", {"id": "pin", "annualNetIncome": 6000,
                                "previousAnnualNetIncome": 6000, "members": [person()]}, AS_OF,
     {"marginal_at_risk": N}, False),
    ("one-person-a-yuan-below", {"id": "pin", "annualNetIncome": 5999,
                                 "previousAnnualNetIncome": 5999, "members": [person()]}, AS_OF,
     {"marginal_at_risk": G}, True),
    # sudden hardship through rigid expenses: (20000 - 8000) / 2 = 6000, not below the line;
    # (20000 - 8002) / 2 = 5999, below it. Medical, disaster and accident costs all count.
    ("rigid-leaves-exactly-the-line",
     couple(20000, {"medicalOutOfPocket": 8000}, previousAnnualNetIncome=20000), AS_OF,
     {"sudden_hardship": N, "marginal_at_risk": N}, False),
    ("rigid-leaves-a-yuan-less",
     couple(20000, {"medicalOutOfPocket": 8002}, previousAnnualNetIncome=20000), AS_OF,
     {"sudden_hardship": G, "marginal_at_risk": N}, True),
    ("rigid-split-over-members",
     couple(20000, {"medicalOutOfPocket": 4001}, {"medicalOutOfPocket": 4001},
            previousAnnualNetIncome=20000), AS_OF, {"sudden_hardship": G}, True),
    ("disaster-loss-counts",
     couple(20000, disasterLoss=8002, previousAnnualNetIncome=20000), AS_OF,
     {"sudden_hardship": G}, True),
    ("accident-loss-counts",
     couple(20000, accidentLoss=8002, previousAnnualNetIncome=20000), AS_OF,
     {"sudden_hardship": G}, True),
    ("losses-add-up-to-exactly-the-line",
     couple(20000, {"medicalOutOfPocket": 3000}, disasterLoss=3000, accidentLoss=2000,
            previousAnnualNetIncome=20000), AS_OF, {"sudden_hardship": N}, False),
    # sudden hardship needs perCapitaNetIncome >= incomeLine: 12000 / 2 = 6000 is in, and the
    # rigid cost of 2 leaves 5999; at 11998 the household is low-income instead.
    ("on-the-line-with-rigid-cost",
     couple(12000, {"medicalOutOfPocket": 2}, previousAnnualNetIncome=12000), AS_OF,
     {"sudden_hardship": G, "marginal_at_risk": N}, True),
    ("below-the-line-with-rigid-cost",
     couple(11998, {"medicalOutOfPocket": 2}, previousAnnualNetIncome=11998), AS_OF,
     {"sudden_hardship": N, "marginal_at_risk": G}, True),
    # sudden hardship through a sharp drop: incomeDropRatio = 1 - 14000 / 28000 = 0.5 meets
    # sharpDropRatio (>=); 1 - 14000 / 27998 < 0.5 does not. 7000 per person < 1.5 x 6000.
    ("drop-exactly-half", couple(14000, previousAnnualNetIncome=28000), AS_OF,
     {"sudden_hardship": G}, True),
    ("drop-just-under-half", couple(14000, previousAnnualNetIncome=27998), AS_OF,
     {"sudden_hardship": N}, False),
    # ... and perCapitaNetIncome < hardshipBand x incomeLine = 9000: 18000 / 2 = 9000 is out,
    # 17998 / 2 = 8999 is in (the drop 1 - 17998 / 36000 is just over a half).
    ("drop-at-the-hardship-band", couple(18000, previousAnnualNetIncome=36000), AS_OF,
     {"sudden_hardship": N}, False),
    ("drop-a-yuan-under-the-band", couple(17998, previousAnnualNetIncome=36000), AS_OF,
     {"sudden_hardship": G}, True),
    # Without a previous income (or with 0, "not recorded") the drop is unknown.
    ("drop-unknown", couple(14000), AS_OF, {"sudden_hardship": U}, False),
    ("previous-income-zero-is-unknown", couple(14000, previousAnnualNetIncome=0), AS_OF,
     {"sudden_hardship": U}, False),
    ("drop-unknown-but-rigid-decides",
     couple(14000, {"medicalOutOfPocket": 2002}), AS_OF, {"sudden_hardship": G}, True),
    ("drop-unknown-above-the-band", couple(18000), AS_OF, {"sudden_hardship": N}, False),
    # Risk items (a household well above every line, so only the item decides).
    ("food-and-clothing-insecure",
     couple(30000, previousAnnualNetIncome=30000, foodAndClothingSecure=False), AS_OF,
     {"risk.food_clothing": G, "risk.housing": N}, True),
    ("housing-grade-c", couple(30000, previousAnnualNetIncome=30000, housingSafetyGrade="C"),
     AS_OF, {"risk.housing": G, "risk.food_clothing": N}, True),
    ("housing-grade-d", couple(30000, previousAnnualNetIncome=30000, housingSafetyGrade="D"),
     AS_OF, {"risk.housing": G}, True),
    ("housing-grade-b", couple(30000, previousAnnualNetIncome=30000, housingSafetyGrade="B"),
     AS_OF, {"risk.housing": N}, False),
    ("drinking-water-unsafe",
     couple(30000, previousAnnualNetIncome=30000, drinkingWaterSafe=False), AS_OF,
     {"risk.drinking_water": G}, True),
    ("a-member-uninsured",
     couple(30000, None, {"medicallyInsured": False}, previousAnnualNetIncome=30000), AS_OF,
     {"risk.medical_insurance": G, "risk.drinking_water": N}, True),
    ("everyone-insured", couple(30000, previousAnnualNetIncome=30000), AS_OF,
     {"risk.medical_insurance": N, "risk.compulsory_education": N, "risk_elimination": N},
     False),
]

# Compulsory education: a member aged 6 to 15 (full years on asOf) with schoolStage NONE.
_CHILD_AGES = [
    ("turns-6-today", "2018-06-01", G), ("6-tomorrow", "2018-06-02", N),
    ("15-until-tomorrow", "2008-06-02", G), ("turns-16-today", "2008-06-01", N),
]
for _name, _born, _status in _CHILD_AGES:
    MONITORING.append((
        f"out-of-school-{_name}",
        {**couple(30000, previousAnnualNetIncome=30000),
         "members": [person(), person("c", _born)]},
        AS_OF, {"risk.compulsory_education": _status}, _status == G))
MONITORING.append((
    "at-school-aged-10",
    {**couple(30000, previousAnnualNetIncome=30000),
     "members": [person(), person("c", "2014-01-01", schoolStage="PRIMARY")]},
    AS_OF, {"risk.compulsory_education": N}, False))


def _eliminable(**changes: Any) -> dict[str, Any]:
    """Monitored since 2023-12-01 (six months before 2024-06-01), 6000 per person before and
    after rigid costs, nothing flagged, two adults who can work: just inside every boundary."""
    facts = {"monitored": True, "monitoredSince": "2023-12-01", "previousAnnualNetIncome": 12000}
    return couple(12000, **{**facts, **changes})


MONITORING += [
    ("elimination-just-inside-every-boundary", _eliminable(), AS_OF,
     {"risk_elimination": G}, False),
    # (A household that is not monitored has no monitoredSince: the two contradict.)
    ("elimination-not-monitored", {k: v for k, v in _eliminable(monitored=False).items()
                                   if k != "monitoredSince"}, AS_OF,
     {"risk_elimination": N}, False),
    ("elimination-a-day-short-of-six-months", _eliminable(monitoredSince="2023-12-02"), AS_OF,
     {"risk_elimination": N}, False),
    # 2024-08-31 minus six months is 2024-02-31, which clamps to 2024-02-29 (a leap year).
    ("elimination-month-end-clamped", _eliminable(monitoredSince="2024-02-29"),
     date(2024, 8, 31), {"risk_elimination": G}, False),
    ("elimination-month-end-a-day-short", _eliminable(monitoredSince="2024-03-01"),
     date(2024, 8, 31), {"risk_elimination": N}, False),
    ("elimination-income-a-yuan-low", {**_eliminable(annualNetIncome=11998)}, AS_OF,
     {"risk_elimination": N, "marginal_at_risk": G}, True),
    ("elimination-rigid-cost-pulls-below",
     {**_eliminable(), "members": [person(medicalOutOfPocket=2), person("m2", "1972-05-01")]},
     AS_OF, {"risk_elimination": N, "sudden_hardship": G}, True),
    ("elimination-blocked-by-a-risk-item", _eliminable(drinkingWaterSafe=False), AS_OF,
     {"risk_elimination": N, "risk.drinking_water": G}, True),
    ("elimination-undetermined-with-the-category", _eliminable(previousAnnualNetIncome=None),
     AS_OF, {"risk_elimination": U, "sudden_hardship": U}, False),
    ("elimination-no-one-can-work",
     {**_eliminable(), "members": [person(laborCapacity="NONE"),
                                   person("m2", "1972-05-01", laborCapacity="NONE")]},
     AS_OF, {"risk_elimination": N}, False),
    ("elimination-partial-labour-counts",
     {**_eliminable(), "members": [person(laborCapacity="PARTIAL"),
                                   person("m2", "1972-05-01", laborCapacity="NONE")]},
     AS_OF, {"risk_elimination": G}, False),
    ("elimination-worker-turns-16-today",
     {**_eliminable(), "members": [person(laborCapacity="NONE"),
                                   person("c", "2008-06-01", schoolStage="SENIOR")]},
     AS_OF, {"risk_elimination": G}, False),
    ("elimination-worker-16-tomorrow",
     {**_eliminable(), "members": [person(laborCapacity="NONE"),
                                   person("c", "2008-06-02", schoolStage="SENIOR")]},
     AS_OF, {"risk_elimination": N}, False),
]


@pytest.mark.parametrize(("household", "as_of", "expected", "flagged"),
                         [pytest.param(*row[1:], id=row[0]) for row in MONITORING])
def test_monitoring(catalog: Catalog, household: dict[str, Any], as_of: date,
                    expected: dict[str, str], flagged: bool) -> None:
    det = decide(catalog, household, "monitoring", as_of)
    got = {code: find(det, M + code).status.value for code in expected}
    assert got == expected
    assert det.flagged_for_monitoring is flagged
    for code in expected:
        o = find(det, M + code)
        assert (o.amount, o.period) == (None, None)  # monitoring outcomes carry no money
        if o.status.value == U:
            assert o.missing_facts == ("previousAnnualNetIncome",)


def test_flagged_by_lists_the_categories_and_risk_items(catalog: Catalog) -> None:
    data = couple(11998, {"medicallyInsured": False}, previousAnnualNetIncome=11998,
                  housingSafetyGrade="D")
    det = decide(catalog, data, "monitoring")
    assert set(det.flagged_by) == {"monitoring.marginal_at_risk", "monitoring.risk.housing",
                                   "monitoring.risk.medical_insurance"}
    assert len(det.flagged_by) == 3


# --- Program 2: medical_relief ---------------------------------------------------------------

TIER_TERMS = {  # premiumSubsidy, deductible, ratio, annualCap (brief, Program 2)
    1: ("350", "0", "0.8", "50000"), 2: ("150", "0", "0.75", "30000"),
    3: ("150", "3000", "0.6", "20000"), 4: ("0", "9390", "0.5", "20000"),
}

# (id, household, member, the tier granted (None: none), estimatedRelief)
MEDICAL: list[tuple[str, dict[str, Any], str, int | None, str | None]] = [
    # Tier 1, tekun or orphan: 0.8 of the cost, capped at 50000.
    ("tier1-tekun-at-the-cap", couple(0, {"tekun": True, "medicalOutOfPocket": 62500}),
     "m1", 1, "50000"),                                 # 62500 x 0.8 = 50000
    ("tier1-tekun-a-yuan-under-the-cap", couple(0, {"tekun": True, "medicalOutOfPocket": 62499}),
     "m1", 1, "49999.2"),                               # 62499 x 0.8
    ("tier1-tekun-over-the-cap", couple(0, {"tekun": True, "medicalOutOfPocket": 70000}),
     "m1", 1, "50000"),                                 # min(50000, 56000)
    ("tier1-orphan", couple(0, {"orphan": True, "medicalOutOfPocket": 1000}), "m1", 1, "800"),
    ("tier1-no-cost", couple(0, {"tekun": True}), "m1", 1, "0"),
    ("tier1-only-the-tekun-member", couple(0, {"tekun": True}, {"medicalOutOfPocket": 1000}),
     "m2", None, None),
    # Tier 2, dibao: 0.75, capped at 30000; the highest tier wins (a tekun in a dibao household
    # gets tier 1).
    ("tier2-dibao-at-the-cap", couple(0, {"medicalOutOfPocket": 40000}, dibao=True),
     "m1", 2, "30000"),                                 # 40000 x 0.75
    ("tier2-dibao-a-yuan-under", couple(0, {"medicalOutOfPocket": 39999}, dibao=True),
     "m1", 2, "29999.25"),                              # 39999 x 0.75
    ("tier2-half-cent-tie-rounds-up", couple(0, {"medicalOutOfPocket": 1000.06}, dibao=True),
     "m1", 2, "750.05"),                                # 1000.06 x 0.75 = 750.045 -> 750.05
    ("tier2-small-tie-rounds-up", couple(0, {"medicalOutOfPocket": 4.06}, dibao=True),
     "m1", 2, "3.05"),                                  # 4.06 x 0.75 = 3.045 -> 3.05
    ("tier2-odd-tie-rounds-up", couple(0, {"medicalOutOfPocket": 1000.02}, dibao=True),
     "m1", 2, "750.02"),                                # 1000.02 x 0.75 = 750.015 -> 750.02
    ("tier2-tekun-in-dibao-gets-tier1",
     couple(0, {"tekun": True, "medicalOutOfPocket": 1000}, dibao=True), "m1", 1, "800"),
    # Tier 3, dibaoMarginal or monitored: 0.6 above a 3000 deductible, capped at 20000.
    ("tier3-at-the-deductible", couple(0, {"medicalOutOfPocket": 3000}, dibaoMarginal=True),
     "m1", 3, "0"),
    ("tier3-a-yuan-over-the-deductible",
     couple(0, {"medicalOutOfPocket": 3001}, dibaoMarginal=True), "m1", 3, "0.6"),
    ("tier3-under-the-deductible", couple(0, {"medicalOutOfPocket": 100}, monitored=True,
                                          monitoredSince="2024-01-01"), "m1", 3, "0"),
    ("tier3-just-under-the-cap", couple(0, {"medicalOutOfPocket": 36333}, dibaoMarginal=True),
     "m1", 3, "19999.8"),                               # (36333 - 3000) x 0.6
    ("tier3-just-over-the-cap", couple(0, {"medicalOutOfPocket": 36334}, dibaoMarginal=True),
     "m1", 3, "20000"),                                 # min(20000, 20000.4)
    # (Monitored makes tier 3 apply too: a dibao household is never a marginal one.)
    ("tier3-dibao-gets-tier2", couple(0, {"medicalOutOfPocket": 5000}, dibao=True,
                                      monitored=True), "m1", 2, "3750"),
    # Tier 4: the member's cost > 0 and the household's > 37560; 0.5 above 9390, cap 20000.
    ("tier4-household-exactly-at-the-threshold", couple(0, {"medicalOutOfPocket": 37560}),
     "m1", None, None),
    ("tier4-a-yuan-over-the-threshold", couple(0, {"medicalOutOfPocket": 37561}),
     "m1", 4, "14085.5"),                               # (37561 - 9390) x 0.5
    ("tier4-member-without-cost", couple(0, {"medicalOutOfPocket": 37561}), "m2", None, None),
    ("tier4-household-sum-counts",
     couple(0, {"medicalOutOfPocket": 30000}, {"medicalOutOfPocket": 7561}), "m1", 4, "10305"),
    ("tier4-member-under-the-deductible",
     couple(0, {"medicalOutOfPocket": 30000}, {"medicalOutOfPocket": 7561}), "m2", 4, "0"),
    ("tier4-household-sum-at-the-threshold",
     couple(0, {"medicalOutOfPocket": 30000}, {"medicalOutOfPocket": 7560}), "m1", None, None),
    ("tier4-at-the-cap", couple(0, {"medicalOutOfPocket": 49390}), "m1", 4, "20000"),
    ("tier4-a-yuan-under-the-cap", couple(0, {"medicalOutOfPocket": 49389}), "m1", 4,
     "19999.5"),                                        # (49389 - 9390) x 0.5
    ("tier4-dibao-gets-tier2", couple(0, {"medicalOutOfPocket": 40000}, dibao=True),
     "m1", 2, "30000"),
    ("no-tier", couple(20000, {"medicalOutOfPocket": 5000}), "m1", None, None),
]


@pytest.mark.parametrize(("household", "member", "tier", "relief"),
                         [pytest.param(*row[1:], id=row[0]) for row in MEDICAL])
def test_medical_relief(catalog: Catalog, household: dict[str, Any], member: str,
                        tier: int | None, relief: str | None) -> None:
    det = decide(catalog, household, "medical_relief")
    statuses = {k: find(det, f"medical.tier{k}", member).status.value for k in (1, 2, 3, 4)}
    assert statuses == {k: G if k == tier else N for k in (1, 2, 3, 4)}
    if tier is None:
        return
    assert relief is not None
    granted = find(det, f"medical.tier{tier}", member)
    assert (granted.amount, granted.period) == (None, None)  # terms, not a paid amount
    premium, deductible, ratio, cap = TIER_TERMS[tier]
    assert [(t.key, money(t.value)) for t in granted.terms] == [
        ("premiumSubsidy", Decimal(premium)), ("deductible", Decimal(deductible)),
        ("ratio", Decimal(ratio)), ("annualCap", Decimal(cap)),
        ("estimatedRelief", Decimal(relief))]


# --- Program 3: education --------------------------------------------------------------------

ED = "education."
# The amounts of the brief's table, per version: (as of, version, primary boarding, primary not
# boarding, junior boarding, junior not boarding, senior, secondary vocational, higher).
EDUCATION_VERSIONS = [
    (date(2023, 6, 1), 1, "1000", "500", "1250", "625", "2000", "2000", "3300"),
    (date(2024, 6, 1), 2, "1250", "625", "1500", "750", "2000", "2000", "3300"),
    (date(2024, 10, 1), 3, "1250", "625", "1500", "750", "2000", "2000", "3700"),
    (date(2025, 6, 1), 4, "1250", "625", "1500", "750", "2300", "2300", "3700"),
]
STUDENTS = [  # id, born, schoolStage, boarding
    ("pre", "2020-03-01", "PRESCHOOL", False), ("pb", "2014-03-01", "PRIMARY", True),
    ("pn", "2015-03-01", "PRIMARY", False), ("jb", "2010-03-01", "JUNIOR", True),
    ("jn", "2011-03-01", "JUNIOR", False), ("sen", "2007-03-01", "SENIOR", False),
    ("voc", "2007-05-01", "SECONDARY_VOCATIONAL", True),
    ("hv", "2004-03-01", "HIGHER_VOCATIONAL", False), ("ug", "2003-03-01", "UNDERGRADUATE", True),
]
EDUCATION_CODES = ("compulsory_living_subsidy", "senior_grant", "senior_fee_waiver",
                   "vocational_grant", "vocational_fee_waiver", "higher_grant", "yulu",
                   "preschool_aid")
IN_KIND = "in kind"


def family(*students: tuple[str, str, str, bool], member_facts: dict[str, Any] | None = None,
           **facts: Any) -> dict[str, Any]:
    return {"id": "pin", "annualNetIncome": 20000, **facts,
            "members": [person("m1", "1975-03-01"),
                        *(person(mid, born, schoolStage=stage, boarding=boarding,
                                 **(member_facts or {}))
                          for mid, born, stage, boarding in students)]}


@pytest.mark.parametrize(("as_of", "version", "pb", "pn", "jb", "jn", "senior", "vocational",
                          "higher"), EDUCATION_VERSIONS, ids=lambda v: str(v))
def test_education_every_stage_in_every_version(
    catalog: Catalog, as_of: date, version: int, pb: str, pn: str, jb: str, jn: str,
    senior: str, vocational: str, higher: str,
) -> None:
    # A poverty-alleviated household: every student is eligible, and the senior fee waiver and
    # 雨露计划 (secondary and higher vocational) apply too.
    det = decide(catalog, family(*STUDENTS, povertyAlleviated=True), "education", as_of)
    assert det.programs[0].version.version == version
    granted: dict[str, dict[str, str]] = {
        "pre": {"preschool_aid": "1000"},
        "pb": {"compulsory_living_subsidy": pb}, "pn": {"compulsory_living_subsidy": pn},
        "jb": {"compulsory_living_subsidy": jb}, "jn": {"compulsory_living_subsidy": jn},
        "sen": {"senior_grant": senior, "senior_fee_waiver": IN_KIND},
        "voc": {"vocational_grant": vocational, "vocational_fee_waiver": IN_KIND,
                "yulu": "3000"},
        "hv": {"higher_grant": higher, "yulu": "3000"},
        "ug": {"higher_grant": higher},
        "m1": {},
    }
    for member, expected in granted.items():
        for code in EDUCATION_CODES:
            o = find(det, ED + code, member)
            want = expected.get(code)
            if want is None:
                assert o.status.value == N, (member, code)
            elif want == IN_KIND:
                assert (o.status.value, o.amount, o.period) == (G, None, None), (member, code)
            else:
                assert (o.status.value, money(o.amount), o.period) == (
                    G, Decimal(want), "YEAR"), (member, code)


SEN = ("sen", "2007-03-01", "SENIOR", False)
VOC = ("voc", "2007-05-01", "SECONDARY_VOCATIONAL", False)
HV = ("hv", "2004-03-01", "HIGHER_VOCATIONAL", False)


# (id, household facts, student facts, {(member, code): status}) as of 2025-06-01 (version 4)
ELIGIBILITY: list[tuple[str, dict[str, Any], dict[str, Any], dict[tuple[str, str], str]]] = [
    ("no-hardship", {}, {},
     {("sen", "senior_grant"): N, ("sen", "senior_fee_waiver"): N, ("voc", "vocational_grant"): N,
      ("voc", "vocational_fee_waiver"): N, ("voc", "yulu"): N, ("hv", "higher_grant"): N,
      ("hv", "yulu"): N}),
    ("monitored", {"monitored": True, "monitoredSince": "2024-01-01"}, {},
     {("sen", "senior_grant"): G, ("sen", "senior_fee_waiver"): N, ("voc", "yulu"): G,
      ("hv", "yulu"): G, ("voc", "vocational_fee_waiver"): G}),
    ("dibao", {"dibao": True}, {},
     {("sen", "senior_grant"): G, ("sen", "senior_fee_waiver"): G, ("voc", "yulu"): N,
      ("hv", "yulu"): N, ("hv", "higher_grant"): G}),
    ("dibao-marginal", {"dibaoMarginal": True}, {},
     {("sen", "senior_grant"): G, ("sen", "senior_fee_waiver"): N, ("voc", "vocational_grant"): G,
      ("voc", "yulu"): N}),
    ("student-disabled", {}, {"disabilityGrade": 4, "disabilityKind": "VISUAL"},
     {("sen", "senior_grant"): G, ("sen", "senior_fee_waiver"): G, ("voc", "yulu"): N,
      ("hv", "higher_grant"): G}),
    ("student-tekun", {}, {"tekun": True},
     {("sen", "senior_grant"): G, ("sen", "senior_fee_waiver"): G, ("voc", "yulu"): N}),
    ("student-orphan", {}, {"orphan": True},
     {("sen", "senior_grant"): G, ("sen", "senior_fee_waiver"): N, ("voc", "vocational_grant"): G,
      ("voc", "yulu"): N}),
]


@pytest.mark.parametrize(("facts", "student", "expected"),
                         [pytest.param(*row[1:], id=row[0]) for row in ELIGIBILITY])
def test_education_eligibility(catalog: Catalog, facts: dict[str, Any], student: dict[str, Any],
                               expected: dict[tuple[str, str], str]) -> None:
    det = decide(catalog, family(SEN, VOC, HV, member_facts=student, **facts), "education",
                 date(2025, 6, 1))
    got = {(m, code): find(det, ED + code, m).status.value for m, code in expected}
    assert got == expected


def test_a_member_not_at_school_is_no_student(catalog: Catalog) -> None:
    data = family(("c", "2012-03-01", "NONE", False), povertyAlleviated=True)
    det = decide(catalog, data, "education", date(2025, 6, 1))
    assert {o.status.value for o in det.outcomes() if o.member_id == "c"} == {N}


# --- Program 4: disability -------------------------------------------------------------------

DIS = "disability."
L, NU, R, H = "living_subsidy", "nursing_subsidy", "child_rehabilitation", "home_accessibility"
CARE = {"needsLongTermCare": True}

# (id, household facts, member m2 (born, facts), {code: (status, monthly or yearly amount)});
# living and nursing are per MONTH, rehabilitation per YEAR, home accessibility in kind.
DISABILITY: list[tuple[str, dict[str, Any], tuple[str, dict[str, Any]],
                       dict[str, tuple[str, str | None]]]] = [
    ("dibao-grade1-care", {"dibao": True},
     ("1972-05-01", {"disabilityGrade": 1, "disabilityKind": "PHYSICAL", **CARE}),
     {L: (G, "162"), NU: (G, "146"), R: (N, None), H: (G, None)}),
    ("dibao-grade2-no-care", {"dibao": True},
     ("1972-05-01", {"disabilityGrade": 2, "disabilityKind": "PHYSICAL"}),
     {L: (G, "162"), NU: (N, None), H: (G, None)}),
    ("dibao-grade2-care", {"dibao": True},
     ("1972-05-01", {"disabilityGrade": 2, "disabilityKind": "MULTIPLE", **CARE}),
     {L: (G, "162"), NU: (G, "127"), H: (G, None)}),
    ("dibao-grade3-physical-care", {"dibao": True},
     ("1972-05-01", {"disabilityGrade": 3, "disabilityKind": "PHYSICAL", **CARE}),
     {L: (G, "131"), NU: (N, None), H: (N, None)}),
    ("dibao-grade3-intellectual-care", {"dibao": True},
     ("1972-05-01", {"disabilityGrade": 3, "disabilityKind": "INTELLECTUAL", **CARE}),
     {L: (G, "131"), NU: (G, "127"), H: (N, None)}),
    ("dibao-grade3-mental-care", {"dibao": True},
     ("1972-05-01", {"disabilityGrade": 3, "disabilityKind": "MENTAL", **CARE}),
     {L: (G, "131"), NU: (G, "127")}),
    ("dibao-grade3-mental-no-care", {"dibao": True},
     ("1972-05-01", {"disabilityGrade": 3, "disabilityKind": "MENTAL"}),
     {L: (G, "131"), NU: (N, None)}),
    ("dibao-grade4-mental-care", {"dibao": True},
     ("1972-05-01", {"disabilityGrade": 4, "disabilityKind": "MENTAL", **CARE}),
     {L: (G, "131"), NU: (N, None), H: (N, None)}),
    ("monitored-grade1", {"monitored": True, "monitoredSince": "2024-01-01"},
     ("1972-05-01", {"disabilityGrade": 1, "disabilityKind": "HEARING"}),
     {L: (G, "162"), NU: (N, None), H: (G, None)}),
    ("marginal-grade1-care", {"dibaoMarginal": True},
     ("1972-05-01", {"disabilityGrade": 1, "disabilityKind": "PHYSICAL", **CARE}),
     {L: (N, None), NU: (G, "146"), H: (N, None)}),
    ("alleviated-grade2", {"povertyAlleviated": True},
     ("1972-05-01", {"disabilityGrade": 2, "disabilityKind": "SPEECH"}),
     {L: (N, None), H: (G, None)}),
    ("alleviated-grade3", {"povertyAlleviated": True},
     ("1972-05-01", {"disabilityGrade": 3, "disabilityKind": "SPEECH"}),
     {L: (N, None), H: (N, None)}),
    ("dibao-tekun-grade1-care", {"dibao": True},
     ("1972-05-01", {"tekun": True, "disabilityGrade": 1, "disabilityKind": "PHYSICAL",
                     **CARE}),
     {L: (N, None), NU: (G, "146"), H: (G, None)}),
    ("no-status-grade1-care", {},
     ("1972-05-01", {"disabilityGrade": 1, "disabilityKind": "PHYSICAL", **CARE}),
     {L: (N, None), NU: (G, "146"), H: (N, None)}),
    ("dibao-not-disabled", {"dibao": True}, ("1972-05-01", CARE),
     {L: (N, None), NU: (N, None), R: (N, None), H: (N, None)}),
    # Child rehabilitation: a disabled member aged 0 to 6, 15000 a year (the cap).
    ("child-aged-6-until-tomorrow", {},
     ("2017-06-02", {"relation": "CHILD", "disabilityGrade": 4, "disabilityKind": "VISUAL"}),
     {R: (G, "15000"), L: (N, None)}),
    ("child-turns-7-today", {},
     ("2017-06-01", {"relation": "CHILD", "disabilityGrade": 4, "disabilityKind": "VISUAL"}),
     {R: (N, None)}),
    ("child-aged-0", {"dibao": True},
     ("2024-01-01", {"relation": "CHILD", "disabilityGrade": 1, "disabilityKind": "MULTIPLE"}),
     {R: (G, "15000"), L: (G, "162"), H: (G, None)}),
    ("child-not-disabled", {}, ("2021-01-01", {"relation": "CHILD"}), {R: (N, None)}),
]

PERIODS = {L: "MONTH", NU: "MONTH", R: "YEAR", H: None}


@pytest.mark.parametrize(("facts", "m2", "expected"),
                         [pytest.param(*row[1:], id=row[0]) for row in DISABILITY])
def test_disability(catalog: Catalog, facts: dict[str, Any], m2: tuple[str, dict[str, Any]],
                    expected: dict[str, tuple[str, str | None]]) -> None:
    born, member_facts = m2
    data = {"id": "pin", "annualNetIncome": 10000, **facts,
            "members": [person("m1", "1970-03-01"), person("m2", born, **member_facts)]}
    det = decide(catalog, data, "disability")
    for code, (status, amount) in expected.items():
        o = find(det, DIS + code, None if code == H else "m2")
        assert o.status.value == status, code
        if status == G:
            assert (money(o.amount), o.period) == (
                None if amount is None else Decimal(amount), PERIODS[code]), code
    # m1 has no disability: nothing per member for them.
    assert {o.status.value for o in det.outcomes() if o.member_id == "m1"} == {N}
