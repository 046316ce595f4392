"""The validation gate: a registered version becomes `challenger` only if it is good enough.

Good enough means both an absolute ceiling on the hold-out RMSE and "not worse than the current
champion by more than `champion_tolerance`", measured on the same hold-out trips. A version that
fails raises `ValidationFailed` (the job task fails) and the aliases stay as they were.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from . import config, data, features, runtime
from .train import regression_metrics

log = logging.getLogger(__name__)


class ValidationFailed(runtime.MlopsError):
    """The candidate did not pass the gate; the message names the metric and the threshold."""


@dataclass
class ValidationResult:
    model_name: str
    version: str
    metrics: dict[str, float]
    champion_version: str | None = None
    champion_metrics: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


# The hold-out share of this many rows measures RMSE to well under a cent, and bounds what a
# production-sized table sends to the driver.
MAX_VALIDATION_ROWS = 1_000_000


def load_holdout(input_table: str) -> pd.DataFrame:
    raw = data.read_table(input_table, columns=data.TRIP_COLUMNS, max_rows=MAX_VALIDATION_ROWS)
    frame = features.training_rows(features.add_features(raw))
    holdout = frame[features.is_holdout(frame)]
    if holdout.empty:
        raise runtime.MlopsError(f"{input_table} has no hold-out rows to validate on")
    return holdout


def evaluate(model_uri: str, holdout: pd.DataFrame) -> dict[str, float]:
    import mlflow

    model = mlflow.pyfunc.load_model(model_uri)
    predictions = model.predict(holdout[features.MODEL_FEATURES])
    return regression_metrics(holdout[features.LABEL], predictions)


def check_gate(
    metrics: dict[str, float],
    champion_metrics: dict[str, float] | None,
    champion_version: str | None,
    max_rmse: float,
    champion_tolerance: float,
) -> list[str]:
    """Every broken rule as a sentence naming the metric, its value and the threshold."""
    failures = []
    rmse = metrics["rmse"]
    if not rmse <= max_rmse:
        failures.append(f"rmse {rmse:.4f} is above max_rmse {max_rmse:g}")
    if champion_metrics:
        limit = champion_metrics["rmse"] * (1 + champion_tolerance)
        if not rmse <= limit:
            failures.append(
                f"rmse {rmse:.4f} is above {limit:.4f}, champion version {champion_version}'s "
                f"rmse {champion_metrics['rmse']:.4f} plus champion_tolerance "
                f"{champion_tolerance:.0%}"
            )
    return failures


def validate(
    catalog: str = config.DEV_CATALOG,
    schema: str = config.SCHEMA,
    model_name: str = config.MODEL_NAME,
    model_version: str = "",
    input_table: str = config.INPUT_TABLE,
    experiment_name: str | None = None,
    max_rmse: float = config.MAX_RMSE,
    champion_tolerance: float = config.CHAMPION_TOLERANCE,
) -> ValidationResult:
    """Measure `model_version` on the hold-out trips of `input_table`; pass -> `challenger`."""
    import mlflow

    registered_name = runtime.full_name(catalog, schema, model_name)
    if not str(model_version).strip():
        raise runtime.MlopsError("model_version is empty: say which version to validate")
    version = str(runtime.model_version(registered_name, model_version).version)
    holdout = load_holdout(input_table)

    metrics = evaluate(f"models:/{registered_name}/{version}", holdout)
    champion_version = runtime.alias_version(registered_name, config.CHAMPION)
    champion_metrics = None
    if champion_version is not None and champion_version != version:
        champion_metrics = evaluate(f"models:/{registered_name}/{champion_version}", holdout)
    failures = check_gate(metrics, champion_metrics, champion_version, max_rmse, champion_tolerance)
    result = ValidationResult(
        registered_name, version, metrics, champion_version, champion_metrics or {}, failures
    )

    runtime.set_experiment(experiment_name)
    with mlflow.start_run(run_name=f"validate-{catalog}-v{version}"):
        mlflow.set_tags(
            {
                "catalog": catalog,
                "stage": "validate",
                "model_version": version,
                "passed": str(result.passed).lower(),
            }
        )
        mlflow.log_params(
            {
                "max_rmse": max_rmse,
                "champion_tolerance": champion_tolerance,
                "input_table": input_table,
                "champion_version": champion_version,
            }
        )
        mlflow.log_metrics({f"candidate_{k}": v for k, v in metrics.items()})
        if champion_metrics:
            mlflow.log_metrics({f"champion_{k}": v for k, v in champion_metrics.items()})

    client = runtime.mlflow_client()
    client.set_model_version_tag(
        registered_name, version, "validation_status", "passed" if result.passed else "failed"
    )
    client.set_model_version_tag(
        registered_name, version, "validation_rmse", f"{metrics['rmse']:.4f}"
    )
    if failures:
        kept = f"champion stays version {champion_version}" if champion_version else "no champion"
        raise ValidationFailed(
            f"{registered_name} version {version} failed validation: {'; '.join(failures)} ({kept})"
        )
    client.set_registered_model_alias(registered_name, config.CHALLENGER, version)
    log.info(
        "%s version %s passed validation (rmse %.3f) and is now %s",
        registered_name,
        version,
        metrics["rmse"],
        config.CHALLENGER,
    )
    return result
