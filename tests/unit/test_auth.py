"""The region rule (services.auth.in_region) and the decisions built on it, without a database:
a region covers itself and the codes below it after a ``-``, never a neighbouring code that
merely starts with the same characters."""

from __future__ import annotations

import pickle
import re

import pytest

from services.auth import Policy, Principal, covered_codes, in_region
from services.errors import Forbidden, NotFoundError

VILLAGE = Principal(name="cw-001", role="caseworker", regions=frozenset({"371300-001"}))
COUNTY = Principal(name="cw-county", role="caseworker", regions=frozenset({"371300"}))


@pytest.mark.parametrize(("code", "regions", "inside"), [
    ("371300-001", {"371300-001"}, True),
    ("371300-001-02", {"371300-001"}, True),
    ("371300-001", {"371300"}, True),
    ("371300-0011", {"371300-001"}, False),  # same leading digits, another village
    ("371300-00", {"371300-001"}, False),
    ("3713001", {"371300"}, False),
    ("371300", {"371300-001"}, False),  # a village does not cover its county
    ("371300-002", {"371300-001", "371300-002"}, True),
    ("371300-001", set(), False),
])
def test_in_region(code: str, regions: set[str], inside: bool) -> None:
    assert in_region(code, regions) is inside


def test_covered_codes_keeps_neighbours_out() -> None:
    stored = ["371300-001", "371300-0011", "371300-001-02", "371300-002", "3713001"]
    assert covered_codes(["371300-001"], stored) == ["371300-001", "371300-001-02"]
    assert covered_codes(["371300"], stored) == [
        "371300", "371300-001", "371300-001-02", "371300-0011", "371300-002"]
    # A region asked for is kept even when nothing is stored there yet.
    assert covered_codes(["371300-009"], stored) == ["371300-009"]


def test_policy_reads_and_writes_only_inside_the_region() -> None:
    policy = Policy(dev=False)
    policy.write_household(VILLAGE, "371300-001")
    policy.read_household(VILLAGE, "371300-001", "household", "h")
    with pytest.raises(Forbidden):
        policy.write_household(VILLAGE, "371300-0011")
    with pytest.raises(NotFoundError):
        policy.read_household(VILLAGE, "371300-0011", "household", "h")
    assert policy.household_visible(VILLAGE, "371300-0011") is False
    assert policy.household_visible(COUNTY, "371300-0011") is True
    policy.write_household(COUNTY, "371300-0011")


def _refusals(p: Principal) -> list[Forbidden]:
    """Every refusal of every decision for ``p`` (another department's rule set, another
    region's household, a case step of another role)."""
    policy = Policy(dev=False)
    checks = [
        policy.evaluate, policy.read_households, policy.write_households, policy.edit_rule_sets,
        policy.review_rule_sets, policy.submit_rule_sets, policy.read_audit,
        policy.ingest_events, policy.read_alerts, policy.read_cases, policy.write_cases,
        policy.may_act_on_cases,
        lambda p: policy.write_cases(p, "record visits"),
        lambda p: policy.may_approve(p, "publish"),
        lambda p: policy.approve(p, "其他部门", "retire"),
        lambda p: policy.edit_rule_set(p, "其他部门"),
        lambda p: policy.submit(p, "其他部门"),
        lambda p: policy.write_household(p, "999999-001"),
        lambda p: policy.resolve_alert(p, "371300-001", "a1"),
        lambda p: policy.act_on_case(p, "371300-001", "c1", "COUNTY_APPROVAL"),
    ]
    refused = []
    for check in checks:
        try:
            check(p)
        except Forbidden as exc:
            refused.append(exc)
        except NotFoundError:
            pass
    return refused


@pytest.mark.parametrize("role", ["caseworker", "policy_editor", "policy_approver", "auditor",
                                  "api_client", "township_officer", "county_officer"])
def test_every_refusal_says_why_in_chinese_too(role: str) -> None:
    p = Principal(name="u", role=role, regions=frozenset({"371300-001"}), department="县民政局")
    refused = _refusals(p)
    assert refused  # every role is refused something
    for exc in refused:
        assert exc.zh and re.search(r"[\u4e00-\u9fff]", exc.zh), exc.message
        assert role not in exc.zh  # the role by its Chinese name
        again = pickle.loads(pickle.dumps(exc))  # as from an impact preview's process
        assert (again.message, again.zh, again.code) == (exc.message, exc.zh, exc.code)
