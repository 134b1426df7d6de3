"""Household JSON objects (JSON Lines, or in memory) into the input frames, validated.

``quick_rows`` is a conservative check written out in Python: what it passes,
``policy.facts.parse_household`` accepts with the same values (tests check this on generated
and mutated households). Anything else is handed to ``parse_household`` itself, so the errors
are its errors. The quick check is ~10 times faster than the pydantic model.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import polars as pl

from engine.batch.frames import HOUSEHOLD_INPUT, MEMBER_INPUT, household_rows
from engine.batch.layout import ERRORS, HOUSEHOLD_COLUMNS, MEMBER_COLUMNS, Checked, error_rows
from policy import facts as f
from policy.errors import FactsInvalid, FieldError

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_HH_FIELDS = frozenset(f.Household.model_fields)
_M_FIELDS = frozenset(f.Member.model_fields)
_HH_BOOLS = tuple((c.field, c.default) for c in HOUSEHOLD_COLUMNS if c.kind == "bool")
_HH_MONEY = tuple((c.field, c.default) for c in HOUSEHOLD_COLUMNS if c.kind == "money")
_M_BOOLS = tuple((c.field, c.default) for c in MEMBER_COLUMNS if c.kind == "bool")
_ENUMS = {c.field: frozenset(c.values) for c in (*HOUSEHOLD_COLUMNS, *MEMBER_COLUMNS)
          if c.kind == "enum"}
_SAFE_MONEY = f.MAX_MONEY  # larger amounts go to parse_household, which refuses them


class _Reject(Exception):
    pass


def _money(v: Any) -> float:
    if type(v) is not int and type(v) is not float:
        raise _Reject
    x = float(v)
    if not (math.isfinite(x) and 0 <= x <= _SAFE_MONEY):
        raise _Reject
    return x


def _date(v: Any) -> date:
    if type(v) is not str or not _DATE.match(v):
        raise _Reject
    try:
        d = date.fromisoformat(v)
    except ValueError:
        raise _Reject from None
    return d


def _text(v: Any, hi: int) -> str:
    if type(v) is not str or not 1 <= len(v) <= hi:
        raise _Reject
    return v


def _enum(field: str, v: Any) -> str:
    if type(v) is not str or v not in _ENUMS[field]:
        raise _Reject
    return v


def _bool(v: Any) -> bool:
    if type(v) is not bool:
        raise _Reject
    return v


def quick_rows(data: Any, as_of: date
               ) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The household's rows of the input frames, or None when it needs ``parse_household``."""
    try:
        return _quick(data, as_of)
    except _Reject:
        return None


def _quick(data: Any, as_of: date) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if type(data) is not dict:
        raise _Reject
    members = data.get("members")
    if type(members) is not list or not 1 <= len(members) <= f.MAX_MEMBERS:
        raise _Reject
    if not _HH_FIELDS.issuperset(data):
        raise _Reject
    hh: dict[str, Any] = {"household_id": _text(data.get("id"), 64),
                          "regionCode": _text(data.get("regionCode", "000000"), 32)}
    for name, default in _HH_BOOLS:
        hh[name] = _bool(data.get(name, default))
    for name, default in _HH_MONEY:
        if default is None:  # optional: absent or null is unknown
            v = data.get(name)
            hh[name] = None if v is None else _money(v)
        else:
            hh[name] = _money(data.get(name, default))
    since = data.get("monitoredSince")
    hh["monitoredSince"] = None if since is None else _date(since)
    if hh["monitoredSince"] is not None and hh["monitoredSince"] > as_of:
        raise _Reject
    hh["housingSafetyGrade"] = _enum("housingSafetyGrade", data.get("housingSafetyGrade", "A"))
    rows = []
    seen: set[str] = set()
    for m in members:
        if type(m) is not dict or not _M_FIELDS.issuperset(m):
            raise _Reject
        mid = _text(m.get("id"), 64)
        if mid in seen:
            raise _Reject
        seen.add(mid)
        birth = _date(m.get("birthDate"))
        if birth > as_of or f.age_on(birth, as_of) > f.MAX_AGE:
            raise _Reject
        grade = m.get("disabilityGrade")
        kind = m.get("disabilityKind")
        if grade is not None:
            if type(grade) is not int or not 1 <= grade <= 4 or kind is None:
                raise _Reject
            kind = _enum("disabilityKind", kind)
        elif kind is not None:
            raise _Reject
        row: dict[str, Any] = {
            "member_id": mid,
            "relation": _enum("relation", m.get("relation", "OTHER")),
            "birthDate": birth,
            "medicalOutOfPocket": _money(m.get("medicalOutOfPocket", 0.0)),
            "disabilityGrade": grade,
            "disabilityKind": kind,
            "schoolStage": _enum("schoolStage", m.get("schoolStage", "NONE")),
            "laborCapacity": _enum("laborCapacity", m.get("laborCapacity", "FULL")),
        }
        for name, default in _M_BOOLS:
            row[name] = _bool(m.get(name, default))
        rows.append(row)
    return hh, rows


class FrameBuilder:
    """Collects validated households column by column (faster than rows of dicts)."""

    def __init__(self) -> None:
        self.hh: dict[str, list[Any]] = {k: [] for k in HOUSEHOLD_INPUT}
        self.m: dict[str, list[Any]] = {k: [] for k in MEMBER_INPUT}
        self.first_rows: list[int] = []

    def __len__(self) -> int:
        return len(self.first_rows)

    def add(self, row: int, hh: dict[str, Any], members: Iterable[dict[str, Any]]) -> None:
        h = len(self.first_rows)
        self.first_rows.append(row)
        for k, values in self.hh.items():
            values.append(hh[k])
        for m in members:
            self.m["_h"].append(h)
            for k, values in self.m.items():
                if k != "_h":
                    values.append(m[k])

    def add_household(self, row: int, household: f.Household) -> None:
        hh_rows, m_rows = household_rows([household])
        self.add(row, hh_rows[0], m_rows)

    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
        hh = pl.DataFrame({k: pl.Series(k, v, dtype=HOUSEHOLD_INPUT[k], strict=False)
                           for k, v in self.hh.items()})
        m = pl.DataFrame({k: pl.Series(k, v, dtype=MEMBER_INPUT[k], strict=False)
                          for k, v in self.m.items()})
        return hh, m, pl.Series("first_row", self.first_rows, dtype=pl.Int64)


def check_records(records: Sequence[tuple[int, Any]], as_of: date) -> Checked:
    """Validate household JSON objects (``(record number, parsed JSON or text)``); a text
    record is parsed first (JSON Lines)."""
    builder = FrameBuilder()
    errors: list[dict[str, Any]] = []
    rejected = 0
    for row, record in records:
        data = record
        if isinstance(record, str | bytes):
            try:
                data = json.loads(record)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                rejected += 1
                msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                errors.append({"row": row, "household_id": None, "field": "household",
                               "code": "INVALID_JSON", "message": f"not valid JSON: {msg}"})
                continue
        quick = quick_rows(data, as_of)
        if quick is not None:
            builder.add(row, *quick)
            continue
        try:
            household = f.parse_household(data, as_of)
        except FactsInvalid as exc:
            rejected += 1
            errors.extend(error_rows(row, data, exc.errors, member_rows=False))
            continue
        builder.add_household(row, household)
    hh, m, first = builder.frames()
    return Checked(hh, m, pl.DataFrame(errors, schema=ERRORS, orient="row"), rejected, first)


def frames_of(households: Sequence[Any], as_of: date
              ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """In-memory household JSON objects as input frames; an invalid one raises
    ``FactsInvalid`` as ``parse_household`` does."""
    builder = FrameBuilder()
    for i, data in enumerate(households):
        quick = quick_rows(data, as_of)
        if quick is not None:
            builder.add(i, *quick)
        else:
            builder.add_household(i, f.parse_household(data, as_of))
    hh, m, _ = builder.frames()
    return hh, m


__all__ = ["FieldError", "FrameBuilder", "check_records", "frames_of", "quick_rows"]
