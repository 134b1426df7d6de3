"""The term catalogue: the labels of outcome terms and their units, declared once in
``fixtures/terms.yaml``.

Read once, when this module is first imported, like the fact catalogue. A rule set keeps
writing a term's key and unit as it always did; the views (the API's ``Term.label`` and
``Term.unitLabel``, ``policy-engine evaluate --explain``, the web console) show the labels. A
key or unit without one is shown as it is written, and validation warns about it.

>>> TERMS.label("deductible", "ZH"), TERMS.label("deductible", "EN")
('起付线', 'Deductible')
>>> TERMS.unit_label("yuan", "ZH"), TERMS.unit_label("furlong", "ZH")
('元', 'furlong')
>>> TERMS.value_text(0.75, "ratio", "ZH"), TERMS.value_text(30000, "yuan", "EN")
('75%', '30,000.00 yuan')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from policy import yamltext
from policy.fact_catalogue import Label

CATALOGUE_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "terms.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TermEntry(_Model):
    label: Label
    description: Label


class UnitEntry(_Model):
    label: Label
    # Shown as a percentage (0.75 -> 75%) instead of the value and the unit's label.
    percent: bool = False


class TermCatalogue(_Model):
    """The catalogue document (``fixtures/terms.yaml``)."""

    catalogue: Literal["terms"]
    version: int = Field(ge=1)
    terms: dict[str, TermEntry]
    units: dict[str, UnitEntry]

    def label(self, key: str, lang: str) -> str:
        """The term's label in ``lang`` (``ZH`` or ``EN``); the key itself when it has none."""
        entry = self.terms.get(key)
        return key if entry is None else entry.label.get(lang)

    def unit_label(self, unit: str, lang: str) -> str:
        """The unit's label in ``lang``; the unit itself when it has none."""
        entry = self.units.get(unit)
        return unit if entry is None else entry.label.get(lang)

    def value_text(self, value: float, unit: str, lang: str) -> str:
        """A term's value with its unit as a person reads it: a percentage for a percent unit,
        yuan to the fen, any other number as short as it is."""
        entry = self.units.get(unit)
        if entry is not None and entry.percent:
            return f"{value * 100:.6g}%"
        shown = f"{value:,.2f}" if unit.startswith("yuan") else f"{value:,.6g}"
        return f"{shown} {self.unit_label(unit, lang)}"


def load_term_catalogue(data: str | bytes | dict[str, Any]) -> TermCatalogue:
    """A catalogue from YAML text (or parsed data); ``pydantic.ValidationError`` when invalid."""
    parsed = data if isinstance(data, dict) else yamltext.safe_load(data)
    return TermCatalogue.model_validate(parsed)


TERMS: TermCatalogue = load_term_catalogue(CATALOGUE_FILE.read_text(encoding="utf-8"))
