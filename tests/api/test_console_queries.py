"""Every GraphQL document the web console sends is valid against the served schema and selects
nothing deprecated. The console is the API's first client: a field leaves the schema only once
no client reads it (add, deprecate, then remove), so the console reads the successors.

The documents are the console's template literals that are operations (``query``,
``mutation``, ``subscription`` or a selection set), with the field lists they interpolate
(``${DETERMINATION_FIELDS}``) filled in from the constants the console defines."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import GraphQLSchema, parse, print_schema, specified_rules, validate
from graphql import build_schema as build_sdl
from graphql.validation import NoDeprecatedCustomRule

import graphql_api
from graphql_api.schema import build_schema
from services.config import Settings

JS = Path(graphql_api.__file__).parent / "static" / "js"
_CONST = re.compile(r'\bconst\s+(\w+)\s*=\s*(?:`([^`]*)`|"([^"\n]*)")')
_TEMPLATE = re.compile(r"`([^`]*)`")
_INTERPOLATION = re.compile(r"\$\{\s*([^}]*?)\s*\}")
_OPERATION = re.compile(r"^\s*(?:query\b|mutation\b|subscription\b|\{)")
RULES = (*specified_rules, NoDeprecatedCustomRule)


def _sources() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(JS.glob("*.js"))}


def _constants(sources: dict[str, str]) -> dict[str, str]:
    """The console's constant strings by name; a name given two values (a local of two
    functions) is left out, so an operation that interpolates it fails to resolve."""
    found: dict[str, str] = {}
    twice: set[str] = set()
    for text in sources.values():
        for m in _NUMBER.finditer(text):
            if found.setdefault(m.group(1), m.group(2)) != m.group(2):
                twice.add(m.group(1))
        for m in _CONST.finditer(text):
            value = m.group(2) if m.group(2) is not None else m.group(3)
            if found.setdefault(m.group(1), value) != value:
                twice.add(m.group(1))
    return {k: v for k, v in found.items() if k not in twice}


def _tree_selection(levels: int) -> str:
    """result.js ``treeSelection(levels)``: a condition node's fields and its children's,
    ``levels`` deep."""
    node = "expression kind result actual expected decided memberIds"
    return node if levels == 0 else f"{node} children {{ {_tree_selection(levels - 1)} }}"


# The console's functions that write a field list, called with a number or a numeric constant.
_FIELD_LISTS = {"treeSelection": _tree_selection}
_CALL = re.compile(r"(\w+)\((\w+)\)")
_NUMBER = re.compile(r"\bconst\s+(\w+)\s*=\s*(\d+);")


def _fill(text: str, constants: dict[str, str], where: str) -> str:
    def one(m: re.Match[str]) -> str:
        call = _CALL.fullmatch(m.group(1))
        if call and call.group(1) in _FIELD_LISTS:
            arg = call.group(2)
            return _FIELD_LISTS[call.group(1)](int(constants.get(arg, arg)))
        assert m.group(1) in constants, f"{where}: ${{{m.group(1)}}} is not a console constant"
        return _fill(constants[m.group(1)], constants, where)
    return _INTERPOLATION.sub(one, text)


def console_documents() -> list[tuple[str, str]]:
    """(file, document) of every operation the console's scripts hold."""
    sources = _sources()
    constants = _constants(sources)
    out = []
    for name, text in sources.items():
        for m in _TEMPLATE.finditer(text):
            if _OPERATION.match(m.group(1)):
                out.append((name, _fill(m.group(1), constants, name)))
    return out


def _schema() -> GraphQLSchema:
    # From its SDL: graphql-core's deprecation rule reads the fields' syntax nodes.
    return build_sdl(print_schema(build_schema(Settings(env="dev"))._schema))


def test_every_console_document_is_valid_and_reads_nothing_deprecated() -> None:
    schema = _schema()
    documents = console_documents()
    # Sign-in, evaluation, households, cases, visits, alerts, rule sets and the audit log.
    assert len(documents) >= 40, documents
    assert {name for name, _ in documents} >= {
        "app.js", "alerts.js", "audit.js", "cases.js", "check.js", "households.js", "query.js",
        "rulesets.js", "visits.js"}
    problems = [
        f"{name}: {error.message}\n{document}"
        for name, document in documents
        for error in validate(schema, parse(document), RULES)
    ]
    assert problems == []


def test_a_deprecated_or_unknown_selection_is_found() -> None:
    schema = _schema()
    old = validate(schema, parse("{ viewer { name role } }"), RULES)
    assert [e.message for e in old] == [
        "The field Viewer.role is deprecated. Use userRole, the same role as a Role value "
        "(role stays while clients move: add, deprecate, then remove). 请改用 userRole。"]
    assert validate(schema, parse("{ viewer { name userRole } }"), RULES) == []
    assert validate(schema, parse("{ viewer { nickname } }"), RULES) != []


def test_interpolations_are_filled_from_the_console_constants() -> None:
    constants = {"FIELDS": "a ${INNER}", "INNER": "b c"}
    assert _fill("{ x { ${FIELDS} } }", constants, "t.js") == "{ x { a b c } }"
    try:
        _fill("{ x { ${someVariable} } }", constants, "t.js")
    except AssertionError as exc:
        assert "someVariable" in str(exc)
    else:
        raise AssertionError("an interpolation that is no console constant was filled")
