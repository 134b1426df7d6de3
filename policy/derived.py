"""Derived facts' definitions as typed trees, read from the fact schema.

The fact schema (``policy.schema.FACTS``) keeps each derived fact's definition as condition
text; explanations expand a derived fact into it and what-would-change reasons through it. The
text is parsed and type-checked once per fact.
"""

from __future__ import annotations

from functools import cache

from policy.conditions import ast as a
from policy.conditions.parser import parse
from policy.conditions.typecheck import Environment, check
from policy.schema import FACTS


@cache
def definition(name: str) -> a.Node | None:
    """The typed tree of a derived fact's definition, or None (an input fact, or a derived fact
    the condition language cannot define).

    >>> from policy.conditions.printer import unparse
    >>> unparse(definition("perCapitaNetIncome"))
    'annualNetIncome / householdSize'
    >>> definition("annualNetIncome") is None
    True
    """
    fact = FACTS.get(name)
    if fact is None or not fact.definition:
        return None
    return check(parse(fact.definition), Environment(), fact.scope, text=fact.definition,
                 want=fact.type).tree
