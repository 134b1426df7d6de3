"""Derived facts, computed from their definitions in the fact catalogue (``fixtures/facts.yaml``).

Each derived fact's ``definition`` is condition text (with ``memberSum(x)`` and
``fullYears(from, to)``, which only derivation may use), read once and evaluated through the
same closures and meanings as the rules (``policy.evaluation``, ``policy.semantics``): adding
a derived fact to the catalogue needs no code. ``incomeDropRatio``'s "unknown when the previous
income is unknown or 0" is the language's own: ``x / 0`` is unknown.

Member facts are derived first (they may read the household's input facts and ``asOf``), then
the household's, in the catalogue's order: a definition reads input facts and the derived facts
declared before it, which ``_plan`` checks when the catalogue is read.

>>> [name for name, _ in HOUSEHOLD_PLAN][:3]
['householdSize', 'perCapitaNetIncome', 'householdMedicalOutOfPocket']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date

from policy.conditions import ast as a
from policy.conditions.parser import parse
from policy.evaluation import Bindings, closure
from policy.fact_catalogue import CATALOGUE, DerivedFact
from policy.semantics import MEMBER_SUM, Value

Derivation = tuple[str, Callable[[Bindings], Value]]
_NO_PARAMETERS: Mapping[str, int] = {}


def _reads(node: a.Node) -> tuple[set[str], set[str]]:
    """(names read in the definition's own scope, names read inside ``memberSum``)."""
    own: set[str] = set()
    inner: set[str] = set()

    def visit(n: a.Node, inside: bool) -> None:
        if isinstance(n, a.Name):
            (inner if inside else own).add(n.name)
        if isinstance(n, a.Call) and n.func == MEMBER_SUM:
            for c in n.args:
                visit(c, True)
            return
        for c in a.children(n):
            visit(c, inside)

    visit(node, False)
    return own, inner


def _plan() -> tuple[tuple[Derivation, ...], tuple[Derivation, ...], tuple[str, ...]]:
    """The member and household derivations in order, and the household facts member
    definitions read."""
    household_inputs = {f.name for f in CATALOGUE.household}
    member_inputs = {f.name for f in CATALOGUE.member}
    given = {"asOf"}  # the evaluation date: derived by the evaluation itself
    member: list[Derivation] = []
    household: list[Derivation] = []
    member_reads: set[str] = set()
    known_members = set(member_inputs)
    for d in [d for d in CATALOGUE.derived if d.scope == "member"]:
        tree, (own, inner) = _tree(d)
        outside = own - known_members
        if inner or not outside <= household_inputs | given:
            raise ValueError(f"derived member fact {d.name} reads {sorted(outside | inner)}: "
                             "a member fact is defined by member and household input facts")
        member_reads |= outside
        member.append((d.name, closure(tree)))
        known_members.add(d.name)
    known = household_inputs | given
    for d in [d for d in CATALOGUE.derived if d.scope == "household"]:
        if d.definition == d.name:
            continue
        tree, (own, inner) = _tree(d)
        if not own <= known or not inner <= known_members:
            missing = sorted((own - known) | (inner - known_members))
            raise ValueError(f"derived fact {d.name} reads {missing} before they are defined")
        household.append((d.name, closure(tree)))
        known.add(d.name)
    return tuple(member), tuple(household), tuple(sorted(member_reads))


def _tree(d: DerivedFact) -> tuple[a.Node, tuple[set[str], set[str]]]:
    tree = parse(d.definition)
    return tree, _reads(tree)


MEMBER_PLAN, HOUSEHOLD_PLAN, MEMBER_READS = _plan()


def derive_facts(household: dict[str, Value], members: Sequence[dict[str, Value]],
                 as_of: date) -> None:
    """Add the derived facts to a household's and its members' input facts (in place)."""
    household["asOf"] = as_of
    if MEMBER_PLAN:
        # One scope for every member in turn: members have the same input facts, so each
        # member's overwrite the previous one's.
        env: dict[str, Value] = {name: household[name] for name in MEMBER_READS}
        scope = Bindings(env, _NO_PARAMETERS)
        for m in members:
            env.update(m)
            for name, fn in MEMBER_PLAN:
                env[name] = m[name] = fn(scope)
    scope = Bindings(household, _NO_PARAMETERS, members)
    for name, fn in HOUSEHOLD_PLAN:
        household[name] = fn(scope)
