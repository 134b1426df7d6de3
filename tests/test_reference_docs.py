"""The generated references in docs/ are equal to what the shipped data gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.reference import fact_reference, fact_users, policy_reference
from services.rulesets import load_catalog

DOCS = Path(__file__).resolve().parent.parent / "docs"
CATALOG = load_catalog()


@pytest.mark.parametrize(("name", "render"), [("facts.md", fact_reference),
                                              ("policy.md", policy_reference)])
def test_generated_reference_is_up_to_date(name: str, render: object) -> None:
    expected = render(CATALOG)  # type: ignore[operator]
    assert (DOCS / name).read_text(encoding="utf-8") == expected, (
        f"docs/{name} is stale: run `policy-engine export-docs {name[:-3]} > docs/{name}`")


def test_fact_reference_lists_every_fact_and_label() -> None:
    from policy.fact_catalogue import CATALOGUE

    text = fact_reference(CATALOG)
    for _, fact in CATALOGUE.all_inputs():
        assert f"`{fact.name}` | {fact.label.zh} / {fact.label.en}" in text
    for d in CATALOGUE.derived:
        assert f"`{d.name}` | {d.scope} | {d.label.zh} / {d.label.en}" in text
    for values in CATALOGUE.enums.values():
        for value, label in values.items():
            assert f"| `{value}` | {label.zh} | {label.en} |" in text


def test_fact_users_follow_derived_facts_and_definitions() -> None:
    users = fact_users(r.program for r in CATALOG.records)
    # sudden_hardship reads perCapitaIncomeAfterRigid, which is derived from disasterLoss.
    assert any("sudden_hardship" in u for u in users["disasterLoss"])
    # the medical tiers read tekun directly.
    assert any(u.startswith("medical_relief (medical.tier1") for u in users["tekun"])
    assert "regionCode" not in users


def test_policy_reference_lists_every_rule_parameter_and_outcome() -> None:
    text = policy_reference(CATALOG)
    for record in CATALOG.records:
        doc = record.program.document
        assert f"### {doc.program} v{doc.version} " in text
        for name, param in doc.parameters.items():
            assert f"| `{name}` | {param.value:g} | {param.unit} | " \
                   f"{'**sample**' if param.sample else ''} |" in text
        for r in doc.rules:
            assert f"| `{r.id}`" in text and f"`{r.outcome}`" in text
            assert r.title.zh in text and r.title.en in text


def test_policy_reference_lists_every_term_and_unit_label() -> None:
    from policy.term_catalogue import TERMS

    text = policy_reference(CATALOG)
    for key, entry in TERMS.terms.items():
        assert f"| `{key}` | {entry.label.zh} / {entry.label.en} | " in text
    assert "| `deductible` | 起付线 / Deductible | " in text
    assert "medical_relief (medical.tier1, medical.tier2, medical.tier3, medical.tier4) |" in text
    for unit, u in TERMS.units.items():
        assert f"| `{unit}` | {u.label.zh} / {u.label.en} | " in text
    assert "| `ratio` | 比例 / ratio | a percentage (0.75: 75%) |" in text
