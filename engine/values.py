"""Values as the engine evaluates and shows them.

Evaluation is ``policy.evaluation`` (closures over ``policy.semantics``), re-exported here for
the engine's modules; this module adds how a value is shown (``fmt``, ``is_money``).
``UNKNOWN`` is the third value: an optional fact left out, or anything computed from one.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import date
from decimal import Decimal
from fractions import Fraction

from policy import exact as x
from policy.conditions import ast as a
from policy.evaluation import Bindings, closure, evaluate
from policy.schema import FACTS
from policy.semantics import UNKNOWN, Value, compare, k_and, k_not, k_or, round_half_up

__all__ = ["UNKNOWN", "Bindings", "Value", "closure", "compare", "evaluate", "fmt", "is_money",
           "k_and", "k_not", "k_or", "round_half_up"]


def is_money(node: a.Node, yuan: Container[str] = ()) -> bool:
    """Whether a number expression is an amount of money (shown with two decimals): a money
    fact (or a name in ``yuan``: a rule set's parameters in yuan, for words said from the
    expression's text), or a sum, difference, product, quotient by a non-money number, min,
    max, rounding or sum over the members of one.

    >>> from policy.conditions.parser import parse
    >>> is_money(parse("perCapitaNetIncome")), is_money(parse("0.5 * (accidentLoss + 1)"))
    (True, True)
    >>> is_money(parse("annualNetIncome / previousAnnualNetIncome")), is_money(parse("age"))
    (False, False)
    """
    match node:
        case a.FactRef(name=n) | a.Name(name=n):
            f = FACTS.get(n)
            return f.money if f is not None else n in yuan
        case a.DefRef(body=body):
            return body is not None and is_money(body, yuan)
        case a.Neg(operand=o):
            return is_money(o, yuan)
        case a.Arith(op="/", left=l, right=r):
            return is_money(l, yuan) and not is_money(r, yuan)
        case a.Arith(left=l, right=r):
            return is_money(l, yuan) or is_money(r, yuan)
        case a.Call(func="round" | "memberSum", args=args):
            return is_money(args[0], yuan)
        case a.Call(func="min" | "max", args=args):
            return any(is_money(x, yuan) for x in args)
    return False


def fmt(value: Value, money: bool = False) -> str | None:
    """A value as explanations show it, from the value alone: ``6000.00`` (money), ``16``,
    ``0.5``, ``2023-02-28``, ``true``, ``C``; ``None`` for an unknown value."""
    # By exact type first: explanations show hundreds of values per household.
    t = type(value)
    if t is bool:
        return "true" if value else "false"
    if t is Decimal:
        return x.fmt_decimal(value, money)  # type: ignore[arg-type]
    if t is str:
        return value  # type: ignore[return-value]
    if value is UNKNOWN:
        return None
    if t is int:
        return f"{value}.00" if money else str(value)
    if t is date:
        return value.isoformat()  # type: ignore[union-attr]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal | Fraction):
        return x.fmt(value, money)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
