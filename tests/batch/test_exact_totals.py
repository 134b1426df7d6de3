"""A screening summary's money totals are exact: the sum of the amounts to the cent, the same
whatever the order of the households, the size of the chunks or the layout. Summed as binary
floats they are not: 0.1 + 0.2 + 0.3 is 0.6000000000000001 one way round and 0.6 the other."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from policy.catalog import VersionRef
from policy.document import compile_document, load_document
from screening.runner import screen_file

AS_OF = date(2024, 6, 1)
REF = VersionRef("refund-v1", "refund", 1, "PUBLISHED", date(2023, 1, 1), None, "0" * 64)
# Out-of-pocket costs whose float sum depends on the order they are added in.
COSTS = ["0.1", "0.2", "0.3", "0.7", "1234.57", "0.01", "99999.99", "0.3", "0.2", "0.1",
         "5.55", "0.07"]


def _program() -> Any:
    doc = {
        "program": "refund", "version": 1, "title": {"zh": "报销", "en": "refund"},
        "owner": "test", "effectiveFrom": "2023-01-01",
        "rules": [{
            "id": "r0", "outcome": "refund.cost", "title": {"zh": "c", "en": "c"},
            "per": "member", "condition": "medicalOutOfPocket > 0",
            "amount": "medicalOutOfPocket", "period": "ONCE",
            "reason": {"zh": "r", "en": "r"}, "citation": {"document": "t"}}],
    }
    return compile_document(load_document(doc))


def _household(i: int, cost: str) -> dict[str, Any]:
    return {"id": f"h{i:03d}", "regionCode": "371300-001", "annualNetIncome": 16800,
            "members": [{"id": "m1", "relation": "HEAD", "birthDate": "1968-04-02",
                         "medicallyInsured": True, "medicalOutOfPocket": float(cost)}]}


def _register(path: Path, costs: list[str]) -> Path:
    path.write_text("".join(json.dumps(_household(i, c)) + "\n" for i, c in enumerate(costs)),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("layout", ["long", "wide"])
def test_amount_totals_are_exact_whatever_the_order_and_the_chunks(tmp_path: Path,
                                                                    layout: str) -> None:
    versions = [(_program(), REF)]
    exact = sum(Decimal(c) for c in COSTS)
    totals = []
    for name, costs in (("forward", COSTS), ("backward", COSTS[::-1])):
        register = _register(tmp_path / f"{name}.jsonl", costs)
        for chunk_rows in (1, 3, 100):
            summary = screen_file(register, tmp_path / f"{name}-{chunk_rows}.csv", AS_OF,
                                  versions, chunk_rows=chunk_rows, layout=layout)
            [granted] = [r for r in summary["byProgram"] if r["status"] == "GRANTED"]
            assert granted["outcomes"] == len(COSTS)
            totals.append(granted["amount"])
    # The double nearest the exact sum, every time (its decimal text is the sum to the cent).
    assert totals == [float(exact)] * len(totals)
    assert f"{totals[0]:.2f}" == str(exact)
