"""Household JSON objects (JSON Lines, or in memory) into the input frames, validated.

``quick_rows`` is a conservative check written out in Python: what it passes,
``policy.facts.parse_household`` accepts with the same values (tests check this on generated
and mutated households). Anything else is handed to ``parse_household`` itself, so the errors
are its errors. The quick check is ~10 times faster than the pydantic model.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

import polars as pl

from engine.batch.frames import HOUSEHOLD_INPUT, MEMBER_INPUT, household_rows
from engine.batch.layout import (
    ERRORS,
    HOUSEHOLD_COLUMNS,
    MEMBER_COLUMNS,
    Checked,
    Column,
    error_rows,
)
from policy import facts as f
from policy.errors import FactsInvalid, FieldError
from policy.fact_catalogue import CATALOGUE

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_HH_FIELDS = frozenset(f.Household.model_fields)
_M_FIELDS = frozenset(f.Member.model_fields)
_SAFE_MONEY = f.MAX_MONEY  # larger amounts go to parse_household, which refuses them


class _Reject(Exception):
    pass


_MISSING: Any = object()  # a field left out (an explicit null is another thing)


def _money(v: Any) -> float:
    if type(v) is not int and type(v) is not float:
        raise _Reject
    x = float(v)
    if not (math.isfinite(x) and 0 <= x <= _SAFE_MONEY) or round(x, 2) != x:
        raise _Reject  # (more than two decimals: parse_household says so)
    return x


def _date(v: Any) -> date:
    if type(v) is not str or not _DATE.match(v):
        raise _Reject
    try:
        d = date.fromisoformat(v)
    except ValueError:
        raise _Reject from None
    return d


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


def _reader(c: Column, as_of: date) -> Callable[[Any], Any]:
    """The quick check of one column's field: its value (the default when left out), or
    ``_Reject``."""
    default, required = c.default, c.required
    read = _typed_reader(c, as_of)
    nullable = not c.required and c.default is None  # unknown when left out: null is too

    def field(v: Any) -> Any:
        if v is _MISSING:
            if required:
                raise _Reject
            return default
        if v is None:
            if nullable:
                return None
            raise _Reject
        return read(v)
    return field


def _typed_reader(c: Column, as_of: date) -> Callable[[Any], Any]:
    kind = c.kind
    if kind in ("id", "text"):
        lo, hi = c.min, c.max

        def text(v: Any) -> Any:
            if type(v) is not str or not lo <= len(v) <= hi:
                raise _Reject
            return v
        return text
    if kind == "bool":
        return _bool
    if kind == "money":
        return _money
    if kind == "integer":
        lo, hi = c.min, c.max

        def integer(v: Any) -> Any:
            if type(v) is not int or not lo <= v <= hi:
                raise _Reject
            return v
        return integer
    if kind == "date":
        checks = {k.check for k in CATALOGUE.input(
            "member" if c.member else "household", c.field).checks}

        def a_date(v: Any) -> Any:
            d = _date(v)
            if "notAfterAsOf" in checks and d > as_of:
                raise _Reject
            if "maxAge" in checks and f.age_on(d, as_of) > f.MAX_AGE:
                raise _Reject
            return d
        return a_date
    values = frozenset(c.values)

    def enum(v: Any) -> Any:
        if type(v) is not str or v not in values:
            raise _Reject
        return v
    return enum


_Readers = tuple[tuple[str, str, Callable[[Any], Any]], ...]


@functools.lru_cache(maxsize=16)
def _readers(as_of: date) -> tuple[_Readers, _Readers]:
    """Per scope: (field, frame column, reader) of every field."""
    def of(columns: tuple[Column, ...], id_column: str) -> _Readers:
        return tuple((c.field, id_column if c.kind == "id" else c.name, _reader(c, as_of))
                     for c in columns)
    return of(HOUSEHOLD_COLUMNS, "household_id"), of(MEMBER_COLUMNS, "member_id")


# Pairs of member facts given together or not at all (disabilityGrade and disabilityKind).
_REQUIRES = tuple((fact.name, fact.requires.fact) for fact in CATALOGUE.member
                  if fact.requires is not None)
# (fact, other fact, the other's value that contradicts the fact given) per scope.
_CONTRADICTS = {scope: tuple((fact.name, k.fact, k.equals) for fact in CATALOGUE.inputs(scope)
                             for k in fact.contradicts)
                for scope in ("household", "member")}
_UNIQUE = tuple(fact.name for fact in CATALOGUE.member
                if any(k.check == "uniqueInHousehold" for k in fact.checks))


def _quick(data: Any, as_of: date) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if type(data) is not dict:
        raise _Reject
    members = data.get("members")
    if type(members) is not list or not 1 <= len(members) <= f.MAX_MEMBERS:
        raise _Reject
    if not _HH_FIELDS.issuperset(data):
        raise _Reject
    household_readers, member_readers = _readers(as_of)
    hh: dict[str, Any] = {}
    for field, column, read in household_readers:
        hh[column] = read(data.get(field, _MISSING))
    for name, other, equals in _CONTRADICTS["household"]:
        if hh[name] is not None and hh[name] is not False and hh[other] == equals:
            raise _Reject
    rows = []
    seen: set[Any] = set()
    for m in members:
        if type(m) is not dict or not _M_FIELDS.issuperset(m):
            raise _Reject
        row: dict[str, Any] = {}
        for field, column, read in member_readers:
            row[column] = read(m.get(field, _MISSING))
        for a, b in _REQUIRES:
            if m.get(a) is not None and m.get(b) is None:
                raise _Reject
        for name, other, equals in _CONTRADICTS["member"]:
            if row[name] is not None and row[name] is not False and row[other] == equals:
                raise _Reject
        for name in _UNIQUE:
            key = m.get(name)
            if key in seen:
                raise _Reject
            seen.add(key)
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


def _no_lone_surrogates(text: str | bytes, data: Any) -> None:
    """JSON may escape half of a surrogate pair (``"\\ud800"``), which is no character: such
    a text cannot be written as UTF-8 (``UnicodeEncodeError``). Only texts with such an
    escape are looked at. Half a pair written as bytes (``ED A0 80``: not UTF-8) is refused
    too, as any byte that is not UTF-8 is (``json.loads`` reads bytes with "surrogatepass")."""
    if isinstance(text, bytes) and b"\xed" in text:
        text.decode("utf-8")
    raw = text.lower() if isinstance(text, bytes) else text.lower().encode("utf-8", "replace")
    if b"\\ud" in raw:
        json.dumps(data, ensure_ascii=False).encode("utf-8")


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
                _no_lone_surrogates(record, data)
            except (json.JSONDecodeError, UnicodeDecodeError, UnicodeEncodeError) as exc:
                rejected += 1
                msg = exc.msg if isinstance(exc, json.JSONDecodeError) else \
                    "a \\u escape is half of a surrogate pair, no character" \
                    if isinstance(exc, UnicodeEncodeError) else str(exc)
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
