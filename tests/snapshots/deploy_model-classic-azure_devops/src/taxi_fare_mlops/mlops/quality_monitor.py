"""The Lakehouse quality monitor of the predictions table, made in code once the table exists.

A bundle resource (`quality_monitors`) would need `<catalog>.<schema>.predictions` at deploy
time, but the table appears only with the first scoring run: so the first deploy of every
target would fail. Instead the `create_monitor` task of `batch_inference_job` runs after
`score` and, idempotently:

1. creates the predictions table with its known columns if it is missing (`ensure_table`);
2. creates an inference-log (regression) monitor on it if there is none (`ensure_monitor`),
   with the metric tables in the same schema, so `bundle destroy` drops them with the schema;
3. asks for a refresh, so the metrics follow each batch without a schedule of their own. A
   refresh still running from an earlier run counts as done: the API refuses a second one, and
   the next run's refresh takes in this batch too. So a rerun never fails on it.

Each developer's dev deployment has its own schema (development mode prefixes it), hence its
own table and monitor.

When the features change, the monitor follows the table; nothing here is made again. Scoring
merges a new feature's column into the predictions table (and keeps a removed one's, null in new
batches; see `tables.schema_change`), and the monitor's configuration names no feature column:
only the prediction, label, model version and timestamp columns of `monitor_spec`, which do not
change with the features. The profile metrics hold "summary statistics for each column" of the
monitored table (Databricks docs, "Monitor metric tables",
docs.databricks.com/en/lakehouse-monitoring/monitor-output.html), and the `create_monitor` task
asks for a refresh after every scoring run, so a new column is profiled from the first refresh
after the batch that brought it (its earlier windows hold only nulls). That page does not say in
so many words how a refresh treats a column added after the monitor was created, and this was
not tried against a workspace here. A type change never reaches the table: it is refused before
any alias moves (`schema_check`).

The monitor uses the Data Quality API of databricks-sdk
(`WorkspaceClient().data_quality`); the older `quality_monitors` API is deprecated in favour of it
(databricks-sdk 0.162, `databricks/sdk/service/catalog.py`, `QualityMonitorsAPI`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .. import contract
from . import outputs, runtime, tables
from .location import Location, split_name
from .score import PREDICTION_COLUMNS

log = logging.getLogger(__name__)

GRANULARITY = "AGGREGATION_GRANULARITY_1_DAY"


@dataclass
class MonitorResult:
    table: str
    created_table: bool
    created_monitor: bool
    refresh: str = ""  # "" (none asked for) | requested | already running

    def summary(self) -> str:
        made = "created" if self.created_monitor else "kept"
        table = "created empty" if self.created_table else "present"
        refresh = f", refresh {self.refresh}" if self.refresh else ""
        return f"{self.table} ({table}): quality monitor {made}{refresh}"


def ensure_table(location: Location) -> tuple[str, bool]:
    """Create `<catalog>.<schema>.predictions`, empty, unless it exists; (name, created).

    Its columns are scoring's (`score.PREDICTION_COLUMNS`, the declared features plus what
    scoring adds), so the first scoring run appends to it as to any later batch."""
    name = location.predictions
    return name, tables.for_runtime().create_if_missing(name, PREDICTION_COLUMNS)


# The Data Quality API's problem type per task of the contract. Its `inference_log` takes the
# predicted class and the label; it has no field for class probabilities (the older Lakehouse
# monitoring API's `prediction_proba_col`), so they stay in the table for queries of their own.
PROBLEM_TYPES = {
    "regression": "INFERENCE_PROBLEM_TYPE_REGRESSION",
    "classification": "INFERENCE_PROBLEM_TYPE_CLASSIFICATION",
}


def monitor_spec(table_id: str, output_schema_id: str, assets_dir: str) -> dict:
    """The monitor, as the Data Quality API's `Monitor` (a dict; `Monitor.from_dict` reads it)."""
    return {
        "object_type": "table",
        "object_id": table_id,
        "data_profiling_config": {
            "output_schema_id": output_schema_id,
            "assets_dir": assets_dir,
            "inference_log": {
                "problem_type": PROBLEM_TYPES[contract.PROBLEM_TYPE],
                "prediction_column": outputs.PREDICTION,
                "label_column": contract.LABEL,
                "model_id_column": "model_version",
                "timestamp_column": "scored_at",
                "granularities": [GRANULARITY],
            },
        },
    }


# Refresh states of the Data Quality API (`dataquality.RefreshState`) in which one still runs.
RUNNING_REFRESH = ("MONITOR_REFRESH_STATE_PENDING", "MONITOR_REFRESH_STATE_RUNNING")


def request_refresh(client, table_id: str) -> str:
    """Ask for a refresh of the monitor of table `table_id`: "requested", or "already running"
    when one is (looked up first; and a 409 for one that started in between means the same)."""
    from databricks.sdk.errors import ResourceConflict
    from databricks.sdk.service.dataquality import Refresh

    api = client.data_quality
    for refresh in api.list_refresh("table", table_id):
        if refresh.state is not None and refresh.state.value in RUNNING_REFRESH:
            return "already running"
    try:
        api.create_refresh("table", table_id, Refresh(object_type="table", object_id=table_id))
    except ResourceConflict:
        return "already running"
    return "requested"


def ensure_monitor(client, table: str, assets_dir: str) -> tuple[bool, str]:
    """Create the monitor of `table` unless it exists, else request a refresh.

    `client` is a `databricks.sdk.WorkspaceClient`. Returns (created, refresh: see
    `request_refresh`, "" for a new monitor)."""
    from databricks.sdk.errors import NotFound
    from databricks.sdk.service.dataquality import Monitor

    catalog, schema, _ = split_name(table)
    table_id = client.tables.get(table).table_id
    created = False
    try:
        client.data_quality.get_monitor("table", table_id)
    except NotFound:
        schema_id = client.schemas.get(f"{catalog}.{schema}").schema_id
        spec = monitor_spec(table_id, schema_id, assets_dir)
        client.data_quality.create_monitor(Monitor.from_dict(spec))
        created = True
        log.info("created the quality monitor of %s", table)
    # A new monitor computes its first metrics by itself; an existing one is refreshed.
    return created, "" if created else request_refresh(client, table_id)


def create_monitor(*, location: Location, assets_dir: str, client=None) -> MonitorResult:
    """Table, then monitor. Locally (without a workspace or a client) only the table is made."""
    table, created_table = ensure_table(location)
    if client is None and not runtime.uses_workspace():
        log.info("no workspace: %s has no quality monitor here", table)
        return MonitorResult(table, created_table, False)
    if client is None:
        from databricks.sdk import WorkspaceClient

        client = WorkspaceClient()
    created, refresh = ensure_monitor(client, table, assets_dir)
    return MonitorResult(table, created_table, created, refresh)
