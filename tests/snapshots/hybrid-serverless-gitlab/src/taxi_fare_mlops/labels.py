"""Ground truth that arrives after scoring: the real fare of each trip, keyed by trip id.

When a trip is scored its fare is not known yet, so scoring leaves the label column of
`<catalog>.<schema>.predictions` empty. Later the fares arrive:

- `record_labels` upserts them into `<catalog>.<schema>.labels` (`trip_id`, `fare_amount`,
  `labelled_at`). A trip recorded again replaces its row, so a rerun never duplicates.
- `attach_labels` copies each known fare into the predictions that have no label yet. The
  monitoring check calls it first, and the Databricks quality monitor reads its label column from
  the predictions table, so both report error metrics as soon as labels exist.

Locally both are deltalake merges; on Databricks, Delta `MERGE INTO` statements through Spark.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone

import pandas as pd
import pyarrow as pa

from . import config, data, features, runtime
from .score import predictions_table

log = logging.getLogger(__name__)

ID, LABEL = features.ID, features.LABEL
LABELLED_AT = "labelled_at"
LABEL_SCHEMA = pa.schema(
    [
        pa.field(ID, pa.int64()),
        pa.field(LABEL, pa.float64()),
        pa.field(LABELLED_AT, pa.timestamp("us", tz="UTC")),
    ]
)
# Raw trips (the input of scoring) identify a trip by these columns; see `features.trip_ids`.
_TRIP_KEY_COLUMNS = [column for column in data.TRIP_COLUMNS if column != LABEL]


def labels_table(catalog: str, schema: str) -> str:
    return runtime.full_name(catalog, schema, config.LABELS_TABLE)


def label_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """`trip_id` and `fare_amount` of every row that has a fare, one row per trip.

    `frame` either has trip ids already or is raw trips (the columns scoring reads), whose ids
    are computed the way scoring computes them.
    """
    if LABEL not in frame.columns:
        raise runtime.MlopsError(f"labels need a {LABEL} column")
    if ID in frame.columns:
        ids = frame[ID]
    elif all(column in frame.columns for column in _TRIP_KEY_COLUMNS):
        ids = features.trip_ids(frame)
    else:
        raise runtime.MlopsError(
            f"labels need {ID} and {LABEL} columns, or the trip columns "
            + ", ".join(data.TRIP_COLUMNS)
        )
    labels = pd.DataFrame({ID: ids, LABEL: frame[LABEL]}).dropna()
    labels = labels.astype({ID: "int64", LABEL: "float64"})
    return labels.drop_duplicates(ID, keep="last").reset_index(drop=True)


def read_labels(table: str) -> pd.DataFrame:
    """The labels held by a table: `trip_id` and `fare_amount`, or raw trips with their fares."""
    columns = data.table_columns(table)
    wanted = [ID, LABEL] if ID in columns else data.TRIP_COLUMNS
    missing = [column for column in wanted if column not in columns]
    if missing:
        raise runtime.MlopsError(
            f"{table} has no {', '.join(missing)}: labels need {ID} and {LABEL} (or raw trips)"
        )
    return label_rows(data.read_table(table, columns=wanted))


def record_labels(
    frame: pd.DataFrame, catalog: str, schema: str, labelled_at: datetime | None = None
) -> int:
    """Upsert the fares in `frame` into the labels table; returns how many trips it recorded.

    Rows of trips already in the table are replaced (the newer fare wins), others inserted.
    """
    labels = label_rows(frame)
    if labels.empty:
        return 0
    labels[LABELLED_AT] = pd.Timestamp(labelled_at or datetime.now(timezone.utc))
    table = labels_table(catalog, schema)
    if not data.table_exists(table):
        data.write_table(data.to_arrow(labels, LABEL_SCHEMA), table, mode="append")
    elif runtime.use_spark():
        _record_spark(labels, table)
    else:
        from deltalake import DeltaTable

        DeltaTable(str(data.table_path(table))).merge(
            data.to_arrow(labels, LABEL_SCHEMA),
            predicate=f"t.{ID} = s.{ID}",
            source_alias="s",
            target_alias="t",
        ).when_matched_update_all().when_not_matched_insert_all().execute()
    log.info("recorded %s labels in %s", f"{len(labels):,}", table)
    return len(labels)


def attach_labels(catalog: str, schema: str) -> int:
    """Fill the label of predictions that have none from the labels table; returns how many
    prediction rows got one. Labelled predictions are left alone, so it can run any time."""
    predictions = predictions_table(catalog, schema)
    labels = labels_table(catalog, schema)
    if not (data.table_exists(predictions) and data.table_exists(labels)):
        return 0
    if runtime.use_spark():
        attached = _attach_spark(predictions, labels)
    else:
        from deltalake import DeltaTable

        source = data.to_arrow(data.read_table(labels, columns=[ID, LABEL]))
        metrics = (
            DeltaTable(str(data.table_path(predictions)))
            .merge(source, predicate=f"p.{ID} = l.{ID}", source_alias="l", target_alias="p")
            .when_matched_update({LABEL: f"l.{LABEL}"}, predicate=f"p.{LABEL} IS NULL")
            .execute()
        )
        attached = int(metrics.get("num_target_rows_updated", 0))
    log.info("attached %s labels to %s", f"{attached:,}", predictions)
    return attached


def _record_spark(labels: pd.DataFrame, table: str) -> None:
    data.require_delta(table, "merging labels into")
    spark = runtime.get_spark()
    view = f"new_labels_{uuid.uuid4().hex}"
    spark.createDataFrame(
        labels, schema=f"{ID} long, {LABEL} double, {LABELLED_AT} timestamp"
    ).createOrReplaceTempView(view)
    try:
        spark.sql(
            f"MERGE INTO {data.quoted(table)} AS t USING {view} AS s ON t.{ID} = s.{ID} "
            "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
        )
    finally:
        spark.catalog.dropTempView(view)


def _attach_spark(predictions: str, labels: str) -> int:
    data.require_delta(predictions, "attaching labels to")
    result = runtime.get_spark().sql(
        f"MERGE INTO {data.quoted(predictions)} AS p "
        f"USING (SELECT {ID}, {LABEL} FROM {data.quoted(labels)}) AS l ON p.{ID} = l.{ID} "
        f"WHEN MATCHED AND p.{LABEL} IS NULL THEN UPDATE SET p.{LABEL} = l.{LABEL}"
    )
    # Delta's MERGE answers with one row of counts.
    return int(result.first()["num_updated_rows"])
