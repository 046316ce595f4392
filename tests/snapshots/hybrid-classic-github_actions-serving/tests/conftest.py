"""Shared fixtures: every test session gets its own local state in a tmp dir.

Nothing touches the project's own `.local/`. Tests that need a registry of their own (the
lifecycle, the notebooks) get a fresh local dir; the others share the session's and stay out of
each other's way with a schema of their own (catalogs are fixed, schemas are free).

Training costs about a second, so it happens once per session (per xdist worker): tests that
only need *a* champion get a registry copy of that model in their own schema.
"""

from __future__ import annotations

import uuid

import pytest
from threadpoolctl import threadpool_limits

from taxi_fare_mlops import config, sample_data
from taxi_fare_mlops.mlops import registry, runtime
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


def _point_local_state(monkeypatch: pytest.MonkeyPatch, path) -> None:
    monkeypatch.setenv(runtime.LOCAL_DIR_VARIABLES[0], str(path))
    monkeypatch.delenv("MLOPS_LOCAL_DIR", raising=False)
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    monkeypatch.delenv(runtime.USE_SPARK_VARIABLE, raising=False)


@pytest.fixture(scope="session", autouse=True)
def session_local_dir(tmp_path_factory):
    patch = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("local")
    _point_local_state(patch, path)
    yield path
    patch.undo()


@pytest.fixture
def fresh_local_dir(tmp_path, monkeypatch):
    """An empty `.local` for this test alone: a new registry and warehouse."""
    path = tmp_path / ".local"
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
    """A registry copy of a model version, with its tags and the given aliases: the same as
    training one here, in milliseconds instead of seconds."""
    source_name, source_version = source_uri.removeprefix("models:/").rsplit("/", 1)
    version = registry.copy_version(source_uri, target.model)
    registry.set_tags(target.model, version, registry.tags(source_name, source_version))
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
