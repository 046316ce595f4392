"""`make mlflow-ui`'s command: the local state, on 127.0.0.1 (the server itself runs in
test_lifecycle.py, over a lifecycle's registry)."""

import os
import subprocess
import sys
from pathlib import Path

from taxi_fare_mlops.mlops import ui

SRC = Path(__file__).resolve().parent.parent / "src"


def test_the_server_reads_the_local_database_and_artifacts(fresh_local_dir):
    command = ui.server_command(5123)
    options = dict(zip(command[4::2], command[5::2]))
    assert command[1:4] == ["-m", "mlflow", "server"]
    assert options["--host"] == "127.0.0.1" and options["--port"] == "5123"
    assert options["--backend-store-uri"] == f"sqlite:///{fresh_local_dir / 'mlflow.db'}"
    assert options["--default-artifact-root"] == (fresh_local_dir / "mlartifacts").as_uri()
    # The database exists before the server starts, made the way every stage makes it.
    assert (fresh_local_dir / "mlflow.db").is_file()


def test_in_a_workspace_there_is_one_error_line(fresh_local_dir, monkeypatch, capsys):
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "17.3")
    before = sorted(fresh_local_dir.rglob("*"))
    assert ui.main(["--port", "5123"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: runs and models live in the workspace: open its Experiments page"
    ]
    assert sorted(fresh_local_dir.rglob("*")) == before  # nothing written locally


def test_make_mlflow_ui_runs_the_module():
    makefile = (SRC.parent / "Makefile").read_text(encoding="utf-8")
    assert f"-m {ui.__name__} --port $(MLFLOW_PORT)" in makefile
    # Importable from src/ whether or not the package is installed.
    result = subprocess.run(
        [sys.executable, "-m", ui.__name__, "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    assert "--port" in result.stdout
