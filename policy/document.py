"""Rule-set documents: the versioned, citable text of a program's policy.

A document is a whole version: metadata, parameters (value, unit, citation), definitions (named
conditions), rules and the version's own test cases. ``load_document`` reads YAML or JSON text;
``compile_document`` parses and type-checks every condition and expression once, giving a
``Program`` the engine runs. ``content_hash`` is the sha256 of the canonical serialisation.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from policy import yamltext
from policy.conditions import ast as a
from policy.conditions.parser import parse
from policy.conditions.typecheck import Environment, check
from policy.errors import ConditionError, DocumentInvalid, FieldError
from policy.events import EVENT_PROGRAMS
from policy.exact import Number, exact
from policy.fact_catalogue import CATALOGUE
from policy.schema import BOOL, FACTS, NUMBER, Scope

PROGRAM_CODE = r"^[a-z][a-z0-9_]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Model):
    """A user-facing text, Chinese first."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.en if lang.upper() == "EN" else self.zh


class Citation(_Model):
    document: str = Field(min_length=1)
    clause: str | None = None
    quote: str | None = None
    url: str | None = None


class Parameter(_Model):
    value: float
    unit: str = Field(min_length=1)
    description: Text | None = None
    sample: bool = False  # a sample value fixed by this project, not a figure from the law
    citation: Citation


class Definition(_Model):
    scope: Literal["household", "member"]
    condition: str
    description: Text | None = None


class TermSpec(_Model):
    key: str = Field(pattern=r"^[a-z][A-Za-z0-9]*$")
    value: str  # an expression
    unit: str


class Rule(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_.]*$")
    outcome: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
    title: Text
    per: Literal["household", "member"]
    condition: str
    reason: Text
    citation: Citation
    amount: str | None = None
    period: Literal["YEAR", "MONTH", "ONCE"] | None = None
    terms: tuple[TermSpec, ...] = ()
    group: str | None = None
    priority: int | None = None
    flagsMonitoring: bool = False


class Expectation(_Model):
    outcome: str
    status: Literal["GRANTED", "NOT_GRANTED", "UNDETERMINED"]
    memberId: str | None = None
    amount: float | None = None
    terms: dict[str, float] | None = None


class TestCase(_Model):
    name: str
    asOf: date
    household: dict[str, Any]
    expect: tuple[Expectation, ...] = Field(min_length=1)
    flagged: bool | None = None
    # Early warning: the household's department events (EventInput JSON). Each is evaluated
    # with the others as its window; an alert is GRANTED when some event raises it.
    events: tuple[dict[str, Any], ...] = ()


class RuleSetDocument(_Model):
    program: str = Field(pattern=PROGRAM_CODE)
    version: int = Field(ge=1)
    title: Text
    owner: str = Field(min_length=1)
    effectiveFrom: date | None = None
    # The version of the fact catalogue (fixtures/facts.yaml) whose facts the rules may name.
    factsVersion: int = Field(default=1, ge=1)
    notes: tuple[Text, ...] = ()
    parameters: dict[str, Parameter] = {}
    definitions: dict[str, Definition] = {}
    rules: tuple[Rule, ...] = Field(min_length=1)
    tests: tuple[TestCase, ...] = ()


# --- loading and hashing --------------------------------------------------------------------


def load_document(text: str | bytes | dict[str, Any]) -> RuleSetDocument:
    """Read a document from YAML or JSON text (or an already-parsed mapping)."""
    if isinstance(text, dict):
        data: Any = text
    else:
        try:
            data = yamltext.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "document"
            raise DocumentInvalid([FieldError(where, "YAML_SYNTAX", str(exc))]) from None
    if not isinstance(data, dict):
        raise DocumentInvalid([FieldError("document", "WRONG_TYPE", "expected a mapping")])
    try:
        return RuleSetDocument.model_validate(data)
    except ValidationError as exc:
        raise DocumentInvalid(
            [
                FieldError(_loc(e["loc"]), _doc_code(e["type"]), e["msg"])
                for e in exc.errors(include_url=False)
            ]
        ) from None


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "document"


def _doc_code(pydantic_type: str) -> str:
    return {
        "extra_forbidden": "UNKNOWN_FIELD",
        "missing": "REQUIRED",
        "string_pattern_mismatch": "INVALID_VALUE",
        "literal_error": "INVALID_VALUE",
    }.get(pydantic_type, "WRONG_TYPE")


def canonical(doc: RuleSetDocument) -> dict[str, Any]:
    """The document's content as plain JSON data (lifecycle dates left out)."""
    return doc.model_dump(mode="json", exclude={"effectiveFrom"}, exclude_defaults=True)


def document_yaml(doc: RuleSetDocument, effective_from: date | None = None) -> str:
    """The document as YAML that ``load_document`` reads back to the same content (and so
    the same ``content_hash``), with ``effective_from`` (a published version's date) as its
    ``effectiveFrom``. Keys in the document's own order; Chinese written as is."""
    data = doc.model_dump(mode="json", exclude={"effectiveFrom"}, exclude_defaults=True)
    if effective_from is not None:
        data = {**{k: v for k, v in data.items() if k in ("program", "version")},
                "effectiveFrom": effective_from.isoformat(),
                **{k: v for k, v in data.items() if k not in ("program", "version")}}
    text: str = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    return text


def canonical_json(doc: RuleSetDocument) -> str:
    return json.dumps(canonical(doc), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(doc: RuleSetDocument) -> str:
    """sha256 of the canonical serialisation; determinations record it."""
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()


# --- compiling ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledTerm:
    key: str
    expr: a.Node
    unit: str


@dataclass(frozen=True)
class CompiledRule:
    spec: Rule
    scope: Scope
    condition: a.Node
    amount: a.Node | None
    terms: tuple[CompiledTerm, ...]

    @property
    def id(self) -> str:
        return self.spec.id


@dataclass(frozen=True)
class Program:
    """A type-checked version, ready to evaluate. Build it with ``compile_document``."""

    document: RuleSetDocument
    content_hash: str
    parameters: dict[str, Number]  # exact: 0.75 is three quarters (policy.exact)
    definitions: dict[str, tuple[Scope, a.Node]]
    rules: tuple[CompiledRule, ...]
    used_parameters: frozenset[str]

    @property
    def code(self) -> str:
        return self.document.program

    def outcome_codes(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.rules:
            seen.setdefault(r.spec.outcome, None)
        return list(seen)


def outcome_titles(programs: Iterable[Program]) -> dict[str, tuple[str, str]]:
    """Outcome code -> (Chinese, English) title in these versions: the first version that
    names a code gives its title."""
    out: dict[str, tuple[str, str]] = {}
    for program in programs:
        for rule in program.document.rules:
            out.setdefault(rule.outcome, (rule.title.zh, rule.title.en))
    return out


# A trailing remark in parentheses, full-width or not: "监测收入标准（年人均纯收入）".
_REMARK = re.compile(r"\s*[（(][^（）()]*[）)]\s*$")


def short_label(text: str) -> str:
    """A description as a name in a sentence: what comes before a colon that explains it, and
    without a trailing remark in parentheses.

    >>> short_label("监测收入标准（年人均纯收入）"), short_label("Monitoring line (per year)")
    ('监测收入标准', 'Monitoring line')
    >>> short_label("家庭经济困难学生：家庭为脱贫户"), short_label("A student: one who studies")
    ('家庭经济困难学生', 'A student')
    >>> short_label("（示例值）")
    '（示例值）'
    """
    head = re.split(r"：|: ", text, maxsplit=1)[0].strip()
    shorter = _REMARK.sub("", head)
    return shorter or head or text


def document_labels(doc: RuleSetDocument) -> dict[str, a.Label]:
    """The words for the document's parameters and definitions (``short_label`` of their
    description), and whether the name is an amount of money (a parameter in yuan). A
    definition without a description that is a rule's whole condition is said by that rule's
    title (monitoring's ``suddenHardship``: 突发严重困难户); an explanation shows any other name
    without a description as written."""
    labels: dict[str, a.Label] = {}
    for name, p in doc.parameters.items():
        if p.description is not None:
            labels[name] = (short_label(p.description.zh), short_label(p.description.en),
                            p.unit.startswith("yuan"))
    titled = {r.condition.strip(): r.title for r in reversed(doc.rules)}
    for name, d in doc.definitions.items():
        text = d.description or titled.get(name)
        if text is not None:
            labels[name] = (short_label(text.zh), short_label(text.en), False)
    return labels


def _scope(name: str) -> Scope:
    return Scope.MEMBER if name == "member" else Scope.HOUSEHOLD


def compile_document(doc: RuleSetDocument) -> Program:
    """Parse and type-check every condition, definition and expression of a document.

    Raises ``DocumentInvalid`` listing every problem (with field paths and, for conditions,
    the column). Definitions may use earlier definitions.
    """
    errors: list[FieldError] = []
    names = _UnknownNames()
    params = frozenset(doc.parameters)
    for name in doc.parameters:
        if name in FACTS:
            errors.append(FieldError(f"parameters.{name}", "NAME_CLASH",
                                     f"parameter {name!r} has the name of a fact"))
    used_params: set[str] = set()
    definitions: dict[str, tuple[Scope, a.Node]] = {}
    events = doc.program in EVENT_PROGRAMS
    labels = document_labels(doc)
    for name in _definition_order(doc, errors):
        d = doc.definitions[name]
        path = f"definitions.{name}.condition"
        if name in FACTS or name in params:
            errors.append(FieldError(f"definitions.{name}", "NAME_CLASH",
                                     f"definition {name!r} has the name of a fact or parameter"))
            continue
        env = Environment(params, dict(definitions), events=events, labels=labels)
        try:
            checked = check(parse(d.condition), env, _scope(d.scope), text=d.condition)
        except ConditionError as exc:
            names.failed_definitions.add(name)
            names.report(path, exc, errors)
            continue
        used_params |= checked.used_parameters
        definitions[name] = (_scope(d.scope), checked.tree)
    env = Environment(params, definitions, events=events, labels=labels)
    rules: list[CompiledRule] = []
    for i, r in enumerate(doc.rules):
        scope = _scope(r.per)
        cond = _check(f"rules[{i}].condition", r.condition, env, scope, BOOL, errors, used_params,
                      names)
        amount = None
        if r.amount is not None:
            amount = _check(f"rules[{i}].amount", r.amount, env, scope, NUMBER, errors,
                            used_params, names)
            if r.period is None:
                errors.append(FieldError(
                    f"rules[{i}].period", "REQUIRED",
                    "a rule with an amount needs a period (YEAR, MONTH, ONCE)"))
        terms = []
        for j, t in enumerate(r.terms):
            expr = _check(f"rules[{i}].terms[{j}].value", t.value, env, scope, NUMBER, errors,
                          used_params, names)
            if expr is not None:
                terms.append(CompiledTerm(t.key, expr, t.unit))
        if cond is not None:
            rules.append(CompiledRule(r, scope, cond, amount, tuple(terms)))
    errors = names.finish(errors)
    errors.extend(_structural_errors(doc))
    errors.extend(_catalogue_errors(doc, rules, definitions))
    if errors:
        raise DocumentInvalid(errors)
    return Program(
        document=doc,
        content_hash=content_hash(doc),
        parameters={k: exact(p.value) for k, p in doc.parameters.items()},
        definitions=definitions,
        rules=tuple(rules),
        used_parameters=frozenset(used_params),
    )


def _definition_order(doc: RuleSetDocument, errors: list[FieldError]) -> list[str]:
    """Definitions in an order where each comes after those it uses (documents may list them
    in any order; a stored JSON document need not keep the order it was written in)."""
    uses: dict[str, set[str]] = {}
    for name, d in doc.definitions.items():
        try:
            tree = parse(d.condition)
        except ConditionError:
            uses[name] = set()  # reported when the definition itself is checked
            continue
        uses[name] = {n.name for n in a.walk(tree) if isinstance(n, a.Name)} & set(
            doc.definitions) - {name}
        if name in {n.name for n in a.walk(tree) if isinstance(n, a.Name)}:
            errors.append(FieldError(f"definitions.{name}.condition", "CYCLIC_DEFINITION",
                                     f"definition {name!r} uses itself"))
    order: list[str] = []
    done: set[str] = set()
    pending = sorted(uses)
    while pending:
        ready = [n for n in pending if uses[n] <= done]
        if not ready:
            for n in pending:
                errors.append(FieldError(
                    f"definitions.{n}.condition", "CYCLIC_DEFINITION",
                    f"definition {n!r} is part of a cycle through "
                    f"{', '.join(sorted(uses[n] - done))}"))
            return order
        for n in ready:
            order.append(n)
            done.add(n)
        pending = [n for n in pending if n not in done]
    return order


class _UnknownNames:
    """Reports an unknown name once, where it is first used, with the other places that use
    it; a definition that does not check is reported where it is defined, not again by every
    rule that uses it."""

    def __init__(self) -> None:
        self.failed_definitions: set[str] = set()
        self.first: dict[str, FieldError] = {}
        self.also: dict[str, list[str]] = {}

    def report(self, path: str, exc: ConditionError, errors: list[FieldError]) -> None:
        name = exc.name if exc.code == "UNKNOWN_NAME" else None
        if name is None:
            errors.append(_condition_error(path, exc))
        elif name in self.failed_definitions:
            return
        elif name in self.first:
            self.also[name].append(path)
        else:
            error = _condition_error(path, exc)
            self.first[name], self.also[name] = error, []
            errors.append(error)

    def finish(self, errors: list[FieldError]) -> list[FieldError]:
        out = []
        for e in errors:
            name = next((n for n, first in self.first.items() if first is e), None)
            if name is not None and self.also[name]:
                places = ", ".join(self.also[name])
                e = replace(e, message=f"{e.message} (also used in {places})")
            out.append(e)
        return out


def _check(
    path: str, text: str, env: Environment, scope: Scope, want: Any,
    errors: list[FieldError], used: set[str], names: _UnknownNames,
) -> a.Node | None:
    try:
        checked = check(parse(text), env, scope, text=text, want=want)
    except ConditionError as exc:
        names.report(path, exc, errors)
        return None
    used |= checked.used_parameters
    return checked.tree


@dataclass(frozen=True)
class ConditionFieldError(FieldError):
    """A condition or expression that does not parse or type-check: a ``FieldError`` that also
    says where in the text (``column``, 1-based), so an editor can point at it."""

    column: int = 0


def _condition_error(path: str, exc: ConditionError) -> FieldError:
    return ConditionFieldError(path, exc.code, f"{exc.message} at column {exc.position + 1}: "
                               f"{exc.text!r}", column=exc.position + 1)


def _structural_errors(doc: RuleSetDocument) -> list[FieldError]:
    errors: list[FieldError] = []
    seen_ids: dict[str, int] = {}
    outcome_scope: dict[str, str] = {}
    outcome_title: dict[str, Text] = {}
    group_priorities: dict[tuple[str, int], str] = {}
    for i, r in enumerate(doc.rules):
        if r.id in seen_ids:
            errors.append(FieldError(
                f"rules[{i}].id", "DUPLICATE_RULE_ID",
                f"rule id {r.id!r} is already used by rules[{seen_ids[r.id]}]"))
        seen_ids.setdefault(r.id, i)
        if not r.outcome.startswith(_outcome_prefix(doc.program)):
            errors.append(FieldError(
                f"rules[{i}].outcome", "OUTCOME_PREFIX",
                f"outcome codes of program {doc.program!r} start with "
                f"{_outcome_prefix(doc.program)!r}, got {r.outcome!r}",
            ))
        if outcome_scope.setdefault(r.outcome, r.per) != r.per:
            errors.append(FieldError(f"rules[{i}].per", "OUTCOME_SCOPE",
                                     f"outcome {r.outcome} is given per {outcome_scope[r.outcome]} "
                                     f"by another rule"))
        if outcome_title.setdefault(r.outcome, r.title) != r.title:
            errors.append(FieldError(f"rules[{i}].title", "OUTCOME_TITLE",
                                     f"outcome {r.outcome} has another title in an earlier rule"))
        if (r.group is None) != (r.priority is None):
            errors.append(FieldError(f"rules[{i}].priority", "GROUP_PRIORITY",
                                     "an exclusive group needs both group and priority"))
        if r.group is not None and r.priority is not None:
            key = (r.group, r.priority)
            if key in group_priorities:
                errors.append(FieldError(
                    f"rules[{i}].priority", "DUPLICATE_PRIORITY",
                    f"priority {r.priority} of group {r.group!r} is taken by "
                    f"{group_priorities[key]}",
                ))
            group_priorities.setdefault(key, r.id)
    return errors


def _catalogue_errors(doc: RuleSetDocument, rules: list[CompiledRule],
                      definitions: dict[str, tuple[Scope, a.Node]]) -> list[FieldError]:
    """A version needs a catalogue version that exists, and names only facts it has."""
    if doc.factsVersion > CATALOGUE.version:
        return [FieldError("factsVersion", "UNKNOWN_CATALOGUE_VERSION",
                           f"the fact catalogue is at version {CATALOGUE.version}, "
                           f"got {doc.factsVersion}")]
    errors = []
    trees = [(f"definitions.{n}", t) for n, (_, t) in definitions.items()]
    for i, r in enumerate(rules):
        trees += [(f"rules[{i}]", n) for n in (r.condition, r.amount, *(t.expr for t in r.terms))
                  if n is not None]
    for path, tree in trees:
        for name in sorted({n.name for n in a.walk(tree) if isinstance(n, a.FactRef)}):
            since = FACTS[name].since
            if since > doc.factsVersion:
                errors.append(FieldError(
                    path, "FACT_TOO_NEW",
                    f"fact {name!r} is in the fact catalogue from version {since}; "
                    f"this version names factsVersion {doc.factsVersion}"))
    return errors


def _outcome_prefix(program: str) -> str:
    # The education program's codes are "education.*"; medical_relief's are "medical.*".
    return {"medical_relief": "medical.", "early_warning": "alert."}.get(program, program + ".")
