"""A household id screened once: later households with an id an earlier household of the
register has are refused (``DUPLICATE_HOUSEHOLD``), in whichever chunk they are, whatever the
input; the first is screened, and nothing is counted or paid twice."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from engine.batch.layout import ERRORS, Checked
from screening.runner import _Once, screen_file
from screening.sources import open_source
from services.rulesets import load_catalog
from testing.households import random_household

AS_OF = date(2024, 6, 1)
ALL = frozenset({"GRANTED", "NOT_GRANTED", "UNDETERMINED"})


def _households(n: int) -> list[dict[str, object]]:
    rng = random.Random(20240601)
    return [random_household(rng, AS_OF, hid=f"hh-{i:04d}") for i in range(n)]


def _screen(path: Path, chunk_rows: int) -> tuple[dict[str, object], pl.DataFrame, pl.DataFrame]:
    summary = screen_file(path, path.with_name("out.parquet"), AS_OF,
                          load_catalog().in_force(AS_OF), statuses=ALL,
                          source=open_source(path, chunk_rows=chunk_rows))
    return (summary, pl.read_parquet(path.with_name("out.parquet")),
            pl.read_csv(path.with_name("out.errors.csv")))


@pytest.mark.parametrize("chunk_rows", [8, 100_000])
def test_a_repeated_household_is_screened_once(tmp_path: Path, chunk_rows: int) -> None:
    households = _households(60)
    # hh-0003 again right after itself, hh-0010 again 40 households on (another chunk when
    # chunks are small), hh-0020 twice more.
    lines = [*households[:4], households[3], *households[4:50], households[10],
             households[20], *households[50:], households[20]]
    path = tmp_path / "register.jsonl"
    path.write_text("".join(json.dumps(h) + "\n" for h in lines), encoding="utf-8")
    summary, outcomes, errors = _screen(path, chunk_rows)
    refused = errors.filter(pl.col("code") == "DUPLICATE_HOUSEHOLD")
    assert refused.select("row", "household_id").rows() == [
        (5, "hh-0003"), (52, "hh-0010"), (53, "hh-0020"), (64, "hh-0020")]
    zh = "登记表中此前已有相同户编号的家庭（已筛查），此户未筛查"
    assert refused["message"].to_list() == [zh] * 4
    # The first of each is screened, once: the same outcomes as the register without repeats.
    once = tmp_path / "once.jsonl"
    once.write_text("".join(json.dumps(h) + "\n" for h in households), encoding="utf-8")
    _, expected, _ = _screen(once, chunk_rows)
    assert outcomes.sort(["household_id", "code", "member_id"]).equals(
        expected.sort(["household_id", "code", "member_id"]))
    counts = summary["households"]
    assert isinstance(counts, dict)
    assert counts["screened"] == 60 and counts["invalid"] == 4 and counts["read"] == 64


def test_a_repeated_household_in_a_csv_register(tmp_path: Path) -> None:
    head = "householdId,memberId,birthDate,relation,annualNetIncome\n"
    rows = ["h1,m1,1980-01-01,HEAD,1000", "h1,m2,1982-01-01,SPOUSE,1000",
            "h2,m1,1980-01-01,HEAD,5000", "h1,m1,1970-01-01,HEAD,900000"]
    path = tmp_path / "register.csv"
    path.write_text(head + "\n".join(rows) + "\n", encoding="utf-8")
    _, outcomes, errors = _screen(path, 100)
    assert errors.select("row", "household_id", "code").rows() == [
        (4, "h1", "DUPLICATE_HOUSEHOLD")]
    assert set(outcomes["household_id"]) == {"h1", "h2"}
    # h1 as its first rows say (two members), not the repeat's one member.
    assert outcomes.filter(pl.col("household_id") == "h1")["member_id"].drop_nulls().unique(
        ).sort().to_list() == ["m1", "m2"]


def _checked(ids: list[str]) -> Checked:
    households = pl.DataFrame({"household_id": ids})
    members = pl.DataFrame({"_h": pl.Series(range(len(ids)), dtype=pl.UInt32),
                            "member_id": ["m1"] * len(ids)})
    return Checked(households, members, pl.DataFrame(schema=ERRORS), 0,
                   pl.Series(range(1, len(ids) + 1), dtype=pl.Int64))


def test_ids_that_only_share_a_hash_are_not_one() -> None:
    """The ids seen are remembered by their hashes; one whose hash was seen is compared by its
    text before it is refused."""
    evaluated: list[list[str]] = []

    def evaluate(done: int, checked: Checked) -> tuple[int, Checked, object, bool]:
        evaluated.append(checked.households["household_id"].to_list())
        return done, checked, None, False

    once = _Once(evaluate)  # type: ignore[arg-type]
    first = _checked(["a", "b"])
    assert once.first(0, first, None, False)[1] is first  # type: ignore[arg-type]
    # As if "c" had the hash of an id seen before (it has not been seen).
    once.runs.append(np.sort(pl.Series(["c"]).hash(seed=0x5EED).to_numpy()))
    second = _checked(["c", "d"])
    assert once.first(1, second, None, False)[1] is second  # type: ignore[arg-type]
    assert evaluated == []
    third = _checked(["e", "a", "e"])  # "a" from the first chunk, "e" twice in its own
    got = once.first(2, third, None, False)[1]  # type: ignore[arg-type]
    assert evaluated == [["e"]]
    assert got.rejected == 2 and got.errors["household_id"].to_list() == ["a", "e"]
    assert got.first_rows.to_list() == [1] and got.members["_h"].to_list() == [0]
