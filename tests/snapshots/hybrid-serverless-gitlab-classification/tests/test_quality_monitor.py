"""The quality monitor of the predictions table: created in code, idempotently, once the table
exists (a bundle resource would need the table at the first deploy, before any scoring)."""

import json
from types import SimpleNamespace

import pytest

from taxi_fare_mlops import config, contract, features
from taxi_fare_mlops.mlops import quality_monitor, tables
from taxi_fare_mlops.mlops.location import Location
from taxi_fare_mlops.mlops.score import PREDICTION_SCHEMA

DEV = Location(config.DEV_CATALOG)


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
    assert (result.created_table, result.created_monitor, result.refreshed) == (True, False, False)


class FakeDataQuality:
    def __init__(self, exists: bool):
        self.exists = exists
        self.created = []
        self.refreshed = []

    def get_monitor(self, object_type, object_id):
        from databricks.sdk.errors import NotFound

        if not self.exists:
            raise NotFound("no monitor")
        return SimpleNamespace(object_id=object_id)

    def create_monitor(self, monitor):
        self.created.append(monitor)
        self.exists = True

    def create_refresh(self, object_type, object_id, refresh):
        self.refreshed.append((object_type, object_id))


def fake_client(exists: bool):
    return SimpleNamespace(
        tables=SimpleNamespace(get=lambda name: SimpleNamespace(table_id="table-uuid")),
        schemas=SimpleNamespace(get=lambda name: SimpleNamespace(schema_id="schema-uuid")),
        data_quality=FakeDataQuality(exists),
    )


def test_the_monitor_is_created_once_then_refreshed(fresh_local_dir):
    pytest.importorskip("databricks.sdk")
    client = fake_client(exists=False)
    first = quality_monitor.create_monitor(location=DEV, assets_dir="/a", client=client)
    assert (first.created_monitor, first.refreshed) == (True, False)
    (monitor,) = client.data_quality.created
    profile = monitor.data_profiling_config
    assert (monitor.object_type, monitor.object_id) == ("table", "table-uuid")
    assert profile.output_schema_id == "schema-uuid" and profile.assets_dir == "/a"
    log = profile.inference_log
    assert log.problem_type.value == quality_monitor.PROBLEM_TYPES[contract.PROBLEM_TYPE]
    assert (log.prediction_column, log.label_column) == ("prediction", contract.LABEL)
    assert (log.model_id_column, log.timestamp_column) == ("model_version", "scored_at")
    again = quality_monitor.create_monitor(location=DEV, assets_dir="/a", client=client)
    assert (again.created_monitor, again.refreshed) == (False, True)
    assert len(client.data_quality.created) == 1
