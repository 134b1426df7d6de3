"""The interactive engine's answers for generated households, in the batch table's shape.

``engine.determine`` explains every outcome and takes about a millisecond per household and
program, so the reference for the differential test (10,000 households for each shipped
version) is computed in worker processes and cached between runs under pytest's cache
directory, keyed by the content of every source file the answer depends on (the engine, the
policy package, the rule sets) and the versions of durable_rules and pydantic. Any change to
those recomputes it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import random
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parents[2]
HOUSEHOLDS_PER_VERSION = 10_000
BLOCK = 1_000

COLUMNS = ("household_id", "member_id", "program", "version", "version_hash", "code", "status",
           "amount", "period", "flags_monitoring", "terms", "missing_facts")


def source_key() -> str:
    """A hash of everything the interactive engine's answer depends on."""
    h = hashlib.sha256()
    for folder in ("engine", "policy", "fixtures/rulesets", "services"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".yaml", ".yml", ".json") \
                    and "batch" not in path.parts:
                h.update(str(path.relative_to(ROOT)).encode())
                h.update(path.read_bytes())
    for dist in ("durable-rules", "pydantic", "pydantic-core"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            h.update(f"{dist}={metadata.version(dist)}".encode())
    return h.hexdigest()[:24]


@functools.cache
def dates_for(version_id: str) -> list[date]:
    """Evaluation dates inside the version's time in force (its first day among them)."""
    from services.rulesets import load_catalog
    from testing.households import AS_OF_DATES

    catalog = load_catalog()
    record = next(r for r in catalog.records if r.id == version_id)
    ref = catalog.ref(record)
    start = ref.effective_from or date(2023, 1, 1)
    end = ref.effective_to or date(2026, 12, 31)
    inside = [d for d in AS_OF_DATES if start <= d <= end]
    extra = [start, start + timedelta(days=45), end if ref.effective_to else date(2026, 6, 30)]
    return sorted(set(inside + extra))


def households(version_id: str, block: int) -> list[tuple[date, dict[str, Any]]]:
    """Block ``block`` of the generated households for a version, with their dates."""
    from testing.households import random_household

    rng = random.Random(f"{version_id}/{block}")
    dates = dates_for(version_id)
    out = []
    for i in range(BLOCK):
        as_of = dates[(block * BLOCK + i) % len(dates)]
        out.append((as_of, random_household(rng, as_of, hid=f"{version_id}-{block}-{i}")))
    return out


@functools.cache
def versions_of(version_id: str) -> list[Any]:
    from services.rulesets import load_catalog

    catalog = load_catalog()
    record = next(r for r in catalog.records if r.id == version_id)
    return [(record.program, catalog.ref(record))]


def reference_rows(version_id: str, block: int) -> list[dict[str, Any]]:
    """What engine.determine says for one block (runs in a worker process)."""
    from engine.batch.table import determination_rows
    from engine.determine import determine

    versions = versions_of(version_id)
    rows: list[dict[str, Any]] = []
    for as_of, hh in households(version_id, block):
        det = determine(hh, as_of, versions)
        for r in determination_rows(det, hh.get("regionCode", "000000")):
            r["flagged"] = det.flagged_for_monitoring
            rows.append(r)
    return rows


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = {"household_id": pl.String, "member_id": pl.String, "region_code": pl.String,
              "program": pl.String, "version": pl.Int32, "version_hash": pl.String,
              "code": pl.String, "status": pl.String, "amount": pl.Float64,
              "period": pl.String, "flags_monitoring": pl.Boolean, "terms": pl.String,
              "missing_facts": pl.String, "flagged": pl.Boolean}
    return pl.DataFrame(rows, schema=schema, orient="row")


def reference(cache_dir: Path, version_ids: list[str]) -> dict[str, pl.DataFrame]:
    """The reference tables of the versions, computed (in parallel) unless cached."""
    key = source_key()
    out: dict[str, pl.DataFrame] = {}
    todo = []
    for vid in version_ids:
        path = cache_dir / f"{vid}-{HOUSEHOLDS_PER_VERSION}-{key}.parquet"
        if path.exists():
            out[vid] = pl.read_parquet(path)
        else:
            todo.append(vid)
    if todo:
        jobs = [(vid, b) for vid in todo for b in range(HOUSEHOLDS_PER_VERSION // BLOCK)]
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=max(1, os.cpu_count() or 1),
                                 mp_context=ctx) as pool:
            results = list(pool.map(_job, jobs))
        for vid in todo:
            rows = [r for (v, _), block_rows in zip(jobs, results, strict=True) if v == vid
                    for r in block_rows]
            frame = _frame(rows)
            for stale in cache_dir.glob(f"{vid}-*.parquet"):
                stale.unlink()
            frame.write_parquet(cache_dir / f"{vid}-{HOUSEHOLDS_PER_VERSION}-{key}.parquet")
            out[vid] = frame
    return out


def _job(job: tuple[str, int]) -> list[dict[str, Any]]:
    return reference_rows(*job)


def by_outcome(rows: list[dict[str, Any]],
               every: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Rows in the interactive engine's order (household, program, code, member) put in the
    outcome order: code by code, in the order the codes first appear (in ``every``, a
    household's rows of every outcome, when ``rows`` are only some), each code's rows in
    their household order."""
    codes: dict[tuple[str, str], int] = {}
    for r in every or rows:
        codes.setdefault((r["program"], r["code"]), len(codes))
    return sorted(rows, key=lambda r: codes[(r["program"], r["code"])])


def normalise(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows as tuples, JSON texts parsed (so 1e-07 and 1e-7 compare equal, floats exactly)."""
    out = []
    for r in rows:
        terms = json.loads(r["terms"]) if r.get("terms") else None
        missing = json.loads(r["missing_facts"]) if r.get("missing_facts") else None
        out.append(tuple(
            tuple((t["key"], t["value"], t["unit"]) for t in terms) if c == "terms" and terms
            else None if c == "terms" else
            tuple(missing) if c == "missing_facts" and missing else
            None if c == "missing_facts" else r[c]
            for c in COLUMNS))
    return out
