"""Shared fixtures: every test session gets its own local state in a tmp dir.

Nothing touches the project's own `.local/`. Tests that need a registry of their own (the
lifecycle, the notebooks) get a fresh local dir; the others share the session's and stay out of
each other's way with a schema of their own (catalogs are fixed, schemas are free).

Training costs about a second, so it happens once per session (per xdist worker): tests that
only need *a* champion get a registry copy of that model in their own schema. Likewise a new
local registry: MLflow builds an empty database by replaying its migrations (about a second),
so that happens once per test run, in pytest's tmp folder, and every new local dir starts with
a copy of it.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import time
import uuid
from pathlib import Path

import pytest

# Before anything imports MLflow, as the CLI does (see cli.MODEL_COMMANDS): about half a second
# less per test worker.
import skops.io  # noqa: F401
from threadpoolctl import threadpool_limits

from taxi_fare_mlops import config, sample_data
from taxi_fare_mlops.mlops import errors, registry, runtime
from taxi_fare_mlops.mlops.deploy import deploy
from taxi_fare_mlops.mlops.location import Location
from taxi_fare_mlops.mlops.train import train
from taxi_fare_mlops.mlops.validate import validate

# Small enough to train in about a second, large enough for stable metrics.
TEST_ROWS = 4_000

# One OpenMP thread per test process: the tables here are tiny, and with parallel workers
# (`pytest -n`) more threads only fight over the same cores (the CLI does the same locally).
threadpool_limits(limits=1, user_api="openmp")
DEV = config.DEV_CATALOG
SRC = Path(__file__).resolve().parent.parent / "src"


def pytest_exception_interact(node, call, report):
    """A model skops does not trust fails every test that trains: stop at the first, with the
    one line that says what to do, instead of reporting it once per test."""
    for cause in errors.chain(call.excinfo.value):
        untrusted = errors.untrusted_types(cause)
        if untrusted is not None:
            node.session.shouldstop = str(untrusted)
            return


def source_environment() -> dict[str, str]:
    """This environment with src/ first on PYTHONPATH, so `python -m <package>` in a child process
    runs this checkout whether or not the package is installed (pytest imports it from src/)."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }


def empty_registry(shared_dir: Path, cache_dir: Path | None = None) -> Path:
    """An empty, migrated MLflow database: the one an earlier run kept in `cache_dir`, else one
    in `shared_dir`, built by the first worker that needs it; the others wait for it rather
    than build their own (a second of CPU each). Replaying MLflow's migrations takes every
    worker about two seconds of waiting, so a new database is kept in `cache_dir` for the next
    run (pytest's cache folder; `pytest --cache-clear` drops it)."""
    # One per MLflow version: a database migrated by another version is refused.
    name = f"mlflow-{importlib.metadata.version('mlflow')}-empty.db"
    if cache_dir is not None and (cache_dir / name).exists():
        return cache_dir / name
    database = shared_dir / name
    try:
        os.close(os.open(database.with_suffix(".lock"), os.O_CREAT | os.O_EXCL))
    except FileExistsError:  # another worker builds it
        waited = 0.0
        while not database.exists() and waited < 120:
            time.sleep(0.1)
            waited += 0.1
    if not database.exists():
        # Built under a name of its own, then renamed: others see it whole or not at all.
        building = shared_dir / f"building-{os.getpid()}"
        patch = pytest.MonkeyPatch()
        _point_local_state(patch, building)
        try:
            registry.versions(f"{DEV}.any.model")  # MLflow creates and migrates the database
        finally:
            patch.undo()
        os.replace(building / "mlflow.db", database)
    if cache_dir is not None:  # whole or not at all, as above
        keeping = cache_dir / f"keeping-{os.getpid()}"
        shutil.copyfile(database, keeping)
        os.replace(keeping, cache_dir / name)
    return database


def start_local_dir(path: Path, empty_database: Path) -> Path:
    """A new local dir whose registry starts as a copy of `empty_database`."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(empty_database, path / "mlflow.db")
    return path


@pytest.fixture(scope="session")
def empty_database(tmp_path_factory, request) -> Path:
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker has a base dir of its own inside one folder per run: share that.
    # Asked of pytest, not of PYTEST_XDIST_WORKER: a suite started from inside another xdist
    # worker inherits that variable, and its base dir's parent is shared by every run.
    in_worker = hasattr(request.config, "workerinput")
    cache = getattr(request.config, "cache", None)  # None with -p no:cacheprovider
    cache_dir = Path(cache.mkdir("mlflow-registry")) if cache is not None else None
    return empty_registry(base.parent if in_worker else base, cache_dir)


def _point_local_state(monkeypatch: pytest.MonkeyPatch, path) -> None:
    monkeypatch.setenv(runtime.LOCAL_DIR_VARIABLES[0], str(path))
    monkeypatch.delenv("MLOPS_LOCAL_DIR", raising=False)
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    monkeypatch.delenv(runtime.USE_SPARK_VARIABLE, raising=False)


@pytest.fixture(scope="session", autouse=True)
def session_local_dir(tmp_path_factory, empty_database):
    patch = pytest.MonkeyPatch()
    path = start_local_dir(tmp_path_factory.mktemp("local"), empty_database)
    _point_local_state(patch, path)
    yield path
    patch.undo()


@pytest.fixture
def fresh_local_dir(tmp_path, monkeypatch, empty_database):
    """An empty `.local` for this test alone: a new registry and warehouse."""
    path = start_local_dir(tmp_path / ".local", empty_database)
    _point_local_state(monkeypatch, path)
    return path


@pytest.fixture(scope="session")
def input_table(session_local_dir) -> str:
    sample_data.write_sample_data(config.INPUT_TABLE, n_rows=TEST_ROWS)
    return config.INPUT_TABLE


@pytest.fixture
def schema() -> str:
    """A schema nobody else uses, so models and tables of this test start empty."""
    return f"test_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def location(schema) -> Location:
    """The dev catalog, in this test's own schema."""
    return Location(DEV, schema)


@pytest.fixture(scope="session")
def trained_model(input_table) -> str:
    """One model trained, validated and deployed per session: `models:/<name>/<version>`."""
    location = Location(DEV, f"session_{uuid.uuid4().hex[:10]}")
    trained = train(location=location, input_table=input_table)
    validate(location=location, model_version=trained.version, input_table=input_table)
    deploy(location=location, model_version=trained.version)
    return location.model_uri(trained.version)


def copy_of(source_uri: str, target: Location, *aliases: str) -> str:
    """A registry copy of a model version, with its tags (MLflow's copy carries them) and the
    given aliases: the same as training one here, in milliseconds instead of seconds."""
    version = registry.copy_version(source_uri, target.model)
    for alias in aliases:
        registry.set_alias(target.model, alias, version)
    return version


@pytest.fixture
def champion(trained_model, location) -> str:
    """Version 1 of the model in this test's schema, champion (and challenger) in dev."""
    return copy_of(trained_model, location, config.CHALLENGER, config.CHAMPION)


@pytest.fixture
def candidate(trained_model, location) -> str:
    """Version 1 of the model in this test's schema, registered but not validated yet."""
    return copy_of(trained_model, location)


class _QuickPolls:
    """The `time` the SDK's waiters see: real clock, a hundredth of each pause between polls."""

    time = staticmethod(time.time)

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(seconds / 100)


@pytest.fixture
def workspace(monkeypatch):
    """A fake Databricks workspace on 127.0.0.1 (tests/fake_workspace.py), and the environment
    a `WorkspaceClient()` without arguments reads pointed at it, as a CLI profile would be."""
    from databricks.sdk.service import serving

    from fake_workspace import FakeWorkspace

    fake = FakeWorkspace().start()
    for variable in [name for name in os.environ if name.startswith(("DATABRICKS_", "ARM_"))]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("DATABRICKS_HOST", fake.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", "fake-token")
    # The endpoint waiter pauses 1 s, 2 s, ... between reads; the fake settles within two.
    monkeypatch.setattr(serving, "time", _QuickPolls)
    yield fake
    fake.stop()
