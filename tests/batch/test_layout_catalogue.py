"""The batch layout and column types generated from the fact catalogue are the released ones,
and every fact of the catalogue has its column; the GraphQL inputs describe every field."""

from __future__ import annotations

import polars as pl

from engine.batch.frames import ENUMS, HOUSEHOLD_INPUT, MEMBER_INPUT
from engine.batch.layout import COLUMNS, HOUSEHOLD_COLUMNS, MEMBER_COLUMNS
from policy.fact_catalogue import CATALOGUE, FactScopeName

# The layout as released before the catalogue (engine/batch/layout.py and frames.py by hand):
# (column, field, kind, member, values, default, required); kinds were named id, region, bool,
# money, grade, date, enum and are now id, text, bool, money, integer, date, enum.
_GRADES = ("A", "B", "C", "D")
_RELATIONS = ("HEAD", "SPOUSE", "CHILD", "CHILD_IN_LAW", "GRANDCHILD", "PARENT", "PARENT_IN_LAW",
              "GRANDPARENT", "SIBLING", "OTHER")
_KINDS = ("VISUAL", "HEARING", "SPEECH", "PHYSICAL", "INTELLECTUAL", "MENTAL", "MULTIPLE")
_STAGES = ("NONE", "PRESCHOOL", "PRIMARY", "JUNIOR", "SENIOR", "SECONDARY_VOCATIONAL",
           "HIGHER_VOCATIONAL", "UNDERGRADUATE")
RELEASED = [
    ("householdId", "id", "id", False, (), None, True),
    ("regionCode", "regionCode", "text", False, (), "000000", False),
    ("povertyAlleviated", "povertyAlleviated", "bool", False, (), False, False),
    ("monitored", "monitored", "bool", False, (), False, False),
    ("monitoredSince", "monitoredSince", "date", False, (), None, False),
    ("dibao", "dibao", "bool", False, (), False, False),
    ("dibaoMarginal", "dibaoMarginal", "bool", False, (), False, False),
    ("annualNetIncome", "annualNetIncome", "money", False, (), 0.0, False),
    ("previousAnnualNetIncome", "previousAnnualNetIncome", "money", False, (), None, False),
    ("disasterLoss", "disasterLoss", "money", False, (), 0.0, False),
    ("accidentLoss", "accidentLoss", "money", False, (), 0.0, False),
    ("foodAndClothingSecure", "foodAndClothingSecure", "bool", False, (), True, False),
    ("housingSafetyGrade", "housingSafetyGrade", "enum", False, _GRADES, "A", False),
    ("drinkingWaterSafe", "drinkingWaterSafe", "bool", False, (), True, False),
    ("memberId", "id", "id", True, (), None, True),
    ("relation", "relation", "enum", True, _RELATIONS, "OTHER", False),
    ("birthDate", "birthDate", "date", True, (), None, True),
    ("tekun", "tekun", "bool", True, (), False, False),
    ("orphan", "orphan", "bool", True, (), False, False),
    ("medicallyInsured", "medicallyInsured", "bool", True, (), True, False),
    ("medicalOutOfPocket", "medicalOutOfPocket", "money", True, (), 0.0, False),
    ("disabilityGrade", "disabilityGrade", "integer", True, (), None, False),
    ("disabilityKind", "disabilityKind", "enum", True, _KINDS, None, False),
    ("needsLongTermCare", "needsLongTermCare", "bool", True, (), False, False),
    ("schoolStage", "schoolStage", "enum", True, _STAGES, "NONE", False),
    ("boarding", "boarding", "bool", True, (), False, False),
    ("laborCapacity", "laborCapacity", "enum", True, ("FULL", "PARTIAL", "NONE"), "FULL", False),
]
RELEASED_HOUSEHOLD_INPUT = {
    "household_id": pl.String(), "regionCode": pl.String(), "povertyAlleviated": pl.Boolean(),
    "monitored": pl.Boolean(), "monitoredSince": pl.Date(), "dibao": pl.Boolean(),
    "dibaoMarginal": pl.Boolean(), "annualNetIncome": pl.Float64(),
    "previousAnnualNetIncome": pl.Float64(), "disasterLoss": pl.Float64(),
    "accidentLoss": pl.Float64(), "foodAndClothingSecure": pl.Boolean(),
    "housingSafetyGrade": pl.String(), "drinkingWaterSafe": pl.Boolean(),
}
RELEASED_MEMBER_INPUT = {
    "_h": pl.UInt32(), "member_id": pl.String(), "relation": pl.String(),
    "birthDate": pl.Date(), "tekun": pl.Boolean(), "orphan": pl.Boolean(),
    "medicallyInsured": pl.Boolean(), "medicalOutOfPocket": pl.Float64(),
    "disabilityGrade": pl.Int64(), "disabilityKind": pl.String(),
    "needsLongTermCare": pl.Boolean(), "schoolStage": pl.String(), "boarding": pl.Boolean(),
    "laborCapacity": pl.String(),
}


def _shape(c: object) -> tuple[object, ...]:
    return tuple(getattr(c, k) for k in ("name", "field", "kind", "member", "values", "default",
                                         "required"))


def test_released_columns_are_generated_unchanged() -> None:
    generated = {c.name: _shape(c) for c in COLUMNS}
    for row in RELEASED:
        assert generated[row[0]] == row
    # Length limits and the grade's range, as the released checks had them.
    limits = {c.name: (c.min, c.max) for c in COLUMNS}
    assert limits["householdId"] == limits["memberId"] == (1, 64)
    assert limits["regionCode"] == (1, 32) and limits["disabilityGrade"] == (1, 4)


def _as_now(released: dict[str, pl.DataType], scope: FactScopeName) -> dict[str, pl.DataType]:
    """The released types with an enum fact's text as its polars enum (the frames' type of an
    enum fact since it is compared as one; ``frames.ENUMS``)."""
    return {k: ENUMS[scope].get(k, t) for k, t in released.items()}


def test_released_frame_types_are_generated_unchanged() -> None:
    assert {k: HOUSEHOLD_INPUT[k] for k in RELEASED_HOUSEHOLD_INPUT} == \
        _as_now(RELEASED_HOUSEHOLD_INPUT, "household")
    assert {k: MEMBER_INPUT[k] for k in RELEASED_MEMBER_INPUT} == \
        _as_now(RELEASED_MEMBER_INPUT, "member")
    # An enum fact's polars enum: its released values in order, then the value conditions see
    # when it is left out (disabilityKind NONE), if that is not one of them.
    for column, _, kind, member, values, _, _ in RELEASED:
        if kind == "enum":
            enum = ENUMS["member" if member else "household"][column]
            assert list(enum.categories) in (list(values), [*values, "NONE"]), column
    assert list(ENUMS["member"]["disabilityKind"].categories) == [*_KINDS, "NONE"]
    assert list(HOUSEHOLD_INPUT)[:len(RELEASED_HOUSEHOLD_INPUT)] == list(RELEASED_HOUSEHOLD_INPUT)


def test_every_catalogue_fact_has_its_column_and_frame_type() -> None:
    assert [c.field for c in HOUSEHOLD_COLUMNS] == [f.name for f in CATALOGUE.household]
    assert [c.field for c in MEMBER_COLUMNS] == [f.name for f in CATALOGUE.member]
    for f in CATALOGUE.household[1:]:
        assert f.name in HOUSEHOLD_INPUT
    for f in CATALOGUE.member[1:]:
        assert f.name in MEMBER_INPUT


def test_graphql_inputs_have_a_field_with_a_description_per_fact() -> None:
    from graphql_api.schema import build_schema
    from services.config import Settings

    gql = build_schema(Settings(env="dev"))._schema
    for type_name, facts in (("HouseholdInput", CATALOGUE.household),
                             ("MemberInput", CATALOGUE.member)):
        fields = gql.type_map[type_name].fields  # type: ignore[union-attr]
        assert set(fields) >= {f.name for f in facts}
        for name, field in fields.items():
            assert field.description, f"{type_name}.{name} has no description"
        for f in facts:
            assert f.label.zh in fields[f.name].description
            assert f.label.en in fields[f.name].description


# The released GraphQL inputs (hand-written before the catalogue): a field per fact of the
# released layout, closed sets as String, money Float, the grade Int, dates Date.
_RELEASED_GRAPHQL = {"id": "String", "text": "String", "bool": "Boolean", "money": "Float",
                     "integer": "Int", "date": "Date", "enum": "String"}


def test_graphql_inputs_keep_the_released_fields_and_types() -> None:
    from graphql_api.schema import build_schema
    from services.config import Settings

    gql = build_schema(Settings(env="dev"))._schema
    for type_name, member, scope in (("HouseholdInput", False, "household"),
                                     ("MemberInput", True, "member")):
        fields = gql.type_map[type_name].fields  # type: ignore[union-attr]
        released = {field: _RELEASED_GRAPHQL[kind] + ("!" if required else "")
                    for _, field, kind, m, _, _, required in RELEASED if m == member}
        assert {name: str(fields[name].type) for name in released} == released
        added = set(fields) - set(released) - {"members"}
        # only facts the catalogue added after its first version, each optional
        assert all(CATALOGUE.input(scope, name).since > 1 for name in added), added
        assert all(not str(fields[name].type).endswith("!") for name in added)
    assert str(gql.type_map["HouseholdInput"].fields["members"].type) == "[MemberInput!]!"  # type: ignore[union-attr]
