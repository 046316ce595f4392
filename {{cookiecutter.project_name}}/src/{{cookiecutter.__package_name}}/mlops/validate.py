"""The validation gate: a registered version becomes `challenger` only if it is good enough.

Good enough means both an absolute ceiling on the hold-out RMSE and "not worse than the current
champion by more than `champion_tolerance`", measured on the same hold-out trips. A version that
fails raises `ValidationFailed` (the job task fails) and the aliases stay as they were.

A champion trained on a feature the code no longer computes (a feature removed since) cannot be
measured on today's hold-out rows: it is compared by the RMSE recorded when it passed this gate
(its `validation_rmse` tag), and the result says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from .. import config, features, model
from . import inputs, registry, schema_check, tables
from .errors import MlopsError
from .location import Location

log = logging.getLogger(__name__)

# The hold-out share of this many rows measures RMSE to well under a cent, and bounds what a
# production-sized table sends to the driver.
MAX_VALIDATION_ROWS = 1_000_000


class ValidationFailed(MlopsError):
    """The candidate did not pass the gate; the message names the metric and the threshold."""


@dataclass
class ValidationResult:
    model_name: str
    version: str
    metrics: dict[str, float]
    champion_version: str | None = None
    champion_metrics: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    # How the champion was compared, when not on the same rows (see `champion_comparison`).
    champion_note: str = ""

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        line = f"{self.model_name} version {self.version} "
        if self.passed:
            line += f"passed validation (rmse {self.metrics['rmse']:.3f}): now {config.CHALLENGER}"
        else:
            line += f"failed validation: {'; '.join(self.failures)}"
        if self.champion_metrics:
            line += (
                f"; champion version {self.champion_version} has rmse "
                f"{self.champion_metrics['rmse']:.3f}"
            )
        if self.champion_note:
            line += f" ({self.champion_note})"
        return line


def load_holdout(input_table: str) -> pd.DataFrame:
    store = tables.for_runtime()
    store.require(input_table)
    inputs.require_columns(
        store, input_table, {**inputs.TRIP_RULES, features.LABEL: inputs.TRAINING_LABEL_RULE}
    )
    # Bounded: a seeded random sample of MAX_VALIDATION_ROWS rows, drawn on the cluster.
    raw = store.read(input_table, columns=features.INPUT_COLUMNS, max_rows=MAX_VALIDATION_ROWS)
    raw, _ = inputs.clean_trips(raw, table=input_table, with_label=True)
    frame = features.training_rows(features.add_features(raw))
    holdout = frame[features.is_holdout(frame)]
    if holdout.empty:
        raise MlopsError(f"{input_table} has no hold-out rows to validate on")
    return holdout


def evaluate(model_uri: str, holdout: pd.DataFrame) -> dict[str, float]:
    predictions = registry.load_model(model_uri).predict(holdout[features.MODEL_FEATURES])
    return model.regression_metrics(holdout[features.LABEL], predictions)


def missing_inputs(model_uri: str, frame: pd.DataFrame) -> list[str]:
    """The inputs the model's signature names that `frame` has not got: features removed from
    the code since that version was trained."""
    schema = registry.load_model(model_uri).metadata.get_input_schema()
    names = schema.input_names() if schema is not None else []
    return [name for name in names if name not in frame.columns]


def champion_comparison(
    location: Location, champion_version: str, holdout: pd.DataFrame
) -> tuple[dict[str, float] | None, str]:
    """The champion's metrics to compare with, and a note when they are not measured on
    `holdout`: a champion that needs a feature the code no longer computes is compared by the
    RMSE recorded at its validation in this catalog (none recorded: not compared)."""
    uri = location.model_uri(champion_version)
    missing = missing_inputs(uri, holdout)
    if not missing:
        return evaluate(uri, holdout), ""
    needs = f"champion version {champion_version} needs {', '.join(missing)}, no longer computed"
    recorded = registry.tags(location.model, champion_version).get("validation_rmse")
    if recorded is None:
        return None, f"{needs}, and has no recorded rmse: not compared"
    return {"rmse": float(recorded)}, f"{needs}: compared by the rmse recorded at its validation"


def check_gate(
    metrics: dict[str, float],
    *,
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
    *,
    location: Location,
    model_version: str,
    input_table: str = config.INPUT_TABLE,
    experiment_name: str | None = None,
    max_rmse: float = config.MAX_RMSE,
    champion_tolerance: float = config.CHAMPION_TOLERANCE,
) -> ValidationResult:
    """Measure `model_version` on the hold-out trips of `input_table`; pass -> `challenger`."""
    import mlflow

    name = location.model
    if not str(model_version).strip():
        raise MlopsError("model_version is empty: say which version to validate")
    version = str(registry.model_version(name, model_version).version)
    # Before anything is measured or moved: no challenger whose predictions cannot be written.
    schema_check.require_writable(location)
    holdout = load_holdout(input_table)

    metrics = evaluate(location.model_uri(version), holdout)
    champion_version = registry.alias_version(name, config.CHAMPION)
    champion_metrics, champion_note = None, ""
    if champion_version is not None and champion_version != version:
        champion_metrics, champion_note = champion_comparison(location, champion_version, holdout)
    failures = check_gate(
        metrics,
        champion_metrics=champion_metrics,
        champion_version=champion_version,
        max_rmse=max_rmse,
        champion_tolerance=champion_tolerance,
    )
    result = ValidationResult(
        name, version, metrics, champion_version, champion_metrics or {}, failures, champion_note
    )

    with mlflow.start_run(
        experiment_id=registry.experiment_id(experiment_name),
        run_name=f"validate-{location.catalog}-v{version}",
    ):
        mlflow.set_tags(
            {
                "catalog": location.catalog,
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

    registry.set_tags(
        name,
        version,
        {
            "validation_status": "passed" if result.passed else "failed",
            "validation_rmse": f"{metrics['rmse']:.4f}",
        },
    )
    if failures:
        kept = f"champion stays version {champion_version}" if champion_version else "no champion"
        raise ValidationFailed(
            f"{name} version {version} failed validation: {'; '.join(failures)} ({kept})"
        )
    registry.set_alias(name, config.CHALLENGER, version)
    log.info("%s", result.summary())
    return result
