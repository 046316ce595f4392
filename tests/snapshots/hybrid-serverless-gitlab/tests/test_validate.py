"""The validation gate, including the case it exists for: a worse model must not ship."""

import pytest

from taxi_fare_mlops import config, runtime
from taxi_fare_mlops.train import train
from taxi_fare_mlops.validate import ValidationFailed, check_gate, validate

# Hyper-parameters that make a deliberately poor model: one shallow boosting step.
WORSE = {"max_iter": 1, "learning_rate": 0.05}


def test_gate_rules():
    good = {"rmse": 2.0}
    assert check_gate(good, None, None, max_rmse=3.0, champion_tolerance=0.05) == []
    assert check_gate(good, {"rmse": 1.95}, "4", 3.0, 0.05) == []  # within tolerance
    (absolute,) = check_gate({"rmse": 3.5}, None, None, 3.0, 0.05)
    assert "rmse 3.5000 is above max_rmse 3" in absolute
    (relative,) = check_gate(good, {"rmse": 1.5}, "4", 3.0, 0.05)
    assert "champion version 4" in relative and "1.5750" in relative and "5%" in relative
    assert len(check_gate({"rmse": float("nan")}, None, None, 3.0, 0.05)) == 1


def test_passing_version_becomes_challenger(input_table, schema):
    trained = train(config.DEV_CATALOG, schema, input_table=input_table)
    result = validate(
        config.DEV_CATALOG, schema, model_version=trained.version, input_table=input_table
    )
    assert result.passed and result.champion_version is None
    name = trained.model_name
    assert runtime.alias_version(name, config.CHALLENGER) == trained.version
    assert runtime.alias_version(name, config.CHAMPION) is None
    tags = runtime.mlflow_client().get_model_version(name, trained.version).tags
    assert tags["validation_status"] == "passed"


def test_worse_model_fails_and_champion_stays(input_table, schema, champion):
    worse = train(config.DEV_CATALOG, schema, input_table=input_table, params=WORSE)
    with pytest.raises(ValidationFailed) as failure:
        validate(config.DEV_CATALOG, schema, model_version=worse.version, input_table=input_table)
    message = str(failure.value)
    assert "rmse" in message and f"champion version {champion}" in message
    assert "champion_tolerance" in message
    name = worse.model_name
    assert runtime.alias_version(name, config.CHAMPION) == champion
    assert runtime.alias_version(name, config.CHALLENGER) == champion
    tags = runtime.mlflow_client().get_model_version(name, worse.version).tags
    assert tags["validation_status"] == "failed"


def test_absolute_threshold_fails_without_champion(input_table, schema):
    trained = train(config.DEV_CATALOG, schema, input_table=input_table)
    with pytest.raises(ValidationFailed, match="above max_rmse 0.5"):
        validate(
            config.DEV_CATALOG,
            schema,
            model_version=trained.version,
            input_table=input_table,
            max_rmse=0.5,
        )
    assert runtime.alias_version(trained.model_name, config.CHALLENGER) is None


def test_version_must_be_given_and_exist(input_table, schema):
    with pytest.raises(runtime.MlopsError, match="model_version is empty"):
        validate(config.DEV_CATALOG, schema, model_version="", input_table=input_table)
    with pytest.raises(runtime.MlopsError, match="has no version 7"):
        validate(config.DEV_CATALOG, schema, model_version="7", input_table=input_table)
