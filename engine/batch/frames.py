"""The validated facts of many households as two frames, and the derived facts on them.

``HOUSEHOLD_INPUT`` and ``MEMBER_INPUT`` are the input facts after validation with the
contract's defaults applied (``previousAnnualNetIncome`` and ``monitoredSince`` stay null when
left out; ``disabilityGrade`` and ``disabilityKind`` stay null for a member without a
certificate). ``derive_frames`` adds what ``policy.facts.derive`` adds, exactly
(``engine.batch.exact``): money as integer fen (``_n_annualNetIncome``, ...), sums of fen,
and the quotients as a numerator over a denominator column:

* ``householdMedicalOutOfPocket`` is the sum of the members' fen (integers: any order);
* ``perCapitaNetIncome`` is ``_n_annualNetIncome`` over ``_d_perCapita`` (``100 * size``),
  ``perCapitaIncomeAfterRigid`` ``_n_perCapitaIncomeAfterRigid`` over the same;
* ``incomeDropRatio`` is ``previous - income`` over ``previous`` (fen), unknown (null) when the
  previous income is unknown or zero;
* ``age`` is full years on ``asOf``; ``disabilityGrade`` is 0 and ``disabilityKind`` NONE
  without a certificate, and ``disabled`` says whether there is one.

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


def _input_columns(scope: FactScopeName) -> dict[str, pl.DataType]:
    return {f.name: DTYPES[f.type] for f in CATALOGUE.inputs(scope) if f.condition}


HOUSEHOLD_INPUT: dict[str, pl.DataType] = {"household_id": pl.String(),
                                           **_input_columns("household")}
MEMBER_INPUT: dict[str, pl.DataType] = {"_h": pl.UInt32(), "member_id": pl.String(),
                                        **_input_columns("member")}
MONEY_HOUSEHOLD = tuple(f.name for f in CATALOGUE.household if f.type == "money")
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
    n = hh.height
    if members.height:
        size = members["_h"].rle().struct.field("len").cast(pl.UInt32)
    else:
        size = pl.Series("len", [], dtype=pl.UInt32)
    if size.len() != n:
        raise ValueError("every household needs at least one member, in order")
    seg = Segments(size)
    members = members.with_columns(_n_medicalOutOfPocket=fen(pl.col("medicalOutOfPocket")))
    medical = seg.lists(members["_n_medicalOutOfPocket"]).list.sum().cast(pl.Int64)
    prev = pl.col("_n_previousAnnualNetIncome")
    hh = hh.lazy().with_columns(
        _h=pl.int_range(pl.len(), dtype=pl.UInt32),
        householdSize=pl.lit(size.cast(pl.Int64)),
        _n_householdMedicalOutOfPocket=pl.lit(medical),
        _n_annualNetIncome=fen(pl.col("annualNetIncome")),
        _n_previousAnnualNetIncome=fen(pl.col("previousAnnualNetIncome")),
        _n_disasterLoss=fen(pl.col("disasterLoss")),
        _n_accidentLoss=fen(pl.col("accidentLoss")),
    ).with_columns(
        _n_rigidExpenses=pl.col("_n_householdMedicalOutOfPocket") + pl.col("_n_disasterLoss")
        + pl.col("_n_accidentLoss"),
        economicHardship=pl.col("povertyAlleviated") | pl.col("monitored") | pl.col("dibao")
        | pl.col("dibaoMarginal"),
        _d_perCapita=pl.col("householdSize") * 100,
        # ``(1 - income / prev) if prev else UNKNOWN`` = (prev - income) / prev
        _n_incomeDropRatio=pl.when(prev.is_not_null() & (prev != 0))
        .then(prev - pl.col("_n_annualNetIncome")),
        _d_incomeDropRatio=pl.when(prev.is_not_null() & (prev != 0)).then(prev),
    ).with_columns(
        _n_perCapitaIncomeAfterRigid=pl.col("_n_annualNetIncome") - pl.col("_n_rigidExpenses"),
    ).collect(engine=ENGINE)
    idx = members["_h"]
    carried = hh.select(household_reads).gather(idx) if household_reads else None
    members = members.with_columns(
        _m_row=pl.int_range(pl.len(), dtype=pl.UInt32),
        _m=(pl.int_range(pl.len(), dtype=pl.Int64) - seg.start.gather(idx)).cast(pl.UInt32),
        age=ages(members["birthDate"], as_of),
    )
    if carried is not None:
        members = members.hstack(carried)
    members = members.lazy().with_columns(
        disabled=pl.col("disabilityGrade").is_not_null(),
        **{name: pl.col(name).fill_null(value) for name, value in _ABSENT_AS.items()},
    ).collect(engine=ENGINE)
    return hh, members, seg
