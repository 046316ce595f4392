"""`make mlflow-ui`'s command: the local state, on 127.0.0.1 (the server itself runs in
test_lifecycle.py, over a lifecycle's registry); a taken port fails at once; every signal that
stops it stops the server's whole process group, shown fast with a stand-in server and, slow,
with MLflow's."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from taxi_fare_mlops.mlops import ui

from conftest import source_environment
from processes import default_sigint, processes_marked, running, stop

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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((ui.HOST, 0))
        return probe.getsockname()[1]


def _port_is_free(port: int) -> bool:
    """Whether a new server could listen on the port now (SO_REUSEADDR, as servers bind)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((ui.HOST, port))
        except OSError:
            return False
    return True


def _wait_for_health(port: int, process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"http://{ui.HOST}:{port}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the MLflow UI did not start: {stop(process)[1][-2000:]}")
        time.sleep(0.5)


def test_a_taken_port_fails_at_once_with_one_line(fresh_local_dir, capsys):
    with socket.socket() as taken:
        taken.bind((ui.HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert ui.main(["--port", str(port)]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: port {port} on {ui.HOST} is taken")
    assert f"MLFLOW_PORT={port + 1}" in line


# A stand-in for `mlflow server`: it starts a worker in its process group, as MLflow starts
# uvicorn and its job runner, says "ready", then serves until stopped, or ends by itself with
# exit 3 when told to.
STAND_IN = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print("ready", flush=True)
time.sleep(0.5 if sys.argv[1] == "end" else 600)
sys.exit(3)
"""


def _ui_with_stand_in(mode: str, stop_signal=None):
    """The UI's main, run as a child whose server is STAND_IN (`mode`: "serve" or "end")."""
    script = (
        f"import sys; from {ui.__name__} import main; import {ui.__name__} as ui\n"
        f"ui.server_command = lambda port: [sys.executable, '-c', {STAND_IN!r}, {mode!r}]\n"
        "sys.exit(main(['--port', '0']))"
    )
    return running(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=source_environment(),
        preexec_fn=default_sigint if stop_signal == signal.SIGINT else None,
    )


def _wait_for_ready(process: subprocess.Popen) -> None:
    for line in process.stdout:
        if line.strip() == "ready":
            return
    raise AssertionError(f"the stand-in server never started: {stop(process)[1][-2000:]}")


@pytest.mark.slow  # child processes: the UI's main and a stand-in server
@pytest.mark.parametrize("stop_signal", ui.STOP_SIGNALS + (signal.SIGINT,),
                         ids=lambda number: signal.Signals(number).name)  # fmt: skip
def test_every_stop_signal_stops_the_servers_whole_group(fresh_local_dir, stop_signal):
    with _ui_with_stand_in("serve", stop_signal) as process:
        _wait_for_ready(process)
        out, err = stop(process, stop_signal)
        left = processes_marked(process.mark)
    assert (process.returncode, out.strip(), left) == (0, "stopped", []), err


@pytest.mark.slow
def test_a_server_that_ends_by_itself_is_an_error_and_leaves_nothing(fresh_local_dir):
    with _ui_with_stand_in("end") as process:
        _wait_for_ready(process)
        _, err = process.communicate(timeout=60)
        left = processes_marked(process.mark)
    assert process.returncode == 1 and left == []
    assert err.splitlines() == [
        "error: the MLflow server stopped by itself (exit 3): see its messages above"
    ]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="no /proc to tell a zombie by")
def test_a_group_whose_processes_wait_to_be_reaped_has_ended():
    """The server's workers are orphans once it has gone; whoever adopts them may reap them
    late or never (a container's first process): waiting for that would hold `make mlflow-ui`
    for STOP_SECONDS and then SIGKILL what has already ended."""
    zombie = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    try:
        stat = Path(f"/proc/{zombie.pid}/stat")
        deadline = time.monotonic() + 30
        while ui.stat_fields(stat)[0] != "Z":
            assert time.monotonic() < deadline, "the child never ended"
            time.sleep(0.01)
        os.killpg(zombie.pid, 0)  # the system still counts it in its group ...
        assert not ui._group_running(zombie.pid)  # ... but nothing of it runs
    finally:
        zombie.wait()
    with running([sys.executable, "-c", "import time; time.sleep(60)"]) as sleeper:
        assert ui._group_running(sleeper.pid)


@pytest.mark.slow
def test_the_ui_stops_cleanly_with_its_server_on_ctrl_c(fresh_local_dir):
    """`make mlflow-ui` ended by Ctrl-C: "stopped", exit 0, the port free and no process of the
    MLflow server left (uvicorn, its job runner and workers). Every other stop signal takes the
    same way (the UI sends SIGTERM to the server's group whatever it got): the stand-in tests
    above show each; this one starts MLflow's own server, which takes a while."""
    port = _free_port()
    with running(
        [sys.executable, "-m", ui.__name__, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=source_environment(),
        preexec_fn=default_sigint,
    ) as process:
        _wait_for_health(port, process, seconds=300)
        out, err = stop(process, signal.SIGINT, timeout=ui.STOP_SECONDS + 30)
        # The server's processes (a session of their own) carry the UI's mark: none may
        # outlive it.
        left = processes_marked(process.mark)
    assert process.returncode == 0, err
    assert out.strip().endswith("stopped") and "Traceback" not in err
    assert not left, f"processes left behind: {left}"
    assert _port_is_free(port)
