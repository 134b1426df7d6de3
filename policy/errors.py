"""Errors of the domain, each with a stable code, the field path and a readable message.

    PolicyError            the base of every error the policy package raises
    ├── FactsInvalid       household facts rejected as a whole (``errors``: FieldErrors)
    ├── DocumentInvalid    a rule-set document rejected as a whole (``errors``: FieldErrors)
    ├── ConditionError     a condition that does not parse or type-check, with its position
    └── UnknownProgram     a program code no rule set of the catalog has (policy.catalog)

A ``FieldError`` is one problem, not an exception: where (a field path such as
``members[1].birthDate``), a stable code and a message saying what was expected and found.
``tests/unit/test_errors.py`` keeps this drawing equal to the classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One problem: where (a field path such as ``members[1].birthDate``), a stable code, and
    a message that says what was expected and what was found; ``params`` fill the code's
    Chinese text (``policy.messages.chinese``) where it has details of its own."""

    field: str
    code: str
    message: str
    params: Mapping[str, Any] | None = _field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.field}: {self.message} [{self.code}]"


class PolicyError(Exception):
    """Base of the errors this package raises."""


class FactsInvalid(PolicyError):
    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


class DocumentInvalid(PolicyError):
    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


class ConditionError(PolicyError):
    """A condition that cannot be parsed or typed. ``position`` is the 0-based character offset
    into the condition text."""

    def __init__(self, code: str, message: str, position: int, text: str = "",
                 name: str | None = None):
        self.code = code
        self.message = message
        self.position = position
        self.text = text
        self.name = name  # the name an UNKNOWN_NAME error is about
        super().__init__(f"{message} (at column {position + 1}) [{code}]")

    def pointer(self) -> str:
        """The condition with a caret under the offending position."""
        return f"{self.text}\n{' ' * self.position}^"
