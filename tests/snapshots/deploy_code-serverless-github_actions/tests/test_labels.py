"""Ground truth that arrives after scoring: the labels table and attaching it to predictions."""

import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from taxi_fare_mlops import contract, sample_data
from taxi_fare_mlops.mlops import dataset, runtime, tables
from taxi_fare_mlops.mlops.errors import MlopsError
from taxi_fare_mlops.mlops.labels import (
    attach_labels,
    correct_labels,
    label,
    label_rows,
    read_labels,
    record_labels,
)
from taxi_fare_mlops.mlops.location import Location
from taxi_fare_mlops.mlops.score import score

ID, LABEL = contract.KEY, contract.LABEL
# The input column the label comes from (the fare, in the example).
OUTCOME = next(iter(contract.OUTCOME_COLUMNS))
CLASSIFICATION = contract.PROBLEM_TYPE == "classification"


def value(amount: float):
    """A label for the task: the amount itself, or a class (0 or 1) derived from it."""
    return int(amount) % 2 if CLASSIFICATION else amount


def another_label(labels: pd.Series):
    """A different valid label for each: the next class (of LABEL_RULE's), or a large amount."""
    if not CLASSIFICATION:
        return 999.0
    low, high = int(contract.LABEL_RULE.low), int(contract.LABEL_RULE.high)
    return low + (labels - low + 1) % (high - low + 1)


def _labels(ids, amounts):
    return pd.DataFrame({ID: ids, LABEL: [value(amount) for amount in amounts]})


def _read(table):
    return tables.for_runtime().read(table)


def _stored(location):
    return _read(location.labels).set_index(ID)[LABEL].sort_index().to_dict()


def _scored_trips(location, rows=300):
    trips = sample_data.generate_rows(rows, seed=7, start="2016-03-01", days=7)
    tables.for_runtime().write(trips, location.new_rows)
    score(location=location, input_table=location.new_rows, batch_id="b1")
    return trips


def test_recording_the_same_labels_twice_keeps_one_row_per_trip(location):
    labels = _labels([1, 2, 3], [5.0, 6.5, 7.0])
    assert record_labels(labels, location=location) == 3
    assert record_labels(labels, location=location) == 3
    rows = _read(location.labels)
    assert list(rows.columns) == [ID, LABEL, "labelled_at"]
    assert sorted(rows[ID]) == [1, 2, 3]
    assert rows["labelled_at"].notna().all()


def test_a_newer_label_replaces_the_old_one(location):
    record_labels(_labels([1, 2], [5.0, 6.0]), location=location)
    record_labels(_labels([2, 3], [9.0, 7.0]), location=location)
    assert _stored(location) == {1: value(5.0), 2: value(9.0), 3: value(7.0)}


def test_label_rows_from_raw_trips_use_the_scoring_ids():
    trips = sample_data.generate_rows(50, seed=3)
    trips.loc[0, OUTCOME] = None  # no outcome yet: not a label
    rows = label_rows(pd.concat([trips, trips.tail(1)]))  # a repeated row counts once
    assert len(rows) == 49
    expected = dataset.labels_of(trips).set_axis(dataset.row_ids(trips)).rename(LABEL)
    assert rows.set_index(ID)[LABEL].equals(expected.iloc[1:].astype(dataset.label_dtype()))


def test_raw_rows_that_hold_the_key_column_too_are_read_as_raw_rows(location):
    """A table keyed by one integer id column holds that column (contract.KEY) among its input
    columns; without a label column its labels are still derived from the outcomes."""
    trips = sample_data.generate_rows(40, seed=4)
    if ID not in trips.columns:
        trips[ID] = dataset.row_ids(trips)
    table = location.table("raw_with_key")
    tables.for_runtime().write(trips, table)
    expected = dataset.labels_of(trips).set_axis(dataset.row_ids(trips)).dropna().sort_index()
    rows = read_labels(table).set_index(ID)[LABEL].sort_index()
    assert rows.index.tolist() == expected.index.tolist()
    assert rows.tolist() == expected.astype(rows.dtype).tolist()


def test_frames_without_ids_or_fares_are_refused(location):
    with pytest.raises(MlopsError, match="labels need"):
        label_rows(pd.DataFrame({ID: [1]}))
    with pytest.raises(MlopsError, match=f"labels need {ID}"):
        label_rows(pd.DataFrame({LABEL: [1.0]}))
    table = location.table("fares")
    tables.for_runtime().write(pd.DataFrame({"id": [1], LABEL: [1.0]}), table)
    with pytest.raises(MlopsError, match=f"has no {contract.KEY_COLUMNS[0]}"):
        read_labels(table)
    assert record_labels(_labels([], []), location=location) == 0


def test_scoring_leaves_the_label_empty_even_when_the_input_has_fares(location, champion):
    _scored_trips(location)
    assert _read(location.predictions)[LABEL].isna().all()


def test_attach_fills_only_unlabelled_rows_and_is_idempotent(location, champion):
    trips = _scored_trips(location)
    assert attach_labels(location=location) == 0  # no labels table yet
    truth = label_rows(trips)

    record_labels(truth.head(100), location=location)
    assert attach_labels(location=location) == 100
    assert attach_labels(location=location) == 0
    # A label recorded again with another value corrects its prediction as it is recorded;
    # the attach fills only the 200 unlabelled rows.
    corrected = truth.head(100).assign(**{LABEL: another_label(truth[LABEL].head(100))})
    record_labels(corrected, location=location)
    record_labels(truth.iloc[100:], location=location)
    assert attach_labels(location=location) == 200

    newest = pd.concat([corrected, truth.iloc[100:]])
    rows = _read(location.predictions).merge(newest, on=ID, suffixes=("", "_true"))
    assert len(rows) == 300
    assert (rows[LABEL] == rows[f"{LABEL}_true"]).all()


def test_a_corrected_label_reaches_every_prediction_of_its_row_once(location, champion):
    trips = _scored_trips(location)
    # The same rows scored again in a second batch: a correction reaches both.
    score(location=location, input_table=location.new_rows, batch_id="b2")
    assert label(location=location, source=location.new_rows).corrected == 0
    truth = label_rows(trips)
    changed = truth.head(10).assign(**{LABEL: another_label(truth[LABEL].head(10))})
    corrections = location.table("corrections")
    tables.for_runtime().write(changed, corrections)

    result = label(location=location, source=corrections)
    assert (result.recorded, result.attached, result.corrected) == (10, 0, 20)
    assert result.summary().endswith("0 predictions got their label, 20 a corrected one")
    # The tables agree: every prediction has its row's newest label.
    stored = _read(location.labels)[[ID, LABEL]]
    predictions = _read(location.predictions).merge(stored, on=ID, suffixes=("", "_stored"))
    assert len(predictions) == 600
    assert (predictions[LABEL] == predictions[f"{LABEL}_stored"]).all()
    assert set(predictions.loc[predictions[ID].isin(changed[ID]), LABEL]) <= set(changed[LABEL])
    # A rerun of the same load changes nothing more.
    assert label(location=location, source=corrections).corrected == 0


def test_label_records_and_attaches_in_one_call(location, champion):
    _scored_trips(location)
    result = label(location=location, source=location.new_rows)
    assert (result.recorded, result.attached) == (300, 300)
    assert result.summary().startswith(f"recorded 300 labels from {location.new_rows}")


def test_rescoring_a_batch_empties_its_labels_until_the_next_attach(location, champion):
    trips = _scored_trips(location)
    record_labels(trips, location=location)
    assert attach_labels(location=location) == 300
    score(location=location, input_table=location.new_rows, batch_id="b1")
    assert _read(location.predictions)[LABEL].isna().all()
    assert attach_labels(location=location) == 300


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
    monkeypatch.setenv(runtime.USE_SPARK_VARIABLE, "1")
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {schema}")
    location = Location("spark_catalog", schema)
    trips = sample_data.generate_rows(20, seed=5)
    store = tables.for_runtime()

    assert record_labels(trips, location=location) == 20
    assert store.count(location.labels) == 20
    with pytest.raises(MlopsError, match="merging into .* needs a Delta table"):
        record_labels(trips, location=location)

    assert attach_labels(location=location) == 0  # no predictions yet
    store.write(label_rows(trips).assign(prediction=1.0), location.predictions)
    with pytest.raises(MlopsError, match="filling .* needs a Delta table"):
        attach_labels(location=location)
    with pytest.raises(MlopsError, match="correcting .* needs a Delta table"):
        correct_labels(location=location, labelled_at=pd.Timestamp.now(tz="UTC"))
