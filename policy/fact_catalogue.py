"""The fact catalogue: every household and member fact, declared once in ``fixtures/facts.yaml``.

The catalogue is data the project ships with its code, like the rule sets: it is read once,
when this module is first imported, and never changes while the process runs. Everything that
used to list the facts by hand is generated from it: the fact schema conditions are checked
against (``policy.schema``), the validation of household JSON (``policy.facts``), the batch
layouts and column types (``engine.batch``), the GraphQL ``HouseholdInput``/``MemberInput``, the
household generator of tests and benchmarks and the fact reference ``docs/facts.md``.

>>> CATALOGUE.input("member", "laborCapacity").default
'FULL'
>>> CATALOGUE.derived_fact("incomeDropRatio").sources
('previousAnnualNetIncome',)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from policy import yamltext

CATALOGUE_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "facts.yaml"

InputType = Literal["text", "bool", "money", "integer", "date", "enum"]
FactScopeName = Literal["household", "member"]
Check = Literal["notAfterAsOf", "maxAge", "uniqueInHousehold"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Model):
    """A text in Chinese and English."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.en if lang.upper() == "EN" else self.zh


class Bounds(_Model):
    min: float | None = None
    max: float | None = None
    minLength: int | None = None
    maxLength: int | None = None


class FactCheck(_Model):
    """One of the contract's checks on a fact, with the error code it gives."""

    check: Check
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")


class Requirement(_Model):
    """Another fact that must be given when this one is (with the error code when it is not)."""

    fact: str
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")


class Contradiction(_Model):
    """Another fact whose value contradicts this one being given (true, for a flag): ``dibao``
    true with ``dibaoMarginal`` true, ``monitoredSince`` with ``monitored`` false."""

    fact: str
    equals: bool | str
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    reason: Label


def _negated_words(name: str, kind: str, negated: Label | None) -> None:
    """Words for a fact that is not so belong to yes/no facts only."""
    if negated is not None and kind != "bool":
        raise ValueError(f"fact {name}: only a yes/no fact has negated words")


class InputFact(_Model):
    """A fact of the household JSON (a field of ``HouseholdInput`` or ``MemberInput``)."""

    name: str = Field(pattern=r"^[a-z][A-Za-z0-9]*$")
    type: InputType
    enum: str | None = None
    required: bool = False
    default: Any = None
    unknownWhenLeftOut: bool = False
    absentAs: Any = None  # what conditions see when the fact is left out (else unknown)
    condition: bool = True  # whether conditions may name it (not identifiers)
    # Whether what-would-change may suggest changing it: a circumstance that can change, not a
    # date of birth or the region.
    changeable: bool = True
    bounds: Bounds = Bounds()
    rangeCode: str | None = None
    requires: Requirement | None = None
    contradicts: tuple[Contradiction, ...] = ()
    checks: tuple[FactCheck, ...] = ()
    unit: str | None = None
    since: int = 1
    label: Label
    # A yes/no fact's words when it is not so, where 非/"not" before its label does not read
    # (未参加基本医保 rather than 非参加基本医保); conditions' ``not`` says it so.
    negated: Label | None = None
    description: Label

    @model_validator(mode="after")
    def _consistent(self) -> InputFact:
        left_out = [self.required, self.default is not None, self.unknownWhenLeftOut]
        if sum(left_out) != 1:
            raise ValueError(f"fact {self.name}: exactly one of required, default and "
                             "unknownWhenLeftOut says what happens when it is left out")
        if (self.type == "enum") != (self.enum is not None):
            raise ValueError(f"fact {self.name}: an enum fact (and only one) names its enum")
        _negated_words(self.name, self.type, self.negated)
        return self

    @property
    def optional(self) -> bool:
        """Left out, the fact is unknown (not a default, not an error)."""
        return self.unknownWhenLeftOut


class DerivedFact(_Model):
    """A fact computed from the input facts, with its definition."""

    name: str = Field(pattern=r"^[a-z][A-Za-z0-9]*$")
    scope: FactScopeName
    type: Literal["number", "bool", "date"]
    definition: str = Field(min_length=1)
    integer: bool = False
    range: tuple[float | None, float | None] = (None, None)
    unknownWhen: str | None = None
    sources: tuple[str, ...] = ()
    unit: str | None = None
    since: int = 1
    label: Label
    negated: Label | None = None  # as an input fact's
    description: Label

    @model_validator(mode="after")
    def _negated_only_for_bool(self) -> DerivedFact:
        _negated_words(self.name, self.type, self.negated)
        return self


class EventFact(_Model):
    """A fact of one department event or of its household's window of events (early warning).
    Only the rule sets of event programs may name one; ``policy.events`` computes them."""

    name: str = Field(pattern=r"^[a-z][A-Za-z0-9]*$")
    scope: FactScopeName
    type: Literal["number", "bool", "text", "enum"]
    enum: str | None = None
    unknownWhen: str | None = None
    sources: tuple[str, ...] = ()
    unit: str | None = None
    since: int = 1
    label: Label
    description: Label


class Limits(_Model):
    maxMembers: int = Field(ge=1)
    maxAge: int = Field(ge=1)
    maxMoney: float = Field(gt=0)


class FactCatalogue(_Model):
    """The catalogue document (``fixtures/facts.yaml``)."""

    catalogue: Literal["facts"]
    version: int = Field(ge=1)
    limits: Limits
    household: tuple[InputFact, ...]
    member: tuple[InputFact, ...]
    derived: tuple[DerivedFact, ...]
    event: tuple[EventFact, ...] = ()
    enums: dict[str, dict[str, Label]]

    @model_validator(mode="after")
    def _references(self) -> FactCatalogue:
        names: set[str] = set()
        for scope, fact in self.all_inputs():
            if fact.enum is not None and fact.enum not in self.enums:
                raise ValueError(f"fact {fact.name}: unknown enum {fact.enum}")
            if fact.name in names and fact.condition:
                raise ValueError(f"fact {fact.name} is declared twice")
            if fact.condition:
                names.add(fact.name)
            if fact.requires is not None and fact.requires.fact not in {
                    f.name for f in self.inputs(scope)}:
                raise ValueError(f"fact {fact.name} requires an unknown fact")
            for c in fact.contradicts:
                if c.fact not in {f.name for f in self.inputs(scope)}:
                    raise ValueError(f"fact {fact.name} contradicts an unknown fact")
            if fact.since > self.version:
                raise ValueError(f"fact {fact.name} is newer than the catalogue")
        for d in self.derived:
            if d.name in names:
                raise ValueError(f"fact {d.name} is declared twice")
            names.add(d.name)
        for e in self.event:
            if e.name in names:
                raise ValueError(f"fact {e.name} is declared twice")
            if (e.type == "enum") != (e.enum is not None) or (
                    e.enum is not None and e.enum not in self.enums):
                raise ValueError(f"fact {e.name}: an enum fact (and only one) names a known enum")
            if e.since > self.version:
                raise ValueError(f"fact {e.name} is newer than the catalogue")
            names.add(e.name)
        return self

    def inputs(self, scope: FactScopeName) -> tuple[InputFact, ...]:
        return self.household if scope == "household" else self.member

    def all_inputs(self) -> list[tuple[FactScopeName, InputFact]]:
        return [*(("household", f) for f in self.household),
                *(("member", f) for f in self.member)]

    def input(self, scope: FactScopeName, name: str) -> InputFact:
        """The input fact of that scope and name (``KeyError`` when there is none)."""
        for f in self.inputs(scope):
            if f.name == name:
                return f
        raise KeyError(name)

    def derived_fact(self, name: str) -> DerivedFact:
        for d in self.derived:
            if d.name == name:
                return d
        raise KeyError(name)

    def values(self, enum: str) -> tuple[str, ...]:
        """The closed set of an enum, in the catalogue's order."""
        return tuple(self.enums[enum])


def load_catalogue(data: str | bytes | dict[str, Any]) -> FactCatalogue:
    """A catalogue from YAML text (or parsed data); ``pydantic.ValidationError`` when invalid."""
    parsed = data if isinstance(data, dict) else yamltext.safe_load(data)
    return FactCatalogue.model_validate(parsed)


def _read_shipped() -> FactCatalogue:
    return load_catalogue(CATALOGUE_FILE.read_text(encoding="utf-8"))


CATALOGUE: FactCatalogue = _read_shipped()
