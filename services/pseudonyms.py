"""Pseudonymised impact previews: what policy staff see of households they may not read.

A changed household keeps its region, its outcome changes (status, amount, period) and, of
each side's reasons, only the conditions that changed between the version in force and the
draft: the facts those conditions read (their ``actual`` values) and nothing else. Its id and
its members' ids become pseudonyms: an HMAC of the id under a key kept in the database, so the
same household has the same pseudonym in every preview, in every worker, and across restarts,
without the pseudonym saying who it is (docs/decisions/0008-pseudonymised-impact-previews.md).
"""

from __future__ import annotations

import hashlib
import hmac

from engine.results import ConditionCheck, ConditionNode, Outcome, Reason
from engine.tree import Ready

PSEUDONYM_KEY = "impact-pseudonyms"


class Pseudonyms:
    """Stable pseudonyms under one key."""

    def __init__(self, key: str):
        self._key = key.encode()

    def _mac(self, *parts: str) -> str:
        message = "\x00".join(parts).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def household(self, household_id: str) -> str:
        return "HH-" + self._mac("household", household_id)[:16]

    def member(self, household_id: str, member_id: str | None) -> str | None:
        if member_id is None:
            return None
        return "M-" + self._mac("member", household_id, member_id)[:10]


def changed_conditions(before: Outcome | None, after: Outcome | None) -> set[str]:
    """The expressions of the conditions whose check differs between the two sides (or that
    only one side has): the conditions the draft changed, for this household."""
    def checks(o: Outcome | None) -> dict[str, ConditionCheck]:
        return {c.expression: c for r in (o.reasons if o else ()) for c in r.conditions}

    old, new = checks(before), checks(after)
    return {e for e in old.keys() | new.keys() if old.get(e) != new.get(e)}


def pruned(root: ConditionNode, keep: set[str]) -> ConditionNode:
    """The condition tree cut down to its root (without values) and, directly under it, the
    nodes of the changed conditions, without their children (a derived fact's children would
    show the facts it is computed from) or member ids."""
    found: list[ConditionNode] = []

    def walk(node: ConditionNode) -> None:
        if node.expression in keep:
            found.append(node._replace(children=(), member_ids=()))
            return
        for child in node.children:
            walk(child)

    walk(root)
    return root._replace(actual=None, expected=None, member_ids=(), children=tuple(found))


def reduced(outcome: Outcome | None, keep: set[str], member: str | None,
            other: Outcome | None) -> Outcome | None:
    """``outcome`` with only the conditions in ``keep``, terms only where they differ from
    ``other``'s, and the member's pseudonym. Built field by field, so whatever an outcome
    carries besides is left out, not passed on."""
    if outcome is None:
        return None
    reasons = tuple(
        Reason(r.rule_id, r.text_zh, r.text_en, r.citation,
               tuple(c for c in r.conditions if c.expression in keep),
               Ready(pruned(r.condition, keep)))
        for r in outcome.reasons)
    other_terms = set(other.terms) if other is not None else set()
    return Outcome(
        code=outcome.code, title_zh=outcome.title_zh, title_en=outcome.title_en,
        member_id=member, status=outcome.status, amount=outcome.amount, period=outcome.period,
        terms=tuple(t for t in outcome.terms if t not in other_terms), reasons=reasons,
        missing_facts=outcome.missing_facts,
    )
