"""The limits of valid household facts, exactly on and one past each (found missing by the
mutation run, docs/mutation-testing.md): 20 members but not 21, money up to 1e12 yuan,
``monitoredSince`` on the evaluation date but not after it, ages up to 120."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from policy.errors import FactsInvalid
from policy.facts import MAX_MEMBERS, MAX_MONEY, parse_household

AS_OF = date(2024, 6, 1)


def hh(**kw: Any) -> dict[str, Any]:
    return {"id": "h1", "members": [{"id": "m1", "birthDate": "1980-01-01"}], **kw}


def codes(data: dict[str, Any]) -> list[tuple[str, str]]:
    try:
        parse_household(data, AS_OF)
    except FactsInvalid as exc:
        return [(e.field, e.code) for e in exc.errors]
    return []


def test_the_limits_are_those_of_the_contract() -> None:
    assert (MAX_MEMBERS, MAX_MONEY) == (20, 1e12)


@pytest.mark.parametrize(("count", "expected"), [
    (20, []), (21, [("members", "TOO_MANY_MEMBERS")]),
])
def test_members(count: int, expected: list[tuple[str, str]]) -> None:
    members = [{"id": f"m{i}", "birthDate": "1980-01-01"} for i in range(count)]
    assert codes(hh(members=members)) == expected


@pytest.mark.parametrize(("amount", "expected"), [
    (1e12, []), (1e12 + 1, [("annualNetIncome", "AMOUNT_TOO_LARGE")]),
    (0, []), (-0.01, [("annualNetIncome", "NEGATIVE_AMOUNT")]),
])
def test_money(amount: float, expected: list[tuple[str, str]]) -> None:
    assert codes(hh(annualNetIncome=amount)) == expected


@pytest.mark.parametrize(("since", "expected"), [
    ("2024-06-01", []), ("2024-06-02", [("monitoredSince", "DATE_AFTER_AS_OF")]),
])
def test_monitored_since(since: str, expected: list[tuple[str, str]]) -> None:
    assert codes(hh(monitored=True, monitoredSince=since)) == expected


@pytest.mark.parametrize(("born", "expected"), [
    ("1903-06-02", []),  # 120 on 2024-06-01, 121 the day after
    ("1903-06-01", [("members[0].birthDate", "AGE_OVER_LIMIT")]),  # 121 on 2024-06-01
])
def test_age_limit(born: str, expected: list[tuple[str, str]]) -> None:
    assert codes(hh(members=[{"id": "m1", "birthDate": born}])) == expected
