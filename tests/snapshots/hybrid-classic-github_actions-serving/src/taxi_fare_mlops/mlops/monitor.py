"""A drift and error check over the predictions of the latest batch.

Drift compares each feature of the scored batch with the data the champion trained on (the
baseline); error compares predictions with labels where the batch has them. Labels arrive after
scoring: the check first attaches whatever the labels table holds (`labels.attach_labels`), so a
batch checked the day it was scored may have no error yet (NaN, never a violation) and gets one
when it is checked again after its labels arrived. The thresholds come from the job (or the
CLI). Any violation means "retrain": the monitoring job reads the `retrain` task value and starts
the training job; this module never fails because of drift.

The features checked are `features.NUMERIC_FEATURES` and `features.CATEGORICAL_FEATURES`, the
error metrics the task's (`metrics.py`, with the gate's threshold from `contract.GATE`); the
numbers come from `drift.py` and `metrics.py`, and the pictures from `reports.py`. This module
only fetches data, stores the metrics in `<catalog>.<schema>.monitoring_metrics` and logs the
run to MLflow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .. import config, contract, features
from . import dataset, drift, inputs, metrics, outputs, registry, reports, runtime, tables
from .errors import MlopsError
from .labels import attach_labels
from .location import Location

log = logging.getLogger(__name__)

# Drift needs distributions, not every row: a random sample this large estimates them well.
MAX_ROWS = 200_000
# The error trend plot reads at most this many metric rows (three per monitored batch).
MAX_HISTORY_ROWS = 100_000


@dataclass
class MonitorResult:
    batch_id: str
    model_version: str
    rows: int
    window_start: pd.Timestamp
    drift: pd.DataFrame
    errors: dict[str, float]
    violations: list[str]
    labelled_rows: int = 0
    # The drift chart of this batch, then the error trend of every batch so far.
    reports: list[Path] = field(default_factory=list)

    @property
    def retrain(self) -> bool:
        return bool(self.violations)

    @property
    def largest_psi(self) -> tuple[str, float]:
        psi = self.drift[self.drift["metric"] == "psi"].set_index("feature")["value"]
        return (str(psi.idxmax()), float(psi.max())) if len(psi) else ("-", float("nan"))

    @property
    def categorical_drift(self) -> dict[str, float]:
        """The Jensen-Shannon distance of each categorical feature from its baseline."""
        js = self.drift[self.drift["metric"] == "js"]
        return dict(zip(js["feature"].astype(str), js["value"].astype(float), strict=True))

    def describe_errors(self) -> str:
        if not self.labelled_rows:
            return f"{contract.GATE.metric} n/a (no labels yet)"
        return (
            f"{metrics.describe(self.errors)} "
            f"({self.labelled_rows:,} of {self.rows:,} rows labelled)"
        )

    def summary(self) -> str:
        feature, psi = self.largest_psi
        lines = [
            f"batch {self.batch_id} (version {self.model_version}, {self.rows:,} rows): "
            f"{self.describe_errors()}, largest psi {psi:.3f} ({feature})"
        ]
        lines += [f"  ! {violation}" for violation in self.violations]
        lines.append(f"  retrain: {str(self.retrain).lower()}")
        return "\n".join(lines)


def latest_batch(table: str) -> str:
    """The batch scored last: an aggregate over the table, so only one value reaches memory."""
    batch_id = tables.for_runtime().newest(table, column="batch_id", order_by="scored_at")
    if batch_id is None:
        raise MlopsError(f"{table} is empty: score a batch first")
    return str(batch_id)


def baseline_table_of(model_name: str, version: str | None) -> str:
    """The table the champion trained on (a tag set at training and kept by promotion)."""
    if version is None:
        return config.INPUT_TABLE
    return registry.tags(model_name, version).get("training_table") or config.INPUT_TABLE


def load_baseline(table: str) -> pd.DataFrame:
    # Bounded: a seeded random sample of MAX_ROWS rows, drawn on the cluster on Databricks.
    store = tables.for_runtime()
    store.require(table)
    inputs.require_columns(store, table, inputs.TRAINING_RULES)
    raw = store.read(table, columns=dataset.TRAINING_COLUMNS, max_rows=MAX_ROWS)
    raw, _ = inputs.clean_rows(raw, table=table, with_outcomes=True)
    return dataset.training_rows(dataset.add_features(raw))


def metric_rows(result: MonitorResult, computed_at: pd.Timestamp) -> pd.DataFrame:
    """Drift and error in one long table: feature, metric, value per batch; the prediction's
    `labelled_rows` says how many rows the error was measured on."""
    errors = pd.DataFrame(
        [("prediction", name, value) for name, value in result.errors.items()]
        + [("prediction", "labelled_rows", float(result.labelled_rows))],
        columns=drift.DRIFT_COLUMNS,
    )
    rows = pd.concat([result.drift, errors], ignore_index=True)
    rows.insert(0, "window_start", result.window_start)
    rows.insert(1, "batch_id", result.batch_id)
    rows.insert(2, "model_version", result.model_version)
    rows["row_count"] = result.rows
    rows["computed_at"] = computed_at
    return rows.astype({"value": "float64", "row_count": "int64"})


def error_history(table: str) -> pd.DataFrame:
    """The task's error metrics per window from everything monitored so far (the trend plot)."""
    # Bounded: the prediction rows only (a filter pushed down to the files; three per batch)
    # and capped, so years of daily batches fit.
    history = tables.for_runtime().read(
        table,
        columns=["window_start", "metric", "value"],
        where={"feature": "prediction"},
        max_rows=MAX_HISTORY_ROWS,
    )
    names = error_metric_names()
    errors = history[history["metric"].isin(names)]
    wide = errors.pivot_table(
        index="window_start", columns="metric", values="value", aggfunc="last", dropna=False
    )
    return wide.reindex(columns=names).reset_index()


def error_metric_names() -> list[str]:
    """The metrics monitoring plots over time: the gate's first, then up to one more."""
    others = [name for name in contract.METRICS if name != contract.GATE.metric]
    return [contract.GATE.metric, *others[:1]]


def batch_errors(current: pd.DataFrame) -> dict[str, float]:
    """The task's metrics over the labelled rows of a scored batch (NaN with none)."""
    label = current[contract.LABEL]
    if metrics.is_classification():
        classes = outputs.classes_in(current[outputs.PROBABILITIES])
        scores = outputs.probability_matrix(current[outputs.PROBABILITIES], classes)
        return metrics.compute(label, scores, classes)
    return metrics.compute(label, current[outputs.PREDICTION].to_numpy())


def monitor(
    *,
    location: Location,
    baseline_table: str = "",
    max_psi: float = config.MAX_PSI,
    gate_threshold: float = contract.GATE.threshold,
    batch_id: str = "",
    experiment_name: str | None = None,
    reports_dir: Path | None = None,
) -> MonitorResult:
    """Check the latest (or the given) batch of predictions against the thresholds."""
    max_psi = inputs.check_number(max_psi, name="max_psi", low=0)
    gate_threshold = inputs.check_number(gate_threshold, name="gate_threshold")
    # The same parser as scoring's: an id scoring accepted is read back as it was written.
    batch_id = inputs.parse_batch_id(batch_id.strip()) if batch_id.strip() else ""
    # Before anything is written: an experiment the run cannot be logged in (deleted in the
    # MLflow UI) stops the check here, not after its metrics are stored.
    experiment = _run_experiment(experiment_name)
    store = tables.for_runtime()
    predictions_table = location.predictions
    if not store.exists(predictions_table):
        raise MlopsError(f"no predictions yet in {predictions_table}: run score first")
    attach_labels(location=location)
    inputs.require_columns(
        store,
        predictions_table,
        {column: inputs.Rule(inputs.declared_kind(column)) for column in features.COLUMN_TYPES}
        | {outputs.PREDICTION: inputs.Rule("number"), "batch_id": inputs.Rule("string")},
    )
    batch_id = batch_id or latest_batch(predictions_table)
    # Bounded: one batch, and of it a seeded random sample of at most MAX_ROWS rows.
    current = store.read(predictions_table, where={"batch_id": batch_id}, max_rows=MAX_ROWS)
    if current.empty:
        raise MlopsError(f"{predictions_table} has no batch {batch_id!r}")
    model_version = str(current["model_version"].mode().iloc[0])
    baseline_table = baseline_table.strip() or baseline_table_of(location.model, model_version)
    baseline = load_baseline(baseline_table)

    drift_table = drift.feature_drift(
        baseline,
        current,
        list(features.NUMERIC_FEATURES),
        list(features.CATEGORICAL_FEATURES),
    )
    # Only labelled rows count (unlabelled ones are missing); with none, every error is NaN.
    errors = batch_errors(current)
    violations = drift.find_violations(drift_table, errors, max_psi, gate_threshold)
    result = MonitorResult(
        batch_id=batch_id,
        model_version=model_version,
        rows=len(current),
        window_start=pd.Timestamp(current[contract.TIMESTAMP].min()),
        drift=drift_table,
        errors=errors,
        violations=violations,
        labelled_rows=int(current[contract.LABEL].notna().sum()),
    )

    computed_at = pd.Timestamp(datetime.now(timezone.utc))
    store.write(
        metric_rows(result, computed_at),
        location.metrics,
        mode="append",
        replace={"batch_id": batch_id},
    )

    reports_dir = Path(reports_dir or runtime.reports_dir())
    result.reports = [
        reports.plot_feature_drift(
            drift_table,
            Path(reports_dir) / f"drift_{batch_id}.png",
            max_psi=max_psi,
            batch_id=batch_id,
        ),
        reports.plot_error_over_time(
            error_history(location.metrics), Path(reports_dir) / "error.png"
        ),
    ]
    _log_run(
        result,
        catalog=location.catalog,
        max_psi=max_psi,
        gate_threshold=gate_threshold,
        experiment=experiment,
    )
    # Info, not warning: callers (CLI, notebook, lifecycle) show the violations themselves.
    log.info("batch %s: %s", batch_id, "; ".join(violations) or "within the thresholds")
    return result


def _run_experiment(experiment_name: str | None) -> str | None:
    """The id of the experiment the monitoring run is logged in; None in a job without a name,
    where the notebook's own experiment is the natural home of these runs."""
    if experiment_name or not runtime.is_databricks():
        return registry.experiment_id(experiment_name)
    return None


def _log_run(
    result: MonitorResult,
    *,
    catalog: str,
    max_psi: float,
    gate_threshold: float,
    experiment: str | None,
) -> None:
    import mlflow

    registry.configure_mlflow()
    psi = result.drift[result.drift["metric"] == "psi"]
    with mlflow.start_run(
        experiment_id=experiment, run_name=f"monitor-{catalog}-{result.batch_id}"
    ):
        mlflow.set_tags(
            {
                "catalog": catalog,
                "stage": "monitor",
                "batch_id": result.batch_id,
                "model_version": result.model_version,
                "retrain": str(result.retrain).lower(),
            }
        )
        mlflow.log_params({"max_psi": max_psi, "gate_threshold": gate_threshold})
        metrics = {f"psi_{f}": v for f, v in zip(psi["feature"], psi["value"])}
        metrics.update({k: v for k, v in result.errors.items() if pd.notna(v)})
        metrics["labelled_rows"] = result.labelled_rows
        mlflow.log_metrics(metrics)
        if result.violations:
            mlflow.log_text("\n".join(result.violations), "violations.txt")
        for path in result.reports:
            mlflow.log_artifact(str(path), artifact_path="reports")
