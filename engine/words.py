"""Conditions in words, for the people who read explanations.

A node of an explanation tree carries its condition as written (``schoolStage != NONE``) and
its values as the engine shows them (``NONE``). A caseworker reads the same node here as
"就学阶段不为不在学" with the actual value "不在学": facts by their labels in the fact catalogue
(fixtures/facts.yaml), enumeration values by theirs, operators in words, amounts with their
unit, and a comparison's threshold by its value (``低于 6,000.00 元``, not ``incomeLine``),
in Chinese (``ZH``) or English (``EN``).

Everything here is a function of the node and the catalogue: the words of one node are the
same whichever process, request or household shows it. A name that is not a fact (a rule set's
definition or parameter) is shown as written. The expression is parsed again to find its
parts (a few microseconds, remembered by its text): the engine builds its trees without words,
so that only the explanations somebody reads pay for them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from engine.results import ConditionNode
from policy.cache import BoundedCache
from policy.conditions import ast as a
from policy.conditions.parser import parse
from policy.errors import ConditionError
from policy.fact_catalogue import CATALOGUE
from policy.schema import ENUMS, FACTS, Kind

ZH, EN = "ZH", "EN"

_LABELS: dict[str, tuple[str, str]] = {
    **{f.name: (f.label.zh, f.label.en) for _, f in CATALOGUE.all_inputs() if f.condition},
    **{d.name: (d.label.zh, d.label.en) for d in CATALOGUE.derived},
    **{e.name: (e.label.zh, e.label.en) for e in CATALOGUE.event},
}
_ENUM_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    enum: {v: (label.zh, label.en) for v, label in values.items()}
    for enum, values in CATALOGUE.enums.items()
}

# Operators in words: for numbers, and for dates (earlier and later rather than less and more).
_OPS = {
    ZH: {"<": "低于", "<=": "不高于", ">": "高于", ">=": "不低于", "==": "为", "!=": "不为"},
    EN: {"<": "is below", "<=": "is at most", ">": "is above", ">=": "is at least",
         "==": "is", "!=": "is not"},
}
_DATE_OPS = {
    ZH: {"<": "早于", "<=": "不晚于", ">": "晚于", ">=": "不早于"},
    EN: {"<": "is before", "<=": "is on or before", ">": "is after", ">=": "is on or after"},
}
_ARITH = {"+": "+", "-": "−", "*": "×", "/": "÷"}
_TEXT = {
    ZH: {"and": "且", "or": "或", "not": "非", "true": "是", "false": "否",
         "in": "为以下之一：", "not in": "不为以下任何一项：", "sep": "、",
         "between": "在 {low} 至 {high} 之间",
         "any": "任一成员：{body}", "all": "所有成员均：{body}",
         "priority": "同组（{group}）没有更高优先级的规则适用", "yuan": " 元", "none": "无"},
    EN: {"and": "and", "or": "or", "not": "not", "true": "yes", "false": "no",
         "in": "is one of ", "not in": "is none of ", "sep": ", ",
         "between": "is between {low} and {high}", "any": "some member: {body}",
         "all": "every member: {body}",
         "priority": "no higher-priority rule of group {group} applies", "yuan": " yuan",
         "none": "none"},
}
_PRIORITY = "no higher-priority rule of group "

_PARSED: BoundedCache[str, tuple[a.Node | None]] = BoundedCache("engine.words_parsed", 4096)


def _parsed(expression: str) -> a.Node | None:
    """The expression's syntax tree (untyped), or None when it is not the condition language
    (a priority guard, a joined rule's root)."""
    hit = _PARSED.get(expression)
    if hit is not None:
        return hit[0]
    try:
        node: a.Node | None = parse(expression)
    except ConditionError:
        node = None
    _PARSED.put(expression, (node,))
    return node


def _lang(lang: str) -> str:
    return EN if lang.upper() == EN else ZH


def fact_label(name: str, lang: str) -> str:
    """A fact by its label in the catalogue; any other name (a definition, a parameter) as
    written."""
    labels = _LABELS.get(name)
    return name if labels is None else labels[_lang(lang) == EN]


def _fact_of(node: a.Node) -> str | None:
    """The fact a value expression is, when it is one."""
    return node.name if isinstance(node, a.Name) and node.name in FACTS else None


def value_text(value: str | None, fact: str | None, lang: str) -> str | None:
    """A value as the engine shows it (``NONE``, ``true``, ``6000.00``), in words for the fact
    it is a value of: an enumeration value by its label, a truth value as yes or no, an amount
    with its unit and thousands separated. None stays None (unknown)."""
    if value is None:
        return None
    lang = _lang(lang)
    t = _TEXT[lang]
    if value in ("true", "false"):
        return str(t[value])
    definition = FACTS.get(fact) if fact is not None else None
    if definition is None:
        return value
    if definition.type.kind is Kind.ENUM and definition.type.enum is not None:
        labels = _ENUM_LABELS.get(definition.type.enum, {}).get(value)
        if labels is None and value in ENUMS.get(definition.type.enum, ()):
            return str(t["none"])  # the value a left-out fact takes (``absentAs``: no kind)
        return value if labels is None else labels[lang == EN]
    if definition.money:
        try:
            return f"{Decimal(value):,.2f}{t['yuan']}"
        except (InvalidOperation, ValueError):
            return value
    return value


def _words(node: a.Node, lang: str, top: bool = True) -> str:
    """An expression in words (``top``: not inside another, so not parenthesised)."""
    t = _TEXT[lang]
    match node:
        case a.Name(name=name):
            return fact_label(name, lang)
        case a.Num(value=v):
            return str(v)
        case a.Bool(value=v):
            return str(t["true" if v else "false"])
        case a.EnumLit(name=name):
            return name
        case a.Neg(operand=o):
            return f"−{_words(o, lang, False)}"
        case a.Arith(op=op, left=l, right=r):
            text = f"{_words(l, lang, False)} {_ARITH[op]} {_words(r, lang, False)}"
            return text if top else f"（{text}）" if lang == ZH else f"({text})"
        case a.Call(func=func, args=args):
            return f"{func}({', '.join(_words(x, lang) for x in args)})"
        case a.Compare(op=op, left=l, right=r):
            return _comparison(l, op, _operand(r, l, lang), lang)
        case a.In(subject=s, items=items, negated=negated):
            listed = str(t["sep"]).join(_operand(x, s, lang) for x in items)
            return _joined(_words(s, lang, False), f"{t['not in' if negated else 'in']}{listed}",
                           lang)
        case a.Between(subject=s, low=lo, high=hi):
            return _joined(_words(s, lang, False), str(t["between"]).format(
                low=_operand(lo, s, lang), high=_operand(hi, s, lang)), lang)
        case a.Not(operand=o):
            inner = _words(o, lang, False)
            return f"{t['not']}{inner}" if lang == ZH else f"not {inner}"
        case a.And(operands=ops) | a.Or(operands=ops):
            joiner = t["and" if isinstance(node, a.And) else "or"]
            text = f" {joiner} ".join(_words(x, lang, False) for x in ops)
            return text if top else f"（{text}）" if lang == ZH else f"({text})"
        case a.Quantifier(kind=kind, body=body):
            return str(t[kind]).format(body=_words(body, lang))
    return str(node)


def _operand(node: a.Node, subject: a.Node, lang: str) -> str:
    """The other side of a comparison with ``subject``: an enumeration value by the label of
    the subject's enumeration, an amount with its unit, anything else in words."""
    fact = _fact_of(subject)
    if isinstance(node, a.EnumLit):
        return value_text(node.name, fact, lang) or node.name
    if isinstance(node, a.Num):
        return value_text(str(node.value), fact, lang) or str(node.value)
    return _words(node, lang, False)


def _is_date(subject: a.Node) -> bool:
    fact = _fact_of(subject)
    return fact is not None and FACTS[fact].type.kind is Kind.DATE


def _comparison(subject: a.Node, op: str, other: str, lang: str) -> str:
    ops = _DATE_OPS[lang] if _is_date(subject) and op in _DATE_OPS[lang] else _OPS[lang]
    # Chinese runs words together, but not a word and a figure: "低于 6,000.00 元", "为小学".
    gap = " " if lang == EN or other[:1].isdigit() or other[:1] in "-−" else ""
    return _joined(_words(subject, lang, False), f"{ops[op]}{gap}{other}", lang)


def _joined(subject: str, predicate: str, lang: str) -> str:
    return f"{subject}{predicate}" if lang == ZH else f"{subject} {predicate}"


def _expected_value(expected: str | None, op: str) -> str | None:
    """The right side's value of a comparison's ``expected`` ("< 6000.00" -> "6000.00")."""
    if expected is None or not expected.startswith(op + " "):
        return None
    return expected[len(op) + 1:]


# Words by what they are made of (the node's kind, text and threshold, the language): most
# nodes recur from household to household with the same words.
_SAID: BoundedCache[tuple[str, str, str | None, str], str] = BoundedCache("engine.words", 8192)


def node_text(node: ConditionNode, lang: str = ZH) -> str:
    """A node's condition in words, e.g. "年人均纯收入低于 6,000.00 元": a comparison's
    threshold by its value as this node shows it, a fact by its label. A node whose text is not
    the condition language (a priority guard, a joined root) is said from its parts."""
    lang = _lang(lang)
    if node.kind in ("AND", "OR") and _parsed(node.expression) is None:
        return _said(node, lang)  # said from its children, whose words are remembered
    key = (node.kind, node.expression, node.expected, lang)
    said = _SAID.get(key)
    if said is None:
        said = _SAID.put(key, _said(node, lang))
    return said


def _said(node: ConditionNode, lang: str) -> str:
    """``node_text``'s words, made afresh (a function of the node's kind, expression and
    expected, and of its children's words for a joined root)."""
    t = _TEXT[lang]
    if node.kind == "PRIORITY":
        group = node.expression.removeprefix(_PRIORITY).removesuffix(" applies")
        return str(t["priority"]).format(group=group)
    if node.kind == "DEFINITION":
        return node.expression
    parsed = _parsed(node.expression)
    if parsed is None:
        if node.kind in ("AND", "OR") and node.children:
            joiner = t["and" if node.kind == "AND" else "or"]
            return f" {joiner} ".join(node_text(c, lang) for c in node.children)
        return node.expression
    match parsed:
        case a.Compare(op=op, left=l, right=r) if not _fact_of(r):
            shown = _expected_value(node.expected, op)
            other = (value_text(shown, _fact_of(l), lang) if shown is not None
                     else _operand(r, l, lang))
            return _comparison(l, op, other or "?", lang)
        case a.Between(subject=s) if node.expected is not None and not node.expected.startswith(
                "not "):
            low, _, high = node.expected.removeprefix("between ").partition(" and ")
            fact = _fact_of(s)
            return _joined(_words(s, lang, False), str(t["between"]).format(
                low=value_text(low, fact, lang), high=value_text(high, fact, lang)), lang)
    return _words(parsed, lang)


def subject_fact(node: ConditionNode) -> str | None:
    """The fact whose value a node's ``actual`` is: the node's own (a fact), or a comparison's
    left side, when it is a fact."""
    if node.kind == "FACT":
        return node.expression if node.expression in FACTS else None
    parsed = _parsed(node.expression)
    match parsed:
        case a.Compare(left=l) | a.In(subject=l) | a.Between(subject=l):
            return _fact_of(l)
    return None


def actual_text(node: ConditionNode, lang: str = ZH) -> str | None:
    """A node's ``actual`` in words: a truth value as yes or no, an enumeration value by its
    label, an amount with its unit; None when unknown."""
    if node.kind == "PRIORITY":
        return node.actual
    if node.kind in _TRUTHS:  # (a definition's own actual is its definition's)
        return None if node.result is None else str(_TEXT[_lang(lang)][
            "true" if node.result else "false"])
    return value_text(node.actual, subject_fact(node), lang)


# Kinds whose value is their result: a truth value, whatever ``actual`` says.
_TRUTHS = frozenset({"AND", "OR", "NOT", "ANY_MEMBER", "ALL_MEMBERS", "DEFINITION"})


__all__ = ["EN", "ZH", "actual_text", "fact_label", "node_text", "subject_fact", "value_text"]
