import re
from datetime import date

import numpy as np
import pytest

from taxi_fare_mlops import contract, features, sample_data
from taxi_fare_mlops.mlops import dataset, tables
from taxi_fare_mlops.mlops.errors import MlopsError
from taxi_fare_mlops.mlops.score import PREDICTION_SCHEMA, resolve_batch_id, score


def _new_rows(location, rows: int = 600, seed: int = 5, labelled: bool = True) -> str:
    trips = sample_data.generate_rows(rows, seed=seed, start="2016-03-01", days=7)
    table = location.new_rows
    if not labelled:
        trips = trips.drop(columns=list(contract.OUTCOME_COLUMNS))
    tables.for_runtime().write(trips, table)
    return table


def _predictions(location):
    return tables.for_runtime().read(location.predictions)


def test_scoring_needs_a_champion(input_table, location):
    with pytest.raises(MlopsError, match="no champion yet"):
        score(location=location, input_table=input_table)


def test_scores_every_row_with_the_champion(location, champion):
    table = _new_rows(location)
    result = score(location=location, input_table=table, batch_id="b1")
    assert (result.rows, result.model_version, result.batch_id) == (600, champion, "b1")
    assert result.summary() == (
        f"scored 600 rows with version {champion} into {location.predictions} (batch b1)"
    )
    rows = _predictions(location)
    assert list(rows.columns) == PREDICTION_SCHEMA.names
    # Every declared feature reaches the predictions table, so monitoring can see it.
    assert set(features.MODEL_FEATURES) <= set(rows.columns)
    assert len(rows) == 600 and rows[contract.KEY].is_unique
    assert (rows["model_version"] == champion).all() and (rows["batch_id"] == "b1").all()
    assert rows["prediction"].notna().all()
    # The input has fares, but a label reaches predictions only through the labels table.
    assert rows[contract.LABEL].isna().all()
    truth = dataset.add_features(tables.for_runtime().read(table))[[contract.KEY, contract.LABEL]]
    joined = rows.drop(columns=[contract.LABEL]).merge(truth, on=contract.KEY)
    # On rows the model has not seen, as good as the gate asks: a mean absolute error within
    # the gate's threshold (RMSE, in the label's unit), or most classes right.
    assert len(joined) == 600
    if contract.PROBLEM_TYPE == "regression":
        error = (joined["prediction"] - joined[contract.LABEL]).abs().mean()
        assert error < contract.GATE.threshold
    else:
        assert (joined["prediction"] != joined[contract.LABEL]).mean() < 0.5


def test_rescoring_a_batch_replaces_it_and_keeps_others(location, champion):
    table = _new_rows(location)
    score(location=location, input_table=table, batch_id="2016-03-01")
    score(location=location, input_table=table, batch_id="2016-03-02")
    score(location=location, input_table=table, batch_id="2016-03-01")
    rows = _predictions(location)
    assert rows.groupby("batch_id").size().to_dict() == {"2016-03-01": 600, "2016-03-02": 600}
    assert not rows.duplicated(["batch_id", contract.KEY]).any()


def test_chunked_scoring_matches_one_chunk(location, champion):
    table = _new_rows(location, rows=1_000)
    progress = []
    score(
        location=location,
        input_table=table,
        batch_id="small",
        chunk_rows=128,
        progress=progress.append,
    )
    score(location=location, input_table=table, batch_id="large")
    assert progress[-1] == 1_000 and len(progress) == 8
    rows = _predictions(location)
    small = rows[rows["batch_id"] == "small"].set_index(contract.KEY)["prediction"].sort_index()
    large = rows[rows["batch_id"] == "large"].set_index(contract.KEY)["prediction"].sort_index()
    assert small.equals(large)


def test_unlabelled_trips_are_scored_with_an_empty_label(location, champion):
    table = _new_rows(location, labelled=False)
    score(location=location, input_table=table, batch_id="new")
    rows = _predictions(location)
    assert rows[contract.LABEL].isna().all() and rows["prediction"].notna().all()
    # A column of nulls (not NaN) of the label's type, which `IS NULL` finds when labels arrive.
    from deltalake import DeltaTable

    stored = DeltaTable(str(tables.LocalTables.path(location.predictions)))
    label = stored.to_pyarrow_table(columns=[contract.LABEL]).column(0)
    assert label.type == tables.ARROW_TYPES[features.LABEL_TYPE] and label.null_count == 600


def test_rescoring_from_rows_that_all_break_the_input_rules_is_refused(location, champion):
    """Not empty, yet nothing would be written: the batch must survive that too."""
    table = _new_rows(location)
    score(location=location, input_table=table, batch_id="b1")
    before = _predictions(location)
    broken = location.table("broken_trips")
    trips = tables.for_runtime().read(table)
    # Every row breaks the rule of one number column (missing values are left out).
    number = next(name for name, rule in contract.INPUT_COLUMNS.items() if rule.kind == "number")
    tables.for_runtime().write(trips.assign(**{number: np.nan}), broken)
    with pytest.raises(MlopsError, match=f"no row of {broken} passed the input rules"):
        score(location=location, input_table=broken, batch_id="b1")
    assert _predictions(location).equals(before)


def test_batch_id_defaults_to_today_and_is_checked():
    assert resolve_batch_id("") == date.today().isoformat()
    assert resolve_batch_id(" 2024-01-31 ") == "2024-01-31"
    with pytest.raises(MlopsError, match=re.escape("batch_id")):
        resolve_batch_id("x'; drop table")


def test_missing_input_table(location, champion):
    with pytest.raises(MlopsError, match="does not exist"):
        score(location=location, input_table=location.table("nothing"))


def test_rescoring_from_an_empty_table_is_refused_and_keeps_the_batch(location, champion):
    from taxi_fare_mlops.mlops.labels import label

    table = _new_rows(location)
    score(location=location, input_table=table, batch_id="b1")
    label(location=location, source=table)
    before = _predictions(location)
    assert len(before) == 600 and before[contract.LABEL].notna().all()
    empty = location.table("no_trips")
    trips = tables.for_runtime().read(table)
    tables.for_runtime().write(trips.iloc[:0], empty)
    with pytest.raises(MlopsError, match=f"{empty} has no rows: nothing to score, and batch b1"):
        score(location=location, input_table=empty, batch_id="b1")
    after = _predictions(location)
    assert after.equals(before)  # the batch and its labels, as they were
