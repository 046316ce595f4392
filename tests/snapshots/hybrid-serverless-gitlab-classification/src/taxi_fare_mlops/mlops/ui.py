"""`make mlflow-ui`: the MLflow UI over the local runs, registered models and artifacts.

Locally MLflow keeps runs and the registry of every local catalog in `.local/mlflow.db`, and
artifacts in `.local/mlartifacts/` (`registry.configure_mlflow`, `registry.experiment_id`). The
server reads that database, so runs, metrics, models, versions and aliases can be browsed while
`lifecycle`, the tests or the exploration notebook write to it. It listens on 127.0.0.1 only:
the tracking server has no authentication. In a workspace, the workspace is the UI.

Ctrl-C or SIGTERM stops it: `mlflow server` runs its web server in processes of its own, which
are started in a process group of their own and stopped together, so none is left holding the
port; then "stopped", exit 0.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

from . import registry, runtime
from .errors import MlopsError
from .signals import sigterm_as_interrupt

HOST = "127.0.0.1"
DEFAULT_PORT = 5000
# How long the server's processes get to end after SIGTERM before they are killed.
STOP_SECONDS = 30


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
        command = server_command(args.port)
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"MLflow UI of {runtime.local_dir()} on http://{HOST}:{args.port} (Ctrl-C stops it)")
    with sigterm_as_interrupt():
        # A session of its own: Ctrl-C reaches this process only, which then stops the whole
        # group (mlflow server and the uvicorn workers it starts) and waits for it.
        server = subprocess.Popen(command, start_new_session=True)
        try:
            return server.wait()
        except KeyboardInterrupt:
            stop_group(server)
    print("stopped", flush=True)
    return 0


def stop_group(server: subprocess.Popen) -> None:
    """SIGTERM to the server's process group, SIGKILL if it has not ended in STOP_SECONDS."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    except ProcessLookupError:
        server.wait()  # it had ended already


if __name__ == "__main__":
    sys.exit(main())
