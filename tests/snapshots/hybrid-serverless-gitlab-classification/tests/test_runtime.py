import sys
from types import ModuleType, SimpleNamespace

import pytest

from taxi_fare_mlops.mlops import registry, runtime, tables
from taxi_fare_mlops.mlops.errors import MlopsError


def test_databricks_is_detected_by_its_runtime_variable(monkeypatch):
    assert not runtime.is_databricks()
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "16.4")
    assert runtime.is_databricks()
    assert runtime.use_spark()


def test_spark_can_be_forced_either_way(monkeypatch):
    monkeypatch.setenv(runtime.USE_SPARK_VARIABLE, "1")
    assert runtime.use_spark()
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "16.4")
    monkeypatch.setenv(runtime.USE_SPARK_VARIABLE, "0")
    assert not runtime.use_spark()


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


class StandInBuilder:
    """Records how `DatabricksSession.builder` was used; returns a stand-in session."""

    def __init__(self):
        self.calls = []

    def serverless(self):
        self.calls.append("serverless")
        return self

    def getOrCreate(self):  # noqa: N802 (Databricks Connect's name)
        self.calls.append("getOrCreate")
        return SimpleNamespace(kind="databricks-connect session", calls=self.calls)


@pytest.fixture
def databricks_connect(monkeypatch):
    """A stand-in `databricks.connect` module, and Connect switched on."""
    builder = StandInBuilder()
    module = ModuleType("databricks.connect")
    module.DatabricksSession = SimpleNamespace(builder=builder)
    monkeypatch.setitem(sys.modules, "databricks.connect", module)
    monkeypatch.setenv(runtime.CONNECT_VARIABLE, "1")
    monkeypatch.delenv("DATABRICKS_CLUSTER_ID", raising=False)
    monkeypatch.delenv(runtime.USE_SPARK_VARIABLE, raising=False)
    return builder


def test_a_workspace_profile_alone_keeps_runs_local(monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", "https://adb-1.azuredatabricks.net")
    monkeypatch.delenv(runtime.CONNECT_VARIABLE, raising=False)
    assert not runtime.uses_connect() and not runtime.uses_workspace()
    assert not runtime.use_spark()


def test_connect_uses_serverless_unless_a_cluster_is_named(databricks_connect, monkeypatch):
    assert runtime.uses_connect() and runtime.uses_workspace() and runtime.use_spark()
    session = runtime.get_spark()
    assert session.kind == "databricks-connect session"
    assert databricks_connect.calls == ["serverless", "getOrCreate"]
    monkeypatch.setenv("DATABRICKS_CLUSTER_ID", "0123-456789-abcdefgh")
    runtime.get_spark()
    assert databricks_connect.calls[2:] == ["getOrCreate"]


def test_connect_sends_tables_and_models_to_the_workspace(databricks_connect, monkeypatch):
    import mlflow

    monkeypatch.setenv("DATABRICKS_CONFIG_PROFILE", "dev")
    assert isinstance(tables.for_runtime(), tables.SparkTables)
    try:
        registry.configure_mlflow()
        assert mlflow.get_tracking_uri() == "databricks://dev"
        assert mlflow.get_registry_uri() == "databricks-uc://dev"
    finally:
        monkeypatch.delenv(runtime.CONNECT_VARIABLE)
        registry.configure_mlflow()  # back to the local registry for the other tests


def test_connect_without_the_package_is_one_clear_error(monkeypatch):
    monkeypatch.setenv(runtime.CONNECT_VARIABLE, "1")
    monkeypatch.setitem(sys.modules, "databricks.connect", None)  # import fails
    with pytest.raises(MlopsError, match=r"databricks-connect is missing: pip install"):
        runtime.get_spark()


def test_on_databricks_the_connect_switch_is_ignored(monkeypatch):
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "17.3")
    monkeypatch.setenv(runtime.CONNECT_VARIABLE, "1")
    assert not runtime.uses_connect() and runtime.uses_workspace()
