"""Derived facts on the frames, compiled from their definitions in the fact catalogue.

The interactive engine evaluates each derived fact's definition (``policy.derivation``); this
module compiles the same definitions into column expressions, once per process, with the
vectorised compiler (``engine.batch.compiler``) and its exact numbers (``engine.batch.exact``):

* a number is a ``Rat``: its numerator is the column ``_n_<fact>`` (the fact's own name when
  it is a whole number), its denominator a constant or the column ``_d_<fact>``, with the
  bounds the compiler derives from the facts' ranges (so a rule reading it is bounded too);
* a truth value is the column ``<fact>``;
* ``memberSum(x)`` sums ``x`` (a member fact, or a constant) over the household's members,
  exactly (integer numerators over their common constant denominator);
* ``fullYears(birthDate, asOf)`` is ``frames.ages``: full years on the evaluation date.

A definition the compiler does not handle raises ``Unsupported`` when this module is imported:
a catalogue the batch backend cannot serve is found before any register is screened.

>>> [step.fact for step in MEMBER_STEPS]
['age', 'disabled']
>>> fact_rat("perCapitaNetIncome").columns
('_n_perCapitaNetIncome', '_d_perCapitaNetIncome')
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from engine.batch.compiler import Unsupported, compile_definition
from engine.batch.exact import RATIONAL_FACTS, Rat, _expr, fact_rat, register
from policy.conditions import ast as a
from policy.conditions.parser import parse
from policy.derived import definition
from policy.fact_catalogue import CATALOGUE, DerivedFact
from policy.facts import MAX_AGE, MAX_MEMBERS
from policy.schema import EVENT_FACTS, FACTS, Kind, Scope
from policy.semantics import MEMBER_SUM

MAX_AGE_SEARCH = MAX_AGE + 10  # validated ages are at most MAX_AGE


@dataclass(frozen=True)
class Step:
    """How one derived fact's columns are computed: ``kind`` is ``sum`` (over the members of
    ``source``, a member numerator column or None for the constant ``constant``), ``years``
    (full years from the date column ``source``) or ``columns`` (expressions)."""

    fact: str
    kind: str
    columns: tuple[tuple[str, pl.Expr], ...] = ()
    source: str | None = None
    constant: int = 0


def _number_columns(name: str, rat: Rat) -> tuple[tuple[str, pl.Expr], ...]:
    """Store a compiled number as columns and register them as the fact's."""
    whole = isinstance(rat.den, int) and rat.den == 1
    num_col = name if whole else f"_n_{name}"
    out: list[tuple[str, pl.Expr]] = [(num_col, _expr(rat.num, rat.num_bound))]
    den: str | int
    if isinstance(rat.den, int):
        den = rat.den
    else:
        den = f"_d_{name}"
        out.append((den, _expr(rat.den, rat.den_bound)))
    register(name, num_col, den, rat.num_bound, rat.den_bound)
    return tuple(out)


def _step(d: DerivedFact) -> Step:
    tree = parse(d.definition)
    scope = Scope(d.scope)
    match tree:
        case a.Call(func=func, args=(arg,)) if func == MEMBER_SUM:
            if isinstance(arg, a.Num) and isinstance(arg.value, int):
                register(d.name, d.name, 1, abs(arg.value) * MAX_MEMBERS, 1)
                return Step(d.name, "sum", constant=arg.value)
            if isinstance(arg, a.Name) and arg.name in RATIONAL_FACTS:
                rat = fact_rat(arg.name)
                if not isinstance(rat.den, int) or len(rat.columns) != 1:
                    raise Unsupported(f"{d.name}: a sum of {arg.name}, whose denominator varies")
                whole = rat.den == 1
                column = d.name if whole else f"_n_{d.name}"
                register(d.name, column, rat.den, rat.num_bound * MAX_MEMBERS, rat.den)
                return Step(d.name, "sum", source=rat.columns[0])
            raise Unsupported(f"{d.name}: memberSum of {d.definition}")
        case a.Call(func="fullYears", args=(a.Name(name=birth), a.Name(name="asOf"))):
            register(d.name, d.name, 1, MAX_AGE_SEARCH, 1)
            return Step(d.name, "years", source=birth)
    typed = definition(d.name)
    if typed is not None and any(isinstance(n, a.FactRef) and n.name == "asOf"
                                 for n in a.walk(typed)):
        raise Unsupported(f"{d.name}: a definition that reads asOf outside fullYears")
    if typed is None:
        raise Unsupported(f"{d.name}: {d.definition}")
    reads: set[str] = set()
    if typed.type is not None and typed.type.kind is Kind.NUMBER:
        number = compile_definition(typed, scope, reads)
        if not isinstance(number, Rat):
            raise Unsupported(f"{d.name}: a constant definition")
        columns = _number_columns(d.name, number)
    else:
        expr = compile_definition(typed, scope, reads)
        if not isinstance(expr, pl.Expr):
            raise Unsupported(f"{d.name}: a constant definition")
        columns = ((d.name, expr),)
    if scope is Scope.MEMBER and reads:
        raise Unsupported(f"{d.name}: a member fact defined by household facts {sorted(reads)}")
    return Step(d.name, "columns", columns)


def _steps() -> tuple[tuple[Step, ...], tuple[Step, ...]]:
    member = tuple(_step(d) for d in CATALOGUE.derived
                   if d.scope == "member" and d.definition != d.name)
    household = tuple(_step(d) for d in CATALOGUE.derived
                      if d.scope == "household" and d.definition != d.name)
    return member, household


MEMBER_STEPS, HOUSEHOLD_STEPS = _steps()

# Event facts are read by early-warning programs only, which the batch backend never runs.
_missing = {n for n, f in FACTS.items()
            if f.type.kind is Kind.NUMBER and n not in EVENT_FACTS} - RATIONAL_FACTS
assert not _missing, f"number facts without exact columns: {sorted(_missing)}"

