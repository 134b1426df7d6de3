"""Evaluate a household under one program version: durable_rules decides which rules fire,
the trace explains every outcome.

The fired set must equal the set of rules whose condition the typed tree says is *true*; a
property test checks this over generated households for every shipped version, and a
disagreement at run time raises ``EngineDisagreement`` rather than answering wrongly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine import durable
from engine.compiler import HOUSEHOLD_TAG, MEMBER_TAG, CompiledRuleset, compile_program, encode
from engine.trace import explain_condition
from engine.values import Scope, evaluate
from policy.document import Program
from policy.facts import UNKNOWN, FactSet, Value
from policy.schema import Scope as FactScope


class EngineDisagreement(RuntimeError):
    """durable_rules and the condition tree disagreed on a rule: a bug, never an answer."""


@dataclass(frozen=True)
class Loaded:
    program: Program
    compiled: CompiledRuleset
    handle: int
    fields: tuple[str, ...]


_LOADED: dict[str, Loaded] = {}


def load(program: Program) -> Loaded:
    """Compile and register a version once per process (by content hash)."""
    loaded = _LOADED.get(program.content_hash)
    if loaded is None:
        compiled = compile_program(program)
        handle = durable.register(compiled.name, compiled.definition)
        loaded = Loaded(program, compiled, handle, tuple(sorted(compiled.fields)))
        _LOADED[program.content_hash] = loaded
    return loaded


@dataclass(frozen=True)
class Verdicts:
    """Which rules fired, per household (``None`` key) and per member index."""

    household: frozenset[int]
    members: tuple[frozenset[int], ...]

    def fired(self, rule_index: int, member: int | None) -> bool:
        if member is None:
            return rule_index in self.household
        return rule_index in self.members[member]


def _fact(values: Mapping[str, Value], fields: Sequence[str],
          head: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    # Only the facts the ruleset reads: less JSON each way. ``head`` (id, t) goes first, which
    # durable.Session relies on to read firings without parsing whole facts.
    fact = dict(head)
    for k in fields:
        v = values.get(k, UNKNOWN)
        if v is not UNKNOWN:
            fact[k] = encode(v)
    fact.update(extra)
    return fact


def _lifted(lifts: list[tuple[str, Any]], scope: Scope) -> dict[str, Any]:
    out = {}
    for name, node in lifts:
        value = evaluate(node, scope)
        if value is not UNKNOWN:
            out[name] = encode(value)
    return out


def fire(loaded: Loaded, facts: FactSet) -> Verdicts:
    """Run durable_rules over one household; return the rules that fired."""
    c = loaded.compiled
    params = loaded.program.parameters
    member_scopes = [facts.member_context(i) for i in range(len(facts.members))]
    n = len(member_scopes)
    with durable.session(loaded.handle) as s:
        member_fired: durable.Firings = {}
        if c.has_member_rules:
            member_facts = [
                _fact(ctx, loaded.fields, {"id": durable.member_fact_id(i), "t": MEMBER_TAG},
                      _lifted(c.member_lifts, Scope(ctx, params)))
                for i, ctx in enumerate(member_scopes)
            ]
            member_fired = s.assert_facts(member_facts)
        quantified = {
            q.field: (len(member_fired.get(q.rule, ())) == n) if q.every
            else bool(member_fired.get(q.rule))
            for q in c.quantifiers
        }
        hh_scope = Scope(facts.household, params, member_scopes)
        household_fact = _fact(
            facts.household, loaded.fields,
            {"id": durable.HOUSEHOLD_FACT_ID, "t": HOUSEHOLD_TAG},
            {**_lifted(c.household_lifts, hh_scope), **quantified},
        )
        hh_fired = s.assert_facts([household_fact])
    household = frozenset(
        c.rule_index[name] for name in hh_fired if name in c.rule_index
    )
    per_member: list[set[int]] = [set() for _ in range(n)]
    for name, ids in member_fired.items():
        if name in c.rule_index:
            for fid in ids:
                per_member[int(fid)].add(c.rule_index[name])
    return Verdicts(household, tuple(frozenset(m) for m in per_member))


def tree_verdicts(program: Program, facts: FactSet) -> dict[tuple[int, int | None], Value]:
    """The condition tree's Kleene verdict for every (rule, member-or-None)."""
    params = program.parameters
    member_scopes = [facts.member_context(i) for i in range(len(facts.members))]
    hh_scope = Scope(facts.household, params, member_scopes)
    out: dict[tuple[int, int | None], Value] = {}
    scopes = [Scope(ctx, params) for ctx in member_scopes]
    ids = facts.member_ids
    for i, rule in enumerate(program.rules):
        if rule.scope is FactScope.HOUSEHOLD:
            out[(i, None)] = explain_condition(rule.condition, hh_scope, ids)[0]
        else:
            for m, scope in enumerate(scopes):
                out[(i, m)] = explain_condition(rule.condition, scope, ids)[0]
    return out


def check_agreement(program: Program, verdicts: Verdicts,
                    tree: dict[tuple[int, int | None], Value]) -> None:
    for (rule, member), value in tree.items():
        if verdicts.fired(rule, member) != (value is True):
            where = "household" if member is None else f"member #{member}"
            raise EngineDisagreement(
                f"{program.code} v{program.document.version} rule "
                f"{program.rules[rule].id} for {where}: durable_rules "
                f"{'fired' if verdicts.fired(rule, member) else 'did not fire'}, "
                f"the condition tree says {value!r}"
            )
