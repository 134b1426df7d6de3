"""The fact schema: every fact a condition may name, its type and its scope.

Generated from the fact catalogue (``fixtures/facts.yaml``, ``policy.fact_catalogue``).

Conditions are type-checked against this table, so a rule that compares a flag with a number, or
names a fact that does not exist, is refused before it is ever evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from policy.fact_catalogue import CATALOGUE, DerivedFact, EventFact, InputFact

if TYPE_CHECKING:
    from policy.conditions.ast import Node


class Kind(StrEnum):
    NUMBER = "number"
    BOOL = "bool"
    DATE = "date"
    ENUM = "enum"
    STRING = "string"


class Scope(StrEnum):
    HOUSEHOLD = "household"
    MEMBER = "member"


@dataclass(frozen=True)
class FactType:
    kind: Kind
    enum: str | None = None  # the enum's name when kind is ENUM

    def __str__(self) -> str:
        return self.enum if self.kind is Kind.ENUM and self.enum else self.kind.value


NUMBER = FactType(Kind.NUMBER)
BOOL = FactType(Kind.BOOL)
DATE = FactType(Kind.DATE)
STRING = FactType(Kind.STRING)


def enum_type(name: str) -> FactType:
    return FactType(Kind.ENUM, name)


@dataclass(frozen=True)
class FactDef:
    name: str
    type: FactType
    scope: Scope
    derived: bool = False
    optional: bool = False  # may be unknown (left out of the input)
    # The input facts a caseworker must supply when this one is unknown.
    sources: tuple[str, ...] = ()
    doc: str = ""
    # A derived fact's definition in the condition language (explanations expand a derived
    # fact into it, what-would-change reasons through it); empty when the language cannot say
    # it (a count or a date difference). Generated from the catalogue (fixtures/facts.yaml).
    definition: str = ""
    # A household fact that is the sum of a member fact over the members.
    total_of: str = ""
    since: int = 1  # the catalogue version that added it
    # A number's unit: YUAN (money, exact to the cent as given, shown with two decimals),
    # INTEGER (counts, years, grades: whole numbers), RATIO (an exact quotient); from the
    # catalogue's types and units. See docs/decisions/0006-exact-numbers.md.
    unit: str = ""

    @property
    def money(self) -> bool:
        return self.unit == YUAN

    @property
    def integer(self) -> bool:
        return self.unit == INTEGER


YUAN = "yuan"
INTEGER = "integer"
RATIO = "ratio"


_TYPES: dict[str, FactType] = {
    "text": STRING, "bool": BOOL, "money": NUMBER, "integer": NUMBER, "date": DATE,
    "number": NUMBER,
}


def _enums() -> dict[str, tuple[str, ...]]:
    """Each closed set with the value conditions see for a left-out fact (``NONE``) first."""
    out = {name: CATALOGUE.values(name) for name in CATALOGUE.enums}
    for _, f in CATALOGUE.all_inputs():
        if f.enum is not None and f.absentAs is not None and f.absentAs not in out[f.enum]:
            out[f.enum] = (f.absentAs, *out[f.enum])
    return out


def _input_def(f: InputFact, scope: Scope) -> FactDef:
    t = enum_type(f.enum) if f.enum is not None else _TYPES[f.type]
    unknown = f.unknownWhenLeftOut and f.absentAs is None
    unit = {"money": YUAN, "integer": INTEGER}.get(f.type, "")
    return FactDef(f.name, t, scope, optional=unknown, sources=(f.name,) if unknown else (),
                   doc=f.description.en, since=f.since, unit=unit)


_MEMBER_SUM = re.compile(r"^memberSum\(([a-z][A-Za-z0-9]*)\)$")
# What derivation computes but conditions cannot say: sums over members, full years.
_DERIVATION_ONLY = re.compile(r"\b(memberSum|fullYears)\(")


def _unit(unit: str | None) -> str:
    """A computed fact's unit from the catalogue's: money (any ``yuan...``), a ratio, or none."""
    return YUAN if (unit or "").startswith("yuan") else RATIO if unit == "ratio" else ""


def _derived_def(d: DerivedFact) -> FactDef:
    scope = Scope(d.scope)
    total = _MEMBER_SUM.match(d.definition)
    sayable = d.definition != d.name and not _DERIVATION_ONLY.search(d.definition)
    unit = INTEGER if d.integer else _unit(d.unit)
    return FactDef(d.name, _TYPES[d.type], scope, derived=True,
                   optional=d.unknownWhen is not None, sources=d.sources,
                   doc=d.description.en, definition=d.definition if sayable else "",
                   total_of=total.group(1) if total and total.group(1) != "1" else "",
                   since=d.since, unit=unit)


def _facts() -> dict[str, FactDef]:
    defs: list[FactDef] = []
    for scope in (Scope.HOUSEHOLD, Scope.MEMBER):
        defs.extend(d for d in map(_derived_def, CATALOGUE.derived) if d.scope is scope)
        inputs = CATALOGUE.household if scope is Scope.HOUSEHOLD else CATALOGUE.member
        defs.extend(_input_def(f, scope) for f in inputs if f.condition)
    return {d.name: d for d in defs}


ENUMS: dict[str, tuple[str, ...]] = _enums()
FACTS: dict[str, FactDef] = _facts()

# The member id is carried for explanations, but conditions cannot name it.
ENUM_OF_VALUE: dict[str, tuple[str, ...]] = {}
for _name, _values in ENUMS.items():
    for _v in _values:
        ENUM_OF_VALUE.setdefault(_v, ())
        ENUM_OF_VALUE[_v] = (*ENUM_OF_VALUE[_v], _name)


def definition_tree(name: str) -> Node:
    """A derived fact's definition, parsed (not type-checked: it may call the functions only
    derivation knows, ``memberSum(x)`` and ``fullYears(from, to)``; its names are ``Name``
    nodes).

    >>> definition_tree("perCapitaNetIncome").op
    '/'
    """
    from policy.conditions.parser import parse

    return parse(CATALOGUE.derived_fact(name).definition)


def _event_def(e: EventFact) -> FactDef:
    t = enum_type(e.enum) if e.enum is not None else _TYPES[e.type]
    # An amount in yuan is money like any other (shown with two decimals and its unit).
    return FactDef(e.name, t, Scope(e.scope), derived=True, optional=e.unknownWhen is not None,
                   sources=e.sources, doc=e.description.en, since=e.since, unit=_unit(e.unit))


# --- early warning (预警监测) ---------------------------------------------------------------------
#
# The facts of one department event and of its household's window of events (policy.events),
# declared in the catalogue's ``event`` section. Only rule sets of event programs
# (policy.events.EVENT_PROGRAMS) may name them: a household's determination has no event. They
# are in FACTS like every other fact, so the type checker, the explainer and the validator know
# their types.
EVENT_FACTS: dict[str, FactDef] = {e.name: _event_def(e) for e in CATALOGUE.event}
FACTS.update(EVENT_FACTS)
