"""The explainer remembers outcomes by the traces they are decided from (and a granted one by
the values its amount and terms read): what it answers never depends on what it explained
before."""

from __future__ import annotations

import copy
import json
import random
from datetime import date
from typing import Any

from engine import evaluator, explain, trace
from engine.determine import determine
from engine.results import Determination, Status, condition_json, determination_json
from policy.catalog import Catalog
from testing.households import random_household

AS_OF = date(2024, 6, 1)


def _forget() -> None:
    """Every memo an outcome is read from: the plans (with their outcomes) and the traces
    (per rule, per member for a version's member rules, and over members whatever their
    ids)."""
    explain._PLANS.clear()
    trace._MEMO.clear()
    trace._OVER_MEMBERS.clear()
    evaluator._MEMBER_TRACES.clear()


def _json(d: Determination, trees: bool = False) -> str:
    """The contract JSON (and, with ``trees``, every reason's tree at full depth)."""
    data: dict[str, Any] = {"determination": determination_json(d, "EN")}
    if trees:
        data["trees"] = [condition_json(r.condition) for o in d.outcomes() for r in o.reasons]
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def test_outcomes_are_the_same_in_any_order_and_alone(catalog: Catalog) -> None:
    versions = catalog.in_force(AS_OF)
    rng = random.Random(2026)
    households = [random_household(rng, AS_OF, hid=f"order-{k}", members=1 + k % 5)
                  for k in range(36)]
    alone = []
    for raw in households:
        _forget()
        alone.append(_json(determine(raw, AS_OF, versions)))
    _forget()
    forward = [_json(determine(raw, AS_OF, versions)) for raw in households]
    _forget()
    backward = [_json(determine(raw, AS_OF, versions)) for raw in reversed(households)]
    assert forward == alone
    assert backward[::-1] == alone


def test_an_outcome_decided_for_another_member_id_has_its_own_id(catalog: Catalog) -> None:
    # A member's outcome is remembered without the member's id: households whose members have
    # ids never seen before get the outcomes decided for other members (the same traces), each
    # with its own id, as if evaluated alone.
    versions = catalog.in_force(AS_OF)
    rng = random.Random(1515)
    households = [random_household(rng, AS_OF, hid=f"ids-{k}", members=1 + k % 5)
                  for k in range(24)]
    renamed = copy.deepcopy(households)
    for raw in renamed:
        for j, member in enumerate(raw["members"]):
            member["id"] = f"{raw['id']}-p{j}"
    alone = []
    for raw in renamed:
        _forget()
        alone.append(_json(determine(raw, AS_OF, versions), trees=True))
    _forget()
    for raw in households:
        determine(raw, AS_OF, versions)
    again = [determine(raw, AS_OF, versions) for raw in renamed]
    assert [_json(d, trees=True) for d in again] == alone
    for raw, det in zip(renamed, again, strict=True):
        own = {m["id"] for m in raw["members"]}
        assert {o.member_id for o in det.outcomes() if o.member_id is not None} <= own


def _tier1(det: Determination) -> list[Any]:
    return [o for o in det.outcomes() if o.status is Status.GRANTED and o.terms
            and o.reasons[0].rule_id == "medical.tier1"]


def test_a_granted_outcome_follows_the_facts_only_its_terms_read(catalog: Catalog) -> None:
    # medical.tier1's condition does not read a member's medicalOutOfPocket, its terms do: two
    # members whose traces are the same objects must still get their own terms.
    versions = catalog.in_force(AS_OF)
    rng = random.Random(7)
    _forget()
    found = None
    for k in range(400):
        raw = random_household(rng, AS_OF, hid=f"tier1-{k}", members=1)
        if raw["members"][0].get("medicalOutOfPocket") and _tier1(determine(raw, AS_OF,
                                                                          versions)):
            found = raw
            break
    assert found is not None
    other = copy.deepcopy(found)
    other["members"][0]["medicalOutOfPocket"] = found["members"][0]["medicalOutOfPocket"] + 1234
    first = determine(found, AS_OF, versions)
    second = determine(other, AS_OF, versions)
    a, b = _tier1(first)[0], _tier1(second)[0]
    assert a.reasons[0] is b.reasons[0] or a.reasons == b.reasons  # the same decision...
    assert a.terms != b.terms  # ...with each member's own terms
    _forget()
    assert _json(second) == _json(determine(other, AS_OF, versions))
    _forget()
    assert _json(first) == _json(determine(found, AS_OF, versions))


def test_full_memos_drop_their_oldest_entries_one_at_a_time(
        catalog: Catalog, monkeypatch: Any) -> None:
    """A full memo of outcomes (or of lifted values) loses its oldest entry as a new one comes,
    never all at once: emptying 50,000 explained outcomes in one go freed them all in one call
    and held the process for 50-120 ms. The answers stay those of a process that remembers
    nothing."""
    monkeypatch.setattr(explain, "_DECIDED_LIMIT", 40)
    monkeypatch.setattr(evaluator, "_LIFTED_LIMIT", 8)
    _forget()
    versions = catalog.in_force(AS_OF)
    rng = random.Random(41)
    households = [random_household(rng, AS_OF, hid=f"full-{k}", members=5) for k in range(40)]
    for raw in households:
        for m in raw["members"]:
            m["id"] = f"{raw['id']}-{m['id']}"
    loaded = evaluator.load(*[p for p, ref in versions if ref.status == "PUBLISHED"])
    lifts = [lift for _, group in (*loaded.member_lifts, *loaded.household_lifts)
             for lift in group if lift.reads is not None]
    assert lifts, "the shipped rule sets lift values"
    for lift in lifts:
        lift.memo.clear()

    def memos() -> list[tuple[list[Any], int]]:
        plans = [explain._plan(p) for p, _ in versions]
        return ([(list(p.decided), 40) for p in plans] + [(list(p.by_member), 40) for p in plans]
                + [(list(lift.memo), 8) for lift in lifts])

    answers, before = [], memos()
    for raw in households:
        answers.append(_json(determine(raw, AS_OF, versions)))
        after = memos()
        for (old, _), (new, limit) in zip(before, after, strict=True):
            # it grows to its bound, then stays there: never emptied
            assert len(old) <= len(new) <= limit
            if old and old[-1] not in new:  # the newest entry of before went only if
                assert len(new) == limit  # a whole memo's worth came after it
        before = after
    assert {len(m) for m, limit in before if len(m) == limit}, "the test fills a memo"
    for raw, answer in zip(households, answers, strict=True):
        _forget()
        assert _json(determine(raw, AS_OF, versions)) == answer
