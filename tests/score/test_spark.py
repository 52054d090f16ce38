"""`ids_inference.spark.score` in local mode answers what the command line answers."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from ids_inference.spark import score as spark_score
from score.errors import ScoreError
from score.layout import column_keys
from tests.score.conftest import Score

pyspark = pytest.importorskip("pyspark", reason="pyspark is in the spark and dev extras")
SHARED = "friday-ddos-trafficlabelling.csv"


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    # Spark binds to the first non-loopback address it finds unless told: tests stay on loopback.
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    # Python workers run this interpreter (the one with onnxruntime), not the first `python3`.
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .appName("ids-inference-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "256")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    # py4j says goodbye at INFO when the interpreter exits, after pytest's summary.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    try:
        yield session
    finally:
        session.stop()
        monkeypatch.undo()


def frame(spark: Any, path: Path) -> Any:
    """The file as a Spark DataFrame, columns named as pandas names them (`... .1`)."""
    table = pa_csv.read_csv(path, read_options=pa_csv.ReadOptions(encoding="latin-1"))
    table = table.rename_columns(column_keys(table.column_names))
    return spark.createDataFrame(table.to_pandas()).repartition(3)


def test_spark_scores_as_the_command_line_does(
    spark: Any, cicids_dir: Path, repository: Path, score: Score, tmp_path: Path
) -> None:
    path = cicids_dir / SHARED
    output = tmp_path / "cli.parquet"
    models = ["random_forest", "xgboost:1"]
    assert score(path, "-o", output, *[a for m in models for a in ("--model", m)]).code == 0
    expected: Any = pq.read_table(output).to_pandas()
    result: Any = spark_score(frame(spark, path), repository, model=models).toPandas()
    assert list(result.columns) == list(expected.columns)
    # Partitions may come back in any order: compare sorted by every column.
    columns = list(expected.columns)
    assert (
        result.sort_values(columns)
        .reset_index(drop=True)
        .equals(expected.sort_values(columns).reset_index(drop=True))
    )


def test_spark_refuses_a_frame_without_the_features(spark: Any, repository: Path) -> None:
    df = spark.createDataFrame([(1.0, 2.0)], ["Flow Duration", "Destination Port"])
    with pytest.raises(ScoreError, match="the DataFrame: missing 76 of the 78 feature columns"):
        spark_score(df, repository)
