"""Diffs between versions: structured for apps, readable for people, and on the command line."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.main import main
from policy.diff import diff_documents
from policy.document import load_document
from services.rulesets import RULESETS

MONITORING = RULESETS / "monitoring" / "v1.yaml"


def monitoring() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(MONITORING.read_text(encoding="utf-8"))
    return data


def changed() -> dict[str, Any]:
    """Version 2: a higher income line with a new citation, one rule rewritten, one removed,
    one added, a test case changed and one added."""
    data = monitoring()
    data["version"] = 2
    line = data["parameters"]["incomeLine"]
    line["value"] = 6600
    line["citation"] = {**line["citation"], "clause": "二、2",
                        "quote": "重点监测年人均纯收入低于6600元的农户"}
    rules = data["rules"]
    rules[1]["condition"] = "not povertyAlleviated and lowIncome and not dibao"
    data["rules"] = [r for r in rules if r["id"] != "risk.drinking_water"]
    data["rules"].append({**copy.deepcopy(rules[0]), "id": "dibao_low_income",
                          "outcome": "monitoring.dibao_low_income",
                          "title": {"zh": "低保低收入户", "en": "Low-income dibao household"},
                          "condition": "dibao and lowIncome"})
    data["tests"][0]["asOf"] = "2023-07-01"
    data["tests"].append({**copy.deepcopy(data["tests"][1]), "name": "new case"})
    return data


def test_parameters_rules_and_tests_are_compared() -> None:
    d = diff_documents(load_document(monitoring()), load_document(changed()))
    assert (d.program, d.old_version, d.new_version) == ("monitoring", 1, 2)
    assert d.metadata == ()
    [p] = d.parameters
    assert (p.name, p.kind, p.old_value, p.new_value) == ("incomeLine", "CHANGED", 6000, 6600)
    assert p.old_citation is not None and p.old_citation.clause == "二、1"
    assert p.new_citation is not None and p.new_citation.clause == "二、2"
    assert [c.field for c in p.changes] == ["value", "citation"]
    rules = {r.id: r for r in d.rules}
    assert {k: r.kind for k, r in rules.items()} == {
        "marginal_at_risk": "CHANGED", "dibao_low_income": "ADDED",
        "risk.drinking_water": "REMOVED"}
    m = rules["marginal_at_risk"]
    assert m.old_condition == "not povertyAlleviated and lowIncome"
    assert m.new_condition == "not povertyAlleviated and lowIncome and not dibao"
    assert [c.field for c in m.changes] == ["condition"]
    assert rules["dibao_low_income"].new_condition == "dibao and lowIncome"
    assert rules["risk.drinking_water"].old_condition == "not drinkingWaterSafe"
    tests = {t.name: t for t in d.tests}
    assert tests["new case"].kind == "ADDED"
    first = monitoring()["tests"][0]["name"]
    assert tests[first].kind == "CHANGED"
    assert [c.field for c in tests[first].changes] == ["asOf"]


def test_readable_text_shows_old_and_new_side_by_side() -> None:
    d = diff_documents(load_document(monitoring()), load_document(changed()))
    text = d.text("ZH")
    assert text.startswith("monitoring：第1版 → 第2版\n")
    assert "  ~ incomeLine（监测收入标准（年人均纯收入））: 6000 → 6600 yuan/person/year" in text
    assert "重点监测年人均纯收入低于6000元的农户" in text
    assert "        → 2023年巩固拓展脱贫攻坚成果同乡村振兴有效衔接工作要点 二、2" in text
    assert ("  ~ marginal_at_risk (monitoring.marginal_at_risk)\n"
            "      条件\n"
            "        原: not povertyAlleviated and lowIncome\n"
            "        新: not povertyAlleviated and lowIncome and not dibao\n") in text
    assert "  + dibao_low_income (monitoring.dibao_low_income)\n      条件: dibao and lowIncome" \
        in text
    assert "  - risk.drinking_water (monitoring.risk.drinking_water)" in text
    assert "  + new case" in text
    en = d.text("EN")
    assert en.startswith("monitoring: version 1 → version 2\n")
    assert "Parameters (1)" in en and "Rules (3)" in en and "Test cases (2)" in en


def test_layout_is_not_a_change() -> None:
    data = monitoring()
    data["rules"][0]["condition"] = "povertyAlleviated   and(lowIncome)"
    d = diff_documents(load_document(monitoring()), load_document(data))
    assert d.empty
    assert d.text("EN").endswith("The two versions have the same content.\n")


def test_structured_json_uses_the_api_names() -> None:
    d = diff_documents(load_document(monitoring()), load_document(changed()))
    data = d.as_json()
    assert data["empty"] is False
    assert data["parameters"][0]["oldValue"] == 6000
    assert data["parameters"][0]["newCitation"]["clause"] == "二、2"
    assert data["rules"][0]["newCondition"].endswith("and not dibao")
    json.dumps(data)


def test_cli_diff_prints_the_readable_diff(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    b = tmp_path / "v2.yaml"
    b.write_text(yaml.safe_dump(changed(), allow_unicode=True), encoding="utf-8")
    assert main(["diff", str(MONITORING), str(b)]) == 0
    out = capsys.readouterr().out
    assert out == diff_documents(load_document(monitoring()), load_document(changed())).text()
    assert main(["diff", str(MONITORING), str(b), "--json", "--lang", "EN"]) == 0
    assert json.loads(capsys.readouterr().out)["parameters"][0]["newValue"] == 6600


def test_cli_diff_refuses_an_invalid_document(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("program: monitoring\nversion: 2\n", encoding="utf-8")
    assert main(["diff", str(MONITORING), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: invalid" in err and "title" in err and "[REQUIRED]" in err
