"""The validated facts of many households as two frames, and the derived facts on them.

``HOUSEHOLD_INPUT`` and ``MEMBER_INPUT`` are the input facts after validation with the
contract's defaults applied (``previousAnnualNetIncome`` and ``monitoredSince`` stay null when
left out; ``disabilityGrade`` and ``disabilityKind`` stay null for a member without a
certificate); an enum fact is a polars enum of its values (``ENUMS``). ``derive_frames`` adds
what ``policy.facts.derive`` adds, exactly (``engine.batch.exact``): money as integer fen
(``_n_annualNetIncome``, ...); a member fact left out as the value conditions see
(``disabilityGrade`` 0, ``disabilityKind`` NONE); and the derived facts, compiled from their
definitions in the fact catalogue (``engine.batch.derived``), as ``policy.derivation``
evaluates the same definitions one household at a time.

Members are in household order: ``_h`` is the household's row in the household frame and
``_m`` the member's index in the household.
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import polars as pl

from engine.batch.exact import fen
from engine.batch.execution import ENGINE
from engine.batch.segments import Segments
from policy.fact_catalogue import CATALOGUE, FactScopeName
from policy.facts import MAX_AGE, Household

MAX_AGE_SEARCH = MAX_AGE + 10  # validated ages are at most MAX_AGE

DTYPES: dict[str, pl.DataType] = {
    "id": pl.String(), "text": pl.String(), "bool": pl.Boolean(), "money": pl.Float64(),
    "integer": pl.Int64(), "date": pl.Date(), "enum": pl.String(),
}


def _enums(scope: FactScopeName) -> dict[str, pl.Enum]:
    """The enum facts of a scope as polars enums: the catalogue's values in its order, then
    the value conditions see when the fact is left out (``absentAs``) if it is not one."""
    out: dict[str, pl.Enum] = {}
    for f in CATALOGUE.inputs(scope):
        if f.type == "enum" and f.enum is not None and f.condition:
            values = list(CATALOGUE.values(f.enum))
            if f.absentAs is not None and f.absentAs not in values:
                values.append(f.absentAs)
            out[f.name] = pl.Enum(values)
    return out


# Conditions compare enum facts only for (in)equality (``policy.conditions.typecheck``): as
# polars enums each comparison is one of small integers, not of texts (docs/performance.md).
ENUMS: dict[FactScopeName, dict[str, pl.Enum]] = {
    "household": _enums("household"), "member": _enums("member")}


def _input_columns(scope: FactScopeName) -> dict[str, pl.DataType]:
    return {f.name: ENUMS[scope][f.name] if f.type == "enum" else DTYPES[f.type]
            for f in CATALOGUE.inputs(scope) if f.condition}


HOUSEHOLD_INPUT: dict[str, pl.DataType] = {"household_id": pl.String(),
                                           **_input_columns("household")}
MEMBER_INPUT: dict[str, pl.DataType] = {"_h": pl.UInt32(), "member_id": pl.String(),
                                        **_input_columns("member")}
MONEY_HOUSEHOLD = tuple(f.name for f in CATALOGUE.household if f.type == "money")
MONEY_MEMBER = tuple(f.name for f in CATALOGUE.member if f.type == "money")
_HOUSEHOLD_FACTS = tuple(k for k in HOUSEHOLD_INPUT if k != "household_id")
_MEMBER_FACTS = tuple(k for k in MEMBER_INPUT if k not in ("_h", "member_id"))
# Facts left out that conditions see as a value (a disability grade of 0, kind NONE).
_ABSENT_AS = {f.name: f.absentAs for f in CATALOGUE.member if f.absentAs is not None}


def household_rows(households: Iterable[Household]
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Validated households as rows of the two input frames (``_h`` numbers them from 0)."""
    hh_rows: list[dict[str, Any]] = []
    m_rows: list[dict[str, Any]] = []
    for h, hh in enumerate(households):
        row = {"household_id": hh.id}
        row.update((k, getattr(hh, k)) for k in _HOUSEHOLD_FACTS)
        hh_rows.append(row)
        for m in hh.members:
            m_row: dict[str, Any] = {"_h": h, "member_id": m.id}
            m_row.update((k, getattr(m, k)) for k in _MEMBER_FACTS)
            m_rows.append(m_row)
    return hh_rows, m_rows


def input_frames(households: Iterable[Household]) -> tuple[pl.DataFrame, pl.DataFrame]:
    hh_rows, m_rows = household_rows(households)
    return (pl.DataFrame(hh_rows, schema=HOUSEHOLD_INPUT, orient="row"),
            pl.DataFrame(m_rows, schema=MEMBER_INPUT, orient="row"))


def household_json(hh: Mapping[str, Any], members: Iterable[Mapping[str, Any]]
                   ) -> dict[str, Any]:
    """A row of the input frames (and its members' rows) as contract household JSON; used to
    hand a household to the interactive engine."""
    out: dict[str, Any] = {"id": hh["household_id"]}
    for k in HOUSEHOLD_INPUT:
        if k == "household_id" or hh[k] is None:
            continue
        out[k] = hh[k].isoformat() if isinstance(hh[k], date) else hh[k]
    out["members"] = []
    for m in members:
        mj: dict[str, Any] = {"id": m["member_id"]}
        for k in MEMBER_INPUT:
            if k in ("_h", "member_id") or m[k] is None:
                continue
            mj[k] = m[k].isoformat() if isinstance(m[k], date) else m[k]
        out["members"].append(mj)
    return out


def oldest_birth(age: int, as_of: date) -> date:
    """The last birth date of someone at least ``age`` years old on ``as_of``: the ``age``-th
    anniversary date back from ``as_of`` (29 February falls back to the 28th when that year
    has none, as ``policy.facts.age_on`` compares (month, day) pairs)."""
    year = as_of.year - age
    day = as_of.day
    if as_of.month == 2 and day == 29 and not calendar.isleap(year):
        day = 28
    return date(year, as_of.month, day)


@functools.lru_cache(maxsize=64)
def _age_table(as_of: date) -> tuple[int, pl.Series]:
    """Full years on ``as_of`` for every birth date (as days since 1970) from the oldest
    anniversary searched to the day after the last one: (the first day, the ages)."""
    bounds = pl.Series([oldest_birth(a, as_of) for a in range(MAX_AGE_SEARCH, 0, -1)],
                       dtype=pl.Date).cast(pl.Int32)
    first, last = int(bounds[0]), int(bounds[-1]) + 1
    days = pl.int_range(first, last + 1, dtype=pl.Int32, eager=True)
    return first, (MAX_AGE_SEARCH - bounds.search_sorted(days, side="left")).cast(pl.Int64)


def ages(birth: pl.Series, as_of: date) -> pl.Series:
    """``policy.facts.age_on`` for a Date series: full years on ``as_of``.

    Someone is at least ``a`` years old when born on or before ``oldest_birth(a, as_of)``;
    the ages of the ~40,000 birth days that matter are counted once per date (a binary
    search over the anniversary dates) and looked up; earlier births are the oldest age
    searched, later ones 0."""
    first, table = _age_table(as_of)
    offset = (birth.cast(pl.Int32).cast(pl.Int64) - first).clip(0, table.len() - 1)
    return table.gather(offset)


def derive_frames(hh: pl.DataFrame, members: pl.DataFrame, as_of: date,
                  household_reads: tuple[str, ...] = ()
                  ) -> tuple[pl.DataFrame, pl.DataFrame, Segments]:
    """Add the derived facts. ``members`` must be sorted by household (``_h``) and, within a
    household, in member order; every household has at least one member. The member frame
    also gets the household facts named in ``household_reads`` (derived ones included)."""
    from engine.batch.derived import HOUSEHOLD_STEPS, MEMBER_STEPS
    from engine.batch.exact import fact_rat

    n = hh.height
    if members.height:
        size = members["_h"].rle().struct.field("len").cast(pl.UInt32)
    else:
        size = pl.Series("len", [], dtype=pl.UInt32)
    if size.len() != n:
        raise ValueError("every household needs at least one member, in order")
    seg = Segments(size)
    # Member facts as conditions read them: money as fen, a fact left out as the value
    # conditions see (a disability grade of 0); then the derived member facts, in order.
    # Enum facts as polars enums (a validated register's may already be).
    typed = {name: pl.col(name).cast(dtype) for name, dtype in ENUMS["member"].items()
             if name in members.columns}
    members = members.with_columns(
        _m_row=pl.int_range(pl.len(), dtype=pl.UInt32),
        **{f"_n_{name}": fen(pl.col(name)) for name in MONEY_MEMBER},
        **{name: typed.pop(name, pl.col(name)).fill_null(value)
           for name, value in _ABSENT_AS.items()},
        **typed,
    )
    idx = members["_h"]
    members = members.with_columns(
        _m=(pl.int_range(pl.len(), dtype=pl.Int64) - seg.start.gather(idx)).cast(pl.UInt32))
    for step in MEMBER_STEPS:
        if step.kind == "years":
            assert step.source is not None
            members = members.with_columns(ages(members[step.source], as_of).alias(step.fact))
        else:
            members = members.with_columns(**dict(step.columns))
    lazy = hh.lazy().with_columns(
        _h=pl.int_range(pl.len(), dtype=pl.UInt32),
        **{f"_n_{name}": fen(pl.col(name)) for name in MONEY_HOUSEHOLD},
        **{name: pl.col(name).cast(dtype)
           for name, dtype in ENUMS["household"].items() if name in hh.columns},
    )
    for step in HOUSEHOLD_STEPS:
        if step.kind == "sum":
            column = fact_rat(step.fact).columns[0]
            if step.source is None:
                total = size.cast(pl.Int64) * step.constant
            else:
                total = seg.lists(members[step.source]).list.sum().cast(pl.Int64)
            lazy = lazy.with_columns(pl.lit(total).alias(column))
        else:
            lazy = lazy.with_columns(**dict(step.columns))
    hh = lazy.collect(engine=ENGINE)
    if household_reads:
        members = members.hstack(hh.select(household_reads).gather(idx))
    return hh, members, seg
