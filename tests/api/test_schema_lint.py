"""The schema linter (testing/schema_lint.py, graphql-schema-linter's rules and ours) finds
nothing beyond its written allow-list, and the allow-list names nothing that no longer occurs.
Its rules can fail: each is shown failing on a small schema made to break it."""

from __future__ import annotations

from graphql import build_schema as build_sdl

from graphql_api.schema import build_schema
from services.config import Settings
from testing.schema_lint import allowed, lint


def test_no_findings_beyond_the_allow_list() -> None:
    findings = lint(build_schema(Settings(env="dev"))._schema)
    listed = allowed()
    assert all(reason for reason in listed.values()), "every allowed finding says why"
    assert [f for f in findings if f not in listed] == []
    assert sorted(set(listed) - set(findings)) == [], "remove these from the allow-list"


def test_every_rule_can_fail() -> None:
    sdl = '''
    scalar Date
    type Query {
      "described" ok: Int
      bare(arg: Int): Int
      Bad_Name: Int
      "described" old: Int @deprecated(reason: "")
      "described" relation: String
      "described" things(first: Int, after: String): ThingConnection
    }
    "described" enum lowerEnum { "described" ok  UNDESCRIBED }
    "described" type ThingConnection { "x" edges: [ThingEdge] }
    "described" type ThingEdge { "x" cursor: String }
    '''
    findings = lint(build_sdl(sdl))
    for expected in (
        "SCALAR_SPECIFIED_BY Date", "TYPE_DESCRIPTION Query", "FIELD_DESCRIPTION Query.bare",
        "ARGUMENT_DESCRIPTION Query.bare(arg)", "FIELD_NAME Query.Bad_Name",
        "DEPRECATION_REASON Query.old", "CLOSED_SET Query.relation", "TYPE_NAME lowerEnum",
        "ENUM_VALUE_NAME lowerEnum.ok", "ENUM_VALUE_DESCRIPTION lowerEnum.UNDESCRIBED",
        "RELAY_CONNECTION ThingConnection", "CONNECTION_BACKWARD Query.things",
    ):
        assert expected in findings, (expected, findings)
    assert "FIELD_DESCRIPTION Query.ok" not in findings


def test_closed_sets_of_the_household_inputs_are_enums() -> None:
    schema = build_schema(Settings(env="dev"))._schema
    member = schema.type_map["MemberFactsInput"]
    household = schema.type_map["HouseholdFactsInput"]
    for field, type_name in ((member.fields["relation"], "Relation"),  # type: ignore[union-attr]
                             (member.fields["schoolStage"], "SchoolStage"),  # type: ignore[union-attr]
                             (member.fields["disabilityKind"], "DisabilityKind"),  # type: ignore[union-attr]
                             (member.fields["laborCapacity"], "LaborCapacity"),  # type: ignore[union-attr]
                             (household.fields["housingSafetyGrade"],  # type: ignore[union-attr]
                              "HousingSafetyGrade")):
        assert str(field.type) == type_name
        values = schema.type_map[type_name].values  # type: ignore[union-attr]
        assert all(v.description and " / " in v.description for v in values.values())
