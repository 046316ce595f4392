"""What `notebooks/explore.py` calls: profile the input, try candidates, compare with the champion.

A try is `features.py` and `model.py` as they are, plus any of: candidate feature columns
computed from the featurised rows, hyper-parameters for `model.build_pipeline`, or another
estimator in place of the pipeline's last step (the columns are prepared as usual); it is fitted
and measured on the same hold-out rows as training and validation (`dataset.is_holdout`), and
logged as an MLflow run (tag `stage: explore`) in the project's experiment. Nothing is
registered: a try that wins goes into `features.py` or `model.py`, and the pipeline takes it
from there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from .. import config, contract, features, model
from . import dataset, inputs, metrics, outputs, registry, tables
from .errors import MlopsError
from .location import Location

# Enough rows to see the distributions and train a fair try in seconds; on Databricks this caps
# what the sample of `input_table` brings to the driver.
SAMPLE_ROWS = 20_000

# A candidate feature: featurised rows -> one new column.
CandidateFeature = Callable[[pd.DataFrame], pd.Series]


@dataclass
class Trial:
    """One try (or the champion) measured on the hold-out rows of the sample."""

    name: str
    metrics: dict[str, float]
    feature_columns: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)
    run_id: str | None = None
    is_champion: bool = False

    def summary(self) -> str:
        logged = f", run {self.run_id}" if self.run_id else ""
        return f"{self.name}: hold-out {metrics.describe(self.metrics)}{logged}"


def load_sample(input_table: str = config.INPUT_TABLE, *, max_rows: int = SAMPLE_ROWS):
    """Up to `max_rows` rows of `input_table`, featurised, every row kept (glitches too: the
    profile counts them)."""
    if max_rows < 100:
        raise MlopsError(f"sample_rows must be at least 100, got {max_rows}")
    store = tables.for_runtime()
    store.require(input_table)
    raw = store.read(input_table, columns=dataset.TRAINING_COLUMNS, max_rows=max_rows)
    if raw.empty:
        raise MlopsError(f"{input_table} is empty: nothing to explore")
    return dataset.add_features(raw)


def profile_columns() -> list[str]:
    """The model's features and the label, as declared in `features.py`."""
    return [*features.MODEL_FEATURES, contract.LABEL]


def profile(frame: pd.DataFrame) -> pd.DataFrame:
    """Per feature and the label: rows, missing values, values outside their rule (the rows
    batch scoring drops and `serve` refuses, `inputs.feature_rules`; the label's
    `contract.LABEL_RULE`), values outside `contract.TRAINING_RANGES` (missing ones not counted
    twice), and the range and median of what is there."""
    rules = {**inputs.feature_rules(), contract.LABEL: contract.LABEL_RULE}
    records = []
    for column in profile_columns():
        values = pd.to_numeric(frame[column], errors="coerce")
        present = values.dropna()
        low, high = contract.TRAINING_RANGES.get(column, (None, None))
        out_of_range = 0
        if low is not None:
            out_of_range = int((~present.between(low, high)).sum())
        records.append(
            {
                "column": column,
                "type": features.COLUMN_TYPES[column],
                "rows": len(values),
                "missing": int(values.isna().sum()),
                "outside_rule": int(inputs.bad_values(present, rules[column]).sum()),
                "out_of_range": out_of_range,
                "valid_range": f"{low:g} to {high:g}" if low is not None else "",
                "min": float(present.min()) if len(present) else float("nan"),
                "median": float(present.median()) if len(present) else float("nan"),
                "max": float(present.max()) if len(present) else float("nan"),
            }
        )
    return pd.DataFrame.from_records(records)


def _usable_rows(frame: pd.DataFrame) -> pd.DataFrame:
    usable = dataset.training_rows(frame)
    if len(usable) < 50:
        raise MlopsError(f"only {len(usable)} usable rows in the sample: too few to try a model")
    return usable


def try_candidate(
    frame: pd.DataFrame,
    *,
    name: str,
    candidate_features: Mapping[str, CandidateFeature] | None = None,
    params: Mapping[str, object] | None = None,
    estimator=None,
    experiment_name: str | None = None,
) -> Trial:
    """Fit `model.build_pipeline(params)`, with `estimator` as its last step if given, on the
    model's features plus `candidate_features`; measure it on the hold-out rows and log the
    try as an MLflow run."""
    import mlflow

    candidate_features = dict(candidate_features or {})
    clashes = sorted(set(candidate_features) & set(frame.columns))
    if clashes:
        raise MlopsError(f"candidate features {clashes} already exist: give them new names")
    usable = _usable_rows(frame).copy()
    for column, compute in candidate_features.items():
        usable[column] = pd.Series(compute(usable), index=usable.index).astype("float64")
    feature_columns = [*features.MODEL_FEATURES, *candidate_features]
    fit_rows, holdout = dataset.split_holdout(usable)
    params = dict(params or {})
    pipeline = model.build_pipeline(params)
    if estimator is not None:
        step, _ = pipeline.steps[-1]
        pipeline.steps[-1] = (step, estimator)
        params = {**params, **_scalar_params(estimator)}
    pipeline.fit(fit_rows[feature_columns], fit_rows[contract.LABEL])
    scores = metrics.compute(
        holdout[contract.LABEL],
        outputs.raw_scores(pipeline, holdout[feature_columns]),
        outputs.classes_of_pipeline(pipeline),
    )
    estimator_name = type(pipeline.steps[-1][1]).__name__
    logged_params = {**(model.PARAMS if estimator is None else {}), **params}
    with mlflow.start_run(
        experiment_id=registry.experiment_id(experiment_name), run_name=f"explore-{name}"
    ) as run:
        mlflow.set_tags({"stage": "explore", "try": name, "estimator": estimator_name})
        mlflow.log_params(
            {
                **logged_params,
                "candidate_features": ",".join(candidate_features) or "-",
                "training_rows": len(fit_rows),
            }
        )
        mlflow.log_metrics({f"holdout_{metric}": value for metric, value in scores.items()})
    return Trial(name, scores, feature_columns, logged_params, run.info.run_id)


def _scalar_params(estimator) -> dict[str, object]:
    """An estimator's hyper-parameters that MLflow can log as they are (numbers, text)."""
    return {
        key: value
        for key, value in estimator.get_params(deep=False).items()
        if isinstance(value, (bool, int, float, str))
    }


def champion_trial(location: Location, frame: pd.DataFrame) -> Trial | None:
    """The current champion of `location.model` on the same hold-out rows; None when there is
    no champion yet."""
    from .validate import evaluate

    version = registry.alias_version(location.model, config.CHAMPION)
    if version is None:
        return None
    usable = _usable_rows(frame)
    holdout = usable[dataset.is_holdout(usable)]
    return Trial(
        f"{config.CHAMPION} (version {version})",
        evaluate(location.model_uri(version), holdout),
        list(features.MODEL_FEATURES),
        is_champion=True,
    )


def compare(trials: list[Trial | None]) -> pd.DataFrame:
    """The tries and the champion side by side, best first by the gate's metric;
    `<metric>_vs_champion` is its relative change (-0.05 = 5 % lower than the champion's)."""
    gate = contract.GATE.metric
    present = [trial for trial in trials if trial is not None]
    table = pd.DataFrame(
        [
            {
                "name": trial.name,
                **trial.metrics,
                "is_champion": trial.is_champion,
                "run_id": trial.run_id or "",
            }
            for trial in present
        ],
        columns=["name", *contract.METRICS, "is_champion", "run_id"],
    )
    champion = table.loc[table["is_champion"], gate]
    table[f"{gate}_vs_champion"] = (
        table[gate] / champion.iloc[0] - 1.0 if len(champion) else float("nan")
    )
    best_first = not contract.GATE.higher_is_better
    return table.sort_values(gate, ascending=best_first, ignore_index=True)
