"""The determination: what the engine says about a household, as plain immutable data.

These are the shapes of the public contract's ``Determination`` (GraphQL, CLI JSON); every view
(ZH, EN, GraphQL, CLI, batch rows) is built from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cached_property
from typing import Any, NamedTuple

from policy.catalog import VersionRef

__all__ = ["VersionRef"]  # re-exported: determinations carry it


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


class Reason(NamedTuple):
    rule_id: str
    text_zh: str
    text_en: str
    citation: Citation
    conditions: tuple[ConditionCheck, ...]

    def text(self, lang: str = "ZH") -> str:
        return self.text_en if lang.upper() == "EN" else self.text_zh


class Term(NamedTuple):
    key: str
    value: float
    unit: str


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
    reasons: tuple[Reason, ...]
    missing_facts: tuple[str, ...]
    flags_monitoring: bool = False

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

    def outcomes(self, status: Status | None = None) -> list[Outcome]:
        return [
            o for p in self.programs for o in p.outcomes if status is None or o.status is status
        ]


_REASON_JSON: dict[tuple[int, str], tuple[Reason, dict[str, Any]]] = {}


def _reason_json(r: Reason, lang: str) -> dict[str, Any]:
    # Reasons are shared between outcomes and determinations (the explainer memoises them),
    # so their JSON is too. The entry keeps the reason alive, so its id is not reused.
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
    }
    if len(_REASON_JSON) >= 50_000:
        _REASON_JSON.clear()
    _REASON_JSON[key] = (r, data)
    return data


def determination_json(d: Determination, lang: str = "ZH") -> dict[str, Any]:
    """The Determination as JSON with the contract's field names: the same object as
    ``data.evaluate`` of a GraphQL query that selects every field. The JSON shares sub-objects
    (an outcome appears under its program and in the flattened list); serialise it, do not
    mutate it."""

    def outcome(o: Outcome) -> dict[str, Any]:
        return {
            "code": o.code,
            "title": o.title(lang),
            "memberId": o.member_id,
            "status": o.status.value,
            "amount": o.amount,
            "period": o.period,
            "terms": [{"key": t.key, "value": t.value, "unit": t.unit} for t in o.terms],
            "reasons": [_reason_json(r, lang) for r in o.reasons],
            "missingFacts": list(o.missing_facts),
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
