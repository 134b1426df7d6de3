"""The determination: what the engine says about a household, as plain immutable data.

These are the shapes of the public contract's ``Determination`` (GraphQL, CLI JSON); every view
(ZH, EN, GraphQL, CLI, batch rows) is built from them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cached_property
from typing import Any, NamedTuple, TypeVar, overload

from policy.cache import BoundedCache
from policy.catalog import VersionRef
from policy.term_catalogue import TERMS

__all__ = ["VersionRef"]  # re-exported: determinations carry it

T = TypeVar("T")


class Status(StrEnum):
    GRANTED = "GRANTED"
    NOT_GRANTED = "NOT_GRANTED"
    UNDETERMINED = "UNDETERMINED"


class Citation(NamedTuple):
    document: str
    clause: str | None = None
    quote: str | None = None
    url: str | None = None


class ConditionCheck(NamedTuple):
    # A named tuple, not a frozen dataclass: explanations build thousands per second.
    expression: str          # the condition as written in the rule set
    actual: str | None       # the fact's value, e.g. "5400"
    expected: str | None     # the threshold or set, e.g. "< 6000"
    passed: bool | None      # None when a fact is missing


class ConditionNode(NamedTuple):
    """One node of a condition as written: ``and``, ``or``, ``not``, a quantifier, a comparison,
    a fact (a derived fact's child is its definition), a parameter, arithmetic or a call."""

    expression: str          # this node's text, e.g. "perCapitaNetIncome < incomeLine"
    kind: str                # AND, OR, NOT, ANY_MEMBER, ALL_MEMBERS, COMPARE, IN, BETWEEN, ...
    result: bool | None      # a condition's three-valued result; None when unknown (or a value)
    actual: str | None       # this expression's value (a comparison: its left side's)
    expected: str | None     # a comparison: operator and right side, e.g. "< 6000"
    decided: bool            # in the minimal set of nodes that justify the root's result
    member_ids: tuple[str, ...]  # quantifiers: the members it held for; a member's body: it
    children: tuple[ConditionNode, ...]
    # The rule set's parameters and definitions this node's expression names, with their words
    # (name, Chinese, English, whether an amount of money): what ``engine.words`` says them by.
    # A function of the version, like the expression itself.
    names: tuple[tuple[str, str, str, bool], ...] = ()


_DEPTHS: BoundedCache[tuple[int, int], tuple[ConditionNode, ConditionNode]] = BoundedCache(
    "engine.tree_depths", 50_000)


def at_depth(node: ConditionNode, depth: int | None) -> ConditionNode:
    """The tree with derived facts opened ``depth`` levels deep (None: all levels). A rule-set
    definition is the rule's own text and is always open.

    Remembered per tree and depth (trees are shared by the explanation memo)."""
    if depth is None:
        return node
    key = (id(node), depth)
    hit = _DEPTHS.get(key)
    if hit is not None and hit[0] is node:
        return hit[1]
    return _DEPTHS.put(key, (node, _cut(node, depth)))[1]


def _cut(node: ConditionNode, depth: int) -> ConditionNode:
    if not node.children:
        return node
    if node.kind == "FACT":
        if depth <= 0:
            return node._replace(children=())
        depth -= 1
    kids = tuple(_cut(c, depth) for c in node.children)
    if all(k is c for k, c in zip(kids, node.children, strict=True)):
        return node
    return node._replace(children=kids)


class Lazy(Sequence[T]):
    """A tuple computed when first read, ``make(*args)``: reads like the tuple it stands for
    (and equals it); pickled, it is that tuple. Once computed, ``make`` and ``args`` are let go.
    Two threads reading it first at the same time may both compute it and get equal tuples
    (``make`` is pure)."""

    __slots__ = ("_args", "_items", "_make")

    def __init__(self, make: Callable[..., tuple[T, ...]], *args: Any):
        self._make: Callable[..., tuple[T, ...]] | None = make
        self._args = args
        self._items: tuple[T, ...] | None = None

    def _get(self) -> tuple[T, ...]:
        items = self._items
        if items is None:
            # Read in the reverse order of the writes below: a thread that sees ``args`` let go
            # also sees ``make`` let go, and then the items.
            args = self._args
            make = self._make
            if make is None:  # another thread computed it meanwhile
                return self._items  # type: ignore[return-value]
            items = self._items = make(*args)
            self._make = None
            self._args = ()
        return items

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[T, ...]: ...

    def __getitem__(self, index: int | slice) -> T | tuple[T, ...]:
        return self._get()[index]

    def __len__(self) -> int:
        return len(self._get())

    def __iter__(self) -> Iterator[T]:
        items = self._items  # computed already (an outcome found again): no second call
        return iter(items if items is not None else self._get())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Lazy):
            return self._get() == other._get()
        return self._get() == other if isinstance(other, tuple) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._get())

    def __repr__(self) -> str:
        return repr(self._get())

    def __reduce__(self) -> tuple[type[tuple[T, ...]], tuple[Any, ...]]:
        return tuple, (self._get(),)


class Conditions(Lazy[ConditionCheck]):
    """A reason's flat list of conditions, computed when first read: the list is deprecated,
    and most readers want only the tree or nothing at all."""

    __slots__ = ()


class Reason(NamedTuple):
    rule_id: str
    text_zh: str
    text_en: str
    citation: Citation
    # Deprecated: the flat list (a tuple, or ``Conditions`` computed when read); ``condition``
    # is the tree.
    conditions: Sequence[ConditionCheck]
    tree: Any  # engine.tree.LazyTree (or Ready, Superseded): the tree, built when first read

    @property
    def condition(self) -> ConditionNode:
        """The rule's condition as a tree (``engine.tree``)."""
        # A tree already built is its holder's ``_tree`` (what ``get`` returns first): read
        # without a second call, as most reads are (outcomes and trees are shared).
        tree: ConditionNode | None = getattr(self.tree, "_tree", None)
        return tree if tree is not None else self.tree.get()

    def text(self, lang: str = "ZH") -> str:
        return self.text_en if lang.upper() == "EN" else self.text_zh


class Term(NamedTuple):
    key: str
    value: float
    unit: str
    sample: bool = False     # computed from a parameter marked ``sample: true``


class FactChange(NamedTuple):
    """A single change of one input fact that would grant an outcome."""

    fact: str                # an input fact path, e.g. "annualNetIncome", "members[1].schoolStage"
    operator: str            # "<", "<=", ">", ">=", "==", "in", "between", "known"
    value: str               # JSON text: "18000.00", "[\"SENIOR\"]"
    current: str | None      # the fact's value now (None when unknown)
    text_zh: str
    text_en: str

    def text(self, lang: str = "ZH") -> str:
        return self.text_en if lang.upper() == "EN" else self.text_zh


class Outcome(NamedTuple):
    # Named tuples, not frozen dataclasses: a determination builds about a hundred of these,
    # and a frozen dataclass's __init__ costs several times more.
    code: str
    title_zh: str
    title_en: str
    member_id: str | None
    status: Status
    amount: float | None
    period: str | None       # YEAR | MONTH | ONCE
    terms: tuple[Term, ...]
    # Both a tuple, or ``Lazy`` (computed when first read: most readers want only statuses
    # and amounts).
    reasons: Sequence[Reason]
    missing_facts: Sequence[str]
    flags_monitoring: bool = False
    amount_is_sample: bool = False  # the amount comes from a parameter marked ``sample: true``

    def title(self, lang: str = "ZH") -> str:
        return self.title_en if lang.upper() == "EN" else self.title_zh


@dataclass(frozen=True)
class ProgramResult:
    program: str
    version: VersionRef
    outcomes: tuple[Outcome, ...]

    @cached_property
    def granted_count(self) -> int:
        # Counted once: a remembered determination is served many times.
        return sum(1 for o in self.outcomes if o.status is Status.GRANTED)


@dataclass(frozen=True)
class Determination:
    as_of: date
    household_id: str
    programs: tuple[ProgramResult, ...]
    flagged_for_monitoring: bool
    flagged_by: tuple[str, ...] = field(default=())
    # What the determination was computed from (the validated household and the versions), so
    # that what-would-change can be asked of it later; not part of the result.
    inputs: Any = field(default=None, compare=False, repr=False)

    def outcomes(self, status: Status | None = None) -> list[Outcome]:
        return [
            o for p in self.programs for o in p.outcomes if status is None or o.status is status
        ]


_REASON_JSON: BoundedCache[tuple[int, str], tuple[Reason, dict[str, Any]]] = BoundedCache(
    "engine.reason_json", 10_000)
DEFAULT_DEPTH = 1  # derived facts opened one level deep unless a client asks otherwise


def condition_json(node: ConditionNode) -> dict[str, Any]:
    """A condition tree as JSON with the contract's field names."""
    return {
        "expression": node.expression,
        "kind": node.kind,
        "result": node.result,
        "actual": node.actual,
        "expected": node.expected,
        "decided": node.decided,
        "memberIds": list(node.member_ids),
        "children": [condition_json(c) for c in node.children],
    }


def fact_change_json(c: FactChange, lang: str = "ZH") -> dict[str, Any]:
    return {"fact": c.fact, "operator": c.operator, "value": c.value, "current": c.current,
            "text": c.text(lang)}


def _reason_json(r: Reason, lang: str) -> dict[str, Any]:
    # Reasons are shared between outcomes and determinations (an outcome the explainer finds
    # again keeps its reasons), so their JSON is too. The entry keeps the reason alive, so its
    # id is not reused.
    key = (id(r), lang)
    hit = _REASON_JSON.get(key)
    if hit is not None and hit[0] is r:
        return hit[1]
    c = r.citation
    data = {
        "ruleId": r.rule_id,
        "text": r.text(lang),
        "citation": {"document": c.document, "clause": c.clause, "quote": c.quote, "url": c.url},
        "conditions": [
            {"expression": x.expression, "actual": x.actual, "expected": x.expected,
             "passed": x.passed}
            for x in r.conditions
        ],
        "condition": condition_json(at_depth(r.condition, DEFAULT_DEPTH)),
    }
    _REASON_JSON.put(key, (r, data))
    return data


def determination_json(d: Determination, lang: str = "ZH", *,
                       what_would_change: bool = False,
                       term_labels: bool = False) -> dict[str, Any]:
    """The Determination as JSON with the contract's field names: the same object as
    ``data.evaluate`` of a GraphQL query that selects every field (condition trees at the
    default depth; ``whatWouldChange`` only when asked for, since it evaluates the household
    again for every outcome not granted; the terms' ``label`` and ``unitLabel`` only when asked
    for, since they are the term catalogue's view, not part of the determination a record
    keeps). The JSON shares sub-objects (an outcome appears under its program and in the
    flattened list); serialise it, do not mutate it."""

    def term(t: Term) -> dict[str, Any]:
        data: dict[str, Any] = {"key": t.key, "value": t.value, "unit": t.unit,
                                "sample": t.sample}
        if term_labels:
            data["label"] = TERMS.label(t.key, lang)
            data["unitLabel"] = TERMS.unit_label(t.unit, lang)
        return data

    def outcome(o: Outcome) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if what_would_change:
            from engine.whatif import what_would_change as changes

            extra["whatWouldChange"] = [fact_change_json(c, lang) for c in changes(d, o)]
        return {
            "code": o.code,
            "title": o.title(lang),
            "memberId": o.member_id,
            "status": o.status.value,
            "amount": o.amount,
            "period": o.period,
            "amountIsSample": o.amount_is_sample,
            "terms": [term(t) for t in o.terms],
            "reasons": [_reason_json(r, lang) for r in o.reasons],
            "missingFacts": list(o.missing_facts),
            **extra,
        }

    def version(v: VersionRef) -> dict[str, Any]:
        return {
            "id": v.id,
            "ruleSet": v.rule_set,
            "version": v.version,
            "status": v.status,
            "effectiveFrom": v.effective_from.isoformat() if v.effective_from else None,
            "effectiveTo": v.effective_to.isoformat() if v.effective_to else None,
            "contentHash": v.content_hash,
        }

    programs = [(p, [outcome(o) for o in p.outcomes]) for p in d.programs]
    return {
        "asOf": d.as_of.isoformat(),
        "flaggedForMonitoring": d.flagged_for_monitoring,
        "flaggedBy": list(d.flagged_by),
        "programs": [
            {"program": p.program, "ruleSetVersion": version(p.version), "outcomes": outs}
            for p, outs in programs
        ],
        "outcomes": [o for _, outs in programs for o in outs],
    }
