"""What the web console needs from the API: who the caller is and what they may do
(``viewer``), a household's past determinations, and the console's own files served with a
policy that keeps every request on the service's origin."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.test_households import DETERMINE, hh, save

VIEWER = "{ viewer { name role regions department abilities } }"
ROLE = "{ viewer { role userRole } }"
HISTORY = """query($id: ID!) { household(id: $id) { id determinations {
  id asOf createdBy householdRevision versions { ruleSet contentHash }
  replay { identical } } } }"""


def test_viewer_names_the_caller_and_the_abilities_the_policy_grants(api: Api) -> None:
    cw = api.gql(VIEWER, token="caseworker")["data"]["viewer"]
    assert cw == {"name": "cw-001", "role": "caseworker", "regions": ["371300-001"],
                  "department": None,
                  "abilities": ["evaluate", "readRuleSets", "readHouseholds", "saveHouseholds",
                                "readAlerts", "resolveAlerts", "readCases", "openCases"]}
    tw = api.gql(VIEWER, token="township_officer")["data"]["viewer"]
    assert tw["abilities"] == ["evaluate", "readRuleSets", "readHouseholds", "readAlerts",
                               "readCases", "townshipReview"]
    co = api.gql(VIEWER, token="county_officer")["data"]["viewer"]
    assert co["abilities"] == ["evaluate", "readRuleSets", "readHouseholds", "readAlerts",
                               "readCases", "countyApproval"]
    ed = api.gql(VIEWER, token="policy_editor")["data"]["viewer"]
    assert ed["department"] == "县扶贫办" and "editRuleSets" in ed["abilities"]
    assert "approve" not in ed["abilities"] and "saveHouseholds" not in ed["abilities"]
    ap = api.gql(VIEWER, token="policy_approver")["data"]["viewer"]
    assert "approve" in ap["abilities"] and "editRuleSets" not in ap["abilities"]
    au = api.gql(VIEWER, token="auditor")["data"]["viewer"]
    assert {"readAudit", "readHouseholds", "seeDrafts"} <= set(au["abilities"])
    assert "saveHouseholds" not in au["abilities"]
    # Auditors and api_clients read alerts; only caseworkers act on them.
    assert "readAlerts" in au["abilities"] and "resolveAlerts" not in au["abilities"]
    assert "readAlerts" not in ed["abilities"] and "readAlerts" not in ap["abilities"]
    client = api.gql(VIEWER, token="api_client")["data"]["viewer"]
    assert client["abilities"] == ["evaluate", "readRuleSets", "readAlerts"]



def test_the_role_as_an_enum_beside_the_deprecated_string(api: Api) -> None:
    for token in ("caseworker", "township_officer", "county_officer", "policy_editor",
                  "policy_approver", "auditor", "api_client"):
        viewer = api.gql(ROLE, token=token)["data"]["viewer"]
        assert viewer == {"role": token, "userRole": token.upper()}, viewer
    assert api.gql(ROLE)["data"]["viewer"] == {"role": None, "userRole": None}


def test_viewer_anonymous_and_unknown_token(api: Api, prod_api: Api) -> None:
    anon = api.gql(VIEWER)["data"]["viewer"]
    assert anon["role"] is None and anon["abilities"] == ["evaluate", "readRuleSets"]
    assert prod_api.gql(VIEWER)["data"]["viewer"]["abilities"] == []
    bad = api.gql(VIEWER, token="not-a-token")
    assert bad["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_households_past_determinations_newest_first_and_only_in_region(api: Api) -> None:
    assert save(api, hh("t-console-1", "371300-001"), "caseworker")["userErrors"] == []
    ids = []
    for as_of in ("2024-06-01", "2025-06-01"):
        out = api.gql(DETERMINE, {"id": "t-console-1", "asOf": as_of}, token="caseworker")
        ids.append(out["data"]["householdDetermine"]["record"]["id"])
    got = api.gql(HISTORY, {"id": "t-console-1"}, token="caseworker")["data"]["household"]
    assert [r["id"] for r in got["determinations"]] == ids[::-1]
    assert [r["asOf"] for r in got["determinations"]] == ["2025-06-01", "2024-06-01"]
    assert all(r["replay"]["identical"] for r in got["determinations"])
    assert got["determinations"][0]["createdBy"] == "caseworker:cw-001"
    # Another region's caseworker sees neither the household nor its history.
    other = api.gql(HISTORY, {"id": "t-console-1"}, token="caseworker2")
    assert other["data"]["household"] is None


def test_console_is_served_at_the_root_with_a_same_origin_policy(api: Api) -> None:
    page = api.client.get("/")
    assert page.status_code == 200 and '<html lang="zh-CN">' in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    script = api.client.get("/js/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert api.client.get("/healthz").json() == {"status": "ok"}  # routes before the console


def test_the_console_forms_ask_for_every_input_fact_of_the_catalogue(api: Api) -> None:
    """``/js/catalogue.js``, generated from the fact catalogue, under the same policy as the
    console's own files: every household and member input fact with its labels and kind, and
    every closed set with its values' labels."""
    import json
    import re

    from policy.fact_catalogue import CATALOGUE

    module = api.client.get("/js/catalogue.js")
    assert module.status_code == 200
    assert module.headers["content-type"].startswith("text/javascript")
    assert "default-src 'self'" in module.headers["content-security-policy"]
    found = re.search(r"export const FACTS = (.*?);\nexport const FACT_ENUMS = (.*?);\n$",
                      module.text, re.S)
    assert found is not None, module.text[:200]
    facts, enums = json.loads(found.group(1)), json.loads(found.group(2))
    for scope in ("household", "member"):
        fields = {f["name"]: f for f in facts[scope]}
        assert list(fields) == [f.name for f in CATALOGUE.inputs(scope)]
        for f in CATALOGUE.inputs(scope):
            assert (fields[f.name]["zh"], fields[f.name]["en"]) == (f.label.zh, f.label.en)
    member = {f["name"]: f for f in facts["member"]}
    assert member["employmentStatus"] == {
        "name": "employmentStatus", "zh": "就业状态", "en": "Employment status",
        "kind": "select", "set": "EmploymentStatus", "default": "EMPLOYED"}
    assert member["disabilityGrade"]["values"] == [1, 2, 3, 4]
    assert member["disabilityGrade"]["optional"] is True
    household = {f["name"]: f for f in facts["household"]}
    assert household["temporaryAssistanceLast12Months"]["kind"] == "bool"
    assert household["id"]["required"] is True
    assert enums["EmploymentStatus"]["UNEMPLOYED"] == [
        CATALOGUE.enums["EmploymentStatus"]["UNEMPLOYED"].zh,
        CATALOGUE.enums["EmploymentStatus"]["UNEMPLOYED"].en]
    assert set(enums) == set(CATALOGUE.enums)


def test_graphiql_in_dev_loads_only_vendored_files_with_their_integrity(
        api: Api, prod_api: Api) -> None:
    import base64
    import hashlib
    import re

    page = api.client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert "unpkg.com" not in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assets = re.findall(r'(?:src|href)="([^"]+)"\s+integrity="(sha384-[^"]+)"', page.text)
    assert len(assets) == 7  # React, ReactDOM, js-cookie, GraphiQL js+css, explorer js+css
    for url, integrity in assets:
        assert url.startswith("vendor/"), url
        served = api.client.get(f"/{url}")
        assert served.status_code == 200, url
        digest = base64.b64encode(hashlib.sha384(served.content).digest()).decode()
        assert f"sha384-{digest}" == integrity, f"{url} is not the file the page names"
    assert "graphiql" not in prod_api.client.get(
        "/graphql", headers={"accept": "text/html"}).text.lower()


def test_the_graphiql_page_is_refused_rather_than_left_on_a_cdn() -> None:
    from pathlib import Path

    import pytest
    import strawberry

    from graphql_api.graphiql import ExternalAsset, offline_page

    # strawberry's own page: every script and style it names on the CDN comes from vendor/.
    shipped = (Path(strawberry.__file__).parent / "static" / "graphiql.html").read_text()
    assert "unpkg.com" in shipped
    page = offline_page(shipped)
    assert "unpkg.com" not in page
    assert 'src="vendor/graphiql@' in page and 'href="vendor/graphiql@' in page
    with pytest.raises(ExternalAsset):
        offline_page('<link href="https://cdn.example.org/x.css">')
