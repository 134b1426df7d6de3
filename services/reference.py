"""Reference documents generated from the shipped data: ``docs/facts.md`` from the fact
catalogue (with the rules each fact takes part in) and ``docs/policy.md`` from the rule sets.

``policy-engine export-docs facts|policy`` prints them; a test keeps the committed files equal
to what these functions give.
"""

from __future__ import annotations

from collections.abc import Iterable

from policy.catalog import Catalog
from policy.conditions import ast as a
from policy.document import Citation, Program
from policy.fact_catalogue import CATALOGUE, DerivedFact, InputFact, Label
from policy.schema import EVENT_FACTS, FACTS, definition_tree
from policy.term_catalogue import TERMS


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _published(catalog: Catalog) -> list[Program]:
    programs = [r.program for r in catalog.records if r.status == "PUBLISHED"]
    return sorted(programs, key=lambda p: (p.code, p.document.version))


def _names(node: a.Node) -> set[str]:
    return {n.name for n in a.walk(node) if isinstance(n, a.FactRef)}


def fact_users(programs: Iterable[Program]) -> dict[str, list[str]]:
    """Per fact, the rules that read it (directly, through a definition or a derived fact), as
    ``program (rule id, ...)`` in any of the program's versions."""
    derived_uses = {name: {n.name for n in a.walk(definition_tree(name))
                           if isinstance(n, a.Name) and n.name in FACTS}
                    for name, f in FACTS.items() if f.derived and name not in EVENT_FACTS}

    def closure(names: set[str]) -> set[str]:
        out = set(names)
        pending = list(names)
        while pending:
            for used in derived_uses.get(pending.pop(), ()):
                if used not in out:
                    out.add(used)
                    pending.append(used)
        return out

    users: dict[str, dict[str, dict[str, None]]] = {}
    for p in programs:
        for rule in p.rules:
            names: set[str] = set()
            for node in (rule.condition, rule.amount, *(t.expr for t in rule.terms)):
                if node is not None:
                    names |= _names(node) | _definition_facts(node)
            for name in closure(names):
                users.setdefault(name, {}).setdefault(p.code, {})[rule.id] = None
    return {name: [f"{code} ({', '.join(rules)})" for code, rules in sorted(by_code.items())]
            for name, by_code in users.items()}


def _definition_facts(node: a.Node) -> set[str]:
    out: set[str] = set()
    for n in a.walk(node):
        if isinstance(n, a.DefRef) and n.body is not None:
            out |= _names(n.body) | _definition_facts(n.body)
    return out


def _left_out(f: InputFact) -> str:
    if f.required:
        return "required 必填"
    if f.unknownWhenLeftOut:
        return "unknown 未知" + (f" (`{f.absentAs}` in conditions)" if f.absentAs is not None
                                else "")
    value = f.default
    shown = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return f"`{shown}`"


def _bounds(f: InputFact) -> str:
    b = f.bounds
    parts = []
    if b.minLength is not None or b.maxLength is not None:
        parts.append(f"{b.minLength}–{b.maxLength} characters")
    if b.min is not None or b.max is not None:
        parts.append(f"{b.min:g}–{b.max:g}" if b.min is not None and b.max is not None
                     else f"{b.min} – {b.max}")
    if f.type == "money":
        parts.append(f"0–{CATALOGUE.limits.maxMoney:.0f}, whole fen")
    for c in f.checks:
        parts.append({"notAfterAsOf": "not after asOf", "maxAge":
                      f"age at most {CATALOGUE.limits.maxAge}",
                      "uniqueInHousehold": "unique in the household"}[c.check]
                     + f" ({c.code})")
    if f.requires is not None:
        parts.append(f"needs {f.requires.fact} ({f.requires.code})")
    for k in f.contradicts:
        equals = ("true" if k.equals else "false") if isinstance(k.equals, bool) else k.equals
        parts.append(f"not with {k.fact} {equals} ({k.code})")
    return "; ".join(parts)


def _type(f: InputFact) -> str:
    return f"enum `{f.enum}`" if f.enum is not None else f.type


def _name(label: Label, negated: Label | None) -> str:
    """A fact's label, and its words when it is not so where the catalogue gives them."""
    if negated is None:
        return f"{label.zh} / {label.en}"
    return f"{label.zh} / {label.en}（否：{negated.zh} / not: {negated.en}）"


def fact_reference(catalog: Catalog) -> str:
    """``docs/facts.md``: every input, derived and event fact of the catalogue, in Chinese and
    English, with the published rules that read it."""
    users = fact_users(_published(catalog))
    c = CATALOGUE
    out = [
        "# Fact reference 事实目录",
        "",
        "Generated from `fixtures/facts.yaml` (catalogue version "
        f"{c.version}) by `policy-engine export-docs facts`; a test keeps this file equal to "
        "it. Do not edit by hand.",
        "",
        f"A household has 1 to {c.limits.maxMembers} members; ages are full years on `asOf`, at "
        f"most {c.limits.maxAge}; money is yuan with at most two decimals.",
        "",
    ]
    for scope, title in (("household", "Household facts 家庭事实"),
                         ("member", "Member facts 成员事实")):
        out += [f"## {title}", "",
                "| fact | 名称 / name | type | left out | bounds and checks | unit | "
                "description 说明 | read by |",
                "|---|---|---|---|---|---|---|---|"]
        for f in c.inputs(scope):  # type: ignore[arg-type]
            read_by = "; ".join(users.get(f.name, [])) if f.condition else "(identifier)"
            out.append(
                f"| `{f.name}` | {_name(f.label, f.negated)} | {_type(f)} | {_left_out(f)} | "
                f"{_cell(_bounds(f))} | {f.unit or ''} | {_cell(f.description.zh)} / "
                f"{_cell(f.description.en)} | {_cell(read_by) or '—'} |")
        out.append("")
    out += ["## Derived facts 派生事实", "",
            "| fact | scope | 名称 / name | type | definition | unknown when | "
            "description 说明 | read by |",
            "|---|---|---|---|---|---|---|---|"]
    for d in c.derived:
        out.append(_derived_row(d, users))
    out += ["", "## Event facts 事件事实", "",
            "Facts of one department event and of its household's window of events "
            "(`policy/events.py`): only early-warning rule sets may name them.", "",
            "| fact | scope | 名称 / name | type | unknown when | read from | "
            "description 说明 |",
            "|---|---|---|---|---|---|---|"]
    for e in c.event:
        kind = f"enum `{e.enum}`" if e.enum is not None else e.type
        unit = f" ({e.unit})" if e.unit else ""
        out.append(f"| `{e.name}` | {e.scope} | {e.label.zh} / {e.label.en} | {kind}{unit} | "
                   f"{_cell(e.unknownWhen or '')} | {_cell(', '.join(e.sources))} | "
                   f"{_cell(e.description.zh)} / {_cell(e.description.en)} |")
    out += ["", "## Closed sets 取值集合", ""]
    for name, values in c.enums.items():
        out += [f"### `{name}`", "", "| value | 中文 | English |", "|---|---|---|"]
        out += [f"| `{v}` | {label.zh} | {label.en} |" for v, label in values.items()]
        out.append("")
    return "\n".join(out)


def _derived_row(d: DerivedFact, users: dict[str, list[str]]) -> str:
    unit = f" ({d.unit})" if d.unit else ""
    return (f"| `{d.name}` | {d.scope} | {_name(d.label, d.negated)} | {d.type}{unit} | "
            f"`{_cell(d.definition)}` | {_cell(d.unknownWhen or '')} | "
            f"{_cell(d.description.zh)} / {_cell(d.description.en)} | "
            f"{_cell('; '.join(users.get(d.name, []))) or '—'} |")




def _citation(c: Citation) -> str:
    parts = [c.document]
    if c.clause:
        parts.append(c.clause)
    text = " ".join(parts)
    if c.quote:
        text += f": “{c.quote}”"
    return _cell(text)


def _value(v: float) -> str:
    return f"{v:g}"


def policy_reference(catalog: Catalog) -> str:
    """``docs/policy.md``: every published program version with its parameters (unit, citation,
    sample mark), rules and outcome codes, in Chinese and English, and the outcome terms'
    labels."""
    out = [
        "# Policy reference 政策规则目录",
        "",
        "Generated from the rule sets in `fixtures/rulesets/` by `policy-engine export-docs "
        "policy`; a test keeps this file equal to them. Do not edit by hand. Parameters marked "
        "**sample** are sample values fixed by this project, not figures from the law.",
        "",
    ]
    by_code: dict[str, list[Program]] = {}
    for p in _published(catalog):
        by_code.setdefault(p.code, []).append(p)
    for code, versions in by_code.items():
        doc = versions[-1].document
        out += [f"## {doc.title.zh} / {doc.title.en} (`{code}`)", "",
                f"Owner 责任单位: {doc.owner}", ""]
        for p in versions:
            out += _version_section(p)
    out += _terms_section(_published(catalog))
    return "\n".join(out)


def _terms_section(programs: list[Program]) -> list[str]:
    """The term catalogue (``fixtures/terms.yaml``): each term's and unit's labels, with the
    published rules that give the term."""
    users: dict[str, dict[str, dict[str, None]]] = {}
    for p in programs:
        for rule in p.rules:
            for t in rule.terms:
                users.setdefault(t.key, {}).setdefault(p.code, {})[rule.id] = None
    out = ["## Outcome terms 结果条款", "",
           "An outcome's terms (`Outcome.terms`) are shown by these labels (`Term.label`, "
           "`Term.unitLabel`, `policy-engine evaluate --explain`, the web console), from "
           "`fixtures/terms.yaml`; a rule set keeps naming them by key and unit.", "",
           "| term | 名称 / name | description 说明 | given by |", "|---|---|---|---|"]
    for key, entry in TERMS.terms.items():
        given = "; ".join(f"{code} ({', '.join(rules)})"
                          for code, rules in sorted(users.get(key, {}).items()))
        out.append(f"| `{key}` | {entry.label.zh} / {entry.label.en} | "
                   f"{_cell(entry.description.zh)} / {_cell(entry.description.en)} | "
                   f"{_cell(given) or '—'} |")
    out += ["", "| unit | 名称 / name | shown as |", "|---|---|---|"]
    for unit, u in TERMS.units.items():
        shown = "a percentage (0.75: 75%)" if u.percent else "the value and the unit's name"
        out.append(f"| `{unit}` | {u.label.zh} / {u.label.en} | {shown} |")
    out.append("")
    return out


def _version_section(p: Program) -> list[str]:
    doc = p.document
    out = [f"### {p.code} v{doc.version} (effective {doc.effectiveFrom})", "",
           f"contentHash `{p.content_hash}`", ""]
    for note in doc.notes:
        out += [f"- {note.zh}", f"  {note.en}"]
    if doc.notes:
        out.append("")
    out += ["| parameter | value | unit | sample | description 说明 | citation 依据 |",
            "|---|---|---|---|---|---|"]
    for name, param in doc.parameters.items():
        desc = (f"{_cell(param.description.zh)} / {_cell(param.description.en)}"
                if param.description else "")
        out.append(f"| `{name}` | {_value(param.value)} | {param.unit} | "
                   f"{'**sample**' if param.sample else ''} | {desc} | "
                   f"{_citation(param.citation)} |")
    out += ["", "| rule | outcome | 名称 / title | per | condition | amount | citation 依据 |",
            "|---|---|---|---|---|---|---|"]
    for r in doc.rules:
        amount = f"`{_cell(r.amount)}` per {r.period}" if r.amount else ""
        group = f" (group {r.group}, priority {r.priority})" if r.group else ""
        out.append(f"| `{r.id}`{group} | `{r.outcome}` | {_cell(r.title.zh)} / "
                   f"{_cell(r.title.en)} | {r.per} | `{_cell(r.condition)}` | {amount} | "
                   f"{_citation(r.citation)} |")
    out += ["", "Outcome codes 结果代码: " + ", ".join(f"`{c}`" for c in p.outcome_codes()), ""]
    return out
