"""The Databricks code path (Spark table IO, `spark_udf` scoring) on a local Spark session.

Local Spark has no Delta Lake jars (they come from Maven, not PyPI), so tables here are Parquet:
everything but replacing a batch in place, which needs Delta and is refused with a clear error.
Run with `make test-spark` or `pytest -m spark`; needs Java 17.
"""

import os
import shutil
import sys
from pathlib import Path

import pytest

from taxi_fare_mlops import config, features, sample_data
from taxi_fare_mlops.mlops import registry, runtime, tables
from taxi_fare_mlops.mlops.errors import MlopsError
from taxi_fare_mlops.mlops.location import Location

pytestmark = pytest.mark.spark
pytest.importorskip("pyspark")

SRC = Path(__file__).resolve().parent.parent / "src"


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        pytest.skip("Spark needs Java (17) on PATH or JAVA_HOME")
    from pyspark.sql import SparkSession

    patch = pytest.MonkeyPatch()
    # Executors are separate Python processes: they must import the package too.
    patch.setenv("PYTHONPATH", os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    patch.setenv("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName(f"{config.PACKAGE}-tests")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    yield session
    session.stop()
    patch.undo()


@pytest.fixture
def location(spark, schema, monkeypatch):
    monkeypatch.setenv(runtime.USE_SPARK_VARIABLE, "1")
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {schema}")
    return Location("spark_catalog", schema)


def test_table_io_through_spark(location):
    store = tables.for_runtime()
    assert isinstance(store, tables.SparkTables)
    table = location.table("trips")
    assert not store.exists(table)
    with pytest.raises(MlopsError, match="does not exist"):
        store.read(table)
    trips = sample_data.generate_trips(500)
    store.write(trips, table)
    assert store.exists(table) and store.count(table) == 500
    back = store.read(table)
    assert list(back.columns) == sample_data.TRIP_COLUMNS
    assert sorted(back["tpep_pickup_datetime"]) == sorted(trips["tpep_pickup_datetime"])
    store.write(trips.head(20), table, mode="append")
    assert store.count(table) == 520
    assert len(store.read(table, columns=["trip_distance"], max_rows=7)) == 7
    assert 20 < len(store.read(table, sample_fraction=0.2)) < 200
    zip_code = int(trips["pickup_zip"].iloc[0])
    assert (store.read(table, where={"pickup_zip": zip_code})["pickup_zip"] == zip_code).all()
    store.write(trips.head(10), table, mode="overwrite")
    assert store.count(table) == 10


def test_train_validate_deploy_and_score_with_spark_udf(fresh_local_dir, location):
    import mlflow

    from taxi_fare_mlops.mlops.deploy import deploy
    from taxi_fare_mlops.mlops.score import PREDICTION_SCHEMA, score
    from taxi_fare_mlops.mlops.train import train
    from taxi_fare_mlops.mlops.validate import validate

    store = tables.for_runtime()
    source = location.table("trips")
    store.write(sample_data.generate_trips(3_000), source)
    trained = train(location=location, input_table=source)
    validate(location=location, model_version=trained.version, input_table=source)
    deploy(location=location, model_version=trained.version)

    trips = sample_data.generate_trips(400, seed=3, start="2016-03-01", days=7)
    store.write(trips, location.new_trips)
    result = score(location=location, input_table=location.new_trips, batch_id="2016-03-01")
    assert result.rows == 400

    rows = store.read(result.table)
    assert len(rows) == 400 and rows[features.ID].is_unique
    assert set(rows["batch_id"]) == {"2016-03-01"} and set(rows["model_version"]) == {"1"}
    # Every declared feature reaches the predictions table on the cluster path too.
    assert list(rows.columns) == PREDICTION_SCHEMA.names
    # The cluster path predicts exactly what the local path would.
    model = mlflow.pyfunc.load_model(location.model_uri("1"))
    expected = features.add_features(trips)
    expected["expected"] = model.predict(expected[features.MODEL_FEATURES])
    joined = rows.merge(expected[[features.ID, "expected"]], on=features.ID)
    assert len(joined) == 400
    assert joined["prediction"].to_numpy() == pytest.approx(joined["expected"].to_numpy())
    assert registry.alias_version(location.model, config.CHAMPION) == "1"

    # Replacing a batch in place needs Delta, which local Spark does not have.
    with pytest.raises(MlopsError, match="needs a Delta table"):
        score(location=location, input_table=location.new_trips, batch_id="2016-03-01")
