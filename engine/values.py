"""Evaluating typed trees over facts with three-valued (Kleene) logic.

``UNKNOWN`` is the third value: an optional fact left out, or anything computed from one.
``true or unknown`` is true and ``false and unknown`` is false, so only a result that really
depends on an unknown fact is unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from policy import exact as x
from policy.cache import BoundedCache
from policy.conditions import ast as a
from policy.exact import Number
from policy.facts import UNKNOWN, Value, add_months
from policy.schema import FACTS


@dataclass(frozen=True)
class Scope:
    """What a tree is evaluated against: the facts in scope (a member's scope includes the
    household's facts), the parameters, and for household scope the members' scopes."""

    facts: Mapping[str, Value]
    params: Mapping[str, Number]
    members: Sequence[Mapping[str, Value]] = ()


def round_half_up(value: Number, places: int) -> Number:
    """Round as people do, a tie away from zero, on the exact value (``policy.exact``).

    >>> from decimal import Decimal
    >>> round_half_up(Decimal("2.675"), 2), round_half_up(Decimal("0.125"), 2)
    (Decimal('2.68'), Decimal('0.13'))
    """
    return x.round_half_up(value, places)


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


Fn = Callable[[Scope], Value]
_CLOSURES: BoundedCache[int, tuple[a.Node, Fn]] = BoundedCache("engine.closures", 4096)


def evaluate(node: a.Node, scope: Scope) -> Value:
    """The value of a typed tree (a number, a date, an enum value, a truth value or UNKNOWN)."""
    return closure(node)(scope)


def closure(node: a.Node) -> Fn:
    """The tree compiled once into nested Python closures (parse once, evaluate many).

    Cached by node identity; the cache keeps the node alive so an id is never reused."""
    hit = _CLOSURES.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    fn = _build(node)
    _CLOSURES.put(id(node), (node, fn))
    return fn


def _build(node: a.Node) -> Fn:
    match node:
        case a.Num(value=v) | a.Bool(value=v):
            const: Value = v
            return lambda s: const
        case a.EnumLit(name=n):
            return lambda s: n
        case a.FactRef(name=n):
            return lambda s: s.facts[n]
        case a.ParamRef(name=n):
            return lambda s: s.params[n]
        case a.DefRef(body=body):
            assert body is not None
            return closure(body)
        case a.Neg(operand=o):
            f = closure(o)

            def neg(s: Scope) -> Value:
                v = f(s)
                return UNKNOWN if v is UNKNOWN else -v  # type: ignore[operator]

            return neg
        case a.Arith(op=op, left=l, right=r):
            fl, fr = closure(l), closure(r)
            return lambda s: _arith(op, fl(s), fr(s))
        case a.Call(func=func, args=args):
            fargs = [closure(x) for x in args]
            return lambda s: _call(func, [f(s) for f in fargs])
        case a.Compare(op=op, left=l, right=r):
            fl, fr = closure(l), closure(r)
            return lambda s: compare(op, fl(s), fr(s))
        case a.In(subject=subj, items=items, negated=negated):
            fsubj = closure(subj)
            fitems = [closure(x) for x in items]

            def in_(s: Scope) -> Value:
                v = fsubj(s)
                if v is UNKNOWN:
                    return UNKNOWN
                found = any(v == f(s) for f in fitems)
                return not found if negated else found

            return in_
        case a.Between(subject=subj, low=lo, high=hi):
            fsub, flo, fhi = closure(subj), closure(lo), closure(hi)

            def between(s: Scope) -> Value:
                v = fsub(s)
                return k_and([compare(">=", v, flo(s)), compare("<=", v, fhi(s))])

            return between
        case a.Not(operand=o):
            f = closure(o)
            return lambda s: k_not(f(s))
        case a.And(operands=ops):
            fops = [closure(x) for x in ops]

            def and_(s: Scope) -> Value:
                unknown = False
                for f in fops:
                    v = f(s)
                    if v is False:
                        return False
                    if v is UNKNOWN:
                        unknown = True
                return UNKNOWN if unknown else True

            return and_
        case a.Or(operands=ops):
            fops = [closure(x) for x in ops]

            def or_(s: Scope) -> Value:
                unknown = False
                for f in fops:
                    v = f(s)
                    if v is True:
                        return True
                    if v is UNKNOWN:
                        unknown = True
                return UNKNOWN if unknown else False

            return or_
        case a.Quantifier(kind=kind, body=b):
            fb = closure(b)
            every = kind == "all"

            def quantifier(s: Scope) -> Value:
                results = [fb(Scope(m, s.params)) for m in s.members]
                return k_and(results) if every else k_or(results)

            return quantifier
    raise TypeError(f"cannot evaluate {type(node).__name__}")


_ARITH: dict[str, Callable[[Number, Number], Number]] = {
    "+": x.add, "-": x.sub, "*": x.mul,
}


def _arith(op: str, left: Value, right: Value) -> Value:
    """Exact arithmetic (``policy.exact``): no binary floating point anywhere."""
    if left is UNKNOWN or right is UNKNOWN:
        return UNKNOWN
    lv: Number = left  # type: ignore[assignment]
    rv: Number = right  # type: ignore[assignment]
    if op == "/":
        # A zero denominator leaves the value unknown rather than crashing anything.
        return UNKNOWN if rv == 0 else x.div(lv, rv)
    fn = _ARITH.get(op)
    if fn is None:
        raise ValueError(op)
    return fn(lv, rv)


def _call(func: str, args: list[Value]) -> Value:
    if any(v is UNKNOWN for v in args):
        return UNKNOWN
    match func:
        case "min":
            return min(args)  # type: ignore[type-var]
        case "max":
            return max(args)  # type: ignore[type-var]
        case "round":
            return x.round_half_up(args[0], int(args[1]))  # type: ignore[arg-type]
        case "addMonths":
            d = args[0]
            assert isinstance(d, date)
            return add_months(d, int(args[1]))  # type: ignore[arg-type]
    raise ValueError(func)


def is_money(node: a.Node) -> bool:
    """Whether a number expression is an amount of money (shown with two decimals): a money
    fact, or a sum, difference, product, quotient by a non-money number, min, max or rounding
    of one.

    >>> from policy.conditions.parser import parse
    >>> is_money(parse("perCapitaNetIncome")), is_money(parse("0.5 * (accidentLoss + 1)"))
    (True, True)
    >>> is_money(parse("annualNetIncome / previousAnnualNetIncome")), is_money(parse("age"))
    (False, False)
    """
    match node:
        case a.FactRef(name=n) | a.Name(name=n):
            f = FACTS.get(n)
            return f is not None and f.money
        case a.DefRef(body=body):
            return body is not None and is_money(body)
        case a.Neg(operand=o):
            return is_money(o)
        case a.Arith(op="/", left=l, right=r):
            return is_money(l) and not is_money(r)
        case a.Arith(left=l, right=r):
            return is_money(l) or is_money(r)
        case a.Call(func="round", args=args):
            return is_money(args[0])
        case a.Call(func="min" | "max", args=args):
            return any(is_money(x) for x in args)
    return False


def fmt(value: Value, money: bool = False) -> str | None:
    """A value as explanations show it, from the value alone: ``6000.00`` (money), ``16``,
    ``0.5``, ``2023-02-28``, ``true``, ``C``; ``None`` for an unknown value."""
    if value is UNKNOWN:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal | Fraction):
        return x.fmt(value, money)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
