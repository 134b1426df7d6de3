"""A rule-set document's structural errors, each alone on an otherwise valid document (the
shipped disability version 1): the field path and the stable code of every one, and none for
the document as shipped. Found missing by the mutation run (docs/mutation-testing.md)."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
import yaml

from policy.document import canonical_json, compile_document, content_hash, load_document
from policy.errors import DocumentInvalid
from services.rulesets import RULESETS

SHIPPED: dict[str, Any] = yaml.safe_load(
    (RULESETS / "disability" / "v1.yaml").read_text(encoding="utf-8"))


def problems(doc: dict[str, Any]) -> list[tuple[str, str]]:
    try:
        compile_document(load_document(doc))
    except DocumentInvalid as exc:
        return [(e.field, e.code) for e in exc.errors]
    return []


def changed(change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SHIPPED)
    change(doc)
    return doc


def test_the_shipped_document_has_none() -> None:
    assert problems(SHIPPED) == []


def _param_named_as_fact(d: dict[str, Any]) -> None:
    d["parameters"]["dibao"] = copy.deepcopy(d["parameters"]["rehabMaxAge"])


def _definition_named_as_parameter(d: dict[str, Any]) -> None:
    d["definitions"] = {"rehabMaxAge": {"scope": "member", "condition": "disabled"}}


def _definition_named_as_fact(d: dict[str, Any]) -> None:
    d["definitions"] = {"tekun": {"scope": "member", "condition": "disabled"}}


def _cycle(d: dict[str, Any]) -> None:
    d["definitions"] = {"a": {"scope": "member", "condition": "b and disabled"},
                        "b": {"scope": "member", "condition": "a"},
                        "c": {"scope": "member", "condition": "disabled"}}


def _duplicate_rule_id(d: dict[str, Any]) -> None:
    d["rules"][2]["id"] = d["rules"][0]["id"]
    d["rules"][3]["id"] = d["rules"][0]["id"]


def _outcome_prefix(d: dict[str, Any]) -> None:
    d["rules"][4]["outcome"] = "medical.child_rehabilitation"


def _outcome_scope(d: dict[str, Any]) -> None:
    # A second rule for the household-level home accessibility outcome, given per member.
    extra = copy.deepcopy(d["rules"][4])
    extra.update(id="home_accessibility.member", outcome="disability.home_accessibility",
                 title=d["rules"][5]["title"])
    extra.pop("group", None)
    extra.pop("priority", None)
    d["rules"].append(extra)


def _outcome_title(d: dict[str, Any]) -> None:
    d["rules"][1]["title"] = {"zh": "另一个标题", "en": "Another title"}


def _group_without_priority(d: dict[str, Any]) -> None:
    d["rules"][4]["group"] = "rehab"
    d["rules"][4].pop("priority", None)


def _duplicate_priority(d: dict[str, Any]) -> None:
    d["rules"][4].update(group="solo", priority=1)
    d["rules"][5].update(group="solo", priority=1)


@pytest.mark.parametrize(("change", "expected"), [
    (_param_named_as_fact, [("parameters.dibao", "NAME_CLASH")]),
    (_definition_named_as_parameter, [("definitions.rehabMaxAge", "NAME_CLASH")]),
    (_definition_named_as_fact, [("definitions.tekun", "NAME_CLASH")]),
    (_cycle, [("definitions.a.condition", "CYCLIC_DEFINITION"),
              ("definitions.b.condition", "CYCLIC_DEFINITION")]),
    (_duplicate_rule_id, [("rules[2].id", "DUPLICATE_RULE_ID"),
                          ("rules[3].id", "DUPLICATE_RULE_ID")]),
    (_outcome_prefix, [("rules[4].outcome", "OUTCOME_PREFIX")]),
    (_outcome_scope, [("rules[6].per", "OUTCOME_SCOPE")]),
    (_outcome_title, [("rules[1].title", "OUTCOME_TITLE")]),
    (_group_without_priority, [("rules[4].priority", "GROUP_PRIORITY")]),
    (_duplicate_priority, [("rules[5].priority", "DUPLICATE_PRIORITY")]),
], ids=lambda v: getattr(v, "__name__", ""))
def test_each_structural_error(change: Any, expected: list[tuple[str, str]]) -> None:
    got = problems(changed(change))
    assert [p for p in got if p[1] == expected[0][1]] == expected, got


def test_duplicate_rule_id_names_the_first_use() -> None:
    with pytest.raises(DocumentInvalid) as info:
        compile_document(load_document(changed(_duplicate_rule_id)))
    messages = [e.message for e in info.value.errors if e.code == "DUPLICATE_RULE_ID"]
    assert messages and all(m.endswith("is already used by rules[0]") for m in messages)


def test_canonical_json_keeps_chinese_text_sorted_and_compact() -> None:
    # The content hash is taken over this text and stored with every determination: escaping
    # the Chinese text, unsorted keys or spaces would change every version's hash.
    doc = load_document(SHIPPED)
    text = canonical_json(doc)
    assert "残疾人" in text and "\\u" not in text
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert text == json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert content_hash(doc) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_a_yaml_syntax_error_names_its_line_and_column() -> None:
    with pytest.raises(DocumentInvalid) as info:
        load_document("program: disability\nversion: 1\ntitle: [unclosed\nowner: x\n")
    [error] = info.value.errors
    # 1-based, where the parser gave up: the ':' of "owner: x" on line 4.
    assert (error.field, error.code) == ("line 4, column 6", "YAML_SYNTAX")
