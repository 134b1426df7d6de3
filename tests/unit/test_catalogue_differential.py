"""Validation and derived facts generated from the fact catalogue give the released answers.

``data/facts_golden.json.gz`` holds, for the fixture households and 400 generated households
(two thirds of them mutated into invalid ones), what the hand-written pydantic models and
``derive`` of the release before the catalogue answered (``golden_facts.py``).
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from policy.fact_catalogue import CATALOGUE
from tests.unit.golden_facts import answer, read

ROWS = read()


def test_the_golden_cases_cover_valid_and_invalid_households() -> None:
    codes = Counter(code for r in ROWS for _, code in r["answer"].get("errors", []))
    valid = sum("household" in r["answer"] for r in ROWS)
    assert valid >= 150 and len(ROWS) - valid >= 150
    for code in ("UNKNOWN_FIELD", "REQUIRED", "INVALID_VALUE", "WRONG_TYPE", "NEGATIVE_AMOUNT",
                 "DUPLICATE_MEMBER_ID", "BIRTH_AFTER_AS_OF", "DISABILITY_GRADE_RANGE"):
        assert codes[code] > 0, code


# Facts added to the catalogue after the release: valid households have them too (with their
# defaults, since the golden inputs do not give them), and nothing else changes.
NEW = {"household": {f.name: f.default for f in CATALOGUE.household if f.since > 1},
       "member": {f.name: f.default for f in CATALOGUE.member if f.since > 1}}


@pytest.mark.parametrize("index", range(len(ROWS)))
def test_same_answer_as_released(index: int) -> None:
    row = ROWS[index]
    expected = row["answer"]
    if "household" in expected:
        expected = {**expected, "household": {**expected["household"], **NEW["household"]},
                    "members": [{**m, **NEW["member"]} for m in expected["members"]]}
    got = answer(row["input"], date.fromisoformat(row["asOf"]))
    if "errors" in got and got != expected:
        # Since the release, validation reports every problem at once: the checks beyond types
        # run on the well-typed fields even when others are not, and two checks are new
        # (money to the cent, contradictory facts). So today's errors are the released ones
        # plus, only, errors of those checks.
        released = {tuple(e) for e in expected.get("errors", [])}
        today = {tuple(e) for e in got["errors"]}
        assert released <= today, (got, expected)
        extra = {code for _, code in today - released}
        allowed = NEW_CHECKS if "household" in expected else SEMANTIC | NEW_CHECKS
        assert extra and extra <= allowed, (got, expected)
        return
    assert _agree(got, expected), (got, expected)


NEW_CHECKS = {"TOO_MANY_DECIMALS", "CONTRADICTORY_FACTS"}
SEMANTIC = {"NEGATIVE_AMOUNT", "AMOUNT_TOO_LARGE", "DUPLICATE_MEMBER_ID", "BIRTH_AFTER_AS_OF",
            "AGE_OVER_LIMIT", "DATE_AFTER_AS_OF", "DISABILITY_GRADE_RANGE",
            "DISABILITY_KIND_REQUIRED", "DISABILITY_GRADE_REQUIRED", "NO_MEMBERS",
            "TOO_MANY_MEMBERS"}


def test_structural_errors_no_longer_hide_the_others() -> None:
    """Some golden inputs had both kinds of problem, and the release reported only one."""
    more = [r for r in ROWS if "errors" in r["answer"] and len(
        answer(r["input"], date.fromisoformat(r["asOf"]))["errors"]) > len(r["answer"]["errors"])]
    assert len(more) >= 10


def _agree(got: Any, expected: Any) -> bool:
    """Equal, except that the release computed quantities in binary floating point (kept as
    their ``repr``) where numbers are now exact: those agree when the exact value is within
    the float's rounding error."""
    if isinstance(got, dict) and isinstance(expected, dict):
        return got.keys() == expected.keys() and all(_agree(got[k], expected[k]) for k in got)
    if isinstance(got, list) and isinstance(expected, list):
        return len(got) == len(expected) and all(map(_agree, got, expected))
    if isinstance(got, Decimal | Fraction | int | float) and not isinstance(got, bool) \
            and isinstance(expected, str | int | float) and not isinstance(expected, bool):
        try:
            released = float(expected)
        except ValueError:
            return False
        return math.isclose(float(got), released, rel_tol=1e-12, abs_tol=1e-9)
    return bool(got == expected)
