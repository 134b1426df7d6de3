"""Every string a request brings (in its variables or written in the document) is checked
before anything runs: no NUL character (PostgreSQL refuses one in a text or JSON value, SQLite
stores it, so the two backends would answer differently) and no string longer than
``max_string_length`` characters (POLICY_ENGINE_MAX_STRING_LENGTH). Narrower limits of a field
(a household id is at most 64 characters) are the fact schema's, checked with field paths.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, StringValueNode, ValidationContext, ValidationRule

CODE = "INVALID_STRING"


def _problem(text: str, max_length: int) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (U+0000)"
    if len(text) > max_length:
        return f"is {len(text)} characters long; at most {max_length} are allowed"
    return None


def _all_fine(variables: Any, max_length: int) -> bool:
    """Whether every string of ``variables`` (keys too) obeys the rules: the walk made for
    every request, without the paths that only a refusal needs."""
    stack = [variables]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if _problem(value, max_length) is not None:
                return False
        elif isinstance(value, dict):
            for key, item in value.items():
                if _problem(str(key), max_length) is not None:
                    return False
                stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)
    return True


def check_variables(variables: Any, max_length: int) -> list[GraphQLError]:
    """Errors for the strings of ``variables`` (keys too) that break the rules, each with the
    variable's path (``$h.members[0].id``); never the string itself."""
    if _all_fine(variables, max_length):
        return []
    errors: list[GraphQLError] = []
    stack: list[tuple[str, Any]] = [("$", variables)]
    while stack and len(errors) < 20:
        path, value = stack.pop()
        if isinstance(value, str):
            problem = _problem(value, max_length)
            if problem is not None:
                errors.append(GraphQLError(f"{path} {problem}",
                                           extensions={"code": CODE, "field": path,
                                                       "params": {"where": path}}))
        elif isinstance(value, dict):
            for key, item in value.items():
                key_text = str(key)
                problem = _problem(key_text, max_length)
                if problem is not None:
                    errors.append(GraphQLError(f"{path} has a key that {problem}",
                                               extensions={"code": CODE, "field": path}))
                    continue
                stack.append((f"{path}.{key_text}" if path != "$" else f"${key_text}", item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
    errors.reverse()
    return errors


def string_rule(max_length: int) -> type[ValidationRule]:
    """A validation rule: the string literals written in the document obey the same rules."""

    class Strings(ValidationRule):
        def __init__(self, context: ValidationContext):
            super().__init__(context)

        def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
            problem = _problem(node.value, max_length)
            if problem is not None:
                self.report_error(GraphQLError(f"a string in the document {problem}", node,
                                               extensions={"code": CODE}))

    return Strings
