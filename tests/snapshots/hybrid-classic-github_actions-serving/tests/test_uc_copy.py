"""A promotion across workspaces copies a version whose logged model lives in the source
workspace, where the target workspace cannot see it. MLflow's Unity Catalog store must register
the copy without looking that logged model up: 3.10.1 stopped passing the unknown model_id on,
and from 3.12 the dependency checks no longer read the source's logged model
(mlflow/store/_unity_catalog/registry/rest_store.py, get_feature_dependencies and
get_model_version_dependencies). Up to 3.11 they ask for it and the copy fails with
RESOURCE_DOES_NOT_EXIST. pyproject.toml's lower bound is tested on the oldest allowed MLflow
(the template's tests/test_lower_bounds.py runs this file there)."""

from __future__ import annotations

import mlflow
import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST
from mlflow.store._unity_catalog.registry import rest_store

# A logged model of the source workspace.
SOURCE_MODEL_ID = "m-0123456789abcdef0123456789abcdef"


@pytest.fixture
def copied_model_files(tmp_path, monkeypatch):
    """The files of a version copied from another workspace, in a workspace that does not know
    their logged model."""

    def not_in_this_workspace(model_id):
        raise MlflowException(
            f"Logged model with ID '{model_id}' not found", error_code=RESOURCE_DOES_NOT_EXIST
        )

    monkeypatch.setattr(mlflow, "get_logged_model", not_in_this_workspace)
    (tmp_path / "MLmodel").write_text(
        "artifact_path: model\n"
        "flavors:\n"
        "  python_function:\n"
        "    loader_module: mlflow.sklearn\n"
        f"model_id: {SOURCE_MODEL_ID}\n",
        encoding="utf-8",
    )
    return str(tmp_path)


def test_a_cross_workspace_copy_does_not_look_up_the_source_logged_model(copied_model_files):
    assert rest_store.get_feature_dependencies(copied_model_files) == ""
    assert rest_store.get_model_version_dependencies(copied_model_files) == []
