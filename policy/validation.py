"""Static validation of a rule-set document: what is wrong with it, found without running it.

``validate(doc, based_on=...)`` returns every ``Issue`` (field path, stable code, message,
severity, and for conditions the column). A version with an ERROR cannot be submitted or
published; a WARNING is shown and does not block.

    structure       UNKNOWN_FIELD, REQUIRED, INVALID_VALUE, WRONG_TYPE (the document's shape)
    conditions      SYNTAX, UNKNOWN_NAME, TYPE_MISMATCH, NOT_A_CONDITION ... with a column
    consistency     DUPLICATE_RULE_ID, OUTCOME_PREFIX, GROUP_PRIORITY, DUPLICATE_PRIORITY ...
    UNUSED_PARAMETER       a parameter no condition, amount or term reads
    UNUSED_DEFINITION      a definition no rule reads (WARNING)
    MISSING_CITATION       a rule or parameter whose citation names no document, or neither
                           a clause nor a quote
    TIER_OVERLAP           two rules of an exclusive group that partitions facts both apply
    TIER_GAP               a combination of the partitioned facts, inside what the group
                           covers, that no rule of the group covers
    TIER_UNREACHABLE       a rule of an exclusive group that a higher-priority rule always
                           takes precedence over
    TIER_CHECK_SKIPPED     a group too large to check exhaustively (WARNING)
    NEGATIVE_AMOUNT        an amount or term that can be below zero
    OUTCOME_MEANING_CHANGED  compared with the version it is based on, an outcome code whose
                           title changed substantially, or whose scope, period or monitoring
                           flag changed: a new meaning needs a new code
    UNKNOWN_OUTCOME        a test case expecting an outcome no rule gives
    NO_TEST_CASES          a version without test cases
    CITATION_FIGURE_STALE  compared with the version it is based on, a parameter whose value
                           changed while its citation still quotes the old figure (WARNING)
    UNLABELLED_TERM        a term key the term catalogue (fixtures/terms.yaml) has no label
                           for: people would read the key itself (WARNING)
    UNLABELLED_UNIT        the same for a term's unit (WARNING)

How the exclusive-group checks read a group is written down in
docs/decisions/0003-validation.md: they enumerate the finite domain of the facts the group's
conditions compare with constants (enum values, true/false, and numbers at and around each
threshold), treating any other comparison as a free true/false atom.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from policy.conditions import ast as a
from policy.conditions.printer import fmt_number, unparse
from policy.document import (
    Citation,
    CompiledRule,
    ConditionFieldError,
    Program,
    RuleSetDocument,
    compile_document,
    load_document,
)
from policy.errors import DocumentInvalid, FieldError
from policy.evaluation import Bindings, evaluate
from policy.events import EVENT_PARAMETERS, EVENT_PROGRAMS
from policy.exact import Number, exact
from policy.exact import add as x_add
from policy.exact import div as x_div
from policy.exact import mul as x_mul
from policy.exact import sub as x_sub
from policy.fact_catalogue import CATALOGUE
from policy.schema import ENUMS, FACTS, Kind
from policy.semantics import UNKNOWN, Value, k_and, k_not, k_or, round_half_up
from policy.term_catalogue import TERMS

Severity = Literal["ERROR", "WARNING"]

# Groups whose fact space has more points than this are not enumerated (TIER_CHECK_SKIPPED).
MAX_POINTS = 200_000
# At most this many gaps or overlaps are reported per group: one shows the mistake.
MAX_EXAMPLES = 3

INF = math.inf

def _number_ranges() -> dict[str, tuple[Number | float, Number | float]]:
    """What numeric facts can be: the catalogue's bounds of input facts (money is 0 or more;
    a left-out fact that conditions see as a value widens its range to it) and the ranges
    stated for derived facts. Finite bounds are exact numbers, unbounded ends infinities."""
    def bound(v: Any, infinite: float) -> Number | float:
        return infinite if v is None else exact(v)

    out: dict[str, tuple[Number | float, Number | float]] = {}
    for _, f in CATALOGUE.all_inputs():
        if f.type == "money":
            out[f.name] = (0, INF)
        elif f.type == "integer":
            lo: Number | float = bound(f.bounds.min, -INF)
            hi: Number | float = bound(f.bounds.max, INF)
            if isinstance(f.absentAs, int | float) and not isinstance(f.absentAs, bool):
                absent = exact(f.absentAs)
                lo, hi = min(lo, absent), max(hi, absent)
            out[f.name] = (lo, hi)
    for d in CATALOGUE.derived:
        if d.type == "number":
            lo_d, hi_d = d.range
            out[d.name] = (bound(lo_d, -INF), bound(hi_d, INF))
    return out


NUMBER_RANGES: dict[str, tuple[Number | float, Number | float]] = _number_ranges()
INTEGER_FACTS = frozenset(
    [f.name for _, f in CATALOGUE.all_inputs() if f.type == "integer"]
    + [d.name for d in CATALOGUE.derived if d.integer])


@dataclass(frozen=True)
class Issue:
    """One problem of a document: where, a stable code, what was expected and found."""

    field: str
    code: str
    message: str
    severity: Severity = "ERROR"
    column: int | None = None  # 1-based, for conditions and expressions

    def __str__(self) -> str:
        where = f"{self.field}" + (f" (column {self.column})" if self.column else "")
        return f"{self.severity} {where}: {self.message} [{self.code}]"

    def as_field_error(self) -> FieldError:
        return FieldError(self.field, self.code, self.message)


def errors(issues: Iterable[Issue]) -> list[Issue]:
    """The issues that block submitting and publishing."""
    return [i for i in issues if i.severity == "ERROR"]


def validate_data(
    data: Mapping[str, Any], *, based_on: RuleSetDocument | None = None
) -> list[Issue]:
    """Validate a document given as plain data (e.g. JSON from the API)."""
    try:
        doc = load_document(dict(data))
    except DocumentInvalid as exc:
        found = [_from_field_error(e) for e in exc.errors]
        return found + _beyond_structure(data, exc.errors, based_on)
    return validate(doc, based_on=based_on)


# Stand-ins for the parts of a document whose shape is wrong, so that the rest (conditions,
# amounts, groups) is still checked: a missing citation does not hide a condition error.
_STAND_INS: dict[str, Any] = {
    "citation": {"document": "-", "clause": "-"},
    "title": {"zh": "-", "en": "-"}, "reason": {"zh": "-", "en": "-"},
    "description": {"zh": "-", "en": "-"}, "owner": "-", "notes": [], "tests": [],
    "effectiveFrom": None, "url": None, "clause": None, "quote": None,
}
# What a stand-in itself may cause elsewhere in the document, not reported.
_STAND_IN_EFFECTS = {"title": {"OUTCOME_TITLE", "OUTCOME_MEANING_CHANGED"},
                     "tests": {"NO_TEST_CASES"}}
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _beyond_structure(data: Mapping[str, Any], problems: Sequence[FieldError],
                      based_on: RuleSetDocument | None) -> list[Issue]:
    """The issues beyond the document's shape, found on a copy with a stand-in for every part
    whose shape is wrong (a citation, a text, an unknown field left out). Nothing when a
    problem is somewhere a stand-in cannot go (a rule's id, its condition's type, ...)."""
    repaired: Any = copy.deepcopy(dict(data))
    replaced: list[str] = []
    effects: set[str] = set()
    for e in problems:
        parts: list[str | int] = [m.group(1) if m.group(1) is not None else int(m.group(2))
                                  for m in _PATH_PART.finditer(e.field)]
        cut = next((k for k, p in enumerate(parts) if p in _STAND_INS), None)
        if cut is not None:
            target, value = parts[:cut + 1], _STAND_INS[str(parts[cut])]
            effects |= _STAND_IN_EFFECTS.get(str(parts[cut]), set())
        elif e.code == "UNKNOWN_FIELD" and parts:
            target, value = parts, _DELETE
        else:
            return []
        if not _put(repaired, target, value):
            return []
        replaced.append(_loc_text(target))
    try:
        doc = load_document(repaired)
    except DocumentInvalid:
        return []
    return [i for i in validate(doc, based_on=based_on)
            if not any(_under(i.field, r) for r in replaced) and i.code not in effects]


_DELETE: Any = object()


def _put(doc: Any, path: Sequence[str | int], value: Any) -> bool:
    node = doc
    for p in path[:-1]:
        try:
            node = node[p]
        except (KeyError, IndexError, TypeError):
            return False
    last = path[-1]
    if isinstance(node, dict) and isinstance(last, str):
        if value is _DELETE:
            node.pop(last, None)
        else:
            node[last] = copy.deepcopy(value)
        return True
    return False


def _loc_text(path: Sequence[str | int]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def _under(field: str, prefix: str) -> bool:
    return field == prefix or field.startswith((prefix + ".", prefix + "["))


def validate(doc: RuleSetDocument, *, based_on: RuleSetDocument | None = None) -> list[Issue]:
    """Every issue of ``doc``; ``based_on`` is the version it was drafted from (outcome codes
    must keep their meaning across versions)."""
    issues: list[Issue] = []
    program: Program | None = None
    try:
        program = compile_document(doc)
    except DocumentInvalid as exc:
        issues.extend(_from_field_error(e) for e in exc.errors)
    issues.extend(_citations(doc))
    issues.extend(_test_cases(doc))
    issues.extend(_unlabelled_terms(doc))
    if based_on is not None:
        issues.extend(_meaning_changes(based_on, doc))
        issues.extend(_stale_citation_figures(based_on, doc))
    if program is not None:
        issues.extend(_unused(program))
        issues.extend(_negative_amounts(program))
        issues.extend(_groups(program))
    return issues


def _from_field_error(e: FieldError) -> Issue:
    column = e.column if isinstance(e, ConditionFieldError) else None
    return Issue(e.field, e.code, e.message, "ERROR", column)


# --- citations, test cases, unused names ------------------------------------------------------


def _citation_problem(c: Citation) -> str | None:
    if not c.document.strip():
        return "the citation names no document"
    if not (c.clause or "").strip() and not (c.quote or "").strip():
        return (f"the citation of {c.document!r} has neither a clause nor a quote; "
                "name the article (clause) or quote the text")
    return None


def _citations(doc: RuleSetDocument) -> Iterator[Issue]:
    for name, p in doc.parameters.items():
        problem = _citation_problem(p.citation)
        if problem:
            yield Issue(f"parameters.{name}.citation", "MISSING_CITATION",
                        f"parameter {name}: {problem}")
    for i, r in enumerate(doc.rules):
        problem = _citation_problem(r.citation)
        if problem:
            yield Issue(f"rules[{i}].citation", "MISSING_CITATION", f"rule {r.id}: {problem}")


_FIGURE = re.compile(r"\d+(?:[,，]\d{3})*(?:\.\d+)?")


def _figures(text: str) -> set[Decimal]:
    """The numbers a text quotes ("6,000元" and "6000" are both 6000)."""
    return {Decimal(m.replace(",", "").replace("，", "")) for m in _FIGURE.findall(text)}


def _unlabelled_terms(doc: RuleSetDocument) -> Iterator[Issue]:
    """A term key or unit the term catalogue has no label for, once, where it is first used
    (WARNING: the label is added to the catalogue, with the code, not to the rule set)."""
    seen: set[tuple[str, str]] = set()
    for i, r in enumerate(doc.rules):
        for j, t in enumerate(r.terms):
            if t.key not in TERMS.terms and ("key", t.key) not in seen:
                seen.add(("key", t.key))
                yield Issue(f"rules[{i}].terms[{j}].key", "UNLABELLED_TERM",
                            f"rule {r.id}: term {t.key} has no Chinese and English label in "
                            "the term catalogue (fixtures/terms.yaml), so people read the key "
                            "itself; add one there", "WARNING")
            if t.unit not in TERMS.units and ("unit", t.unit) not in seen:
                seen.add(("unit", t.unit))
                yield Issue(f"rules[{i}].terms[{j}].unit", "UNLABELLED_UNIT",
                            f"rule {r.id}: unit {t.unit!r} of term {t.key} has no Chinese and "
                            "English label in the term catalogue (fixtures/terms.yaml), so "
                            "people read the unit itself; add one there", "WARNING")


def _stale_citation_figures(based_on: RuleSetDocument,
                            doc: RuleSetDocument) -> Iterator[Issue]:
    """A parameter whose value changed while its citation still quotes the old figure (and
    not the new one): the quote no longer supports the value (WARNING)."""
    for name, p in doc.parameters.items():
        old = based_on.parameters.get(name)
        if old is None or old.value == p.value or not p.citation.quote:
            continue
        quoted = _figures(p.citation.quote)
        old_value, new_value = Decimal(str(old.value)), Decimal(str(p.value))
        if old_value in quoted and new_value not in quoted:
            yield Issue(f"parameters.{name}.citation.quote", "CITATION_FIGURE_STALE",
                        f"parameter {name} is now {_show(p.value)}, but its citation still "
                        f"quotes {_show(old.value)}: cite the text that sets the new value",
                        "WARNING")


def _test_cases(doc: RuleSetDocument) -> Iterator[Issue]:
    if not doc.tests:
        yield Issue("tests", "NO_TEST_CASES",
                    "a version needs at least one test case (facts, asOf, expected outcomes)")
    codes = {r.outcome for r in doc.rules}
    for i, case in enumerate(doc.tests):
        for j, e in enumerate(case.expect):
            if e.outcome not in codes:
                close = difflib.get_close_matches(e.outcome, sorted(codes), n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                yield Issue(f"tests[{i}].expect[{j}].outcome", "UNKNOWN_OUTCOME",
                            f"test case {case.name!r} expects {e.outcome}, which no rule "
                            f"gives{hint}")


def _unused(program: Program) -> Iterator[Issue]:
    # An event program's windowDays is read by the correlation that builds its window.
    read_by_events = EVENT_PARAMETERS if program.code in EVENT_PROGRAMS else frozenset()
    for name in program.document.parameters:
        if name not in program.used_parameters and name not in read_by_events:
            yield Issue(f"parameters.{name}", "UNUSED_PARAMETER",
                        f"parameter {name} is not used by any condition, amount or term; "
                        "use it or remove it")
    used: set[str] = set()

    def visit(node: a.Node) -> None:
        for n in a.walk(node):
            if isinstance(n, a.DefRef) and n.name not in used:
                used.add(n.name)
                if n.body is not None:
                    visit(n.body)

    for r in program.rules:
        for tree in _trees(r):
            visit(tree)
    for name in program.document.definitions:
        if name not in used:
            yield Issue(f"definitions.{name}", "UNUSED_DEFINITION",
                        f"definition {name} is not used by any rule", "WARNING")


def _trees(r: CompiledRule) -> list[a.Node]:
    return [r.condition, *([r.amount] if r.amount is not None else []),
            *(t.expr for t in r.terms)]


# --- outcome codes keep their meaning --------------------------------------------------------


@dataclass(frozen=True)
class _Meaning:
    per: str
    title_zh: str
    title_en: str
    periods: frozenset[str | None]
    flags: bool
    index: int


def _meanings(doc: RuleSetDocument) -> dict[str, _Meaning]:
    out: dict[str, _Meaning] = {}
    for i, r in enumerate(doc.rules):
        m = out.get(r.outcome)
        period = r.period if r.amount is not None else None
        if m is None:
            out[r.outcome] = _Meaning(r.per, r.title.zh, r.title.en, frozenset({period}),
                                      r.flagsMonitoring, i)
        else:
            out[r.outcome] = _Meaning(m.per, m.title_zh, m.title_en, m.periods | {period},
                                      m.flags or r.flagsMonitoring, m.index)
    return out


_NUMBERS = re.compile(r"\d+(?:\.\d+)?|[一二三四五六七八九十]")


def substantially_different(old: str, new: str) -> bool:
    """Whether a title says something else, not just better: its numbers changed (a tier,
    an age, a grade) or less than 60% of it is kept.

    >>> substantially_different("医疗救助第一档", "医疗救助第二档")
    True
    >>> substantially_different("Living subsidy for students", "Living subsidy for pupils")
    False
    """
    if old == new:
        return False
    if _NUMBERS.findall(old) != _NUMBERS.findall(new):
        return True
    return difflib.SequenceMatcher(None, old, new).ratio() < 0.6


def _periods(ps: frozenset[str | None]) -> str:
    return ", ".join(sorted(p or "no amount" for p in ps))


def _meaning_changes(old_doc: RuleSetDocument, doc: RuleSetDocument) -> Iterator[Issue]:
    old = _meanings(old_doc)
    for code, m in _meanings(doc).items():
        before = old.get(code)
        if before is None:
            continue
        base = f"rules[{m.index}]"
        was = f"in version {old_doc.version}"
        if m.per != before.per:
            yield Issue(f"{base}.per", "OUTCOME_MEANING_CHANGED",
                        f"outcome {code} was given per {before.per} {was}, now per {m.per}; "
                        "give the new meaning a new outcome code")
        if m.periods != before.periods:
            yield Issue(f"{base}.period", "OUTCOME_MEANING_CHANGED",
                        f"outcome {code} was paid per {_periods(before.periods)} {was}, now "
                        f"per {_periods(m.periods)}; give the new meaning a new outcome code")
        if m.flags != before.flags:
            yield Issue(f"{base}.flagsMonitoring", "OUTCOME_MEANING_CHANGED",
                        f"outcome {code} {'flagged' if before.flags else 'did not flag'} "
                        f"households for monitoring {was}; give the new meaning a new "
                        "outcome code")
        for lang, t_old, t_new in (("zh", before.title_zh, m.title_zh),
                                   ("en", before.title_en, m.title_en)):
            if substantially_different(t_old, t_new):
                yield Issue(f"{base}.title.{lang}", "OUTCOME_MEANING_CHANGED",
                            f"outcome {code} was titled {t_old!r} {was}, now {t_new!r}: a "
                            "different benefit needs a new outcome code (records made under "
                            "the old version keep the code)")


# --- amounts that can be negative (interval arithmetic) --------------------------------------

# A bound is an exact number (policy.exact) or a float infinity.
Bound = Number | float
Interval = tuple[Bound, Bound]


def _exact_op(op: str, x: Bound, y: Bound) -> Bound:
    """``x op y`` exactly when both are finite; with an infinity, as IEEE arithmetic gives it
    (only the sign of the finite operand matters then)."""
    if isinstance(x, float) or isinstance(y, float):
        fx, fy = float(x), float(y)
        if op == "*" and (fx == 0 or fy == 0):
            return 0  # 0 * inf is 0 here: a zero factor is exact
        out = {"+": fx + fy, "-": fx - fy, "*": fx * fy}[op] if op != "/" else fx / fy
        return out if math.isinf(out) else exact(out)
    return {"+": x_add, "-": x_sub, "*": x_mul, "/": x_div}[op](x, y)


def interval(node: a.Node, params: Mapping[str, Number]) -> Interval:
    """The range a numeric expression can take over every fact value (``NUMBER_RANGES``),
    computed exactly."""
    match node:
        case a.Num(value=v):
            return (v, v)
        case a.ParamRef(name=n):
            return (params[n], params[n])
        case a.FactRef(name=n):
            return NUMBER_RANGES.get(n, (-INF, INF))
        case a.Neg(operand=o):
            lo, hi = interval(o, params)
            return (-hi, -lo)
        case a.Arith(op=op, left=l, right=r):
            (a1, b1), (a2, b2) = interval(l, params), interval(r, params)
            if op == "+":
                return (_exact_op("+", a1, a2), _exact_op("+", b1, b2))
            if op == "-":
                return (_exact_op("-", a1, b2), _exact_op("-", b1, a2))
            if op == "*":
                products = [_exact_op("*", x, y) for x in (a1, b1) for y in (a2, b2)]
                return (min(products), max(products))
            if a2 <= 0 <= b2:
                return (-INF, INF) if (a1, b1) != (0, 0) else (0, 0)
            quotients = [_exact_op("/", x, y) for x in (a1, b1) for y in (a2, b2)]
            return (min(quotients), max(quotients))
        case a.Call(func="min", args=args):
            ranges = [interval(x, params) for x in args]
            return (min(r[0] for r in ranges), min(r[1] for r in ranges))
        case a.Call(func="max", args=args):
            ranges = [interval(x, params) for x in args]
            return (max(r[0] for r in ranges), max(r[1] for r in ranges))
        case a.Call(func="round", args=args):
            # Rounding is monotone: the ends round to the ends.
            lo, hi = interval(args[0], params)
            places = _value(args[1], params)
            return tuple(  # type: ignore[return-value]
                v if isinstance(v, float) else round_half_up(v, int(places))  # type: ignore[arg-type]
                for v in (lo, hi))
    return (-INF, INF)


def _show(v: Bound) -> str:
    return "-∞" if v == -INF else "∞" if v == INF else fmt_number(v)


def _negative_amounts(program: Program) -> Iterator[Issue]:
    params = program.parameters
    for i, r in enumerate(program.rules):
        checks: list[tuple[str, str, a.Node]] = []
        if r.amount is not None and r.spec.amount is not None:
            checks.append((f"rules[{i}].amount", r.spec.amount, r.amount))
        for j, t in enumerate(r.terms):
            checks.append((f"rules[{i}].terms[{j}].value", r.spec.terms[j].value, t.expr))
        for path, text, tree in checks:
            lo, hi = interval(tree, params)
            if lo < 0:
                yield Issue(path, "NEGATIVE_AMOUNT",
                            f"{text!r} can be negative: over every fact value it ranges from "
                            f"{_show(lo)} to {_show(hi)}; e.g. write max(0, ...)")


# --- exclusive groups ------------------------------------------------------------------------

# A point of a group's fact space: a value per variable (fact name) and per atom (an opaque
# comparison, keyed by its text).
Point = dict[str, Any]


class _Space:
    """The finite domain of the facts a group's conditions read."""

    def __init__(self) -> None:
        self.thresholds: dict[str, set[Number]] = {}
        self.enums: dict[str, tuple[str, ...]] = {}
        self.bools: set[str] = set()
        self.atoms: set[str] = set()

    def domains(self) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for name in sorted(self.bools):
            out[name] = [False, True]
        for name, values in sorted(self.enums.items()):
            out[name] = list(values)
        for name, ts in sorted(self.thresholds.items()):
            out[name] = _candidates(name, ts)
        for text in sorted(self.atoms):
            out["⟨" + text + "⟩"] = [False, True]
        return out


def _candidates(name: str, thresholds: set[Number]) -> list[Number]:
    """Numbers at and between the thresholds (exact: a midpoint of two thresholds a cent apart
    is between them), one below and one above, within the fact's range; for whole-number
    facts, the neighbours of every threshold."""
    lo, hi = NUMBER_RANGES.get(name, (-INF, INF))
    ts = sorted(thresholds)
    points: set[Number]
    if name in INTEGER_FACTS:
        points = {math.floor(t) + d for t in ts for d in (-1, 0, 1)}
        points |= {math.ceil(t) for t in ts}
    else:
        points = set(ts) | {x_sub(ts[0], 1), x_add(ts[-1], 1)}
        points |= {x_div(x_add(x, y), 2) for x, y in itertools.pairwise(ts)}
        if not isinstance(lo, float) and lo < ts[0]:
            points.add(lo)
    return sorted(p for p in points if lo <= p <= hi)


def _constant(node: a.Node) -> bool:
    return not any(isinstance(n, a.FactRef | a.DefRef) for n in a.walk(node))


def _simple_subject(node: a.Node) -> str | None:
    """The fact a comparison is about, when it compares one fact with constants."""
    if isinstance(node, a.FactRef) and node.type is not None and node.type.kind in (
        Kind.NUMBER, Kind.ENUM, Kind.BOOL
    ):
        return node.name
    return None


def _collect(node: a.Node, space: _Space, params: Mapping[str, Number]) -> None:
    match node:
        case a.FactRef(name=n) if node.type is not None and node.type.kind is Kind.BOOL:
            space.bools.add(n)
            return
        case a.DefRef(body=body) if body is not None:
            _collect(body, space, params)
            return
        case a.Not(operand=o):
            _collect(o, space, params)
            return
        case a.And(operands=ops) | a.Or(operands=ops):
            for x in ops:
                _collect(x, space, params)
            return
        case a.Quantifier(body=b):
            _collect(b, space, params)
            return
        case a.Bool():
            return
    fact, constants = _comparison(node)
    if fact is None:
        space.atoms.add(unparse(node))
        return
    t = FACTS[fact].type
    if t.kind is Kind.BOOL:
        space.bools.add(fact)
    elif t.kind is Kind.ENUM and t.enum is not None:
        space.enums[fact] = ENUMS[t.enum]
    else:
        found = space.thresholds.setdefault(fact, set())
        for c in constants:
            v = _value(c, params)
            if v is not UNKNOWN:  # a division by zero (unknown) is no threshold
                found.add(v)  # type: ignore[arg-type]


def _comparison(node: a.Node) -> tuple[str | None, tuple[a.Node, ...]]:
    """(fact, constant operands) of a comparison of one fact with constants, else (None, ())."""
    match node:
        case a.Compare(left=l, right=r):
            if _simple_subject(l) and _constant(r):
                return _simple_subject(l), (r,)
            if _simple_subject(r) and _constant(l):
                return _simple_subject(r), (l,)
        case a.In(subject=s, items=items):
            if _simple_subject(s) and all(_constant(x) for x in items):
                return _simple_subject(s), items
        case a.Between(subject=s, low=lo, high=hi):
            if _simple_subject(s) and _constant(lo) and _constant(hi):
                return _simple_subject(s), (lo, hi)
    return None, ()


def _value(node: a.Node, params: Mapping[str, Number]) -> Value:
    """A constant operand's value (numbers, enum names, truth values), as every backend
    computes it (``policy.semantics``: ``x / 0`` is unknown, ``round`` rounds)."""
    if not _constant(node):
        raise TypeError(f"not a constant: {unparse(node)}")
    return evaluate(node, Bindings({}, params))


def _reads(node: a.Node) -> set[str]:
    found: set[str] = set()
    for n in a.walk(node):
        if isinstance(n, a.FactRef):
            found.add(n.name)
        elif isinstance(n, a.DefRef) and n.body is not None:
            found |= _reads(n.body)
    return found


def _holds(node: a.Node, p: Point, params: Mapping[str, Number]) -> Value:
    """The truth of a condition at a point, as every backend reads it (``policy.semantics``:
    three-valued, so ``x / 0 > 1`` is unknown and an unknown rule does not apply). A quantified
    body is read for one member, whose facts are in the point like the household's; a
    condition the point gives no fact values for is its free atom."""
    match node:
        case a.Bool(value=v):
            return v
        case a.FactRef(name=n) if n in p:
            return p[n]  # type: ignore[no-any-return]
        case a.DefRef(body=body) if body is not None:
            return _holds(body, p, params)
        case a.Not(operand=o):
            return k_not(_holds(o, p, params))
        case a.And(operands=ops):
            return k_and(_holds(x, p, params) for x in ops)
        case a.Or(operands=ops):
            return k_or(_holds(x, p, params) for x in ops)
        case a.Quantifier(body=b):
            return _holds(b, p, params)
    atom = "⟨" + unparse(node) + "⟩"
    if atom in p:
        return p[atom]  # type: ignore[no-any-return]
    if _reads(node) <= p.keys():
        return evaluate(node, Bindings(p, params))
    raise TypeError(f"cannot decide {unparse(node)} at {_describe(p, sorted(p))}")


def _conjuncts(node: a.Node) -> list[a.Node]:
    if isinstance(node, a.And):
        return [c for x in node.operands for c in _conjuncts(x)]
    return [node]


def _variables(nodes: Iterable[a.Node], params: Mapping[str, Number]) -> set[str]:
    space = _Space()
    for n in nodes:
        _collect(n, space, params)
    return set(space.bools) | set(space.enums) | set(space.thresholds)


def _describe(p: Point, names: Sequence[str]) -> str:
    def show(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        return fmt_number(v) if isinstance(v, int | float | Decimal | Fraction) else str(v)

    return ", ".join(f"{n} = {show(p[n])}" for n in names)


def _groups(program: Program) -> Iterator[Issue]:
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(program.rules):
        if r.spec.group is not None and r.spec.priority is not None:
            groups.setdefault(r.spec.group, []).append(i)
    for name, members in groups.items():
        members.sort(key=lambda i: program.rules[i].spec.priority or 0)
        if len({program.rules[i].scope for i in members}) == 1:
            yield from _check_group(program, name, members)


def _check_group(program: Program, group: str, members: list[int]) -> Iterator[Issue]:
    params = program.parameters
    rules = [program.rules[i] for i in members]
    space = _Space()
    for r in rules:
        _collect(r.condition, space, params)
    domains = space.domains()
    size = math.prod(len(v) for v in domains.values())
    if size > MAX_POINTS:
        yield Issue(f"rules[{members[0]}].group", "TIER_CHECK_SKIPPED",
                    f"group {group} reads too many facts to check for overlaps and gaps "
                    f"({size} combinations, the limit is {MAX_POINTS})", "WARNING")
        return
    names = list(domains)
    points = [dict(zip(names, values, strict=True))
              for values in itertools.product(*domains.values())]
    truth = [[_holds(r.condition, p, params) is True for r in rules] for p in points]

    # Unreachable: never true where no higher-priority rule of the group is.
    for k, r in enumerate(rules[1:], start=1):
        if not any(t[k] and not any(t[:k]) for t in truth):
            higher = ", ".join(x.id for x in rules[:k])
            yield Issue(f"rules[{members[k]}].condition", "TIER_UNREACHABLE",
                        f"rule {r.id} of group {group} never applies: whenever its condition "
                        f"holds, a higher-priority rule ({higher}) applies instead")

    # Partitions: the facts every rule's own (not shared) conditions read.
    parts = [[unparse(c) for c in _conjuncts(r.condition)] for r in rules]
    common = set(parts[0]).intersection(*parts[1:]) if len(rules) > 1 else set(parts[0])
    own = [[c for c in _conjuncts(r.condition) if unparse(c) not in common] for r in rules]
    partition = sorted(set.intersection(*[_variables(o, params) for o in own])) if all(
        own) else []
    if not partition:
        return
    shown = [n for n in names if n in partition or n in _variables(
        [c for o in own for c in o], params)]

    overlaps = 0
    seen: set[tuple[int, int]] = set()
    for p, t in zip(points, truth, strict=True):
        both = [k for k, v in enumerate(t) if v]
        for x, y in itertools.combinations(both, 2):
            if (x, y) in seen or overlaps >= MAX_EXAMPLES:
                continue
            seen.add((x, y))
            overlaps += 1
            yield Issue(f"rules[{members[y]}].condition", "TIER_OVERLAP",
                        f"rules {rules[x].id} and {rules[y].id} of group {group} both apply "
                        f"when {_describe(p, shown)}; only {rules[x].id} (priority "
                        f"{rules[x].spec.priority}) would be given")

    common_nodes = [c for c in _conjuncts(rules[0].condition) if unparse(c) in common]
    key: Callable[[Point], tuple[Any, ...]] = lambda p: tuple(p[n] for n in partition)  # noqa: E731
    possible: dict[tuple[Any, ...], bool] = {}  # partition values -> some rule can apply
    for p, t in zip(points, truth, strict=True):
        if all(_holds(c, p, params) is True for c in common_nodes):
            possible[key(p)] = possible.get(key(p), False) or any(t)
    covered = [k for k, v in possible.items() if v]
    if not covered:
        return
    inside: list[list[Any]] = []
    for j, n in enumerate(partition):
        values = {k[j] for k in covered}
        if n in space.thresholds:
            low, high = min(values), max(values)
            inside.append([v for v in domains[n] if low <= v <= high])
        else:
            inside.append([v for v in domains[n] if v in values])
    gaps = 0
    for combo in itertools.product(*inside):
        if possible.get(combo) is False and gaps < MAX_EXAMPLES:
            gaps += 1
            where = _describe(dict(zip(partition, combo, strict=True)), partition)
            yield Issue(f"rules[{members[0]}].group", "TIER_GAP",
                        f"group {group} covers {', '.join(partition)} but no rule applies "
                        f"when {where}" + (
                            f", given {'; '.join(sorted(common))}" if common else ""))
