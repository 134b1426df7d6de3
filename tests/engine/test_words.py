"""Conditions in words (engine.words): a node of an explanation tree as a caseworker reads it."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings

from engine.determine import determine
from engine.results import ConditionNode
from engine.tree import walk
from engine.words import actual_text, node_text, value_text
from policy.document import document_labels
from policy.schema import ENUMS, FACTS, Kind
from services.rulesets import load_catalog
from tests.strategies import households

AS_OF = date(2024, 6, 1)
VERSIONS = load_catalog().in_force(AS_OF)


def node(expression: str, kind: str, result: bool | None = None, actual: str | None = None,
         expected: str | None = None, children: tuple[ConditionNode, ...] = (),
         names: tuple[tuple[str, str, str, bool], ...] = ()) -> ConditionNode:
    return ConditionNode(expression, kind, result, actual, expected, True, (), children, names)


# Words a version's document gives its parameters and definitions (``ConditionNode.names``).
INCOME_LINE = ("incomeLine", "监测收入标准", "Monitoring income line", True)
MIN_MONTHS = ("minMonitoredMonths", "最短监测期", "Minimum months under monitoring", False)
LOW_INCOME = ("lowIncome", "年人均纯收入低于监测标准",
              "Per-capita net income below the monitoring line", False)


# (the node, its words in Chinese and in English, its actual value in Chinese and in English)
CASES: list[tuple[ConditionNode, str, str, str | None, str | None]] = [
    (node("perCapitaNetIncome < incomeLine", "COMPARE", False, "6200.00", "< 6000.00"),
     "年人均纯收入低于 6,000.00 元", "Per-capita net income is below 6,000.00 yuan",
     "6,200.00 元", "6,200.00 yuan"),
    (node("schoolStage != NONE", "COMPARE", False, "NONE", "!= NONE"),
     "就学阶段不为不在学", "School stage is not Not in school", "不在学", "Not in school"),
    (node("housingSafetyGrade in {C, D}", "IN", False, "B", "in {C, D}"),
     "住房安全等级为以下之一：C级（局部危险）、D级（整体危险）",
     "Housing safety grade is one of Grade C (partly unsafe), Grade D (unsafe as a whole)",
     "B级（基本安全）", "Grade B (basically safe)"),
    (node("age between 0 and rehabMaxAge", "BETWEEN", False, "48", "between 0 and 6"),
     "年龄在 0 至 6 之间", "Age is between 0 and 6", "48", "48"),
    (node("monitoredSince <= addMonths(asOf, -minMonitoredMonths)", "COMPARE", None, None,
          "<= 2023-12-01"),
     "纳入监测日期不晚于 2023-12-01", "Monitored since is on or before 2023-12-01", None, None),
    (node("disabled", "FACT", False, "false"), "持证残疾人", "Disabled", "否", "no"),
    (node("not tekun", "NOT", True, "true"), "非特困人员", "not destitute person", "是", "yes"),
    # A yes/no fact with words of its own for "not so" in the catalogue is said by them.
    (node("not medicallyInsured", "NOT", False, "false"), "未参加基本医保",
     "Not medically insured", "否", "no"),
    (node("not drinkingWaterSafe", "NOT", True, "true",
          children=(node("drinkingWaterSafe", "FACT", False, "false"),)),
     "饮水不安全", "Drinking water not safe", "是", "yes"),
    (node("any member(not medicallyInsured)", "ANY_MEMBER", False, "false",
          children=(node("not medicallyInsured", "NOT", False, "false"),)),
     "任一成员：未参加基本医保", "some member: not medically insured", "否", "no"),
    (node("dibao and not temporaryAssistanceLast12Months", "AND", True, "true"),
     "低保户 且 近12个月未获临时救助",
     "Dibao household and no temporary assistance in the last 12 months", "是", "yes"),
    (node("any member(schoolAgeOutOfSchool)", "ANY_MEMBER", None, None),
     "任一成员：schoolAgeOutOfSchool", "some member: schoolAgeOutOfSchool", None, None),
    (node("povertyAlleviated or monitored and dibao", "OR", True, "true"),
     "脱贫户 或 （监测对象 且 低保户）",
     "Poverty-alleviated household or (monitored household and dibao household)", "是", "yes"),
    (node("(annualNetIncome - rigidExpenses) / householdSize", "ARITH", None, "4000.00"),
     "（家庭年纯收入 − 刚性支出） ÷ 家庭人口数",
     "(Annual net income − Rigid expenses) ÷ Household size", "4,000.00 元", "4,000.00 yuan"),
    # An event's amount is money too.
    (node("eventAmount >= medicalLargeAtRisk", "COMPARE", True, "25000.00", ">= 5000.00"),
     "事件金额不低于 5,000.00 元", "Event amount is at least 5,000.00 yuan", "25,000.00 元",
     "25,000.00 yuan"),
    # A rule set's parameters and definitions by the words of their version's document.
    (node("incomeLine", "PARAMETER", None, "6000", names=(INCOME_LINE,)),
     "监测收入标准", "Monitoring income line", "6,000.00 元", "6,000.00 yuan"),
    (node("minMonitoredMonths", "PARAMETER", None, "6", names=(MIN_MONTHS,)),
     "最短监测期", "Minimum months under monitoring", "6", "6"),
    (node("lowIncome", "DEFINITION", True, "true", names=(LOW_INCOME,)),
     "年人均纯收入低于监测标准", "Per-capita net income below the monitoring line", "是", "yes"),
    (node("hardshipBand * incomeLine", "ARITH", None, "9000", names=(INCOME_LINE,)),
     "hardshipBand × 监测收入标准", "hardshipBand × Monitoring income line",
     "9,000.00 元", "9,000.00 yuan"),
    (node("perCapitaNetIncome >= incomeLine", "COMPARE", False, "5200.00", ">= 6000",
          names=(INCOME_LINE,)),
     "年人均纯收入不低于 6,000.00 元", "Per-capita net income is at least 6,000.00 yuan",
     "5,200.00 元", "5,200.00 yuan"),
    # Functions in words.
    (node("addMonths(asOf, -minMonitoredMonths)", "CALL", None, "2023-12-01",
          names=(MIN_MONTHS,)),
     "评估日期往前推最短监测期", "Evaluation date minus Minimum months under monitoring",
     "2023-12-01", "2023-12-01"),
    (node("addMonths(asOf, 6)", "CALL", None, "2024-12-01"),
     "评估日期往后 6 个月", "6 months after Evaluation date", "2024-12-01", "2024-12-01"),
    (node("min(medicalOutOfPocket, 5000)", "CALL", None, "5000.00"),
     "个人自付医疗费用与5000中的较小者", "the lesser of Medical out-of-pocket cost and 5000",
     "5,000.00 元", "5,000.00 yuan"),
    (node("round(annualNetIncome / 3, 2)", "CALL", None, "6666.67"),
     "（家庭年纯收入 ÷ 3）（四舍五入保留 2 位小数）",
     "(Annual net income ÷ 3) rounded to 2 decimals", "6,666.67 元", "6,666.67 yuan"),
    (node("lowIncome", "DEFINITION", True, "5200.00"), "lowIncome", "lowIncome", "是", "yes"),
    # A ratio as a percentage (as terms in a ratio are shown), a quotient that does not
    # terminate "about" its value to two decimals (half up), exact where it terminates.
    (node("incomeDropRatio >= sharpDropRatio", "COMPARE", False, "3/35 (≈0.09)", ">= 0.5"),
     "收入下降比例不低于 50%", "Income drop ratio is at least 50%", "约 8.57%", "about 8.57%"),
    (node("incomeDropRatio >= sharpDropRatio", "COMPARE", True, "0.625", ">= 0.5"),
     "收入下降比例不低于 50%", "Income drop ratio is at least 50%", "62.5%", "62.5%"),
    (node("incomeDropRatio", "FACT", None, "1/8000 (≈0.00)"),
     "收入下降比例", "Income drop ratio", "约 0.01%", "about 0.01%"),
    (node("annualNetIncome / previousAnnualNetIncome", "ARITH", None, "32/35 (≈0.91)"),
     "家庭年纯收入 ÷ 上年度家庭纯收入", "Annual net income ÷ Previous annual net income",
     "约 0.91", "about 0.91"),
    (node("annualNetIncome / 3", "ARITH", None, "20000/3 (≈6666.67)"),
     "家庭年纯收入 ÷ 3", "Annual net income ÷ 3", "约 6,666.67 元", "about 6,666.67 yuan"),
    # A grade of 0 is what conditions see for a member without a certificate: none.
    (node("disabilityGrade >= 1", "COMPARE", False, "0", ">= 1"),
     "残疾等级不低于 1", "Disability grade is at least 1", "无", "none"),
    (node("disabilityGrade <= 2", "COMPARE", False, "3", "<= 2"),
     "残疾等级不高于 2", "Disability grade is at most 2", "3", "3"),
    (node("no higher-priority rule of group assistance applies", "PRIORITY", False,
          "temporary_assistance.emergency", "none"),
     "同组（assistance）没有更高优先级的规则适用",
     "no higher-priority rule of group assistance applies",
     "temporary_assistance.emergency", "temporary_assistance.emergency"),
]


@pytest.mark.parametrize(("n", "zh", "en", "actual_zh", "actual_en"), CASES,
                         ids=[c[0].expression for c in CASES])
def test_a_node_in_words(n: ConditionNode, zh: str, en: str, actual_zh: str | None,
                         actual_en: str | None) -> None:
    assert node_text(n) == zh
    assert node_text(n, "EN") == en
    assert actual_text(n) == actual_zh
    assert actual_text(n, "EN") == actual_en


def test_a_priority_guard_names_the_items_above_by_their_titles() -> None:
    tier1 = ("medical.tier1", "医疗救助第一档", "Medical relief tier 1", False)
    tier2 = ("medical.tier2", "医疗救助第二档", "Medical relief tier 2", False)
    guard = node("no higher-priority rule of group tier applies", "PRIORITY", False,
                 "medical.tier1, medical.tier2", "none", names=(tier1, tier2))
    assert node_text(guard) == "同组更高优先级的项目（医疗救助第一档、医疗救助第二档）不适用"
    assert node_text(guard, "EN") == ("no higher-priority item of the group applies (Medical "
                                      "relief tier 1, Medical relief tier 2)")
    assert actual_text(guard) == "医疗救助第一档、医疗救助第二档"
    assert actual_text(guard, "EN") == "Medical relief tier 1, Medical relief tier 2"


def test_a_joined_root_is_said_by_its_parts() -> None:
    """A rule's condition joined with its group's priority guard is not the condition language:
    its words are its parts' joined."""
    guard = node("no higher-priority rule of group g applies", "PRIORITY", True, "x.y", "none")
    rule = node("dibao", "FACT", True, "true")
    root = node("dibao and no higher-priority rule of group g applies", "AND", True, "true",
                None, (rule, guard))
    assert node_text(root) == "低保户 且 同组（g）没有更高优先级的规则适用"
    assert node_text(root, "EN") == "Dibao household and no higher-priority rule of group g applies"


def test_a_junction_is_said_by_its_children() -> None:
    """An and, or, not or quantifier is said by its children's words, so a comparison inside
    shows its threshold by value there too, and a definition by its words."""
    income = node("perCapitaNetIncome >= incomeLine", "COMPARE", False, "5200.00", ">= 6000",
                  names=(INCOME_LINE,))
    low = node("lowIncome", "DEFINITION", True, "true", names=(LOW_INCOME,),
               children=(node("perCapitaNetIncome < incomeLine", "COMPARE", True, "5200.00",
                              "< 6000", names=(INCOME_LINE,)),))
    water = node("drinkingWaterSafe", "FACT", True, "true")
    either = node("lowIncome or drinkingWaterSafe", "OR", True, "true", None, (low, water),
                  names=(LOW_INCOME,))
    both = node("perCapitaNetIncome >= incomeLine and (lowIncome or drinkingWaterSafe)", "AND",
                False, "false", None, (income, either), names=(INCOME_LINE, LOW_INCOME))
    assert node_text(both) == ("年人均纯收入不低于 6,000.00 元 且 （年人均纯收入低于监测标准 或 "
                               "饮水安全）")
    assert node_text(both, "EN") == (
        "Per-capita net income is at least 6,000.00 yuan and (per-capita net income below the "
        "monitoring line or drinking water safe)")
    negated = node("not (lowIncome or drinkingWaterSafe)", "NOT", False, "false", None,
                   (either,), names=(LOW_INCOME,))
    assert node_text(negated) == "非（年人均纯收入低于监测标准 或 饮水安全）"
    adult = node("age >= labourMinAge", "COMPARE", True, "48", ">= 16")
    some = node("any member(age >= labourMinAge)", "ANY_MEMBER", True, "true", None,
                (adult._replace(member_ids=("m1",)),))
    assert node_text(some) == "任一成员：年龄不低于 16"
    assert node_text(some, "EN") == "some member: age is at least 16"
    # Without children (a tree cut short), from the expression: names by their words.
    assert node_text(both._replace(children=())) == (
        "年人均纯收入不低于监测收入标准 且 （年人均纯收入低于监测标准 或 饮水安全）")


def test_a_definition_without_words_is_said_by_its_definition_inside_another() -> None:
    """A definition its version gives no words (no description) keeps its name on its own
    node, and is said by its definition inside a junction; a quantifier's compound body is in
    parentheses, so that what follows it is not read as part of it."""
    age = node("age between 6 and 15", "BETWEEN", False, "48", "between 6 and 15")
    stage = node("schoolStage == NONE", "COMPARE", True, "NONE", "== NONE")
    body = node("age between 6 and 15 and schoolStage == NONE", "AND", False, "false", None,
                (age, stage))
    out = node("schoolAgeOutOfSchool", "DEFINITION", False, "false", None, (body,))
    some = node("any member(schoolAgeOutOfSchool)", "ANY_MEMBER", False, "false", None,
                (out._replace(member_ids=("m1",)),))
    water = node("not drinkingWaterSafe", "NOT", False, "false", None,
                 (node("drinkingWaterSafe", "FACT", True, "true"),))
    either = node("any member(schoolAgeOutOfSchool) or not drinkingWaterSafe", "OR", False,
                  "false", None, (some, water))
    assert node_text(out) == "schoolAgeOutOfSchool"
    assert node_text(some) == "任一成员：（年龄在 6 至 15 之间 且 就学阶段为不在学）"
    assert node_text(either) == ("任一成员：（年龄在 6 至 15 之间 且 就学阶段为不在学） 或 "
                                 "饮水不安全")
    assert node_text(either, "EN") == (
        "some member: (age is between 6 and 15 and school stage is Not in school) or drinking "
        "water not safe")


def test_a_version_s_names_in_words() -> None:
    """What a version's document gives its names to be said by: a description cut to a name,
    or, for a definition without one that is a rule's whole condition, that rule's title."""
    (record,) = [r for r in load_catalog().records if r.program.code == "monitoring"]
    labels = document_labels(record.program.document)
    assert labels["incomeLine"] == ("监测收入标准", "Monitoring income line", True)
    assert labels["suddenHardship"] == ("突发严重困难户", "Household in sudden severe hardship",
                                        False)
    assert "schoolAgeOutOfSchool" not in labels  # no description, no rule of its own


def test_english_words_inside_a_sentence_lose_a_label_s_capital() -> None:
    from engine.words import _within

    assert _within("Destitute person", "EN") == "destitute person"
    assert _within("(Dibao household or monitored household)", "EN") == (
        "(dibao household or monitored household)")
    assert _within("ID card number", "EN") == "ID card number"  # an abbreviation stays
    assert _within("Destitute person", "EN", first=True) == "Destitute person"
    assert _within("特困人员", "ZH") == "特困人员"


def test_values_in_words() -> None:
    assert value_text("1500", "annualNetIncome", "ZH") == "1,500.00 元"
    assert value_text("JUNIOR", "schoolStage", "EN") == "Junior secondary school"
    assert value_text("false", None, "ZH") == "否"
    assert value_text(None, "schoolStage", "ZH") is None
    # Not a value the catalogue knows: as given, never an error.
    assert value_text("MAYBE", "schoolStage", "ZH") == "MAYBE"
    assert value_text("abc", "annualNetIncome", "ZH") == "abc"


def _enum_subject(n: ConditionNode) -> tuple[str, tuple[str, ...]] | None:
    from engine.words import subject_fact

    fact = subject_fact(n)
    if fact is None or FACTS[fact].type.kind is not Kind.ENUM:
        return None
    return fact, ENUMS[FACTS[fact].type.enum or ""]


@settings(max_examples=25, deadline=None)
@given(households())
def test_every_node_of_every_shipped_rule_reads_in_words(hh: dict[str, Any]) -> None:
    """Every node of every tree of generated households has words in both languages; a
    comparison with an enumeration fact names no raw value, neither in its words nor in its
    actual value; a known truth value reads as 是 or 否."""
    det = determine(hh, AS_OF, VERSIONS)
    for o in det.outcomes():
        for r in o.reasons:
            for n in walk(r.condition):
                zh, en = node_text(n), node_text(n, "EN")
                assert zh and en, n
                shown = actual_text(n)
                if n.kind in ("AND", "OR", "NOT", "ANY_MEMBER", "ALL_MEMBERS"):
                    assert shown == {True: "是", False: "否", None: None}[n.result], n
                enum = _enum_subject(n) if n.kind in ("COMPARE", "IN") else None
                if enum is not None:
                    fact, values = enum
                    raw = {v for v in values if v in n.expression.split()
                           or f"{v}," in n.expression or f"{v}}}" in n.expression}
                    assert not any(f"{v}" == part for v in raw for part in zh.split()), n
                    assert shown not in values or shown is None, (fact, shown)


def test_every_node_of_every_version_s_own_cases_reads_in_words() -> None:
    """The versions' own test cases grant and refuse every outcome, early-warning alerts (which
    read an event's facts) included: each of their nodes has words, and a fact's node never
    shows its name where the catalogue has a label for it."""
    from engine.testcases import draft_ref
    from engine.warning import determine_events, parse_case_events
    from policy.fact_catalogue import CATALOGUE

    labelled = {e.name for e in CATALOGUE.event} | set(FACTS)
    seen = 0
    for record in load_catalog().records:
        program = record.program
        # The version's parameters and definitions that its document describes.
        described = set(document_labels(program.document))
        for case in program.document.tests:
            if case.events:
                det = determine_events(program, draft_ref(program), case.household,
                                       parse_case_events(case.events, case.asOf), case.asOf)
            else:
                det = determine(case.household, case.asOf, [(program, draft_ref(program))])
            for o in det.outcomes():
                for r in o.reasons:
                    for n in walk(r.condition):
                        seen += 1
                        for lang in ("ZH", "EN"):
                            words = node_text(n, lang)
                            assert words, n
                            if n.kind == "FACT" and n.expression in labelled:
                                assert words != n.expression, n
                            # A described name is said by its words, never as written (in
                            # Chinese, where an English word can only be a name).
                            if lang == "ZH":
                                shown = set(re.findall(r"[A-Za-z][A-Za-z0-9]*", words))
                                assert not shown & described, (program.code, n, words)
    assert seen > 1000
