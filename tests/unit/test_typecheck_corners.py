"""Type-checking corners the mutation run found unchecked (docs/mutation-testing.md): ``between``
needs a number or a date, and the definitions a condition uses are recorded (they feed the
"unused definition" warning)."""

from __future__ import annotations

import pytest

from policy.conditions import Environment, check, parse
from policy.errors import ConditionError
from policy.schema import Scope


@pytest.mark.parametrize("text", ["schoolStage between 1 and 2",
                                  "housingSafetyGrade between 1 and 2",
                                  "dibao between 0 and 1"])
def test_between_refuses_what_is_neither_a_number_nor_a_date(text: str) -> None:
    with pytest.raises(ConditionError) as info:
        check(parse(text), Environment(), Scope.MEMBER, text=text)
    assert info.value.code == "TYPE_MISMATCH"
    assert "'between' needs a number or a date" in str(info.value)


@pytest.mark.parametrize("text", ["age between 6 and 15",
                                  "birthDate between asOf and asOf"])
def test_between_takes_numbers_and_dates(text: str) -> None:
    check(parse(text), Environment(), Scope.MEMBER, text=text)


def test_the_definitions_used_are_recorded() -> None:
    student = check(parse("schoolStage != NONE"), Environment(), Scope.MEMBER).tree
    env = Environment(definitions={"student": (Scope.MEMBER, student),
                                   "unused": (Scope.MEMBER, student)})
    checked = check(parse("student and age < 18"), env, Scope.MEMBER)
    assert checked.used_definitions == frozenset({"student"})
    assert check(parse("age < 18"), env, Scope.MEMBER).used_definitions == frozenset()
