"""The validation gate, including the case it exists for: a worse model must not ship."""

import pytest
from sklearn.dummy import DummyRegressor

from taxi_fare_mlops import config, model
from taxi_fare_mlops.mlops import registry
from taxi_fare_mlops.mlops.errors import MlopsError
from taxi_fare_mlops.mlops.train import train
from taxi_fare_mlops.mlops.validate import ValidationFailed, check_gate, validate


def predict_the_mean(params=None):
    """A deliberately poor model, whatever estimator `model.py` holds: it ignores the trip."""
    return DummyRegressor(strategy="mean")


def gate(metrics, champion_metrics=None, champion_version=None, max_rmse=3.0, tolerance=0.05):
    return check_gate(
        metrics,
        champion_metrics=champion_metrics,
        champion_version=champion_version,
        max_rmse=max_rmse,
        champion_tolerance=tolerance,
    )


def test_gate_rules():
    good = {"rmse": 2.0}
    assert gate(good) == []
    assert gate(good, {"rmse": 1.95}, "4") == []  # within tolerance
    (absolute,) = gate({"rmse": 3.5})
    assert "rmse 3.5000 is above max_rmse 3" in absolute
    (relative,) = gate(good, {"rmse": 1.5}, "4")
    assert "champion version 4" in relative and "1.5750" in relative and "5%" in relative
    assert len(gate({"rmse": float("nan")})) == 1


def test_passing_version_becomes_challenger(input_table, location, candidate):
    result = validate(location=location, model_version=candidate, input_table=input_table)
    assert result.passed and result.champion_version is None
    assert "passed validation" in result.summary()
    assert registry.alias_version(location.model, config.CHALLENGER) == candidate
    assert registry.alias_version(location.model, config.CHAMPION) is None
    assert registry.tags(location.model, candidate)["validation_status"] == "passed"


def test_worse_model_fails_and_champion_stays(input_table, location, champion, monkeypatch):
    monkeypatch.setattr(model, "build_pipeline", predict_the_mean)
    worse = train(location=location, input_table=input_table)
    with pytest.raises(ValidationFailed) as failure:
        validate(location=location, model_version=worse.version, input_table=input_table)
    message = str(failure.value)
    assert "rmse" in message and f"champion version {champion}" in message
    assert "champion_tolerance" in message
    assert registry.alias_version(location.model, config.CHAMPION) == champion
    assert registry.alias_version(location.model, config.CHALLENGER) == champion
    assert registry.tags(location.model, worse.version)["validation_status"] == "failed"


def test_absolute_threshold_fails_without_champion(input_table, location, candidate):
    with pytest.raises(ValidationFailed, match="above max_rmse 0.5"):
        validate(location=location, model_version=candidate, input_table=input_table, max_rmse=0.5)
    assert registry.alias_version(location.model, config.CHALLENGER) is None


def test_version_must_be_given_and_exist(input_table, location):
    with pytest.raises(MlopsError, match="model_version is empty"):
        validate(location=location, model_version="", input_table=input_table)
    with pytest.raises(MlopsError, match="has no version 7"):
        validate(location=location, model_version="7", input_table=input_table)
