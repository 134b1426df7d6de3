"""The flat register layout (one row per member with the household's columns) and validation.

A register in CSV or Parquet has one row per member; the household's columns are repeated on
each of its members' rows, and a household's rows are adjacent (its members in order)::

    householdId,regionCode,povertyAlleviated,...,memberId,relation,birthDate,...
    hh-001,371300-001,true,...,m1,HEAD,1968-04-02,...
    hh-001,371300-001,true,...,m2,CHILD,2011-09-10,...

Every column is a field of the contract's household JSON (``householdId`` is the household's
``id`` and ``memberId`` the member's ``id``); an empty cell (null) is a field left out, so the
contract's defaults apply. A row is read as the JSON value its cell stands for:

* CSV cells are text: ``true``/``false`` (any case) are booleans, a JSON number is a number,
  anything else is the text itself (so ``yes`` in a boolean column is a type error);
* Parquet cells have their column's type (bool, integer, floating point, string, date;
  decimal columns are read as floating point).

Each household is then valid exactly when ``policy.facts.parse_household`` accepts that JSON.
The check is vectorised and *conservative*: a household it passes is one ``parse_household``
accepts with the same values; every other household (a problem, or anything unusual such as a
date written as a timestamp) is handed to ``parse_household`` itself, which gives the errors
(with their field paths) or accepts it. So exactly the households ``parse_household`` rejects
are rejected, with its errors, and the tests check the fast path never passes a household it
rejects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from engine.batch.execution import ENGINE
from engine.batch.frames import DTYPES, ENUMS, oldest_birth
from engine.batch.unusual import subset
from policy import facts as f
from policy.errors import FactsInvalid, FieldError
from policy.fact_catalogue import CATALOGUE, InputFact

JSON_NUMBER = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
_JSON_NUMBER = re.compile(JSON_NUMBER)
ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
SAFE_MONEY = f.MAX_MONEY  # larger amounts are refused: parse_household itself says why
_YEAR_ONE = date(1, 1, 1)  # Python's first date (polars dates go further back)


@dataclass(frozen=True)
class Column:
    name: str            # the column's name in the flat layout
    field: str           # the JSON field it stands for
    kind: str            # id | text | bool | money | integer | date | enum
    member: bool
    values: tuple[str, ...] = ()
    default: Any = None  # the contract's default when left out (None: stays unknown/absent)
    required: bool = False
    min: int = 0         # id, text: length in characters; integer: the smallest value
    max: int = 0         # id, text: length in characters; integer: the largest value


def _column(fact: InputFact, member: bool) -> Column:
    """A fact of the catalogue as a column of the flat layout."""
    if not fact.condition:  # the identifier: householdId or memberId
        name = "memberId" if member else "householdId"
        kind = "id"
    else:
        name, kind = fact.name, fact.type
    lo, hi = 0, 0
    if fact.type == "text":
        lo, hi = fact.bounds.minLength or 0, fact.bounds.maxLength or 0
    elif fact.type == "integer":
        lo, hi = int(fact.bounds.min or 0), int(fact.bounds.max or 0)
    default = float(fact.default) if fact.type == "money" and fact.default is not None \
        else fact.default
    return Column(name, fact.name, kind, member,
                  CATALOGUE.values(fact.enum) if fact.enum is not None else (),
                  default, fact.required, lo, hi)


HOUSEHOLD_COLUMNS: tuple[Column, ...] = tuple(_column(f, False) for f in CATALOGUE.household)
MEMBER_COLUMNS: tuple[Column, ...] = tuple(_column(f, True) for f in CATALOGUE.member)
COLUMNS: tuple[Column, ...] = HOUSEHOLD_COLUMNS + MEMBER_COLUMNS
BY_NAME = {c.name: c for c in COLUMNS}
ROW = "_row"  # the 1-based record number carried through for error reports


class LayoutError(ValueError):
    """The input's columns do not fit the layout (unknown or missing columns)."""


def check_columns(names: Iterable[str]) -> None:
    names = list(names)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise LayoutError(
            f"column(s) {', '.join(map(repr, twice))} given more than once (a documented name "
            "and its Chinese header name the same column)")
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise LayoutError(
            f"unknown column(s) {', '.join(map(repr, unknown))}; the layout's columns are "
            f"{', '.join(c.name for c in COLUMNS)} (see docs/screening.md)")
    if "householdId" not in names:
        raise LayoutError("the input needs a householdId column (one row per member, "
                          "a household's rows adjacent)")


# --- the JSON value of a cell -----------------------------------------------------------------


def csv_value(kind: str, text: str) -> Any:
    """The JSON value a CSV cell stands for (an empty cell is left out before this)."""
    if kind == "bool" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if kind in ("money", "integer") and _JSON_NUMBER.match(text):
        return json.loads(text)
    return text


# --- normalising and checking a chunk -----------------------------------------------------------


def _len_ok(c: pl.Expr, lo: int, hi: int) -> pl.Expr:
    # Bytes, not characters (no UTF-8 decoding): a text of lo..hi bytes has lo..hi characters
    # when lo is 1. Longer non-ASCII texts may still be valid: parse_household decides.
    assert lo == 1
    n = c.str.len_bytes()
    return (n >= lo) & (n <= hi)


def _typed(col: Column, raw: pl.Expr, dtype: pl.DataType, text: bool, coded: bool = False
           ) -> tuple[pl.Expr, pl.Expr]:
    """(the validated value or null, whether the cell passes the fast check) for one column.
    Null cells pass unless the field is required; their value is the default. ``coded``: an
    enum's column holds the indexes of its values (the strict JSON Lines reader's, which
    reads nothing else), not their texts."""
    kind = col.kind
    is_str = dtype == pl.String
    ok: pl.Expr
    value: pl.Expr
    if kind in ("id", "text"):
        if is_str:
            value, ok = raw, _len_ok(raw, col.min, col.max)
        else:
            value, ok = pl.lit(None, pl.String), pl.lit(False)
    elif kind == "bool":
        if dtype == pl.Boolean:
            value, ok = raw, pl.lit(True)
        elif is_str and text:
            low = raw.str.to_lowercase()
            value = pl.when(low == "true").then(pl.lit(True)).when(low == "false") \
                .then(pl.lit(False))
            ok = value.is_not_null()
        else:
            value, ok = pl.lit(None, pl.Boolean), pl.lit(False)
    elif kind == "money":
        if dtype.is_numeric():
            value = raw.cast(pl.Float64)
        elif is_str and text:
            value = pl.when(raw.str.contains(JSON_NUMBER)).then(
                raw.cast(pl.Float64, strict=False))
        else:
            value = pl.lit(None, pl.Float64)
        # Yuan to the cent: more decimals go to parse_household, which says so.
        ok = value.is_not_null() & value.is_finite() & (value >= 0) & (value <= SAFE_MONEY) \
            & ((value * 100).round(0) / 100 == value)
    elif kind == "integer":
        if dtype.is_integer():
            value = raw.cast(pl.Int64)
            ok = (value >= col.min) & (value <= col.max)
        elif is_str and text:
            ok = raw.is_in([str(i) for i in range(col.min, col.max + 1)])
            value = pl.when(ok).then(raw.cast(pl.Int64, strict=False))
        else:
            value, ok = pl.lit(None, pl.Int64), pl.lit(False)
    elif kind == "date":
        if dtype == pl.Date:
            value, ok = raw, raw >= _YEAR_ONE
        elif is_str:
            # A member's dates (birth dates) are mostly distinct within a chunk: polars'
            # cache of parsed texts cost more than parsing each (171,425 member rows: 9.6 ms
            # with it, 4.2 without); a household's repeat on its members' rows (flat files).
            value = pl.when(raw.str.contains(ISO_DATE)).then(
                raw.str.to_date("%Y-%m-%d", strict=False, cache=not col.member))
            ok = value.is_not_null() & (value >= _YEAR_ONE)
        else:
            value, ok = pl.lit(None, pl.Date), pl.lit(False)
    elif kind == "enum":
        if coded and dtype == pl.UInt32:
            # The enum's categories begin with the fact's values, in their order.
            value = pl.lit(pl.Series(col.values, dtype=_dtype(col))).gather(raw)
            ok = pl.lit(True)
        elif is_str:
            # Cast to the fact's polars enum (what evaluation compares): a text that is none
            # of its values becomes null, and so does one the enum holds only for conditions
            # (the value of a fact left out, ``frames.ENUMS``), after the fact's own values.
            value = raw.cast(_dtype(col), strict=False)
            ok = value.to_physical() < len(col.values)
        else:
            value, ok = pl.lit(None, _dtype(col)), pl.lit(False)
    else:  # pragma: no cover - every kind is listed above
        raise ValueError(kind)
    if col.required:
        ok = raw.is_not_null() & ok.fill_null(False)
    else:
        ok = raw.is_null() | ok.fill_null(False)
    if col.default is not None:
        default = pl.lit(col.default, _dtype(col)) if kind == "enum" else pl.lit(col.default)
        value = pl.when(raw.is_null()).then(default).otherwise(value)
    return value, ok


_TEXT_COLUMNS = frozenset(c.name for c in COLUMNS if c.kind in ("id", "text"))


def prepare(raw: pl.DataFrame) -> pl.DataFrame:
    """Bring Parquet/Arrow column types to the ones the layout reads: integer ids and region
    codes are read as their decimal text, decimals as floating point, categoricals as text."""
    fixes = []
    for name, dtype in raw.schema.items():
        if name in _TEXT_COLUMNS and dtype.is_integer():
            fixes.append(pl.col(name).cast(pl.String))
        elif isinstance(dtype, pl.Decimal):
            fixes.append(pl.col(name).cast(pl.Float64))
        elif isinstance(dtype, pl.Categorical | pl.Enum):
            fixes.append(pl.col(name).cast(pl.String))
    return raw.with_columns(fixes) if fixes else raw


@dataclass(frozen=True)
class Checked:
    """A chunk split into valid households (as input frames) and rejected ones."""

    households: pl.DataFrame        # frames.HOUSEHOLD_INPUT
    members: pl.DataFrame           # frames.MEMBER_INPUT, ``_h`` numbering ``households``
    errors: pl.DataFrame            # ERRORS
    rejected: int                   # households rejected
    first_rows: pl.Series           # each valid household's first record number


ERRORS: dict[str, pl.DataType] = {
    "row": pl.Int64(),
    "household_id": pl.String(),
    "field": pl.String(),
    "code": pl.String(),
    "message": pl.String(),
}


def _new_household(hid: pl.Expr) -> pl.Expr:
    """Whether a row starts a household: adjacent rows with the same id are one household; a
    row without an id is its own."""
    return (hid != hid.shift(1)).fill_null(True) | hid.is_null()


def _as_row_before(names: Iterable[str]) -> pl.Expr:
    """Whether a row's cells in these columns are the row before's (a null as a null)."""
    same = pl.lit(True)
    for name in names:
        same = same & pl.col(name).eq_missing(pl.col(name).shift(1))
    return same


def fast_flat(raw: pl.DataFrame, as_of: date, text: bool, grouped: str | None = None
              ) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """The vectorised checks of a chunk of the flat layout (``raw`` after ``prepare``): the
    member rows (``_h`` numbering the households, the typed values, ``_ok``), the households'
    first rows (``_row``, the typed values, ``_ok``) and the households the checks do not pass
    (their ``_h``, sorted).

    Households are runs of adjacent rows with the same ``householdId``, or, when ``grouped``
    names a column, runs of the same value in it (JSON Lines: one household per line, whatever
    its id)."""
    new = _new_household(pl.col(grouped or "householdId"))
    # The household's cells are the same on all its rows (each row as the one before it).
    # (The ids are, by the definition of a household.)
    same = _as_row_before(c.name for c in HOUSEHOLD_COLUMNS[1 if grouped is None else 0:]
                          if c.name in raw.columns)
    columns, oks = _typed_columns(lambda c: raw.schema, text)
    base = raw.lazy().with_columns(_new=new, _h=(new.cum_sum() - 1).cast(pl.UInt32)) \
        .collect(engine=ENGINE).lazy()
    members_q = base.select(
        "_h",
        *(columns[c.name].alias(c.name) for c in MEMBER_COLUMNS),
        _ok=oks[True] & (pl.col("_new") | same),
        _id=pl.col("memberId").hash(1),
    ).with_columns(
        _ok=(pl.col("_ok") & _checks(MEMBER_COLUMNS, as_of)).fill_null(False),
    )
    heads_q = base.filter(pl.col("_new")).select(
        ROW,
        *(columns[c.name].alias(c.name) for c in HOUSEHOLD_COLUMNS),
        _ok=oks[False],
    ).with_columns(_ok=(pl.col("_ok") & _checks(HOUSEHOLD_COLUMNS, as_of)).fill_null(False))
    members, heads = pl.collect_all([members_q, heads_q], engine=ENGINE)
    return members, heads, _bad_households(members, heads)


def _typed_columns(schema_of: Callable[[Column], pl.Schema], text: bool, coded: bool = False,
                   ) -> tuple[dict[str, pl.Expr], dict[bool, pl.Expr]]:
    """Every catalogue column typed from the raw frame ``schema_of`` gives for it (its default
    where the frame lacks it), and per scope (member or not) whether a row's values are all
    well typed (False where a required column is missing)."""
    columns: dict[str, pl.Expr] = {}
    oks: dict[bool, pl.Expr] = {False: pl.lit(True), True: pl.lit(True)}
    for c in COLUMNS:
        schema = schema_of(c)
        if c.name in schema:
            value, ok = _typed(c, pl.col(c.name), schema[c.name], text, coded)
            oks[c.member] = oks[c.member] & ok
        else:
            value = pl.lit(c.default, dtype=_dtype(c))
            if c.required:
                oks[c.member] = pl.lit(False)
        columns[c.name] = value.cast(_dtype(c))
    return columns, oks


def fast_nested(heads_raw: pl.DataFrame, members_raw: pl.DataFrame, as_of: date,
                strict: bool = False) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """``fast_flat`` for households given nested (JSON Lines): ``heads_raw`` one row a
    household (its columns and ``_row``), ``members_raw`` one row a member (``_h`` numbering
    the households, members in order). The household's columns are checked once on its own
    row, not repeated on each member's row; the result is ``fast_flat``'s. ``strict``: the
    frames are the strict reader's (``engine.batch.lines``), whose enum columns hold the
    indexes of their values, and whose households have at most ``MAX_MEMBERS`` members with
    distinct ids (it leaves any other to the record path)."""
    typed, oks = _typed_columns(
        lambda c: members_raw.schema if c.member else heads_raw.schema, text=False,
        coded=strict)
    members_q = members_raw.lazy().select(
        "_h",
        *(typed[c.name].alias(c.name) for c in MEMBER_COLUMNS),
        _ok=oks[True],
        **({} if strict else {"_id": pl.col("memberId").hash(1)}),
    ).with_columns(
        _ok=(pl.col("_ok") & _checks(MEMBER_COLUMNS, as_of)).fill_null(False),
    )
    heads_q = heads_raw.lazy().select(
        ROW,
        *(typed[c.name].alias(c.name) for c in HOUSEHOLD_COLUMNS),
        _ok=oks[False],
    ).with_columns(_ok=(pl.col("_ok") & _checks(HOUSEHOLD_COLUMNS, as_of)).fill_null(False))
    members, heads = pl.collect_all([members_q, heads_q], engine=ENGINE)
    return members, heads, _bad_households(members, heads, members_checked=strict)


# CSV text read by the strict reader (``engine.batch.native``) comes with the exact values of
# its booleans, money and integers beside it: a column ``TYPED + name`` each, and ``EXACT``
# saying the row's cells were all read exactly (null on rows other readers read).
TYPED = "_typed_"
EXACT = "_exact"


def _one_piece(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its columns in one piece each where they are cut differently (columns
    cut into different pieces slow every kernel down)."""
    return frame.rechunk() if len(set(frame.n_chunks("all"))) > 1 else frame


def _exact_parts(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """(the text frame, the same with the exact values in place of the texts, and which rows
    the exact values stand for). A row whose household columns repeat the row before's
    values but not its text (``9336.0`` then ``9336.00``) is not one of them: the layout asks
    for the same cells."""
    typed_names = [n for n in raw.columns if n.startswith(TYPED)]
    text = raw.drop(EXACT, *typed_names)
    typed = text.with_columns(raw.get_column(n).alias(n.removeprefix(TYPED))
                              for n in typed_names)
    same = _as_row_before(n.removeprefix(TYPED) for n in typed_names
                          if not BY_NAME[n.removeprefix(TYPED)].member)
    exact = raw.select(pl.col(EXACT).fill_null(False)
                       & (_new_household(pl.col("householdId")) | same)).to_series()
    return text, typed, exact


def check_flat(raw: pl.DataFrame, as_of: date, text: bool, grouped: str | None = None
               ) -> Checked:
    """Validate a chunk of the flat layout (complete households only; ``_row`` numbers the
    records). ``text`` says the cells are CSV text; ``grouped`` names a column whose runs are
    the households, where adjacent rows of one id may be two (``fast_flat``).

    Member columns are checked on every row; household columns on each household's first row,
    and every other row of the household must repeat that row's cells exactly. Where the
    strict reader gave exact values beside the text (``EXACT``), the checks run on them, and
    the households with a row it did not read exactly are validated from their text, as every
    household the checks do not pass is."""
    if text and EXACT in raw.columns:
        # The checks run on the typed frame; the text is read only for the households it
        # sends to the slow path below.
        raw, typed, exact = _exact_parts(raw)
        members, heads, bad_h = fast_flat(_one_piece(typed), as_of, False)
        if not exact.all():
            bad_h = pl.concat([bad_h, members["_h"].filter(~exact).cast(bad_h.dtype)]) \
                .unique().sort()
    else:
        raw = _one_piece(prepare(raw))
        members, heads, bad_h = fast_flat(raw, as_of, text, grouped)
    if bad_h.len():
        keep = pl.Series([True], dtype=pl.Boolean).extend_constant(
            True, heads.height - 1).scatter(bad_h, False)
        slow = _slow_households(
            raw.with_columns(members["_h"]).filter(~pl.lit(keep).gather(pl.col("_h"))), text)
        new_index = (keep.cast(pl.UInt32).cum_sum() - 1).cast(pl.UInt32)
        heads = heads.filter(keep)
        members = members.filter(pl.lit(keep).gather(pl.col("_h"))).with_columns(
            _h=pl.lit(new_index).gather(pl.col("_h")))
    else:
        slow = []
    hh_frame = heads.select(household_id=pl.col("householdId"),
                            **{c.name: pl.col(c.name) for c in HOUSEHOLD_COLUMNS[1:]})
    m_frame = members.select("_h", member_id=pl.col("memberId"),
                             **{c.name: pl.col(c.name) for c in MEMBER_COLUMNS[1:]})
    first_rows = heads[ROW].cast(pl.Int64)
    errors: list[dict[str, Any]] = []
    slow_valid: list[tuple[int, f.Household]] = []
    n_rejected = 0
    for first_row, household, layout_errors in slow:
        try:
            hh = f.parse_household(household, as_of)
            problems: list[FieldError] = []
        except FactsInvalid as exc:
            problems = exc.errors
        if problems or layout_errors:
            n_rejected += 1
            errors.extend(error_rows(first_row, household, problems))
            hid_value = household.get("id")
            hid_text = hid_value if isinstance(hid_value, str) else None
            errors.extend({"row": row, "household_id": hid_text,
                           "field": e.field, "code": e.code, "message": e.message}
                          for row, e in layout_errors)
            continue
        slow_valid.append((first_row, hh))
    if slow_valid:
        from engine.batch.frames import input_frames

        extra_hh, extra_m = input_frames(hh for _, hh in slow_valid)
        extra_first = pl.Series([r for r, _ in slow_valid], dtype=pl.Int64)
        hh_frame, m_frame, first_rows = _merge(hh_frame, m_frame, first_rows,
                                               extra_hh, extra_m, extra_first)
    return Checked(hh_frame, m_frame, pl.DataFrame(errors, schema=ERRORS, orient="row"),
                   n_rejected, first_rows)


def _checks(columns: tuple[Column, ...], as_of: date) -> pl.Expr:
    """The catalogue's checks of these columns' facts beyond their types (a date not after
    ``asOf``, the age limit, a fact that needs another one), on the typed values."""
    ok = pl.lit(True)
    by_field = {c.field: c for c in columns}
    for c in columns:
        fact = CATALOGUE.input("member" if c.member else "household", c.field)
        value = pl.col(c.name)
        for check in fact.checks:
            if check.check == "notAfterAsOf":
                ok = ok & (value.is_null() | (value <= as_of))
            elif check.check == "maxAge":
                ok = ok & (value.is_null() | (value > oldest_birth(f.MAX_AGE + 1, as_of)))
        if fact.requires is not None:
            other = pl.col(by_field[fact.requires.fact].name)
            ok = ok & (value.is_null() | other.is_not_null())
        for k in fact.contradicts:
            other = pl.col(by_field[k.fact].name)
            given = value.fill_null(False) if c.kind == "bool" else value.is_not_null()
            ok = ok & (~given | other.ne_missing(pl.lit(k.equals)))
    return ok


def _dtype(c: Column) -> pl.DataType:
    """A column's type in the checked frames (an enum fact's is its polars enum)."""
    if c.kind == "enum":
        return ENUMS["member" if c.member else "household"][c.name]
    return DTYPES[c.kind]


def _bad_households(members: pl.DataFrame, heads: pl.DataFrame, members_checked: bool = False
                    ) -> pl.Series:
    """The households the fast checks do not pass: a cell, too many members, or member ids
    that may repeat (the same hash as one of the k members before it in the household; a
    hash collision only sends a household to the slow path). ``members_checked``: the reader
    has seen to the last two (no ``_id`` column)."""
    bad_members = ~pl.col("_ok")
    if not members_checked:
        sizes = members["_h"].rle().struct.field("len")
        most = min(int(sizes.max() or 0), f.MAX_MEMBERS + 1)  # type: ignore[arg-type]
        household = pl.col("_h")
        ids = pl.col("_id")
        repeated = pl.lit(False)
        for k in range(1, most):
            repeated = repeated | ((ids == ids.shift(k)) & (household == household.shift(k)))
        too_big = household == household.shift(f.MAX_MEMBERS)
        bad_members = bad_members | (repeated | too_big).fill_null(False)
    bad = pl.concat([
        heads.select(pl.int_range(pl.len(), dtype=pl.UInt32).filter(~pl.col("_ok")))
        .to_series(),
        members.lazy().filter(bad_members).select("_h").collect(engine=ENGINE).to_series(),
    ])
    return bad.unique().sort() if bad.len() else bad


def passed(heads: pl.DataFrame, members: pl.DataFrame, bad: np.ndarray
           ) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """``fast_nested``'s households but ``bad`` (their indexes) as ``Checked``'s frames: the
    households, their members (``_h`` numbering them anew) and each one's first record."""
    if bad.size:
        keep = np.ones(heads.height, dtype=bool)
        keep[bad] = False
        heads, members, _ = subset(heads, members, pl.Series(keep))
    return (heads.select(household_id=pl.col("householdId"),
                         **{c.name: pl.col(c.name) for c in HOUSEHOLD_COLUMNS[1:]}),
            members.select("_h", member_id=pl.col("memberId"),
                           **{c.name: pl.col(c.name) for c in MEMBER_COLUMNS[1:]}),
            heads[ROW].cast(pl.Int64))


def _merge(hh: pl.DataFrame, m: pl.DataFrame, first: pl.Series, hh2: pl.DataFrame,
           m2: pl.DataFrame, first2: pl.Series
           ) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """Both sets of households, in record order."""
    n1 = hh.height
    # The second set's enum facts as the first's (text from ``input_frames``, say).
    hh2, m2 = hh2.cast(dict(hh.schema)), m2.cast(dict(m.schema))  # type: ignore[arg-type]
    m2 = m2.with_columns(_h=pl.col("_h") + n1)
    all_first = pl.concat([first, first2])
    order = all_first.arg_sort()
    rank = pl.Series(order.arg_sort(), dtype=pl.UInt32)  # new position of each household
    all_hh = pl.concat([hh, hh2]).gather(order)
    all_m = pl.concat([m, m2]).with_columns(_h=pl.lit(rank).gather(pl.col("_h")))
    all_m = all_m.with_row_index("_i").sort("_h", "_i").drop("_i")
    return all_hh, all_m, all_first.gather(order)


def _slow_households(rows: pl.DataFrame, text: bool
                     ) -> list[tuple[int, dict[str, Any], list[tuple[int, FieldError]]]]:
    """The households of these rows (their number in ``_h``) as the JSON objects their rows
    stand for, with the layout's own errors (a household column that differs between the
    household's rows)."""
    out: dict[int, tuple[int, dict[str, Any], list[tuple[int, FieldError]]]] = {}
    firsts: dict[int, dict[str, Any]] = {}
    for r in rows.iter_rows(named=True):
        h = r.pop("_h")
        if h not in out:
            household: dict[str, Any] = {}
            for c in HOUSEHOLD_COLUMNS:
                v = r.get(c.name)
                if v is not None:
                    household[c.field] = csv_value(c.kind, v) if text else v
            household["members"] = []
            out[h] = (r[ROW], household, [])
            firsts[h] = r
        else:
            first = firsts[h]
            for c in HOUSEHOLD_COLUMNS:
                if c.name in r and r[c.name] != first[c.name]:
                    out[h][2].append((r[ROW], FieldError(
                        c.field, "INCONSISTENT_VALUE",
                        f"the household's rows disagree on {c.name}: {_shown(r[c.name])} "
                        f"here, {_shown(first[c.name])} on its first row {first[ROW]}")))
        member: dict[str, Any] = {}
        for c in MEMBER_COLUMNS:
            v = r.get(c.name)
            if v is not None:
                member[c.field] = csv_value(c.kind, v) if text else v
        out[h][1]["members"].append(member)
    return [out[h] for h in sorted(out)]


def _shown(value: Any) -> str:
    return "an empty cell" if value is None else repr(value)


def error_rows(first_row: int, household: Any, errors: list[FieldError],
               member_rows: bool = True) -> list[dict[str, Any]]:
    """Errors of a household as rows of the errors file: the record a field path points to
    (in the flat layout ``members[2].birthDate`` is the household's third row), the
    household's id, the field path, the code and the message."""
    hid = household.get("id") if isinstance(household, dict) else None
    out = []
    for e in errors:
        row = first_row
        m = re.match(r"members\[(\d+)\]", e.field)
        if m and member_rows:
            row = first_row + int(m.group(1))
        out.append({"row": row, "household_id": hid if isinstance(hid, str) else None,
                    "field": e.field, "code": e.code, "message": e.message})
    return out


def flat_frame(households: Iterable[dict[str, Any]]) -> pl.DataFrame:
    """Household JSON objects (valid ones) in the flat layout, typed for Parquet: one row per
    member, the household's fields repeated on each row, left-out fields null."""
    data: dict[str, list[Any]] = {c.name: [] for c in COLUMNS}
    for hh in households:
        for m in hh["members"]:
            for c in HOUSEHOLD_COLUMNS:
                data[c.name].append(hh.get(c.field))
            for c in MEMBER_COLUMNS:
                data[c.name].append(m.get(c.field))
    frame = pl.DataFrame({
        c.name: pl.Series(c.name, data[c.name],
                          dtype=pl.String() if c.kind == "date" else DTYPES[c.kind],
                          strict=False)
        for c in COLUMNS
    })
    return frame.with_columns(pl.col(c.name).str.to_date("%Y-%m-%d")
                              for c in COLUMNS if c.kind == "date")
