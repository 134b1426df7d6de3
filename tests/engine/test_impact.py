"""Impact previews: the outcome summaries agree with full determinations, and the counting."""

from __future__ import annotations

import random

import pytest

from engine.determine import determine
from engine.impact import Summary, Tally, classify, compare, money, outcome_tables
from engine.testcases import draft_ref
from policy.catalog import Catalog
from policy.facts import parse_household
from policy.synthetic import AS_OF_DATES, random_household


@pytest.mark.parametrize("seed", [1, 2])
def test_summaries_agree_with_determinations(catalog: Catalog, seed: int) -> None:
    rng = random.Random(seed)
    for record in catalog.records:
        program = record.program
        ref = draft_ref(program, "PUBLISHED")
        as_of = rng.choice(AS_OF_DATES)
        households = [parse_household(random_household(rng, as_of, f"hh-{i}"), as_of)
                      for i in range(150)]
        tables = outcome_tables(households, as_of, [program, None])
        for hh, (table, empty) in zip(households, tables, strict=True):
            assert empty == {}
            det = determine(hh, as_of, [(program, ref)])
            expected = {
                (o.code, o.member_id): Summary(
                    o.status.value, o.amount, o.period,
                    o.reasons[0].rule_id if o.status.value == "GRANTED" else None)
                for o in det.outcomes()
            }
            assert table == expected, (program.code, program.document.version, hh.id)


def test_versions_evaluated_together_share_only_what_reads_alike(catalog: Catalog) -> None:
    # Education v1 to v4 differ in amounts; monitoring with a higher income line differs in
    # conditions that use it (through definitions) and not in the others.
    rng = random.Random(3)
    as_of = AS_OF_DATES[4]
    households = [parse_household(random_household(rng, as_of, f"hh-{i}"), as_of)
                  for i in range(200)]
    monitoring = next(r.program for r in catalog.records if r.program.code == "monitoring")
    doc = monitoring.document
    line = doc.parameters["incomeLine"].model_copy(update={"value": 6600})
    from policy.document import compile_document

    higher = compile_document(doc.model_copy(update={
        "version": 2, "parameters": {**doc.parameters, "incomeLine": line}}))
    education = [r.program for r in catalog.records if r.program.code == "education"]
    for programs in ([monitoring, higher], education):
        together = outcome_tables(households, as_of, programs)
        for i, program in enumerate(programs):
            alone = outcome_tables(households, as_of, [program])
            assert [t[i] for t in together] == [t[0] for t in alone]
    changed = sum(t[0] != t[1] for t in outcome_tables(households, as_of, [monitoring, higher]))
    assert changed > 0


def s(status: str = "GRANTED", amount: float | None = None, period: str | None = None,
      rule: str | None = "r1") -> Summary:
    return Summary(status, amount, period, rule if status == "GRANTED" else None)


def test_changes_are_classified() -> None:
    none = s("NOT_GRANTED")
    before = {("a", None): s(), ("b", "m1"): s(amount=100, period="YEAR"),
              ("c", "m1"): s(rule="tier1"), ("d", None): none, ("e", None): s()}
    after = {("a", None): s(), ("b", "m1"): s(amount=150, period="YEAR"),
             ("c", "m1"): s(rule="tier2"), ("d", None): s("UNDETERMINED"),
             ("e", None): none, ("f", None): s()}
    kinds = {(c.code, c.member_id): c.kind for c in compare(before, after)}
    assert kinds == {("b", "m1"): "AMOUNT", ("c", "m1"): "TIER", ("d", None): "STATUS",
                     ("e", None): "LOST", ("f", None): "GAINED"}
    assert classify(compare(before, after)) == "CHANGED"
    assert classify(compare({}, {("f", None): s()})) == "GAINED"
    assert classify(compare({("f", None): s()}, {("f", None): none})) == "LOST"
    assert classify(compare(before, before)) is None


def test_money_counts_a_year_and_keeps_one_off_amounts_apart() -> None:
    table = {("a", "m1"): s(amount=100, period="MONTH"), ("b", "m1"): s(amount=500,
                                                                         period="YEAR"),
             ("c", None): s(amount=3000, period="ONCE"),
             ("d", None): Summary("NOT_GRANTED")}
    assert money(table) == (1700, 3000)


def test_tally_by_region_keeps_the_first_changes() -> None:
    tally = Tally(keep=1)
    gain = {("a", None): s(amount=10, period="MONTH")}
    tally.add("h1", "r1", {}, gain)
    tally.add("h2", "r1", gain, {})
    tally.add("h3", "r2", gain, gain)
    assert (tally.households, tally.gained, tally.lost, tally.changed, tally.unchanged) == (
        3, 1, 1, 0, 1)
    assert (tally.annual_before, tally.annual_after) == (240, 240)
    assert [e.household_id for e in tally.examples] == ["h1"]
    r1 = tally.regions["r1"]
    assert (r1.households, r1.gained, r1.lost, r1.annual_before, r1.annual_after) == (
        2, 1, 1, 120, 120)
