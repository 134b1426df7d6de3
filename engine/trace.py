"""The condition trace: every condition of a rule with its actual value, threshold and verdict.

durable_rules says which rules fired, not why others did not. This module walks the same typed
tree that was compiled for durable_rules and reports each elementary condition (a comparison, a
flag, a quantifier, a negated definition) as a ``ConditionCheck``. Positive definitions are
opened up so that an explanation shows ``perCapitaNetIncome < incomeLine`` rather than
``lowIncome``.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.results import ConditionCheck
from engine.values import Scope, evaluate, fmt
from policy.conditions import ast as a
from policy.conditions.printer import unparse
from policy.facts import UNKNOWN, Value
from policy.schema import FACTS


@dataclass(frozen=True)
class Check:
    check: ConditionCheck
    missing: tuple[str, ...]  # input facts whose absence left this check open


def checks(node: a.Node, scope: Scope, member_ids: tuple[str, ...] = ()) -> list[Check]:
    """The elementary conditions of ``node`` with their values in ``scope``."""
    out: list[Check] = []
    _collect(node, scope, member_ids, negated=False, out=out)
    return out


def _collect(
    node: a.Node, scope: Scope, ids: tuple[str, ...], negated: bool, out: list[Check]
) -> None:
    match node:
        case a.And(operands=ops) | a.Or(operands=ops):
            for x in ops:
                _collect(x, scope, ids, negated, out)
            return
        case a.Not(operand=o) if isinstance(o, a.And | a.Or | a.Not):
            _collect(o, scope, ids, not negated, out)
            return
        case a.Not(operand=o):
            _collect(o, scope, ids, not negated, out)
            return
        case a.DefRef(body=body) if not negated:
            assert body is not None
            _collect(body, scope, ids, negated, out)
            return
    out.append(_atom(node, scope, ids, negated))


def _atom(node: a.Node, scope: Scope, ids: tuple[str, ...], negated: bool) -> Check:
    value = evaluate(node, scope)
    passed: Value = value if value is UNKNOWN or not negated else not value
    text = unparse(node)
    if negated:
        expression = f"not {text}" if _is_wrapped(node) else f"not ({text})"
    else:
        expression = text
    actual: str | None
    expected: str | None
    match node:
        case a.Compare(op=op, left=l, right=r):
            actual = fmt(evaluate(l, scope))
            rv = fmt(evaluate(r, scope))
            shown_op = a.NEGATED[op] if negated else op
            expected = f"{shown_op} {rv}" if rv is not None else None
        case a.In(subject=s, items=items, negated=neg):
            actual = fmt(evaluate(s, scope))
            values = ", ".join(fmt(evaluate(x, scope)) or "?" for x in items)
            expected = f"{'not in' if neg != negated else 'in'} {{{values}}}"
        case a.Between(subject=s, low=lo, high=hi):
            actual = fmt(evaluate(s, scope))
            expected = (f"{'not ' if negated else ''}between {fmt(evaluate(lo, scope))} "
                        f"and {fmt(evaluate(hi, scope))}")
        case a.Quantifier(kind=kind, body=b):
            hits = [
                mid for mid, m in zip(ids, scope.members, strict=True)
                if evaluate(b, Scope(m, scope.params)) is (kind == "any")
            ]
            actual = ", ".join(hits) if hits else "none"
            if kind == "any":
                expected = "no member" if negated else "at least one member"
            else:
                expected = "some member fails" if negated else "no member fails"
        case _:
            actual = fmt(value)
            expected = "false" if negated else "true"
    return Check(
        ConditionCheck(
            expression=expression,
            actual=actual,
            expected=expected,
            passed=None if passed is UNKNOWN else bool(passed),
        ),
        missing_facts(node, scope) if passed is UNKNOWN else (),
    )


def _is_wrapped(node: a.Node) -> bool:
    return isinstance(node, a.FactRef | a.DefRef | a.Quantifier | a.Bool)


def missing_facts(node: a.Node, scope: Scope) -> tuple[str, ...]:
    """The input facts, unknown in ``scope``, that ``node`` reads (definitions included)."""
    found: dict[str, None] = {}

    def visit(n: a.Node, s: Scope) -> None:
        if isinstance(n, a.FactRef) and s.facts.get(n.name, UNKNOWN) is UNKNOWN:
            for src in FACTS[n.name].sources or (n.name,):
                found.setdefault(src, None)
        elif isinstance(n, a.DefRef) and n.body is not None:
            visit(n.body, s)
        elif isinstance(n, a.Quantifier):
            for m in s.members:
                visit(n.body, Scope(m, s.params))
            return
        for c in a.children(n):
            visit(c, s)

    visit(node, scope)
    return tuple(found)
