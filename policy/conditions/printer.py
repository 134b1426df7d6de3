"""Print a tree back as condition text; ``parse(unparse(t)) == t`` for every tree."""

from __future__ import annotations

from policy.conditions import ast as a
from policy.exact import Number, exact, fmt

# Binding strength: higher binds tighter.
_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7, "atom": 8}


def _prec(node: a.Node) -> int:
    match node:
        case a.Or():
            return 1
        case a.And():
            return 2
        case a.Not():
            return 3
        case a.Compare() | a.In() | a.Between():
            return 4
        case a.Arith(op=op):
            return _PREC[op]
        case a.Neg():
            return 7
        case a.Num(value=v) if v < 0:
            return 7
    return 8


def fmt_number(value: float | Number) -> str:
    """A number as written in a condition, from its exact value: ``6000.0`` -> ``6000``,
    ``0.5`` -> ``0.5``.

    >>> from decimal import Decimal
    >>> fmt_number(6000.0), fmt_number(Decimal("0.50")), fmt_number(0.1)
    ('6000', '0.5', '0.1')
    """
    return fmt(exact(value))


def unparse(node: a.Node) -> str:
    """Condition text for a tree.

    >>> from policy.conditions.parser import parse
    >>> unparse(parse("not (a<1 or b)and c"))
    'not (a < 1 or b) and c'
    """
    return _u(node)


def _wrap(node: a.Node, min_prec: int) -> str:
    text = _u(node)
    return f"({text})" if _prec(node) < min_prec else text


def _u(node: a.Node) -> str:
    match node:
        case a.Num(value=v):
            return fmt_number(v)
        case a.Bool(value=v):
            return "true" if v else "false"
        case a.EnumLit(name=n) | a.Name(name=n) | a.FactRef(name=n) | a.ParamRef(name=n):
            return n
        case a.DefRef(name=n):
            return n
        case a.Neg(operand=o):
            return "-" + _wrap(o, 7)
        case a.Arith(op=op, left=l, right=r):
            p = _PREC[op]
            # Left-associative: the right operand needs brackets at equal precedence.
            return f"{_wrap(l, p)} {op} {_wrap(r, p + 1)}"
        case a.Call(func=f, args=args):
            return f"{f}({', '.join(_u(x) for x in args)})"
        case a.Compare(op=op, left=l, right=r):
            return f"{_wrap(l, 5)} {op} {_wrap(r, 5)}"
        case a.In(subject=s, items=items, negated=neg):
            kw = "not in" if neg else "in"
            return f"{_wrap(s, 5)} {kw} {{{', '.join(_u(x) for x in items)}}}"
        case a.Between(subject=s, low=lo, high=hi):
            return f"{_wrap(s, 5)} between {_wrap(lo, 5)} and {_wrap(hi, 5)}"
        case a.Not(operand=o):
            return "not " + _wrap(o, 3)
        case a.And(operands=ops):
            return " and ".join(_wrap(x, 3) for x in ops)
        case a.Or(operands=ops):
            return " or ".join(_wrap(x, 2) for x in ops)
        case a.Quantifier(kind=k, body=b):
            return f"any member({_u(b)})" if k == "any" else f"all members({_u(b)})"
    raise TypeError(f"cannot print {type(node).__name__}")
