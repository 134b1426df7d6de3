"""The shipped county policy, end to end: every version's own test cases, the versions in force at
their boundaries, and fixture households with their amounts, reasons and citations."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from engine.determine import determine
from engine.results import Determination, Outcome, Status
from engine.testcases import run_cases
from policy.catalog import Catalog, UnknownProgram
from services.rulesets import FIXTURES, load_catalog

RECORDS = load_catalog().records
HOUSEHOLDS = FIXTURES / "households"


def household(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HOUSEHOLDS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def evaluate(catalog: Catalog, name: str, as_of: date, *programs: str) -> Determination:
    return determine(household(name), as_of, catalog.in_force(as_of, list(programs) or None))


def outcome(det: Determination, code: str, member: str | None = None) -> Outcome:
    found = [o for o in det.outcomes() if o.code == code and o.member_id == member]
    assert len(found) == 1, (code, member, [(o.code, o.member_id) for o in det.outcomes()])
    return found[0]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.id)
def test_each_versions_own_test_cases_pass(record) -> None:  # type: ignore[no-untyped-def]
    results = run_cases(record.program)
    assert results, "every shipped version has test cases"
    assert [(r.name, r.failures) for r in results if not r.passed] == []


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.id)
def test_test_cases_cover_every_outcome_code(record) -> None:  # type: ignore[no-untyped-def]
    expected = {e.outcome for case in record.program.document.tests for e in case.expect
                if e.status == "GRANTED"}
    assert set(record.program.outcome_codes()) <= expected


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.id)
def test_every_rule_and_parameter_is_cited(record) -> None:  # type: ignore[no-untyped-def]
    doc = record.program.document
    assert all(r.citation.document and (r.citation.quote or r.citation.clause) for r in doc.rules)
    assert all(p.citation.document for p in doc.parameters.values())
    if any(p.sample for p in doc.parameters.values()):
        assert doc.notes, "sample values are flagged in the version's notes"


@pytest.mark.parametrize(
    ("as_of", "version", "boarding_junior", "senior", "higher"),
    [
        (date(2023, 1, 1), 1, 1250, 2000, 3300),
        (date(2024, 2, 29), 1, 1250, 2000, 3300),
        (date(2024, 3, 1), 2, 1500, 2000, 3300),
        (date(2024, 8, 31), 2, 1500, 2000, 3300),
        (date(2024, 9, 1), 3, 1500, 2000, 3700),
        (date(2025, 2, 28), 3, 1500, 2000, 3700),
        (date(2025, 3, 1), 4, 1500, 2300, 3700),
    ],
)
def test_education_version_in_force_at_its_boundaries(
    catalog: Catalog, as_of: date, version: int, boarding_junior: float, senior: float,
    higher: float,
) -> None:
    data = {
        "id": "edu", "povertyAlleviated": True, "annualNetIncome": 20000,
        "members": [
            {"id": "p", "birthDate": "1980-01-01"},
            {"id": "j", "birthDate": "2010-01-01", "schoolStage": "JUNIOR", "boarding": True},
            {"id": "s", "birthDate": "2007-01-01", "schoolStage": "SENIOR"},
            {"id": "u", "birthDate": "2004-01-01", "schoolStage": "UNDERGRADUATE"},
        ],
    }
    det = determine(data, as_of, catalog.in_force(as_of, ["education"]))
    (program,) = det.programs
    assert program.version.version == version
    assert outcome(det, "education.compulsory_living_subsidy", "j").amount == boarding_junior
    assert outcome(det, "education.senior_grant", "s").amount == senior
    assert outcome(det, "education.higher_grant", "u").amount == higher
    assert program.version.effective_from is not None and program.version.effective_from <= as_of
    if program.version.effective_to is not None:
        assert as_of <= program.version.effective_to


def test_nothing_is_in_force_before_2023(catalog: Catalog) -> None:
    det = evaluate(catalog, "hh-002", date(2022, 12, 31))
    assert det.programs == ()
    assert det.flagged_for_monitoring is False


def test_unknown_program_names_the_known_ones(catalog: Catalog) -> None:
    with pytest.raises(UnknownProgram, match="known programs: disability, education"):
        catalog.in_force(date(2024, 6, 1), ["roads"])


def test_five_member_household_explained(catalog: Catalog) -> None:
    det = evaluate(catalog, "hh-002", date(2024, 6, 1))
    assert det.flagged_for_monitoring is True
    assert "monitoring.unstable_alleviated" in det.flagged_by

    unstable = outcome(det, "monitoring.unstable_alleviated")
    assert unstable.status is Status.GRANTED
    (reason,) = unstable.reasons
    assert reason.citation.document == "2023年巩固拓展脱贫攻坚成果同乡村振兴有效衔接工作要点"
    assert reason.citation.clause == "二、1"
    checks = {c.expression: c for c in reason.conditions}
    income = checks["perCapitaNetIncome < incomeLine"]
    assert (income.actual, income.expected, income.passed) == ("5200.00", "< 6000.00", True)
    assert checks["povertyAlleviated"].passed is True

    marginal = outcome(det, "monitoring.marginal_at_risk")
    assert marginal.status is Status.NOT_GRANTED
    failed = [c for r in marginal.reasons for c in r.conditions if c.passed is False]
    assert [(c.expression, c.actual) for c in failed] == [("not povertyAlleviated", "true")]

    nursing = outcome(det, "disability.nursing_subsidy", "m5")
    assert (nursing.status, nursing.amount, nursing.period) == (Status.GRANTED, 146, "MONTH")
    assert nursing.reasons[0].citation.document.startswith("国务院关于全面建立困难残疾人")


def test_medical_tiers_and_terms(catalog: Catalog) -> None:
    det = evaluate(catalog, "hh-003", date(2024, 6, 1), "medical_relief")
    tier1 = outcome(det, "medical.tier1", "m3")
    assert tier1.status is Status.GRANTED
    terms = {t.key: t.value for t in tier1.terms}
    assert list(terms) == ["premiumSubsidy", "deductible", "ratio", "annualCap", "estimatedRelief"]
    assert terms["premiumSubsidy"] == 350 and terms["ratio"] == 0.8
    assert terms["estimatedRelief"] == 6800
    tier2 = outcome(det, "medical.tier2", "m3")
    assert tier2.status is Status.NOT_GRANTED
    superseded = tier2.reasons[0].conditions[-1]
    assert superseded.actual == "medical.tier1" and superseded.passed is False
    assert outcome(det, "medical.tier2", "m1").status is Status.GRANTED


def test_undetermined_names_the_missing_fact(catalog: Catalog) -> None:
    det = evaluate(catalog, "hh-006", date(2024, 6, 1))
    sudden = outcome(det, "monitoring.sudden_hardship")
    assert sudden.status is Status.UNDETERMINED
    assert sudden.missing_facts == ("previousAnnualNetIncome",)
    open_checks = [c for c in sudden.reasons[0].conditions if c.passed is None]
    assert [c.expression for c in open_checks] == ["incomeDropRatio >= sharpDropRatio"]
    assert det.flagged_for_monitoring is False
    # Supplying the fact settles it either way.
    data = household("hh-006") | {"previousAnnualNetIncome": 40000}
    settled = determine(data, date(2024, 6, 1), catalog.in_force(date(2024, 6, 1)))
    assert outcome(settled, "monitoring.sudden_hardship").status is Status.GRANTED


def test_risk_items_name_the_members(catalog: Catalog) -> None:
    det = evaluate(catalog, "hh-011", date(2024, 6, 1), "monitoring")
    school = outcome(det, "monitoring.risk.compulsory_education")
    assert school.status is Status.GRANTED and school.member_id is None
    (check,) = school.reasons[0].conditions
    assert check.expected == "at least one member"
    assert check.actual == "m3"


def test_every_fixture_household_evaluates_in_every_language(catalog: Catalog) -> None:
    from engine.results import determination_json

    for path in sorted(HOUSEHOLDS.glob("*.json")):
        det = evaluate(catalog, path.stem, date(2024, 6, 1))
        zh, en = determination_json(det, "ZH"), determination_json(det, "EN")
        assert zh["outcomes"] and len(zh["outcomes"]) == len(en["outcomes"])
        for o_zh, o_en in zip(zh["outcomes"], en["outcomes"], strict=True):
            assert o_zh["title"] != o_en["title"]
            assert o_zh["status"] in {"GRANTED", "NOT_GRANTED", "UNDETERMINED"}
            assert o_zh["reasons"], f"{path.stem} {o_zh['code']} has no reason"


def test_fixture_directory_is_complete() -> None:
    assert Path(HOUSEHOLDS / "hh-001.json").exists()
    programs = {r.program.code for r in RECORDS}
    assert programs == {"monitoring", "medical_relief", "education", "disability",
                        "temporary_assistance", "employment", "housing"}
