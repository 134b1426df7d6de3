"""A household's determination, reasons included, does not depend on what the process evaluated
before: the explanation memos are keyed by everything their values depend on."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.determine import determine
from engine.results import determination_json
from policy.catalog import Catalog
from testing.households import AS_OF_DATES
from tests.strategies import households

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


# --- property: any households, any order, any thread; each alone in a fresh process -----------

_FRESH = r"""
import json, os, sys
from datetime import date
from engine.determine import determine
from engine.results import determination_json
from services.rulesets import load_catalog

catalog = load_catalog()  # compiled once; nothing is evaluated before the children fork
out = []
for hh, as_of in json.loads(sys.stdin.read()):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # a new process that evaluates this household and nothing else
        os.close(r)
        try:
            d = date.fromisoformat(as_of)
            det = determine(hh, d, catalog.in_force(d))
            text = json.dumps(determination_json(det, what_would_change=True),
                              ensure_ascii=False, sort_keys=True)
            with os.fdopen(w, "w", encoding="utf-8") as f:
                f.write(text)
        except BaseException:
            os._exit(1)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, encoding="utf-8") as f:
        out.append(f.read())
    _, status = os.waitpid(pid, 0)
    assert status == 0, f"the fresh process for {hh['id']} failed"
print(json.dumps(out, ensure_ascii=False))
"""


def each_in_a_fresh_process(items: list[tuple[dict[str, Any], date]]) -> list[str]:
    """Each household's full determination JSON (what-would-change included) from a process
    of its own that evaluated nothing before: forked, one per household, from a process that
    has only compiled the shipped rule sets."""
    done = subprocess.run(
        [sys.executable, "-c", _FRESH], cwd=ROOT, check=True, timeout=300, text=True,
        input=json.dumps([[hh, d.isoformat()] for hh, d in items]), capture_output=True)
    out: list[str] = json.loads(done.stdout)
    return out


def full_json(catalog: Catalog, household: dict[str, Any], as_of: date) -> str:
    det = determine(household, as_of, catalog.in_force(as_of))
    return json.dumps(determination_json(det, what_would_change=True), ensure_ascii=False,
                      sort_keys=True)


def dated_households() -> st.SearchStrategy[list[tuple[dict[str, Any], date]]]:
    """Two to five households, each valid as of its own date, with distinct ids."""
    one = st.sampled_from(AS_OF_DATES).flatmap(lambda d: households(d).map(lambda h: (h, d)))
    return st.lists(one, min_size=2, max_size=5).map(
        lambda xs: [({**h, "id": f"hh-{i}"}, d) for i, (h, d) in enumerate(xs)])


@settings(max_examples=5)
@given(data=st.data())
def test_any_households_in_any_order_on_any_thread_answer_as_in_a_fresh_process(
        catalog: Catalog, data: st.DataObject) -> None:
    items = data.draw(dated_households(), label="households")
    order = data.draw(st.permutations(range(len(items))), label="order")
    # In this process (which has evaluated whatever ran before), in the drawn order ...
    in_order = {i: full_json(catalog, *items[i]) for i in order}
    # ... and again, all at once on a few threads, in the reverse order.
    with ThreadPoolExecutor(max_workers=3) as pool:
        threaded = list(pool.map(lambda i: full_json(catalog, *items[i]), reversed(order)))
    fresh = each_in_a_fresh_process(items)
    for i in range(len(items)):
        assert in_order[i] == fresh[i], f"household {i} differs from a fresh process"
    assert threaded == [fresh[i] for i in reversed(order)]
