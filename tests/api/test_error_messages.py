"""Every error has a stable code and a message in the caller's language: Chinese by default,
English with ``Accept-Language: en``; codes and field paths are the same in both."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphql_api.messages import ZH, chinese, language
from tests.api.conftest import Api

ROOT = Path(__file__).resolve().parents[2]
HAN = re.compile(r"[\u4e00-\u9fff]")

HH = {"id": "msg-1", "regionCode": "371300-001",
      "members": [{"id": "m1", "relation": "HEAD", "birthDate": "1970-01-01"}]}
BAD_HH = {"id": "msg-2", "regionCode": "371300-001",
          "members": [{"id": "m1", "relation": "HEAD", "birthDate": "2030-01-01",
                       "disabilityGrade": 9}]}
EVALUATE = 'query($h: HouseholdInput!) { evaluate(household: $h, asOf: "2024-06-01") { asOf } }'
SAVE = """mutation($h: HouseholdInput!) { householdSave(household: $h) {
  household { id } userErrors { field code errorCode message } } }"""


def _post(api: Api, body: Any, lang: str | None, token: str | None = None,
          content_type: str = "application/json") -> httpx.Response:
    headers = {"content-type": content_type}
    if lang is not None:
        headers["accept-language"] = lang
    if token is not None:
        headers["authorization"] = f"Bearer {api.tokens.get(token, token)}"
    if isinstance(body, bytes | str):
        return api.client.post("/graphql", content=body, headers=headers)
    return api.client.post("/graphql", json=body, headers=headers)


def _q(query: str, variables: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    return {"query": query, "variables": variables or {}, **more}


# (name, body, token, expected code): one case per error path a request can take.
CASES: list[tuple[str, Any, str | None, str]] = [
    ("syntax", _q("{ ruleSets { code "), None, "GRAPHQL_PARSE_FAILED"),
    ("unknown field", _q("{ nope }"), None, "GRAPHQL_VALIDATION_FAILED"),
    ("missing argument", _q("{ ruleSet { code } }"), None, "GRAPHQL_VALIDATION_FAILED"),
    ("bad variable", _q(EVALUATE, {"h": {"id": 1}}), None, "BAD_USER_INPUT"),
    ("missing variable", _q(EVALUATE), None, "BAD_USER_INPUT"),
    ("depth", _q('{ household(id: "x") { ' + "alerts { household { " * 13 + "id"
                 + " } }" * 13 + " } }"), "caseworker", "QUERY_TOO_DEEP"),
    ("aliases", _q("{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"), None,
     "TOO_MANY_ALIASES"),
    ("tokens", _q("{ " + "__typename " * 4100 + "}"), None, "QUERY_TOO_LARGE"),
    ("spreads", _q("query { ...F } fragment F on Query { " + "...G " * 101
                   + "} fragment G on Query { __typename }"), None, "QUERY_TOO_COMPLEX"),
    ("NUL string", _q(EVALUATE, {"h": {**HH, "id": "a\x00b"}}), None, "INVALID_STRING"),
    ("two operations", _q("query A { __typename } query B { __typename }"), None,
     "OPERATION_NAME_REQUIRED"),
    ("unknown operation", _q("query A { __typename }", operationName="B"), None,
     "OPERATION_NOT_FOUND"),
    ("unknown token", _q("{ ruleSets { code } }"), "no-such-token", "UNAUTHENTICATED"),
    ("forbidden", _q("{ households(first: 1) { totalCount } }"), "api_client", "FORBIDDEN"),
    ("invalid facts", _q(EVALUATE, {"h": BAD_HH}), "caseworker", "INVALID_FACTS"),
    ("unknown program", _q('{ evaluate(household: {id: "p", members: [{id: "m", '
                           'birthDate: "1970-01-01"}]}, asOf: "2024-06-01", '
                           'programs: ["nope"]) { asOf } }'), "caseworker", "UNKNOWN_PROGRAM"),
    ("no query", {"variables": {}}, None, "NO_QUERY"),
    ("not JSON", b"{nope", None, "INVALID_JSON"),
    ("batch", b"[]", None, "BAD_REQUEST"),
    ("media type", b"query=x", None, "UNSUPPORTED_MEDIA_TYPE"),
    ("body too large", b'{"query": "' + b" " * (1 << 20) + b'"}', None, "BODY_TOO_LARGE"),
]


def _errors(response: httpx.Response) -> list[dict[str, Any]]:
    body = response.json()
    errors: list[dict[str, Any]] = body["errors"]
    return errors


@pytest.mark.parametrize("name, body, token, code", CASES, ids=[c[0] for c in CASES])
def test_every_error_path_has_a_code_and_a_chinese_message(
        api: Api, name: str, body: Any, token: str | None, code: str) -> None:
    ctype = "application/x-www-form-urlencoded" if name == "media type" else "application/json"
    zh = _post(api, body, None, token, ctype)
    en = _post(api, body, "en-US,en;q=0.9", token, ctype)
    assert zh.status_code == en.status_code
    zh_errors, en_errors = _errors(zh), _errors(en)
    assert zh_errors[0]["extensions"]["code"] == code, zh_errors
    # the same codes, paths and field errors in both languages; only the words differ
    for z, e in zip(zh_errors, en_errors, strict=True):
        assert z["extensions"]["code"] == e["extensions"]["code"]
        assert z.get("path") == e.get("path")
        assert HAN.search(z["message"]), z
        assert not HAN.search(e["message"]), e
        z_fields = [(f["field"], f["code"]) for f in z["extensions"].get("errors", [])]
        e_fields = [(f["field"], f["code"]) for f in e["extensions"].get("errors", [])]
        assert z_fields == e_fields
        for f in z["extensions"].get("errors", []):
            assert HAN.search(f["message"]), f


def test_field_errors_keep_their_paths_in_chinese(api: Api) -> None:
    zh = _errors(_post(api, _q(EVALUATE, {"h": BAD_HH}), "zh-CN,zh;q=0.9", "caseworker"))[0]
    fields = {f["field"]: f for f in zh["extensions"]["errors"]}
    assert fields["household.members[0].birthDate"]["code"] == "BIRTH_AFTER_AS_OF"
    assert fields["household.members[0].birthDate"]["message"] == "出生日期晚于评估日期"
    assert zh["message"] == f"家庭事实无效：共 {len(fields)} 处问题"


ONE = '{ evaluate(household: {id: "p", members: [{id: "m", birthDate: "1970-01-01"%s}]%s}, ' \
    'asOf: "2024-06-01"%s) { asOf } }'


# graphql-core's words for a value of another type, and their Chinese text.
@pytest.mark.parametrize("query, variables, code, chinese_text", [
    (ONE % (", relation: HEAD", "", ""), None, "GRAPHQL_VALIDATION_FAILED",
     "HEAD 不是 String 类型的值"),
    (ONE % (", disabilityGrade: 2.5", "", ""), None, "GRAPHQL_VALIDATION_FAILED",
     "2.5 不是 Int 类型的值"),
    (ONE % ("", ", dibao: 1", ""), None, "GRAPHQL_VALIDATION_FAILED",
     "1 不是 Boolean 类型的值"),
    (ONE % ("", ", colour: \"red\"", ""), None, "GRAPHQL_VALIDATION_FAILED",
     "输入类型 HouseholdInput 没有字段 colour"),
    (ONE % (", birthDate: 5", "", ""), None, "GRAPHQL_VALIDATION_FAILED",
     '"5" 不是 Date 类型的值'),
    (ONE % (', relation: "HEAD", relation: "SPOUSE"', "", ""), None,
     "GRAPHQL_VALIDATION_FAILED", "输入字段 relation 重复"),
    ('{ evaluate(household: {members: []}, asOf: "2024-06-01") { asOf } }', None,
     "GRAPHQL_VALIDATION_FAILED", "输入类型 HouseholdInput 缺少必填字段 id"),
    ('{ evaluate(household: {id: "p", members: [{id: "m", birthDate: "1970-01-01"}]}, '
     'asOf: "2024-06-01") { outcomes { title(lang: FR) } } }', None, "GRAPHQL_VALIDATION_FAILED",
     "FR 不是枚举 Lang 的取值"),
    (EVALUATE, {"h": {"id": 1, "members": []}}, "BAD_USER_INPUT",
     "变量 $h 中 .id 的值不符合其类型"),
])
def test_a_value_of_another_type_is_said_in_chinese(
        api: Api, query: str, variables: dict[str, Any] | None, code: str,
        chinese_text: str) -> None:
    zh = _errors(_post(api, _q(query, variables), None))[0]
    en = _errors(_post(api, _q(query, variables), "en"))[0]
    assert zh["extensions"]["code"] == en["extensions"]["code"] == code
    assert zh["message"] == chinese_text, (zh, en)
    assert not HAN.search(en["message"]) and en["message"] != chinese_text


def test_a_refusal_says_why_in_chinese(api: Api) -> None:
    query = _q("{ households(first: 1) { totalCount } }")
    zh = _errors(_post(api, query, None, "policy_editor"))[0]
    en = _errors(_post(api, query, "en", "policy_editor"))[0]
    assert zh["extensions"]["code"] == en["extensions"]["code"] == "FORBIDDEN"
    assert zh["message"] == "无权执行此操作：政策编辑不能查看已存储的家庭"
    assert en["message"] == "role policy_editor may not read stored households"
    assert "params" not in zh["extensions"]


def test_user_errors_follow_the_language(api: Api) -> None:
    zh = _post(api, _q(SAVE, {"h": BAD_HH}), None, "caseworker").json()
    en = _post(api, _q(SAVE, {"h": BAD_HH}), "en", "caseworker").json()
    zh_errors = zh["data"]["householdSave"]["userErrors"]
    en_errors = en["data"]["householdSave"]["userErrors"]
    assert [(e["field"], e["code"]) for e in zh_errors] == \
        [(e["field"], e["code"]) for e in en_errors] != []
    assert all(HAN.search(e["message"]) for e in zh_errors)
    assert not any(HAN.search(e["message"]) for e in en_errors)
    # the enum beside the deprecated string: the same code
    assert all(e["errorCode"] == e["code"] for e in zh_errors + en_errors)


def test_every_code_is_an_error_code_value_described_in_chinese_and_english() -> None:
    from graphql import GraphQLEnumType

    from graphql_api.errors import error_code
    from graphql_api.messages import EN
    from graphql_api.schema import build_schema
    from services.config import Settings

    enum = build_schema(Settings(env="dev"))._schema.type_map["ErrorCode"]
    assert isinstance(enum, GraphQLEnumType)
    assert set(enum.values) == set(ZH) == set(EN)
    for name, value in enum.values.items():
        zh, _, en = (value.description or "").partition(" / ")
        assert HAN.search(zh) and "{" not in zh, name
        assert en and not HAN.search(en), name
    assert error_code("BIRTH_AFTER_AS_OF").value == "BIRTH_AFTER_AS_OF"
    assert error_code("A_CODE_NOT_LISTED_YET").value == "ERROR"


def test_introspection_refusal_in_prod_has_a_code(prod_api: Api) -> None:
    body = _post(prod_api, _q("{ __schema { types { name } } }"), None).json()
    assert body["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
    assert body["errors"][0]["message"] == "本环境不开放内省查询"


def test_language_choice() -> None:
    assert language(None) == "zh"
    assert language("fr-FR, de;q=0.9") == "zh"
    assert language("fr, en;q=0.3") == "en"
    assert language("en, zh;q=0") == "en"
    assert language("zh-TW;q=0.5, en-GB;q=0.6") == "en"
    assert chinese("TOO_MANY_ALIASES", {"max": 30}) == "查询使用的别名过多：最多 30 个"
    assert chinese("TOO_MANY_ALIASES") == "查询使用的别名过多"
    assert HAN.search(chinese("NO_SUCH_CODE_EVER"))


_CODE_SITES = [
    re.compile(r'code\s*=\s*"([A-Z][A-Z0-9_]+)"'),
    re.compile(r'FieldError\(\s*[^,()]+(?:\([^()]*\))?[^,()]*,\s*"([A-Z][A-Z0-9_]+)"'),
    re.compile(r'"code":\s*"([A-Z][A-Z0-9_]+)"'),
    re.compile(r'_(?:error|refuse)\([^)]*?"([A-Z][A-Z0-9_]{3,})"'),
    re.compile(r'rangeCode:\s*([A-Z][A-Z0-9_]+)'),
    re.compile(r'code:\s*([A-Z][A-Z0-9_]+)'),
]


def test_every_code_the_sources_give_has_a_chinese_text() -> None:
    found: set[str] = set()
    files = [*ROOT.glob("policy/**/*.py"), *ROOT.glob("services/**/*.py"),
             *ROOT.glob("store/*.py"), *ROOT.glob("graphql_api/*.py"),
             ROOT / "fixtures" / "facts.yaml"]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for pattern in _CODE_SITES:
            found.update(pattern.findall(text))
    # Not error codes: audit actions and verify's findings (a report, not an API error)
    ignored = {"UPDATE", "DELETE", "SELECT", "BEGIN"}
    found -= ignored
    assert len(found) > 60, sorted(found)  # the scan sees the sources
    assert sorted(found - ZH.keys()) == []


NOT_IN_FORCE = """query($h: HouseholdInput!, $asOf: Date!, $programs: [String!]) {
  evaluate(household: $h, asOf: $asOf, programs: $programs) {
    programs { program }
    notInForce { program firstEffectiveFrom zh: message en: message(lang: EN) } } }"""


def test_an_as_of_before_any_version_says_which_programs_and_when(api: Api) -> None:
    sets = api.gql("{ ruleSets { code versions { status effectiveFrom } } }",
                   token="caseworker")["data"]["ruleSets"]
    first = {s["code"]: min(v["effectiveFrom"] for v in s["versions"]
                            if v["status"] == "PUBLISHED")
             for s in sets if s["code"] != "early_warning"
             and any(v["status"] == "PUBLISHED" for v in s["versions"])}
    early = api.gql(NOT_IN_FORCE, {"h": HH, "asOf": "1990-01-01"}, token="caseworker")
    det = early["data"]["evaluate"]
    assert det["programs"] == []
    assert {n["program"]: n["firstEffectiveFrom"] for n in det["notInForce"]} == first
    education = next(n for n in det["notInForce"] if n["program"] == "education")
    assert education["zh"] == (f"education：评估日期没有生效的版本，首个版本自 "
                               f"{first['education']} 起生效")
    assert first["education"] in education["en"]

    # named programs: only those are said
    named = api.gql(NOT_IN_FORCE, {"h": HH, "asOf": "1990-01-01", "programs": ["education"]},
                    token="caseworker")["data"]["evaluate"]
    assert [n["program"] for n in named["notInForce"]] == ["education"]

    # on a date every program is in force, nothing is said
    later = max(first.values())
    now = api.gql(NOT_IN_FORCE, {"h": HH, "asOf": later}, token="caseworker")
    assert now["data"]["evaluate"]["notInForce"] == []
    assert sorted(p["program"] for p in now["data"]["evaluate"]["programs"]) == sorted(first)
