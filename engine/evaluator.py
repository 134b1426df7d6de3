"""Evaluate a household under program versions: durable_rules decides which rules fire, the
trace explains every outcome.

The versions evaluated together (those in force on a date) share one durable_rules ruleset and
one session, so an evaluation costs three calls into the C engine whatever the number of
programs: assert the members, assert the household, retract. Each combination of versions is
registered once per process, keyed by its content hashes (only a handful exist: the versions in
force change a few times a year).

The fired set must equal the set of rules whose condition the typed tree says is *true*; a
property test checks this over generated households for every shipped version, and a
disagreement at run time raises ``EngineDisagreement`` rather than answering wrongly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine import durable
from engine.compiler import HOUSEHOLD_TAG, MEMBER_TAG, CompiledRuleset, compile_program, encode
from engine.trace import Traced as TracedRule
from engine.trace import Tracer, tracer
from engine.tree import getter, reads
from engine.values import Bindings, closure
from policy.cache import BoundedCache
from policy.document import Program
from policy.evaluation import Fn
from policy.exact import Number
from policy.facts import FactSet
from policy.schema import Scope as FactScope
from policy.semantics import UNKNOWN, Value


class EngineDisagreement(RuntimeError):
    """durable_rules and the condition tree disagreed on a rule: a bug, never an answer."""


@dataclass(frozen=True)
class Loaded:
    """Versions compiled into one registered durable_rules ruleset."""

    programs: tuple[Program, ...]
    compiled: tuple[CompiledRuleset, ...]
    handle: int
    has_member_rules: bool
    member_fields: tuple[str, ...]     # what member facts carry
    household_fields: tuple[str, ...]  # what the household fact carries
    # Per version: its parameters and its lifted values' names and closures, for members and
    # for the household (read in this order by ``fire_all``).
    member_lifts: tuple[tuple[Mapping[str, Number], tuple[tuple[str, Fn], ...]], ...] = ()
    household_lifts: tuple[tuple[Mapping[str, Number], tuple[tuple[str, Fn], ...]], ...] = ()
    # Durable rule name -> (version's position, rule index in its Program.rules).
    rule_of: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def program(self) -> Program:
        return self.programs[0]


_LOADED: dict[tuple[str, ...], Loaded] = {}


def load(*programs: Program) -> Loaded:
    """Compile and register versions together, once per process (by their content hashes)."""
    key = tuple(p.content_hash for p in programs)
    loaded = _LOADED.get(key)
    if loaded is None:
        compiled = tuple(compile_program(p, prefix=f"p{k}_") for k, p in enumerate(programs))
        definition: dict[str, Any] = {}
        for c in compiled:
            definition.update(c.definition)
        digest = hashlib.sha256("".join(key).encode()).hexdigest()[:24]
        handle = durable.register(f"pe_{digest}", definition)
        loaded = Loaded(programs, compiled, handle,
                        any(c.has_member_rules for c in compiled),
                        tuple(sorted(set().union(*(c.member_fields for c in compiled)))),
                        tuple(sorted(set().union(*(c.household_fields for c in compiled)))),
                        tuple((p.parameters, tuple((name, closure(node))
                                                   for name, node in c.member_lifts))
                              for c, p in zip(compiled, programs, strict=True)
                              if c.member_lifts),
                        tuple((p.parameters, tuple((name, closure(node))
                                                   for name, node in c.household_lifts))
                              for c, p in zip(compiled, programs, strict=True)),
                        {name: (k, i) for k, c in enumerate(compiled)
                         for name, i in c.rule_index.items()})
        _LOADED[key] = loaded
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
            fact[k] = v.toordinal() if isinstance(v, date) else v  # encode(v), inline: hot
    fact.update(extra)
    return fact


def _lift(lifts: tuple[tuple[str, Fn], ...], scope: Bindings, out: dict[str, Any]) -> None:
    for name, fn in lifts:
        value = fn(scope)
        if value is not UNKNOWN:
            out[name] = encode(value)


def fire_all(loaded: Loaded, facts: FactSet) -> tuple[Verdicts, ...]:
    """Run durable_rules over one household; the rules that fired, per version."""
    member_scopes = [facts.member_context(i) for i in range(len(facts.members))]
    n = len(member_scopes)
    with durable.session(loaded.handle) as s:
        member_fired: durable.Firings = {}
        if loaded.has_member_rules:
            member_facts = []
            for i, ctx in enumerate(member_scopes):
                lifted: dict[str, Any] = {}
                for params, lifts in loaded.member_lifts:
                    _lift(lifts, Bindings(ctx, params), lifted)
                member_facts.append(_fact(ctx, loaded.member_fields,
                                          {"id": durable.member_fact_id(i), "t": MEMBER_TAG},
                                          lifted))
            member_fired = s.assert_facts(member_facts)
        extra: dict[str, Any] = {}
        for c, (params, lifts) in zip(loaded.compiled, loaded.household_lifts, strict=True):
            if lifts:
                _lift(lifts, Bindings(facts.household, params, member_scopes), extra)
            for q in c.quantifiers:
                fired_members = member_fired.get(q.rule, ())
                extra[q.field] = len(fired_members) == n if q.every else bool(fired_members)
        household_fact = _fact(facts.household, loaded.household_fields,
                               {"id": durable.HOUSEHOLD_FACT_ID, "t": HOUSEHOLD_TAG}, extra)
        hh_fired = s.assert_facts([household_fact])
    # One pass over the firings (a quantifier's own rules are no version's rules).
    rule_of = loaded.rule_of
    households: list[set[int]] = [set() for _ in loaded.compiled]
    for name in hh_fired:
        found = rule_of.get(name)
        if found is not None:
            households[found[0]].add(found[1])
    members: list[list[set[int]]] = [[set() for _ in range(n)] for _ in loaded.compiled]
    for name, ids in member_fired.items():
        found = rule_of.get(name)
        if found is not None:
            per_member, index = members[found[0]], found[1]
            for fid in ids:
                per_member[int(fid)].add(index)
    return tuple([Verdicts(frozenset(h), tuple(map(frozenset, m)))
                  for h, m in zip(households, members, strict=True)])


def fire(loaded: Loaded, facts: FactSet) -> Verdicts:
    """The rules of a single version that fired (``loaded`` from ``load(program)``)."""
    (verdicts,) = fire_all(loaded, facts)
    return verdicts


Traced = dict[tuple[int, int | None], TracedRule]


def tree_fired(tree: Traced, members: int) -> Verdicts:
    """The rules whose condition the tree says is true, as durable_rules would report them
    (the evaluation of drafts, which are never registered in durable_rules)."""
    household: set[int] = set()
    per_member: list[set[int]] = [set() for _ in range(members)]
    for (rule, member), traced in tree.items():
        if traced[0] is True:
            (household if member is None else per_member[member]).add(rule)
    return Verdicts(frozenset(household), tuple(frozenset(m) for m in per_member))


def trace_rules(program: Program, facts: FactSet) -> Traced:
    """The condition tree's Kleene verdict, checks and explanation tree for every (rule,
    member-or-None)."""
    params = program.parameters
    member_scopes = [facts.member_context(i) for i in range(len(facts.members))]
    hh_scope = Bindings(facts.household, params, member_scopes)
    out: Traced = {}
    ids = facts.member_ids
    household_rules, member_rules, group = _tracers(program)
    for i, trace in household_rules:
        out[(i, None)] = trace(hh_scope, ids)
    if not member_rules:
        return out
    scopes = [Bindings(ctx, params) for ctx in member_scopes]
    if group is None:
        for i, trace in member_rules:
            for m, scope in enumerate(scopes):
                out[(i, m)] = trace(scope, ids)
        return out
    # One lookup per member for all the member rules' traces (see ``_Group``).
    get, put, values = _MEMBER_TRACES.get, _MEMBER_TRACES.put, group.values
    per_member = []
    for scope in scopes:
        key = (group, values(scope.facts))
        found = get(key)
        if found is None:
            found = put(key, tuple([trace(scope, ids) for _, trace in member_rules]))
        per_member.append(found)
    for k, (i, _) in enumerate(member_rules):
        for m, found in enumerate(per_member):
            out[(i, m)] = found[k]
    return out


class _Group:
    """The member rules of a version, whose traces are remembered together by the values of
    every fact any of them reads in a member's scope: a member's traces are each rule's trace
    memo's, which is a function of those values alone when no rule reads other members (no
    quantifier), so one lookup per member finds them all instead of one per rule. An entry
    keeps its traces (and so the ids the outcome memo is keyed by) alive."""

    __slots__ = ("__weakref__", "values")

    def __init__(self, values: Callable[[Mapping[str, Value]], tuple[object, ...]]):
        self.values = values


# A version's member-rule traces per member, by (its ``_Group``, the values they read).
_MEMBER_TRACES: BoundedCache[tuple[object, ...], tuple[TracedRule, ...]] = BoundedCache(
    "engine.member_traces", 20_000)

_Tracers = tuple[list[tuple[int, Tracer]], list[tuple[int, Tracer]], _Group | None]
_TRACERS: BoundedCache[str, _Tracers] = BoundedCache("engine.rule_tracers", 64)


def _tracers(program: Program) -> _Tracers:
    """The program's household and member rules, each with its condition's tracer, and the
    member rules' ``_Group`` (None when one of them reads other members)."""
    found = _TRACERS.get(program.content_hash)
    if found is None:
        members = [r for r in program.rules if r.scope is not FactScope.HOUSEHOLD]
        group = None
        if members and all(reads(r.condition).inner is None for r in members):
            names = tuple(dict.fromkeys(n for r in members
                                        for n in reads(r.condition).outer_names))
            group = _Group(getter(names))
        found = _TRACERS.put(program.content_hash, (
            [(i, tracer(r.condition)) for i, r in enumerate(program.rules)
             if r.scope is FactScope.HOUSEHOLD],
            [(i, tracer(r.condition)) for i, r in enumerate(program.rules)
             if r.scope is not FactScope.HOUSEHOLD],
            group,
        ))
    return found


def tree_verdicts(program: Program, facts: FactSet) -> dict[tuple[int, int | None], Value]:
    """The condition tree's Kleene verdict for every (rule, member-or-None)."""
    return {key: traced[0] for key, traced in trace_rules(program, facts).items()}


def check_agreement(program: Program, verdicts: Verdicts, tree: Traced) -> None:
    fired: set[tuple[int, int | None]] = {(i, None) for i in verdicts.household}
    fired.update((i, m) for m, rules in enumerate(verdicts.members) for i in rules)
    if fired == {key for key, traced in tree.items() if traced[0] is True}:
        return
    for (rule, member), (value, *_) in tree.items():
        if verdicts.fired(rule, member) != (value is True):
            where = "household" if member is None else f"member #{member}"
            raise EngineDisagreement(
                f"{program.code} v{program.document.version} rule "
                f"{program.rules[rule].id} for {where}: durable_rules "
                f"{'fired' if verdicts.fired(rule, member) else 'did not fire'}, "
                f"the condition tree says {value!r}"
            )
