"""How durable_rules is contained: one registration per version, no background threads, sessions
left empty after each evaluation, fact identities that never collide."""

from __future__ import annotations

import threading
from datetime import date

import durable_rules_engine as dr
import pytest

from engine import durable
from engine.compiler import compile_program
from engine.determine import determine
from engine.evaluator import load
from policy.catalog import Catalog

AS_OF = date(2024, 6, 1)
HOUSEHOLD = {"id": "h", "annualNetIncome": 5000,
             "members": [{"id": f"m{i}", "birthDate": "1990-01-01"} for i in range(20)]}


def test_each_version_is_registered_once(catalog: Catalog) -> None:
    versions = catalog.in_force(AS_OF)
    determine(HOUSEHOLD, AS_OF, versions)
    before = durable.registered_count()
    for _ in range(5):
        determine(HOUSEHOLD, AS_OF, versions)
    assert durable.registered_count() == before
    program = versions[0][0]
    assert load(program) is load(program)


def test_no_background_threads(catalog: Catalog) -> None:
    # Threads that were running before (an earlier test's, ending meanwhile) do not count: only
    # a thread the determination started and left running does.
    before = set(threading.enumerate())
    determine(HOUSEHOLD, AS_OF, catalog.in_force(AS_OF))
    assert set(threading.enumerate()) - before == set()


def test_sessions_are_left_empty(catalog: Catalog) -> None:
    program, _ = catalog.in_force(AS_OF, ["monitoring"])[0]
    loaded = load(program)
    determine(HOUSEHOLD, AS_OF, [(program, catalog.in_force(AS_OF, ["monitoring"])[0][1])])
    sid = durable._SESSION_OF[loaded.handle]
    assert dr.get_facts(loaded.handle, sid) == "[]"


def test_more_evaluations_than_the_session_limit(catalog: Catalog) -> None:
    # durable_rules allows 1024 live sessions per ruleset; evaluations never hold one.
    versions = catalog.in_force(AS_OF, ["monitoring"])
    results = {determine(HOUSEHOLD, AS_OF, versions).flagged_for_monitoring for _ in range(1500)}
    assert results == {True}


def test_fact_ids_of_a_full_household_all_fire() -> None:
    # All 21 fact ids (household + 20 members) are distinct to durable_rules: each fires.
    from policy.document import compile_document, load_document

    doc = load_document({
        "program": "idcheck", "version": 1, "title": {"zh": "检查", "en": "check"},
        "owner": "x",
        "rules": [
            {"id": "every", "outcome": "idcheck.member", "title": {"zh": "成员", "en": "member"},
             "per": "member", "condition": "age >= 0", "reason": {"zh": "是", "en": "yes"},
             "citation": {"document": "test"}},
            {"id": "hh", "outcome": "idcheck.household", "title": {"zh": "户", "en": "hh"},
             "per": "household", "condition": "householdSize >= 1",
             "reason": {"zh": "是", "en": "yes"}, "citation": {"document": "test"}},
        ],
    })
    program = compile_document(doc)
    assert compile_program(program).definition
    from engine.evaluator import fire
    from policy.facts import derive, parse_household

    facts = derive(parse_household(HOUSEHOLD, AS_OF), AS_OF)
    verdicts = fire(load(program), facts)
    assert verdicts.household == frozenset({1})
    assert verdicts.members == tuple(frozenset({0}) for _ in range(20))


def test_numbers_that_print_with_an_exponent(catalog: Catalog) -> None:
    # durable_rules' JSON parser crashes the process on exponents (1e-05): facts are written
    # in plain decimal notation. Tiny amounts and ratios must evaluate, and agree with the tree
    # (a drop ratio of 1/3000001 is 3.3e-07 as a double).
    data = {
        "id": "h", "annualNetIncome": 30000.0, "previousAnnualNetIncome": 30000.01,
        "dibao": True,
        "members": [{"id": "a", "birthDate": "1980-01-01", "medicalOutOfPocket": 0.01},
                    {"id": "b", "birthDate": "1982-01-01", "medicalOutOfPocket": 123456789.5}],
    }
    det = determine(data, AS_OF, catalog.in_force(AS_OF))
    tier2 = [o for o in det.outcomes() if o.code == "medical.tier2" and o.member_id == "a"]
    assert tier2[0].status.value == "GRANTED"
    assert durable.dumps_fact({"id": "0", "x": 1e-05, "y": 1e16}) == \
        '{"id":"0","x":0.00001,"y":10000000000000000}'


def test_facts_that_are_not_finite_numbers_are_refused() -> None:
    # orjson writes NaN and infinities as null; the fact writer must still refuse them.
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(durable.DurableError):
            durable.dumps_fact({"id": "0", "x": bad})
    assert durable.dumps_fact({"id": "0", "n": 2**70, "s": "1e5 null"}) == \
        '{"id":"0","n":1180591620717411303424,"s":"1e5 null"}'
    assert durable.dumps_fact({"id": "0", "a": 1.5, "t": "中"}) == '{"id":"0","a":1.5,"t":"中"}'
