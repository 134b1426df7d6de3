"""The version test-case runner guards publishing (a version whose own cases fail cannot be
submitted or published), so it must itself fail a case for each kind of wrong expectation: a
status, an amount, a term, a flag, an outcome that does not exist, facts that are invalid."""

from __future__ import annotations

from typing import Any

import yaml

from engine.testcases import CaseResult, draft_ref, run_cases
from policy.document import Program, compile_document, load_document
from services.rulesets import RULESETS

# One member household of the disability v1 document: a grade 1 physical disability in a dibao
# household, needing long-term care. Hand-computed: living subsidy 162/month (grade 1-2),
# nursing subsidy 146/month (grade 1); no child rehabilitation (aged 53); home accessibility
# (dibao with a grade 1 member) in kind.
HOUSEHOLD = {
    "id": "t-case", "dibao": True, "annualNetIncome": 8000,
    "members": [{"id": "m1", "relation": "HEAD", "birthDate": "1970-01-01",
                 "disabilityGrade": 1, "disabilityKind": "PHYSICAL",
                 "needsLongTermCare": True}],
}
RIGHT: list[dict[str, Any]] = [
    {"outcome": "disability.living_subsidy", "memberId": "m1", "status": "GRANTED",
     "amount": 162},
    {"outcome": "disability.nursing_subsidy", "memberId": "m1", "status": "GRANTED",
     "amount": 146},
    {"outcome": "disability.child_rehabilitation", "memberId": "m1", "status": "NOT_GRANTED"},
    {"outcome": "disability.home_accessibility", "status": "GRANTED"},
]


def program_with(expect: list[dict[str, Any]], household: dict[str, Any] | None = None,
                 flagged: bool | None = None) -> Program:
    """The shipped disability v1 document with one test case of our own."""
    data = yaml.safe_load((RULESETS / "disability" / "v1.yaml").read_text(encoding="utf-8"))
    case: dict[str, Any] = {"name": "own case", "asOf": "2024-06-01",
                            "household": household or HOUSEHOLD, "expect": expect}
    if flagged is not None:
        case["flagged"] = flagged
    data["tests"] = [case]
    return compile_document(load_document(data))


def only(program: Program) -> CaseResult:
    [result] = run_cases(program)
    return result


def test_right_expectations_pass() -> None:
    result = only(program_with(RIGHT))
    assert (result.name, result.passed, result.failures) == ("own case", True, ())


def test_a_wrong_status_fails_the_case() -> None:
    for index, wrong in ((2, "GRANTED"), (3, "NOT_GRANTED"), (3, "UNDETERMINED")):
        expect = [dict(e) for e in RIGHT]
        expect[index]["status"] = wrong
        result = only(program_with(expect))
        have = RIGHT[index]["status"]
        where = RIGHT[index]["outcome"] + (" [m1]" if "memberId" in RIGHT[index] else "")
        assert result.passed is False
        assert result.failures == (f"{where}: status {have}, expected {wrong}",)


def test_a_wrong_amount_fails_the_case() -> None:
    expect = [dict(e) for e in RIGHT]
    expect[0]["amount"] = 131  # the grade 3-4 figure
    result = only(program_with(expect))
    assert result.failures == ("disability.living_subsidy [m1]: amount 162.0, expected 131",)
    # An amount expected of an in-kind outcome (which has none) fails too.
    expect = [dict(e) for e in RIGHT]
    expect[3]["amount"] = 0
    assert only(program_with(expect)).failures == (
        "disability.home_accessibility: amount None, expected 0",)


def test_a_wrong_term_fails_the_case() -> None:
    expect = [dict(e) for e in RIGHT]
    expect[0]["terms"] = {"nonexistent": 1}
    assert only(program_with(expect)).failures == (
        "disability.living_subsidy [m1]: term nonexistent None, expected 1",)


def test_an_outcome_that_does_not_exist_fails_the_case() -> None:
    expect = [*RIGHT, {"outcome": "disability.living_subsidy", "memberId": "m9",
                       "status": "NOT_GRANTED"}]
    assert only(program_with(expect)).failures == (
        "disability.living_subsidy [m9]: no such outcome",)


def test_a_wrong_flag_fails_the_case() -> None:
    # Disability outcomes never flag a household for monitoring.
    assert only(program_with(RIGHT, flagged=False)).passed is True
    assert only(program_with(RIGHT, flagged=True)).failures == (
        "flaggedForMonitoring False, expected True",)


def test_invalid_facts_fail_the_case() -> None:
    household = {**HOUSEHOLD, "annualNetIncome": -1}
    result = only(program_with(RIGHT, household=household))
    assert result.passed is False and len(result.failures) == 1
    assert result.failures[0].startswith("invalid facts: ")
    assert "annualNetIncome" in result.failures[0]


def test_every_failure_of_a_case_is_reported() -> None:
    expect = [dict(e) for e in RIGHT]
    expect[0]["amount"] = 131
    expect[2]["status"] = "GRANTED"
    assert only(program_with(expect)).failures == (
        "disability.living_subsidy [m1]: amount 162.0, expected 131",
        "disability.child_rehabilitation [m1]: status NOT_GRANTED, expected GRANTED",
    )


def test_a_draft_is_named_by_its_program_and_version() -> None:
    program = program_with(RIGHT)
    ref = draft_ref(program)
    assert (ref.id, ref.rule_set, ref.version, ref.status, ref.effective_to) == (
        "disability-v1", "disability", 1, "DRAFT", None)
    assert ref.content_hash == program.content_hash
