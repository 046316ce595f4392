"""`make mlflow-ui`: the MLflow UI over the local runs, registered models and artifacts.

Locally MLflow keeps runs and the registry of every local catalog in `.local/mlflow.db`, and
artifacts in `.local/mlartifacts/` (`registry.configure_mlflow`, `registry.experiment_id`). The
server reads that database, so runs, metrics, models, versions and aliases can be browsed while
`lifecycle`, the tests or the exploration notebook write to it. It listens on 127.0.0.1 only:
the tracking server has no authentication. In a workspace, the workspace is the UI.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from . import registry, runtime
from .errors import MlopsError

HOST = "127.0.0.1"
DEFAULT_PORT = 5000


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
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
