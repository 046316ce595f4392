"""The quality monitor of the predictions table: created in code, idempotently, once the table
exists (a bundle resource would need the table at the first deploy, before any scoring). The
workspace is a fake over HTTP (tests/fake_workspace.py), reached through the real databricks-sdk."""

import json

import pytest

from taxi_fare_mlops import config, contract, features
from taxi_fare_mlops.mlops import errors, quality_monitor, tables
from taxi_fare_mlops.mlops.location import Location
from taxi_fare_mlops.mlops.score import PREDICTION_SCHEMA

DEV = Location(config.DEV_CATALOG)


def round_trips(kind: str, body: dict) -> bool:
    """Whether `body` round-trips through the SDK's `dataquality.<kind>`. The SDK is imported
    here, not at the top: it takes a second and a half, which every test worker would pay
    while collecting, whether or not it runs these tests."""
    from databricks.sdk.service import dataquality

    from fake_workspace import round_trips as sdk_round_trips

    return sdk_round_trips(getattr(dataquality, kind), body)


def test_the_table_is_created_empty_once_with_scorings_columns(fresh_local_dir):
    name, created = quality_monitor.ensure_table(DEV)
    assert created and name == DEV.predictions
    assert tables.for_runtime().count(name) == 0
    assert tables.for_runtime().columns(name) == PREDICTION_SCHEMA.names
    assert quality_monitor.ensure_table(DEV) == (name, False)


def test_the_monitor_names_no_feature_column():
    """So a feature added or removed needs no change to the monitor: it profiles the table's
    columns as they are at each refresh."""
    spec = json.dumps(quality_monitor.monitor_spec("table-id", "schema-id", "/assets"))
    assert not [feature for feature in features.MODEL_FEATURES if f'"{feature}"' in spec]


def test_off_databricks_only_the_table_is_made(fresh_local_dir):
    result = quality_monitor.create_monitor(location=DEV, assets_dir="/tmp/assets")
    assert (result.created_table, result.created_monitor, result.refresh) == (True, False, "")


MONITORS = "/api/data-quality/v1/monitors"


def test_the_monitor_is_created_once_then_refreshed(fresh_local_dir, workspace):
    table_id = workspace.add_table(DEV.predictions)
    schema_id = workspace.schemas[f"{DEV.catalog}.{DEV.schema}"]
    client = workspace.client()
    first = quality_monitor.create_monitor(location=DEV, assets_dir="/a", client=client)
    assert (first.created_monitor, first.refresh) == (True, "")
    assert [f"{call.method} {call.path}" for call in workspace.requests] == [
        f"GET /api/2.1/unity-catalog/tables/{DEV.predictions}",
        f"GET {MONITORS}/table/{table_id}",
        f"GET /api/2.1/unity-catalog/schemas/{DEV.catalog}.{DEV.schema}",
        f"POST {MONITORS}",
    ]
    body = workspace.calls("POST", MONITORS)[0].body
    assert body == quality_monitor.monitor_spec(table_id, schema_id, "/a")
    assert round_trips("Monitor", body)
    log = body["data_profiling_config"]["inference_log"]
    assert log["problem_type"] == quality_monitor.PROBLEM_TYPES[contract.PROBLEM_TYPE]
    assert (log["prediction_column"], log["label_column"]) == ("prediction", contract.LABEL)
    assert (log["model_id_column"], log["timestamp_column"]) == ("model_version", "scored_at")

    again = quality_monitor.create_monitor(location=DEV, assets_dir="/a", client=client)
    assert (again.created_monitor, again.refresh) == (False, "requested")
    assert "refresh requested" in again.summary()
    (refresh,) = workspace.calls("POST", "/refreshes$")
    assert refresh.body == {"object_type": "table", "object_id": table_id}
    assert round_trips("Refresh", refresh.body)
    assert len(workspace.calls("POST", f"{MONITORS}$")) == 1


def test_a_rerun_while_a_refresh_runs_counts_it_as_done(fresh_local_dir, workspace):
    """Point 6 of issue 23: the API refuses a refresh while one runs; that is no failure."""
    workspace.add_table(DEV.predictions)
    client = workspace.client()
    quality_monitor.create_monitor(location=DEV, assets_dir="/a", client=client)
    states = []
    for _ in range(4):
        result = quality_monitor.create_monitor(location=DEV, assets_dir="/a", client=client)
        states.append(result.refresh)
    # Requested; seen PENDING, then RUNNING (each read moves it on); SUCCESS: requested again.
    assert states == ["requested", "already running", "already running", "requested"]
    assert [r["state"] for r in next(iter(workspace.refreshes.values()))] == [
        "MONITOR_REFRESH_STATE_SUCCESS",
        "MONITOR_REFRESH_STATE_PENDING",
    ]
    assert not [
        call for call in workspace.requests if call.status >= 400 and "refreshes" in call.path
    ]


def test_a_refresh_started_in_between_counts_as_done_too(fresh_local_dir, workspace):
    """Another run's refresh that starts after the list was read: the API's 409."""
    table_id = workspace.add_table(DEV.predictions)
    client = workspace.client()
    quality_monitor.create_monitor(location=DEV, assets_dir="/a", client=client)
    workspace.fail("POST", "/refreshes$", 409, error_code="RESOURCE_CONFLICT")
    result = quality_monitor.create_monitor(location=DEV, assets_dir="/a", client=client)
    assert result.refresh == "already running"
    assert workspace.calls("POST", f"{MONITORS}/table/{table_id}/refreshes$")[0].status == 409


@pytest.mark.parametrize(
    ("path", "status", "code", "says"),
    [
        (f"{MONITORS}$", 404, "FEATURE_DISABLED", "not enabled in this workspace"),
        ("/refreshes$", 500, "INTERNAL_ERROR", "the workspace failed: run again"),
    ],
)
def test_a_refusal_is_one_line(fresh_local_dir, workspace, path, status, code, says):
    workspace.add_table(DEV.predictions)
    client = workspace.client()
    if "refreshes" in path:
        quality_monitor.create_monitor(location=DEV, assets_dir="/a", client=client)
    workspace.fail("POST", path, status, error_code=code, message=f"{code} here")
    with pytest.raises(Exception) as refused:
        quality_monitor.create_monitor(location=DEV, assets_dir="/a", client=client)
    known = errors.explain(refused.value)
    assert known is not None and says in str(known) and "\n" not in str(known)


def test_a_missing_table_in_the_workspace_is_one_line(fresh_local_dir, workspace):
    with pytest.raises(Exception) as refused:
        quality_monitor.create_monitor(location=DEV, assets_dir="/a", client=workspace.client())
    assert "does not exist" in str(errors.explain(refused.value))
