"""Shared fixtures: every test session gets its own local state in a tmp dir.

Nothing touches the project's own `.local/`. Tests that need a registry of their own (the
lifecycle, the notebooks) get a fresh local dir; the others share the session's and stay out of
each other's way with a schema of their own (catalogs are fixed, schemas are free).
"""

from __future__ import annotations

import uuid

import pytest

from taxi_fare_mlops import config, data, runtime
from taxi_fare_mlops.deploy import deploy
from taxi_fare_mlops.train import train
from taxi_fare_mlops.validate import validate

# Small enough to train in about a second, large enough for stable metrics.
TEST_ROWS = 4_000


def _point_local_state(monkeypatch: pytest.MonkeyPatch, path) -> None:
    monkeypatch.setenv(runtime.LOCAL_DIR_VARIABLES[0], str(path))
    monkeypatch.delenv("MLOPS_LOCAL_DIR", raising=False)
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    monkeypatch.delenv(f"{config.PACKAGE.upper()}_USE_SPARK", raising=False)


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
    data.write_sample_data(config.INPUT_TABLE, n_rows=TEST_ROWS)
    return config.INPUT_TABLE


@pytest.fixture
def schema() -> str:
    """A schema nobody else uses, so models and tables of this test start empty."""
    return f"test_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def trained_model(input_table) -> str:
    """One model trained, validated and deployed per session: training costs seconds, and most
    tests only need *a* champion."""
    schema = f"session_{uuid.uuid4().hex[:10]}"
    trained = train(config.DEV_CATALOG, schema, config.MODEL_NAME, input_table)
    validate(config.DEV_CATALOG, schema, config.MODEL_NAME, trained.version, input_table)
    deploy(config.DEV_CATALOG, schema, config.MODEL_NAME, trained.version)
    return f"{trained.model_name}/{trained.version}"


@pytest.fixture
def champion(trained_model, schema) -> str:
    """Version 1 of the model in this test's schema, champion (and challenger) in dev.

    A registry copy of the session's model, with its tags: the same as training one here, in
    milliseconds instead of seconds.
    """
    name = registered_name(config.DEV_CATALOG, schema)
    client = runtime.mlflow_client()
    source_name, source_version = trained_model.split("/")
    copy = client.copy_model_version(f"models:/{trained_model}", name)
    for key, value in client.get_model_version(source_name, source_version).tags.items():
        client.set_model_version_tag(name, copy.version, key, value)
    for alias in (config.CHALLENGER, config.CHAMPION):
        client.set_registered_model_alias(name, alias, copy.version)
    return str(copy.version)


def registered_name(catalog: str, schema: str) -> str:
    return f"{catalog}.{schema}.{config.MODEL_NAME}"
