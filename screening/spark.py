"""The same chunk evaluator on Apache Spark, for registers one machine cannot screen in time.

The register is a Spark DataFrame in the flat layout (a Parquet directory or a Hive table:
one row per member with the household's columns; see docs/screening.md). Rows are
repartitioned by ``householdId`` and sorted within each partition, so that a household's rows
are adjacent in one partition and its members keep their order; ``mapInArrow`` then hands each
partition's Arrow batches to the very functions the local backend uses
(``layout.check_flat``, ``Evaluator.evaluate``), a household straddling two batches being held
back as in a local run. Every Python worker compiles the versions once.

Results come back as one DataFrame of tagged records (outcome rows, error rows, per-household
and per-code figures), from which the driver writes the outcome table (Parquet), the errors
(CSV) and the summary.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from engine.batch import evaluator_for
from engine.batch.evaluate import Evaluated
from engine.batch.layout import ROW, LayoutError, check_columns, check_flat
from engine.batch.table import ALL_STATUSES
from policy.catalog import VersionRef
from policy.document import Program
from screening.sources import Chunk, complete_households, with_last
from screening.writers import UNKNOWN_CODE_ZH, error_texts

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession


class SparkUnavailable(RuntimeError):
    """pyspark is not installed (``pip install 'policy-engine[spark]'``)."""


# One schema for every record the workers send back; ``record`` says which kind it is.
RECORD_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    ("record", pa.string()),          # outcome | error | household | count
    ("household_id", pa.string()),
    ("member_id", pa.string()),
    ("region_code", pa.string()),
    ("program", pa.string()),
    ("version", pa.int32()),
    ("version_hash", pa.string()),
    ("code", pa.string()),
    ("status", pa.string()),
    ("amount", pa.float64()),
    ("amount_fen", pa.int64()),       # counts: the sum of the amounts in fen (exact)
    ("period", pa.string()),
    ("flags_monitoring", pa.bool_()),
    ("terms", pa.string()),
    ("missing_facts", pa.string()),
    ("seq", pa.int32()),              # an outcome's place among its household's outcomes
    ("row", pa.int64()),              # errors: the record (see docs/screening.md)
    ("field", pa.string()),
    ("error_code", pa.string()),
    ("message", pa.string()),
    ("members", pa.int64()),          # households: members; counts: outcomes
    ("flagged", pa.bool_()),
    ("granted", pa.int64()),
    ("undetermined", pa.int64()),
)
RECORD_SCHEMA = pa.schema(list(RECORD_FIELDS))
OUTCOME_FIELDS = ("household_id", "member_id", "region_code", "program", "version",
                  "version_hash", "code", "status", "amount", "period", "flags_monitoring",
                  "terms", "missing_facts")


def _spark_schema() -> str:
    types = {pa.string(): "string", pa.int32(): "int", pa.int64(): "bigint",
             pa.float64(): "double", pa.bool_(): "boolean"}
    return ", ".join(f"{name} {types[t]}" for name, t in RECORD_FIELDS)


def _records(kind: str, frame: pl.DataFrame, **extra: Any) -> pa.RecordBatch:
    """Rows of one kind as a batch of the record schema (absent fields null)."""
    n = frame.height
    cols = {}
    for name, t in RECORD_FIELDS:
        if name == "record":
            cols[name] = pa.array([kind] * n, pa.string())
        elif name in extra:
            cols[name] = pa.array([extra[name]] * n, t)
        elif name in frame.columns:
            arr = frame[name].to_arrow()
            if isinstance(arr, pa.ChunkedArray):
                arr = arr.combine_chunks()
            if pa.types.is_dictionary(arr.type):
                arr = arr.dictionary_decode()
            cols[name] = arr.cast(t)
        else:
            cols[name] = pa.nulls(n, t)
    return pa.RecordBatch.from_pydict(cols, schema=RECORD_SCHEMA)


def evaluate_batches(batches: Iterator[pa.RecordBatch], versions: Sequence[tuple[Program,
                     VersionRef]], as_of: date, statuses: frozenset[str], terms: bool
                     ) -> Iterator[pa.RecordBatch]:
    """What each Spark task runs: flat-layout batches of whole, adjacent households (a
    household may straddle two batches) in, tagged records out."""
    evaluator = evaluator_for(versions, as_of)

    def frames() -> Iterator[tuple[pl.DataFrame, int]]:
        for batch in batches:
            frame = pl.from_arrow(pa.Table.from_batches([batch]))
            assert isinstance(frame, pl.DataFrame)
            yield frame, 0

    for chunk in complete_households(with_last(frames()), text=False):
        yield from _evaluate_chunk(chunk, evaluator, as_of, statuses, terms)


def _evaluate_chunk(chunk: Chunk, evaluator: Any, as_of: date, statuses: frozenset[str],
                    terms: bool) -> Iterator[pa.RecordBatch]:
    assert chunk.frame is not None
    checked = check_flat(chunk.frame, as_of, text=False)
    result: Evaluated = evaluator.evaluate(checked.households, checked.members, statuses,
                                           terms)
    outcomes = pl.from_arrow(result.outcomes)
    assert isinstance(outcomes, pl.DataFrame)
    if outcomes.height:
        outcomes = outcomes.with_columns(
            pl.col(c).cast(pl.String) for c, t in outcomes.schema.items()
            if isinstance(t, pl.Categorical | pl.Enum))
        outcomes = outcomes.with_columns(
            seq=pl.int_range(pl.len(), dtype=pl.Int32).over("household_id"))
        yield _records("outcome", outcomes)
    if checked.errors.height:
        yield _records("error", checked.errors.rename({"code": "error_code"}))
    if result.errors:
        errs = pl.DataFrame({
            "row": [int(checked.first_rows[e.household]) for e in result.errors],
            "household_id": [e.household_id for e in result.errors],
            "field": ["household"] * len(result.errors),
            "error_code": ["EVALUATION_ERROR"] * len(result.errors),
            "message": [e.message for e in result.errors],
        })
        yield _records("error", errs)
    if result.households.height:
        yield _records("household", result.households.with_columns(
            pl.col("members", "granted", "undetermined").cast(pl.Int64)))
    if result.counts.height:
        yield _records("count", result.counts.rename({"outcomes": "members"}))


def spark_session(master: str | None = None, app: str = "policy-engine screen"
                  ) -> SparkSession:
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise SparkUnavailable(
            "pyspark is not installed; pip install 'policy-engine[spark]' (Java 17 needed)"
        ) from exc
    builder = SparkSession.builder.appName(app)
    if master:
        builder = builder.master(master)
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # started by spark-submit
    if (master or "").startswith("local") or (master is None and not submitted):
        # Local workers run this interpreter (with polars and this package importable); on a
        # cluster, spark.pyspark.python says which one.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return builder.getOrCreate()


def screen_dataframe(df: DataFrame, as_of: date,
                     versions: Sequence[tuple[Program, VersionRef]], *,
                     statuses: frozenset[str] = ALL_STATUSES, terms: bool = False,
                     partitions: int | None = None) -> DataFrame:
    """The tagged records of screening a flat-layout DataFrame (lazy, like any DataFrame)."""
    from pyspark.sql import functions as F

    check_columns(c for c in df.columns if c != ROW)
    versions = list(versions)
    if ROW not in df.columns:
        # Spark has no record numbers; the error rows report Spark's row id instead.
        df = df.withColumn(ROW, F.monotonically_increasing_id() + F.lit(1))
    keyed = (df.repartition(partitions, "householdId") if partitions
             else df.repartition("householdId"))
    ordered = keyed.sortWithinPartitions("householdId", ROW)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return evaluate_batches(batches, versions, as_of, statuses, terms)

    return ordered.mapInArrow(run, _spark_schema())


def screen_with_spark(input_path: str, output_path: str, as_of: date,
                      versions: Sequence[tuple[Program, VersionRef]], *,
                      statuses: frozenset[str] = ALL_STATUSES, terms: bool = False,
                      input_format: str = "parquet", master: str | None = None,
                      partitions: int | None = None,
                      spark: SparkSession | None = None,
                      compression: str = "lz4") -> dict[str, Any]:
    """Screen a Parquet register (file, directory or ``table:NAME`` for a Hive table) on
    Spark: the outcome table as a Parquet directory at ``output_path``, the errors as a CSV
    directory beside it, the summary as JSON."""
    from pyspark.sql import functions as F

    started = time.perf_counter()
    if input_format != "parquet" and not input_path.startswith("table:"):
        raise LayoutError("the Spark backend reads Parquet (or a table:NAME); convert CSV or "
                          "JSON Lines with the local backend or Spark first")
    session = spark or spark_session(master)
    df = (session.table(input_path[len("table:"):]) if input_path.startswith("table:")
          else session.read.parquet(input_path))
    records = screen_dataframe(df, as_of, versions, statuses=statuses, terms=terms,
                               partitions=partitions).cache()
    out = Path(output_path)
    outcomes = records.filter(F.col("record") == "outcome").select(
        *[c for c in OUTCOME_FIELDS if terms or c != "terms"])
    codec = {"lz4": "lz4_raw", "none": "uncompressed"}.get(compression, compression)
    outcomes.write.mode("overwrite").option("compression", codec).parquet(str(out))
    errors_dir = out.with_name(out.name.removesuffix(".parquet") + ".errors")
    chinese = F.create_map(*[F.lit(x) for pair in sorted(error_texts().items()) for x in pair])
    records.filter(F.col("record") == "error").select(
        "row", "household_id", "field", F.col("error_code").alias("code"),
        F.coalesce(chinese[F.col("error_code")], F.concat(
            F.lit(UNKNOWN_CODE_ZH[0]), F.col("error_code"), F.lit(UNKNOWN_CODE_ZH[1]))
        ).alias("message"),
        F.col("message").alias("message_en"),
    ).write.mode("overwrite").option("header", True).csv(str(errors_dir))
    households = records.filter(F.col("record") == "household")
    regions = households.groupBy(F.col("region_code").alias("regionCode")).agg(
        F.count("*").alias("households"), F.sum("members").alias("members"),
        F.sum(F.col("flagged").cast("long")).alias("flagged"),
        F.sum("granted").alias("granted"), F.sum("undetermined").alias("undetermined"),
    ).orderBy("regionCode").collect()
    counts = records.filter(F.col("record") == "count").groupBy(
        "program", "version", "code", "status", "period").agg(
        F.sum("members").alias("outcomes"), F.sum("amount_fen").alias("amount_fen")).collect()
    sizes = {r["record"]: (int(r["rows"]), int(r["households"])) for r in records.filter(
        F.col("record").isin("outcome", "error")).groupBy("record").agg(
        F.count("*").alias("rows"), F.countDistinct("household_id").alias("households")
    ).collect()}
    records.unpersist()
    seconds = time.perf_counter() - started
    screened = sum(int(r["households"]) for r in regions)
    flagged = sum(int(r["flagged"] or 0) for r in regions)
    outcome_rows = sizes.get("outcome", (0, 0))[0]
    error_rows, invalid = sizes.get("error", (0, 0))
    program_order = {p.code: i for i, (p, _) in enumerate(versions)}
    code_order = {(p.code, c): j for p, _ in versions for j, c in enumerate(p.outcome_codes())}
    status_order = {"GRANTED": 0, "UNDETERMINED": 1, "NOT_GRANTED": 2}
    by_program = sorted(
        ({"program": r["program"], "version": r["version"], "code": r["code"],
          "status": r["status"], "period": r["period"], "outcomes": int(r["outcomes"]),
          "amount": None if r["amount_fen"] is None or r["status"] != "GRANTED"
          else int(r["amount_fen"]) / 100} for r in counts),
        key=lambda r: (program_order.get(r["program"], 99), code_order.get(
            (r["program"], r["code"]), 0), status_order.get(r["status"], 3),
            r["period"] or ""))
    summary = {
        "asOf": as_of.isoformat(),
        "input": input_path,
        "output": str(out),
        "errors": str(errors_dir),
        "statusesWritten": sorted(statuses, key=lambda s: status_order[s]),
        "versions": [{"program": p.code, "version": p.document.version, "id": r.id,
                      "contentHash": p.content_hash} for p, r in versions],
        "households": {"read": screened + invalid, "screened": screened, "invalid": invalid,
                       "flagged": flagged},
        "outcomeRows": outcome_rows,
        "errorRows": error_rows,
        "byProgram": by_program,
        "byRegion": [{k: (int(v) if isinstance(v, int) else v) for k, v in r.asDict().items()}
                     for r in regions],
        "seconds": round(seconds, 3),
        "householdsPerSecond": round((screened + invalid) / seconds, 1) if seconds else 0.0,
        "backend": "spark",
    }
    summary_path = out.with_name(out.name.removesuffix(".parquet") + ".summary.json")
    summary_path.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n",
                            encoding="utf-8")
    return summary
