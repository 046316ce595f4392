"""The Databricks code path (Spark table IO, `spark_udf` scoring) on a local Spark session.

Local Spark has no Delta Lake jars: they come from Maven, not PyPI (the `delta-spark` wheel holds
only the Python API, and `configure_spark_with_delta_pip` asks Maven for the jars at session
start), so tables here are Parquet: everything but replacing a batch in place and MERGE, which
need Delta and are refused with a clear error. Set SPARK_DELTA_JARS to the jars' paths (comma
separated) to run the Delta tests too; without them they skip and say so.

The session runs with a small `spark.driver.maxResultSize`, so a stage that collected a whole
table to the driver would fail here as it would on a production table: every stage is run over
a table whose full collection exceeds it. Run with `make test-spark` or `pytest -m spark`;
needs Java 17.
"""

import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from taxi_fare_mlops import config, contract, features, sample_data
from taxi_fare_mlops.mlops import dataset, outputs, registry, runtime, tables
from taxi_fare_mlops.mlops.errors import MlopsError
from taxi_fare_mlops.mlops.location import Location

from conftest import copy_of

pytestmark = pytest.mark.spark
pytest.importorskip("pyspark")

SRC = Path(__file__).resolve().parent.parent / "src"
MAX_RESULT_SIZE = "1m"
MAX_RESULT_BYTES = 1024 * 1024
DELTA_JARS = os.environ.get("SPARK_DELTA_JARS", "")
NO_DELTA = (
    "local Spark has no Delta Lake: its jars come from Maven, not with the delta-spark wheel; "
    "set SPARK_DELTA_JARS to run MERGE and replaceWhere here (they run on Databricks)"
)


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        pytest.skip("Spark needs Java (17) on PATH or JAVA_HOME")
    from pyspark.sql import SparkSession

    patch = pytest.MonkeyPatch()
    # Executors are separate Python processes: they must import the package too.
    patch.setenv("PYTHONPATH", os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    patch.setenv("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master("local[2]")
        .appName(f"{config.PACKAGE}-tests")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # The smallest limit Spark accepts: MAX_RESULT_BYTES, far below a big table.
        .config("spark.driver.maxResultSize", MAX_RESULT_SIZE)
    )
    if DELTA_JARS:
        builder = (
            builder.config("spark.jars", DELTA_JARS)
            .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
            .config(
                "spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog"
            )
            .config("spark.sql.sources.default", "delta")
        )
    session = builder.getOrCreate()
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
    trips = sample_data.generate_rows(500)
    store.write(trips, table)
    assert store.exists(table) and store.count(table) == 500
    back = store.read(table)
    assert list(back.columns) == sample_data.COLUMNS
    assert sorted(back[contract.TIMESTAMP]) == sorted(trips[contract.TIMESTAMP])
    store.write(trips.head(20), table, mode="append")
    assert store.count(table) == 520
    number = next(name for name, rule in contract.INPUT_COLUMNS.items() if rule.kind == "number")
    assert len(store.read(table, columns=[number], max_rows=7)) == 7
    assert 20 < len(store.read(table, sample_fraction=0.2)) < 200
    integer = next(name for name, rule in contract.INPUT_COLUMNS.items() if rule.kind == "integer")
    value = int(trips[integer].iloc[0])
    assert (store.read(table, where={integer: value})[integer] == value).all()
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
    store.write(sample_data.generate_rows(3_000), source)
    trained = train(location=location, input_table=source)
    validate(location=location, model_version=trained.version, input_table=source)
    deploy(location=location, model_version=trained.version)

    trips = sample_data.generate_rows(400, seed=3, start="2016-03-01", days=7)
    store.write(trips, location.new_rows)
    result = score(location=location, input_table=location.new_rows, batch_id="2016-03-01")
    assert result.rows == 400

    rows = store.read(result.table)
    assert len(rows) == 400 and rows[contract.KEY].is_unique
    assert set(rows["batch_id"]) == {"2016-03-01"} and set(rows["model_version"]) == {"1"}
    # Every declared feature reaches the predictions table on the cluster path too.
    assert list(rows.columns) == PREDICTION_SCHEMA.names
    # The cluster path predicts exactly what the local path would.
    model = mlflow.pyfunc.load_model(location.model_uri("1"))
    expected = dataset.add_features(trips)
    answer = outputs.answer(
        model.predict(expected[features.MODEL_FEATURES]), outputs.classes_of(model)
    )
    expected["expected"] = answer[outputs.PREDICTION]
    joined = rows.merge(expected[[contract.KEY, "expected"]], on=contract.KEY)
    assert len(joined) == 400
    assert joined["prediction"].to_numpy() == pytest.approx(joined["expected"].to_numpy())
    if outputs.PROBABILITIES in answer:  # a classifier: the same probabilities by class
        by_key = dict(zip(expected[contract.KEY], answer[outputs.PROBABILITIES], strict=True))
        for key, stored in zip(rows[contract.KEY], rows[outputs.PROBABILITIES], strict=True):
            assert dict(stored) == pytest.approx(dict(by_key[key]))
    assert registry.alias_version(location.model, config.CHAMPION) == "1"

    # Replacing a batch in place needs Delta, which local Spark does not have.
    if not DELTA_JARS:
        with pytest.raises(MlopsError, match="needs a Delta table"):
            score(location=location, input_table=location.new_rows, batch_id="2016-03-01")


@pytest.mark.skipif(
    contract.PROBLEM_TYPE != "classification", reason="problem type: a regression model"
)
def test_a_classifier_logged_before_classifier_model_is_scored_as_before(fresh_local_dir, location):
    """Versions logged before 0.7.0 (MLflow's scikit-learn flavour with `predict_proba`) answer
    only their probabilities: scoring on the cluster still writes their class too."""
    import mlflow
    from mlflow.models import infer_signature

    from taxi_fare_mlops import model
    from taxi_fare_mlops.mlops.score import score
    from taxi_fare_mlops.mlops.train import pip_requirements, register

    frame = dataset.training_rows(dataset.add_features(sample_data.generate_rows(1_000)))
    rows = frame[features.MODEL_FEATURES]
    pipeline = model.build_pipeline().fit(rows, frame[contract.LABEL])
    classes = outputs.classes_of_pipeline(pipeline)
    registry.configure_mlflow()
    with mlflow.start_run(experiment_id=registry.experiment_id(f"/old-{location.schema}")):
        logged = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            serialization_format="skops",
            skops_trusted_types=model.TRUSTED_TYPES,
            signature=infer_signature(rows, pipeline.predict_proba(rows)),
            pip_requirements=pip_requirements(),
            pyfunc_predict_fn="predict_proba",
            metadata={outputs.CLASSES_KEY: classes},
        )
    version = register(logged.model_uri, model_name=location.model, tags={"git_commit": "old"})
    registry.client().set_registered_model_alias(location.model, config.CHAMPION, version)
    assert outputs.classes_at(location.model_uri(version)) == (classes, True)

    trips = sample_data.generate_rows(200, seed=5, start="2016-03-01", days=7)
    tables.for_runtime().write(trips, location.new_rows)
    result = score(location=location, input_table=location.new_rows, batch_id="2016-03-01")
    stored = tables.for_runtime().read(result.table)
    expected = dataset.add_features(trips).set_index(contract.KEY).loc[stored[contract.KEY]]
    probabilities = pipeline.predict_proba(expected[features.MODEL_FEATURES])
    assert (
        stored[outputs.PREDICTION].tolist()
        == pipeline.predict(expected[features.MODEL_FEATURES]).tolist()
    )
    assert outputs.probability_matrix(stored[outputs.PROBABILITIES], classes) == pytest.approx(
        probabilities
    )


def _write_sorted(spark, table, rows=20_000):
    """A table whose `position` rises with the order of its files (several of them)."""
    frame = spark.range(rows).withColumnRenamed("id", "position").repartition(4, "position")
    frame.sortWithinPartitions("position").write.saveAsTable(tables.quoted(table))


def test_capped_reads_on_spark_are_random_samples(spark, location):
    from scipy import stats

    table = location.table("sorted")
    _write_sorted(spark, table)
    store = tables.for_runtime()
    population = store.read(table, columns=["position"])["position"]
    sample = store.read(table, columns=["position"], max_rows=1_000)["position"]
    assert len(sample) == 1_000 and sample.is_unique
    # `limit` would hand back the first rows of the first files: here, the smallest positions.
    assert stats.ks_2samp(sample, population).pvalue > 0.01
    assert sample.max() > population.quantile(0.9)
    assert sorted(sample) == sorted(
        store.read(table, columns=["position"], max_rows=1_000)["position"]
    )


def test_every_stage_stays_under_max_result_size(spark, fresh_local_dir, location, monkeypatch):
    """Train, validate, deploy, score, monitor and label over a table that the driver could not
    collect: each reads a capped sample, one batch, or an aggregate."""
    from taxi_fare_mlops.mlops import monitor, validate
    from taxi_fare_mlops.mlops.deploy import deploy
    from taxi_fare_mlops.mlops.labels import label
    from taxi_fare_mlops.mlops.score import score
    from taxi_fare_mlops.mlops.train import train

    store = tables.for_runtime()
    source = location.table("trips")
    rows = 60_000
    store.write(sample_data.generate_rows(rows), source)
    # The limit bites: collecting the whole table fails.
    with pytest.raises(Exception, match="maxResultSize"):
        spark.table(tables.quoted(source)).toPandas()

    # The stages' caps, scaled to this session's limit as the defaults are to a real driver.
    cap = 5_000
    monkeypatch.setattr(monitor, "MAX_ROWS", cap)
    monkeypatch.setattr(validate, "MAX_VALIDATION_ROWS", cap)
    trained = train(location=location, input_table=source, max_training_rows=cap)
    assert trained.training_rows < cap
    validate.validate(location=location, model_version=trained.version, input_table=source)
    deploy(location=location, model_version=trained.version)

    scored = score(location=location, input_table=source, batch_id="big")
    assert scored.rows + scored.dropped == rows
    checked = monitor.monitor(location=location, baseline_table=source)
    assert checked.batch_id == "big" and checked.rows == cap

    if DELTA_JARS:
        result = label(location=location, source=source)
        assert result.recorded + sum(result.skipped.values()) == rows
        assert result.attached == scored.rows
    else:
        # The labels are merged table to table; attaching them to predictions needs Delta.
        with pytest.raises(MlopsError, match="needs a Delta table"):
            label(location=location, source=source)
        assert store.count(location.labels) > rows * 0.99


@pytest.mark.skipif(not DELTA_JARS, reason=NO_DELTA)
def test_labels_merge_into_delta_tables(location):
    from taxi_fare_mlops.mlops.labels import label

    store = tables.for_runtime()
    source = location.table("fares")
    store.write(pd.DataFrame({contract.KEY: [1, 2, 2], contract.LABEL: [5.0, 6.0, 6.0]}), source)
    first = label(location=location, source=source)
    assert first.recorded == 2 and first.skipped == {"row listed again": 1}
    store.write(pd.DataFrame({contract.KEY: [2, 3], contract.LABEL: [9.0, 7.0]}), source)
    assert label(location=location, source=source).corrected == 0  # no predictions
    stored = store.read(location.labels).set_index(contract.KEY)[contract.LABEL].to_dict()
    assert stored == {1: 5.0, 2: 9.0, 3: 7.0}


def test_the_explore_notebook_samples_a_spark_table(fresh_local_dir, location):
    """As in a workspace: the notebook reads a sample of `input_table` through Spark."""
    from notebook_runner import notebook_namespace

    source = location.table("trips")
    tables.for_runtime().write(sample_data.generate_rows(2_500), source)
    namespace = notebook_namespace(
        "explore",
        catalog=location.catalog,
        schema=location.schema,
        input_table=source,
        sample_rows="1500",
    )
    assert (namespace["data_profile"]["rows"] == 1_500).all()
    assert len(namespace["comparison"]) == 3  # no champion in this schema yet


# --- features that change on tables that exist (tables.schema_change, schema_check) -----------


def test_spark_appends_follow_new_and_removed_columns(location):
    """`ALTER TABLE ... ADD COLUMNS` for a new column (old rows read null), nulls for a stored
    column the rows have not got; a changed type refused before anything is written."""
    store = tables.for_runtime()
    table = location.table("scored")
    old = pd.DataFrame({"batch_id": ["a", "a"], "key": [1, 2], "gone": [0.5, 0.25]})
    store.write(old, table, mode="append")
    store.write(pd.DataFrame({"batch_id": ["b"], "key": [3], "added": [7.0]}), table, mode="append")
    assert store.columns(table) == ["batch_id", "key", "gone", "added"]
    rows = store.read(table).set_index("key").sort_index()
    assert rows["added"].isna().tolist() == [True, True, False]
    assert rows["gone"].isna().tolist() == [False, False, True]

    with pytest.raises(tables.SchemaConflict) as refused:
        store.write(pd.DataFrame({"batch_id": ["c"], "key": [4.5]}), table, mode="append")
    assert str(refused.value).startswith(
        f"table {table}: column key is stored as long, this code writes double; "
    )
    assert store.count(table) == 3
    if not DELTA_JARS:
        # A replace needs Delta: refused before the table gets the write's new column.
        more = pd.DataFrame({"batch_id": ["a"], "key": [1], "more": [1.0]})
        with pytest.raises(MlopsError, match="needs a Delta table"):
            store.write(more, table, mode="append", replace={"batch_id": "a"})
        assert "more" not in store.columns(table)


def test_a_changed_type_on_spark_fails_before_any_alias_moves(location, trained_model):
    from taxi_fare_mlops.mlops.deploy import deploy
    from taxi_fare_mlops.mlops.score import PREDICTION_COLUMNS
    from taxi_fare_mlops.mlops.validate import validate

    champion = copy_of(trained_model, location, config.CHALLENGER, config.CHAMPION)
    candidate = copy_of(trained_model, location)
    feature, kind = next(iter(features.NUMERIC_FEATURES.items()))
    stored = "double" if kind == "long" else "string"
    tables.for_runtime().create_if_missing(
        location.predictions, {**PREDICTION_COLUMNS, feature: stored}
    )
    line = f"table {location.predictions}: column {feature} is stored as {stored}, this code "
    with pytest.raises(tables.SchemaConflict, match=f"^{line}writes {kind}; "):
        validate(location=location, model_version=candidate)
    registry.set_alias(location.model, config.CHALLENGER, candidate)
    with pytest.raises(tables.SchemaConflict, match=f"^{line}writes {kind}; "):
        deploy(location=location, model_version=candidate)
    assert registry.alias_version(location.model, config.CHAMPION) == champion


@pytest.mark.skipif(not DELTA_JARS, reason=NO_DELTA)
def test_scoring_on_spark_merges_a_feature_added_since(location, trained_model):
    """As test_schema_check's local test: a predictions table of an older code (without the
    newest feature, with one removed since) takes the next batch through `replaceWhere`."""
    from taxi_fare_mlops.mlops.score import score

    copy_of(trained_model, location, config.CHALLENGER, config.CHAMPION)
    store = tables.for_runtime()
    added, retired = list(features.NUMERIC_FEATURES)[-1], "retired_feature"
    store.write(sample_data.generate_rows(300, seed=1, start="2016-03-01"), location.new_rows)
    score(location=location, input_table=location.new_rows, batch_id="old")
    older = store.read(location.predictions).drop(columns=[added]).assign(**{retired: 0.5})
    store.write(older, location.predictions, mode="overwrite")
    store.write(sample_data.generate_rows(300, seed=2, start="2016-03-08"), location.new_rows)
    score(location=location, input_table=location.new_rows, batch_id="new")
    rows = store.read(location.predictions)
    old, new = rows[rows["batch_id"] == "old"], rows[rows["batch_id"] == "new"]
    assert len(old) == len(older) and len(new) > 0
    assert old[added].isna().all() and new[added].notna().all()
    assert (old[retired] == 0.5).all() and new[retired].isna().all()
