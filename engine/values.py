"""Evaluating typed trees over facts with three-valued (Kleene) logic.

``UNKNOWN`` is the third value: an optional fact left out, or anything computed from one.
``true or unknown`` is true and ``false and unknown`` is false, so only a result that really
depends on an unknown fact is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from policy.conditions import ast as a
from policy.facts import UNKNOWN, Value, add_months


@dataclass(frozen=True)
class Scope:
    """What a tree is evaluated against: the facts in scope (a member's scope includes the
    household's facts), the parameters, and for household scope the members' scopes."""

    facts: Mapping[str, Value]
    params: Mapping[str, float]
    members: Sequence[Mapping[str, Value]] = ()


def round_half_up(value: float, places: int) -> float:
    """Round as people do (2.675 -> 2.68), on the number's shortest decimal form.

    >>> round_half_up(2.675, 2), round_half_up(0.125, 2), round_half_up(7.0, 0)
    (2.68, 0.13, 7.0)
    """
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def k_not(v: Value) -> Value:
    return UNKNOWN if v is UNKNOWN else not v


def k_and(values: Sequence[Value]) -> Value:
    if any(v is False for v in values):
        return False
    return UNKNOWN if any(v is UNKNOWN for v in values) else True


def k_or(values: Sequence[Value]) -> Value:
    if any(v is True for v in values):
        return True
    return UNKNOWN if any(v is UNKNOWN for v in values) else False


def compare(op: str, left: Value, right: Value) -> Value:
    if left is UNKNOWN or right is UNKNOWN:
        return UNKNOWN
    match op:
        case "<":
            return left < right  # type: ignore[operator]
        case "<=":
            return left <= right  # type: ignore[operator]
        case ">":
            return left > right  # type: ignore[operator]
        case ">=":
            return left >= right  # type: ignore[operator]
        case "==":
            return left == right
        case "!=":
            return left != right
    raise ValueError(op)


def evaluate(node: a.Node, scope: Scope) -> Value:
    """The value of a typed tree (a number, a date, an enum value, a truth value or UNKNOWN)."""
    match node:
        case a.Num(value=v):
            return v
        case a.Bool(value=v):
            return v
        case a.EnumLit(name=n):
            return n
        case a.FactRef(name=n):
            return scope.facts[n]
        case a.ParamRef(name=n):
            return scope.params[n]
        case a.DefRef(body=body):
            assert body is not None
            return evaluate(body, scope)
        case a.Neg(operand=o):
            v = evaluate(o, scope)
            return UNKNOWN if v is UNKNOWN else -v  # type: ignore[operator]
        case a.Arith(op=op, left=l, right=r):
            return _arith(op, evaluate(l, scope), evaluate(r, scope))
        case a.Call(func=f, args=args):
            return _call(f, [evaluate(x, scope) for x in args])
        case a.Compare(op=op, left=l, right=r):
            return compare(op, evaluate(l, scope), evaluate(r, scope))
        case a.In(subject=s, items=items, negated=neg):
            v = evaluate(s, scope)
            if v is UNKNOWN:
                return UNKNOWN
            found = v in [evaluate(x, scope) for x in items]
            return not found if neg else found
        case a.Between(subject=s, low=lo, high=hi):
            v = evaluate(s, scope)
            return k_and([compare(">=", v, evaluate(lo, scope)),
                          compare("<=", v, evaluate(hi, scope))])
        case a.Not(operand=o):
            return k_not(evaluate(o, scope))
        case a.And(operands=ops):
            return k_and([evaluate(x, scope) for x in ops])
        case a.Or(operands=ops):
            return k_or([evaluate(x, scope) for x in ops])
        case a.Quantifier(kind=kind, body=b):
            results = [evaluate(b, Scope(m, scope.params)) for m in scope.members]
            return k_or(results) if kind == "any" else k_and(results)
    raise TypeError(f"cannot evaluate {type(node).__name__}")


def _arith(op: str, left: Value, right: Value) -> Value:
    if left is UNKNOWN or right is UNKNOWN:
        return UNKNOWN
    lf, rf = float(left), float(right)  # type: ignore[arg-type]
    match op:
        case "+":
            return lf + rf
        case "-":
            return lf - rf
        case "*":
            return lf * rf
        case "/":
            # A zero denominator leaves the value unknown rather than crashing anything.
            return UNKNOWN if rf == 0 else lf / rf
    raise ValueError(op)


def _call(func: str, args: list[Value]) -> Value:
    if any(x is UNKNOWN for x in args):
        return UNKNOWN
    match func:
        case "min":
            return min(float(x) for x in args)  # type: ignore[arg-type]
        case "max":
            return max(float(x) for x in args)  # type: ignore[arg-type]
        case "round":
            return round_half_up(float(args[0]), int(args[1]))  # type: ignore[arg-type]
        case "addMonths":
            d = args[0]
            assert isinstance(d, date)
            return add_months(d, int(args[1]))  # type: ignore[arg-type]
    raise ValueError(func)


def fmt(value: Value) -> str | None:
    """A value as explanations show it: ``5400``, ``0.5``, ``2023-02-28``, ``true``, ``C``."""
    if value is UNKNOWN:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float):
        from policy.conditions.printer import fmt_number

        return fmt_number(round(float(value), 6))
    return str(value)
