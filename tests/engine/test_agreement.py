"""durable_rules and the condition tree must agree, for every shipped version, on generated
households: the fired set equals the set of rules whose condition is true (Kleene)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import determine as front
from engine import evaluator
from engine.evaluator import (
    EngineDisagreement,
    Loaded,
    Verdicts,
    check_agreement,
    fire,
    load,
    tree_verdicts,
)
from policy.catalog import Catalog
from policy.facts import FactSet, derive, parse_household
from policy.semantics import UNKNOWN
from services.rulesets import load_catalog
from testing.households import AS_OF_DATES, random_household
from tests.strategies import households

VERSIONS = [r for r in load_catalog().records]


@pytest.mark.parametrize("record", VERSIONS, ids=lambda r: r.id)
@given(seed=st.integers(0, 2**32 - 1), as_of=st.sampled_from(AS_OF_DATES))
def test_fired_set_equals_condition_tree(record, seed: int, as_of) -> None:  # type: ignore[no-untyped-def]
    program = record.program
    loaded = load(program)
    facts = derive(parse_household(random_household(random.Random(seed), as_of), as_of), as_of)
    verdicts = fire(loaded, facts)
    tree = tree_verdicts(program, facts)
    fired = {key for key, value in tree.items() if verdicts.fired(*key)}
    true = {key for key, value in tree.items() if value is True}
    assert fired == true


@pytest.mark.parametrize("record", VERSIONS, ids=lambda r: r.id)
@settings(max_examples=40)
@given(drawn=st.sampled_from(AS_OF_DATES).flatmap(
    lambda d: st.tuples(st.just(d), households(d))))
def test_fired_set_equals_condition_tree_on_households_drawn_field_by_field(  # type: ignore[no-untyped-def]
        record, drawn) -> None:
    """The same on households drawn field by field (``tests.strategies``): a failure shrinks to
    a minimal household (fewest members, facts left out, round amounts), not to a seed."""
    as_of, data = drawn
    program = record.program
    facts = derive(parse_household(data, as_of), as_of)
    verdicts = fire(load(program), facts)
    tree = tree_verdicts(program, facts)
    assert ({key for key in tree if verdicts.fired(*key)}
            == {key for key, value in tree.items() if value is True})


def test_generated_households_reach_every_outcome(catalog: Catalog) -> None:
    # The generator must be able to make every rule true and false, or the property above
    # proves little.
    rng = random.Random(7)
    for record in catalog.records:
        program = record.program
        seen_true: set[int] = set()
        seen_false: set[int] = set()
        for _ in range(3000):
            as_of = rng.choice(AS_OF_DATES)
            facts = derive(parse_household(random_household(rng, as_of), as_of), as_of)
            for (rule, _member), value in tree_verdicts(program, facts).items():
                (seen_true if value is True else seen_false).add(rule)
        assert seen_true == set(range(len(program.rules))), record.id
        assert seen_false == set(range(len(program.rules))), record.id


def test_a_disagreement_stops_the_determination() -> None:
    # check_agreement is the guard every determination passes: a rule durable_rules fired that
    # the tree does not hold true (or the reverse) must raise, whichever way round.
    program = next(r.program for r in VERSIONS
                   if {x.scope.value for x in r.program.rules} == {"household", "member"})
    hh = next(i for i, r in enumerate(program.rules) if r.scope.value == "household")
    member = [i for i, r in enumerate(program.rules) if r.scope.value == "member"][:2]
    tree = {(hh, None): (True, ()), (member[0], 0): (False, ()), (member[1], 0): (UNKNOWN, ())}
    check_agreement(program, Verdicts(frozenset({hh}), (frozenset(),)), tree)
    for verdicts in (Verdicts(frozenset(), (frozenset(),)),
                     Verdicts(frozenset({hh}), (frozenset({member[0]}),)),
                     Verdicts(frozenset({hh}), (frozenset({member[1]}),))):
        with pytest.raises(EngineDisagreement):
            check_agreement(program, verdicts, tree)


def _disagreeing(drop: bool) -> Callable[[Loaded, FactSet], tuple[Verdicts, ...]]:
    """A fake rule engine: the real durable_rules firings with one household rule changed
    (``drop``: the first rule that fired is reported as not fired; otherwise the first that
    did not fire is reported as fired)."""
    def fire_all(loaded: Loaded, facts: FactSet) -> tuple[Verdicts, ...]:
        out = []
        for v in evaluator.fire_all(loaded, facts):
            rules = set(v.household)
            if drop:
                rules.discard(min(rules))
            else:
                rules.add(min(set(range(len(loaded.program.rules))) - rules))
            out.append(Verdicts(frozenset(rules), v.members))
        return tuple(out)

    return fire_all


@pytest.mark.parametrize("drop", [True, False], ids=["missed", "extra"])
def test_determine_refuses_to_answer_when_the_engine_disagrees(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch, drop: bool,
) -> None:
    # determine() itself must run the guard: a household the real engine answers, then the same
    # household through an engine that disagrees with the condition tree on one rule.
    as_of = date(2024, 6, 1)
    data = {"id": "t-agree", "povertyAlleviated": True, "annualNetIncome": 10000,
            "members": [{"id": "m1", "relation": "HEAD", "birthDate": "1970-01-01"},
                        {"id": "m2", "relation": "SPOUSE", "birthDate": "1971-01-01"}]}
    versions = catalog.in_force(as_of, ["monitoring"])
    answered = front.determine(data, as_of, versions)
    assert [o.code for o in answered.outcomes() if o.status.value == "GRANTED"] == [
        "monitoring.unstable_alleviated"]
    monkeypatch.setattr(front, "fire_all", _disagreeing(drop))
    with pytest.raises(EngineDisagreement, match=r"monitoring v1 rule \S+ for household: "
                       r"durable_rules (fired|did not fire)"):
        front.determine(data, as_of, versions)
