"""The typed tree of a condition or an amount expression.

Parsing yields ``Name`` nodes; type-checking replaces each with ``FactRef``, ``ParamRef`` or
``DefRef`` and fills in every node's ``type``. Nodes are immutable; ``pos`` is the character
offset of the node in the text it was parsed from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from policy import semantics
from policy.exact import Number
from policy.schema import FactType, Scope


@dataclass(frozen=True)
class Node:
    pos: int = field(default=0, compare=False, kw_only=True)
    type: FactType | None = field(default=None, compare=False, kw_only=True)


@dataclass(frozen=True)
class Num(Node):
    value: Number  # exact (policy.exact): an int or a Decimal as written


@dataclass(frozen=True)
class Bool(Node):
    value: bool


@dataclass(frozen=True)
class EnumLit(Node):
    name: str


@dataclass(frozen=True)
class Name(Node):
    name: str


@dataclass(frozen=True)
class FactRef(Node):
    name: str
    scope: Scope = Scope.HOUSEHOLD


# A rule set's parameter or definition in words, from its document's description: (Chinese,
# English, whether it is an amount of money). Explanations show the name by it
# (``engine.words``); it takes no part in a node's equality.
Label = tuple[str, str, bool]


@dataclass(frozen=True)
class ParamRef(Node):
    name: str
    label: Label | None = field(default=None, compare=False)


@dataclass(frozen=True)
class DefRef(Node):
    """A named definition of the rule set (e.g. ``eligibleStudent``), kept as a node so that an
    explanation can show it as one condition."""

    name: str
    body: Node | None = field(default=None, compare=False)
    label: Label | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Neg(Node):
    operand: Node


@dataclass(frozen=True)
class Arith(Node):
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Call(Node):
    func: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Compare(Node):
    op: str  # < <= > >= == !=
    left: Node
    right: Node


@dataclass(frozen=True)
class In(Node):
    subject: Node
    items: tuple[Node, ...]
    negated: bool = False


@dataclass(frozen=True)
class Between(Node):
    subject: Node
    low: Node
    high: Node


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class And(Node):
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or(Node):
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Quantifier(Node):
    """``any member(...)`` or ``all members(...)``: the body is a member-scope condition."""

    kind: str  # "any" | "all"
    body: Node


# The operators and functions the language has; what each means is ``policy.semantics``'.
COMPARE_OPS = semantics.COMPARE_OPS
FUNCTIONS = tuple(semantics.FUNCTIONS)


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-nodes (definitions' bodies are not children: they are shared)."""
    match node:
        case Neg(operand=o) | Not(operand=o):
            return (o,)
        case Arith(left=l, right=r) | Compare(left=l, right=r):
            return (l, r)
        case Call(args=args):
            return args
        case In(subject=s, items=items):
            return (s, *items)
        case Between(subject=s, low=lo, high=hi):
            return (s, lo, hi)
        case And(operands=ops) | Or(operands=ops):
            return ops
        case Quantifier(body=b):
            return (b,)
    return ()


def walk(node: Node) -> list[Node]:
    """Every node of the tree, depth first, parents before children."""
    out = [node]
    for c in children(node):
        out.extend(walk(c))
    return out


def is_boolean(node: Node) -> bool:
    return isinstance(node, Compare | In | Between | Not | And | Or | Quantifier | Bool) or (
        node.type is not None and node.type.kind.value == "bool"
    )
