"""Screen a register file: read in chunks, validate, evaluate, write, summarise.

Three stages overlap (polars and Arrow release the GIL while they work): a reader thread reads
and re-cuts chunks of whole households, two worker threads validate and evaluate them, and a
writer thread appends the outcome rows to the output. One chunk waits read, two are in the
workers, one more waits for the first worker free and one waits to be written, so memory is
bounded by the chunk size, not the register's size.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from engine.batch import evaluator_for
from engine.batch.evaluate import Evaluated, Evaluator
from engine.batch.layout import ERRORS, Checked, check_flat
from engine.batch.lines import check_blocks
from engine.batch.records import check_records
from engine.batch.rows import check_rows
from engine.batch.table import ALL_STATUSES, COUNTS, check_order
from engine.batch.unusual import EvaluationError, subset
from engine.batch.wide import Wide, WideLayout, evaluate_wide, wide_layout, wide_sides
from policy.catalog import VersionRef
from policy.document import Program, outcome_titles
from screening.sources import Chunk, Source, open_source
from screening.writers import (
    CsvRows,
    ErrorWriter,
    OutcomeWriter,
    output_format,
    quoted_ahead,
    quotes_needed,
    sibling,
    wide_csv,
    write_summary,
    write_summary_xlsx,
)

# The wide table's texts repeated from the households' and members' ids.
WIDE_IDS = ("household_id", "region_code", "member_id")
REGIONS: dict[str, pl.DataType] = {
    "regionCode": pl.String(),
    "households": pl.Int64(),
    "members": pl.Int64(),
    "flagged": pl.Int64(),
    "granted": pl.Int64(),
    "undetermined": pl.Int64(),
}


@dataclass(frozen=True)
class _WideRows:
    """A chunk's wide table as CSV text (``writers.wide_csv``), with its summary and counts."""

    outcomes: CsvRows
    households: pl.DataFrame
    counts: pl.DataFrame
    errors: tuple[EvaluationError, ...] = ()


_Result = Evaluated | Wide | _WideRows


@dataclass
class Progress:
    """What a progress display is told after each chunk."""

    total: int | None
    unit: str
    done: int = 0
    households: int = 0
    started: float = field(default_factory=time.perf_counter)


ProgressHook = Callable[[Progress], None]


@dataclass
class _Totals:
    households: int = 0
    screened: int = 0
    invalid: int = 0
    flagged: int = 0
    error_rows: int = 0
    counts: list[pl.DataFrame] = field(default_factory=list)
    regions: list[pl.DataFrame] = field(default_factory=list)


_END = object()


def _prefetch(it: Iterator[Any], size: int = 2) -> Iterator[Any]:
    """Run an iterator in a thread, ``size`` items ahead."""
    q: queue.Queue[Any] = queue.Queue(maxsize=size)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            for item in it:
                q.put(item)
        except BaseException as exc:  # handed to the consumer
            failure.append(exc)
        finally:
            q.put(_END)

    t = threading.Thread(target=run, name="screen-reader", daemon=True)
    t.start()
    while True:
        item = q.get()
        if item is _END:
            break
        yield item
    t.join()
    if failure:
        raise failure[0]


LAYOUTS = ("long", "wide")


def default_layout(output_format_: str, statuses: frozenset[str]) -> str:
    """The outcome table's layout when none is asked for (the command line's;
    docs/decisions/0012-wide-outcome-layout.md): every outcome to CSV or a workbook is wide
    (a row per household and per member, a column per outcome code); anything else, and every
    Parquet output, is long (a row per outcome)."""
    if statuses == ALL_STATUSES and output_format_ in ("csv", "xlsx"):
        return "wide"
    return "long"


def default_chunk_rows(statuses: frozenset[str], layout: str) -> int:
    """Rows read at a time when none is asked for: every outcome in the long layout is about
    67 rows a household, so smaller chunks keep memory bounded; the wide layout is about 5
    rows a household."""
    return 100_000 if "NOT_GRANTED" in statuses and layout == "long" else 400_000


def check_layout(layout: str, statuses: frozenset[str]) -> None:
    """Raises ``ValueError`` for an unknown layout, or a wide one of only some statuses."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; one of {', '.join(LAYOUTS)}")
    if layout == "wide" and statuses != ALL_STATUSES:
        raise ValueError("the wide layout holds every outcome (a column per outcome code): "
                         "give --status all, or --layout long")


class _BackgroundWriter:
    def __init__(self, writer: OutcomeWriter):
        self.writer = writer
        self.q: queue.Queue[Any] = queue.Queue(maxsize=1)
        self.failure: list[BaseException] = []
        self.t = threading.Thread(target=self._run, name="screen-writer", daemon=True)
        self.t.start()

    def _run(self) -> None:
        while True:
            item = self.q.get()
            if item is _END:
                return
            if self.failure:
                continue
            try:
                self.writer.write(*item)
            except BaseException as exc:
                self.failure.append(exc)

    def write(self, table: pa.Table | pl.DataFrame, quoted: bool = False) -> None:
        if self.failure:
            raise self.failure[0]
        self.q.put((table, quoted))

    def close(self) -> None:
        self.q.put(_END)
        self.t.join()
        if self.failure:
            raise self.failure[0]


def default_order(output_format_: str) -> str:
    """The outcome rows' order when none is asked for. Parquet is read by columnar tools:
    its rows are grouped by outcome within each chunk (row group), which halves the writing
    and shrinks the file. CSV is read row by row: each household's rows stay together."""
    return "outcome" if output_format_ == "parquet" else "household"


_Evaluated = tuple[int, Checked, _Result, bool]


class _Once:
    """Each household id screened once: a household whose id an earlier household of the
    register has (in an earlier chunk, or earlier in its own) is refused,
    ``DUPLICATE_HOUSEHOLD``, so that nothing is counted or paid twice. The chunks' results are
    taken in the register's order, so the one screened is always the first in the file; a
    chunk holding a repeated id (rare) is evaluated again without it, the others pass as they
    are.

    The ids seen are remembered as their 64-bit hashes, sorted, in a few runs of doubling
    length, a chunk's hashes looked up in each run in their order (about 0.2 s of CPU for
    1,000,000 ids on the 2-core machine, in the thread that takes the results; a set of the
    ids' texts took 0.43-0.58 s); an id whose hash was seen is compared by its text with the
    ids kept (``ids``), so two ids that only share a hash are not taken for one."""

    def __init__(self, evaluate: Callable[[int, Checked], _Evaluated]):
        self.evaluate = evaluate
        self.runs: list[np.ndarray] = []
        self.ids: list[pl.Series] = []

    def _seen(self, ordered: np.ndarray) -> np.ndarray:
        """Whether each of these hashes (sorted: the runs are searched in order, from cache)
        was seen."""
        found = np.zeros(ordered.size, dtype=np.bool_)
        for run in self.runs:
            at = np.minimum(np.searchsorted(run, ordered), run.size - 1)
            found |= run[at] == ordered
        return found

    def _remember(self, ordered: np.ndarray, ids: pl.Series) -> None:
        if not ordered.size:
            return
        self.ids.append(ids)
        self.runs.append(ordered)
        while len(self.runs) > 1 and self.runs[-2].size <= 2 * self.runs[-1].size:
            b, a = self.runs.pop(), self.runs.pop()
            self.runs.append(np.sort(np.concatenate([a, b]), kind="stable"))

    def first(self, done: int, checked: Checked, result: _Result, flag: bool) -> _Evaluated:
        ids = checked.households["household_id"]
        hashes = ids.hash(seed=0x5EED).to_numpy()
        order = np.argsort(hashes)
        ordered = hashes[order]
        seen = self._seen(ordered)
        if not seen.any() and not (ordered[1:] == ordered[:-1]).any():
            self._remember(ordered, ids)
            return done, checked, result, flag
        maybe = np.empty_like(seen)
        maybe[order] = seen
        again = ~ids.is_first_distinct()
        if maybe.any():
            before = pl.concat(self.ids) if self.ids else pl.Series(dtype=pl.String)
            again |= pl.Series(maybe) & ids.is_in(before)
        self._remember(ordered, ids)
        if not again.any():  # ids that only share a hash with others
            return done, checked, result, flag
        rows = checked.first_rows.filter(again)
        refused = pl.DataFrame(
            [(int(row), household, "household", "DUPLICATE_HOUSEHOLD",
              "an earlier household of the register has the same household id: that one was "
              "screened, this one was not")
             for row, household in zip(rows, ids.filter(again), strict=True)],
            schema=ERRORS, orient="row")
        households, members, kept = subset(checked.households, checked.members, ~again)
        return self.evaluate(done, _refusing(replace(
            checked, households=households, members=members,
            first_rows=checked.first_rows.gather(kept)), refused))


def _refusing(checked: Checked, refused: pl.DataFrame) -> Checked:
    """``checked`` with more households refused: their errors (``ERRORS`` rows) among the
    others in row order, and their number."""
    return replace(checked, errors=pl.concat([checked.errors, refused]).sort(
        "row", maintain_order=True), rejected=checked.rejected + refused.height)


def check_chunk(chunk: Chunk, as_of: date) -> Checked:
    if chunk.frame is not None:
        checked = check_flat(chunk.frame, as_of, chunk.text)
        if chunk.incomplete is None:
            return checked
        return _refusing(checked, chunk.incomplete)  # households the source took out
    if chunk.rows is not None:
        return check_rows(chunk.rows, as_of)
    if chunk.lines is not None:
        return check_blocks(chunk.lines, as_of, chunk.checked)
    assert chunk.records is not None
    return check_records(chunk.records, as_of)


def screen_file(
    input_path: str | Path,
    output_path: str | Path,
    as_of: date,
    versions: Sequence[tuple[Program, VersionRef]],
    *,
    input_format: str | None = None,
    output_format_: str | None = None,
    statuses: frozenset[str] = ALL_STATUSES,
    terms: bool = False,
    errors_path: str | Path | None = None,
    chunk_rows: int | None = None,
    on_progress: ProgressHook | None = None,
    source: Source | None = None,
    workers: int = 2,
    compression: str = "lz4",
    order: str | None = None,
    layout: str = "long",
) -> dict[str, Any]:
    """Screen every household of a register; returns the summary (also written beside the
    output as ``*.summary.json`` and ``*.summary.md``). ``order`` is the outcome rows' order
    (``evaluate.ORDERS``); by default ``outcome`` for Parquet and ``household`` for CSV.
    ``layout`` is ``long`` (a row per outcome) or ``wide`` (every outcome: a row per
    household and per member, ``engine.batch.wide``; always in household order)."""
    started = time.perf_counter()
    out = Path(output_path)
    fmt = output_format(out, output_format_)
    check_layout(layout, statuses)
    wide = layout == "wide"
    order = "household" if wide else order or default_order(fmt)
    check_order(order)  # before any file is opened
    if chunk_rows is None:
        chunk_rows = default_chunk_rows(statuses, layout)
    src = source or open_source(input_path, input_format, chunk_rows)
    errors_file = Path(errors_path) if errors_path else sibling(out, ".errors.csv")
    evaluator = evaluator_for(versions, as_of)
    columns: WideLayout | None = wide_layout(evaluator, terms) if wide else None
    writer = _BackgroundWriter(OutcomeWriter(
        out, fmt, compression, headers=columns.zh_headers() if columns else None))
    errors = ErrorWriter(errors_file)
    totals = _Totals()
    progress = Progress(src.total, src.unit)
    try:
        def work(box: list[Chunk]) -> _Evaluated:
            # The box holds the only reference to the chunk: its rows are freed as soon as
            # they are checked, not when the chunk's outcomes have been written.
            chunk = box.pop()
            done = chunk.done
            checked = check_chunk(chunk, as_of)
            del chunk
            return evaluated(done, checked)

        def evaluated(done: int, checked: Checked) -> _Evaluated:
            if columns is not None:
                if fmt == "csv":
                    rows = _wide_csv(evaluator, columns, checked)
                    if rows is not None:
                        return done, checked, rows, True
                wide = evaluate_wide(evaluator, columns, checked.households, checked.members)
                if fmt == "csv":
                    return (done, checked, *_quoted_ahead(wide, checked))
                return done, checked, wide, False
            return done, checked, evaluator.evaluate(checked.households, checked.members,
                                                     statuses, terms, order=order), False

        once = _Once(evaluated)

        # Two chunks in flight: much of the work is single-threaded polars calls that release
        # the GIL, so a second chunk uses the core the first leaves idle. Results are taken
        # in order, and one chunk more than the workers is queued: a worker that finishes
        # before the chunk ahead of it takes the queued one instead of waiting for the
        # oldest to be finished (1,000,000 households, JSON Lines -> wide CSV: one worker
        # busy alone 0.19-0.30 s of the run instead of 0.87-1.15; 40-50 MiB more memory).
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="screen") as pool:
            pending: deque[Future[_Evaluated]] = deque()
            # One chunk read ahead: every chunk held costs memory, and memory first touched
            # costs the kernel time (page faults) that a second chunk ahead would not repay.
            for item in _prefetch(src.chunks(), 1):
                pending.append(pool.submit(work, [item]))
                del item
                if len(pending) > workers:
                    _finish(once.first(*pending.popleft().result()), errors, writer, totals,
                            progress, on_progress)
            while pending:
                _finish(once.first(*pending.popleft().result()), errors, writer, totals,
                        progress, on_progress)
        rejected = getattr(src, "rejected_frame", None)
        if rejected is not None:  # rows the reader could not split into the header's cells
            errors.write(rejected())
    finally:
        writer.close()
        errors.close()
    if columns is not None:
        schema = columns.schema
    else:
        schema = dict(evaluator.schema)
        if not terms:
            del schema["terms"]
    writer.writer.close(schema)
    totals.error_rows = errors.rows
    seconds = time.perf_counter() - started
    summary = _summary(totals, str(input_path), out, fmt, errors_file, as_of, versions, statuses,
                       order, writer.writer.rows, seconds, columns)
    titles = outcome_titles(p for p, _ in versions)
    write_summary(sibling(out, ".summary.json"), summary, titles)
    if fmt == "xlsx":
        write_summary_xlsx(sibling(out, ".summary.xlsx"), summary, titles)
    return summary


def _wide_csv(evaluator: Evaluator, columns: WideLayout, checked: Checked) -> _WideRows | None:
    """The wide table as CSV text from its rows side by side (``writers.wide_csv``): about a
    third less CPU than the table put in place and written. None when a household goes to
    the interactive engine, or an id or a name would need quotes: the table in place then."""
    hh, members = checked.households, checked.members
    if quotes_needed(hh["household_id"], hh["regionCode"], members["member_id"]):
        return None
    sides = wide_sides(evaluator, columns, hh, members)
    if sides is None:
        return None
    rows = wide_csv(sides, list(columns.schema), WIDE_IDS)
    if rows is None:
        return None
    return _WideRows(rows, sides.summary, sides.counts)


def _quoted_ahead(wide: Wide, checked: Checked) -> tuple[Wide, bool]:
    """The wide table with its CSV quotes put in ahead (``quoted_ahead``), in the worker
    rather than the writer's thread: the CSV writer's check of every text cell costs more
    than the checks here (the ids checked once each, before they are repeated on every row;
    the JSON texts on their few rows). False: left to the writer's own quoting."""
    hh, members = checked.households, checked.members
    ids = (hh["household_id"], hh["regionCode"], members["member_id"])
    plain = () if quotes_needed(*ids) else WIDE_IDS
    frame = quoted_ahead(wide.outcomes, plain)
    if frame is None:
        return wide, False
    return replace(wide, outcomes=frame), True


def _finish(finished: _Evaluated, errors: ErrorWriter,
            writer: _BackgroundWriter, totals: _Totals, progress: Progress,
            on_progress: ProgressHook | None) -> None:
    done, checked, result, quoted = finished
    errors.write(checked.errors)
    errors.write(_evaluation_errors(result, checked))
    writer.write(result.outcomes, quoted)
    _add(totals, checked, result)
    progress.done = done
    progress.households = totals.households
    if on_progress is not None:
        on_progress(progress)


def _evaluation_errors(result: _Result, checked: Checked) -> pl.DataFrame:
    rows = [{"row": int(checked.first_rows[e.household]), "household_id": e.household_id,
             "field": "household", "code": "EVALUATION_ERROR", "message": e.message}
            for e in result.errors]
    return pl.DataFrame(rows, schema=ERRORS, orient="row")


def _add(t: _Totals, checked: Checked, result: _Result) -> None:
    hh = result.households
    t.screened += hh.height
    t.invalid += checked.rejected + len(result.errors)
    t.households += checked.households.height + checked.rejected
    t.flagged += int(hh["flagged"].sum())
    t.counts.append(result.counts)
    t.regions.append(hh.group_by("region_code").agg(
        households=pl.len().cast(pl.Int64),
        members=pl.col("members").sum().cast(pl.Int64),
        flagged=pl.col("flagged").sum().cast(pl.Int64),
        granted=pl.col("granted").sum().cast(pl.Int64),
        undetermined=pl.col("undetermined").sum().cast(pl.Int64),
    ).rename({"region_code": "regionCode"}))
    # Keep the partial sums small.
    if len(t.regions) > 16:
        t.regions = [_merge_regions(t.regions)]
        t.counts = [_merge_counts(t.counts)]


def _merge_regions(frames: list[pl.DataFrame]) -> pl.DataFrame:
    if not frames:
        return pl.DataFrame(schema=REGIONS)
    return pl.concat(frames).group_by("regionCode").agg(
        pl.col(c).sum() for c in REGIONS if c != "regionCode").sort("regionCode")


def _merge_counts(frames: list[pl.DataFrame]) -> pl.DataFrame:
    if not frames:
        return pl.DataFrame(schema=COUNTS)
    # Sorted on every key: the summary's order does not depend on the grouping's.
    keys = ["program", "version", "code", "status", "period"]
    return pl.concat(frames).group_by(keys).agg(
        outcomes=pl.col("outcomes").sum(),
        amount_fen=pl.when(pl.col("amount_fen").is_not_null().any())
        .then(pl.col("amount_fen").sum()),
    ).select(list(COUNTS)).sort(keys, nulls_last=True)


def _yuan(count: dict[str, Any]) -> dict[str, Any]:
    """A count row of the summary: its exact sum of fen as yuan (the double nearest it)."""
    fen = count.pop("amount_fen")
    return {**count, "amount": None if fen is None else fen / 100}


def _summary(t: _Totals, input_path: str, out: Path, fmt: str, errors_file: Path, as_of: date,
             versions: Sequence[tuple[Program, VersionRef]], statuses: frozenset[str],
             order: str, outcome_rows: int, seconds: float,
             columns: WideLayout | None = None) -> dict[str, Any]:
    program_order = {p.code: i for i, (p, _) in enumerate(versions)}
    code_order = {(p.code, c): j for p, _ in versions for j, c in enumerate(p.outcome_codes())}
    status_order = {"GRANTED": 0, "UNDETERMINED": 1, "NOT_GRANTED": 2}
    counts = [_yuan(r) for r in _merge_counts(t.counts).iter_rows(named=True)]
    counts.sort(key=lambda r: (program_order.get(r["program"], len(program_order)),
                               code_order.get((r["program"], r["code"]), 0),
                               status_order.get(r["status"], 3), r["period"] or ""))
    regions = _merge_regions(t.regions).to_dicts()
    return {
        "asOf": as_of.isoformat(),
        "input": input_path,
        "output": str(out),
        "outputFormat": fmt,
        "errors": str(errors_file),
        "statusesWritten": sorted(statuses, key=lambda s: status_order[s]),
        "layout": "long" if columns is None else "wide",
        "order": order,
        "versions": [{"program": p.code, "version": p.document.version, "id": r.id,
                      "contentHash": p.content_hash} for p, r in versions],
        "households": {"read": t.households, "screened": t.screened, "invalid": t.invalid,
                       "flagged": t.flagged},
        "outcomeRows": outcome_rows,
        # The wide layout's outcome columns (code, level, amount column, period).
        **({"columns": columns.described()} if columns is not None else {}),
        "errorRows": t.error_rows,
        "byProgram": counts,
        "byRegion": regions,
        "seconds": round(seconds, 3),
        "householdsPerSecond": round(t.households / seconds, 1) if seconds > 0 else 0.0,
    }
