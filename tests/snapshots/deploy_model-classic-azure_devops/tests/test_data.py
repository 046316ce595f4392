import pandas as pd
import pyarrow as pa
import pytest

from taxi_fare_mlops import config, data
from taxi_fare_mlops.runtime import MlopsError


def test_sample_has_the_schema_of_the_nyctaxi_trips_table():
    trips = data.generate_trips(500)
    assert list(trips.columns) == data.TRIP_COLUMNS
    assert pd.api.types.is_datetime64_any_dtype(trips["tpep_pickup_datetime"])
    assert pd.api.types.is_datetime64_any_dtype(trips["tpep_dropoff_datetime"])
    assert trips["pickup_zip"].dtype == "int32"
    assert trips["trip_distance"].dtype == "float64"


def test_sample_is_deterministic():
    pd.testing.assert_frame_equal(
        data.generate_trips(300, seed=7), data.generate_trips(300, seed=7)
    )
    assert not data.generate_trips(300, seed=7).equals(data.generate_trips(300, seed=8))


def test_fares_are_realistic():
    trips = data.generate_trips(5_000)
    assert (trips["fare_amount"] >= 2.5).all()
    assert (trips["tpep_dropoff_datetime"] > trips["tpep_pickup_datetime"]).all()
    assert trips["fare_amount"].corr(trips["trip_distance"]) > 0.8
    assert 8 < trips["fare_amount"].mean() < 25  # NYC 2016: a typical ride is about $12
    assert (trips["fare_amount"] * 2 % 1 == 0).all()  # half-dollar steps


def test_distance_scale_makes_trips_longer():
    normal = data.generate_trips(2_000)["trip_distance"].median()
    longer = data.generate_trips(2_000, distance_scale=2.0)["trip_distance"].median()
    assert longer > 1.8 * normal


def test_sample_needs_rows():
    with pytest.raises(MlopsError):
        data.generate_trips(0)


# The catalog answered for dev: tests never assume the template's default names.
DEV = config.DEV_CATALOG


def test_tables_live_under_the_local_warehouse(session_local_dir):
    path = data.table_path(f"{DEV}.s.t")
    assert path == session_local_dir / "warehouse" / DEV / "s" / "t"


def test_write_read_append_and_overwrite(schema):
    table = f"{DEV}.{schema}.trips"
    assert not data.table_exists(table)
    trips = data.generate_trips(100)
    data.write_table(trips, table)
    assert data.table_exists(table)
    back = data.read_table(table)
    assert list(back.columns) == data.TRIP_COLUMNS
    assert len(back) == 100
    assert back["tpep_pickup_datetime"].tolist() == trips["tpep_pickup_datetime"].tolist()

    data.write_table(trips, table, mode="append")
    assert data.count_rows(table) == 200
    data.write_table(trips.head(10), table, mode="overwrite")
    assert data.count_rows(table) == 10


def test_replace_swaps_exactly_one_slice(schema):
    table = f"{DEV}.{schema}.batches"
    first = pd.DataFrame({"batch_id": ["a"] * 3, "value": [1, 2, 3]})
    second = pd.DataFrame({"batch_id": ["b"] * 2, "value": [4, 5]})
    data.write_table(first, table, mode="append", replace={"batch_id": "a"})
    data.write_table(second, table, mode="append", replace={"batch_id": "b"})
    data.write_table(first.assign(value=9), table, mode="append", replace={"batch_id": "a"})
    result = data.read_table(table).sort_values(["batch_id", "value"])
    assert result["batch_id"].tolist() == ["a", "a", "a", "b", "b"]
    assert result["value"].tolist() == [9, 9, 9, 4, 5]


def test_replace_refuses_quotes(schema):
    with pytest.raises(MlopsError, match="quotes"):
        data.write_table(
            pd.DataFrame({"k": ["x"]}), f"{DEV}.{schema}.t", replace={"k": "x' OR 1=1"}
        )


def test_read_where_columns_sample_and_max_rows(schema):
    table = f"{DEV}.{schema}.trips"
    data.write_table(data.generate_trips(1_000), table)
    assert len(data.read_table(table, sample_fraction=0.1)) == 100
    assert len(data.read_table(table, max_rows=50)) == 50
    assert list(data.read_table(table, columns=["trip_distance"]).columns) == ["trip_distance"]
    zip_code = int(data.read_table(table)["pickup_zip"].iloc[0])
    rows = data.read_table(table, where={"pickup_zip": zip_code})
    assert len(rows) > 0 and (rows["pickup_zip"] == zip_code).all()
    with pytest.raises(MlopsError, match="sample_fraction"):
        data.read_table(table, sample_fraction=0)


def test_iter_batches_bounds_chunk_size(schema):
    table = f"{DEV}.{schema}.trips"
    data.write_table(data.generate_trips(1_050), table)
    sizes = [len(chunk) for chunk in data.iter_batches(table, 200)]
    assert sum(sizes) == 1_050
    assert max(sizes) <= 200


def test_missing_table_is_a_one_line_error(schema):
    with pytest.raises(MlopsError, match=f"table {DEV}.{schema}.nothing does not exist"):
        data.read_table(f"{DEV}.{schema}.nothing")


def test_missing_input_table_hints_at_sample_data(fresh_local_dir):
    with pytest.raises(MlopsError, match="sample-data"):
        data.read_table(config.INPUT_TABLE)


def test_to_arrow_stores_microsecond_timestamps():
    table = data.to_arrow(data.generate_trips(5))
    assert table.schema.field("tpep_pickup_datetime").type == pa.timestamp("us")
