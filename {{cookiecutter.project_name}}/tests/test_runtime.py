from {{ cookiecutter.__package_name }}.mlops import runtime


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
