import numpy as np
import pandas as pd
import pytest

from taxi_fare_mlops import contract, features, sample_data
from taxi_fare_mlops.mlops import dataset
from taxi_fare_mlops.mlops.errors import MlopsError


def test_add_features_returns_model_inputs_id_and_label():
    trips = sample_data.generate_rows(200)
    frame = dataset.add_features(trips)
    assert list(frame.columns) == features.OUTPUT_COLUMNS
    dtypes = {"long": "int64", "double": "float64"}
    for column, kind in features.COLUMN_TYPES.items():
        if kind in dtypes and column != contract.LABEL:
            assert frame[column].dtype == dtypes[kind], column
    # A label may be missing (not known yet): classes use pandas' nullable integers.
    assert frame[contract.LABEL].dtype == dataset.label_dtype()


@pytest.mark.example
def test_the_example_computes_trip_features():
    trips = sample_data.generate_rows(200)
    frame = dataset.add_features(trips)
    expected = (trips["tpep_dropoff_datetime"] - trips["tpep_pickup_datetime"]).dt.total_seconds()
    np.testing.assert_allclose(frame["trip_duration_minutes"], expected / 60)
    assert frame["pickup_hour"].between(0, 23).all()


def test_label_is_empty_when_not_known_yet():
    trips = sample_data.generate_rows(20).drop(columns=list(contract.OUTCOME_COLUMNS))
    assert dataset.add_features(trips)[contract.LABEL].isna().all()


def test_row_ids_are_stable_and_unique():
    trips = sample_data.generate_rows(2_000)
    ids = dataset.row_ids(trips)
    assert ids.is_unique
    pd.testing.assert_series_equal(ids, dataset.row_ids(trips.copy()))


@pytest.mark.example
def test_trip_ids_ignore_time_unit_time_zone_and_int_width():
    trips = sample_data.generate_rows(50)
    other = trips.copy()
    for column in ["tpep_pickup_datetime", "tpep_dropoff_datetime"]:
        other[column] = other[column].astype("datetime64[ns]").dt.tz_localize("UTC")
    other["pickup_zip"] = other["pickup_zip"].astype("int64")
    assert dataset.row_ids(trips).tolist() == dataset.row_ids(other).tolist()


def test_holdout_is_a_fixed_fifth():
    frame = dataset.add_features(sample_data.generate_rows(5_000))
    holdout = dataset.is_holdout(frame)
    assert 0.17 < holdout.mean() < 0.23
    fit, held = dataset.split_holdout(frame)
    assert len(fit) + len(held) == len(frame)
    assert set(fit[contract.KEY]).isdisjoint(held[contract.KEY])
    # The same row is held out whichever sample it arrives in.
    sample = frame.sample(frac=0.3, random_state=1)
    assert dataset.is_holdout(sample).equals(holdout.loc[sample.index])


@pytest.mark.example
def test_training_rows_drop_meter_glitches():
    frame = dataset.add_features(sample_data.generate_rows(100))
    frame.loc[frame.index[:3], "trip_distance"] = 0.0
    # A label outside its training range, or (with no range) a missing one.
    glitch = 900.0 if contract.LABEL in contract.TRAINING_RANGES else None
    frame.loc[frame.index[3], contract.LABEL] = glitch
    assert len(dataset.training_rows(frame)) == 96


def test_every_declared_feature_is_computed_and_nothing_else(monkeypatch):
    assert features.MODEL_FEATURES == [*features.NUMERIC_FEATURES, *features.CATEGORICAL_FEATURES]
    monkeypatch.setitem(features.NUMERIC_FEATURES, "not_computed", "double")
    monkeypatch.setattr(features, "MODEL_FEATURES", [*features.MODEL_FEATURES, "not_computed"])
    with pytest.raises(MlopsError, match="declared but not computed: \\['not_computed'\\]"):
        dataset.add_features(sample_data.generate_rows(5))


def test_a_label_of_the_wrong_kind_for_the_task_is_one_line():
    with pytest.raises(MlopsError, match=f"label {contract.LABEL} holds 'yes', not a number"):
        dataset.as_labels(pd.Series([1, "yes"], dtype=object), source="labels")
    fraction = pd.Series([0.0, 0.5])
    if contract.PROBLEM_TYPE == "classification":
        with pytest.raises(MlopsError, match="a classification label is a whole-number class"):
            dataset.as_labels(fraction, source="labels")
    else:
        assert dataset.as_labels(fraction, source="labels").tolist() == [0.0, 0.5]
