"""``policy-engine evaluate`` for people: a table per program, one item's tree, and the changes
that would grant it. Chinese by default, English with ``--lang EN``."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from engine.results import ConditionNode, Determination, Outcome, Status, Term
from engine.whatif import what_would_change
from engine.words import actual_text, fact_label, node_text, subject_fact
from policy.schema import FACTS, Kind
from policy.term_catalogue import TERMS

_TEXT: dict[str, dict[Any, Any]] = {
    "ZH": {
        "household": "家庭 {id}，评估日期 {as_of}；纳入防止返贫监测：{flagged}",
        "yes": "是", "no": "否", "unknown": "未知",
        "not_evaluated": "未评估（所选项目中没有监测认定）",
        "header": ("项目", "成员", "状态", "金额", "理由"),
        Status.GRANTED: "符合", Status.NOT_GRANTED: "不符合", Status.UNDETERMINED: "待定",
        "YEAR": "元/年", "MONTH": "元/月", "ONCE": "元（一次性）",
        "totals": "符合 {g} 项，不符合 {n} 项，待定 {u} 项",
        "sample": "* 示例值：该金额或条款依据标注为示例（sample）的参数，并非本县核定标准。",
        "sample_terms": "（标 * 的金额或条款为示例值：依据标注为示例（sample）的参数，"
                        "并非本县核定标准。）",
        "missing": "缺少：{facts}",
        "needs": "{expr}（实为 {actual}）",
        "actual": "实为 {actual}",
        "is": "{expr}：{value}",
        "superseded": "已适用更高优先级的项目：{outcomes}",
        "none_shown": "（没有所选状态的项目）",
        "explain_head": "{title}（{code}）{member}：{status}{amount}",
        "member": " 成员 {id}",
        "reason": "理由：{text}",
        "citation": "依据：{document} {clause}",
        "changes": "可使其符合的单项事实变化：",
        "no_change": "没有哪一项事实单独改变就能使其符合。",
        "legend": "（* 为决定结果的条件；✓ 成立，✗ 不成立，? 未知）",
        "for_members": "成员 {ids}",
        "term": "{name}：{value}{sample}",
    },
    "EN": {
        "household": "Household {id}, as of {as_of}; flagged for monitoring: {flagged}",
        "yes": "yes", "no": "no", "unknown": "unknown",
        "not_evaluated": "not evaluated (none of the chosen programs decides it)",
        "header": ("Item", "Member", "Status", "Amount", "Reason"),
        Status.GRANTED: "GRANTED", Status.NOT_GRANTED: "NOT GRANTED",
        Status.UNDETERMINED: "UNDETERMINED",
        "YEAR": "yuan/year", "MONTH": "yuan/month", "ONCE": "yuan once",
        "totals": "{g} granted, {n} not granted, {u} undetermined",
        "sample": "* Sample figure: the amount or term comes from a parameter marked sample, not "
                  "a figure the county has decided.",
        "sample_terms": "(An amount or term marked * is a sample figure: it comes from a parameter "
                        "marked sample, not a figure the county has decided.)",
        "missing": "missing: {facts}",
        "needs": "{expr} (is {actual})",
        "actual": "is {actual}",
        "is": "{expr}: {value}",
        "superseded": "a higher-priority item applies: {outcomes}",
        "none_shown": "(no items with the chosen status)",
        "explain_head": "{title} ({code}){member}: {status}{amount}",
        "member": " member {id}",
        "reason": "Reason: {text}",
        "citation": "Basis: {document} {clause}",
        "changes": "Single changes of one fact that would grant it:",
        "no_change": "No single fact change would grant it.",
        "legend": "(* the conditions that decided the result; ✓ true, ✗ false, ? unknown)",
        "for_members": "members {ids}",
        "term": "{name}: {value}{sample}",
    },
}
REASON_WIDTH = 72
_ATOMS = frozenset({"COMPARE", "IN", "BETWEEN", "FACT", "PRIORITY", "ANY_MEMBER",
                    "ALL_MEMBERS", "CONSTANT"})


def width(text: str) -> int:
    """Display width: East Asian wide and full-width characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, cols: int) -> str:
    return text + " " * max(0, cols - width(text))


def _cut(text: str, cols: int) -> str:
    if width(text) <= cols:
        return text
    out = ""
    for c in text:
        if width(out + c) > cols - 1:
            break
        out += c
    return out + "…"


def _truth(t: dict[Any, Any], result: bool | None) -> str:
    return str(t["unknown"] if result is None else (t["yes"] if result else t["no"]))


def deciding_atoms(tree: ConditionNode) -> list[ConditionNode]:
    """The decided conditions that carried the result, as written (a comparison, a flag, a
    negated flag, a quantifier), not the ``and``/``or`` around them nor what they are made of."""
    out: list[ConditionNode] = []

    def visit(n: ConditionNode) -> None:
        if not n.decided:
            return
        if n.kind in _ATOMS or (n.kind == "NOT" and n.children
                                and n.children[0].kind in _ATOMS):
            out.append(n)
            return
        for c in n.children:
            visit(c)

    visit(tree)
    return out


def _atom(t: dict[Any, Any], n: ConditionNode, lang: str) -> str:
    """A deciding condition in words, with its actual value: "就学阶段为普通高中（实为初中）",
    "特困人员：是" (a negated flag is said by the flag)."""
    if n.kind == "PRIORITY":
        return str(t["superseded"].format(outcomes=actual_text(n, lang)))
    fact = subject_fact(n) if n.result is False and (n.expected or "").startswith("!= ") else None
    if fact is not None:
        # A fact that failed "is not X" is X: said once ("就学阶段：不在学"), not as "就学阶段不为
        # 不在学（实为 不在学）".
        return str(t["is"].format(expr=fact_label(fact, lang), value=actual_text(n, lang)))
    if n.kind in ("COMPARE", "IN", "BETWEEN"):
        return str(t["needs"].format(expr=node_text(n, lang),
                                     actual=actual_text(n, lang) or t["unknown"]))
    if n.kind == "NOT" and n.children and n.children[0].kind == "FACT":
        n = n.children[0]
    return str(t["is"].format(expr=node_text(n, lang), value=_truth(t, n.result)))


def _fact_name(path: str, lang: str) -> str:
    """A missing fact as a caseworker knows it: its catalogue label, with the path a household
    file names it by (``上年度家庭纯收入（previousAnnualNetIncome）``, ``Previous annual net
    income (previousAnnualNetIncome)``)."""
    name = path.rsplit(".", 1)[-1]
    label = fact_label(name, lang)
    if label == name:
        return path
    return f"{label}（{path}）" if lang == "ZH" else f"{label} ({path})"


def _term_name(key: str, lang: str) -> str:
    """A term as a caseworker knows it, with the key the rule set names it by, as facts are
    named (``起付线（deductible）``, ``Deductible (deductible)``); the key alone when the term
    catalogue has no label for it."""
    name = TERMS.label(key, lang)
    if name == key:
        return key
    return f"{name}（{key}）" if lang == "ZH" else f"{name} ({key})"


def one_line(t: dict[Any, Any], o: Outcome, lang: str) -> str:
    """The deciding reason of an outcome in one line."""
    if o.status is Status.GRANTED:
        return o.reasons[0].text(lang) if o.reasons else ""
    if o.status is Status.UNDETERMINED:
        sep = "、" if lang == "ZH" else ", "
        return str(t["missing"].format(facts=sep.join(
            _fact_name(path, lang) for path in o.missing_facts)))
    parts = ([_atom(t, n, lang) for n in deciding_atoms(o.reasons[0].condition)]
             if o.reasons else [])
    return ("；" if lang == "ZH" else "; ").join(dict.fromkeys(parts))


def _amount(t: dict[Any, Any], o: Outcome) -> str:
    if o.amount is None:
        return "—" if o.status is Status.GRANTED else ""
    unit = t.get(o.period or "", "")
    return f"{o.amount:,.2f} {unit}{'*' if o.amount_is_sample else ''}"


def _terms_line(t: dict[Any, Any], o: Outcome, lang: str) -> str:
    """A granted item's terms in one line under its row (a medical relief tier's deductible,
    ratio, cap and estimated relief: its figures, where it has no amount of its own)."""
    sep = "；" if lang == "ZH" else "; "
    return "    " + sep.join(_term(t, term, TERMS.label(term.key, lang), lang) for term in o.terms)


def _term(t: dict[Any, Any], term: Term, name: str, lang: str) -> str:
    """A term by ``name``, with its value and unit in words, a sample figure starred."""
    return str(t["term"].format(name=name, value=TERMS.value_text(term.value, term.unit, lang),
                                sample="*" if term.sample else ""))


def _decides_monitoring(det: Determination) -> bool:
    """Whether a program evaluated has an item that flags a household for monitoring: with
    ``--program housing`` alone, "not flagged" would say what was never asked."""
    versions = det.inputs[2] if det.inputs is not None else ()
    return not versions or any(r.spec.flagsMonitoring for p, _ in versions for r in p.rules)


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> list[str]:
    cols = [max(width(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    out = []
    for r in [header, *rows]:
        cells = [_pad(c, w) for c, w in zip(r[:-1], cols, strict=True)]
        out.append("  ".join([*cells, r[-1]]).rstrip())
    return out


def summary(det: Determination, titles: dict[str, str], lang: str,
            statuses: Iterable[Status] | None = None) -> str:
    """A table per program: item, member, status, amount, the deciding reason in one line."""
    t = _TEXT[lang]
    keep = set(statuses) if statuses else set(Status)
    flagged = (t["yes"] if det.flagged_for_monitoring else
               t["no"] if _decides_monitoring(det) else t["not_evaluated"])
    lines = [t["household"].format(id=det.household_id, as_of=det.as_of.isoformat(),
                                   flagged=flagged)]
    sample = False
    for p in det.programs:
        lines.append("")
        lines.append(f"【{titles.get(p.program, p.program)}】{p.program} "
                     f"v{p.version.version}")
        shown = [o for o in p.outcomes if o.status in keep]
        rows: list[tuple[str, str, str, str, str]] = []
        below: dict[int, str] = {}  # a granted item's terms, on the line under its row
        for o in shown:
            sample = sample or (o.amount_is_sample and o.amount is not None)
            if o.status is Status.GRANTED and o.terms:
                below[len(rows)] = _terms_line(t, o, lang)
                sample = sample or any(term.sample for term in o.terms)
            rows.append((o.title(lang), o.member_id or "—", t[o.status],
                         _amount(t, o), _cut(one_line(t, o, lang), REASON_WIDTH)))
        if rows:
            table = _table(rows, t["header"])
            lines.append(table[0])
            for i, line in enumerate(table[1:]):
                lines.append(line)
                if i in below:
                    lines.append(below[i])
        else:
            lines.append(t["none_shown"])
        counts = {s: sum(1 for o in p.outcomes if o.status is s) for s in Status}
        lines.append(t["totals"].format(g=counts[Status.GRANTED],
                                        n=counts[Status.NOT_GRANTED],
                                        u=counts[Status.UNDETERMINED]))
    if sample:
        lines.extend(["", t["sample"]])
    return "\n".join(lines) + "\n"


_CONDITION_KINDS = frozenset({"AND", "OR", "NOT", "ANY_MEMBER", "ALL_MEMBERS", "COMPARE", "IN",
                              "BETWEEN", "PRIORITY"})


def is_condition(node: ConditionNode) -> bool:
    """Whether a node is true, false or unknown rather than a value: an unknown node says it
    only by its kind, a derived fact's or definition's by its definition, a leaf fact's by its
    type (``suddenHardship`` unknown is a condition that is unknown, not a missing value)."""
    if node.result is not None or node.kind in _CONDITION_KINDS:
        return True
    if node.kind in ("FACT", "DEFINITION") and node.children:
        return is_condition(node.children[0])
    fact = FACTS.get(node.expression)
    return node.kind == "FACT" and fact is not None and fact.type.kind is Kind.BOOL


def tree_lines(node: ConditionNode, lang: str, indent: int = 0) -> list[str]:
    """A condition tree, one node a line in words, the deciding ones starred: a condition with
    its mark, a comparison with its actual value, a value (arithmetic, a parameter) with it."""
    t = _TEXT[lang]
    mark = {True: "✓", False: "✗", None: "?"}[node.result]
    boolean = is_condition(node)
    head = f"{'*' if node.decided else ' '} {'  ' * indent}"
    words = node_text(node, lang)
    if not boolean:
        text = f"{head}= {words}: {actual_text(node, lang) or '?'}"
    elif node.kind == "PRIORITY":  # its words name the items above, or its codes follow
        text = f"{head}{mark} {words}" + ("" if node.names else f"  [{node.actual or '?'}]")
    elif node.kind in ("COMPARE", "IN", "BETWEEN"):
        shown = t["actual"].format(actual=actual_text(node, lang) or t["unknown"])
        text = f"{head}{mark} {words}  [{shown}]"
    else:
        text = f"{head}{mark} {words}"
    if node.member_ids:
        text += f"  ({t['for_members'].format(ids=', '.join(node.member_ids))})"
    out = [text.rstrip()]
    for c in node.children:
        out.extend(tree_lines(c, lang, indent + 1))
    return out


def explain(det: Determination, code: str, lang: str, depth: int | None,
            member: str | None = None, statuses: Iterable[Status] | None = None) -> str:
    """One item's outcomes (per member unless ``member``; only those of ``statuses`` when
    given): status, amount and terms, each reason's tree, and for items not granted the
    changes that would grant them."""
    from engine.results import at_depth

    t = _TEXT[lang]
    out: list[str] = []
    sample = False
    keep = set(statuses) if statuses else set(Status)
    shown = [o for o in explained(det, code, member) if o.status in keep]
    if not shown:
        return str(t["none_shown"]) + "\n"
    for o in shown:
        sample = sample or (o.amount_is_sample and o.amount is not None) or any(
            term.sample for term in o.terms)
        # The table's "—" (granted, no amount: in kind, or the terms below) says nothing here.
        amount = "" if o.amount is None else _amount(t, o)
        out.append(t["explain_head"].format(
            title=o.title(lang), code=o.code,
            member=t["member"].format(id=o.member_id) if o.member_id else "",
            status=t[o.status], amount=f"，{amount}" if amount and lang == "ZH"
            else (f", {amount}" if amount else "")))
        for term in o.terms:
            out.append("  " + _term(t, term, _term_name(term.key, lang), lang))
        for r in o.reasons:
            out.append("  " + t["reason"].format(text=r.text(lang)))
            c = r.citation
            out.append("  " + t["citation"].format(document=c.document,
                                                   clause=c.clause or "").rstrip())
            out.extend("  " + line for line in tree_lines(at_depth(r.condition, depth), lang))
        if o.status is not Status.GRANTED:
            changes = what_would_change(det, o)
            if changes:
                out.append("  " + t["changes"])
                out.extend(f"    - {c.text(lang)}" for c in changes)
            else:
                out.append("  " + t["no_change"])
        out.append("")
    if out:
        out.append(t["legend"])
    if sample:
        out.append(t["sample_terms"])
    return "\n".join(out) + "\n"


def explained(det: Determination, code: str, member: str | None = None) -> list[Outcome]:
    """The outcomes ``explain`` shows: the item's, only the member's with ``member``."""
    return [o for o in det.outcomes()
            if o.code == code and (member is None or o.member_id == member)]


def outcome_codes(det: Determination) -> list[str]:
    return list(dict.fromkeys(o.code for o in det.outcomes()))


__all__ = ["deciding_atoms", "explain", "explained", "is_condition", "one_line", "outcome_codes",
           "summary", "tree_lines", "width"]
