"""The condition language: parsing, printing back, and every error code with its position."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.conditions import Environment, check, parse, unparse
from policy.conditions import ast as a
from policy.errors import ConditionError
from policy.schema import Scope

ENV = Environment(frozenset({"incomeLine", "minMonitoredMonths", "ratio"}))


def typed(text: str, scope: Scope = Scope.HOUSEHOLD) -> a.Node:
    return check(parse(text), ENV, scope, text=text).tree


@pytest.mark.parametrize(
    "text",
    [
        "povertyAlleviated and perCapitaNetIncome < incomeLine",
        "not (dibao or monitored) and annualNetIncome >= 2 * incomeLine",
        "any member(age between 6 and 15 and schoolStage == NONE)",
        "all members(laborCapacity != NONE)",
        "housingSafetyGrade in {C, D}",
        "housingSafetyGrade not in {A, B}",
        "monitoredSince <= addMonths(asOf, -minMonitoredMonths)",
        "round(min(20000, max(0, householdMedicalOutOfPocket - 3000) * ratio), 2) > 0",
        "a - (b - c) / -d > 1",
    ],
)
def test_print_back_as_written(text: str) -> None:
    assert unparse(parse(text)) == text
    assert parse(unparse(parse(text))) == parse(text)


def test_precedence() -> None:
    tree = parse("a or b and not c")
    assert isinstance(tree, a.Or)
    assert isinstance(tree.operands[1], a.And)
    assert isinstance(tree.operands[1].operands[1], a.Not)
    assert parse("1 + 2 * 3 < x") == parse("1 + (2 * 3) < x")


def test_names_resolve_to_facts_parameters_and_types() -> None:
    tree = typed("perCapitaNetIncome < incomeLine")
    assert isinstance(tree, a.Compare)
    assert isinstance(tree.left, a.FactRef) and tree.left.name == "perCapitaNetIncome"
    assert isinstance(tree.right, a.ParamRef) and tree.right.name == "incomeLine"


def test_enum_literal_may_stand_on_the_left() -> None:
    tree = typed("NONE == schoolStage", Scope.MEMBER)
    assert isinstance(tree, a.Compare) and isinstance(tree.left, a.FactRef)


def test_used_parameters_are_reported() -> None:
    checked = check(parse("perCapitaNetIncome < incomeLine"), ENV, Scope.HOUSEHOLD)
    assert checked.used_parameters == frozenset({"incomeLine"})


@pytest.mark.parametrize(
    ("text", "code", "column", "scope"),
    [
        ("", "EMPTY", 1, Scope.HOUSEHOLD),
        ("dibao and", "SYNTAX", 10, Scope.HOUSEHOLD),
        ("dibao & monitored", "UNEXPECTED_CHARACTER", 7, Scope.HOUSEHOLD),
        ("(dibao", "SYNTAX", 7, Scope.HOUSEHOLD),
        ("incomeLin > 3", "UNKNOWN_NAME", 1, Scope.HOUSEHOLD),
        ("dibao < 3", "TYPE_MISMATCH", 9, Scope.HOUSEHOLD),
        ("dibao and annualNetIncome", "NOT_A_CONDITION", 11, Scope.HOUSEHOLD),
        ("perCapitaNetIncome", "NOT_A_CONDITION", 1, Scope.HOUSEHOLD),
        ("schoolStage == MIDDLE", "INVALID_ENUM_VALUE", 16, Scope.MEMBER),
        ("dibao == NONE", "TYPE_MISMATCH", 10, Scope.HOUSEHOLD),
        ("age > 6", "MEMBER_FACT_IN_HOUSEHOLD_SCOPE", 1, Scope.HOUSEHOLD),
        ("any member(any member(tekun))", "NESTED_QUANTIFIER", 12, Scope.HOUSEHOLD),
        ("sqrt(annualNetIncome) > 3", "UNKNOWN_FUNCTION", 1, Scope.HOUSEHOLD),
        ("min(annualNetIncome) > 3", "ARITY", 1, Scope.HOUSEHOLD),
        ("NONE", "ENUM_OUT_OF_PLACE", 1, Scope.HOUSEHOLD),
        ("schoolStage < PRIMARY", "TYPE_MISMATCH", 1, Scope.MEMBER),
    ],
)
def test_errors_have_codes_and_positions(text: str, code: str, column: int, scope: Scope) -> None:
    with pytest.raises(ConditionError) as info:
        check(parse(text), ENV, scope, text=text)
    assert info.value.code == code
    assert info.value.position + 1 == column
    assert "^" in info.value.pointer()


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(ConditionError, match="did you mean incomeLine"):
        check(parse("incomeLin > 3"), ENV, Scope.HOUSEHOLD)


def test_no_code_execution() -> None:
    for text in ["__import__('os')", "open('x')", "a.b > 1", "x[0] > 1", "lambda: 1"]:
        with pytest.raises(ConditionError):
            check(parse(text), ENV, Scope.HOUSEHOLD, text=text)


names = st.sampled_from(["dibao", "monitored", "povertyAlleviated", "drinkingWaterSafe"])
numbers = st.sampled_from(["annualNetIncome", "perCapitaNetIncome", "incomeLine", "1000", "0.5"])
comparisons = st.builds(lambda lhs, op, rhs: f"{lhs} {op} {rhs}", numbers,
                        st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), numbers)
conditions = st.recursive(
    st.one_of(names, comparisons),
    lambda inner: st.one_of(
        st.builds(lambda x: f"not {x}", inner),
        st.builds(lambda x, y: f"({x} and {y})", inner, inner),
        st.builds(lambda x, y: f"({x} or {y})", inner, inner),
    ),
    max_leaves=8,
)


@given(conditions)
def test_printing_round_trips(text: str) -> None:
    tree = typed(text)
    assert typed(unparse(tree)) == tree
