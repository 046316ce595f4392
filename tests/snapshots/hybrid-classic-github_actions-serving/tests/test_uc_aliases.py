"""Alias moves on Unity Catalog, over REST: `deploy` and `rollback` decide and move the aliases
through MLflow's own `databricks-uc` client, which talks HTTP to the fake workspace
(tests/fake_workspace.py), as it would to Databricks.

Unity Catalog has no transactions across aliases: each alias and tag is one request. What holds
there is what `registry.changing_aliases` says: the change is recorded as one registered-model
tag (`pending_alias_move`) before the first alias moves and removed after the last, so a command
stopped in between leaves the tag, and the next alias-moving command completes the change
before it decides anything. The local registry's tests kill each command at every call
(test_interrupted_moves.py); here a request refused mid-change stands in for the kill.
"""

from __future__ import annotations

import json

import pytest

from taxi_fare_mlops import config
from taxi_fare_mlops.mlops import registry, runtime, schema_check
from taxi_fare_mlops.mlops.deploy import deploy, rollback
from taxi_fare_mlops.mlops.errors import MlopsError
from taxi_fare_mlops.mlops.location import Location

LOCATION = Location(config.PROD_CATALOG)
ALIAS = "/api/2.0/mlflow/unity-catalog/registered-models/alias"
TRAINED = {"training_table": "main.raw.trips", "git_commit": "0123abc"}


@pytest.fixture
def uc(workspace, monkeypatch):
    """The fake workspace as the model registry (as through Databricks Connect), with three
    trained versions of the model and a fourth registered without its training tags."""
    monkeypatch.setenv(runtime.CONNECT_VARIABLE, "1")
    # A refused request is an error at once, not after MLflow's retries with back-off.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    # deploy's check of the predictions table needs the workspace's Spark, not served here.
    monkeypatch.setattr(schema_check, "require_writable", lambda location: [])
    for version in ("1", "2", "3"):
        workspace.add_model_version(LOCATION.model, version, **TRAINED)
    workspace.add_model_version(LOCATION.model, "4")
    return workspace


def aliases(workspace) -> dict[str, str]:
    return dict(workspace.models[LOCATION.model]["aliases"])


def validated(workspace, version: str) -> None:
    """As `validate` leaves it: the version is challenger."""
    workspace.models[LOCATION.model]["aliases"][config.CHALLENGER] = version


def test_deploy_and_rollback_move_the_aliases_over_rest(uc):
    validated(uc, "1")
    assert deploy(location=LOCATION).version == "1"
    validated(uc, "2")
    before = len(uc.requests)
    deployed = deploy(location=LOCATION)
    assert (deployed.version, deployed.previous_champion) == ("2", "1")
    assert aliases(uc) == {
        config.CHALLENGER: "2",
        config.CHAMPION: "2",
        config.PREVIOUS_CHAMPION: "1",
    }
    # The change was recorded before its first alias moved and cleared after its last.
    writes = [c for c in uc.requests[before:] if c.method != "GET"]
    paths = [c.path.rsplit("/", 1)[1] for c in writes]
    assert paths[0] == "set-tag" and paths[-1] == "delete-tag", paths
    assert writes[0].body["key"] == registry.PENDING_MOVE and "alias" in paths[1:-1]
    assert json.loads(writes[0].body["value"])["aliases"] == {
        config.CHAMPION: "2",
        config.PREVIOUS_CHAMPION: "1",
    }

    rolled = rollback(location=LOCATION)
    assert (rolled.version, rolled.replaced) == ("1", "2")
    assert aliases(uc) == {config.CHAMPION: "1"}  # 2 lost challenger: no redeploy by mistake
    assert uc.model_versions[(LOCATION.model, "2")]["tags"]["rolled_back_at"]
    assert not rollback(location=LOCATION).rolled_back  # a second run changes nothing
    assert registry.PENDING_MOVE not in uc.models[LOCATION.model]["tags"]


def test_a_change_stopped_halfway_is_completed_by_the_next_command(uc):
    validated(uc, "1")
    deploy(location=LOCATION)
    validated(uc, "2")
    # The deploy's second alias request is refused: champion has moved to 2, previous_champion
    # is not set yet.
    uc.fail("POST", ALIAS, 500, error_code="INTERNAL_ERROR", after=1)
    with pytest.raises(Exception, match="INTERNAL_ERROR|500 error"):  # MLflow 3.17 | 3.12
        deploy(location=LOCATION)
    pending = json.loads(uc.models[LOCATION.model]["tags"][registry.PENDING_MOVE])
    assert pending["aliases"] == {config.CHAMPION: "2", config.PREVIOUS_CHAMPION: "1"}
    assert config.PREVIOUS_CHAMPION not in aliases(uc)  # half done

    # The rerun completes the recorded change first, then finds nothing left to do.
    again = deploy(location=LOCATION)
    assert (again.version, again.moved) == ("2", False)
    assert aliases(uc)[config.CHAMPION] == "2" and aliases(uc)[config.PREVIOUS_CHAMPION] == "1"
    assert registry.PENDING_MOVE not in uc.models[LOCATION.model]["tags"]
    # So a rollback afterwards skips no version.
    assert rollback(location=LOCATION).version == "1"


def test_a_version_without_its_training_tags_is_never_deployed(uc):
    validated(uc, "4")
    with pytest.raises(MlopsError, match="version 4 has no training tags"):
        deploy(location=LOCATION)
    assert config.CHAMPION not in aliases(uc)
    assert not uc.calls("POST", ALIAS)
