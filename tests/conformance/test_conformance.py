"""One meaning for every condition (``policy.semantics``): a table of conditions, households
and the three-valued result each must have, run against every backend.

Each row is a condition (every operator and function of the language, with unknown facts), a
household, the evaluation date and the result: true, false or unknown (None). The rows become
the rules of one rule-set version, and that version is evaluated by

- the interactive engine (``policy.evaluation`` closures over ``policy.semantics``, and the
  explanation tree, whose root must have the same result),
- durable_rules (which rules fire: exactly the true ones),
- the vectorised backend (polars, ``engine.batch``),
- static validation (``policy.validation``: its reading of a condition at a point of fact
  values), for the rows without unknown facts, and
- what-would-change (``engine.whatif``): its status of the household, and each change it
  suggests for a row that is not true, applied, makes the row true.

A value of an expression is checked through a comparison (``round(x, 2) == 3333.33``), so each
row has one answer every backend must give; ``VALUES`` checks values themselves, as amounts
(the interactive engine exactly, its tree, the vectorised backend to the cent).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

import pytest

from engine.batch import screen_households
from engine.determine import determine
from engine.evaluator import fire, load
from engine.results import Status
from engine.tree import build
from engine.values import Bindings, evaluate
from engine.whatif import _status as whatif_status
from engine.whatif import changes_for
from policy.catalog import VersionRef
from policy.document import compile_document, load_document
from policy.exact import Number
from policy.facts import derive, parse_household
from policy.semantics import QUANTIFIERS, UNKNOWN
from policy.validation import _holds

AS_OF = date(2024, 6, 1)
PARAMS = {"line": 6000, "half": 0.5, "zero": 0, "band": 1.5}


class Row(NamedTuple):
    condition: str
    household: dict[str, Any]   # overrides of the base household
    expected: bool | None       # None: unknown
    per: str = "household"
    as_of: date = AS_OF


def born(*births: str) -> dict[str, Any]:
    return {"members": [{"id": f"m{i + 1}", "birthDate": b} for i, b in enumerate(births)]}


def hh(members: int = 1, **facts: Any) -> dict[str, Any]:
    ages = facts.pop("ages", None) or [44] * members
    out: dict[str, Any] = {"members": [
        {"id": f"m{i + 1}", "birthDate": date(AS_OF.year - age, 1, 1).isoformat()}
        for i, age in enumerate(ages)]}
    out.update(facts)
    return out


TABLE: list[Row] = [
    # comparisons, at and beside the bound
    Row("annualNetIncome < line", hh(annualNetIncome=5999.99), True),
    Row("annualNetIncome < line", hh(annualNetIncome=6000), False),
    Row("annualNetIncome <= line", hh(annualNetIncome=6000), True),
    Row("annualNetIncome <= line", hh(annualNetIncome=6000.01), False),
    Row("annualNetIncome > line", hh(annualNetIncome=6000), False),
    Row("annualNetIncome > line", hh(annualNetIncome=6000.01), True),
    Row("annualNetIncome >= line", hh(annualNetIncome=6000), True),
    Row("annualNetIncome == 6000", hh(annualNetIncome=6000), True),
    Row("annualNetIncome != 6000", hh(annualNetIncome=6000), False),
    Row("annualNetIncome != 6000", hh(annualNetIncome=0), True),
    # an unknown operand leaves a comparison unknown, whatever the operator
    Row("previousAnnualNetIncome < line", hh(), None),
    Row("previousAnnualNetIncome >= line", hh(), None),
    Row("previousAnnualNetIncome == 6000", hh(), None),
    Row("previousAnnualNetIncome != 6000", hh(), None),
    Row("previousAnnualNetIncome < line", hh(previousAnnualNetIncome=100), True),
    # arithmetic
    Row("annualNetIncome + disasterLoss == 7000.5", hh(annualNetIncome=7000.25,
                                                       disasterLoss=0.25), True),
    Row("annualNetIncome - accidentLoss < 0", hh(annualNetIncome=10, accidentLoss=10.01), True),
    Row("annualNetIncome * half == 3000", hh(annualNetIncome=6000), True),
    Row("annualNetIncome / householdSize == 2000", hh(3, annualNetIncome=6000), True),
    Row("-annualNetIncome < 0", hh(annualNetIncome=1), True),
    Row("-annualNetIncome < 0", hh(annualNetIncome=0), False),
    Row("previousAnnualNetIncome + 1 > 0", hh(), None),
    Row("previousAnnualNetIncome - 1 < 0", hh(), None),
    Row("previousAnnualNetIncome * half > 0", hh(), None),
    Row("previousAnnualNetIncome * zero == 0", hh(), None),
    Row("previousAnnualNetIncome / 2 > 0", hh(), None),
    Row("annualNetIncome / previousAnnualNetIncome > 0", hh(annualNetIncome=5), None),
    Row("-previousAnnualNetIncome < 0", hh(), None),
    Row("householdMedicalOutOfPocket == 300.5",
        {"members": [{"id": "m1", "birthDate": "1980-01-01", "medicalOutOfPocket": 100.25},
                     {"id": "m2", "birthDate": "1990-01-01", "medicalOutOfPocket": 200.25}]},
        True),
    # division by zero is unknown, not infinite
    Row("annualNetIncome / disasterLoss > 1", hh(annualNetIncome=5), None),
    Row("annualNetIncome / zero > 1", hh(annualNetIncome=5), None),
    Row("annualNetIncome / zero > 1 or dibao", hh(annualNetIncome=5, dibao=True), True),
    Row("annualNetIncome / zero > 1 and dibao", hh(annualNetIncome=5), False),
    # functions
    Row("min(annualNetIncome, 5000) == 5000", hh(annualNetIncome=6000), True),
    Row("max(annualNetIncome, 5000, line) == 7000", hh(annualNetIncome=7000), True),
    Row("min(previousAnnualNetIncome, 5000) == 5000", hh(), None),
    Row("round(annualNetIncome / 3, 2) == 3333.33", hh(annualNetIncome=10000), True),
    Row("round(annualNetIncome, 0) == 3", hh(annualNetIncome=2.5), True),
    Row("round(annualNetIncome, 1) == 0.2", hh(annualNetIncome=0.15), True),
    Row("round(previousAnnualNetIncome, 0) == 3", hh(), None),
    Row("round(-annualNetIncome, 0) == -3", hh(annualNetIncome=2.5), True),
    Row("round(annualNetIncome / 8, 2) == 0.13", hh(annualNetIncome=1), True),
    Row("round(annualNetIncome, -2) == 1300", hh(annualNetIncome=1250), True),
    Row("max(previousAnnualNetIncome, 1) > 0", hh(), None),
    Row("round(annualNetIncome / zero, 2) == 0", hh(annualNetIncome=1), None),
    Row("monitoredSince <= addMonths(asOf, -6)",
        hh(monitored=True, monitoredSince="2023-12-01"), True),
    Row("monitoredSince <= addMonths(asOf, -6)",
        hh(monitored=True, monitoredSince="2023-12-02"), False),
    Row("monitoredSince <= addMonths(asOf, -6)", hh(), None),
    Row("addMonths(monitoredSince, 1) == asOf", hh(monitored=True, monitoredSince="2024-05-01"),
        True),
    Row("addMonths(monitoredSince, 1) == asOf", hh(), None),
    # calendar months clamp to the month's end (31 August - 6 months, in a leap year)
    Row("addMonths(monitoredSince, 6) == asOf", hh(monitored=True, monitoredSince="2023-08-31"),
        True, as_of=date(2024, 2, 29)),
    Row("addMonths(monitoredSince, 6) == asOf", hh(monitored=True, monitoredSince="2022-08-31"),
        True, as_of=date(2023, 2, 28)),
    Row("addMonths(asOf, -12) < monitoredSince", hh(monitored=True, monitoredSince="2023-02-28"),
        False, as_of=date(2024, 2, 29)),
    # ages: a year is full on the anniversary; 29 February's is 1 March in other years
    Row("age >= 18", born("2008-02-29"), False, "member", date(2026, 2, 28)),
    Row("age >= 18", born("2008-02-29"), True, "member", date(2026, 3, 1)),
    Row("age == 16", born("2008-02-29"), True, "member", date(2024, 2, 29)),
    Row("age == 15", born("2008-02-29"), True, "member", date(2024, 2, 28)),
    Row("age == 1", born("2023-02-28"), True, "member", date(2024, 2, 29)),
    Row("age == 0", born("2023-03-01"), True, "member", date(2024, 2, 29)),
    Row("any member(age >= 60)", born("1964-02-29", "1990-01-01"), False,
        as_of=date(2024, 2, 28)),
    Row("any member(age >= 60)", born("1964-02-29", "1990-01-01"), True,
        as_of=date(2024, 2, 29)),
    # sets and ranges
    Row("housingSafetyGrade in {C, D}", hh(housingSafetyGrade="C"), True),
    Row("housingSafetyGrade in {C, D}", hh(), False),
    Row("housingSafetyGrade not in {C, D}", hh(), True),
    Row("annualNetIncome between 5000 and line", hh(annualNetIncome=6000), True),
    Row("annualNetIncome between 5000 and line", hh(annualNetIncome=6000.01), False),
    Row("annualNetIncome between 5000 and line", hh(annualNetIncome=5000), True),
    Row("previousAnnualNetIncome between 0 and 1", hh(), None),
    # membership: unknown only when the subject is; an unknown item equals nothing
    Row("previousAnnualNetIncome in {1, 2}", hh(), None),
    Row("previousAnnualNetIncome not in {1, 2}", hh(), None),
    Row("annualNetIncome in {previousAnnualNetIncome, 5}", hh(annualNetIncome=5), True),
    Row("annualNetIncome in {previousAnnualNetIncome, 5}", hh(annualNetIncome=6), False),
    Row("annualNetIncome not in {previousAnnualNetIncome, 5}", hh(annualNetIncome=6), True),
    Row("annualNetIncome in {line, 5000.01}", hh(annualNetIncome=5000.01), True),
    Row("annualNetIncome / zero in {1, 2}", hh(annualNetIncome=1), None),
    Row("schoolStage in {PRIMARY, JUNIOR}", hh(1), False, "member"),
    # Kleene logic
    Row("dibao or previousAnnualNetIncome < 1", hh(dibao=True), True),
    Row("dibao or previousAnnualNetIncome < 1", hh(), None),
    Row("dibao and previousAnnualNetIncome < 1", hh(), False),
    Row("dibao and previousAnnualNetIncome < 1", hh(dibao=True), None),
    Row("not (previousAnnualNetIncome < 1)", hh(), None),
    Row("not dibao", hh(), True),
    Row("true and not false", hh(), True),
    Row("not (annualNetIncome / zero > 1)", hh(annualNetIncome=5), None),
    Row("dibao or not (previousAnnualNetIncome < 1)", hh(), None),
    Row("(dibao or previousAnnualNetIncome < 1) and not monitored", hh(dibao=True), True),
    Row("not (dibao and previousAnnualNetIncome < 1)", hh(), True),
    # derived facts
    Row("perCapitaNetIncome < line", hh(2, annualNetIncome=11999.98), True),
    Row("perCapitaIncomeAfterRigid < line", hh(2, annualNetIncome=14000, accidentLoss=2000.02),
        True),
    Row("incomeDropRatio >= half", hh(annualNetIncome=5000, previousAnnualNetIncome=10000), True),
    Row("incomeDropRatio >= half", hh(annualNetIncome=5000), None),
    Row("incomeDropRatio >= half", hh(annualNetIncome=5000, previousAnnualNetIncome=0), None),
    Row("economicHardship", hh(dibaoMarginal=True), True),
    # quantifiers
    Row("any member(age >= 60)", hh(2, ages=[30, 65]), True),
    Row("all members(age >= 60)", hh(2, ages=[30, 65]), False),
    Row("all members(age >= 18)", hh(2, ages=[30, 65]), True),
    Row("any member(disabled)", hh(2), False),
    # an unknown body: any member is unknown unless one member holds, all members unless one
    # does not
    Row("any member(age >= 60 or previousAnnualNetIncome > 0)", hh(2, ages=[30, 40]), None),
    Row("any member(age >= 60 or previousAnnualNetIncome > 0)", hh(2, ages=[30, 65]), True),
    Row("all members(age >= 60 and previousAnnualNetIncome > 0)", hh(2, ages=[30, 65]), False),
    Row("all members(age >= 18 and previousAnnualNetIncome > 0)", hh(2, ages=[30, 65]), None),
    # member-level rules
    Row("age between 6 and 15 and schoolStage == NONE", hh(1, ages=[15]), True, "member"),
    Row("age >= 16", hh(1, ages=[15]), False, "member"),
    Row("disabilityGrade <= 2 and disabled", hh(1), False, "member"),
    Row("schoolStage in {PRIMARY, JUNIOR} or previousAnnualNetIncome > 0", hh(1), None,
        "member"),
]


# Expression values: (expression, household, the exact value), each as a rule that always
# applies with the expression as its amount.
class ValueRow(NamedTuple):
    expression: str
    household: dict[str, Any]
    value: Number | None        # None: unknown (no amount)


VALUES: list[ValueRow] = [
    ValueRow("annualNetIncome / householdSize", hh(3, annualNetIncome=20000),
             Fraction(20000, 3)),
    ValueRow("round(annualNetIncome / householdSize, 2)", hh(3, annualNetIncome=20000),
             Decimal("6666.67")),
    ValueRow("annualNetIncome * 0.1 + disasterLoss", hh(annualNetIncome=0.3, disasterLoss=0.02),
             Decimal("0.05")),
    ValueRow("max(0, perCapitaIncomeAfterRigid)", hh(2, annualNetIncome=100, accidentLoss=300),
             0),
    ValueRow("min(annualNetIncome, line) - 0.01", hh(annualNetIncome=7000), Decimal("5999.99")),
    ValueRow("round(annualNetIncome * half, 0)", hh(annualNetIncome=5), Decimal("3")),
    ValueRow("previousAnnualNetIncome - 1", hh(), None),
    ValueRow("annualNetIncome / zero", hh(annualNetIncome=1), None),
]


def _program() -> Any:
    rules = [
        {"id": f"r{i}", "outcome": f"conformance.c{i}", "title": {"zh": "c", "en": "c"},
         "per": row.per, "condition": row.condition,
         "reason": {"zh": "r", "en": "r"}, "citation": {"document": "t"}}
        for i, row in enumerate(TABLE)
    ]
    rules += [
        {"id": f"v{k}", "outcome": f"conformance.v{k}", "title": {"zh": "v", "en": "v"},
         "per": "household", "condition": "true", "amount": row.expression, "period": "YEAR",
         "reason": {"zh": "v", "en": "v"}, "citation": {"document": "t"}}
        for k, row in enumerate(VALUES)
    ]
    doc = {
        "program": "conformance", "version": 1, "title": {"zh": "一致性", "en": "conformance"},
        "owner": "test", "effectiveFrom": "2023-01-01",
        "parameters": {k: {"value": v, "unit": "x", "citation": {"document": "t"}}
                       for k, v in PARAMS.items()},
        "rules": rules,
    }
    return compile_document(load_document(doc))


PROGRAM = _program()
REF = VersionRef("conformance-v1", "conformance", 1, "PUBLISHED", date(2023, 1, 1), None,
                 PROGRAM.content_hash)
STATUS = {True: Status.GRANTED, False: Status.NOT_GRANTED, None: Status.UNDETERMINED}
IDS = [f"{i}: {row.condition} {row.expected} {row.as_of}" for i, row in enumerate(TABLE)]
VALUE_IDS = [f"{k}: {row.expression}" for k, row in enumerate(VALUES)]


def household(i: int) -> dict[str, Any]:
    return {"id": f"h{i}", **TABLE[i].household}


def _facts(i: int) -> Any:
    return derive(parse_household(household(i), TABLE[i].as_of), TABLE[i].as_of)


def _bindings(i: int) -> tuple[Bindings, tuple[str, ...]]:
    facts = _facts(i)
    contexts = [facts.member_context(m) for m in range(len(facts.members))]
    scope = (Bindings(facts.household, PROGRAM.parameters, contexts)
             if TABLE[i].per == "household" else Bindings(contexts[0], PROGRAM.parameters))
    return scope, facts.member_ids


def test_every_operator_and_function_has_a_row() -> None:
    text = " ".join(row.condition for row in TABLE)
    for word in ("<", "<=", ">", ">=", "==", "!=", "+", "-", "*", "/", "min(", "max(", "round(",
                 "addMonths(", " in {", " not in {", " between ", " and ", " or ", "not ",
                 "any member(", "all members(", "age "):
        assert word in text, word
    assert {row.expected for row in TABLE} == {True, False, None}
    assert any(row.as_of.month == 2 and row.as_of.day == 29 for row in TABLE)
    # ... and a row where it meets an unknown (``age`` never does: a birth date is required).
    unknown = " ".join(row.condition for row in TABLE if row.expected is None)
    for word in ("<", "<=", ">", ">=", "==", "!=", "+", "-", "*", "/", "min(", "max(", "round(",
                 "addMonths(", " in {", " not in {", " between ", " and ", " or ", "not ",
                 "any member(", "all members("):
        assert word in unknown, word


@pytest.mark.parametrize("i", range(len(TABLE)), ids=IDS)
def test_interactive_engine_and_its_tree(i: int) -> None:
    row = TABLE[i]
    det = determine(household(i), row.as_of, [(PROGRAM, REF)])
    statuses = {o.status for o in det.outcomes() if o.code == f"conformance.c{i}"}
    assert statuses == {STATUS[row.expected]}
    scope, ids = _bindings(i)
    value = evaluate(PROGRAM.rules[i].condition, scope)
    assert (None if value is UNKNOWN else value) is row.expected
    assert build(PROGRAM.rules[i].condition, scope, ids).result is row.expected


@pytest.mark.parametrize("i", range(len(TABLE)), ids=IDS)
def test_durable_rules_fires_exactly_the_true_rows(i: int) -> None:
    verdicts = fire(load(PROGRAM), _facts(i))
    member = None if TABLE[i].per == "household" else 0
    assert verdicts.fired(i, member) is (TABLE[i].expected is True)


def test_vectorised_backend() -> None:
    by_date: dict[date, list[int]] = defaultdict(list)
    for i, row in enumerate(TABLE):
        by_date[row.as_of].append(i)
    got: dict[tuple[str, str], str] = {}
    for as_of, rows in by_date.items():
        frame = screen_households([household(i) for i in rows], as_of, [(PROGRAM, REF)])
        got.update({(r["household_id"], r["code"]): r["status"]
                    for r in frame.select("household_id", "code", "status").iter_rows(
                        named=True)})
    wrong = [IDS[i] for i, row in enumerate(TABLE)
             if got[(f"h{i}", f"conformance.c{i}")] != STATUS[row.expected].value]
    assert wrong == []


def _point(i: int, member: int) -> dict[str, Any]:
    facts = _facts(i)
    return {**facts.household, **facts.members[member]}


@pytest.mark.parametrize("i", range(len(TABLE)), ids=IDS)
def test_static_validation_reads_rows_alike(i: int) -> None:
    """``policy.validation`` reads a condition at a point of fact values (the points it
    enumerates to find overlapping and missing tiers): it must agree with the engine (its
    points have no unknown facts, but a division by zero is unknown there too, so it reads
    unknown facts as well). It reads a quantified body for one member at a time: a quantifier
    row is read member by member and the members' values combined as the language does."""
    row = TABLE[i]
    node = PROGRAM.rules[i].condition
    quantified = row.condition.startswith(("any member", "all members"))
    if quantified:
        members = len(_facts(i).members)
        held = QUANTIFIERS[node.kind]([_holds(node.body, _point(i, m), PROGRAM.parameters)
                                       for m in range(members)])
    else:
        held = _holds(node, _point(i, 0), PROGRAM.parameters)
    assert (None if held is UNKNOWN else held) is row.expected


_HOUSEHOLD_ROWS = [i for i, row in enumerate(TABLE) if row.per == "household"]


@pytest.mark.parametrize("i", _HOUSEHOLD_ROWS, ids=[IDS[i] for i in _HOUSEHOLD_ROWS])
def test_what_would_change_reads_rows_alike(i: int) -> None:
    """What-would-change decides a changed household's status itself (through the status
    rules): it must read every row alike; and each change it suggests for a row that is not
    true makes the row true when applied (the vectorised backend's and durable_rules' verdicts
    on the changed household are checked by the tests above on their own rows)."""
    row = TABLE[i]
    code = f"conformance.c{i}"
    status = whatif_status(PROGRAM, code, _facts(i), None)
    assert (None if status is UNKNOWN else status) is row.expected
    if row.expected is True:
        return
    hh = parse_household(household(i), row.as_of)
    for change in changes_for(PROGRAM, code, None, hh, row.as_of):
        changed = _apply(household(i), change.fact, change.operator, change.value)
        if changed is None:
            continue
        det = determine(changed, row.as_of, [(PROGRAM, REF)])
        (outcome,) = [o for o in det.outcomes() if o.code == code]
        assert outcome.status is Status.GRANTED, (change.text_en, outcome.status)


def _apply(data: dict[str, Any], fact: str, op: str, value: str) -> dict[str, Any] | None:
    """The household with the change applied at the value nearest its bound (None for
    "decided once it is known" with any value: no single value to apply)."""
    parsed = json.loads(value)
    if op == "known":
        return None
    if op in ("between", "in"):
        parsed = parsed[0]
    if isinstance(parsed, str) and fact in ("monitoredSince",):
        day = date.fromisoformat(parsed)
        step = {"<": -1, ">": 1}.get(op, 0)
        parsed = date.fromordinal(day.toordinal() + step).isoformat()
    elif isinstance(parsed, int | float) and not isinstance(parsed, bool):
        cents = round(Decimal(str(parsed)) * 100) + {"<": -1, ">": 1}.get(op, 0)
        parsed = float(Decimal(cents) / 100)
    return {**data, fact: parsed}


@pytest.mark.parametrize("k", range(len(VALUES)), ids=VALUE_IDS)
def test_values(k: int) -> None:
    row = VALUES[k]
    data = {"id": f"v{k}", **row.household}
    facts = derive(parse_household(data, AS_OF), AS_OF)
    contexts = [facts.member_context(m) for m in range(len(facts.members))]
    scope = Bindings(facts.household, PROGRAM.parameters, contexts)
    rule = PROGRAM.rules[len(TABLE) + k]
    assert rule.amount is not None
    value = evaluate(rule.amount, scope)
    assert (None if value is UNKNOWN else value) == row.value
    if row.value is not None:
        assert type(value) is type(row.value) or isinstance(row.value, int)
    # The tree shows the same exact value ("20000/3 (≈6666.67)", "5999.99"), or none.
    tree = build(rule.amount, scope, facts.member_ids)
    shown = None if tree.actual is None else Fraction(tree.actual.split()[0])
    assert tree.result is None
    assert shown == (None if row.value is None else Fraction(row.value))
    det = determine(data, AS_OF, [(PROGRAM, REF)])
    (outcome,) = [o for o in det.outcomes() if o.code == f"conformance.v{k}"]
    cents = None if row.value is None else float(round(Fraction(row.value) * 100)) / 100
    assert outcome.amount == cents
    frame = screen_households([data], AS_OF, [(PROGRAM, REF)])
    (batch,) = frame.filter(frame["code"] == f"conformance.v{k}")["amount"].to_list()
    assert batch == cents


def test_what_would_change_has_changes_to_check() -> None:
    """The test above is not vacuous: most rows that are not true have changes it applies."""
    applied = 0
    for i in _HOUSEHOLD_ROWS:
        row = TABLE[i]
        if row.expected is True:
            continue
        hh = parse_household(household(i), row.as_of)
        applied += sum(_apply(household(i), c.fact, c.operator, c.value) is not None
                       for c in changes_for(PROGRAM, f"conformance.c{i}", None, hh, row.as_of))
    assert applied >= 25
