"""The term catalogue: every term and unit a shipped rule set uses has a label, the document is
checked, and validation warns about a term or unit without one."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from policy.document import load_document
from policy.term_catalogue import CATALOGUE_FILE, TERMS, load_term_catalogue
from policy.validation import errors, validate_data
from services.rulesets import document_files
from tests.unit.test_validation import base, rule

CJK = re.compile(r"[\u4e00-\u9fff]")


def _data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))
    return data


def _shipped_terms() -> tuple[set[str], set[str]]:
    keys: set[str] = set()
    units: set[str] = set()
    for path in document_files():
        doc = load_document(path.read_text(encoding="utf-8"))
        for r in doc.rules:
            keys |= {t.key for t in r.terms}
            units |= {t.unit for t in r.terms}
    return keys, units


def test_every_term_and_unit_of_every_shipped_version_has_a_label() -> None:
    keys, units = _shipped_terms()
    # The medical tiers are the shipped rule sets' terms today; a new one needs a label here.
    assert keys >= {"premiumSubsidy", "deductible", "ratio", "annualCap", "estimatedRelief"}
    assert units >= {"yuan", "ratio"}
    assert sorted(keys - TERMS.terms.keys()) == []
    assert sorted(units - TERMS.units.keys()) == []
    for key in keys:
        zh, en = TERMS.label(key, "ZH"), TERMS.label(key, "EN")
        assert CJK.search(zh) and not CJK.search(en) and zh != key, (key, zh, en)
    for unit in units:
        assert CJK.search(TERMS.unit_label(unit, "ZH")), unit


def test_shipped_catalogue_loads() -> None:
    assert load_term_catalogue(_data()) == TERMS
    assert TERMS.label("ratio", "ZH") == "救助比例"
    assert TERMS.label("ratio", "EN") == "Relief ratio"
    assert TERMS.unit_label("ratio", "ZH") == "比例"
    assert TERMS.unit_label("yuan", "EN") == "yuan"


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["terms"]["deductible"].pop("label"), "Field required"),
    (lambda d: d["terms"]["deductible"]["label"].update(zh=""), "at least 1 character"),
    (lambda d: d["units"]["yuan"].update(colour="red"), "Extra inputs"),
    (lambda d: d.update(catalogue="facts"), "'terms'"),
])
def test_a_broken_catalogue_is_refused(change: Any, message: str) -> None:
    data = _data()
    change(data)
    with pytest.raises(ValidationError, match=message):
        load_term_catalogue(data)


@pytest.mark.parametrize(("value", "unit", "lang", "text"), [
    (0.75, "ratio", "ZH", "75%"),
    (0.6, "ratio", "EN", "60%"),
    (0.125, "ratio", "ZH", "12.5%"),
    (30000, "yuan", "ZH", "30,000.00 元"),
    (5607.4, "yuan", "EN", "5,607.40 yuan"),
    (3, "visits", "ZH", "3 visits"),
])
def test_values_are_shown_with_their_units_label(value: float, unit: str, lang: str,
                                                 text: str) -> None:
    assert TERMS.value_text(value, unit, lang) == text


def test_an_unlabelled_term_key_and_unit_are_warnings_once_each() -> None:
    data = base()
    terms = [{"key": "visitAllowance", "value": "daySubsidy", "unit": "yuan/visit"},
             {"key": "estimatedRelief", "value": "daySubsidy", "unit": "yuan"}]
    rule(data, "subsidy.day")["terms"] = terms
    rule(data, "subsidy.boarding")["terms"] = [dict(t) for t in terms]
    issues = validate_data(data)
    assert errors(issues) == []
    got = [(i.field, i.code, i.severity, i.message) for i in issues]
    assert got == [
        ("rules[1].terms[0].key", "UNLABELLED_TERM", "WARNING",
         "rule subsidy.boarding: term visitAllowance has no Chinese and English label in the "
         "term catalogue (fixtures/terms.yaml), so people read the key itself; add one there"),
        ("rules[1].terms[0].unit", "UNLABELLED_UNIT", "WARNING",
         "rule subsidy.boarding: unit 'yuan/visit' of term visitAllowance has no Chinese and "
         "English label in the term catalogue (fixtures/terms.yaml), so people read the unit "
         "itself; add one there"),
    ]


def test_the_warnings_have_chinese_texts() -> None:
    from policy.messages import chinese

    assert chinese("UNLABELLED_TERM") == "条款没有中英文名称，将按其键名显示"
    assert chinese("UNLABELLED_UNIT") == "条款的单位没有中英文名称，将按原文显示"
