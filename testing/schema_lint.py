"""A schema linter over the schema as served, in the spirit of graphql-schema-linter's rules.

    python -m testing.schema_lint            # findings not in the allow-list, exit 1 if any
    python -m testing.schema_lint --all      # every finding, allow-listed or not

Rules (each finding is ``RULE coordinate``, e.g. ``FIELD_DESCRIPTION Outcome.code``):

- ``TYPE_DESCRIPTION``, ``FIELD_DESCRIPTION``, ``ARGUMENT_DESCRIPTION``,
  ``INPUT_FIELD_DESCRIPTION``, ``ENUM_VALUE_DESCRIPTION``: everything a client sees is
  described (graphql-schema-linter's ``*-have-descriptions``).
- ``TYPE_NAME``, ``FIELD_NAME``, ``ARGUMENT_NAME``, ``ENUM_VALUE_NAME``: PascalCase types,
  camelCase fields and arguments, UPPER_SNAKE enum values.
- ``DEPRECATION_REASON``: what is deprecated says why and what to use instead.
- ``SCALAR_SPECIFIED_BY``: a custom scalar names its specification (``@specifiedBy``).
- ``CLOSED_SET``: a field, argument or input field of a closed set (the fact catalogue's enums
  and the sets listed in ``CLOSED_SETS``) is an enum, unless it is deprecated.
- ``RELAY_CONNECTION``: a ``...Connection`` type has ``edges``, ``pageInfo: PageInfo!`` and
  ``totalCount``; its edges have ``cursor`` and ``node``; a field returning one takes ``first``
  and ``after``; ``CONNECTION_BACKWARD``: and ``last`` and ``before``.

The allow-list (``testing/schema_lint_allow.txt``) names findings accepted for now, each with
its reason; ``tests/api/test_schema_lint.py`` fails on any finding not in it, and on entries
that no longer occur (so the list only shrinks).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLType,
    get_named_type,
)

from policy.fact_catalogue import CATALOGUE

ALLOW_LIST = Path(__file__).with_name("schema_lint_allow.txt")
BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}
PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
CAMEL = re.compile(r"^[a-z][A-Za-z0-9]*$")
UPPER = re.compile(r"^[A-Z][A-Z0-9_]*$")

# Closed sets outside the fact catalogue: (type, field) pairs whose values are a fixed list.
CLOSED_SETS = {
    ("UserError", "code"), ("ConditionNode", "kind"), ("FactChange", "operator"),
    ("Event", "kind"), ("Viewer", "role"), ("ValidationIssue", "code"),
    ("RejectedEvent", "code"),
}


def _catalogue_fields() -> set[str]:
    return {f.name for scope in ("household", "member")
            for f in CATALOGUE.inputs(scope)
            if f.enum is not None}


def lint(schema: GraphQLSchema) -> list[str]:
    """Every finding, sorted."""
    out: list[str] = []
    closed_names = _catalogue_fields()

    def described(rule: str, where: str, text: str | None) -> None:
        if not (text or "").strip():
            out.append(f"{rule} {where}")

    def deprecated(where: str, reason: str | None, is_deprecated: bool) -> None:
        if is_deprecated and not (reason or "").strip():
            out.append(f"DEPRECATION_REASON {where}")

    def closed(where: str, name: str, owner: str, type_: GraphQLType,
               is_deprecated: bool) -> None:
        wanted = name in closed_names or (owner, name) in CLOSED_SETS
        if wanted and not is_deprecated and not isinstance(get_named_type(type_),
                                                           GraphQLEnumType):
            out.append(f"CLOSED_SET {where}")

    for name, t in sorted(schema.type_map.items()):
        if name.startswith("__") or name in BUILT_IN:
            continue
        described("TYPE_DESCRIPTION", name, t.description)
        if not PASCAL.match(name):
            out.append(f"TYPE_NAME {name}")
        if isinstance(t, GraphQLScalarType) and not t.specified_by_url:
            out.append(f"SCALAR_SPECIFIED_BY {name}")
        if isinstance(t, GraphQLEnumType):
            for value_name, value in t.values.items():
                where = f"{name}.{value_name}"
                described("ENUM_VALUE_DESCRIPTION", where, value.description)
                if not UPPER.match(value_name):
                    out.append(f"ENUM_VALUE_NAME {where}")
                deprecated(where, value.deprecation_reason, value.deprecation_reason is not None)
        if isinstance(t, GraphQLInputObjectType):
            input_deprecated = t.description is not None and "deprecated" in t.description
            for field_name, field in t.fields.items():
                where = f"{name}.{field_name}"
                described("INPUT_FIELD_DESCRIPTION", where, field.description)
                if not CAMEL.match(field_name):
                    out.append(f"FIELD_NAME {where}")
                is_dep = field.deprecation_reason is not None
                closed(where, field_name, name,
                       field.type, is_dep or name in ("HouseholdInput", "MemberInput")
                       or input_deprecated)
        if isinstance(t, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in t.fields.items():
                where = f"{name}.{field_name}"
                described("FIELD_DESCRIPTION", where, field.description)
                if not CAMEL.match(field_name):
                    out.append(f"FIELD_NAME {where}")
                is_dep = field.deprecation_reason is not None
                deprecated(where, field.deprecation_reason, is_dep)
                closed(where, field_name, name, field.type, is_dep)
                for arg_name, arg in field.args.items():
                    arg_where = f"{where}({arg_name})"
                    described("ARGUMENT_DESCRIPTION", arg_where, arg.description)
                    if not CAMEL.match(arg_name):
                        out.append(f"ARGUMENT_NAME {arg_where}")
                    deprecated(arg_where, arg.deprecation_reason,
                               arg.deprecation_reason is not None)
                target = get_named_type(field.type)
                if target.name.endswith("Connection"):
                    if not {"first", "after"} <= field.args.keys():
                        out.append(f"RELAY_CONNECTION {where}")
                    if not {"last", "before"} <= field.args.keys():
                        out.append(f"CONNECTION_BACKWARD {where}")
            if name.endswith("Connection") and isinstance(t, GraphQLObjectType):
                page_info = t.fields.get("pageInfo")
                if ("edges" not in t.fields or "totalCount" not in t.fields or page_info is None
                        or not isinstance(page_info.type, GraphQLNonNull)
                        or get_named_type(page_info.type).name != "PageInfo"):
                    out.append(f"RELAY_CONNECTION {name}")
                else:
                    edge = get_named_type(t.fields["edges"].type)
                    if not isinstance(edge, GraphQLObjectType) or not {"cursor", "node"} <= (
                            edge.fields.keys()):
                        out.append(f"RELAY_CONNECTION {edge.name}")
    return sorted(set(out))


def allowed() -> dict[str, str]:
    """The allow-list: finding -> reason (``RULE coordinate  # reason`` lines)."""
    entries: dict[str, str] = {}
    for line in ALLOW_LIST.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        finding, _, reason = line.partition("#")
        entries[" ".join(finding.split())] = reason.strip()
    return entries


def main() -> int:
    import importlib

    from services.config import Settings

    # testing sits below the API layer: the schema is looked up by name, not imported
    build_schema = importlib.import_module("graphql_api.schema").build_schema
    findings = lint(build_schema(Settings(env="dev"))._schema)
    shown = findings if "--all" in sys.argv else [f for f in findings if f not in allowed()]
    for f in shown:
        print(f)
    print(f"{len(shown)} finding(s)", file=sys.stderr)
    return 1 if shown and "--all" not in sys.argv else 0


if __name__ == "__main__":
    sys.exit(main())
