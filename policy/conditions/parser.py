"""Tokenizer and recursive-descent parser of the condition language.

Grammar (lowest precedence first)::

    expr     := and ("or" and)*
    and      := not ("and" not)*
    not      := "not" not | compare
    compare  := sum [ CMP sum | ["not"] "in" set | "between" sum "and" sum ]
    sum      := product (("+" | "-") product)*
    product  := unary (("*" | "/") unary)*
    unary    := "-" unary | primary
    primary  := NUMBER | "true" | "false" | ENUM | NAME | NAME "(" args ")"
              | "any" "member" "(" expr ")" | "all" "members" "(" expr ")" | "(" expr ")"
    set      := "{" primary ("," primary)* "}"

NAME is camelCase (a fact, parameter or definition); ENUM is UPPER_CASE (an enum value such as
``NONE`` or ``C``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from policy.conditions import ast as a
from policy.errors import ConditionError
from policy.exact import Number, exact

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<op><=|>=|==|!=|<|>|\+|-|\*|/|\(|\)|\{|\}|,)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)
KEYWORDS = {"and", "or", "not", "in", "between", "true", "false", "any", "all", "member", "members"}
_ENUM = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class Token:
    kind: str  # num | op | word | kw | enum | end
    text: str
    pos: int


def literal(text: str) -> Number:
    """A number literal's exact value (``0.75`` is three quarters, not the double nearest it).

    >>> literal("6000"), literal("0.75"), literal("2.0")
    (6000, Decimal('0.75'), 2)
    """
    if "." not in text:
        return int(text)
    d = Decimal(text)
    return int(d) if d == d.to_integral_value() else exact(d)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ConditionError(
                "UNEXPECTED_CHARACTER", f"unexpected character {text[pos]!r}", pos, text
            )
        kind = m.lastgroup or ""
        value = m.group()
        if kind == "word":
            if value in KEYWORDS:
                kind = "kw"
            elif _ENUM.match(value):
                kind = "enum"
        if kind != "ws":
            tokens.append(Token(kind, value, pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, message: str, tok: Token | None = None) -> ConditionError:
        t = tok or self.tok
        got = "end of condition" if t.kind == "end" else repr(t.text)
        return ConditionError("SYNTAX", f"{message}, got {got}", t.pos, self.text)

    def accept(self, text: str) -> Token | None:
        if self.tok.text == text and self.tok.kind in ("op", "kw"):
            t = self.tok
            self.i += 1
            return t
        return None

    def expect(self, text: str, what: str | None = None) -> Token:
        t = self.accept(text)
        if t is None:
            raise self.error(f"expected {what or repr(text)}")
        return t

    def parse(self) -> a.Node:
        if self.tok.kind == "end":
            raise ConditionError("EMPTY", "the condition is empty", 0, self.text)
        node = self.expr()
        if self.tok.kind != "end":
            raise self.error("expected an operator or the end of the condition")
        return node

    def expr(self) -> a.Node:
        first = self.and_()
        ops = [first]
        while self.accept("or"):
            ops.append(self.and_())
        return ops[0] if len(ops) == 1 else a.Or(tuple(ops), pos=first.pos)

    def and_(self) -> a.Node:
        first = self.not_()
        ops = [first]
        while self.accept("and"):
            ops.append(self.not_())
        return ops[0] if len(ops) == 1 else a.And(tuple(ops), pos=first.pos)

    def not_(self) -> a.Node:
        t = self.accept("not")
        if t:
            return a.Not(self.not_(), pos=t.pos)
        return self.compare()

    def compare(self) -> a.Node:
        left = self.sum()
        t = self.tok
        if t.kind == "op" and t.text in a.COMPARE_OPS:
            self.i += 1
            return a.Compare(t.text, left, self.sum(), pos=left.pos)
        if t.kind == "kw" and t.text == "not" and self.tokens[self.i + 1].text == "in":
            self.i += 2
            return a.In(left, self.set_(), True, pos=left.pos)
        if self.accept("in"):
            return a.In(left, self.set_(), False, pos=left.pos)
        if self.accept("between"):
            low = self.sum()
            self.expect("and", "'and' in 'between ... and ...'")
            return a.Between(left, low, self.sum(), pos=left.pos)
        return left

    def set_(self) -> tuple[a.Node, ...]:
        self.expect("{", "'{' to open a set such as {C, D}")
        items = [self.primary()]
        while self.accept(","):
            items.append(self.primary())
        self.expect("}", "',' or '}' in the set")
        return tuple(items)

    def sum(self) -> a.Node:
        node = self.product()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            op = self.tok.text
            self.i += 1
            node = a.Arith(op, node, self.product(), pos=node.pos)
        return node

    def product(self) -> a.Node:
        node = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/"):
            op = self.tok.text
            self.i += 1
            node = a.Arith(op, node, self.unary(), pos=node.pos)
        return node

    def unary(self) -> a.Node:
        t = self.accept("-")
        if t:
            operand = self.unary()
            if isinstance(operand, a.Num):
                return a.Num(-operand.value, pos=t.pos)
            return a.Neg(operand, pos=t.pos)
        return self.primary()

    def primary(self) -> a.Node:
        t = self.tok
        if t.kind == "num":
            self.i += 1
            return a.Num(literal(t.text), pos=t.pos)
        if t.kind == "enum":
            self.i += 1
            return a.EnumLit(t.text, pos=t.pos)
        if t.kind == "kw" and t.text in ("true", "false"):
            self.i += 1
            return a.Bool(t.text == "true", pos=t.pos)
        if t.kind == "kw" and t.text in ("any", "all"):
            self.i += 1
            self.expect("member" if t.text == "any" else "members",
                        "'member' after 'any'" if t.text == "any" else "'members' after 'all'")
            self.expect("(", "'(' after the quantifier")
            body = self.expr()
            self.expect(")", "')' to close the quantifier")
            return a.Quantifier(t.text, body, pos=t.pos)
        if t.kind == "word":
            self.i += 1
            if self.accept("("):
                args = [self.sum()]
                while self.accept(","):
                    args.append(self.sum())
                self.expect(")", "',' or ')' in the call")
                return a.Call(t.text, tuple(args), pos=t.pos)
            return a.Name(t.text, pos=t.pos)
        if self.accept("("):
            node = self.expr()
            self.expect(")", "')'")
            return node
        raise self.error("expected a fact, a number or '('")


def parse(text: str) -> a.Node:
    """Parse a condition or expression into an (untyped) tree.

    >>> tree = parse("age between 6 and 15")
    >>> type(tree).__name__, tree.subject.name, tree.low.pos, tree.high.pos
    ('Between', 'age', 12, 18)
    """
    return _Parser(text).parse()
