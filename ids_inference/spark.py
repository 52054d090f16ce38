"""Scoring a Spark DataFrame with the same artifacts and the same per-chunk function as
`ids-inference score`.

    from ids_inference.spark import score
    verdicts = score(flows, "artifacts", model=["random_forest", "xgboost"])

`score` runs `mapInPandas`: each Arrow batch of a partition goes through `score_table`, the
function the command line calls on each chunk it reads, with one onnxruntime session per model
per Python worker process, loaded on its first batch and kept (Spark reuses its Python workers).

The artifacts travel with the job: the chosen model versions are copied into a staging folder on
the driver, named by their sha256s, and shipped with `SparkContext.addFile`, so executors need no
shared file system. With `ship=False` every executor reads `artifacts` itself (a path they all
see, e.g. a mounted volume); nothing is copied.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from score.chunks import ScorerKey, scorer_for
from score.errors import BadRowError, ScoreError
from score.layout import IDENTIFIERS, column_name, locate
from score.models import ModelSpec, check_specs, load_models
from score.scoring import Scorer, score_table
from server.settings import default_model

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame
    from pyspark.sql.types import StructType


def score(
    df: DataFrame,
    artifacts: str | Path,
    model: str | Sequence[str] | None = None,
    *,
    threads: int = 1,
    batch_rows: int = 0,
    ship: bool = True,
) -> DataFrame:
    """Score every row of `df` (CICIDS2017 feature columns, by name) with the models of the
    repository `artifacts`: `NAME` or `NAME:VERSION`, one or several (default: the server's
    default model). Returns the command line's columns: `df`'s identifier columns, then
    `prediction`, `probability_<class>`..., `model`, `model_version` per model (prefixed
    `<model>_` when there are several). A null feature is NaN (pandas and Arrow write NaN as
    null), which the graph cleans as the training did; a non-numeric one fails the job, naming
    the column.
    """
    from pyspark import SparkFiles
    from pyspark.sql import SparkSession

    names = [model or default_model()] if model is None or isinstance(model, str) else model
    specs = tuple(ModelSpec.parse(name) for name in names)
    check_specs(specs)
    root = Path(artifacts)
    models = load_models(root, specs, threads)
    layout = locate(df.columns, Scorer(tuple(models), specs, ()).feature_names, "the DataFrame")
    found = {name for name, _ in layout.identifiers}
    identifiers = tuple(name for name in IDENTIFIERS if name in found)
    schema = _spark_schema(Scorer(tuple(models), specs, identifiers).schema)
    if ship:
        staged = _stage(root, models)
        spark = SparkSession.getActiveSession() or df.sparkSession
        spark.sparkContext.addFile(str(staged), recursive=True)
        shipped_name: str | None = staged.name
    else:
        shipped_name = None
    pinned = tuple(ModelSpec(m.name, m.manifest.version) for m in models)
    local_root = str(root.resolve())

    def score_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        where = SparkFiles.get(shipped_name) if shipped_name else local_root
        # Pinned versions: every executor scores with the version the driver checked.
        key = ScorerKey(where, pinned, threads, identifiers, batch_rows)
        scorer = scorer_for(key)
        labelled = Scorer(scorer.models, specs, identifiers, batch_rows)
        for frame in batches:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            scored = score_table(table, layout, labelled, nulls_are_nan=True)
            if scored.bad:
                reason = scored.bad[0].reason
                raise BadRowError(f"a row of the DataFrame cannot be scored: {reason}")
            yield scored.table.to_pandas()

    # Columns go to Python under their positions' names (`c0`, `c1`, ...), the names the
    # layout reads them by: Spark cannot even pass on a column whose name holds a dot
    # (`Fwd Header Length.1`), and unused columns stay in the JVM.
    used = sorted({*layout.features, *(position for _, position in layout.identifiers)})
    positional = df.toDF(*[column_name(i) for i in range(len(df.columns))])
    return positional.select(*[column_name(i) for i in used]).mapInPandas(score_batches, schema)


def _stage(root: Path, models: Sequence[Any]) -> Path:
    """The chosen versions, copied into a folder named by their graphs' sha256s (the same
    models stage to the same folder, so a second `score` call ships nothing new)."""
    digest = hashlib.sha256()
    for model in models:
        digest.update(f"{model.name}/{model.version}/{model.manifest.sha256}\n".encode())
    staged = Path(tempfile.gettempdir()) / f"ids-inference-artifacts-{digest.hexdigest()[:16]}"
    if not staged.is_dir():
        building = Path(tempfile.mkdtemp(prefix=".staging-", dir=staged.parent))
        for model in models:
            shutil.copytree(
                root / model.name / model.version, building / model.name / model.version
            )
        try:
            building.rename(staged)
        except OSError:  # staged meanwhile by another call: same content
            shutil.rmtree(building, ignore_errors=True)
    return staged


def _spark_schema(schema: pa.Schema) -> StructType:
    from pyspark.sql.types import FloatType, StringType, StructField, StructType

    types = {pa.string(): StringType(), pa.float32(): FloatType()}
    try:
        return StructType([StructField(item.name, types[item.type], True) for item in schema])
    except KeyError as error:
        raise ScoreError(f"no Spark type for the output column type {error}") from None
