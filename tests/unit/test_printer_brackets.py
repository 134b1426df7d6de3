"""Printing a condition back keeps exactly the brackets its meaning needs: at equal precedence
the right operand of ``-`` and ``/`` keeps them (found unchecked by the mutation run,
docs/mutation-testing.md)."""

from __future__ import annotations

import pytest

from policy.conditions import parse, unparse


@pytest.mark.parametrize("text", [
    "a - (b - c) > 1",
    "a - (b + c) > 1",
    "a / (b / c) > 1",
    "a / (b * c) > 1",
    "(a + b) * c > 1",
    "-(a + b) > 1",
    "-(a * b) > 1",
    "not (a and b)",
    "not (a or b) and c",
    "(a or b) and c",
])
def test_brackets_that_change_the_meaning_are_kept(text: str) -> None:
    assert unparse(parse(text)) == text


@pytest.mark.parametrize(("text", "printed"), [
    ("(a - b) - c > 1", "a - b - c > 1"),
    ("(a / b) / c > 1", "a / b / c > 1"),
    ("a + (b * c) > 1", "a + b * c > 1"),
    ("((a)) > (1)", "a > 1"),
    ("-(a) > 1", "-a > 1"),
])
def test_brackets_that_change_nothing_are_dropped(text: str, printed: str) -> None:
    assert unparse(parse(text)) == printed
    assert parse(printed) == parse(text)
