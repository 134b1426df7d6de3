"""Condition trees, what-would-change and sample marks through the GraphQL API."""

from __future__ import annotations

from tests.api.conftest import Api

HH = {"id": "x", "annualNetIncome": 18600,
      "members": [{"id": f"m{i}", "birthDate": "1980-01-01"} for i in range(3)]}

Q = """query($h: HouseholdInput!, $depth: Int) {
  evaluate(household: $h, asOf: "2024-06-01", programs: ["monitoring"]) {
    outcomes {
      code status amountIsSample
      whatWouldChange { fact operator value current en: text(lang: EN) zh: text }
      reasons { condition(depth: $depth) {
        expression kind result decided
        children { expression kind result actual expected decided
          children { expression kind actual
            children { expression actual children { expression actual } } } } } }
    }
  }
}"""


def _marginal(api: Api, depth: int | None) -> dict:  # type: ignore[type-arg]
    body = api.gql(Q, {"h": HH, "depth": depth})
    assert "errors" not in body, body
    return next(o for o in body["data"]["evaluate"]["outcomes"]
                if o["code"] == "monitoring.marginal_at_risk")


def test_what_would_change_and_the_tree(api: Api) -> None:
    o = _marginal(api, 1)
    assert o["status"] == "NOT_GRANTED" and o["amountIsSample"] is False
    income = next(c for c in o["whatWouldChange"] if c["fact"] == "annualNetIncome")
    assert income == {"fact": "annualNetIncome", "operator": "<", "value": "18000.00",
                      "current": "18600.00",
                      "en": "granted if annualNetIncome < 18000.00 (now 18600.00)",
                      "zh": "家庭年纯收入低于 18000.00 元（现为 18600.00 元）"}
    tree = o["reasons"][0]["condition"]
    assert (tree["expression"], tree["kind"], tree["result"], tree["decided"]) == (
        "not povertyAlleviated and lowIncome", "AND", False, True)
    low = tree["children"][1]
    assert (low["kind"], low["result"], low["decided"]) == ("DEFINITION", False, True)
    (compare,) = low["children"]
    assert (compare["expression"], compare["actual"]) == ("perCapitaNetIncome < incomeLine",
                                                         "6200.00")
    # Depth 1: perCapitaNetIncome opens into annualNetIncome / householdSize.
    (per_capita,) = compare["children"]
    assert per_capita["children"] == [{"expression": "annualNetIncome / householdSize",
                                       "actual": "6200.00"}]


def test_depth_zero_keeps_derived_facts_closed(api: Api) -> None:
    o = _marginal(api, 0)
    compare = o["reasons"][0]["condition"]["children"][1]["children"][0]
    assert compare["children"][0]["children"] == []


def test_conditions_is_deprecated_with_its_successor_named(api: Api) -> None:
    q = """{ __type(name: "Reason") { fields(includeDeprecated: true) {
      name isDeprecated deprecationReason } } }"""
    fields = {f["name"]: f for f in api.gql(q)["data"]["__type"]["fields"]}
    assert fields["conditions"]["isDeprecated"] is True
    assert "condition" in fields["conditions"]["deprecationReason"]
    assert fields["condition"]["isDeprecated"] is False


def test_sample_figures_are_marked_through_the_api(api: Api) -> None:
    """A sample amount (the nursing subsidy's 146 yuan a month) and sample terms (tier 1's
    ratio and cap) say so; a statutory amount and terms do not."""
    hh = {"id": "s", "povertyAlleviated": True,
          "members": [{"id": "m1", "birthDate": "1960-01-01", "tekun": True,
                       "disabilityGrade": 1, "disabilityKind": "PHYSICAL",
                       "needsLongTermCare": True, "medicalOutOfPocket": 10000},
                      {"id": "m2", "birthDate": "2008-01-01", "schoolStage": "SENIOR"}]}
    q = """query($h: HouseholdInput!) {
      evaluate(household: $h, asOf: "2024-06-01",
               programs: ["disability", "medical_relief", "education"]) {
        outcomes(status: GRANTED) { code memberId amount amountIsSample
                                    terms { key sample } } } }"""
    body = api.gql(q, {"h": hh})
    assert "errors" not in body, body
    got = {(o["code"], o["memberId"]): o for o in body["data"]["evaluate"]["outcomes"]}
    nursing = got[("disability.nursing_subsidy", "m1")]
    assert (nursing["amount"], nursing["amountIsSample"]) == (146.0, True)
    assert {t["key"]: t["sample"] for t in got[("medical.tier1", "m1")]["terms"]} == {
        "premiumSubsidy": False, "deductible": False, "ratio": True, "annualCap": True,
        "estimatedRelief": True}
    grant = got[("education.senior_grant", "m2")]
    assert (grant["amount"], grant["amountIsSample"]) == (2000.0, False)


def test_each_node_in_words_with_its_actual_value(api: Api) -> None:
    """``text`` and ``actualText``: a caseworker's reading of a node, in Chinese by default and
    in English, served through the projection and the ordinary resolvers alike (an aliased,
    nested selection)."""
    q = """query($h: HouseholdInput!) {
      evaluate(household: $h, asOf: "2024-06-01", programs: ["monitoring", "education"]) {
        outcomes { code memberId reasons { condition(depth: 1) {
          text en: text(lang: EN) actualText
          children { kind text actualText enActual: actualText(lang: EN)
            children { kind text actualText children { kind text actualText } } } } } } } }"""
    hh = {**HH, "members": [{"id": "m0", "birthDate": "1980-01-01"},
                            {"id": "m1", "birthDate": "2009-03-01", "schoolStage": "JUNIOR"}]}
    body = api.gql(q, {"h": hh})
    assert "errors" not in body, body
    outcomes = body["data"]["evaluate"]["outcomes"]
    marginal = next(o for o in outcomes if o["code"] == "monitoring.marginal_at_risk")
    tree = marginal["reasons"][0]["condition"]
    # A definition by the words its version's document gives it, not by its name.
    assert tree["text"] == "非脱贫户 且 年人均纯收入低于监测标准"
    # In English, a label inside the sentence without its capital.
    assert tree["en"] == ("not poverty-alleviated household and per-capita net income below the "
                          "monitoring line")
    low = tree["children"][1]
    assert (low["kind"], low["text"]) == ("DEFINITION", "年人均纯收入低于监测标准")
    assert tree["actualText"] == "否"
    compare = tree["children"][1]["children"][0]
    # The threshold by its value (incomeLine is 6,000 yuan), the actual with its unit.
    assert (compare["text"], compare["actualText"]) == ("年人均纯收入低于 6,000.00 元",
                                                        "9,300.00 元")
    senior = next(o for o in outcomes
                  if o["code"] == "education.senior_grant" and o["memberId"] == "m1")
    stage = senior["reasons"][0]["condition"]["children"][1]
    assert (stage["kind"], stage["text"], stage["actualText"], stage["enActual"]) == (
        "COMPARE", "就学阶段为普通高中", "初中", "Junior secondary school")


def test_a_ratio_reads_as_a_percentage_and_the_exact_fraction_stays_in_actual(api: Api) -> None:
    """Income 64,000 against 70,000 the year before: a drop of 3/35. ``actual`` keeps the exact
    fraction; ``actualText`` says it as a percentage about its value, the threshold 0.5 as
    50%."""
    hh = {"id": "r", "annualNetIncome": 64000, "previousAnnualNetIncome": 70000,
          "members": [{"id": "m1", "birthDate": "1980-01-01"}]}
    q = """query($h: HouseholdInput!) {
      evaluate(household: $h, asOf: "2024-06-01", programs: ["temporary_assistance"]) {
        outcomes { code reasons { condition { ...N children { ...N children { ...N } } } } } } }
    fragment N on ConditionNode {
      expression actual expected text actualText en: actualText(lang: EN) }"""
    body = api.gql(q, {"h": hh})
    assert "errors" not in body, body
    ordinary = next(o for o in body["data"]["evaluate"]["outcomes"]
                    if o["code"] == "temporary_assistance.ordinary")
    root = ordinary["reasons"][0]["condition"]
    nodes = [root, *root["children"], *(n for c in root["children"] for n in c["children"])]
    for n in nodes:
        n.pop("children", None)
    drop = next(n for n in nodes if n["expression"] == "incomeDropRatio >= sharpDropRatio")
    assert drop == {"expression": "incomeDropRatio >= sharpDropRatio",
                    "actual": "3/35 (≈0.09)", "expected": ">= 0.5",
                    "text": "收入下降比例不低于 50%", "actualText": "约 8.57%",
                    "en": "about 8.57%"}
