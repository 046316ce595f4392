import pytest

from taxi_fare_mlops import config, data, features, runtime, train

from conftest import registered_name


def test_pipeline_learns_fares():
    frame = features.training_rows(features.add_features(data.generate_trips(3_000)))
    fit, holdout = features.split_holdout(frame)
    model = train.build_pipeline().fit(fit[features.MODEL_FEATURES], fit[features.LABEL])
    metrics = train.regression_metrics(
        holdout[features.LABEL], model.predict(holdout[features.MODEL_FEATURES])
    )
    assert metrics["r2"] > 0.85
    assert metrics["rmse"] < config.MAX_RMSE


def test_pipeline_copes_with_unseen_zip_codes():
    frame = features.add_features(data.generate_trips(500))
    model = train.build_pipeline().fit(frame[features.MODEL_FEATURES], frame[features.LABEL])
    unseen = frame[features.MODEL_FEATURES].head(3).assign(pickup_zip=99999)
    assert model.predict(unseen).shape == (3,)


def test_pip_requirements_are_explicit_and_pinned():
    requirements = train.pip_requirements()
    names = {requirement.split("==")[0] for requirement in requirements}
    assert {"mlflow", "scikit-learn", "skops", "pandas", "numpy"} <= names
    assert all("==" in requirement for requirement in requirements)


def test_train_registers_a_new_version_each_time(input_table, schema):
    import mlflow

    first = train.train(config.DEV_CATALOG, schema, config.MODEL_NAME, input_table)
    second = train.train(config.DEV_CATALOG, schema, config.MODEL_NAME, input_table)
    assert (first.version, second.version) == ("1", "2")
    assert first.model_name == registered_name(config.DEV_CATALOG, schema)
    assert first.metrics["rmse"] < config.MAX_RMSE

    version = runtime.mlflow_client().get_model_version(first.model_name, "1")
    assert version.tags["training_table"] == input_table
    assert version.tags["sample_fraction"] == "1.0"
    assert "git_commit" in version.tags

    run = mlflow.get_run(first.run_id)
    assert run.data.metrics["holdout_rmse"] == pytest.approx(first.metrics["rmse"])
    assert run.data.params["input_table"] == input_table
    model = mlflow.models.get_model_info(f"models:/{first.model_name}/1")
    assert model.signature is not None
    assert set(model.signature.inputs.input_names()) == set(features.MODEL_FEATURES)


def test_train_on_a_sample(input_table, schema):
    full = train.train(config.DEV_CATALOG, schema, config.MODEL_NAME, input_table)
    sample = train.train(config.DEV_CATALOG, schema, config.MODEL_NAME, input_table, None, 0.25)
    assert sample.training_rows < 0.3 * full.training_rows


def test_too_few_rows_is_a_user_error(input_table, schema):
    with pytest.raises(runtime.MlopsError, match="too few"):
        train.train(config.DEV_CATALOG, schema, config.MODEL_NAME, input_table, None, 0.005)
