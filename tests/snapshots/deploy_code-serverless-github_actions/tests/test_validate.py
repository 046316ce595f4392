"""The validation gate, including the case it exists for: a worse model must not ship."""

import pytest
from sklearn.dummy import DummyClassifier, DummyRegressor

from taxi_fare_mlops import config, contract, model
from taxi_fare_mlops.mlops import registry
from taxi_fare_mlops.mlops.errors import MlopsError
from taxi_fare_mlops.mlops.train import train
from taxi_fare_mlops.mlops.validate import (
    NEWEST,
    ValidationFailed,
    check_gate,
    validate,
)

from conftest import copy_of

GATE = contract.GATE
# A threshold no model reaches: above the best possible score, or below the best error.
IMPOSSIBLE = 1.5 if GATE.higher_is_better else 1e-6


def predict_the_mean(params=None):
    """A deliberately poor model, whatever estimator `model.py` holds: it ignores the row."""
    if contract.PROBLEM_TYPE == "classification":
        return DummyClassifier(strategy="prior")
    return DummyRegressor(strategy="mean")


def gate(metrics, champion_metrics=None, champion_version=None, gate_threshold=3.0, tolerance=0.05):
    return check_gate(
        metrics,
        champion_metrics=champion_metrics,
        champion_version=champion_version,
        gate_threshold=gate_threshold,
        champion_tolerance=tolerance,
    )


@pytest.mark.skipif(not GATE.metric == "rmse", reason="problem type: the regression gate")
def test_gate_rules():
    good = {"rmse": 2.0}
    assert gate(good) == []
    assert gate(good, {"rmse": 1.95}, "4") == []  # within tolerance
    (absolute,) = gate({"rmse": 3.5})
    assert "rmse 3.5000 is not at most gate_threshold 3" in absolute
    (relative,) = gate(good, {"rmse": 1.5}, "4")
    assert "champion version 4" in relative and "1.5750" in relative and "5%" in relative
    assert len(gate({"rmse": float("nan")})) == 1


@pytest.mark.skipif(not GATE.higher_is_better, reason="problem type: a gate metric that rises")
def test_gate_rules_when_higher_is_better():
    name = GATE.metric
    good = {name: 0.9}
    assert gate(good, gate_threshold=0.8) == []
    assert gate(good, {name: 0.93}, "4", gate_threshold=0.8) == []  # within tolerance
    (absolute,) = gate({name: 0.7}, gate_threshold=0.8)
    assert f"{name} 0.7000 is not at least gate_threshold 0.8" in absolute
    (relative,) = gate(good, {name: 0.99}, "4", gate_threshold=0.8)
    assert "champion version 4" in relative and "0.9405" in relative and "5%" in relative
    assert len(gate({name: float("nan")}, gate_threshold=0.8)) == 1


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
    assert GATE.metric in message and f"champion version {champion}" in message
    assert "champion_tolerance" in message
    assert registry.alias_version(location.model, config.CHAMPION) == champion
    assert registry.alias_version(location.model, config.CHALLENGER) == champion
    assert registry.tags(location.model, worse.version)["validation_status"] == "failed"


def test_absolute_threshold_fails_without_champion(input_table, location, candidate):
    with pytest.raises(ValidationFailed, match=f"not {GATE.bound} gate_threshold"):
        validate(
            location=location,
            model_version=candidate,
            input_table=input_table,
            gate_threshold=IMPOSSIBLE,
        )
    assert registry.alias_version(location.model, config.CHALLENGER) is None


def test_version_must_be_given_and_exist(input_table, location):
    with pytest.raises(MlopsError, match="model_version is empty"):
        validate(location=location, model_version="", input_table=input_table)
    with pytest.raises(MlopsError, match="has no version 7"):
        validate(location=location, model_version="7", input_table=input_table)
    with pytest.raises(MlopsError, match="has no versions yet: run train first"):
        validate(location=location, model_version=NEWEST, input_table=input_table)


def test_a_version_without_training_tags_is_never_validated(
    input_table, location, trained_model, candidate, caplog
):
    # What a train killed between registering and tagging left, in an older release.
    untagged = copy_of(trained_model, location)
    registry.delete_tags(location.model, untagged, list(registry.TRAINING_TAGS))
    with pytest.raises(MlopsError, match=f"version {untagged} has no training tags"):
        validate(location=location, model_version=untagged, input_table=input_table)
    # By default the newest version with its tags is validated; the untagged one is named.
    result = validate(location=location, model_version=NEWEST, input_table=input_table)
    assert result.version == candidate
    assert f"skipped: {location.model} version {untagged} has no training tags" in caplog.text
    assert registry.alias_version(location.model, config.CHALLENGER) == candidate


def test_train_registers_each_version_with_its_training_tags(input_table, location):
    trained = train(location=location, input_table=input_table)
    assert registry.untrained(location.model, trained.version) == ""
    run = registry.client().get_run(trained.run_id)
    assert run.info.status == "FINISHED"
    assert registry.model_version(location.model, trained.version).run_id == trained.run_id
