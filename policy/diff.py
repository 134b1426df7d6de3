"""What changed between two versions of a rule set: structured for apps, readable for people.

``diff_documents(old, new)`` compares two documents part by part: metadata, parameters (by name:
old value -> new value, with both citations), definitions, rules (by id: condition, amount and
the rest side by side) and test cases (by name). ``VersionDiff.text(lang)`` renders it.

Conditions and expressions are compared as parsed (``a<1`` equals ``a < 1``); the texts shown
are the ones written.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from policy.conditions.parser import parse
from policy.conditions.printer import fmt_number, unparse
from policy.document import Citation, Definition, Parameter, Rule, RuleSetDocument, TestCase
from policy.errors import ConditionError

Kind = Literal["ADDED", "REMOVED", "CHANGED"]


@dataclass(frozen=True)
class Change:
    """One field that differs; values as the document shows them (None: not set)."""

    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class ParameterDiff:
    name: str
    kind: Kind
    old_value: float | None
    new_value: float | None
    old_unit: str | None
    new_unit: str | None
    old_citation: Citation | None
    new_citation: Citation | None
    description: str | None  # the (new, else old) description, in Chinese
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class DefinitionDiff:
    name: str
    kind: Kind
    old_condition: str | None
    new_condition: str | None
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class RuleDiff:
    id: str
    kind: Kind
    outcome: str
    old_condition: str | None
    new_condition: str | None
    old_amount: str | None
    new_amount: str | None
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class TestCaseDiff:
    name: str
    kind: Kind
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class VersionDiff:
    program: str
    old_version: int
    new_version: int
    metadata: tuple[Change, ...]
    parameters: tuple[ParameterDiff, ...]
    definitions: tuple[DefinitionDiff, ...]
    rules: tuple[RuleDiff, ...]
    tests: tuple[TestCaseDiff, ...]

    @property
    def empty(self) -> bool:
        return not (self.metadata or self.parameters or self.definitions or self.rules
                    or self.tests)

    def text(self, lang: str = "ZH") -> str:
        """The diff for a person to read (labels in Chinese or English)."""
        return render(self, lang)

    def as_json(self) -> dict[str, Any]:
        """The diff as JSON data with the GraphQL ``VersionDiff`` field names (camelCase)."""
        data: dict[str, Any] = _plain(dataclasses.asdict(self))
        data["empty"] = self.empty
        return data


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {_camel(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Citation):
        return value.model_dump(mode="json")
    return value


# --- comparing -------------------------------------------------------------------------------


def diff_documents(old: RuleSetDocument, new: RuleSetDocument) -> VersionDiff:
    """Everything that differs from ``old`` to ``new`` (effectiveFrom is not content)."""
    metadata = _changes([
        ("program", old.program, new.program),
        ("owner", old.owner, new.owner),
        ("title.zh", old.title.zh, new.title.zh),
        ("title.en", old.title.en, new.title.en),
        *_notes(old, new),
    ])
    return VersionDiff(
        program=new.program,
        old_version=old.version,
        new_version=new.version,
        metadata=metadata,
        parameters=tuple(_keyed(old.parameters, new.parameters, _parameter)),
        definitions=tuple(_keyed(old.definitions, new.definitions, _definition)),
        rules=tuple(_keyed({r.id: r for r in old.rules}, {r.id: r for r in new.rules}, _rule)),
        tests=tuple(_keyed(_by_name(old.tests), _by_name(new.tests), _test)),
    )


def _notes(old: RuleSetDocument, new: RuleSetDocument) -> list[tuple[str, str | None, str | None]]:
    out = []
    for i in range(max(len(old.notes), len(new.notes))):
        for lang in ("zh", "en"):
            o = old.notes[i].get(lang) if i < len(old.notes) else None
            n = new.notes[i].get(lang) if i < len(new.notes) else None
            out.append((f"notes[{i}].{lang}", o, n))
    return out


T = TypeVar("T")
D = TypeVar("D")


def _keyed(
    old: Mapping[str, T], new: Mapping[str, T],
    compare: Callable[[str, T | None, T | None], D | None],
) -> Iterator[D]:
    """Per key, in the new document's order then the removed ones: added, removed, changed."""
    for key in [*new, *(k for k in old if k not in new)]:
        d = compare(key, old.get(key), new.get(key))
        if d is not None:
            yield d


def _by_name(cases: Sequence[TestCase]) -> dict[str, TestCase]:
    out: dict[str, TestCase] = {}
    for i, c in enumerate(cases):
        out[c.name if c.name not in out else f"{c.name} #{i + 1}"] = c
    return out


def _kind(old: object, new: object) -> Kind:
    return "ADDED" if old is None else "REMOVED" if new is None else "CHANGED"


def _changes(fields: Sequence[tuple[str, str | None, str | None]]) -> tuple[Change, ...]:
    return tuple(Change(f, o, n) for f, o, n in fields if o != n)


def _json(value: Any) -> str | None:
    if value is None or value == [] or value == {}:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _num(v: float | None) -> str | None:
    return None if v is None else fmt_number(v)


def normalized(text: str | None) -> str | None:
    """A condition or expression as parsed and printed back, so layout does not count.

    >>> normalized("a<1  and(b)")
    'a < 1 and b'
    """
    if text is None:
        return None
    try:
        return unparse(parse(text))
    except ConditionError:
        return " ".join(text.split())


def citation_text(c: Citation | None) -> str | None:
    if c is None:
        return None
    parts = [c.document]
    if c.clause:
        parts.append(c.clause)
    if c.quote:
        parts.append(f"“{c.quote}”")
    if c.url:
        parts.append(c.url)
    return " ".join(parts)


def _parameter(name: str, old: Parameter | None, new: Parameter | None) -> ParameterDiff | None:
    o = old.model_dump(mode="json") if old else {}
    n = new.model_dump(mode="json") if new else {}
    if old is not None and new is not None and o == n:
        return None
    changes = _changes([
        ("value", _num(old.value) if old else None, _num(new.value) if new else None),
        ("unit", o.get("unit"), n.get("unit")),
        ("citation", citation_text(old.citation if old else None),
         citation_text(new.citation if new else None)),
        ("description", _json(o.get("description")), _json(n.get("description"))),
        ("sample", str(o.get("sample")) if o else None, str(n.get("sample")) if n else None),
    ])
    shown = new or old
    assert shown is not None
    return ParameterDiff(
        name=name, kind=_kind(old, new),
        old_value=old.value if old else None, new_value=new.value if new else None,
        old_unit=old.unit if old else None, new_unit=new.unit if new else None,
        old_citation=old.citation if old else None, new_citation=new.citation if new else None,
        description=shown.description.zh if shown.description else None,
        changes=changes,
    )


def _definition(name: str, old: Definition | None,
                new: Definition | None) -> DefinitionDiff | None:
    changes = _changes([
        ("scope", old.scope if old else None, new.scope if new else None),
        ("condition", normalized(old.condition) if old else None,
         normalized(new.condition) if new else None),
        ("description", _json(old.description.model_dump()) if old and old.description else None,
         _json(new.description.model_dump()) if new and new.description else None),
    ])
    if old is not None and new is not None and not changes:
        return None
    return DefinitionDiff(name, _kind(old, new), old.condition if old else None,
                          new.condition if new else None, _shown(changes, old, new))


def _shown(changes: tuple[Change, ...], old: Any, new: Any) -> tuple[Change, ...]:
    """Condition and amount changes are compared parsed but shown as written."""
    out = []
    for c in changes:
        if c.field in ("condition", "amount"):
            c = Change(c.field, getattr(old, c.field, None), getattr(new, c.field, None))
        out.append(c)
    return tuple(out)


def _rule(rule_id: str, old: Rule | None, new: Rule | None) -> RuleDiff | None:
    def get(r: Rule | None, f: Callable[[Rule], Any]) -> Any:
        return None if r is None else f(r)

    changes = _changes([
        ("outcome", get(old, lambda r: r.outcome), get(new, lambda r: r.outcome)),
        ("per", get(old, lambda r: r.per), get(new, lambda r: r.per)),
        ("condition", get(old, lambda r: normalized(r.condition)),
         get(new, lambda r: normalized(r.condition))),
        ("amount", get(old, lambda r: normalized(r.amount)),
         get(new, lambda r: normalized(r.amount))),
        ("period", get(old, lambda r: r.period), get(new, lambda r: r.period)),
        ("terms", get(old, lambda r: _json([t.model_dump() for t in r.terms])),
         get(new, lambda r: _json([t.model_dump() for t in r.terms]))),
        ("group", get(old, lambda r: r.group), get(new, lambda r: r.group)),
        ("priority", get(old, lambda r: _str(r.priority)), get(new, lambda r: _str(r.priority))),
        ("flagsMonitoring", get(old, lambda r: str(r.flagsMonitoring)),
         get(new, lambda r: str(r.flagsMonitoring))),
        ("title.zh", get(old, lambda r: r.title.zh), get(new, lambda r: r.title.zh)),
        ("title.en", get(old, lambda r: r.title.en), get(new, lambda r: r.title.en)),
        ("reason.zh", get(old, lambda r: r.reason.zh), get(new, lambda r: r.reason.zh)),
        ("reason.en", get(old, lambda r: r.reason.en), get(new, lambda r: r.reason.en)),
        ("citation", get(old, lambda r: citation_text(r.citation)),
         get(new, lambda r: citation_text(r.citation))),
    ])
    if old is not None and new is not None and not changes:
        return None
    shown = new or old
    assert shown is not None
    return RuleDiff(
        id=rule_id, kind=_kind(old, new), outcome=shown.outcome,
        old_condition=get(old, lambda r: r.condition),
        new_condition=get(new, lambda r: r.condition),
        old_amount=get(old, lambda r: r.amount), new_amount=get(new, lambda r: r.amount),
        changes=_shown(changes, old, new),
    )


def _str(v: object) -> str | None:
    return None if v is None else str(v)


def _test(name: str, old: TestCase | None, new: TestCase | None) -> TestCaseDiff | None:
    def dump(c: TestCase | None, f: str) -> str | None:
        return None if c is None else _json(c.model_dump(mode="json")[f])

    changes = _changes([(f, dump(old, f), dump(new, f))
                        for f in ("asOf", "household", "expect", "flagged")])
    if old is not None and new is not None and not changes:
        return None
    return TestCaseDiff(name, _kind(old, new), changes if old and new else ())


# --- rendering -------------------------------------------------------------------------------

_LABELS = {
    "ZH": {"title": "{program}：第{old}版 → 第{new}版", "same": "两个版本内容相同。",
           "metadata": "基本信息", "parameters": "参数", "definitions": "定义", "rules": "规则",
           "tests": "测试用例", "citation": "依据", "was": "原为", "condition": "条件",
           "amount": "金额", "old": "原", "new": "新"},
    "EN": {"title": "{program}: version {old} → version {new}",
           "same": "The two versions have the same content.", "metadata": "Metadata",
           "parameters": "Parameters", "definitions": "Definitions", "rules": "Rules",
           "tests": "Test cases", "citation": "citation", "was": "was", "condition": "condition",
           "amount": "amount", "old": "old", "new": "new"},
}
_MARK = {"ADDED": "+", "REMOVED": "-", "CHANGED": "~"}


def render(d: VersionDiff, lang: str = "ZH") -> str:
    """``VersionDiff`` as text: one section per part, ``+`` added, ``-`` removed, ``~`` changed,
    conditions and amounts old above new."""
    t = _LABELS["EN" if lang.upper() == "EN" else "ZH"]
    lines = [t["title"].format(program=d.program, old=d.old_version, new=d.new_version)]
    if d.empty:
        lines.append(t["same"])
        return "\n".join(lines) + "\n"

    def section(label: str, count: int) -> None:
        lines.append("")
        lines.append(f"{t[label]} ({count})")

    def side_by_side(label: str, old: str | None, new: str | None, indent: str) -> None:
        lines.append(f"{indent}{label}")
        lines.append(f"{indent}  {t['old']}: {old if old is not None else '—'}")
        lines.append(f"{indent}  {t['new']}: {new if new is not None else '—'}")

    if d.metadata:
        section("metadata", len(d.metadata))
        for c in d.metadata:
            lines.append(f"  ~ {c.field}: {c.old} → {c.new}")
    if d.parameters:
        section("parameters", len(d.parameters))
        for p in d.parameters:
            about = f"（{p.description}）" if p.description and lang.upper() != "EN" else ""
            if p.kind == "CHANGED":
                value = (f"{_num(p.old_value)} → {_num(p.new_value)}"
                         if p.old_value != p.new_value else _num(p.new_value))
                unit = (p.new_unit if p.old_unit == p.new_unit
                        else f"({p.old_unit} → {p.new_unit})")
                lines.append(f"  ~ {p.name}{about}: {value} {unit}")
                if citation_text(p.old_citation) != citation_text(p.new_citation):
                    lines.append(f"      {t['citation']}: {citation_text(p.old_citation)}")
                    lines.append(f"        → {citation_text(p.new_citation)}")
                else:
                    lines.append(f"      {t['citation']}: {citation_text(p.new_citation)}")
                for c in p.changes:
                    if c.field in ("description", "sample"):
                        lines.append(f"      {c.field}: {c.old} → {c.new}")
            elif p.kind == "ADDED":
                lines.append(f"  + {p.name}{about}: {_num(p.new_value)} {p.new_unit}")
                lines.append(f"      {t['citation']}: {citation_text(p.new_citation)}")
            else:
                lines.append(f"  - {p.name}{about} ({t['was']} {_num(p.old_value)} "
                             f"{p.old_unit})")
    if d.definitions:
        section("definitions", len(d.definitions))
        for df in d.definitions:
            lines.append(f"  {_MARK[df.kind]} {df.name}")
            if df.kind == "CHANGED":
                for c in df.changes:
                    side_by_side(t["condition"] if c.field == "condition" else c.field,
                                 c.old, c.new, "      ")
            else:
                lines.append(f"      {t['condition']}: {df.new_condition or df.old_condition}")
    if d.rules:
        section("rules", len(d.rules))
        for r in d.rules:
            lines.append(f"  {_MARK[r.kind]} {r.id} ({r.outcome})")
            if r.kind == "CHANGED":
                for c in r.changes:
                    label = t.get(c.field, c.field) if c.field in ("condition", "amount") \
                        else c.field
                    side_by_side(label, c.old, c.new, "      ")
            else:
                lines.append(f"      {t['condition']}: {r.new_condition or r.old_condition}")
                amount = r.new_amount or r.old_amount
                if amount:
                    lines.append(f"      {t['amount']}: {amount}")
    if d.tests:
        section("tests", len(d.tests))
        for case in d.tests:
            fields = f": {', '.join(x.field for x in case.changes)}" if case.changes else ""
            lines.append(f"  {_MARK[case.kind]} {case.name}{fields}")
    return "\n".join(lines) + "\n"
