"""Train a candidate model and register it as a new version of `<catalog>.<schema>.<model>`.

What is trained lives in `model.py` and `features.py`; this module reads the data, fits, logs
the run and registers the version.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import config, features, model
from . import registry, tables
from .errors import MlopsError
from .location import Location

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    model_name: str
    version: str
    run_id: str
    metrics: dict[str, float] = field(default_factory=dict)
    training_rows: int = 0
    sample_fraction: float = 1.0

    def summary(self) -> str:
        return (
            f"{self.model_name} version {self.version}: trained on {self.training_rows:,} rows "
            f"(sample_fraction {self.sample_fraction:g}), hold-out rmse "
            f"{self.metrics['rmse']:.3f}, mae {self.metrics['mae']:.3f}"
        )


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


def load_training_frame(input_table: str, *, sample_fraction: float = 1.0) -> pd.DataFrame:
    raw = tables.for_runtime().read(
        input_table, columns=features.INPUT_COLUMNS, sample_fraction=sample_fraction
    )
    frame = features.training_rows(features.add_features(raw))
    if len(frame) < 50:
        raise MlopsError(
            f"{input_table} has only {len(frame)} usable rows at sample_fraction "
            f"{sample_fraction}: too few to train on"
        )
    return frame


def log_and_register(pipeline, example: pd.DataFrame, *, model_name: str, tags: dict) -> str:
    """Log the fitted pipeline in the active run and register it; returns the new version."""
    import mlflow
    from mlflow.models import infer_signature

    info = mlflow.sklearn.log_model(
        pipeline,
        name="model",
        serialization_format="skops",
        skops_trusted_types=model.TRUSTED_TYPES,
        signature=infer_signature(example, pipeline.predict(example)),
        input_example=example.head(5),
        pip_requirements=pip_requirements(),
        registered_model_name=model_name,
    )
    version = str(info.registered_model_version)
    registry.set_tags(model_name, version, tags)
    return version


def train(
    *,
    location: Location,
    input_table: str = config.INPUT_TABLE,
    experiment_name: str | None = None,
    sample_fraction: float = 1.0,
    params: dict | None = None,
) -> TrainResult:
    """Fit `model.build_pipeline` on `input_table` (all of it, or a sample) and register a new
    version of `location.model`.

    The hold-out trips (see `features.is_holdout`) are left out of fitting and give the metrics
    logged with the run; `validate` measures on the same trips.
    """
    import mlflow

    frame = load_training_frame(input_table, sample_fraction=sample_fraction)
    fit_rows, holdout = features.split_holdout(frame)
    log.info("training on %s rows of %s", len(fit_rows), input_table)

    pipeline = model.build_pipeline(params)
    pipeline.fit(fit_rows[features.MODEL_FEATURES], fit_rows[features.LABEL])
    metrics = model.regression_metrics(
        holdout[features.LABEL], pipeline.predict(holdout[features.MODEL_FEATURES])
    )

    commit = registry.git_commit()
    with mlflow.start_run(
        experiment_id=registry.experiment_id(experiment_name), run_name=f"train-{location.catalog}"
    ) as run:
        mlflow.set_tags({"catalog": location.catalog, "stage": "train", "git_commit": commit})
        mlflow.log_params(
            {
                **model.PARAMS,
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
            model_name=location.model,
            tags={
                "training_table": input_table,
                "sample_fraction": sample_fraction,
                "git_commit": commit,
                "holdout_rmse": round(metrics["rmse"], 4),
            },
        )
    result = TrainResult(
        location.model, version, run.info.run_id, metrics, len(fit_rows), sample_fraction
    )
    log.info("%s", result.summary())
    return result
