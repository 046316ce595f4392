from pathlib import Path

import pytest

from taxi_fare_mlops import config, runtime
from taxi_fare_mlops.runtime import MlopsError


def test_databricks_is_detected_by_its_runtime_variable(monkeypatch):
    assert not runtime.is_databricks()
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "16.4")
    assert runtime.is_databricks()


def test_local_dir_defaults_to_dot_local_of_the_working_directory(monkeypatch, tmp_path):
    for variable in runtime.LOCAL_DIR_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    assert runtime.local_dir() == (tmp_path / ".local").resolve()


def test_local_dir_can_be_moved_by_either_variable(monkeypatch, tmp_path):
    monkeypatch.delenv(runtime.LOCAL_DIR_VARIABLES[0])
    monkeypatch.setenv("MLOPS_LOCAL_DIR", str(tmp_path / "generic"))
    assert runtime.local_dir() == (tmp_path / "generic").resolve()
    monkeypatch.setenv(runtime.LOCAL_DIR_VARIABLES[0], str(tmp_path / "specific"))
    assert runtime.local_dir() == (tmp_path / "specific").resolve()


def test_local_mlflow_uses_sqlite_in_the_local_dir(fresh_local_dir):
    import mlflow

    runtime.configure_mlflow()
    assert mlflow.get_tracking_uri() == f"sqlite:///{fresh_local_dir / 'mlflow.db'}"
    assert mlflow.get_registry_uri() == mlflow.get_tracking_uri()


def test_experiments_keep_artifacts_under_the_local_dir(fresh_local_dir):
    import mlflow

    runtime.set_experiment("/Shared/some-experiment")
    location = mlflow.get_experiment_by_name("/Shared/some-experiment").artifact_location
    assert Path(location.removeprefix("file://")) == fresh_local_dir / "mlartifacts"


def test_full_name_joins_three_levels():
    assert runtime.full_name(config.DEV_CATALOG, "s", "t") == f"{config.DEV_CATALOG}.s.t"


@pytest.mark.parametrize("bad", ["", "a.b", "x y", "1abc", "a;drop"])
def test_bad_name_parts_are_refused(bad):
    with pytest.raises(MlopsError, match="not a valid"):
        runtime.full_name(config.DEV_CATALOG, bad, "t")


def test_unknown_catalog_is_refused_locally():
    with pytest.raises(MlopsError, match="unknown catalog 'nope'"):
        runtime.full_name("nope", "s", "t")


def test_split_name_needs_three_levels():
    assert runtime.split_name(config.INPUT_TABLE) == tuple(config.INPUT_TABLE.split("."))
    with pytest.raises(MlopsError, match="three-level"):
        runtime.split_name("only.two")


def test_git_commit_prefers_ci_variables(monkeypatch):
    runtime.git_commit.cache_clear()
    monkeypatch.setenv("GIT_COMMIT", "abc123")
    try:
        assert runtime.git_commit() == "abc123"
    finally:
        runtime.git_commit.cache_clear()


def test_registry_lookups_of_missing_things(fresh_local_dir):
    assert runtime.alias_version("dev.nothing.here", "champion") is None
    with pytest.raises(MlopsError, match="no versions yet"):
        runtime.latest_version("dev.nothing.here")
    with pytest.raises(MlopsError, match="must be a number"):
        runtime.model_version("dev.nothing.here", "latest")
