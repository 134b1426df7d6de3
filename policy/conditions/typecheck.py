"""Type-check a parsed tree against the fact schema and a version's parameters and definitions.

``check`` returns a new tree in which every name is resolved (``FactRef``, ``ParamRef``,
``DefRef``) and every node carries its type, or raises ``ConditionError`` with a stable code
and the position of the offending node.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from policy.conditions import ast as a
from policy.errors import ConditionError
from policy.schema import BOOL, DATE, ENUMS, EVENT_FACTS, FACTS, NUMBER, FactType, Kind, Scope


@dataclass(frozen=True)
class Environment:
    """What names a condition may use besides facts: parameters (all numbers) and definitions
    (already-checked trees with their scope)."""

    parameters: frozenset[str] = frozenset()
    definitions: dict[str, tuple[Scope, a.Node]] = field(default_factory=dict)
    # True for the rule sets of event programs (early warning), the only ones that may name
    # an event's facts (policy.schema.EVENT_FACTS).
    events: bool = False
    # Parameters' and definitions' labels (``ast.Label``), from the version's document: the
    # names ``ParamRef`` and ``DefRef`` carry for explanations in words.
    labels: Mapping[str, a.Label] = field(default_factory=dict)


class _Checker:
    def __init__(self, env: Environment, text: str):
        self.env = env
        self.text = text
        self.used_parameters: set[str] = set()
        self.used_definitions: set[str] = set()

    def fail(self, code: str, message: str, node: a.Node) -> ConditionError:
        return ConditionError(code, message, node.pos, self.text)

    def check(self, node: a.Node, scope: Scope) -> a.Node:
        match node:
            case a.Num():
                return replace(node, type=NUMBER)
            case a.Bool():
                return replace(node, type=BOOL)
            case a.EnumLit(name=n):
                raise self.fail(
                    "ENUM_OUT_OF_PLACE",
                    f"enum value {n} must be compared with a fact, e.g. schoolStage == {n}",
                    node,
                )
            case a.Name(name=n):
                return self.resolve(node, n, scope)
            case a.Neg(operand=o):
                return replace(node, operand=self.number(o, scope), type=NUMBER)
            case a.Arith(left=l, right=r):
                return replace(node, left=self.number(l, scope), right=self.number(r, scope),
                               type=NUMBER)
            case a.Call():
                return self.call(node, scope)
            case a.Compare():
                return self.compare(node, scope)
            case a.In(subject=s, items=items):
                subject = self.check(s, scope)
                typed_items = tuple(self.literal_like(x, subject, scope) for x in items)
                return replace(node, subject=subject, items=typed_items, type=BOOL)
            case a.Between(subject=s, low=lo, high=hi):
                subject = self.check(s, scope)
                if subject.type is None or subject.type.kind not in (Kind.NUMBER, Kind.DATE):
                    raise self.fail("TYPE_MISMATCH",
                                    f"'between' needs a number or a date, got {subject.type}", s)
                low, high = self.check(lo, scope), self.check(hi, scope)
                for bound in (low, high):
                    if bound.type != subject.type:
                        raise self.fail("TYPE_MISMATCH",
                                        f"bound is {bound.type}, expected {subject.type}", bound)
                return replace(node, subject=subject, low=low, high=high, type=BOOL)
            case a.Not(operand=o):
                return replace(node, operand=self.boolean(o, scope), type=BOOL)
            case a.And(operands=ops) | a.Or(operands=ops):
                return replace(node, operands=tuple(self.boolean(x, scope) for x in ops),
                               type=BOOL)
            case a.Quantifier(body=b):
                if scope is Scope.MEMBER:
                    raise self.fail("NESTED_QUANTIFIER",
                                    "a member-level condition cannot quantify over members", node)
                return replace(node, body=self.boolean(b, Scope.MEMBER), type=BOOL)
        raise self.fail("SYNTAX", f"unexpected {type(node).__name__}", node)

    def resolve(self, node: a.Node, name: str, scope: Scope) -> a.Node:
        fact = FACTS.get(name)
        if fact is not None and name in EVENT_FACTS and not self.env.events:
            raise self.fail(
                "EVENT_FACT_OUTSIDE_EVENTS",
                f"{name} is a fact of a department event; only an early-warning rule set "
                "may name it",
                node,
            )
        if fact is not None:
            if fact.scope is Scope.MEMBER and scope is Scope.HOUSEHOLD:
                raise self.fail(
                    "MEMBER_FACT_IN_HOUSEHOLD_SCOPE",
                    f"{name} is a member fact; in a household rule write e.g. "
                    f"any member({name} ...)",
                    node,
                )
            return a.FactRef(name, fact.scope, pos=node.pos, type=fact.type)
        if name in self.env.parameters:
            self.used_parameters.add(name)
            return a.ParamRef(name, self.env.labels.get(name), pos=node.pos, type=NUMBER)
        if name in self.env.definitions:
            def_scope, body = self.env.definitions[name]
            if def_scope is Scope.MEMBER and scope is Scope.HOUSEHOLD:
                raise self.fail(
                    "MEMBER_FACT_IN_HOUSEHOLD_SCOPE",
                    f"{name} is a member-level definition; in a household rule write "
                    f"any member({name})",
                    node,
                )
            self.used_definitions.add(name)
            return a.DefRef(name, body, self.env.labels.get(name), pos=node.pos,
                            type=body.type)
        known = [*(f for f in FACTS if self.env.events or f not in EVENT_FACTS),
                 *self.env.parameters, *self.env.definitions]
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        error = self.fail("UNKNOWN_NAME", f"unknown fact, parameter or definition {name!r}{hint}",
                          node)
        error.name = name
        raise error

    def number(self, node: a.Node, scope: Scope) -> a.Node:
        typed = self.check(node, scope)
        if typed.type != NUMBER:
            raise self.fail("TYPE_MISMATCH", f"expected a number, got {typed.type}", node)
        return typed

    def boolean(self, node: a.Node, scope: Scope) -> a.Node:
        typed = self.check(node, scope)
        if typed.type != BOOL:
            raise self.fail("NOT_A_CONDITION",
                            f"expected a condition (true or false), got {typed.type}", node)
        return typed

    def literal_like(self, item: a.Node, subject: a.Node, scope: Scope) -> a.Node:
        """An operand that must have the subject's type (enum values are checked by name)."""
        st = subject.type
        assert st is not None
        if isinstance(item, a.EnumLit):
            if st.kind is not Kind.ENUM or st.enum is None:
                raise self.fail("TYPE_MISMATCH", f"{item.name} is an enum value, but "
                                f"{_describe(subject)} is {st}", item)
            if item.name not in ENUMS[st.enum]:
                raise self.fail(
                    "INVALID_ENUM_VALUE",
                    f"{item.name} is not a {st.enum}; expected one of "
                    f"{', '.join(ENUMS[st.enum])}",
                    item,
                )
            return replace(item, type=st)
        typed = self.check(item, scope)
        if typed.type != st:
            raise self.fail("TYPE_MISMATCH",
                            f"{_describe(subject)} is {st} but the other side is {typed.type}",
                            item)
        return typed

    def compare(self, node: a.Compare, scope: Scope) -> a.Node:
        if isinstance(node.left, a.EnumLit) and not isinstance(node.right, a.EnumLit):
            node = replace(node, left=node.right, right=node.left, op=_FLIP[node.op])
        left = self.check(node.left, scope)
        right = self.literal_like(node.right, left, scope)
        kind = left.type.kind if left.type else None
        if node.op not in ("==", "!=") and kind not in (Kind.NUMBER, Kind.DATE):
            raise self.fail("TYPE_MISMATCH",
                            f"'{node.op}' compares numbers or dates, not {left.type}", node)
        return replace(node, left=left, right=right, type=BOOL)

    def call(self, node: a.Call, scope: Scope) -> a.Node:
        f, args = node.func, node.args
        if f in ("min", "max"):
            if len(args) < 2:
                raise self.fail("ARITY", f"{f} takes two or more numbers", node)
            typed = tuple(self.number(x, scope) for x in args)
            return replace(node, args=typed, type=NUMBER)
        if f == "round":
            if len(args) != 2 or not isinstance(args[1], a.Num):
                raise self.fail("ARITY", "round takes a number and a count of decimals, "
                                "e.g. round(x, 2)", node)
            return replace(node, args=(self.number(args[0], scope), replace(args[1], type=NUMBER)),
                           type=NUMBER)
        if f == "addMonths":
            if len(args) != 2:
                raise self.fail("ARITY", "addMonths takes a date and a number of months", node)
            d = self.check(args[0], scope)
            if d.type != DATE:
                raise self.fail("TYPE_MISMATCH", f"expected a date, got {d.type}", args[0])
            return replace(node, args=(d, self.number(args[1], scope)), type=DATE)
        close = difflib.get_close_matches(f, a.FUNCTIONS, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise self.fail("UNKNOWN_FUNCTION",
                        f"unknown function {f!r}; known: {', '.join(a.FUNCTIONS)}{hint}", node)


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _describe(node: a.Node) -> str:
    from policy.conditions.printer import unparse

    return unparse(node)


@dataclass(frozen=True)
class Checked:
    tree: a.Node
    used_parameters: frozenset[str]
    used_definitions: frozenset[str]


def check(
    tree: a.Node, env: Environment, scope: Scope, *, text: str = "", want: FactType = BOOL
) -> Checked:
    """Type-check ``tree`` in ``scope``; ``want`` is BOOL for conditions, NUMBER for amounts."""
    checker = _Checker(env, text)
    typed = checker.check(tree, scope)
    if typed.type != want:
        what = "a condition (true or false)" if want == BOOL else f"a {want}"
        raise checker.fail("NOT_A_CONDITION" if want == BOOL else "TYPE_MISMATCH",
                           f"expected {what}, got {typed.type}", tree)
    return Checked(typed, frozenset(checker.used_parameters), frozenset(checker.used_definitions))
