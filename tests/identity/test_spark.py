"""The same model on Splink's Spark backend gives the same links as on DuckDB (small set)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from joinedup.identity.model import Scorer, TrainedModel, records_table

pytestmark = pytest.mark.spark


def test_spark_gives_the_same_pairs_and_weights_as_duckdb(
    tmp_path: Path, trained_model: TrainedModel, small_population: list[dict[str, object]]
) -> None:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession
    from splink.backends.spark import SparkAPI
    from splink.internals.spark.jar_location import similarity_jar_location

    records = records_table(small_population)
    spark = (
        SparkSession.builder.master("local[1]")
        .appName("joinedup-identity-test")
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.warehouse.dir", str(tmp_path / "warehouse"))
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    try:
        on_spark = Scorer(trained_model, db_api=SparkAPI(spark_session=spark, break_lineage_method="persist"))
        spark_pairs = on_spark.score_within(records, min_weight=-5.0)
    finally:
        spark.stop()
    duckdb_pairs = Scorer(trained_model).score_within(records, min_weight=-5.0)
    assert len(duckdb_pairs) > 10
    on_duckdb = {(pair.left, pair.right): round(pair.match_weight, 6) for pair in duckdb_pairs}
    assert {(pair.left, pair.right): round(pair.match_weight, 6) for pair in spark_pairs} == on_duckdb
