"""Train a candidate model and register it as a new version of `<catalog>.<schema>.<model>`."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from . import config, data, features, runtime

log = logging.getLogger(__name__)

DEFAULT_PARAMS = {"max_iter": 120, "learning_rate": 0.15, "max_leaf_nodes": 31}

# The model is stored with skops, which (unlike pickle) loads only types it is told to trust.
# These are the pipeline's own parts, reviewed; a new estimator may need its types added here.
TRUSTED_TYPES = [
    "functools.partial",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
]


@dataclass
class TrainResult:
    model_name: str
    version: str
    run_id: str
    metrics: dict[str, float] = field(default_factory=dict)
    training_rows: int = 0


def build_pipeline(params: dict | None = None) -> Pipeline:
    """Zip codes as categories (rare ones pooled), gradient-boosted trees on top.

    Trees need no scaling and pick up the tariff's steps (night and rush-hour surcharges) by
    themselves, which keeps the feature code short.
    """
    zips = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        # Negative codes are "missing" to the trees: a zip code never seen in training.
        unknown_value=-1,
        encoded_missing_value=-1,
        max_categories=60,
    )
    columns = ColumnTransformer(
        [("zips", zips, features.CATEGORICAL_FEATURES)],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    trees = HistGradientBoostingRegressor(
        **{**DEFAULT_PARAMS, **(params or {})},
        categorical_features=list(range(len(features.CATEGORICAL_FEATURES))),
        random_state=config.SEED,
    )
    return Pipeline([("columns", columns), ("model", trees)])


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    return {
        "rmse": float(root_mean_squared_error(y_true, y_pred)),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "r2": float(r2_score(y_true, y_pred)),
    }


def pip_requirements() -> list[str]:
    """The serving environment, pinned to what we trained with. Listing it ourselves spares
    MLflow from inferring it, which takes seconds and captures whatever else is installed."""
    import mlflow
    import pyarrow
    import sklearn
    import skops

    return [
        f"mlflow=={mlflow.__version__}",
        f"skops=={skops.__version__}",
        f"scikit-learn=={sklearn.__version__}",
        f"pandas=={pd.__version__}",
        f"numpy=={np.__version__}",
        f"pyarrow=={pyarrow.__version__}",
    ]


def load_training_frame(input_table: str, sample_fraction: float = 1.0) -> pd.DataFrame:
    raw = data.read_table(input_table, columns=data.TRIP_COLUMNS, sample_fraction=sample_fraction)
    frame = features.training_rows(features.add_features(raw))
    if len(frame) < 50:
        raise runtime.MlopsError(
            f"{input_table} has only {len(frame)} usable rows at sample_fraction "
            f"{sample_fraction}: too few to train on"
        )
    return frame


def log_and_register(
    pipeline: Pipeline,
    example: pd.DataFrame,
    model_name: str,
    tags: dict[str, str],
) -> str:
    """Log the fitted pipeline in the active run and register it; returns the new version."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.models import infer_signature

    signature = infer_signature(example, pipeline.predict(example))
    started = time.perf_counter()
    info = mlflow.sklearn.log_model(
        pipeline,
        name="model",
        serialization_format="skops",
        skops_trusted_types=TRUSTED_TYPES,
        signature=signature,
        input_example=example.head(5),
        pip_requirements=pip_requirements(),
        registered_model_name=model_name,
    )
    log.debug("log_model took %.2fs", time.perf_counter() - started)
    version = str(info.registered_model_version)
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(model_name, version, key, str(value))
    return version


def train(
    catalog: str = config.DEV_CATALOG,
    schema: str = config.SCHEMA,
    model_name: str = config.MODEL_NAME,
    input_table: str = config.INPUT_TABLE,
    experiment_name: str | None = None,
    sample_fraction: float = 1.0,
    params: dict | None = None,
) -> TrainResult:
    """Fit the pipeline on `input_table` (all of it, or a sample) and register a new version.

    The hold-out trips (see `features.is_holdout`) are left out of fitting and give the metrics
    logged with the run; `validate` measures on the same trips.
    """
    import mlflow

    registered_name = runtime.full_name(catalog, schema, model_name)
    frame = load_training_frame(input_table, sample_fraction)
    fit_rows, holdout = features.split_holdout(frame)
    log.info(
        "training on %s rows of %s (sample_fraction %s)",
        len(fit_rows),
        input_table,
        sample_fraction,
    )

    pipeline = build_pipeline(params)
    pipeline.fit(fit_rows[features.MODEL_FEATURES], fit_rows[features.LABEL])
    metrics = regression_metrics(
        holdout[features.LABEL], pipeline.predict(holdout[features.MODEL_FEATURES])
    )

    runtime.set_experiment(experiment_name)
    with mlflow.start_run(run_name=f"train-{catalog}") as run:
        mlflow.set_tags({"catalog": catalog, "stage": "train", "git_commit": runtime.git_commit()})
        mlflow.log_params(
            {
                **DEFAULT_PARAMS,
                **(params or {}),
                "input_table": input_table,
                "sample_fraction": sample_fraction,
                "training_rows": len(fit_rows),
            }
        )
        mlflow.log_metrics({f"holdout_{name}": value for name, value in metrics.items()})
        version = log_and_register(
            pipeline,
            fit_rows[features.MODEL_FEATURES].head(200),
            registered_name,
            tags={
                "training_table": input_table,
                "sample_fraction": sample_fraction,
                "git_commit": runtime.git_commit(),
                "holdout_rmse": round(metrics["rmse"], 4),
            },
        )
    log.info(
        "registered %s version %s (holdout rmse %.3f)", registered_name, version, metrics["rmse"]
    )
    return TrainResult(registered_name, version, run.info.run_id, metrics, len(fit_rows))
