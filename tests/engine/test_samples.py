"""Sample figures are marked: an amount or term computed from a parameter marked ``sample: true``
says so, in the engine's outcome, the contract JSON and the CLI, and a statutory one does not."""

from __future__ import annotations

from datetime import date

from engine.determine import determine
from engine.results import Status, determination_json
from services.rulesets import load_catalog

AS_OF = date(2024, 6, 1)
VERSIONS = load_catalog().in_force(AS_OF)


def _granted(det, code, member="m1"):  # type: ignore[no-untyped-def]
    return next(o for o in det.outcomes()
                if o.code == code and o.member_id == member and o.status is Status.GRANTED)


def test_amounts_and_terms_from_sample_parameters_are_marked() -> None:
    hh = {"id": "s", "dibao": True,
          "members": [{"id": "m1", "birthDate": "1960-01-01", "tekun": True,
                       "medicalOutOfPocket": 10000, "disabilityGrade": 1,
                       "disabilityKind": "PHYSICAL", "needsLongTermCare": True},
                      {"id": "m2", "birthDate": "2019-01-01", "schoolStage": "PRESCHOOL"}]}
    det = determine(hh, AS_OF, VERSIONS)
    # 146 yuan a month: a sample value modelled on a Shandong city's standard.
    nursing = _granted(det, "disability.nursing_subsidy")
    assert nursing.amount == 146 and nursing.amount_is_sample is True
    # Tier 1: the ratio and cap are samples, the premium subsidy and deductible are not.
    tier1 = _granted(det, "medical.tier1")
    samples = {t.key: t.sample for t in tier1.terms}
    assert samples == {"premiumSubsidy": False, "deductible": False, "ratio": True,
                       "annualCap": True, "estimatedRelief": True}
    # An outcome with no amount is not a sample figure.
    home = next(o for o in det.outcomes() if o.code == "disability.home_accessibility")
    assert home.amount is None and home.amount_is_sample is False
    data = determination_json(det)
    by_code = {(o["code"], o["memberId"]): o for o in data["outcomes"]}
    assert by_code[("disability.nursing_subsidy", "m1")]["amountIsSample"] is True
    assert {t["key"]: t["sample"] for t in by_code[("medical.tier1", "m1")]["terms"]} == samples


def test_a_statutory_amount_is_not_marked() -> None:
    hh = {"id": "s", "povertyAlleviated": True,
          "members": [{"id": "m1", "birthDate": "1980-01-01"},
                      {"id": "m2", "birthDate": "2008-01-01", "schoolStage": "SENIOR"}]}
    det = determine(hh, AS_OF, VERSIONS)
    grant = _granted(det, "education.senior_grant", "m2")
    params = next(p for p, _ in VERSIONS if p.code == "education").document.parameters
    assert params["seniorGrant"].sample is False  # the national average standard
    assert grant.amount == 2000 and grant.amount_is_sample is False


def test_the_summary_marks_sample_amounts_and_says_what_the_mark_means() -> None:
    from cli.summary import summary

    hh = {"id": "s", "povertyAlleviated": True,
          "members": [{"id": "m1", "birthDate": "1960-01-01", "disabilityGrade": 1,
                       "disabilityKind": "PHYSICAL", "needsLongTermCare": True},
                      {"id": "m2", "birthDate": "2008-01-01", "schoolStage": "SENIOR"}]}
    det = determine(hh, AS_OF, VERSIONS)
    for lang, sample, statutory, note in (
            ("ZH", "146.00 元/月*", "2,000.00 元/年  ", "* 示例值："),
            ("EN", "146.00 yuan/month*", "2,000.00 yuan/year  ", "* Sample figure:")):
        lines = summary(det, {}, lang, [Status.GRANTED]).splitlines()
        assert any(f"  {sample}  " in x and " m1 " in x for x in lines), lines
        assert any(statutory in x and " m2 " in x for x in lines), lines
        assert lines[-1].startswith(note)
