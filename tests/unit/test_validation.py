"""Static validation: every kind of problem, each shown by a document broken on purpose."""

from __future__ import annotations

import copy
from typing import Any

from policy.document import load_document
from policy.validation import (
    Issue,
    errors,
    interval,
    substantially_different,
    validate,
    validate_data,
)
from services.rulesets import document_files

CITE = {"document": "示例文件", "clause": "第一条"}


def base() -> dict[str, Any]:
    """A small valid document: a household rule, and an exclusive group that partitions
    primary students by boarding."""
    return {
        "program": "demo",
        "version": 1,
        "title": {"zh": "示例", "en": "Demo"},
        "owner": "县扶贫办",
        "parameters": {
            "incomeLine": {"value": 6000, "unit": "yuan/person/year", "citation": CITE},
            "boardingSubsidy": {"value": 1250, "unit": "yuan/year", "citation": CITE},
            "daySubsidy": {"value": 625, "unit": "yuan/year", "citation": CITE},
        },
        "definitions": {
            "lowIncome": {"scope": "household", "condition": "perCapitaNetIncome < incomeLine"},
        },
        "rules": [
            {"id": "low_income", "outcome": "demo.low_income", "per": "household",
             "title": {"zh": "低收入户", "en": "Low-income household"},
             "condition": "lowIncome", "reason": {"zh": "收入低", "en": "Low income"},
             "citation": CITE},
            {"id": "subsidy.boarding", "outcome": "demo.subsidy", "per": "member",
             "title": {"zh": "生活补助", "en": "Living subsidy"},
             "condition": "schoolStage == PRIMARY and boarding", "group": "subsidy",
             "priority": 1, "amount": "boardingSubsidy", "period": "YEAR",
             "reason": {"zh": "寄宿生", "en": "Boarder"}, "citation": CITE},
            {"id": "subsidy.day", "outcome": "demo.subsidy", "per": "member",
             "title": {"zh": "生活补助", "en": "Living subsidy"},
             "condition": "schoolStage == PRIMARY and not boarding", "group": "subsidy",
             "priority": 2, "amount": "daySubsidy", "period": "YEAR",
             "reason": {"zh": "走读生", "en": "Day pupil"}, "citation": CITE},
        ],
        "tests": [
            {"name": "low income", "asOf": "2024-06-01",
             "household": {"id": "t1", "annualNetIncome": 5000,
                           "members": [{"id": "m1", "birthDate": "1970-01-01"}]},
             "expect": [{"outcome": "demo.low_income", "status": "GRANTED"}]},
        ],
    }


def issues_of(data: dict[str, Any], based_on: dict[str, Any] | None = None) -> list[Issue]:
    return validate_data(data, based_on=load_document(based_on) if based_on else None)


def codes(issues: list[Issue]) -> set[str]:
    return {i.code for i in issues}


def only(issues: list[Issue], code: str) -> Issue:
    found = [i for i in issues if i.code == code]
    assert len(found) == 1, issues
    return found[0]


def rule(data: dict[str, Any], rule_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in data["rules"] if r["id"] == rule_id)
    return found


def test_the_base_document_and_every_shipped_version_are_clean() -> None:
    assert issues_of(base()) == []
    previous: dict[str, Any] = {}
    for path in document_files():
        doc = load_document(path.read_text(encoding="utf-8"))
        assert validate(doc, based_on=previous.get(doc.program)) == [], path
        previous[doc.program] = doc


# --- structure and conditions ---------------------------------------------------------------


def test_structure_errors_name_the_field() -> None:
    data = base()
    data["rules"][0]["colour"] = "red"
    del data["owner"]
    got = {(i.field, i.code) for i in issues_of(data)}
    assert got == {("rules[0].colour", "UNKNOWN_FIELD"), ("owner", "REQUIRED")}


def test_condition_type_error_has_its_column() -> None:
    data = base()
    rule(data, "low_income")["condition"] = "lowIncome and annualNetIncome < true"
    issue = only(issues_of(data), "TYPE_MISMATCH")
    assert issue.field == "rules[0].condition"
    assert issue.column == 33  # the "true"
    assert issue.severity == "ERROR"
    assert "annualNetIncome is number but the other side is bool" in issue.message


def test_syntax_error_has_its_column() -> None:
    data = base()
    rule(data, "low_income")["condition"] = "lowIncome and (dibao or"
    issue = only(issues_of(data), "SYNTAX")
    assert (issue.field, issue.column) == ("rules[0].condition", 24)


def test_unknown_fact_is_named_with_a_suggestion() -> None:
    data = base()
    data["definitions"]["lowIncome"]["condition"] = "perCapitaIncome < incomeLine"
    found = issues_of(data)
    issue = found[0]
    assert (issue.field, issue.code) == ("definitions.lowIncome.condition", "UNKNOWN_NAME")
    assert issue.column == 1
    assert "'perCapitaIncome'" in issue.message and "perCapitaNetIncome" in issue.message


def test_unknown_parameter_is_named() -> None:
    data = base()
    rule(data, "subsidy.day")["amount"] = "daySubsidies"
    issue = only(issues_of(data), "UNKNOWN_NAME")
    assert (issue.field, issue.column) == ("rules[2].amount", 1)
    assert "did you mean daySubsidy" in issue.message


def test_consistency_errors_come_from_compiling() -> None:
    data = base()
    rule(data, "subsidy.day")["priority"] = 1
    issue = only(issues_of(data), "DUPLICATE_PRIORITY")
    assert issue.field == "rules[2].priority"


# --- names and citations -------------------------------------------------------------------


def test_unused_parameter() -> None:
    data = base()
    data["parameters"]["spare"] = {"value": 1, "unit": "yuan", "citation": CITE}
    issue = only(issues_of(data), "UNUSED_PARAMETER")
    assert (issue.field, issue.severity) == ("parameters.spare", "ERROR")


def test_unused_definition_is_a_warning() -> None:
    data = base()
    data["definitions"]["spare"] = {"scope": "household", "condition": "dibao"}
    issues = issues_of(data)
    issue = only(issues, "UNUSED_DEFINITION")
    assert (issue.field, issue.severity) == ("definitions.spare", "WARNING")
    assert errors(issues) == []


def test_parameter_without_clause_or_quote() -> None:
    data = base()
    data["parameters"]["incomeLine"]["citation"] = {"document": "某文件"}
    issue = only(issues_of(data), "MISSING_CITATION")
    assert issue.field == "parameters.incomeLine.citation"
    assert "neither a clause nor a quote" in issue.message


def test_rule_whose_citation_names_no_document() -> None:
    data = base()
    rule(data, "low_income")["citation"] = {"document": "  ", "quote": "……"}
    issue = only(issues_of(data), "MISSING_CITATION")
    assert issue.field == "rules[0].citation"
    assert "names no document" in issue.message


# --- exclusive groups ----------------------------------------------------------------------


def test_overlapping_rules_of_a_partitioning_group() -> None:
    data = base()
    rule(data, "subsidy.day")["condition"] = "schoolStage in {PRIMARY, JUNIOR}"
    issue = only(issues_of(data), "TIER_OVERLAP")
    assert issue.field == "rules[2].condition"
    assert "subsidy.boarding and subsidy.day of group subsidy both apply" in issue.message
    assert "boarding = true, schoolStage = PRIMARY" in issue.message


def test_gap_in_a_partitioning_group() -> None:
    data = base()
    data["parameters"]["juniorSubsidy"] = {"value": 750, "unit": "yuan/year", "citation": CITE}
    rule(data, "subsidy.day")["condition"] = "schoolStage == PRIMARY and not boarding"
    data["rules"].append({
        **copy.deepcopy(rule(data, "subsidy.boarding")), "id": "subsidy.junior_boarding",
        "priority": 3, "amount": "juniorSubsidy",
        "condition": "schoolStage == JUNIOR and boarding"})
    issue = only(issues_of(data), "TIER_GAP")
    assert issue.field == "rules[1].group"
    assert "no rule applies when boarding = false, schoolStage = JUNIOR" in issue.message


def test_gap_between_numeric_tiers() -> None:
    data = base()
    data["rules"][1:] = [
        {**copy.deepcopy(rule(data, "subsidy.boarding")), "id": "subsidy.severe",
         "condition": "disabled and disabilityGrade <= 2"},
        {**copy.deepcopy(rule(data, "subsidy.day")), "id": "subsidy.mild",
         "condition": "disabled and disabilityGrade >= 4"},
    ]
    issue = only(issues_of(data), "TIER_GAP")
    assert "no rule applies when disabilityGrade = 3, given disabled" in issue.message


def test_tier_that_can_never_apply() -> None:
    data = base()  # a priority ladder (the rules share no fact), whose third rung is hidden
    data["rules"][1:] = [
        {**copy.deepcopy(rule(data, "subsidy.boarding")), "condition": "tekun"},
        {**copy.deepcopy(rule(data, "subsidy.day")), "condition": "dibao"},
        {**copy.deepcopy(rule(data, "subsidy.day")), "id": "subsidy.third", "priority": 3,
         "condition": "monitored and dibao"},
    ]
    issues = issues_of(data)
    issue = only(issues, "TIER_UNREACHABLE")
    assert issue.field == "rules[3].condition"
    assert ("subsidy.third of group subsidy never applies: whenever its condition holds, a "
            "higher-priority rule (subsidy.boarding, subsidy.day) applies") in issue.message
    assert codes(issues) == {"TIER_UNREACHABLE"}


def test_a_priority_ladder_may_overlap() -> None:
    data = base()  # like medical relief: the highest tier that applies wins, by design
    data["rules"][1:] = [
        {**copy.deepcopy(rule(data, "subsidy.boarding")), "condition": "tekun"},
        {**copy.deepcopy(rule(data, "subsidy.day")), "condition": "dibao"},
    ]
    assert issues_of(data) == []


# --- amounts -------------------------------------------------------------------------------


def test_amount_that_can_be_negative() -> None:
    data = base()
    rule(data, "subsidy.day")["amount"] = "daySubsidy - medicalOutOfPocket"
    issue = only(issues_of(data), "NEGATIVE_AMOUNT")
    assert issue.field == "rules[2].amount"
    assert "ranges from -∞ to 625" in issue.message


def test_term_that_can_be_negative_and_the_fix() -> None:
    data = base()
    rule(data, "subsidy.day")["terms"] = [
        {"key": "estimatedRelief", "value": "(medicalOutOfPocket - 3000) * 0.5", "unit": "yuan"}]
    assert only(issues_of(data), "NEGATIVE_AMOUNT").field == "rules[2].terms[0].value"
    rule(data, "subsidy.day")["terms"][0]["value"] = "max(0, medicalOutOfPocket - 3000) * 0.5"
    assert issues_of(data) == []


def test_interval_arithmetic() -> None:
    from policy.conditions import check, parse
    from policy.conditions.typecheck import Environment
    from policy.schema import NUMBER, Scope

    def rng(text: str) -> tuple[float, float]:
        tree = check(parse(text), Environment(frozenset({"p"})), Scope.MEMBER,
                     want=NUMBER).tree
        return interval(tree, {"p": 2})

    assert rng("min(100, age * p)") == (0, 100)
    assert rng("-p + disabilityGrade") == (-2, 2)
    assert rng("annualNetIncome / (age - 1)") == (float("-inf"), float("inf"))


# --- outcome codes keep their meaning ------------------------------------------------------


def test_outcome_title_changed_substantially() -> None:
    old = base()
    new = base()
    new["version"] = 2
    for r in new["rules"][1:]:
        r["title"] = {"zh": "交通补助", "en": "Travel allowance"}
    issues = issues_of(new, based_on=old)
    assert {(i.field, i.code) for i in issues} == {
        ("rules[1].title.zh", "OUTCOME_MEANING_CHANGED"),
        ("rules[1].title.en", "OUTCOME_MEANING_CHANGED"),
    }
    assert "was titled '生活补助' in version 1, now '交通补助'" in issues[0].message


def test_outcome_title_polished_is_fine() -> None:
    old = base()
    new = base()
    for r in new["rules"][1:]:
        r["title"] = {"zh": "生活补助", "en": "Living subsidies"}
    assert issues_of(new, based_on=old) == []


def test_outcome_period_scope_and_flag_changes() -> None:
    old = base()
    new = base()
    for r in new["rules"][1:]:
        r["period"] = "MONTH"
    low = rule(new, "low_income")
    low["flagsMonitoring"] = True
    issues = issues_of(new, based_on=old)
    assert {(i.field, i.code) for i in issues} == {
        ("rules[1].period", "OUTCOME_MEANING_CHANGED"),
        ("rules[0].flagsMonitoring", "OUTCOME_MEANING_CHANGED"),
    }
    per = base()
    low = rule(per, "low_income")
    low["per"] = "member"
    low["condition"] = "age < 6"
    issue = only(issues_of(per, based_on=old), "OUTCOME_MEANING_CHANGED")
    assert issue.field == "rules[0].per"
    assert "was given per household in version 1, now per member" in issue.message


def test_substantial_title_changes() -> None:
    assert substantially_different("医疗救助第一档", "医疗救助第二档")
    assert substantially_different("Tier 1 relief", "Tier 2 relief")
    assert not substantially_different("生活补助", "生活补助（寄宿）")


# --- test cases ----------------------------------------------------------------------------


def test_test_case_expecting_an_unknown_outcome() -> None:
    data = base()
    data["tests"][0]["expect"][0]["outcome"] = "demo.low_incom"
    issue = only(issues_of(data), "UNKNOWN_OUTCOME")
    assert issue.field == "tests[0].expect[0].outcome"
    assert "did you mean demo.low_income" in issue.message


def test_no_test_cases() -> None:
    data = base()
    data["tests"] = []
    assert only(issues_of(data), "NO_TEST_CASES").field == "tests"


def _found(data: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((i.field, i.code) for i in errors(issues_of(data)))


def test_a_missing_citation_does_not_hide_a_condition_error() -> None:
    data = base()
    del rule(data, "low_income")["citation"]
    rule(data, "subsidy.day")["condition"] = "schoolStage == PRIMARY and not boardng"
    assert _found(data) == [("rules[0].citation", "REQUIRED"),
                            ("rules[2].condition", "UNKNOWN_NAME")]


def test_shape_errors_elsewhere_do_not_hide_condition_errors() -> None:
    # An empty citation document, a parameter without a citation, a text without English and
    # an unknown field: each reported, and the conditions, amounts and groups checked too.
    data = base()
    rule(data, "low_income")["citation"] = {"document": "", "clause": "第一条"}
    del data["parameters"]["daySubsidy"]["citation"]
    rule(data, "subsidy.boarding")["title"] = {"zh": "生活补助"}
    rule(data, "subsidy.boarding")["colour"] = "red"
    rule(data, "low_income")["condition"] = "lowIncome and perCapitaNetIncome"
    rule(data, "subsidy.day")["priority"] = 1
    assert _found(data) == [
        ("parameters.daySubsidy.citation", "REQUIRED"),
        ("rules[0].citation.document", "WRONG_TYPE"),
        ("rules[0].condition", "NOT_A_CONDITION"),
        ("rules[1].colour", "UNKNOWN_FIELD"),
        ("rules[1].title.en", "REQUIRED"),
        ("rules[2].priority", "DUPLICATE_PRIORITY"),
    ]


def test_a_shape_error_no_stand_in_can_mend_is_reported_alone() -> None:
    data = base()
    rule(data, "low_income")["per"] = "village"  # which scope the condition is in is unknown
    rule(data, "subsidy.day")["condition"] = "nonsense > 1"
    assert _found(data) == [("rules[0].per", "INVALID_VALUE")]


def test_an_unknown_name_is_reported_once_with_every_place_that_uses_it() -> None:
    data = base()
    rule(data, "low_income")["condition"] = "lowIncome and tekunn"
    rule(data, "subsidy.boarding")["condition"] = "tekunn and boarding"
    rule(data, "subsidy.day")["amount"] = "daySubsidy + 0 * tekunn"
    issue = only(issues_of(data), "UNKNOWN_NAME")
    assert (issue.field, issue.column) == ("rules[0].condition", 15)
    assert issue.message.startswith("unknown fact, parameter or definition 'tekunn'")
    assert "also used in rules[1].condition, rules[2].amount" in issue.message


def test_a_broken_definition_is_reported_where_it_is_defined_only() -> None:
    data = base()
    data["definitions"]["lowIncome"]["condition"] = "perCapitaIncome < incomeLine"
    data["rules"].append({**rule(data, "low_income"), "id": "low_income2",
                          "outcome": "demo.low_income2"})
    found = [(i.field, i.code) for i in errors(issues_of(data))]
    assert found == [("definitions.lowIncome.condition", "UNKNOWN_NAME")]


def test_a_missing_citation_does_not_hide_another_incomplete_one() -> None:
    data = base()
    del rule(data, "low_income")["citation"]
    rule(data, "subsidy.day")["citation"] = {"document": "示例文件"}
    assert _found(data) == [("rules[0].citation", "REQUIRED"),
                            ("rules[2].citation", "MISSING_CITATION")]
