"""The endpoint step against a fake workspace over HTTP (tests/fake_workspace.py), through the
real databricks-sdk: create on the first run, update when champion moved, nothing when it
already serves champion, a wait after each change, and one line (with the version still served)
when the new version does not get ready. Scripted faults end in a retry or one line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from databricks.sdk.errors import ResourceConflict
from databricks.sdk.service import serving

from taxi_fare_mlops import config
from taxi_fare_mlops.mlops import cli, endpoint, errors, registry
from taxi_fare_mlops.mlops.errors import MlopsError
from taxi_fare_mlops.mlops.location import Location

from conftest import copy_of
from fake_workspace import round_trips

ENDPOINTS = "/api/2.0/serving-endpoints"
PERMISSIONS = "/api/2.0/permissions/serving-endpoints"


def asked(workspace) -> list[str]:
    """The requests so far, as `METHOD path` with the endpoint paths shortened."""
    return [
        f"{call.method} {call.path.replace(ENDPOINTS, '').replace(PERMISSIONS, 'permissions')}"
        for call in workspace.requests
    ]


def entity(location: Location, version: str, scale_to_zero: bool) -> dict:
    name = endpoint.served_entity_name(location.model, version)
    return {
        "name": name,
        "entity_name": location.model,
        "entity_version": version,
        "workload_size": endpoint.WORKLOAD_SIZE,
        "scale_to_zero_enabled": scale_to_zero,
    }


def config_body(location: Location, version: str, scale_to_zero: bool) -> dict:
    served = entity(location, version, scale_to_zero)
    return {
        "served_entities": [served],
        "traffic_config": {
            "routes": [{"served_model_name": served["name"], "traffic_percentage": 100}]
        },
    }


def inference_table(location: Location) -> dict:
    return {
        "catalog_name": location.catalog,
        "schema_name": location.schema,
        "table_name_prefix": endpoint.INFERENCE_TABLE_PREFIX,
        "enabled": True,
    }


def test_created_then_unchanged_then_updated_when_champion_moves(
    workspace, location, champion, trained_model
):
    client = workspace.client()
    run = {"location": location, "endpoint": "shop-dev", "client": client, "query_group": "users"}

    first = endpoint.update_endpoint(**run, scale_to_zero=True)
    assert (first.action, first.version, first.previous_version) == ("created", champion, None)
    endpoint_id = workspace.endpoints["shop-dev"]["id"]
    # Not found, created, IN_PROGRESS and NOT_READY for one read, then ready: CAN_QUERY.
    assert asked(workspace) == [
        "GET /shop-dev",
        "POST ",
        "GET /shop-dev",
        "GET /shop-dev",
        f"PATCH permissions/{endpoint_id}",
    ]
    create = workspace.calls("POST", ENDPOINTS)[0].body
    assert create == {
        "name": "shop-dev",
        "config": {"name": "shop-dev", **config_body(location, champion, True)},
        "ai_gateway": {"inference_table_config": inference_table(location)},
    }
    assert round_trips(serving.EndpointCoreConfigInput, create["config"])
    assert round_trips(serving.AiGatewayConfig, create["ai_gateway"])
    (grant,) = workspace.calls("PATCH", PERMISSIONS)[0].body["access_control_list"]
    assert grant == {"group_name": "users", "permission_level": "CAN_QUERY"}
    assert round_trips(serving.ServingEndpointAccessControlRequest, grant)
    states = [call.status for call in workspace.calls("GET", "shop-dev")]
    assert states == [404, 200, 200]

    workspace.requests.clear()
    again = endpoint.update_endpoint(**run, scale_to_zero=True)
    assert again.action == "unchanged" and "already serves version" in again.summary()
    assert not workspace.calls("PUT") and not workspace.calls("POST")

    newer = copy_of(trained_model, location, config.CHAMPION)
    workspace.requests.clear()
    moved = endpoint.update_endpoint(**run, scale_to_zero=False)
    assert (moved.action, moved.version, moved.previous_version) == ("updated", newer, champion)
    assert asked(workspace) == [
        "GET /shop-dev",
        "PUT /shop-dev/config",
        "GET /shop-dev",
        "GET /shop-dev",
        f"PATCH permissions/{endpoint_id}",
    ]
    update = workspace.calls("PUT", "/config")[0].body
    assert update == config_body(location, newer, False)
    assert round_trips(serving.EndpointCoreConfigInput, update)
    served = serving.ServingEndpointDetailed.from_dict(workspace.endpoints["shop-dev"])
    assert endpoint.served_versions(served) == [(location.model, newer)]


def test_a_failed_update_is_one_line_and_the_old_version_stays(
    workspace, location, champion, trained_model
):
    client = workspace.client()
    endpoint.update_endpoint(location=location, endpoint="shop", client=client)
    newer = copy_of(trained_model, location, config.CHAMPION)
    workspace.fail_next_update = True
    workspace.requests.clear()
    # The SDK's waiter raises OperationFailed for UPDATE_FAILED: it becomes this one line.
    with pytest.raises(MlopsError) as failed:
        endpoint.update_endpoint(location=location, endpoint="shop", client=client)
    message = str(failed.value)
    assert f"did not become ready with version {newer}" in message
    assert "UPDATE_FAILED" in message and f"it still serves version {champion}" in message
    assert "\n" not in message
    served = serving.ServingEndpointDetailed.from_dict(workspace.endpoints["shop"])
    assert endpoint.served_versions(served) == [(location.model, champion)]
    # No permission change after a failure; the next run tries the update again.
    assert not workspace.calls("PATCH")
    again = endpoint.update_endpoint(location=location, endpoint="shop", client=client)
    assert (again.action, again.version) == ("updated", newer)


def test_a_timeout_is_one_line(workspace, location, champion):
    workspace.settles = False
    with pytest.raises(
        MlopsError, match=f"not ready with version {champion} after 0:00:01; it serves no version"
    ):
        endpoint.update_endpoint(
            location=location,
            endpoint="shop",
            client=workspace.client(),
            timeout=timedelta(seconds=1),
        )


def test_an_update_in_progress_is_waited_out_and_logging_is_switched_on_before_the_update(
    workspace, location, champion
):
    # An endpoint someone made by hand, without the inference table, in the middle of an update.
    workspace.add_endpoint("shop", update="IN_PROGRESS")
    result = endpoint.update_endpoint(location=location, endpoint="shop", client=workspace.client())
    assert result.action == "updated"
    # The AI Gateway change is an update too: the config update waits for it, so no 409.
    assert asked(workspace) == [
        "GET /shop",
        "GET /shop",
        "PUT /shop/ai-gateway",
        "GET /shop",
        "GET /shop",
        "PUT /shop/config",
        "GET /shop",
        "GET /shop",
    ]
    assert all(call.status == 200 for call in workspace.requests)
    gateway = workspace.calls("PUT", "ai-gateway")[0].body
    assert gateway == {"inference_table_config": inference_table(location)}
    assert round_trips(serving.PutAiGatewayResponse, gateway)


def test_a_config_update_during_another_is_refused_in_one_line(workspace, location):
    """What the waits above avoid: the API's 409 while an update is in progress."""
    workspace.add_endpoint("shop", update="IN_PROGRESS")
    served = serving.ServedEntityInput.from_dict(entity(location, "1", True))
    with pytest.raises(ResourceConflict) as refused:
        workspace.client().serving_endpoints.update_config("shop", served_entities=[served])
    explained = str(errors.explain(refused.value))
    assert "currently updating" in explained and "run again once that is done" in explained


def test_slow_answers_and_throttling_are_retried(workspace, location, champion):
    # A read, as the SDK retries any request that timed out: a create retried after a slow
    # answer could meet the endpoint the first one made.
    workspace.fail("GET", "/shop$", delay=1.5)  # longer than the client waits
    workspace.fail("GET", "/shop$", 429, error_code="REQUEST_LIMIT_EXCEEDED", retry_after=1)
    client = workspace.client(http_timeout_seconds=0.5)
    result = endpoint.update_endpoint(location=location, endpoint="shop", client=client)
    assert result.action == "created"
    slow, throttled, retried = workspace.calls("GET", "/shop$")[:3]
    assert (throttled.status, retried.status) == (429, 404)
    assert throttled.at - slow.at >= 0.5  # the client gave up on the slow answer, then retried
    assert retried.at - throttled.at >= 1  # Retry-After was honoured


@pytest.mark.parametrize(
    ("method", "path", "status", "code", "says"),
    [
        ("GET", "/shop$", 404, "FEATURE_DISABLED", "not enabled in this workspace"),
        ("POST", f"{ENDPOINTS}$", 500, "INTERNAL_ERROR", "the workspace failed: run again"),
        ("POST", f"{ENDPOINTS}$", 409, "RESOURCE_CONFLICT", "run again once that is done"),
        ("POST", f"{ENDPOINTS}$", 403, "PERMISSION_DENIED", "lacks the permission"),
    ],
)
def test_a_refusal_is_one_line(workspace, location, champion, method, path, status, code, says):
    workspace.fail(method, path, status, error_code=code, message=f"{code} here", times=99)
    with pytest.raises(Exception) as refused:
        endpoint.update_endpoint(location=location, endpoint="shop", client=workspace.client())
    known = errors.explain(refused.value)
    assert known is not None and says in str(known) and "\n" not in str(known)
    assert f"{code} here" in str(known)


def test_the_endpoint_takes_the_models_development_prefix():
    # apply_presets.go prefixes models and endpoints alike ("dev_jane_").
    assert endpoint.endpoint_name("shop-dev", "dev_jane_fares", "fares") == "dev_jane_shop-dev"
    assert endpoint.endpoint_name("shop-prod", "fares", "fares") == "shop-prod"
    with pytest.raises(MlopsError, match="must be 1-63 letters"):
        endpoint.endpoint_name("x" * 64, "fares", "fares")
    with pytest.raises(MlopsError, match="must be 1-63 letters"):
        endpoint.endpoint_name("shop prod", "fares", "fares")


def test_no_endpoint_without_a_name_a_champion_or_a_workspace(workspace, location, champion):
    assert endpoint.update_endpoint(location=location, endpoint="").action == "skipped"
    local = endpoint.update_endpoint(location=location, endpoint="shop")
    assert local.action == "skipped" and f"serves version {champion} locally" in local.summary()
    empty = Location(location.catalog, f"{location.schema}_empty")
    with pytest.raises(MlopsError, match="has no champion yet: deploy"):
        endpoint.update_endpoint(location=empty, endpoint="shop", client=workspace.client())
    assert registry.alias_version(location.model, config.CHAMPION) == champion
    assert not workspace.requests


# --- the teardown `bundle destroy` needs (it leaves the endpoint running) -----------------------

DEV_MODEL = f"dev_jane_{config.MODEL_NAME}"
DEV_ENDPOINT = f"dev_jane_{config.PROJECT_NAME}-dev"


def test_delete_endpoint_deletes_the_targets_endpoint_once(workspace, capsys):
    workspace.add_endpoint(DEV_ENDPOINT, config={"served_entities": [{"entity_version": "3"}]})
    workspace.add_endpoint(f"{config.PROJECT_NAME}-prod")
    assert cli.main(["delete-endpoint", "--target", "dev", "--model-name", DEV_MODEL]) == 0
    assert (
        capsys.readouterr().out.strip() == f"endpoint {DEV_ENDPOINT} deleted (it served version 3)"
    )
    assert [call.path for call in workspace.calls("DELETE")] == [f"{ENDPOINTS}/{DEV_ENDPOINT}"]
    assert list(workspace.endpoints) == [f"{config.PROJECT_NAME}-prod"]
    # Running the teardown again is no error.
    assert cli.main(["delete-endpoint", "--target", "dev", "--model-name", DEV_MODEL]) == 0
    assert capsys.readouterr().out.strip() == f"no endpoint {DEV_ENDPOINT}: nothing to delete"
    assert cli.main(["delete-endpoint", "--target", "prod"]) == 0
    assert not workspace.endpoints


@pytest.mark.parametrize(
    ("argv", "fault", "says"),
    [
        (["--target", "dev"], None, "pass --model-name dev_<you>_"),
        (["--target", "prod"], (500, "INTERNAL_ERROR"), "the workspace failed"),
        (["--target", "prod"], (404, "FEATURE_DISABLED"), "not enabled in this workspace"),
    ],
)
def test_delete_endpoint_failures_are_one_line(workspace, capsys, argv, fault, says):
    workspace.add_endpoint(f"{config.PROJECT_NAME}-prod")
    if fault:
        workspace.fail("GET", ENDPOINTS, fault[0], error_code=fault[1], times=99)
    assert cli.main(["delete-endpoint", *argv]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and says in err[0]
    assert f"{config.PROJECT_NAME}-prod" in workspace.endpoints


def test_delete_endpoint_without_credentials_is_one_line(workspace, monkeypatch, tmp_path, capsys):
    for variable in ("DATABRICKS_HOST", "DATABRICKS_TOKEN"):
        monkeypatch.delenv(variable)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "none.cfg"))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cli.main(["delete-endpoint", "--target", "prod"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no Databricks credentials")


def test_the_readme_deletes_the_endpoint_before_it_destroys_the_bundle():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    lines = [line.split("#")[0].strip() for line in readme.splitlines()]
    destroy = lines.index("databricks bundle destroy -t dev")
    delete = next(line for line in lines[:destroy] if " delete-endpoint " in line)
    argv = delete.split(f"python -m {config.PACKAGE} ")[1].split()
    arguments = cli.build_parser().parse_args(argv)
    assert (arguments.command, arguments.target) == ("delete-endpoint", "dev")
    assert arguments.model_name == f"dev_<you>_{config.MODEL_NAME}"
