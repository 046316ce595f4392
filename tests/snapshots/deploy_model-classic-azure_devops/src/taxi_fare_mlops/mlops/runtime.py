"""Where the code runs: a laptop (local), a Databricks cluster, or a laptop or IDE working
against a workspace through Databricks Connect. Detection, and the one Spark session.

What differs between them is decided from these answers in one place each: table IO in
`tables.for_runtime()`, the MLflow registry in `registry.configure_mlflow()`, the Spark session
in `get_spark()`.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .. import config
from .errors import BrokenStateError, MlopsError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

# A local run waits this long for a lock another run holds before it gives up (a stage holds
# the model's lock for one alias change: seconds; a promotion for a copy and a validation), and
# says what it waits for after the notice time.
LOCK_WAIT_SECONDS = 600.0
LOCK_NOTICE_SECONDS = 2.0
LOCK_POLL_SECONDS = 0.05

# Environment variables that move local state elsewhere (the tests point them at tmp dirs).
LOCAL_DIR_VARIABLES = (f"{config.PACKAGE.upper()}_LOCAL_DIR", "MLOPS_LOCAL_DIR")
# Forces table IO through Spark (or not) whatever the runtime: the Spark tests set it.
USE_SPARK_VARIABLE = f"{config.PACKAGE.upper()}_USE_SPARK"
# Databricks Connect (the `connect` extra): set to 1 to run the stages from a laptop or an IDE
# against the workspace of your Databricks CLI profile. Opt-in, so a configured profile (or a CI
# runner's DATABRICKS_HOST) never sends a local run to a workspace by accident.
CONNECT_VARIABLE = f"{config.PACKAGE.upper()}_CONNECT"


def is_databricks() -> bool:
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def uses_connect() -> bool:
    """Off Databricks, with `<PACKAGE>_CONNECT=1`: Spark and MLflow are the workspace's."""
    return not is_databricks() and _is_set(os.environ.get(CONNECT_VARIABLE))


def uses_workspace() -> bool:
    """Tables, models and runs live in a workspace (on Databricks, or through Connect)."""
    return is_databricks() or uses_connect()


def refuse_workspace(command: str, does: str) -> None:
    """Stop a local-only command before it touches a workspace (on Databricks or through
    Connect), where it would write real tables and move real aliases."""
    if uses_workspace():
        where = "on Databricks" if is_databricks() else f"with {CONNECT_VARIABLE} set"
        raise MlopsError(f"{command} runs only locally ({does}); not {where}")


def use_spark() -> bool:
    """Tables go through Spark in a workspace; tests force it with `<PACKAGE>_USE_SPARK=1`."""
    forced = os.environ.get(USE_SPARK_VARIABLE)
    if forced is not None:
        return _is_set(forced)
    return uses_workspace()


def _is_set(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def local_dir() -> Path:
    """Root of the local state: `.local/` of the current directory unless overridden."""
    for variable in LOCAL_DIR_VARIABLES:
        if os.environ.get(variable):
            return Path(os.environ[variable]).resolve()
    return (Path.cwd() / ".local").resolve()


@contextmanager
def local_lock(name: str, *, wait_seconds: float | None = None) -> Iterator[None]:
    """Exclusive among the processes of this machine that share the local state: a lock on
    `.local/locks/<name>.lock`, released when the block ends or the process dies.

    For local find-or-write steps that two runs at once would otherwise both do (a model copy,
    the first write of a table). A run that finds the lock taken says which process holds it
    (its id is in the file) after `LOCK_NOTICE_SECONDS`, and gives up with one line after
    `wait_seconds` (default `LOCK_WAIT_SECONDS`). Windows has no `fcntl`: there the block runs
    unlocked.
    """
    if fcntl is None:
        yield
        return
    locks = local_dir() / "locks"
    if locks.exists() and not locks.is_dir():
        raise BrokenStateError(
            f"{locks} is a file, where the project keeps its lock files: move it away (the "
            "next run makes the folder)"
        )
    locks.mkdir(parents=True, exist_ok=True)
    path = locks / f"{name}.lock"
    if path.is_dir():
        raise BrokenStateError(f"{path} is a folder, where a lock file belongs: remove it")
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(descriptor, path, LOCK_WAIT_SECONDS if wait_seconds is None else wait_seconds)
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def _acquire(descriptor: int, path: Path, wait_seconds: float) -> None:
    started = time.monotonic()
    said = False
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        waited = time.monotonic() - started
        if waited >= wait_seconds:
            raise MlopsError(
                f"gave up after {waited:.0f} s waiting for {path}, held by {_holder(path)} "
                "(another run of this project): let it finish or stop it, then run this again"
            )
        if not said and waited >= LOCK_NOTICE_SECONDS:
            holder = _holder(path)
            log.warning("waiting for %s, held by %s (another run of this project)", path, holder)
            said = True
        time.sleep(LOCK_POLL_SECONDS)


def _holder(path: Path) -> str:
    """Who holds a lock, as its file says (the holder writes its process id there)."""
    try:
        pid = path.read_text().strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid.isdigit() else "another process"


def reports_dir() -> Path:
    """Where plots go: `.local/reports` locally; a scratch folder on Databricks, where the
    monitoring run logs them to MLflow."""
    if is_databricks():
        return Path(tempfile.mkdtemp(prefix="monitoring-"))
    return local_dir() / "reports"


def get_spark():
    """The Spark session, chosen here and nowhere else.

    Through Databricks Connect: a session on the cluster named by DATABRICKS_CLUSTER_ID, else
    on serverless compute, in the workspace of the CLI profile (DATABRICKS_CONFIG_PROFILE) or
    DATABRICKS_HOST (https://docs.databricks.com/aws/dev-tools/databricks-connect/python/).
    Otherwise the active session: the cluster's on Databricks, a local pyspark one in tests.
    """
    if uses_connect():
        try:
            from databricks.connect import DatabricksSession
        except ImportError as error:
            raise MlopsError(
                f"{CONNECT_VARIABLE} is set but databricks-connect is missing: "
                "pip install -e '.[local,connect]' (in an environment without pyspark)"
            ) from error
        builder = DatabricksSession.builder
        if not os.environ.get("DATABRICKS_CLUSTER_ID"):
            builder = builder.serverless()
        return builder.getOrCreate()
    from pyspark.sql import SparkSession

    return SparkSession.builder.getOrCreate()
