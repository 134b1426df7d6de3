"""The vectorised backend gives the interactive engine's answer for every household: each
outcome's code, member, status, amount, period, terms and missing facts, and the household's
monitoring flag, compared exactly (floats with ``==``).

10,000 generated households per shipped version (``testing.households``, whose values cluster
on the policy's thresholds and leave optional facts out), on dates inside each version's time
in force, and every fixture household on every evaluation date under the versions then in
force."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from engine.batch import evaluator_for, screen_households
from engine.batch.records import frames_of
from engine.batch.table import determination_rows
from engine.batch.unusual import interactive_determination
from engine.determine import determine
from policy.errors import FactsInvalid
from policy.facts import parse_household
from services.rulesets import FIXTURES, load_catalog
from testing.households import AS_OF_DATES
from tests.batch.reference import (
    BLOCK,
    COLUMNS,
    HOUSEHOLDS_PER_VERSION,
    households,
    normalise,
    reference,
    versions_of,
)

VERSION_IDS = [r.id for r in load_catalog().records]


@pytest.fixture(scope="session")
def references(request: pytest.FixtureRequest) -> dict[str, Any]:
    cache_dir = Path(request.config.cache.mkdir("batch-reference"))
    return reference(cache_dir, VERSION_IDS)


def _ordered(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows with text columns, sorted by household and in each household's own order."""
    frame = frame.with_columns(
        pl.col(c).cast(pl.String) for c, t in frame.schema.items()
        if isinstance(t, pl.Enum | pl.Categorical))
    return frame.with_columns(_k=pl.int_range(pl.len()).over("household_id")).sort(
        "household_id", "_k").select(*COLUMNS)


def _same(got: pl.DataFrame, expected: pl.DataFrame) -> list[str]:
    """The households whose outcomes differ; JSON texts compared by their parsed values."""
    assert got.height == expected.height, (got.height, expected.height)
    differs = pl.any_horizontal(~got[c].eq_missing(expected[c]) for c in COLUMNS)
    bad = []
    for g, e in zip(got.filter(differs).to_dicts(), expected.filter(differs).to_dicts(),
                    strict=True):
        if normalise([g]) != normalise([e]):
            bad.append(f"{e['household_id']}: batch {g} interactive {e}")
    return bad


@pytest.mark.parametrize("version_id", VERSION_IDS)
def test_vectorised_equals_interactive_on_generated_households(
        version_id: str, references: dict[str, Any]) -> None:
    ref = references[version_id]
    versions = versions_of(version_id)
    by_date: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for block in range(HOUSEHOLDS_PER_VERSION // BLOCK):
        for as_of, hh in households(version_id, block):
            by_date[as_of].append(hh)
    outcomes = []
    summaries = []
    for as_of, group in by_date.items():
        evaluator = evaluator_for(versions, as_of)
        result = evaluator.evaluate(*frames_of(group, as_of))
        assert not result.errors
        outcomes.append(evaluator.as_polars(result.outcomes))
        summaries.append(result.households)
    got = _ordered(pl.concat(outcomes))
    expected = _ordered(ref)
    assert got["household_id"].n_unique() == HOUSEHOLDS_PER_VERSION
    bad = _same(got, expected)
    assert not bad, f"{len(bad)} outcomes differ, e.g. {bad[0]}"
    flags = pl.concat(summaries).select("household_id", "flagged").sort("household_id")
    expected_flags = ref.group_by("household_id").agg(pl.col("flagged").first()).sort(
        "household_id")
    assert flags.equals(expected_flags)
    # The generated households reach both answers for every outcome code.
    seen = got.group_by("code").agg(pl.col("status").unique())
    for code, statuses in seen.iter_rows():
        assert {"GRANTED", "NOT_GRANTED"} <= set(statuses), (code, statuses)


FIXTURE_HOUSEHOLDS = sorted((FIXTURES / "households").glob("*.json"))
DATES = sorted({*AS_OF_DATES, date(2024, 6, 1), date(2023, 6, 1), date(2024, 9, 10)})


@pytest.mark.parametrize("as_of", DATES, ids=str)
def test_vectorised_equals_interactive_on_fixture_households(as_of: date) -> None:
    versions = load_catalog().in_force(as_of)
    data = [json.loads(p.read_text(encoding="utf-8")) for p in FIXTURE_HOUSEHOLDS]
    data = [hh for hh in data if _valid(hh, as_of)]  # some members are born later
    got = screen_households(data, as_of, versions).to_dicts()
    expected = []
    for hh in data:
        det = determine(hh, as_of, versions)
        expected += determination_rows(det, hh.get("regionCode", "000000"))
    assert normalise(got) == normalise(expected)
    assert len(data) >= 8 and len(got) > 100


def _valid(hh: dict[str, Any], as_of: date) -> bool:
    try:
        parse_household(hh, as_of)
    except FactsInvalid:
        return False
    return True


def test_unusual_numbers_are_left_to_the_interactive_engine() -> None:
    # The largest and smallest amounts there are (money is given to the cent, at most 10^12
    # yuan) give the interactive engine's answers, in their place among the others.
    as_of = date(2024, 6, 1)
    versions = load_catalog().in_force(as_of)
    base = json.loads((FIXTURES / "households" / "hh-003.json").read_text(encoding="utf-8"))
    odd = [dict(base, id="huge", annualNetIncome=9e11),
           dict(base, id="tiny", previousAnnualNetIncome=0.01),
           dict(base, id="plain")]
    got = screen_households(odd, as_of, versions).to_dicts()
    expected = [r for hh in odd for r in determination_rows(
        determine(hh, as_of, versions), hh["regionCode"])]
    assert normalise(got) == normalise(expected)
    # One fen per member: the condition trees alone (the interactive engine's own trace)
    # give the same rows.
    members = dict(base, id="fen")
    members["members"] = [dict(m, medicalOutOfPocket=0.01) for m in base["members"]]
    got = screen_households([members], as_of, versions).to_dicts()
    expected = determination_rows(interactive_determination(members, as_of, versions),
                                  members["regionCode"])
    assert normalise(got) == normalise(expected)
    plain = determination_rows(interactive_determination(odd[2], as_of, versions),
                               odd[2]["regionCode"])
    assert normalise(plain) == normalise(determination_rows(
        determine(odd[2], as_of, versions), odd[2]["regionCode"]))


def test_which_numbers_are_unusual() -> None:
    from engine.batch.unusual import unusual as _unusual

    values = [0.0, -0.0, 1e-6, 3.5, 1e12, 1e15, None, 1e-7, 2e15, float("nan"), float("inf"),
              -float("inf")]
    hh = pl.DataFrame({c: [0.0] * len(values) for c in
                       ("annualNetIncome", "disasterLoss", "accidentLoss")}).with_columns(
        previousAnnualNetIncome=pl.Series(values, dtype=pl.Float64))
    members = pl.DataFrame({"_h": pl.Series(range(len(values)), dtype=pl.UInt32),
                            "medicalOutOfPocket": [0.0] * len(values)})
    expected = [False] * 7 + [True] * 5
    assert _unusual(hh, members).to_list() == expected
    swapped = members.with_columns(medicalOutOfPocket=pl.Series(values, dtype=pl.Float64))
    assert _unusual(hh.with_columns(previousAnnualNetIncome=0.0), swapped).to_list() == expected


def test_screen_households_names_the_granting_rule() -> None:
    as_of = date(2024, 6, 1)
    versions = load_catalog().in_force(as_of)
    data = [json.loads(p.read_text(encoding="utf-8")) for p in FIXTURE_HOUSEHOLDS]
    data.append(dict(data[2], id="odd", annualNetIncome=9e11))  # the interactive path
    got = screen_households(data, as_of, versions).to_dicts()
    expected = []
    for hh in data:
        det = determine(hh, as_of, versions)
        expected += [o.reasons[0].rule_id if o.status.value == "GRANTED" else None
                     for p in det.programs for o in p.outcomes]
    assert [r["rule_id"] for r in got] == expected
    assert any(expected)


@pytest.mark.parametrize("statuses", [{"GRANTED"}, {"NOT_GRANTED"}, {"UNDETERMINED"},
                                      {"GRANTED", "UNDETERMINED"}, {"GRANTED", "NOT_GRANTED"},
                                      {"NOT_GRANTED", "UNDETERMINED"}], ids=sorted)
def test_written_statuses_change_only_the_rows_written(statuses: set[str]) -> None:
    # The household figures and the counts are the same whichever statuses are written (they
    # are taken from the rows written when those hold every GRANTED and UNDETERMINED outcome).
    import random

    from testing.households import random_household

    as_of = date(2024, 6, 1)
    rng = random.Random(7)
    data = [random_household(rng, as_of, hid=f"w{i:04d}") for i in range(3000)]
    evaluator = evaluator_for(load_catalog().in_force(as_of), as_of)
    frames = frames_of(data, as_of)
    every = evaluator.evaluate(*frames, terms=True)
    some = evaluator.evaluate(*frames, frozenset(statuses), terms=True)
    assert some.households.equals(every.households)
    assert some.counts.sort(pl.all()).equals(every.counts.sort(pl.all()))
    expected = evaluator.as_polars(every.outcomes).filter(
        pl.col("status").cast(pl.String).is_in(sorted(statuses)))
    assert evaluator.as_polars(some.outcomes).equals(expected)


@pytest.mark.parametrize("statuses", [{"GRANTED", "NOT_GRANTED", "UNDETERMINED"},
                                      {"GRANTED", "UNDETERMINED"}, {"UNDETERMINED"}],
                         ids=sorted)
def test_the_outcome_order_lists_the_same_rows_code_by_code(statuses: set[str]) -> None:
    # The same rows (terms, missing facts and granting rules in their places) as the
    # household order, grouped by program and code, each code's rows in household order; the
    # smallest amounts (a fen) among them.
    import random

    from testing.households import random_household

    as_of = date(2024, 6, 1)
    rng = random.Random(17)
    data = [random_household(rng, as_of, hid=f"o{i:04d}") for i in range(2000)]
    data[5] = dict(data[5], previousAnnualNetIncome=0.01)
    data[700] = dict(data[700], members=[dict(m, medicalOutOfPocket=0.01)
                                         for m in data[700]["members"]])
    evaluator = evaluator_for(load_catalog().in_force(as_of), as_of)
    frames = frames_of(data, as_of)
    household = evaluator.evaluate(*frames, frozenset(statuses), terms=True, rule_ids=True)
    outcome = evaluator.evaluate(*frames, frozenset(statuses), terms=True, rule_ids=True,
                                 order="outcome")
    expected = evaluator.as_polars(household.outcomes).with_row_index("_i").sort(
        pl.col("program").to_physical(), pl.col("code").to_physical(), "_i").drop("_i")
    got = evaluator.as_polars(outcome.outcomes)
    assert got.equals(expected)
    assert got["code"].to_physical().is_sorted()
    if "NOT_GRANTED" in statuses:  # every household has such outcomes
        assert {"o0005", "o0700"} <= set(got["household_id"].to_list())
    assert outcome.households.equals(household.households)
    assert outcome.counts.sort(pl.all()).equals(household.counts.sort(pl.all()))
    with pytest.raises(ValueError, match="unknown order"):
        evaluator.evaluate(*frames, order="region")
