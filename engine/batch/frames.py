"""The validated facts of many households as two frames, and the derived facts on them.

``HOUSEHOLD_INPUT`` and ``MEMBER_INPUT`` are the input facts after validation with the
contract's defaults applied (``previousAnnualNetIncome`` and ``monitoredSince`` stay null when
left out; ``disabilityGrade`` and ``disabilityKind`` stay null for a member without a
certificate). ``derive_frames`` adds what ``policy.facts.derive`` adds, computed the same way:

* ``householdMedicalOutOfPocket`` is Python's ``sum`` over the members *in order*
  (``((0 + m0) + m1) + ...``): floating-point addition is not associative, and polars' grouped
  sums use another order, so the sum is folded position by position;
* ``incomeDropRatio`` is unknown (null) when the previous income is unknown or zero;
* ``age`` is full years on ``asOf``; ``disabilityGrade`` is 0 and ``disabilityKind`` NONE
  without a certificate, and ``disabled`` says whether there is one.

Members are in household order: ``_h`` is the household's row in the household frame and
``_m`` the member's index in the household.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import polars as pl

from policy.facts import Household

HOUSEHOLD_INPUT: dict[str, pl.DataType] = {
    "household_id": pl.String(),
    "regionCode": pl.String(),
    "povertyAlleviated": pl.Boolean(),
    "monitored": pl.Boolean(),
    "monitoredSince": pl.Date(),
    "dibao": pl.Boolean(),
    "dibaoMarginal": pl.Boolean(),
    "annualNetIncome": pl.Float64(),
    "previousAnnualNetIncome": pl.Float64(),
    "disasterLoss": pl.Float64(),
    "accidentLoss": pl.Float64(),
    "foodAndClothingSecure": pl.Boolean(),
    "housingSafetyGrade": pl.String(),
    "drinkingWaterSafe": pl.Boolean(),
}

MEMBER_INPUT: dict[str, pl.DataType] = {
    "_h": pl.UInt32(),
    "member_id": pl.String(),
    "relation": pl.String(),
    "birthDate": pl.Date(),
    "tekun": pl.Boolean(),
    "orphan": pl.Boolean(),
    "medicallyInsured": pl.Boolean(),
    "medicalOutOfPocket": pl.Float64(),
    "disabilityGrade": pl.Int64(),
    "disabilityKind": pl.String(),
    "needsLongTermCare": pl.Boolean(),
    "schoolStage": pl.String(),
    "boarding": pl.Boolean(),
    "laborCapacity": pl.String(),
}

MONEY_HOUSEHOLD = ("annualNetIncome", "previousAnnualNetIncome", "disasterLoss", "accidentLoss")


def household_rows(households: Iterable[Household]
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Validated households as rows of the two input frames (``_h`` numbers them from 0)."""
    hh_rows: list[dict[str, Any]] = []
    m_rows: list[dict[str, Any]] = []
    for h, hh in enumerate(households):
        hh_rows.append({
            "household_id": hh.id,
            "regionCode": hh.regionCode,
            "povertyAlleviated": hh.povertyAlleviated,
            "monitored": hh.monitored,
            "monitoredSince": hh.monitoredSince,
            "dibao": hh.dibao,
            "dibaoMarginal": hh.dibaoMarginal,
            "annualNetIncome": hh.annualNetIncome,
            "previousAnnualNetIncome": hh.previousAnnualNetIncome,
            "disasterLoss": hh.disasterLoss,
            "accidentLoss": hh.accidentLoss,
            "foodAndClothingSecure": hh.foodAndClothingSecure,
            "housingSafetyGrade": hh.housingSafetyGrade,
            "drinkingWaterSafe": hh.drinkingWaterSafe,
        })
        for m in hh.members:
            m_rows.append({
                "_h": h,
                "member_id": m.id,
                "relation": m.relation,
                "birthDate": m.birthDate,
                "tekun": m.tekun,
                "orphan": m.orphan,
                "medicallyInsured": m.medicallyInsured,
                "medicalOutOfPocket": m.medicalOutOfPocket,
                "disabilityGrade": m.disabilityGrade,
                "disabilityKind": m.disabilityKind,
                "needsLongTermCare": m.needsLongTermCare,
                "schoolStage": m.schoolStage,
                "boarding": m.boarding,
                "laborCapacity": m.laborCapacity,
            })
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


def _sequential_sum(values: pl.Series, start: pl.Series, size: pl.Series) -> pl.Series:
    """Per household, ``sum(values of its members)`` as Python adds them: left to right from 0.

    Members are contiguous; ``start`` is each household's first member row and ``size`` its
    number of members. Adding 0.0 for a household without a k-th member changes nothing (the
    running sum, started as ``0 + x0``, is never -0.0)."""
    acc = pl.Series("acc", [0.0] * len(start), dtype=pl.Float64) if len(start) else \
        pl.Series("acc", [], dtype=pl.Float64)
    if len(values) == 0:
        return acc
    last = len(values) - 1
    most = int(size.max() or 0)  # type: ignore[arg-type]
    frame = pl.DataFrame({"start": start, "size": size, "acc": acc})
    for k in range(most):
        idx = (frame["start"] + k).clip(upper_bound=last)
        x = values.gather(idx)
        frame = frame.with_columns(
            acc=pl.col("acc") + pl.when(pl.col("size") > k).then(x).otherwise(0.0)
        )
    return frame["acc"]


def derive_frames(hh: pl.DataFrame, members: pl.DataFrame, as_of: date
                  ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add the derived facts. ``members`` must be sorted by household (``_h``) and, within a
    household, in member order; every household has at least one member."""
    n = hh.height
    counts = members.group_by("_h").len().sort("_h")
    size = pl.Series("size", [0] * n, dtype=pl.UInt32)
    size = size.scatter(counts["_h"], counts["len"].cast(pl.UInt32))
    start = (size.cum_sum() - size).cast(pl.Int64)
    medical = _sequential_sum(members["medicalOutOfPocket"], start, size)
    hh = hh.with_columns(
        _h=pl.int_range(n, dtype=pl.UInt32),
        _start=start,
        householdSize=size.cast(pl.Int64),
        householdMedicalOutOfPocket=medical,
    ).with_columns(
        rigidExpenses=pl.col("householdMedicalOutOfPocket") + pl.col("disasterLoss")
        + pl.col("accidentLoss"),
    ).with_columns(
        perCapitaNetIncome=pl.col("annualNetIncome") / pl.col("householdSize").cast(pl.Float64),
        perCapitaIncomeAfterRigid=(pl.col("annualNetIncome") - pl.col("rigidExpenses"))
        / pl.col("householdSize").cast(pl.Float64),
        # ``(1 - income / prev) if prev else UNKNOWN``
        incomeDropRatio=pl.when(
            pl.col("previousAnnualNetIncome").is_not_null()
            & (pl.col("previousAnnualNetIncome") != 0)
        ).then(1.0 - pl.col("annualNetIncome") / pl.col("previousAnnualNetIncome")),
        economicHardship=pl.col("povertyAlleviated") | pl.col("monitored") | pl.col("dibao")
        | pl.col("dibaoMarginal"),
    )
    on = as_of.month * 100 + as_of.day
    birth = pl.col("birthDate")
    members = members.with_columns(
        _m=(pl.int_range(pl.len(), dtype=pl.Int64)
            - start.gather(members["_h"])).cast(pl.UInt32),
        age=(as_of.year - birth.dt.year().cast(pl.Int64)
             - (pl.lit(on) < birth.dt.month().cast(pl.Int64) * 100
                + birth.dt.day().cast(pl.Int64)).cast(pl.Int64)),
        disabled=pl.col("disabilityGrade").is_not_null(),
        disabilityGrade=pl.col("disabilityGrade").fill_null(0),
        disabilityKind=pl.col("disabilityKind").fill_null("NONE"),
    )
    return hh, members
