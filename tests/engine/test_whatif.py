"""What would change the answer: every suggested single-fact change, applied to the household,
grants the outcome when the household is evaluated again, and a change just short of it does
not."""

from __future__ import annotations

import copy
import json
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.determine import determine
from engine.results import Determination, FactChange, Status
from engine.whatif import what_would_change
from policy.schema import ENUMS, FACTS, Kind
from services.rulesets import load_catalog
from tests.strategies import households

AS_OF = date(2024, 6, 1)
VERSIONS = load_catalog().in_force(AS_OF)
_PATH = re.compile(r"^(?:members\[(\d+)\]\.)?(\w+)$")


def with_value(hh: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    m = _PATH.match(path)
    assert m is not None, path
    out = copy.deepcopy(hh)
    where = out if m.group(1) is None else out["members"][int(m.group(1))]
    where[m.group(2)] = value
    return out


def status(hh: dict[str, Any], code: str, member_id: str | None) -> Status:
    det = determine(hh, AS_OF, VERSIONS)
    return next(o.status for o in det.outcomes()
                if o.code == code and o.member_id == member_id)


def _step(text: str) -> tuple[Any, Any]:
    """A bound as (value, the next value up); money in cents, dates in days."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text), timedelta(days=1)
    return Decimal(text), Decimal("0.01")


def _native(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date) else float(v)


def closed_set(path: str) -> tuple[Any, ...]:
    """Every value of a yes/no or closed-set fact."""
    m = _PATH.match(path)
    assert m is not None, path
    fact = FACTS[m.group(2)]
    if fact.type.kind is Kind.BOOL:
        return (True, False)
    if fact.name == "disabilityGrade":
        return (1, 2, 3, 4)
    assert fact.type.kind is Kind.ENUM and fact.type.enum is not None, path
    # NONE stands for a kind left out in conditions; household JSON leaves the field out.
    return tuple(v for v in ENUMS[fact.type.enum]
                 if not (fact.name == "disabilityKind" and v == "NONE"))


def _text(v: Any) -> str:
    """A value as ``FactChange.current`` shows it."""
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def inside_and_outside(change: FactChange) -> tuple[list[Any], list[Any]]:
    """Values the change says grant, and values just short of it (which must not): for a
    closed set, the values it leaves out (but the current one)."""
    raw = json.loads(change.value)
    if change.operator in ("==", "in"):
        grants = raw if isinstance(raw, list) else [raw]
        return grants, [v for v in closed_set(change.fact)
                        if v not in grants and _text(v) != change.current]
    if change.operator == "between":
        (lo, step), (hi, _) = _step(str(raw[0])), _step(str(raw[1]))
        return [_native(lo), _native(hi)], [_native(lo - step), _native(hi + step)]
    bound, step = _step(change.value.strip('"'))
    match change.operator:
        case "<":
            return [_native(bound - step)], [_native(bound)]
        case "<=":
            return [_native(bound)], [_native(bound + step)]
        case ">":
            return [_native(bound + step)], [_native(bound)]
        case ">=":
            return [_native(bound)], [_native(bound - step)]
    raise AssertionError(change)


def check_changes(hh: dict[str, Any], det: Determination, pick: int) -> int:
    """Check the suggestions of every ``pick``-th outcome not granted; returns how many."""
    checked = 0
    open_ = [o for o in det.outcomes() if o.status is not Status.GRANTED]
    for outcome in open_[pick % 7::7]:
        for change in what_would_change(det, outcome):
            grants, short = inside_and_outside(change)
            for v in grants:
                changed = with_value(hh, change.fact, v)
                assert status(changed, outcome.code, outcome.member_id) is Status.GRANTED, (
                    outcome.code, outcome.member_id, change.text_en, v)
            for v in short:
                if isinstance(v, float) and v < 0:
                    continue
                changed = with_value(hh, change.fact, v)
                assert status(changed, outcome.code, outcome.member_id) is not Status.GRANTED, (
                    outcome.code, outcome.member_id, change.text_en, v)
            checked += 1
    return checked


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hh=households(AS_OF, max_members=4), pick=st.integers(0, 6))
def test_each_change_grants_and_just_short_does_not(hh: dict[str, Any], pick: int) -> None:
    det = determine(hh, AS_OF, VERSIONS)
    check_changes(hh, det, pick)


def _outcome(det: Determination, code: str, member_id: str | None = None) -> Any:
    return next(o for o in det.outcomes() if o.code == code and o.member_id == member_id)


def test_income_below_the_line_through_the_per_capita_arithmetic() -> None:
    hh = {"id": "x", "annualNetIncome": 18600,
          "members": [{"id": f"m{i}", "birthDate": "1980-01-01"} for i in range(3)]}
    det = determine(hh, AS_OF, VERSIONS)
    changes = what_would_change(det, _outcome(det, "monitoring.marginal_at_risk"))
    income = next(c for c in changes if c.fact == "annualNetIncome")
    assert (income.operator, income.value, income.current) == ("<", "18000.00", "18600.00")
    assert income.text_en == "granted if annualNetIncome < 18000.00 (now 18600.00)"
    assert income.text_zh == "家庭年纯收入低于 18000.00 元（现为 18600.00 元）"
    assert check_changes(hh, det, 0) + check_changes(hh, det, 1) > 0


def test_a_member_fact_from_a_closed_set() -> None:
    hh = {"id": "x", "povertyAlleviated": True, "annualNetIncome": 30000,
          "members": [{"id": "m1", "birthDate": "1980-01-01"},
                      {"id": "m2", "birthDate": "2012-01-01"}]}
    det = determine(hh, AS_OF, VERSIONS)
    (change,) = what_would_change(det, _outcome(det, "education.senior_grant", "m2"))
    assert (change.fact, change.operator, change.value) == (
        "members[1].schoolStage", "==", '"SENIOR"')


def test_an_unknown_fact_decides_it_once_known() -> None:
    # Per capita 7,000 (at least the line, under 1.5 times it), no rigid expenses: sudden
    # hardship turns on the drop ratio, which needs last year's income.
    hh = {"id": "x", "annualNetIncome": 14000,
          "members": [{"id": "m1", "birthDate": "1980-01-01"},
                      {"id": "m2", "birthDate": "1982-01-01"}]}
    det = determine(hh, AS_OF, VERSIONS)
    outcome = _outcome(det, "monitoring.sudden_hardship")
    assert outcome.status is Status.UNDETERMINED
    (change,) = [c for c in what_would_change(det, outcome)
                 if c.fact == "previousAnnualNetIncome"]
    assert (change.operator, change.value, change.current) == (">=", "28000.00", None)
    assert change.text_en.startswith("decided once previousAnnualNetIncome is known")


def test_no_single_fact_and_granted_outcomes_give_no_changes() -> None:
    hh = {"id": "x", "members": [{"id": "m1", "birthDate": "1980-01-01"}]}
    det = determine(hh, AS_OF, VERSIONS)
    # A working-age adult with no certificate: rehabilitation needs a child's age and a
    # disability (grade and kind), never one fact.
    assert what_would_change(det, _outcome(det, "disability.child_rehabilitation", "m1")) == ()
    granted = next(o for o in det.outcomes() if o.status is Status.GRANTED)
    assert what_would_change(det, granted) == ()


def test_every_changeable_fact_of_the_catalogue_is_suggested() -> None:
    """The facts a change may name come from the fact catalogue: the facts programs 5 to 7
    added (employmentStatus, temporaryAssistanceLast12Months) are suggested like the others,
    with the catalogue's labels."""
    hh = {"id": "x", "povertyAlleviated": True, "annualNetIncome": 3000, "accidentLoss": 500,
          "temporaryAssistanceLast12Months": True,
          "members": [{"id": "m1", "birthDate": "1990-01-01", "employmentStatus": "EMPLOYED"}]}
    det = determine(hh, AS_OF, VERSIONS)
    job = what_would_change(det, _outcome(det, "employment.public_welfare_job", "m1"))
    assert [(c.fact, c.operator, c.value) for c in job] == [
        ("members[0].employmentStatus", "==", '"UNEMPLOYED"')]
    # An enumeration value by its label in the catalogue, the current one too.
    assert job[0].text_zh == "成员 m1 的就业状态为 失业（有就业意愿）（现为 在业）"
    assert status(with_value(hh, "members[0].employmentStatus", "UNEMPLOYED"),
                  "employment.public_welfare_job", "m1") is Status.GRANTED
    assistance = [o for o in det.outcomes() if o.code.startswith("temporary_assistance.")
                  and o.status is not Status.GRANTED]
    suggested = {c.fact for o in assistance for c in what_would_change(det, o)}
    assert "temporaryAssistanceLast12Months" in suggested
    assert not {"birthDate", "regionCode"} & {c.fact.split(".")[-1] for o in det.outcomes()
                                               for c in what_would_change(det, o)}
