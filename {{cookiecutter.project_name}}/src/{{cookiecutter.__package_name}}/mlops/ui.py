"""`make mlflow-ui`: the MLflow UI over the local runs, registered models and artifacts.

Locally MLflow keeps runs and the registry of every local catalog in `.local/mlflow.db`, and
artifacts in `.local/mlartifacts/` (`registry.configure_mlflow`, `registry.experiment_id`). The
server reads that database, so runs, metrics, models, versions and aliases can be browsed while
`lifecycle`, the tests or the exploration notebook write to it. It listens on 127.0.0.1 only:
the tracking server has no authentication. In a workspace, the workspace is the UI.

Ctrl-C, SIGTERM, SIGHUP (the terminal closed) or SIGQUIT stops it: `mlflow server` runs its web
server, job runner and workers in processes of its own, which are started in a process group of
their own and stopped together, so none is left holding the port; then "stopped", exit 0. A port
already taken fails at once with one line and exit 1 (the server itself would report it among
its start-up messages, after half a minute, and exit 0); so does a server that ends by itself.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from . import registry, runtime
from .errors import MlopsError
from .signals import signals_as_interrupt, signals_ignored

HOST = "127.0.0.1"
DEFAULT_PORT = 5000
# How long the server's processes get to end after SIGTERM before they are killed.
STOP_SECONDS = 30
# What stops the UI: Ctrl-C, `kill`, the terminal closing, Ctrl-\. Each would otherwise end this
# process alone and leave the server, in a session of its own, serving.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def server_command(port: int = DEFAULT_PORT) -> list[str]:
    """`mlflow server` over the local state (made if missing, as any stage would)."""
    if runtime.uses_workspace():
        raise MlopsError("runs and models live in the workspace: open its Experiments page")
    registry.configure_mlflow()
    root = runtime.local_dir()
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        HOST,
        "--port",
        str(port),
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        # Where experiments made in the UI keep their artifacts; the project's own experiment
        # already names .local/mlartifacts.
        "--default-artifact-root",
        (root / "mlartifacts").as_uri(),
        "--workers",
        "1",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__name__}", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        require_free_port(args.port)
        command = server_command(args.port)
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"MLflow UI of {runtime.local_dir()} on http://{HOST}:{args.port} (Ctrl-C stops it)")
    with signals_as_interrupt(*STOP_SIGNALS):
        # A session of its own: Ctrl-C reaches this process only, which then stops the whole
        # group (mlflow server, the uvicorn workers and job runner it starts) and waits for it.
        server = subprocess.Popen(command, start_new_session=True)
        try:
            code = server.wait()
        except KeyboardInterrupt:
            stop_group(server)
        else:
            stop_group(server)  # what it started may outlive it
            print(
                f"error: the MLflow server stopped by itself (exit {code}): see its messages above",
                file=sys.stderr,
            )
            return 1
    print("stopped", flush=True)
    return 0


def require_free_port(port: int) -> None:
    """Fail before starting when the port is taken, binding as the server would (SO_REUSEADDR:
    a port a stopped server left in TIME_WAIT is free)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            raise MlopsError(
                f"port {port} on {HOST} is taken ({error.strerror}): stop what serves there, "
                f"or choose another port (make mlflow-ui MLFLOW_PORT={port + 1})"
            ) from None


def stop_group(server: subprocess.Popen) -> None:
    """SIGTERM to the server's process group, SIGKILL to what is left of it after STOP_SECONDS;
    returns once none of it runs. Signals meanwhile (a second Ctrl-C) do not cut it short."""
    with signals_ignored(signal.SIGINT, *STOP_SIGNALS):
        _signal_group(server, signal.SIGTERM)
        if not _group_ended(server, STOP_SECONDS):
            _signal_group(server, signal.SIGKILL)
            _group_ended(server, STOP_SECONDS)
        server.wait()


def _signal_group(server: subprocess.Popen, signal_number: int) -> None:
    try:
        os.killpg(server.pid, signal_number)
    except ProcessLookupError:
        pass  # none of it runs any more


def _group_ended(server: subprocess.Popen, seconds: float) -> bool:
    """Whether every process of the group has ended within `seconds`. The server leads the group
    and is its parent: it is reaped here, since until then it counts as a member."""
    deadline = time.monotonic() + seconds
    while True:
        server.poll()
        if not _group_running(server.pid):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def _group_running(group: int) -> bool:
    """Whether a process of the group still runs. One that has ended but waits to be reaped
    (a zombie) counts as ended: the server's workers are orphans once it has gone, and
    whoever adopts them (init, a container's first process) reaps them when it likes, or
    never. Where there is no /proc to tell, a zombie counts as running."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat_fields(stat)
        except OSError:
            continue  # it ended while we looked
        if len(fields) > 2 and int(fields[2]) == group and fields[0] not in ("Z", "X"):
            return True
    return False


def stat_fields(stat: Path) -> list[str]:
    """The fields of a /proc/<pid>/stat after the command: state, parent, group, ... ("pid
    (command) state ppid pgrp ...": the command may hold spaces and brackets)."""
    return stat.read_text().rpartition(")")[2].split()


if __name__ == "__main__":
    sys.exit(main())
