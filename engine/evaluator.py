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
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from engine import durable
from engine.compiler import HOUSEHOLD_TAG, MEMBER_TAG, CompiledRuleset, compile_program, encode
from engine.trace import Traced as TracedRule
from engine.trace import Tracer, tracer
from engine.tree import getter, reads
from engine.values import Bindings, closure
from policy.cache import BoundedCache, remember
from policy.conditions import ast as a
from policy.document import Program
from policy.evaluation import Fn
from policy.exact import Number
from policy.facts import FactSet
from policy.schema import FACTS, Kind
from policy.schema import Scope as FactScope
from policy.semantics import MEMBER_SUM, UNKNOWN, Value


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
    # Per version: its parameters and its lifted values (``Lift``), for members and for the
    # household (read in this order by ``fire_all``).
    member_lifts: tuple[tuple[Mapping[str, Number], tuple[Lift, ...]], ...] = ()
    household_lifts: tuple[tuple[Mapping[str, Number], tuple[Lift, ...]], ...] = ()
    # Durable rule name -> (version's position, rule index in its Program.rules).
    rule_of: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    # The facts of ``member_fields`` and ``household_fields`` that are dates (sent as day
    # numbers).
    member_dates: frozenset[str] = frozenset()
    household_dates: frozenset[str] = frozenset()

    @property
    def program(self) -> Program:
        return self.programs[0]


_LOADED: dict[tuple[str, ...], Loaded] = {}
_LIFTED_LIMIT = 4096  # values remembered per lifted value


class Lift(NamedTuple):
    """A value durable_rules reads that the compiler lifted out of a condition (a difference
    whose sign is exact, a date): its field's name, its closure, the getter of the values of
    the facts it reads (None: it reads the members), and its encoded values by those values
    (the same for many members and households: a household fact every member's scope holds, a
    parameter's date)."""

    name: str
    fn: Fn
    reads: Callable[[Mapping[str, Value]], tuple[object, ...]] | None
    memo: OrderedDict[tuple[object, ...], Any]


def _lift_of(name: str, node: a.Node) -> Lift:
    names: dict[str, None] = {}
    pending = [node]
    reads_members = False
    while pending:
        n = pending.pop()
        if isinstance(n, a.Quantifier | a.Name) or (
                isinstance(n, a.Call) and n.func == MEMBER_SUM):
            reads_members = True
            break
        if isinstance(n, a.FactRef):
            names.setdefault(n.name, None)
        elif isinstance(n, a.DefRef) and n.body is not None:
            pending.append(n.body)
        pending.extend(a.children(n))
    return Lift(name, closure(node), None if reads_members else getter(tuple(names)),
                OrderedDict())


def _dates(fields: Sequence[str]) -> frozenset[str]:
    return frozenset(k for k in fields if k in FACTS and FACTS[k].type.kind is Kind.DATE)


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
        member_fields = tuple(sorted(set().union(*(c.member_fields for c in compiled))))
        household_fields = tuple(sorted(set().union(*(c.household_fields for c in compiled))))
        loaded = Loaded(programs, compiled, handle,
                        any(c.has_member_rules for c in compiled),
                        member_fields, household_fields,
                        tuple((p.parameters, tuple(_lift_of(name, node)
                                                   for name, node in c.member_lifts))
                              for c, p in zip(compiled, programs, strict=True)
                              if c.member_lifts),
                        tuple((p.parameters, tuple(_lift_of(name, node)
                                                   for name, node in c.household_lifts))
                              for c, p in zip(compiled, programs, strict=True)),
                        {name: (k, i) for k, c in enumerate(compiled)
                         for name, i in c.rule_index.items()},
                        _dates(member_fields), _dates(household_fields))
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


def _fact(values: Mapping[str, Value], fields: Sequence[str], dates: frozenset[str],
          head: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    # Only the facts the ruleset reads: less JSON each way. ``head`` (id, t) goes first, which
    # durable.Session relies on to read firings without parsing whole facts.
    fact = dict(head)
    get = values.get
    for k in fields:
        v = get(k, UNKNOWN)
        if v is not UNKNOWN:
            fact[k] = v
    for k in dates:  # encode(v), inline: hot
        day = fact.get(k)
        if day is not None:
            fact[k] = day.toordinal()
    fact.update(extra)
    return fact


def _lift(lifts: tuple[Lift, ...], scope: Bindings, out: dict[str, Any]) -> None:
    facts = scope.facts
    for name, fn, reads_of, memo in lifts:
        if reads_of is None:
            value = fn(scope)
            if value is not UNKNOWN:
                out[name] = encode(value)
            continue
        key = reads_of(facts)
        found = memo.get(key, memo)
        if found is memo:  # not yet seen
            value = fn(scope)
            found = None if value is UNKNOWN else encode(value)
            remember(memo, key, found, _LIFTED_LIMIT)
        if found is not None:
            out[name] = found


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
                member_facts.append(_fact(ctx, loaded.member_fields, loaded.member_dates,
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
                               loaded.household_dates,
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
    return trace_by_member(program, facts)[0]


# Each member's traces of a version's member rules, in the rules' order, one tuple per member:
# the ``_MEMBER_TRACES`` entry, the same object for every member whose facts the rules read
# have the same values (None when the version's member rules are not traced together).
MemberTraces = list[tuple[TracedRule, ...]] | None


def trace_by_member(program: Program, facts: FactSet) -> tuple[Traced, MemberTraces]:
    """``trace_rules``, with each member's traces of the member rules as found together."""
    params = program.parameters
    member_scopes = [facts.member_context(i) for i in range(len(facts.members))]
    hh_scope = Bindings(facts.household, params, member_scopes)
    out: Traced = {}
    ids = facts.member_ids
    household_rules, member_rules, group = _tracers(program)
    for i, trace in household_rules:
        out[(i, None)] = trace(hh_scope, ids)
    if not member_rules:
        return out, None
    scopes = [Bindings(ctx, params) for ctx in member_scopes]
    if group is None:
        for i, trace in member_rules:
            for m, scope in enumerate(scopes):
                out[(i, m)] = trace(scope, ids)
        return out, None
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
    return out, per_member


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
