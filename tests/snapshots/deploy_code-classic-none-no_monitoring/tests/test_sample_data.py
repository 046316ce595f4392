import pandas as pd
import pytest

from taxi_fare_mlops import config, contract, features, sample_data
from taxi_fare_mlops.mlops import dataset, drift, tables
from taxi_fare_mlops.mlops.errors import MlopsError


def test_sample_has_the_columns_of_the_contract():
    trips = sample_data.generate_rows(500)
    assert list(trips.columns) == sample_data.COLUMNS
    assert set(contract.INPUT_COLUMNS) | set(contract.OUTCOME_COLUMNS) == set(trips.columns)
    assert pd.api.types.is_datetime64_any_dtype(trips[contract.TIMESTAMP])


@pytest.mark.example
def test_the_example_sample_has_the_types_of_the_nyctaxi_trips_table():
    trips = sample_data.generate_rows(500)
    assert pd.api.types.is_datetime64_any_dtype(trips["tpep_pickup_datetime"])
    assert pd.api.types.is_datetime64_any_dtype(trips["tpep_dropoff_datetime"])
    assert trips["pickup_zip"].dtype == "int32"
    assert trips["trip_distance"].dtype == "float64"


def test_sample_is_deterministic():
    pd.testing.assert_frame_equal(
        sample_data.generate_rows(300, seed=7), sample_data.generate_rows(300, seed=7)
    )
    assert not sample_data.generate_rows(300, seed=7).equals(sample_data.generate_rows(300, seed=8))


@pytest.mark.example
def test_fares_are_realistic():
    trips = sample_data.generate_rows(5_000)
    assert (trips["fare_amount"] >= 2.5).all()
    assert (trips["tpep_dropoff_datetime"] > trips["tpep_pickup_datetime"]).all()
    assert trips["fare_amount"].corr(trips["trip_distance"]) > 0.8
    assert 8 < trips["fare_amount"].mean() < 25  # NYC 2016: a typical ride is about $12
    assert (trips["fare_amount"] * 2 % 1 == 0).all()  # half-dollar steps


def test_drift_shifts_a_numeric_feature():
    """`lifecycle` relies on it to show the drift check firing."""
    normal = dataset.add_features(sample_data.generate_rows(2_000))
    drifted = dataset.add_features(sample_data.generate_rows(2_000, drift=2.5))
    psi = {
        name: drift.population_stability_index(normal[name], drifted[name])
        for name in features.NUMERIC_FEATURES
    }
    assert max(psi.values()) > config.MAX_PSI, psi


@pytest.mark.example
def test_drift_makes_trips_longer():
    normal = sample_data.generate_rows(2_000)["trip_distance"].median()
    longer = sample_data.generate_rows(2_000, drift=2.0)["trip_distance"].median()
    assert longer > 1.8 * normal


def test_sample_needs_rows():
    with pytest.raises(MlopsError):
        sample_data.generate_rows(0)


def test_write_sample_data_overwrites_the_table(fresh_local_dir):
    assert sample_data.write_sample_data(n_rows=120) == 120
    assert sample_data.write_sample_data(n_rows=80) == 80
    assert tables.for_runtime().count(config.INPUT_TABLE) == 80
