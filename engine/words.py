"""Conditions in words, for the people who read explanations.

A node of an explanation tree carries its condition as written (``schoolStage != NONE``) and
its values as the engine shows them (``NONE``). A caseworker reads the same node here as
"就学阶段不为不在学" with the actual value "不在学": facts by their labels in the fact catalogue
(fixtures/facts.yaml), enumeration values by theirs, operators in words, amounts with their
unit, and a comparison's threshold by its value (``低于 6,000.00 元``, not ``incomeLine``),
in Chinese (``ZH``) or English (``EN``).

A rule set's parameters and definitions are said by the words their version's document gives
them (``ConditionNode.names``: the description, without a trailing remark in parentheses or
what follows a colon that explains it); one without a description is shown as written. An
``and``, ``or``, ``not`` or quantifier is said by its children's words, so a comparison inside
it shows its threshold by value there too ("年人均纯收入不低于 6,000.00 元 且 ...").

Everything here is a function of the node and the catalogue: the words of one node are the
same whichever process, request or household shows it. The expression is parsed again to find
its parts (a few microseconds, remembered by its text): the engine builds its trees without
words, so that only the explanations somebody reads pay for them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction

from engine.results import ConditionNode
from engine.values import is_money
from policy.cache import BoundedCache
from policy.conditions import ast as a
from policy.conditions.parser import parse
from policy.errors import ConditionError
from policy.exact import QUOTIENT, round_half_up
from policy.fact_catalogue import CATALOGUE
from policy.schema import ENUMS, FACTS, RATIO, Kind

ZH, EN = "ZH", "EN"

_LABELS: dict[str, tuple[str, str]] = {
    **{f.name: (f.label.zh, f.label.en) for _, f in CATALOGUE.all_inputs() if f.condition},
    **{d.name: (d.label.zh, d.label.en) for d in CATALOGUE.derived},
    **{e.name: (e.label.zh, e.label.en) for e in CATALOGUE.event},
}
# A yes/no fact's words when it is not so, where the catalogue gives them (未参加基本医保).
_NEGATED: dict[str, tuple[str, str]] = {
    **{f.name: (f.negated.zh, f.negated.en) for _, f in CATALOGUE.all_inputs()
       if f.condition and f.negated is not None},
    **{d.name: (d.negated.zh, d.negated.en) for d in CATALOGUE.derived if d.negated is not None},
}
# A number fact's value standing for "left out" (``absentAs``) when no given value can be it
# (a disability grade of 0: no certificate): said as "none", not as a grade.
_ABSENT: dict[str, str] = {
    f.name: str(f.absentAs) for _, f in CATALOGUE.all_inputs()
    if f.condition and isinstance(f.absentAs, int) and not isinstance(f.absentAs, bool)
    and f.bounds.min is not None and f.absentAs < f.bounds.min
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
# Functions in words: (Chinese, English) templates of their arguments' words.
_CALLS = {
    ZH: {"min": "{args}中的较小者", "max": "{args}中的较大者",
         "round": "{0}（四舍五入保留 {1} 位小数）", "later": "{0}往后 {1} 个月",
         "earlier": "{0}往前 {1} 个月", "later by": "{0}往后推{1}", "earlier by": "{0}往前推{1}",
         "fullYears": "{0}至{1}的周岁数",
         "memberSum": "各成员{0}之和"},
    EN: {"min": "the lesser of {args}", "max": "the greater of {args}",
         "round": "{0} rounded to {1} decimals", "later": "{1} months after {0}",
         "earlier": "{1} months before {0}", "later by": "{0} plus {1}",
         "earlier by": "{0} minus {1}", "fullYears": "full years from {0} to {1}",
         "memberSum": "the sum of {0} over the members"},
}
_AND_ALSO = {ZH: "与", EN: " and "}
_TEXT = {
    ZH: {"and": "且", "or": "或", "not": "非", "true": "是", "false": "否",
         "in": "为以下之一：", "not in": "不为以下任何一项：", "sep": "、",
         "between": "在 {low} 至 {high} 之间",
         "any": "任一成员：{body}", "all": "所有成员均：{body}",
         "priority": "同组（{group}）没有更高优先级的规则适用",
         "superseded by": "同组更高优先级的项目（{titles}）不适用", "yuan": " 元", "none": "无",
         "about": "约 "},
    EN: {"and": "and", "or": "or", "not": "not", "true": "yes", "false": "no",
         "in": "is one of ", "not in": "is none of ", "sep": ", ",
         "between": "is between {low} and {high}", "any": "some member: {body}",
         "all": "every member: {body}",
         "priority": "no higher-priority rule of group {group} applies",
         "superseded by": "no higher-priority item of the group applies ({titles})",
         "yuan": " yuan",
         "none": "none", "about": "about "},
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
    if lang in (ZH, EN):  # nearly always: no new string
        return lang
    return EN if lang.upper() == EN else ZH


# A node's rule-set names with their words: name -> (Chinese, English, an amount of money).
Labels = dict[str, tuple[str, str, bool]]
_NO_LABELS: Labels = {}


def _labels(node: ConditionNode) -> Labels:
    names = node.names
    return {n: (zh, en, money) for n, zh, en, money in names} if names else _NO_LABELS


def fact_label(name: str, lang: str, labels: Labels = _NO_LABELS) -> str:
    """A fact by its label in the catalogue, a rule set's parameter or definition by its words
    (``labels``); any other name as written."""
    own = labels.get(name)
    if own is not None:
        return own[1] if _lang(lang) == EN else own[0]
    found = _LABELS.get(name)
    return name if found is None else found[_lang(lang) == EN]


def _fact_of(node: a.Node) -> str | None:
    """The fact a value expression is, when it is one."""
    return node.name if isinstance(node, a.Name) and node.name in FACTS else None


def _yuan(node: ConditionNode) -> frozenset[str]:
    """The node's names that are amounts of money (a rule set's parameters in yuan)."""
    return frozenset(n for n, _, _, money in node.names if money)


def value_text(value: str | None, fact: str | None, lang: str,
               money: bool = False) -> str | None:
    """A value as the engine shows it (``NONE``, ``true``, ``6000.00``, ``3/35 (≈0.09)``), in
    words for the fact it is a value of: an enumeration value by its label, a truth value as
    yes or no, an amount (of a money fact, or ``money``) with its unit and thousands
    separated, a ratio as a percentage (as terms in a ratio are shown), the value a left-out
    fact takes as "none". A quotient that does not terminate is said as its value to two
    decimals, "about" it. None stays None (unknown).

    >>> ratio = "incomeDropRatio"
    >>> value_text("0.5", ratio, "ZH"), value_text("3/35 (≈0.09)", ratio, "EN")
    ('50%', 'about 8.57%')
    >>> value_text("20000/3 (≈6666.67)", None, "ZH", True), value_text("3/35 (≈0.09)", None, "EN")
    ('约 6,666.67 元', 'about 0.09')
    >>> value_text("0", "disabilityGrade", "ZH"), value_text("3", "disabilityGrade", "ZH")
    ('无', '3')
    """
    if value is None:
        return None
    lang = _lang(lang)
    t = _TEXT[lang]
    if value in ("true", "false"):
        return str(t[value])
    definition = FACTS.get(fact) if fact is not None else None
    if definition is not None and definition.type.kind is Kind.ENUM and (
            definition.type.enum is not None):
        labels = _ENUM_LABELS.get(definition.type.enum, {}).get(value)
        if labels is None and value in ENUMS.get(definition.type.enum, ()):
            return str(t["none"])  # the value a left-out fact takes (``absentAs``: no kind)
        return value if labels is None else labels[lang == EN]
    if fact is not None and _ABSENT.get(fact) == value:
        return str(t["none"])
    ratio = definition is not None and definition.unit == RATIO
    if not (ratio or money or (definition is not None and definition.money)):
        found = QUOTIENT.fullmatch(value)
        return value if found is None else f"{t['about']}{found[3]}"
    number = _number(value)
    if number is None:
        return value
    about = "" if isinstance(number, Decimal) else str(t["about"])
    if ratio:
        percent = _decimal(number * 100)
        text = format(percent.normalize(), "f") if about == "" else f"{percent:.2f}"
        return f"{about}{text}%"
    return f"{about}{_decimal(number):,.2f}{t['yuan']}"


def _number(value: str) -> Decimal | Fraction | None:
    """The exact number a value's text shows (a Fraction for a quotient that does not
    terminate), or None when it is no number."""
    found = QUOTIENT.fullmatch(value)
    if found is not None:
        return Fraction(int(found[1]), int(found[2]))
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _decimal(number: Decimal | Fraction) -> Decimal:
    """A number as a Decimal: exact, or a quotient rounded half up to two decimals."""
    return number if isinstance(number, Decimal) else round_half_up(number, 2)


def _words(node: a.Node, lang: str, labels: Labels, top: bool = True) -> str:
    """An expression in words (``top``: not inside another, so not parenthesised)."""
    t = _TEXT[lang]
    match node:
        case a.Name(name=name):
            return fact_label(name, lang, labels)
        case a.Num(value=v):
            return str(v)
        case a.Bool(value=v):
            return str(t["true" if v else "false"])
        case a.EnumLit(name=name):
            return name
        case a.Neg(operand=o):
            return f"−{_words(o, lang, labels, False)}"
        case a.Arith(op=op, left=l, right=r):
            text = (f"{_words(l, lang, labels, False)} {_ARITH[op]} "
                    f"{_words(r, lang, labels, False)}")
            return text if top else _parenthesised(text, lang)
        case a.Call(func=func, args=args):
            return _call(func, args, lang, labels)
        case a.Compare(op=op, left=l, right=r):
            return _comparison(l, op, _operand(r, l, lang, labels), lang, labels)
        case a.In(subject=s, items=items, negated=negated):
            listed = str(t["sep"]).join(_operand(x, s, lang, labels) for x in items)
            return _joined(_words(s, lang, labels, False),
                           f"{t['not in' if negated else 'in']}{listed}", lang)
        case a.Between(subject=s, low=lo, high=hi):
            return _joined(_words(s, lang, labels, False), str(t["between"]).format(
                low=_operand(lo, s, lang, labels), high=_operand(hi, s, lang, labels)), lang)
        case a.Not(operand=a.Name(name=name)) if name in _NEGATED:
            return _NEGATED[name][lang == EN]
        case a.Not(operand=o):
            return _negated(_within(_words(o, lang, labels, False), lang), lang)
        case a.And(operands=ops) | a.Or(operands=ops):
            joiner = t["and" if isinstance(node, a.And) else "or"]
            text = f" {joiner} ".join(
                _within(_words(x, lang, labels, False), lang, i == 0) for i, x in enumerate(ops))
            return text if top else _parenthesised(text, lang)
        case a.Quantifier(kind=kind, body=body):  # a compound body in parentheses
            return str(t[kind]).format(body=_within(_words(body, lang, labels, False), lang))
    return str(node)


def _parenthesised(text: str, lang: str) -> str:
    return f"（{text}）" if lang == ZH else f"({text})"


def _within(text: str, lang: str, first: bool = False) -> str:
    """Words inside a sentence: in English a label's capital lowered ("not destitute person",
    "disabled and dibao household"), unless they begin it (``first``) or begin with an
    abbreviation (two capitals)."""
    if lang == ZH or first:
        return text
    at = 1 if text[:1] in "(（" else 0
    head = text[at:at + 2]
    if len(head) == 2 and head[0].isupper() and not head[1].isupper():
        return text[:at] + head[0].lower() + text[at + 1:]
    return text


def _negated(text: str, lang: str) -> str:
    return f"{_TEXT[lang]['not']}{text}" if lang == ZH else f"not {text}"


def _call(func: str, args: tuple[a.Node, ...], lang: str, labels: Labels) -> str:
    """A function's call in words: ``addMonths(asOf, -6)`` as "评估日期往前 6 个月", and
    ``addMonths(asOf, -minMonitoredMonths)`` as "评估日期往前推" and the parameter's words
    (which name the months already)."""
    said = _CALLS[lang]
    if func == "addMonths" and len(args) == 2:
        date_, months = args
        back = isinstance(months, a.Neg)
        count = months.operand if isinstance(months, a.Neg) else months
        which = ("earlier" if back else "later") + ("" if isinstance(count, a.Num) else " by")
        return said[which].format(
            _words(date_, lang, labels, False), _words(count, lang, labels, False))
    words = [_words(x, lang, labels, False) for x in args]
    if func in ("min", "max"):
        return said[func].format(args=_AND_ALSO[lang].join(words))
    template = said.get(func)
    if template is None or template.count("{") != len(words):
        return f"{func}({', '.join(_words(x, lang, labels) for x in args)})"
    return template.format(*words)


def _operand(node: a.Node, subject: a.Node, lang: str, labels: Labels) -> str:
    """The other side of a comparison with ``subject``: an enumeration value by the label of
    the subject's enumeration, an amount with its unit, anything else in words."""
    fact = _fact_of(subject)
    if isinstance(node, a.EnumLit):
        return value_text(node.name, fact, lang) or node.name
    if isinstance(node, a.Num):
        return value_text(str(node.value), fact, lang) or str(node.value)
    return _words(node, lang, labels, False)


def _is_date(subject: a.Node) -> bool:
    fact = _fact_of(subject)
    return fact is not None and FACTS[fact].type.kind is Kind.DATE


def _comparison(subject: a.Node, op: str, other: str, lang: str, labels: Labels) -> str:
    ops = _DATE_OPS[lang] if _is_date(subject) and op in _DATE_OPS[lang] else _OPS[lang]
    # Chinese runs words together, but not a word and a figure: "低于 6,000.00 元", "为小学".
    gap = " " if lang == EN or other[:1].isdigit() or other[:1] in "-−" else ""
    return _joined(_words(subject, lang, labels, False), f"{ops[op]}{gap}{other}", lang)


def _joined(subject: str, predicate: str, lang: str) -> str:
    return f"{subject}{predicate}" if lang == ZH else f"{subject} {predicate}"


def _expected_value(expected: str | None, op: str) -> str | None:
    """The right side's value of a comparison's ``expected`` ("< 6000.00" -> "6000.00")."""
    if expected is None or not expected.startswith(op + " "):
        return None
    return expected[len(op) + 1:]


# Words by what they are made of (the node's kind, text, threshold and names, the language):
# most nodes recur from household to household with the same words.
_SAID: BoundedCache[tuple[object, ...], str] = BoundedCache("engine.words", 8192)
# The words of an ``and``, ``or``, ``not`` or quantifier, made of its children's, by the node
# (kept alive in the entry, so the id is its own): trees are shared, and so are their words.
_COMPOSED: BoundedCache[tuple[int, str], tuple[ConditionNode, str]] = BoundedCache(
    "engine.words_composed", 8192)
_JUNCTIONS = frozenset({"AND", "OR", "NOT", "ANY_MEMBER", "ALL_MEMBERS"})
# Whether a parameter's, an arithmetic's or a call's value is an amount of money, by its text
# and names.
_IN_YUAN: BoundedCache[tuple[str, tuple[tuple[str, str, str, bool], ...]], bool] = BoundedCache(
    "engine.words_in_yuan", 4096)


def node_text(node: ConditionNode, lang: str = ZH) -> str:
    """A node's condition in words, e.g. "年人均纯收入低于 6,000.00 元": a comparison's
    threshold by its value as this node shows it, a fact by its label, a rule set's parameter
    or definition by its words; an ``and``, ``or``, ``not`` or quantifier by its children's."""
    lang = _lang(lang)
    if node.kind in _JUNCTIONS and node.children:
        key = (id(node), lang)
        hit = _COMPOSED.get(key)
        if hit is not None and hit[0] is node:
            return hit[1]
        composed = _composed(node, lang)
        if composed is not None:
            return _COMPOSED.put(key, (node, composed))[1]
    memo = (node.kind, node.expression, node.expected, lang, node.names)
    said = _SAID.get(memo)
    if said is None:
        said = _SAID.put(memo, _said(node, lang))
    return said


def _inner(node: ConditionNode, lang: str, first: bool = False) -> str:
    """A child's words inside its parent's (``_within``; ``first``: they begin it): an ``and``
    or ``or`` in parentheses, a definition its version gives no words by its definition's."""
    while node.kind == "DEFINITION" and node.children and not any(
            n[0] == node.expression for n in node.names):
        node = node.children[0]
    said = _within(node_text(node, lang), lang, first)
    return _parenthesised(said, lang) if node.kind in ("AND", "OR") else said


def _composed(node: ConditionNode, lang: str) -> str | None:
    """An ``and``, ``or``, ``not`` or quantifier said by its children (a joined root, whose
    text is not the condition language, too); None when its children are not its operands."""
    t = _TEXT[lang]
    kids = node.children
    parsed = _parsed(node.expression)
    match node.kind:
        case "AND" | "OR":
            if parsed is not None and not (isinstance(parsed, a.And | a.Or)
                                           and len(parsed.operands) == len(kids)):
                return None
            joiner = t["and" if node.kind == "AND" else "or"]
            return f" {joiner} ".join(_inner(c, lang, i == 0) for i, c in enumerate(kids))
        case "NOT":
            if not isinstance(parsed, a.Not) or len(kids) != 1:
                return None
            own = _NEGATED.get(kids[0].expression) if kids[0].kind == "FACT" else None
            if own is not None:  # 未参加基本医保, not 非参加基本医保
                return own[lang == EN]
            return _negated(_inner(kids[0], lang), lang)
        case _:  # a quantifier: its body, as the first member's node says it
            if not isinstance(parsed, a.Quantifier):
                return None
            return str(t[parsed.kind]).format(body=_inner(kids[0], lang))


def _said(node: ConditionNode, lang: str) -> str:
    """``node_text``'s words for a node not said by its children, made afresh (a function of
    the node's kind, expression, expected and names)."""
    t = _TEXT[lang]
    labels = _labels(node)
    if node.kind == "PRIORITY":
        if labels:  # the items above by their titles
            return str(t["superseded by"]).format(titles=_titles(node, lang))
        group = node.expression.removeprefix(_PRIORITY).removesuffix(" applies")
        return str(t["priority"]).format(group=group)
    if node.kind == "DEFINITION":
        return fact_label(node.expression, lang, labels)
    parsed = _parsed(node.expression)
    if parsed is None:
        return node.expression
    match parsed:
        case a.Compare(op=op, left=l, right=r) if not _fact_of(r):
            shown = _expected_value(node.expected, op)
            other = (value_text(shown, _fact_of(l), lang, is_money(l, _yuan(node)))
                     if shown is not None else _operand(r, l, lang, labels))
            return _comparison(l, op, other or "?", lang, labels)
        case a.Between(subject=s) if node.expected is not None and not node.expected.startswith(
                "not "):
            low, _, high = node.expected.removeprefix("between ").partition(" and ")
            fact = _fact_of(s)
            money = is_money(s, _yuan(node))
            return _joined(_words(s, lang, labels, False), str(t["between"]).format(
                low=value_text(low, fact, lang, money),
                high=value_text(high, fact, lang, money)), lang)
    return _words(parsed, lang, labels)


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


def _titles(node: ConditionNode, lang: str) -> str:
    """A priority guard's items (its ``actual``: outcome codes) by their titles, its names'."""
    codes, labels = (node.actual or "").split(", "), _labels(node)
    return str(_TEXT[lang]["sep"]).join(fact_label(c, lang, labels) for c in codes if c)


def actual_text(node: ConditionNode, lang: str = ZH) -> str | None:
    """A node's ``actual`` in words: a truth value as yes or no, an enumeration value by its
    label, an amount with its unit, a priority guard's items by their titles; None when
    unknown."""
    if node.kind == "PRIORITY":
        return _titles(node, _lang(lang)) if node.names else node.actual
    if node.kind in _TRUTHS:  # (a definition's own actual is its definition's)
        return None if node.result is None else str(_TEXT[_lang(lang)][
            "true" if node.result else "false"])
    if node.kind in _VALUES:  # a parameter, arithmetic or a call: an amount when in yuan
        key = (node.expression, node.names)
        money = _IN_YUAN.get(key)
        if money is None:
            parsed = _parsed(node.expression)
            money = _IN_YUAN.put(key, parsed is not None and is_money(parsed, _yuan(node)))
        return value_text(node.actual, None, lang, money)
    return value_text(node.actual, subject_fact(node), lang)


# Kinds whose value is their result: a truth value, whatever ``actual`` says.
_TRUTHS = frozenset({"AND", "OR", "NOT", "ANY_MEMBER", "ALL_MEMBERS", "DEFINITION"})
# Kinds whose value is a number or a date computed from others (or a parameter's).
_VALUES = frozenset({"PARAMETER", "ARITH", "NEG", "CALL"})


__all__ = ["EN", "ZH", "actual_text", "fact_label", "node_text", "subject_fact", "value_text"]
