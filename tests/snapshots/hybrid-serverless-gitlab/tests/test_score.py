import re
from datetime import date

import pytest

from taxi_fare_mlops import config, data, features, runtime
from taxi_fare_mlops.score import PREDICTION_SCHEMA, predictions_table, resolve_batch_id, score

DEV = config.DEV_CATALOG


def _new_trips(schema: str, rows: int = 600, seed: int = 5, labelled: bool = True) -> str:
    table = f"{DEV}.{schema}.new_trips"
    trips = data.generate_trips(rows, seed=seed, start="2016-03-01", days=7)
    data.write_table(trips if labelled else trips.drop(columns=[features.LABEL]), table)
    return table


def test_scoring_needs_a_champion(input_table, schema):
    with pytest.raises(runtime.MlopsError, match="no champion yet"):
        score(DEV, schema, input_table=input_table)


def test_scores_every_row_with_the_champion(schema, champion):
    table = _new_trips(schema)
    result = score(DEV, schema, input_table=table, batch_id="b1")
    assert (result.rows, result.model_version, result.batch_id) == (600, champion, "b1")
    rows = data.read_table(predictions_table(DEV, schema))
    assert list(rows.columns) == PREDICTION_SCHEMA.names
    assert len(rows) == 600 and rows["trip_id"].is_unique
    assert (rows["model_version"] == champion).all() and (rows["batch_id"] == "b1").all()
    assert rows["prediction"].notna().all()
    # The input has fares, but a label reaches predictions only through the labels table.
    assert rows["fare_amount"].isna().all()
    truth = features.add_features(data.read_table(table))[["trip_id", "fare_amount"]]
    joined = rows.drop(columns=["fare_amount"]).merge(truth, on="trip_id")
    error = (joined["prediction"] - joined["fare_amount"]).abs().mean()
    assert len(joined) == 600 and error < 3.0  # dollars, on trips the model has not seen


def test_rescoring_a_batch_replaces_it_and_keeps_others(schema, champion):
    table = _new_trips(schema)
    score(DEV, schema, input_table=table, batch_id="2016-03-01")
    score(DEV, schema, input_table=table, batch_id="2016-03-02")
    score(DEV, schema, input_table=table, batch_id="2016-03-01")
    rows = data.read_table(predictions_table(DEV, schema))
    assert rows.groupby("batch_id").size().to_dict() == {"2016-03-01": 600, "2016-03-02": 600}
    assert not rows.duplicated(["batch_id", "trip_id"]).any()


def test_chunked_scoring_matches_one_chunk(schema, champion):
    table = _new_trips(schema, rows=1_000)
    progress = []
    score(
        DEV, schema, input_table=table, batch_id="small", chunk_rows=128, progress=progress.append
    )
    score(DEV, schema, input_table=table, batch_id="large")
    assert progress[-1] == 1_000 and len(progress) == 8
    rows = data.read_table(predictions_table(DEV, schema))
    small = rows[rows["batch_id"] == "small"].set_index("trip_id")["prediction"].sort_index()
    large = rows[rows["batch_id"] == "large"].set_index("trip_id")["prediction"].sort_index()
    assert small.equals(large)


def test_unlabelled_trips_are_scored_with_an_empty_label(schema, champion):
    table = _new_trips(schema, labelled=False)
    score(DEV, schema, input_table=table, batch_id="new")
    rows = data.read_table(predictions_table(DEV, schema))
    assert rows["fare_amount"].isna().all() and rows["prediction"].notna().all()
    # A nullable float column of nulls (not NaN), which `IS NULL` finds when labels arrive.
    from deltalake import DeltaTable

    stored = DeltaTable(str(data.table_path(predictions_table(DEV, schema))))
    label = stored.to_pyarrow_table(columns=["fare_amount"]).column(0)
    assert str(label.type) == "double" and label.null_count == 600


def test_batch_id_defaults_to_today_and_is_checked():
    assert resolve_batch_id("") == date.today().isoformat()
    assert resolve_batch_id(" 2024-01-31 ") == "2024-01-31"
    with pytest.raises(runtime.MlopsError, match=re.escape("batch_id")):
        resolve_batch_id("x'; drop table")


def test_missing_input_table(schema, champion):
    with pytest.raises(runtime.MlopsError, match="does not exist"):
        score(DEV, schema, input_table=f"{DEV}.{schema}.nothing")
