import pytest

from taxi_fare_mlops import contract, features
from taxi_fare_mlops.mlops import registry
from taxi_fare_mlops.mlops.errors import MlopsError
from taxi_fare_mlops.mlops.train import pip_requirements, train

GATE = contract.GATE.metric


def test_pip_requirements_are_explicit_and_pinned():
    requirements = pip_requirements()
    names = {requirement.split("==")[0] for requirement in requirements}
    assert {"mlflow", "scikit-learn", "skops", "pandas", "numpy"} <= names
    assert all("==" in requirement for requirement in requirements)


def test_train_registers_a_new_version_each_time(input_table, location):
    import mlflow

    first = train(location=location, input_table=input_table)
    sample = train(location=location, input_table=input_table, sample_fraction=0.25)
    assert (first.version, sample.version) == ("1", "2")
    assert first.model_name == location.model
    assert contract.GATE.passes(first.metrics[GATE], contract.GATE.threshold)
    assert sample.training_rows < 0.3 * first.training_rows
    assert f"{location.model} version 1: trained on" in first.summary()

    tags = registry.tags(location.model, "1")
    assert tags["training_table"] == input_table
    assert tags["sample_fraction"] == "1.0"
    assert "git_commit" in tags
    assert registry.tags(location.model, "2")["sample_fraction"] == "0.25"

    run = mlflow.get_run(first.run_id)
    assert run.data.metrics[f"holdout_{GATE}"] == pytest.approx(first.metrics[GATE])
    assert run.data.params["input_table"] == input_table
    info = mlflow.models.get_model_info(location.model_uri("1"))
    assert info.signature is not None
    assert set(info.signature.inputs.input_names()) == set(features.MODEL_FEATURES)


def test_too_few_rows_is_a_user_error(input_table, location):
    with pytest.raises(MlopsError, match="too few"):
        train(location=location, input_table=input_table, sample_fraction=0.005)


def test_training_reads_at_most_max_training_rows_and_logs_the_sample(input_table, location):
    import mlflow

    from conftest import TEST_ROWS

    capped = train(location=location, input_table=input_table, max_training_rows=1_000)
    run = mlflow.get_run(capped.run_id)
    assert run.data.metrics["sampled_rows"] == 1_000
    assert run.data.metrics["input_table_rows"] == TEST_ROWS
    assert run.data.metrics["sampled_fraction"] == pytest.approx(1_000 / TEST_ROWS)
    assert run.data.params["max_training_rows"] == "1000"
    # Fit rows are what is left of the sample after the hold-out and the glitch filter.
    assert capped.training_rows < 1_000


def test_max_training_rows_must_be_positive(input_table, location):
    with pytest.raises(MlopsError, match="max_training_rows must be at least 1"):
        train(location=location, input_table=input_table, max_training_rows=0)
