"""The condition language policy staff write rules in.

    perCapitaNetIncome < incomeLine and (povertyAlleviated or monitored)
    any member(age between 6 and 15 and schoolStage == NONE)
    housingSafetyGrade in {C, D}

Text is parsed once (``parse``) into a tree of ``policy.conditions.ast`` nodes, type-checked
against the fact schema and the version's parameters (``check``), and printed back (``unparse``).
There is no ``eval`` and no way to call arbitrary code: the grammar is all there is.
"""

from policy.conditions.ast import Node
from policy.conditions.parser import parse
from policy.conditions.printer import unparse
from policy.conditions.typecheck import Environment, check

__all__ = ["Environment", "Node", "check", "parse", "unparse"]
