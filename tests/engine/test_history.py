"""A household's determination, reasons included, does not depend on what the process evaluated
before: the explanation memos are keyed by everything their values depend on."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

from engine.determine import determine
from engine.results import determination_json
from policy.catalog import Catalog

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2024, 6, 30)


def as_json(catalog: Catalog, household: dict[str, Any], as_of: date = AS_OF) -> str:
    det = determine(household, as_of, catalog.in_force(as_of))
    return json.dumps(determination_json(det), ensure_ascii=False, sort_keys=True)


def fresh_process(households: list[dict[str, Any]], as_of: date = AS_OF) -> list[str]:
    """Each household's JSON from a new Python process that evaluated nothing else first."""
    script = (
        "import json, sys\n"
        "from datetime import date\n"
        "from engine.determine import determine\n"
        "from engine.results import determination_json\n"
        "from services.rulesets import load_catalog\n"
        "hh, as_of = json.loads(sys.stdin.read())\n"
        "d = date.fromisoformat(as_of)\n"
        "det = determine(hh, d, load_catalog().in_force(d))\n"
        "print(json.dumps(determination_json(det), ensure_ascii=False, sort_keys=True))\n"
    )
    out = []
    for hh in households:
        done = subprocess.run(
            [sys.executable, "-c", script], input=json.dumps([hh, as_of.isoformat()]),
            capture_output=True, text=True, cwd=ROOT, check=True, timeout=120,
        )
        out.append(done.stdout.strip())
    return out


def tier_reasons(text: str, code: str) -> list[list[str]]:
    data = json.loads(text)
    return [[c["expression"] for r in o["reasons"] for c in r["conditions"]]
            for o in data["outcomes"] if o["code"] == code]


def test_a_superseded_tier_is_not_remembered_for_a_household_without_the_higher_tier(
        catalog: Catalog) -> None:
    with_dibao = {"id": "h1", "dibao": True, "members": [{"id": "m1", "birthDate": "1980-01-01"}]}
    without = {"id": "h1", "members": [{"id": "m1", "birthDate": "1980-01-01"}]}
    first = as_json(catalog, with_dibao)
    second = as_json(catalog, without)
    # tier 2 applies to the first household, so its tier 4 is superseded; not in the second.
    assert any("higher-priority" in e for e in tier_reasons(first, "medical.tier4")[0])
    assert not any("higher-priority" in e for e in tier_reasons(second, "medical.tier4")[0])
    assert [first, second] == fresh_process([with_dibao, without])
    # In the other order, too.
    assert as_json(catalog, without) == second
    assert as_json(catalog, with_dibao) == first
