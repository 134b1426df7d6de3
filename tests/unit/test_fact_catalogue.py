"""The fact catalogue: its document is checked, and what is generated from it agrees with it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from policy.document import compile_document, load_document
from policy.errors import DocumentInvalid
from policy.fact_catalogue import CATALOGUE, CATALOGUE_FILE, load_catalogue
from policy.facts import Household, Member
from policy.schema import ENUMS, FACTS, Kind, definition_tree


def _data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))
    return data


def test_shipped_catalogue_loads_and_names_each_fact_once() -> None:
    assert load_catalogue(_data()) == CATALOGUE
    names = [f.name for _, f in CATALOGUE.all_inputs() if f.condition]
    names += [d.name for d in CATALOGUE.derived]
    names += [e.name for e in CATALOGUE.event]
    assert len(names) == len(set(names)) == len(FACTS)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["household"][2].update(default=None), "exactly one of"),
    (lambda d: d["household"][2].update(required=True), "exactly one of"),
    (lambda d: d["member"][1].update(enum="Nope"), "unknown enum"),
    (lambda d: d["member"][1].pop("enum"), "names its enum"),
    (lambda d: d["household"].append(d["household"][2]), "declared twice"),
    (lambda d: d["member"][7]["requires"].update(fact="nothing"), "requires an unknown fact"),
    (lambda d: d["household"][2].update(since=d["version"] + 1), "newer than the catalogue"),
    (lambda d: d["household"][2].update(colour="red"), "Extra inputs"),
    # Words for "not so" belong to yes/no facts only (the region code is text).
    (lambda d: d["household"][1].update(negated={"zh": "非", "en": "not"}), "yes/no fact"),
    (lambda d: d["derived"][0].update(negated={"zh": "非", "en": "not"}), "yes/no fact"),
])
def test_an_inconsistent_catalogue_is_refused(change: Any, message: str) -> None:
    data = _data()
    change(data)
    with pytest.raises(ValidationError, match=message):
        load_catalogue(data)


def test_models_schema_and_enums_follow_the_catalogue() -> None:
    assert list(Member.model_fields) == [f.name for f in CATALOGUE.member]
    assert list(Household.model_fields) == [*(f.name for f in CATALOGUE.household), "members"]
    for _, f in CATALOGUE.all_inputs():
        if f.condition:
            fact = FACTS[f.name]
            assert fact.optional == (f.unknownWhenLeftOut and f.absentAs is None)
            if f.enum is not None:
                assert fact.type.kind is Kind.ENUM
                assert set(ENUMS[f.enum]) >= set(CATALOGUE.values(f.enum))
    # A left-out disability kind is NONE in conditions, a value of the enum conditions see.
    assert ENUMS["DisabilityKind"][0] == "NONE"


def test_derived_facts_expose_their_parsed_definition() -> None:
    for d in CATALOGUE.derived:
        assert FACTS[d.name].derived and FACTS[d.name].definition in (d.definition, "")
        assert definition_tree(d.name) is not None
    # What conditions can say is kept for explanations; sums over members are named apart.
    assert FACTS["perCapitaNetIncome"].definition == "annualNetIncome / householdSize"
    assert FACTS["householdSize"].definition == FACTS["age"].definition == ""
    assert FACTS["householdMedicalOutOfPocket"].total_of == "medicalOutOfPocket"
    assert FACTS["householdSize"].total_of == ""
    with pytest.raises(KeyError):
        definition_tree("annualNetIncome")


def test_a_rule_set_names_an_existing_catalogue_version() -> None:
    doc = {"program": "x", "version": 1, "title": {"zh": "x", "en": "x"}, "owner": "o",
           "factsVersion": CATALOGUE.version + 1,
           "rules": [{"id": "x.a", "outcome": "x.a", "title": {"zh": "a", "en": "a"},
                      "per": "household", "condition": "dibao", "reason": {"zh": "r", "en": "r"},
                      "citation": {"document": "d", "clause": "c"}}]}
    with pytest.raises(DocumentInvalid) as info:
        compile_document(load_document(doc))
    assert [e.code for e in info.value.errors] == ["UNKNOWN_CATALOGUE_VERSION"]
    doc["factsVersion"] = CATALOGUE.version
    assert compile_document(load_document(doc)).code == "x"
