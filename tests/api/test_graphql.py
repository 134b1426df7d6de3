"""The GraphQL API over HTTP: contract names, evaluation, bad input, limits, protections."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from engine.determine import determine
from engine.results import determination_json
from graphql_api.schema import export_schema
from services.rulesets import FIXTURES, load_catalog
from tests.api.conftest import Api

ROOT = Path(__file__).resolve().parents[2]
HH1 = json.loads((FIXTURES / "households" / "hh-001.json").read_text(encoding="utf-8"))
HH2 = json.loads((FIXTURES / "households" / "hh-002.json").read_text(encoding="utf-8"))
HH3 = json.loads((FIXTURES / "households" / "hh-003.json").read_text(encoding="utf-8"))

NODE = "expression kind result actual expected decided memberIds"


def tree_selection(levels: int = 16) -> str:
    """A ConditionNode selection ``levels`` deep (a selection cannot recurse)."""
    inner = NODE
    for _ in range(levels - 1):
        inner = f"{NODE} children {{ {inner} }}"
    return inner


def tree_query(levels: int) -> str:
    return ('evaluate(household: {id: "h", members: [{id: "m", birthDate: "2000-01-01"}]}, '
            'asOf: "2024-06-01") { outcomes { reasons { condition { '
            + tree_selection(levels) + " } } } }")


FULL = """
query Full($h: HouseholdInput!, $asOf: Date!, $programs: [String!]) {
  evaluate(household: $h, asOf: $asOf, programs: $programs) {
    asOf flaggedForMonitoring
    programs {
      program
      ruleSetVersion { id ruleSet version status effectiveFrom effectiveTo contentHash }
      outcomes { ...O }
    }
    outcomes { ...O }
  }
}
fragment O on Outcome {
  code title memberId status amount amountIsSample period
  terms { key value unit sample }
  reasons { ruleId text citation { document clause quote url }
            conditions { expression actual expected passed }
            condition { TREE } }
  missingFacts
  whatWouldChange { fact operator value current text }
}
""".replace("TREE", tree_selection())
# Every field, the terms' labels included (what `policy-engine evaluate --format json` gives).
FULL_LABELLED = FULL.replace("terms { key value unit sample }",
                             "terms { key value unit sample label unitLabel }")


def test_committed_schema_is_the_served_schema() -> None:
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert committed == export_schema(), "run: policy-engine export-schema > schema.graphql"


def test_full_explanation_matches_the_engine(api: Api) -> None:
    as_of = date(2024, 6, 1)
    for hh in (HH2, HH3):  # hh-003 has granted medical tiers, with terms
        body = api.gql(FULL_LABELLED, {"h": hh, "asOf": as_of.isoformat()})
        assert "errors" not in body, body
        expected = determination_json(determine(hh, as_of, load_catalog().in_force(as_of)),
                                      what_would_change=True, term_labels=True)
        expected.pop("flaggedBy")
        got = body["data"]["evaluate"]
        assert got == expected
    terms = [t for o in got["outcomes"] for t in o["terms"]]
    assert terms and all(set(t) == {"key", "value", "unit", "sample", "label", "unitLabel"}
                         for t in terms)


def test_terms_are_labelled_in_both_languages(api: Api) -> None:
    q = """query($h: HouseholdInput!) { evaluate(household: $h, asOf: "2024-06-01",
      programs: ["medical_relief"]) { outcomes(status: GRANTED) { code memberId
        terms { key unit label zh: label(lang: ZH) en: label(lang: EN)
                unitLabel unitEn: unitLabel(lang: EN) } } } }"""
    body = api.gql(q, {"h": HH3})
    assert "errors" not in body, body
    outcomes = body["data"]["evaluate"]["outcomes"]
    tier2 = next(o for o in outcomes if (o["code"], o["memberId"]) == ("medical.tier2", "m1"))
    assert tier2["terms"] == [
        {"key": "premiumSubsidy", "unit": "yuan", "label": "参保资助", "zh": "参保资助",
         "en": "Premium subsidy", "unitLabel": "元", "unitEn": "yuan"},
        {"key": "deductible", "unit": "yuan", "label": "起付线", "zh": "起付线",
         "en": "Deductible", "unitLabel": "元", "unitEn": "yuan"},
        {"key": "ratio", "unit": "ratio", "label": "救助比例", "zh": "救助比例",
         "en": "Relief ratio", "unitLabel": "比例", "unitEn": "ratio"},
        {"key": "annualCap", "unit": "yuan", "label": "年度救助限额", "zh": "年度救助限额",
         "en": "Annual cap", "unitLabel": "元", "unitEn": "yuan"},
        {"key": "estimatedRelief", "unit": "yuan", "label": "预计救助金额",
         "zh": "预计救助金额", "en": "Estimated relief", "unitLabel": "元", "unitEn": "yuan"},
    ]


def test_outcome_filters_and_languages(api: Api) -> None:
    q = """query($h: HouseholdInput!) { evaluate(household: $h, asOf: "2024-06-01") {
      flaggedForMonitoring flaggedBy
      granted: outcomes(status: GRANTED) { code memberId amount period title(lang: EN) }
      programs { program outcomes(status: UNDETERMINED) { code } } } }"""
    d = api.gql(q, {"h": HH2})["data"]["evaluate"]
    assert d["flaggedForMonitoring"] is True
    assert d["flaggedBy"] == ["monitoring.unstable_alleviated"]
    codes = {(o["code"], o["memberId"]) for o in d["granted"]}
    assert ("disability.nursing_subsidy", "m5") in codes
    nursing = next(o for o in d["granted"] if o["code"] == "disability.nursing_subsidy")
    assert nursing["amount"] == 146 and nursing["period"] == "MONTH"
    assert nursing["title"].isascii()
    assert all(p["outcomes"] == [] for p in d["programs"])


def test_programs_argument(api: Api) -> None:
    q = """query($h: HouseholdInput!, $p: [String!]) { evaluate(household: $h,
      asOf: "2024-06-01", programs: $p) { programs { program } } }"""
    d = api.gql(q, {"h": HH1, "p": ["education"]})
    assert d["data"]["evaluate"]["programs"] == [{"program": "education"}]
    bad = api.gql(q, {"h": HH1, "p": ["roads"]})
    assert bad["data"] is None
    (err,) = bad["errors"]
    assert err["extensions"]["code"] == "UNKNOWN_PROGRAM"
    assert ("known programs: disability, education, employment, housing, medical_relief, "
            "monitoring, temporary_assistance") in err["message"]


def test_before_any_version_no_programs(api: Api) -> None:
    q = """query($h: HouseholdInput!) { evaluate(household: $h, asOf: "2022-06-01")
      { programs { program } outcomes { code } } }"""
    assert api.gql(q, {"h": HH1})["data"]["evaluate"] == {"programs": [], "outcomes": []}


def test_invalid_facts_are_field_path_errors(api: Api) -> None:
    bad = {**HH1, "annualNetIncome": -5,
           "members": [{"id": "a", "birthDate": "2030-01-01"}, {"id": "a",
                                                                 "birthDate": "1990-01-01"}]}
    body = api.gql(FULL, {"h": bad, "asOf": "2024-06-01"})
    assert body["data"] is None
    (err,) = body["errors"]
    assert err["extensions"]["code"] == "INVALID_FACTS"
    assert [(e["field"], e["code"]) for e in err["extensions"]["errors"]] == [
        ("household.annualNetIncome", "NEGATIVE_AMOUNT"),
        ("household.members[0].birthDate", "BIRTH_AFTER_AS_OF"),
        ("household.members[1].id", "DUPLICATE_MEMBER_ID"),
    ]
    for enum_bad in ({**HH1, "housingSafetyGrade": "Z"},
                     {**HH1, "members": [{"id": "x", "birthDate": "1990-01-01",
                                          "schoolStage": "MIDDLE"}]}):
        e = api.gql(FULL, {"h": enum_bad, "asOf": "2024-06-01"})["errors"][0]
        assert e["extensions"]["errors"][0]["code"] == "INVALID_VALUE"


def test_graphql_type_errors_are_validation_errors(api: Api) -> None:
    body = api.gql(FULL, {"h": {**HH1, "annualNetIncome": "lots"}, "asOf": "2024-06-01"})
    assert body["data"] is None and "annualNetIncome" in body["errors"][0]["message"]
    body = api.gql(FULL, {"h": HH1, "asOf": "01/06/2024"})
    assert body["data"] is None and "Date" in body["errors"][0]["message"]


def test_malformed_requests_never_answer_500(api: Api) -> None:
    c = api.client
    bodies: list[Any] = [b"{not json", b"[]", b'[{"query": "{ __typename }"}]', b'"text"',
                         b'{"query": 5}', b'{"query": "{"}', b'{}', b'{"query": "{ nope }"}',
                         b'{"query": "{ __typename }", "variables": "x"}']
    for raw in bodies:
        r = c.post("/graphql", content=raw, headers={"content-type": "application/json"})
        assert r.status_code < 500, (raw, r.status_code, r.text)
        assert "Traceback" not in r.text


def test_batching_is_off(api: Api) -> None:
    r = api.client.post("/graphql", json=[{"query": "{ __typename }"}] * 2)
    assert r.status_code == 400


def test_limits(api: Api) -> None:
    deep = "{ ruleSets { versions { id } } }"
    assert "errors" not in api.gql(deep)
    # The schema's own nesting is shallow: depth is checked with the aliases of a fragment.
    nested = "query { evaluate(household: {id: \"x\", members: []}, asOf: \"2024-01-01\") " \
             + "{ programs { outcomes { reasons { conditions { expression } } } } } }"
    assert "Query exceeds" not in json.dumps(api.gql(nested))
    many_aliases = "{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }"
    err = api.gql(many_aliases)["errors"][0]["message"]
    assert "aliases" in err.lower()
    huge = "{ " + " ".join("__typename" for _ in range(5000)) + " }"
    err = api.gql(huge)["errors"][0]["message"]
    assert "token" in err.lower()


def test_depth_limit(api: Api) -> None:
    q = "query { ruleSets { versions { id } } }"
    assert "errors" not in api.gql(q)
    # Fragments cannot be used to hide depth: spreading a fragment into itself is invalid,
    # and the depth limiter counts through fragment spreads.
    fragments = "fragment F on Query { ruleSets { code } }"
    assert "errors" not in api.gql("query { ...F } " + fragments)
    from services.config import Settings

    assert Settings().max_depth == 24
    too_deep = "query { " + tree_query(30) + " }"
    assert "exceeds maximum operation depth" in api.gql(too_deep)["errors"][0]["message"]


def test_no_csrf_through_simple_requests(api: Api) -> None:
    for ctype, data in (("application/x-www-form-urlencoded", "query=%7B__typename%7D"),
                        ("text/plain", '{"query": "{ __typename }"}'),
                        ("multipart/form-data; boundary=x", "--x--")):
        r = api.client.post("/graphql", content=data, headers={"content-type": ctype})
        assert r.status_code == 415, (ctype, r.status_code)
    r = api.client.get("/graphql", params={"query": "{ __typename }"},
                       headers={"accept": "application/json"})
    assert r.status_code >= 400 and "__typename" not in r.text


def test_graphiql_and_introspection_only_in_dev(api: Api, prod_api: Api) -> None:
    page = api.client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert "errors" not in api.gql("{ __schema { queryType { name } } }")
    prod_page = prod_api.client.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in prod_page.text.lower()
    body = prod_api.gql("{ __schema { queryType { name } } }")
    assert "introspection" in body["errors"][0]["message"].lower()


def test_anonymous_callers(api: Api, prod_api: Api) -> None:
    q = """query($h: HouseholdInput!) { evaluate(household: $h, asOf: "2024-06-01")
           { asOf } }"""
    assert api.gql(q, {"h": HH1})["data"]["evaluate"]["asOf"] == "2024-06-01"
    assert api.gql("{ ruleSets { code } }")["data"]["ruleSets"]
    for query in ('{ household(id: "hh-001") { id } }', "{ households(first: 5) { totalCount } }"):
        err = api.gql(query)["errors"][0]
        assert err["extensions"]["code"] == "UNAUTHENTICATED"
    assert prod_api.gql(q, {"h": HH1})["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert prod_api.gql(q, {"h": HH1}, token="api_client")["data"]["evaluate"]
    bad = api.gql(q, {"h": HH1}, token="not-a-token")
    assert bad["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_health_readiness_metrics_request_id(api: Api) -> None:
    c = api.client
    assert c.get("/healthz").json() == {"status": "ok"}
    ready = c.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    api.gql("{ __typename }")
    metrics = c.get("/metrics").text
    assert "policy_engine_request_seconds_bucket" in metrics
    # Every memo's counts, e.g. the condition closures' (the evaluations above used them).
    for family in ("cache_hits_total", "cache_misses_total", "cache_entries",
                   "cache_max_entries"):
        assert f'policy_engine_{family}{{cache="engine.closures"}}' in metrics
    r = c.get("/healthz", headers={"x-request-id": "abc123"})
    assert r.headers["x-request-id"] == "abc123"
    assert len(c.get("/healthz").headers["x-request-id"]) == 32


def test_internal_errors_are_masked(tmp_path: Path) -> None:
    from sqlalchemy import text

    from graphql_api.app import create_app
    from services.application import Application, Tokens
    from services.config import Settings
    from store.db import make_engine
    from tests.api.conftest import AppClient

    engine = make_engine(f"sqlite:///{tmp_path / 'broken.sqlite3'}")
    settings = Settings(env="dev")
    application = Application(settings, engine)
    app = create_app(settings, application)
    token = Tokens(application).create(role="auditor", name="a")
    with engine.begin() as conn:  # a real failure underneath: the table is gone
        conn.execute(text("DROP TABLE household_fact_revisions"))
        conn.execute(text("ALTER TABLE households RENAME TO households_gone"))
    r = AppClient(app).post("/graphql", json={"query": "{ households(first: 3) { totalCount } }"},
                            headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200
    (err,) = r.json()["errors"]
    assert err["message"] == "内部错误" and err["extensions"]["code"] == "INTERNAL"
    assert "households" not in json.dumps(err.get("extensions", {}))
    assert "Traceback" not in r.text and "sqlite" not in r.text.lower()


def test_against_a_running_uvicorn(live: tuple[str, Api]) -> None:
    base, _ = live
    r = httpx.post(f"{base}/graphql", json={"query": FULL,
                                            "variables": {"h": HH1, "asOf": "2024-06-01"}},
                   timeout=30)
    assert r.status_code == 200
    d = r.json()["data"]["evaluate"]
    granted = [o for o in d["outcomes"] if o["status"] == "GRANTED"]
    assert [(o["code"], o["memberId"], o["amount"]) for o in granted] == [
        ("education.compulsory_living_subsidy", "m2", 1500.0)]
    assert httpx.get(f"{base}/readyz").status_code == 200
    r = httpx.post(f"{base}/graphql", content="{oops", timeout=5,
                   headers={"content-type": "application/json"})
    assert r.status_code == 400


def test_validation_results_are_remembered_per_document_and_rules(api: Api, prod_api: Api
                                                                  ) -> None:
    # The same text twice is the same parsed document: the second answer comes from the
    # validation cache and must be the same, errors included; another rule set (prod refuses
    # introspection) validates the same document afresh.
    many_aliases = "{ " + " ".join(f"b{i}: __typename" for i in range(40)) + " }"
    first, second = api.gql(many_aliases), api.gql(many_aliases)
    assert first == second and "aliases" in first["errors"][0]["message"].lower()
    introspect = "{ __schema { queryType { name } } }"
    assert api.gql(introspect)["data"]["__schema"]["queryType"]["name"] == "Query"
    assert "errors" in prod_api.gql(introspect)
    assert api.gql(introspect)["data"]["__schema"]["queryType"]["name"] == "Query"
