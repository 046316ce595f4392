"""Batch inference: score a table with the `champion` model into `<catalog>.<schema>.predictions`.

Each run is one batch (`batch_id`, today's date by default). The predictions table keeps every
batch, with the model version and time of scoring, so monitoring can look back in time;
scoring a batch again replaces that batch in one transaction (no duplicates, nothing lost).

The label column (`fare_amount`) is always written empty, even when the input has fares: the
real fare of a trip arrives later and reaches the predictions through the labels table
(`labels.py`), so there is one way in for ground truth, not two that could disagree.

Locally the input is read in chunks and written as a stream, so memory stays bounded whatever
the table size; on Databricks the model runs on the cluster through `mlflow.pyfunc.spark_udf`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone

import numpy as np
import pandas as pd
import pyarrow as pa

from . import config, data, features, runtime

log = logging.getLogger(__name__)

CHUNK_ROWS = 250_000
PREDICTION_SCHEMA = pa.schema(
    [
        pa.field(features.ID, pa.int64()),
        pa.field(features.TIMESTAMP, pa.timestamp("us")),
        pa.field("trip_distance", pa.float64()),
        pa.field("trip_duration_minutes", pa.float64()),
        pa.field("pickup_hour", pa.int64()),
        pa.field("pickup_weekday", pa.int64()),
        pa.field("pickup_zip", pa.int64()),
        pa.field("dropoff_zip", pa.int64()),
        pa.field(features.LABEL, pa.float64()),  # null until labels are attached
        pa.field("prediction", pa.float64()),
        pa.field("model_version", pa.string()),
        pa.field("scored_at", pa.timestamp("us", tz="UTC")),
        pa.field("batch_id", pa.string()),
    ]
)
# What scoring reads from the input: the trips without their fare.
INPUT_COLUMNS = [column for column in data.TRIP_COLUMNS if column != features.LABEL]
_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


@dataclass
class ScoreResult:
    table: str
    batch_id: str
    rows: int
    model_version: str


def predictions_table(catalog: str, schema: str) -> str:
    return runtime.full_name(catalog, schema, config.PREDICTIONS_TABLE)


def resolve_batch_id(batch_id: str | None) -> str:
    batch_id = (batch_id or "").strip() or date.today().isoformat()
    if not _BATCH_ID.match(batch_id):
        raise runtime.MlopsError(f"batch_id {batch_id!r} may only hold letters, digits and _ . : -")
    return batch_id


def score_frame(model, trips: pd.DataFrame, version: str, scored_at, batch_id: str):
    """One chunk of raw trips -> prediction rows: features, an empty label, the prediction and
    the bookkeeping columns."""
    rows = features.add_features(trips)
    rows[features.LABEL] = np.nan
    rows["prediction"] = model.predict(rows[features.MODEL_FEATURES])
    rows["model_version"] = version
    rows["scored_at"] = scored_at
    rows["batch_id"] = batch_id
    return rows


def score(
    catalog: str = config.PROD_CATALOG,
    schema: str = config.SCHEMA,
    model_name: str = config.MODEL_NAME,
    input_table: str = config.INPUT_TABLE,
    batch_id: str = "",
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
) -> ScoreResult:
    """Score every row of `input_table` with the champion of `<catalog>.<schema>.<model_name>`."""
    registered_name = runtime.full_name(catalog, schema, model_name)
    version = runtime.require_alias(
        registered_name,
        config.CHAMPION,
        ": train, validate and deploy (or promote) a version first",
    )
    batch_id = resolve_batch_id(batch_id)
    target = predictions_table(catalog, schema)
    data.require_table(input_table)
    model_uri = f"models:/{registered_name}/{version}"
    if runtime.use_spark():
        rows = _score_spark(model_uri, input_table, target, version, batch_id)
    else:
        rows = _score_local(model_uri, input_table, target, version, batch_id, chunk_rows, progress)
    log.info(
        "scored %s rows of %s with %s version %s into %s (batch %s)",
        f"{rows:,}",
        input_table,
        registered_name,
        version,
        target,
        batch_id,
    )
    return ScoreResult(target, batch_id, rows, version)


def _score_local(model_uri, input_table, target, version, batch_id, chunk_rows, progress) -> int:
    import mlflow

    model = mlflow.pyfunc.load_model(model_uri)
    scored_at = pd.Timestamp(datetime.now(timezone.utc))
    total = 0

    chunks = data.iter_batches(input_table, chunk_rows, columns=INPUT_COLUMNS)

    def scored_batches() -> Iterator[pa.RecordBatch]:
        nonlocal total
        for chunk in chunks:
            rows = score_frame(model, chunk, version, scored_at, batch_id)
            total += len(rows)
            if progress:
                progress(total)
            yield pa.RecordBatch.from_pandas(
                rows[PREDICTION_SCHEMA.names], schema=PREDICTION_SCHEMA, preserve_index=False
            )

    # One write for all chunks: the batch is replaced atomically, never half-written.
    reader = pa.RecordBatchReader.from_batches(PREDICTION_SCHEMA, scored_batches())
    data.write_table(reader, target, mode="append", replace={"batch_id": batch_id})
    return total


def _score_spark(model_uri, input_table, target, version, batch_id) -> int:
    import mlflow
    from pyspark.sql import functions as F

    spark = runtime.get_spark()
    trips = spark.table(data.quoted(input_table))
    # Same pandas feature code as training, run on the executors batch by batch.
    rows = (
        trips.select(*INPUT_COLUMNS)
        .mapInPandas(
            lambda batches: (features.add_features(b)[features.OUTPUT_COLUMNS] for b in batches),
            schema=features.SPARK_SCHEMA,
        )
        .withColumn(features.LABEL, F.lit(None).cast("double"))
    )
    predict = mlflow.pyfunc.spark_udf(spark, model_uri, result_type="double", env_manager="local")
    scored = (
        rows.withColumn("prediction", predict(F.struct(*features.MODEL_FEATURES)))
        .withColumn("model_version", F.lit(version))
        .withColumn("scored_at", F.lit(datetime.now(timezone.utc)).cast("timestamp"))
        .withColumn("batch_id", F.lit(batch_id))
    )
    data.write_table(scored, target, mode="append", replace={"batch_id": batch_id})
    return trips.count()
