"""The fact schema: every fact a condition may name, its type and its scope.

Conditions are type-checked against this table, so a rule that compares a flag with a number, or
names a fact that does not exist, is refused before it is ever evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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


ENUMS: dict[str, tuple[str, ...]] = {
    "HousingSafetyGrade": ("A", "B", "C", "D"),
    "Relation": (
        "HEAD", "SPOUSE", "CHILD", "CHILD_IN_LAW", "GRANDCHILD", "PARENT", "PARENT_IN_LAW",
        "GRANDPARENT", "SIBLING", "OTHER",
    ),
    "DisabilityKind": (
        "NONE", "VISUAL", "HEARING", "SPEECH", "PHYSICAL", "INTELLECTUAL", "MENTAL", "MULTIPLE",
    ),
    "SchoolStage": (
        "NONE", "PRESCHOOL", "PRIMARY", "JUNIOR", "SENIOR", "SECONDARY_VOCATIONAL",
        "HIGHER_VOCATIONAL", "UNDERGRADUATE",
    ),
    "LaborCapacity": ("FULL", "PARTIAL", "NONE"),
}


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
    # it (a count or a date difference).
    definition: str = ""
    # A household fact that is the sum of a member fact over the members.
    total_of: str = ""


def _h(name: str, t: FactType, doc: str = "", **kw: object) -> FactDef:
    return FactDef(name, t, Scope.HOUSEHOLD, doc=doc, **kw)  # type: ignore[arg-type]


def _m(name: str, t: FactType, doc: str = "", **kw: object) -> FactDef:
    return FactDef(name, t, Scope.MEMBER, doc=doc, **kw)  # type: ignore[arg-type]


FACTS: dict[str, FactDef] = {
    f.name: f
    for f in (
        _h("asOf", DATE, "the evaluation date", derived=True),
        _h("regionCode", STRING),
        _h("povertyAlleviated", BOOL, "脱贫户"),
        _h("monitored", BOOL, "防止返贫监测对象 (not yet risk-eliminated)"),
        _h("monitoredSince", DATE, optional=True, sources=("monitoredSince",)),
        _h("dibao", BOOL, "低保户"),
        _h("dibaoMarginal", BOOL, "低保边缘家庭"),
        _h("annualNetIncome", NUMBER, "yuan, last 12 months"),
        _h(
            "previousAnnualNetIncome", NUMBER, "yuan, the 12 months before",
            optional=True, sources=("previousAnnualNetIncome",),
        ),
        _h("disasterLoss", NUMBER),
        _h("accidentLoss", NUMBER),
        _h("foodAndClothingSecure", BOOL, "两不愁"),
        _h("housingSafetyGrade", enum_type("HousingSafetyGrade")),
        _h("drinkingWaterSafe", BOOL),
        _h("householdSize", NUMBER, derived=True),
        _h("perCapitaNetIncome", NUMBER, derived=True,
           definition="annualNetIncome / householdSize"),
        _h("householdMedicalOutOfPocket", NUMBER, "sum of members' medicalOutOfPocket",
           derived=True, total_of="medicalOutOfPocket"),
        _h("rigidExpenses", NUMBER, derived=True,
           definition="householdMedicalOutOfPocket + disasterLoss + accidentLoss"),
        _h("perCapitaIncomeAfterRigid", NUMBER, derived=True,
           definition="(annualNetIncome - rigidExpenses) / householdSize"),
        _h(
            "incomeDropRatio", NUMBER, derived=True, optional=True,
            sources=("previousAnnualNetIncome",),
            definition="1 - annualNetIncome / previousAnnualNetIncome",
        ),
        _h("economicHardship", BOOL, "家庭经济困难", derived=True,
           definition="povertyAlleviated or monitored or dibao or dibaoMarginal"),
        _m("relation", enum_type("Relation")),
        _m("birthDate", DATE),
        _m("age", NUMBER, "full years on asOf", derived=True),
        _m("tekun", BOOL, "特困人员"),
        _m("orphan", BOOL),
        _m("medicallyInsured", BOOL),
        _m("medicalOutOfPocket", NUMBER),
        _m("disabilityGrade", NUMBER, "1-4; 0 when the member has no disability certificate"),
        _m("disabilityKind", enum_type("DisabilityKind")),
        _m("disabled", BOOL, "disabilityGrade is set", derived=True,
           definition="disabilityGrade >= 1"),
        _m("needsLongTermCare", BOOL),
        _m("schoolStage", enum_type("SchoolStage")),
        _m("boarding", BOOL),
        _m("laborCapacity", enum_type("LaborCapacity")),
    )
}

# The member id is carried for explanations, but conditions cannot name it.
ENUM_OF_VALUE: dict[str, tuple[str, ...]] = {}
for _name, _values in ENUMS.items():
    for _v in _values:
        ENUM_OF_VALUE.setdefault(_v, ())
        ENUM_OF_VALUE[_v] = (*ENUM_OF_VALUE[_v], _name)
