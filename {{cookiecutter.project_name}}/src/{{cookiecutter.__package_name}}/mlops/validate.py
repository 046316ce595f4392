"""The validation gate: a registered version becomes `challenger` only if it is good enough.

Good enough means both an absolute threshold on the gate's hold-out metric (`contract.GATE`:
e.g. RMSE at most 10, or ROC AUC at least 0.8) and "not worse than the current champion by more
than `champion_tolerance`", measured on the same hold-out rows. A version that fails raises
`ValidationFailed` (the job task fails) and the aliases stay as they were.

A champion trained on a feature the code no longer computes (a feature removed since) cannot be
measured on today's hold-out rows: it is compared by the gate's metric recorded when it passed
this gate (its `validation_<metric>` tag), and the result says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from .. import config, contract, features
from . import dataset, inputs, outputs, registry, schema_check, tables
from .errors import MlopsError
from .location import Location
from .metrics import check_contract, compute

log = logging.getLogger(__name__)

# The smallest training table (50 rows, train.py) leaves about 10 in the hold-out share.
MIN_HOLDOUT_ROWS = 10
# The hold-out share of this many rows measures a metric precisely, and bounds what a
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
        name = contract.GATE.metric
        line = f"{self.model_name} version {self.version} "
        if self.passed:
            line += f"passed validation ({name} {self.metrics[name]:.3f}): now {config.CHALLENGER}"
        else:
            line += f"failed validation: {'; '.join(self.failures)}"
        if self.champion_metrics:
            line += (
                f"; champion version {self.champion_version} has {name} "
                f"{self.champion_metrics[name]:.3f}"
            )
        if self.champion_note:
            line += f" ({self.champion_note})"
        return line


def load_holdout(input_table: str) -> pd.DataFrame:
    store = tables.for_runtime()
    store.require(input_table)
    inputs.require_columns(store, input_table, inputs.TRAINING_RULES)
    # Bounded: a seeded random sample of MAX_VALIDATION_ROWS rows, drawn on the cluster.
    raw = store.read(input_table, columns=dataset.TRAINING_COLUMNS, max_rows=MAX_VALIDATION_ROWS)
    raw, _ = inputs.clean_rows(raw, table=input_table, with_outcomes=True)
    frame = dataset.training_rows(dataset.add_features(raw))
    holdout = frame[dataset.is_holdout(frame)]
    if len(holdout) < MIN_HOLDOUT_ROWS:
        raise MlopsError(
            f"{input_table} has {len(holdout)} usable hold-out rows, the gate needs at least "
            f"{MIN_HOLDOUT_ROWS}: a metric measured on fewer says little"
        )
    return holdout


def evaluate(model_uri: str, holdout: pd.DataFrame) -> dict[str, float]:
    """The task's metrics of a registered version on the hold-out rows, as it is served."""
    loaded = registry.load_model(model_uri)
    classes = outputs.classes_of(loaded)
    scores = outputs.scores_of(loaded.predict(holdout[features.MODEL_FEATURES]), classes)
    return compute(holdout[contract.LABEL], scores, classes)


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
    gate's metric recorded at its validation in this catalog (none recorded: not compared)."""
    uri = location.model_uri(champion_version)
    missing = missing_inputs(uri, holdout)
    if not missing:
        return evaluate(uri, holdout), ""
    needs = f"champion version {champion_version} needs {', '.join(missing)}, no longer computed"
    name = contract.GATE.metric
    recorded = registry.tags(location.model, champion_version).get(f"validation_{name}")
    if recorded is None:
        return None, f"{needs}, and has no recorded {name}: not compared"
    return {name: float(recorded)}, f"{needs}: compared by the {name} recorded at its validation"


def check_gate(
    metrics: dict[str, float],
    *,
    champion_metrics: dict[str, float] | None,
    champion_version: str | None,
    gate_threshold: float,
    champion_tolerance: float,
) -> list[str]:
    """Every broken rule as a sentence naming the metric, its value and the threshold.

    The tolerance is relative and always in the metric's bad direction: with RMSE (lower is
    better) the candidate may be up to 5 % above the champion, with ROC AUC 5 % below it.
    """
    gate = contract.GATE
    name, bound = gate.metric, gate.bound
    value = metrics[name]
    failures = []
    if not gate.passes(value, gate_threshold):
        failures.append(f"{name} {value:.4f} is not {bound} gate_threshold {gate_threshold:g}")
    if champion_metrics:
        theirs = champion_metrics[name]
        slack = 1 - champion_tolerance if gate.higher_is_better else 1 + champion_tolerance
        limit = theirs * slack
        if not gate.passes(value, limit):
            failures.append(
                f"{name} {value:.4f} is not {bound} {limit:.4f}, champion version "
                f"{champion_version}'s {name} {theirs:.4f} with champion_tolerance "
                f"{champion_tolerance:.0%}"
            )
    return failures


# `model_version` that means the newest version carrying its training tags, chosen under the
# model's lock (a version trained meanwhile is either chosen or not, never half).
NEWEST = "newest"


def validate(
    *,
    location: Location,
    model_version: str,
    input_table: str = config.INPUT_TABLE,
    experiment_name: str | None = None,
    gate_threshold: float = contract.GATE.threshold,
    champion_tolerance: float = config.CHAMPION_TOLERANCE,
) -> ValidationResult:
    """Measure `model_version` (or `NEWEST`) on the hold-out rows of `input_table`; pass ->
    `challenger`.

    Chosen, measured against the champion and moved under the model's lock
    (`registry.changing_aliases`): the champion compared with is the champion when
    `challenger` moves. A version without its training tags is refused.
    """
    check_contract()
    gate_threshold = inputs.check_number(gate_threshold, name="gate_threshold")
    champion_tolerance = inputs.check_number(
        champion_tolerance, name="champion_tolerance", low=0, high=1
    )
    name = location.model
    if not str(model_version).strip():
        raise MlopsError("model_version is empty: say which version to validate")
    with registry.changing_aliases(name):
        if str(model_version).strip() == NEWEST:
            version = registry.newest_trained_version(name)
        else:
            version = str(registry.model_version(name, model_version).version)
        registry.require_trained(name, version)
        # Before anything is measured or moved: no challenger whose predictions cannot be
        # written.
        schema_check.require_writable(location)
        holdout = load_holdout(input_table)
        result = _measure(location, version, holdout, gate_threshold, champion_tolerance)
        _log_run(location, result, input_table, experiment_name, gate_threshold, champion_tolerance)
        tags = {
            "validation_status": "passed" if result.passed else "failed",
            f"validation_{contract.GATE.metric}": f"{result.metrics[contract.GATE.metric]:.4f}",
        }
        if not result.passed:
            registry.set_tags(name, version, tags)
            champion = result.champion_version
            kept = f"champion stays version {champion}" if champion else "no champion"
            raise ValidationFailed(
                f"{name} version {version} failed validation: {'; '.join(result.failures)} ({kept})"
            )
        registry.move_aliases(name, {config.CHALLENGER: version}, {version: tags})
    log.info("%s", result.summary())
    return result


def _measure(
    location: Location,
    version: str,
    holdout: pd.DataFrame,
    gate_threshold: float,
    champion_tolerance: float,
) -> ValidationResult:
    """The candidate's metrics, the champion's, and the gate's verdict."""
    metrics = evaluate(location.model_uri(version), holdout)
    champion_version = registry.alias_version(location.model, config.CHAMPION)
    champion_metrics, champion_note = None, ""
    if champion_version is not None and champion_version != version:
        champion_metrics, champion_note = champion_comparison(location, champion_version, holdout)
    failures = check_gate(
        metrics,
        champion_metrics=champion_metrics,
        champion_version=champion_version,
        gate_threshold=gate_threshold,
        champion_tolerance=champion_tolerance,
    )
    return ValidationResult(
        location.model,
        version,
        metrics,
        champion_version,
        champion_metrics or {},
        failures,
        champion_note,
    )


def _log_run(
    location: Location,
    result: ValidationResult,
    input_table: str,
    experiment_name: str | None,
    gate_threshold: float,
    champion_tolerance: float,
) -> None:
    """The validation as an MLflow run: what was measured, against what, and the verdict."""
    import mlflow

    with mlflow.start_run(
        experiment_id=registry.experiment_id(experiment_name),
        run_name=f"validate-{location.catalog}-v{result.version}",
    ):
        mlflow.set_tags(
            {
                "catalog": location.catalog,
                "stage": "validate",
                "model_version": result.version,
                "passed": str(result.passed).lower(),
            }
        )
        mlflow.log_params(
            {
                "gate_metric": contract.GATE.metric,
                "gate_threshold": gate_threshold,
                "champion_tolerance": champion_tolerance,
                "input_table": input_table,
                "champion_version": result.champion_version,
            }
        )
        mlflow.log_metrics({f"candidate_{k}": v for k, v in result.metrics.items()})
        if result.champion_metrics:
            mlflow.log_metrics({f"champion_{k}": v for k, v in result.champion_metrics.items()})
