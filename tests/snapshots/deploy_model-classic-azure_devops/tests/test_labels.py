"""Ground truth that arrives after scoring: the labels table and attaching it to predictions."""

import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from taxi_fare_mlops import config, data, features, runtime
from taxi_fare_mlops.labels import (
    attach_labels,
    label_rows,
    labels_table,
    read_labels,
    record_labels,
)
from taxi_fare_mlops.score import predictions_table, score

DEV = config.DEV_CATALOG


def _labels(ids, fares):
    return pd.DataFrame({"trip_id": ids, "fare_amount": fares})


def _stored(schema):
    rows = data.read_table(labels_table(DEV, schema))
    return rows.set_index("trip_id")["fare_amount"].sort_index().to_dict()


def _scored_trips(schema, rows=300):
    table = f"{DEV}.{schema}.new_trips"
    trips = data.generate_trips(rows, seed=7, start="2016-03-01", days=7)
    data.write_table(trips, table)
    score(DEV, schema, input_table=table, batch_id="b1")
    return trips


def test_recording_the_same_labels_twice_keeps_one_row_per_trip(schema):
    labels = _labels([1, 2, 3], [5.0, 6.5, 7.0])
    assert record_labels(labels, DEV, schema) == 3
    assert record_labels(labels, DEV, schema) == 3
    rows = data.read_table(labels_table(DEV, schema))
    assert list(rows.columns) == ["trip_id", "fare_amount", "labelled_at"]
    assert sorted(rows["trip_id"]) == [1, 2, 3]
    assert rows["labelled_at"].notna().all()


def test_a_newer_label_replaces_the_old_one(schema):
    record_labels(_labels([1, 2], [5.0, 6.0]), DEV, schema)
    record_labels(_labels([2, 3], [9.0, 7.0]), DEV, schema)
    assert _stored(schema) == {1: 5.0, 2: 9.0, 3: 7.0}


def test_label_rows_from_raw_trips_use_the_scoring_ids():
    trips = data.generate_trips(50, seed=3)
    trips.loc[0, "fare_amount"] = None  # no fare yet: not a label
    rows = label_rows(pd.concat([trips, trips.tail(1)]))  # a repeated trip counts once
    assert len(rows) == 49
    expected = pd.Series(trips["fare_amount"].to_numpy(), index=features.trip_ids(trips))
    assert rows.set_index("trip_id")["fare_amount"].equals(expected.iloc[1:].rename("fare_amount"))


def test_frames_without_ids_or_fares_are_refused(schema):
    with pytest.raises(runtime.MlopsError, match="need a fare_amount column"):
        label_rows(pd.DataFrame({"trip_id": [1]}))
    with pytest.raises(runtime.MlopsError, match="labels need trip_id"):
        label_rows(pd.DataFrame({"fare_amount": [1.0]}))
    table = f"{DEV}.{schema}.fares"
    data.write_table(pd.DataFrame({"id": [1], "fare_amount": [1.0]}), table)
    with pytest.raises(runtime.MlopsError, match="has no tpep_pickup_datetime"):
        read_labels(table)
    assert record_labels(_labels([], []), DEV, schema) == 0


def test_scoring_leaves_the_label_empty_even_when_the_input_has_fares(schema, champion):
    _scored_trips(schema)
    rows = data.read_table(predictions_table(DEV, schema))
    assert rows["fare_amount"].isna().all()


def test_attach_fills_only_unlabelled_rows_and_is_idempotent(schema, champion):
    trips = _scored_trips(schema)
    predictions = predictions_table(DEV, schema)
    assert attach_labels(DEV, schema) == 0  # no labels table yet
    truth = label_rows(trips)

    record_labels(truth.head(100), DEV, schema)
    assert attach_labels(DEV, schema) == 100
    assert attach_labels(DEV, schema) == 0
    # Attached labels stay as they are; only the 200 unlabelled rows are filled.
    record_labels(truth.head(100).assign(fare_amount=999.0), DEV, schema)
    record_labels(truth.iloc[100:], DEV, schema)
    assert attach_labels(DEV, schema) == 200

    rows = data.read_table(predictions).merge(truth, on="trip_id", suffixes=("", "_true"))
    assert len(rows) == 300
    assert (rows["fare_amount"] == rows["fare_amount_true"]).all()


def test_rescoring_a_batch_empties_its_labels_until_the_next_attach(schema, champion):
    trips = _scored_trips(schema)
    record_labels(trips, DEV, schema)
    assert attach_labels(DEV, schema) == 300
    score(DEV, schema, input_table=f"{DEV}.{schema}.new_trips", batch_id="b1")
    assert data.read_table(predictions_table(DEV, schema))["fare_amount"].isna().all()
    assert attach_labels(DEV, schema) == 300


@pytest.mark.spark
def test_spark_path_needs_delta_to_merge(schema, monkeypatch, tmp_path):
    """The Databricks path up to its MERGE statements, on a local Spark session.

    Local Spark has no Delta Lake jars (they come from Maven, not PyPI), so, as in
    test_spark.py, tables are Parquet: the first write creates the labels table, and every MERGE
    is refused with a one-line error. The MERGE statements themselves only run on Databricks.
    """
    pytest.importorskip("pyspark")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        pytest.skip("Spark needs Java (17) on PATH or JAVA_HOME")
    from pyspark.sql import SparkSession

    # Configured like test_spark.py's session, and stopped at the end so that one starts afresh.
    src = Path(__file__).resolve().parent.parent / "src"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.sql.warehouse.dir", str(tmp_path / "spark-warehouse"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    try:
        _record_and_attach_through_spark(spark, schema, monkeypatch)
    finally:
        spark.stop()


def _record_and_attach_through_spark(spark, schema, monkeypatch):
    monkeypatch.setenv(f"{config.PACKAGE.upper()}_USE_SPARK", "1")
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {schema}")
    catalog = "spark_catalog"
    trips = data.generate_trips(20, seed=5)

    assert record_labels(trips, catalog, schema) == 20
    assert data.count_rows(labels_table(catalog, schema)) == 20
    with pytest.raises(runtime.MlopsError, match="merging labels into .* needs a Delta table"):
        record_labels(trips, catalog, schema)

    assert attach_labels(catalog, schema) == 0  # no predictions yet
    data.write_table(label_rows(trips).assign(prediction=1.0), predictions_table(catalog, schema))
    with pytest.raises(runtime.MlopsError, match="attaching labels to .* needs a Delta table"):
        attach_labels(catalog, schema)
