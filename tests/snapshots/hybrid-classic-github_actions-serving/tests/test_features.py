import numpy as np
import pandas as pd
import pytest

from taxi_fare_mlops import features, sample_data


def test_add_features_returns_model_inputs_id_and_label():
    trips = sample_data.generate_trips(200)
    frame = features.add_features(trips)
    assert list(frame.columns) == features.OUTPUT_COLUMNS
    dtypes = {"long": "int64", "double": "float64"}
    for column, kind in features.COLUMN_TYPES.items():
        if kind in dtypes:
            assert frame[column].dtype == dtypes[kind], column
    expected = (trips["tpep_dropoff_datetime"] - trips["tpep_pickup_datetime"]).dt.total_seconds()
    np.testing.assert_allclose(frame["trip_duration_minutes"], expected / 60)
    assert frame["pickup_hour"].between(0, 23).all()


def test_label_is_empty_when_not_known_yet():
    trips = sample_data.generate_trips(20).drop(columns=["fare_amount"])
    assert features.add_features(trips)[features.LABEL].isna().all()


def test_trip_ids_are_stable_and_unique():
    trips = sample_data.generate_trips(2_000)
    ids = features.trip_ids(trips)
    assert ids.is_unique
    pd.testing.assert_series_equal(ids, features.trip_ids(trips.copy()))


def test_trip_ids_ignore_time_unit_time_zone_and_int_width():
    trips = sample_data.generate_trips(50)
    other = trips.copy()
    for column in ["tpep_pickup_datetime", "tpep_dropoff_datetime"]:
        other[column] = other[column].astype("datetime64[ns]").dt.tz_localize("UTC")
    other["pickup_zip"] = other["pickup_zip"].astype("int64")
    assert features.trip_ids(trips).tolist() == features.trip_ids(other).tolist()


def test_holdout_is_a_fixed_fifth():
    frame = features.add_features(sample_data.generate_trips(5_000))
    holdout = features.is_holdout(frame)
    assert 0.17 < holdout.mean() < 0.23
    fit, held = features.split_holdout(frame)
    assert len(fit) + len(held) == len(frame)
    assert set(fit["trip_id"]).isdisjoint(held["trip_id"])
    # The same trip is held out whichever sample it arrives in.
    sample = frame.sample(frac=0.3, random_state=1)
    assert features.is_holdout(sample).equals(holdout.loc[sample.index])


def test_training_rows_drop_meter_glitches():
    frame = features.add_features(sample_data.generate_trips(100))
    frame.loc[frame.index[:3], "trip_distance"] = 0.0
    frame.loc[frame.index[3], features.LABEL] = 900.0
    assert len(features.training_rows(frame)) == 96


def test_every_declared_feature_is_computed_and_nothing_else(monkeypatch):
    assert features.MODEL_FEATURES == [*features.NUMERIC_FEATURES, *features.CATEGORICAL_FEATURES]
    monkeypatch.setitem(features.NUMERIC_FEATURES, "not_computed", "double")
    monkeypatch.setattr(features, "MODEL_FEATURES", [*features.MODEL_FEATURES, "not_computed"])
    with pytest.raises(ValueError, match="declared but not computed: \\['not_computed'\\]"):
        features.add_features(sample_data.generate_trips(5))
