"""A reason's flat conditions are computed when first read: what is read is what the rule's
checks give in the household's own scope, and the list behaves as the tuple it stands for."""

from __future__ import annotations

import pickle
import random
from datetime import date

from engine.determine import determine
from engine.evaluator import trace_rules
from engine.results import ConditionCheck, Conditions, Status
from engine.trace import checks
from engine.values import Bindings
from policy.catalog import Catalog
from policy.facts import derive, parse_household
from testing.households import random_household

AS_OF = date(2024, 6, 30)


def test_conditions_read_late_are_the_rules_checks_in_the_households_scope(
        catalog: Catalog) -> None:
    rng = random.Random(15)
    versions = catalog.in_force(AS_OF)
    compared = 0
    for n in range(40):
        raw = random_household(rng, AS_OF, hid=f"lazy-{n}", members=1 + n % 5)
        det = determine(raw, AS_OF, versions)
        facts = derive(parse_household(raw, AS_OF), AS_OF)
        ids = facts.member_ids
        by_program = {p.code: p for p, _ in versions}
        for result in det.programs:
            program = by_program[result.program]
            params = program.parameters
            members = [facts.member_context(i) for i in range(len(ids))]
            for o in result.outcomes:
                m = None if o.member_id is None else ids.index(o.member_id)
                scope = (Bindings(facts.household, params, members) if m is None
                         else Bindings(members[m], params))
                for r in o.reasons:
                    rule = next(x for x in program.rules if x.id == r.rule_id)
                    want = tuple(c.check for c in checks(rule.condition, scope, ids))
                    got = tuple(r.conditions)
                    # A superseded rule's list ends with its group's priority condition.
                    assert got[:len(want)] == want
                    assert len(got) - len(want) in (0, 1)
                    if len(got) > len(want):
                        assert got[-1].expression.startswith("no higher-priority rule")
                    compared += 1
                if o.status is Status.UNDETERMINED:
                    assert o.missing_facts
    assert compared > 1000


def test_missing_facts_come_from_the_open_checks(catalog: Catalog) -> None:
    raw = {"id": "open", "members": [{"id": "m1", "birthDate": "1980-01-01"}]}
    versions = catalog.in_force(AS_OF)
    facts = derive(parse_household(raw, AS_OF), AS_OF)
    det = determine(raw, AS_OF, versions)
    undetermined = 0
    for (program, _), result in zip(versions, det.programs, strict=True):
        traced = trace_rules(program, facts)
        for o in result.outcomes:
            if o.status is not Status.UNDETERMINED:
                continue
            m = None if o.member_id is None else facts.member_ids.index(o.member_id)
            open_rules = [r.rule_id for r in o.reasons]
            expected: dict[str, None] = {}
            for rule_id in open_rules:
                i = next(k for k, x in enumerate(program.rules) if x.id == rule_id)
                for c in traced[(i, m)][1].get():
                    for f in c.missing:
                        expected.setdefault(f, None)
            assert o.missing_facts == tuple(expected)
            assert o.missing_facts
            undetermined += 1
    assert undetermined > 0


def test_the_lazy_list_reads_equals_and_pickles_as_its_tuple() -> None:
    items = (ConditionCheck("a < 1", "0", "< 1", True), ConditionCheck("b", None, "true", None))
    calls = []

    def make() -> tuple[ConditionCheck, ...]:
        calls.append(1)
        return items

    lazy = Conditions(make)
    assert calls == []
    assert lazy == items and items == lazy and lazy == Conditions(lambda: items)
    assert len(lazy) == 2 and lazy[1] == items[1] and lazy[:1] == items[:1]
    assert list(lazy) == list(items) and (*lazy, "x") == (*items, "x")
    assert hash(lazy) == hash(items) and repr(lazy) == repr(items)
    assert pickle.loads(pickle.dumps(lazy)) == items
    assert type(pickle.loads(pickle.dumps(lazy))) is tuple
    assert calls == [1]  # computed once
