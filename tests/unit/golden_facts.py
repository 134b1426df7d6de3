"""The released validation and derived-fact behaviour, as data, for the differential test.

``python -m tests.unit.golden_facts`` wrote ``data/facts_golden.json.gz`` with the code as released
before the fact catalogue (commit 50a8ea4): for every shipped fixture household and for
generated households, valid ones and ones with a mutation (wrong types, unknown keys, out of
range values, left-out required fields), the errors ``parse_household`` gave (field, code) or
the facts ``derive`` gave. ``test_catalogue_differential`` requires today's code to give the same.
The file holds its inputs, so changes to the generator do not change what is compared.
"""

from __future__ import annotations

import copy
import gzip
import json
import random
from datetime import date
from pathlib import Path
from typing import Any

from policy.errors import FactsInvalid
from policy.facts import derive, parse_household
from policy.semantics import UNKNOWN

GOLDEN = Path(__file__).parent / "data" / "facts_golden.json.gz"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "households"

_HH_KEYS = ("id", "regionCode", "povertyAlleviated", "monitored", "monitoredSince", "dibao",
            "dibaoMarginal", "annualNetIncome", "previousAnnualNetIncome", "disasterLoss",
            "accidentLoss", "foodAndClothingSecure", "housingSafetyGrade", "drinkingWaterSafe",
            "members")
_M_KEYS = ("id", "relation", "birthDate", "tekun", "orphan", "medicallyInsured",
           "medicalOutOfPocket", "disabilityGrade", "disabilityKind", "needsLongTermCare",
           "schoolStage", "boarding", "laborCapacity")
_ODD_VALUES: tuple[Any, ...] = (
    None, True, False, 0, -1, 1, 5, 2.5, -0.01, 0.001, 1e13, "", "x", "A", "D", "E", "NONE",
    "FULL", "2030-01-01", "1890-05-05", "2024-02-30", "20240101", [], {}, "1", 19.999,
    "PRIMARY", "VISUAL", "HEAD", "a" * 70,
)


_SEMANTIC: tuple[tuple[str, Any], ...] = (
    ("birthDate", "2030-01-01"), ("birthDate", "1890-05-05"), ("monitoredSince", "2030-06-01"),
    ("annualNetIncome", -10), ("disasterLoss", 2e12), ("medicalOutOfPocket", -0.5),
    ("disabilityGrade", 0), ("disabilityGrade", 5), ("disabilityGrade", 2),
    ("disabilityKind", "MENTAL"), ("id", "m1"),
)


def mutate(rng: random.Random, hh: dict[str, Any]) -> dict[str, Any]:
    """The household with one to three random changes, most of them making it invalid."""
    out = copy.deepcopy(hh)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        r = rng.random()
        members = out.get("members")
        if r < 0.3 and isinstance(members, list) and members and isinstance(members[0], dict):
            # Well-typed values that break one of the contract's other checks.
            key, value = rng.choice(_SEMANTIC)
            if key in _M_KEYS:
                rng.choice(members)[key] = value
            else:
                out[key] = value
        elif r < 0.45:
            out[rng.choice(_HH_KEYS)] = rng.choice(_ODD_VALUES)
        elif r < 0.85 and isinstance(out.get("members"), list) and out["members"]:
            m = rng.choice(out["members"])
            if isinstance(m, dict):
                m[rng.choice(_M_KEYS)] = rng.choice(_ODD_VALUES)
        elif r < 0.9:
            out["unknownKey"] = 1
        elif r < 0.95 and isinstance(out.get("members"), list) and out["members"]:
            out["members"].append(copy.deepcopy(out["members"][0]))
        else:
            out.pop(rng.choice(_HH_KEYS), None)
    return out


def _plain(value: Any) -> Any:
    if value is UNKNOWN:
        return "<unknown>"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return value


def answer(data: Any, as_of: date) -> dict[str, Any]:
    """What the validation and derivation make of one input: the errors, or the facts."""
    try:
        hh = parse_household(data, as_of)
    except FactsInvalid as exc:
        return {"errors": [[e.field, e.code] for e in exc.errors]}
    facts = derive(hh, as_of)
    return {"household": {k: _plain(v) for k, v in sorted(facts.household.items())},
            "members": [{k: _plain(v) for k, v in sorted(m.items())} for m in facts.members],
            "ids": list(facts.member_ids)}


def cases() -> list[tuple[Any, date]]:
    from testing.households import AS_OF_DATES, random_household

    out: list[tuple[Any, date]] = []
    for path in sorted(FIXTURES.glob("*.json")):
        out.append((json.loads(path.read_text(encoding="utf-8")), date(2024, 6, 30)))
    rng = random.Random(20261205)
    for i in range(600):
        as_of = rng.choice(AS_OF_DATES)
        hh = random_household(rng, as_of, f"g{i}")
        out.append((hh if i % 3 == 0 else mutate(rng, hh), as_of))
    return out


def write() -> None:
    rows = [{"input": data, "asOf": as_of.isoformat(), "answer": answer(data, as_of)}
            for data, as_of in cases()]
    GOLDEN.write_bytes(gzip.compress(
        json.dumps(rows, ensure_ascii=False, sort_keys=True).encode(), mtime=0))


def read() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(gzip.decompress(GOLDEN.read_bytes()))
    return rows


if __name__ == "__main__":
    write()
