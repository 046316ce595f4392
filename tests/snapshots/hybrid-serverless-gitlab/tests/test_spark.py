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

from taxi_fare_mlops import config, data, features, runtime

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
def catalog_schema(spark, schema, monkeypatch):
    monkeypatch.setenv(f"{config.PACKAGE.upper()}_USE_SPARK", "1")
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {schema}")
    return "spark_catalog", schema


def test_table_io_through_spark(catalog_schema):
    catalog, schema = catalog_schema
    table = f"{catalog}.{schema}.trips"
    assert not data.table_exists(table)
    with pytest.raises(runtime.MlopsError, match="does not exist"):
        data.read_table(table)
    trips = data.generate_trips(500)
    data.write_table(trips, table)
    assert data.table_exists(table) and data.count_rows(table) == 500
    back = data.read_table(table)
    assert list(back.columns) == data.TRIP_COLUMNS
    assert sorted(back["tpep_pickup_datetime"]) == sorted(trips["tpep_pickup_datetime"])
    data.write_table(trips.head(20), table, mode="append")
    assert data.count_rows(table) == 520
    assert len(data.read_table(table, columns=["trip_distance"], max_rows=7)) == 7
    assert 20 < len(data.read_table(table, sample_fraction=0.2)) < 200
    zip_code = int(trips["pickup_zip"].iloc[0])
    assert (data.read_table(table, where={"pickup_zip": zip_code})["pickup_zip"] == zip_code).all()
    data.write_table(trips.head(10), table, mode="overwrite")
    assert data.count_rows(table) == 10


def test_train_validate_deploy_and_score_with_spark_udf(fresh_local_dir, catalog_schema):
    import mlflow

    from taxi_fare_mlops.deploy import deploy
    from taxi_fare_mlops.score import score
    from taxi_fare_mlops.train import train
    from taxi_fare_mlops.validate import validate

    catalog, schema = catalog_schema
    source = f"{catalog}.{schema}.trips"
    data.write_table(data.generate_trips(3_000), source)
    trained = train(catalog, schema, input_table=source)
    validate(catalog, schema, model_version=trained.version, input_table=source)
    deploy(catalog, schema, model_version=trained.version)

    new_trips = f"{catalog}.{schema}.new_trips"
    trips = data.generate_trips(400, seed=3, start="2016-03-01", days=7)
    data.write_table(trips, new_trips)
    result = score(catalog, schema, input_table=new_trips, batch_id="2016-03-01")
    assert result.rows == 400

    rows = data.read_table(result.table)
    assert len(rows) == 400 and rows["trip_id"].is_unique
    assert set(rows["batch_id"]) == {"2016-03-01"} and set(rows["model_version"]) == {"1"}
    # The cluster path predicts exactly what the local path would.
    model = mlflow.pyfunc.load_model(f"models:/{trained.model_name}/1")
    expected = features.add_features(trips)
    expected["expected"] = model.predict(expected[features.MODEL_FEATURES])
    joined = rows.merge(expected[["trip_id", "expected"]], on="trip_id")
    assert len(joined) == 400
    assert joined["prediction"].to_numpy() == pytest.approx(joined["expected"].to_numpy())

    # Replacing a batch in place needs Delta, which local Spark does not have.
    with pytest.raises(runtime.MlopsError, match="needs a Delta table"):
        score(catalog, schema, input_table=new_trips, batch_id="2016-03-01")
