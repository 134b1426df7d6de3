"""The chunk evaluator on Apache Spark (local mode) gives the local backend's table."""

from __future__ import annotations

import importlib.util
import json
import random
import shutil
import warnings
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from engine.batch.layout import flat_frame
from screening.runner import screen_file
from services.rulesets import load_catalog
from testing.households import random_household

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("pyspark") is None,
                       reason="pyspark is not installed (pip install 'policy-engine[spark]')"),
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime"),
    # pyspark itself warns (e.g. about its pandas support); those are not ours.
    pytest.mark.filterwarnings("ignore::DeprecationWarning",
                               "ignore::FutureWarning", "ignore::UserWarning",
                               "ignore::ResourceWarning"),
]


def test_spark_local_mode_gives_the_local_table(tmp_path: Path) -> None:
    from screening.spark import screen_with_spark, spark_session

    as_of = date(2024, 6, 1)
    versions = load_catalog().in_force(as_of)
    rng = random.Random(5)
    households = [random_household(rng, as_of, hid=f"s{i:04d}") for i in range(2000)]
    # A few invalid households too: they go to the errors, the rest is screened.
    households[7]["members"][0]["birthDate"] = "2030-01-01"
    households[8]["annualNetIncome"] = -1.0
    register = tmp_path / "register.parquet"
    flat_frame(households).write_parquet(register, row_group_size=500)
    local = tmp_path / "local.parquet"
    screen_file(register, local, as_of, versions, terms=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spark = spark_session("local[2]")
        spark.sparkContext.setLogLevel("ERROR")
        try:
            summary = screen_with_spark(str(register), str(tmp_path / "spark.parquet"), as_of,
                                        versions, terms=True, partitions=3, spark=spark)
        finally:
            spark.stop()

    key = ["household_id", "program", "code", "member_id"]

    def rows(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(pl.all().cast(pl.String)).sort(key, nulls_last=True)

    got = rows(pl.read_parquet(tmp_path / "spark.parquet" / "*.parquet"))
    expected = rows(pl.read_parquet(local))
    assert got.height == expected.height > 100_000
    assert got.equals(expected.select(got.columns))
    local_summary = json.loads((tmp_path / "local.summary.json").read_text())
    assert summary["households"] == local_summary["households"]
    assert summary["households"]["invalid"] == 2
    assert summary["byRegion"] == local_summary["byRegion"]
    assert summary["byProgram"] == local_summary["byProgram"]
    errors = pl.read_csv(tmp_path / "spark.errors" / "*.csv")
    assert sorted(errors["code"].to_list()) == ["BIRTH_AFTER_AS_OF", "NEGATIVE_AMOUNT"]
    assert sorted(errors["message"].to_list()) == ["出生日期晚于评估日期", "金额不能为负数"]
    assert errors["message_en"].null_count() == 0
