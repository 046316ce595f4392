"""Train a candidate model and register it as a new version of `<catalog>.<schema>.<model>`.

What is trained lives in `model.py` and `features.py`; this module reads the data, fits, logs
the run and registers the version.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import config, contract, features, model
from . import dataset, inputs, metrics, outputs, registry, tables
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
            f"(sample_fraction {self.sample_fraction:g}), hold-out {metrics.describe(self.metrics)}"
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


@dataclass
class TrainingSample:
    """What training read: the usable rows, and how they relate to the whole table."""

    frame: pd.DataFrame
    table_rows: int
    sampled_rows: int

    @property
    def sampled_fraction(self) -> float:
        return self.sampled_rows / self.table_rows if self.table_rows else 0.0


def load_training_frame(
    input_table: str,
    *,
    sample_fraction: float = 1.0,
    max_training_rows: int = config.MAX_TRAINING_ROWS,
) -> TrainingSample:
    """A seeded random sample of `input_table` (a `sample_fraction` share, then at most
    `max_training_rows` rows), drawn on the cluster on Databricks, as training rows."""
    if max_training_rows < 1:
        raise MlopsError(f"max_training_rows must be at least 1, got {max_training_rows}")
    store = tables.for_runtime()
    store.require(input_table)
    inputs.require_columns(store, input_table, inputs.TRAINING_RULES)
    # Bounded: a random sample of at most max_training_rows rows reaches the driver.
    raw = store.read(
        input_table,
        columns=dataset.TRAINING_COLUMNS,
        sample_fraction=sample_fraction,
        max_rows=max_training_rows,
    )
    sampled_rows = len(raw)
    raw, _ = inputs.clean_rows(raw, table=input_table, with_outcomes=True)
    frame = dataset.training_rows(dataset.add_features(raw))
    if len(frame) < 50:
        raise MlopsError(
            f"{input_table} has only {len(frame)} usable rows at sample_fraction "
            f"{sample_fraction}: too few to train on"
        )
    return TrainingSample(frame, store.count(input_table), sampled_rows)


def log_model(pipeline, example: pd.DataFrame) -> str:
    """Log the fitted pipeline in the active run; returns its model URI.

    A regressor is logged with MLflow's scikit-learn flavour, which answers `predict`. A
    classifier is logged as `classifier_model.py`, which answers its class and its
    probabilities (the flavour answers one method only), with the pipeline beside it.
    Both are saved with skops, trusting only `model.TRUSTED_TYPES`.
    """
    import mlflow
    from mlflow.models import infer_signature

    logged = {
        "name": "model",
        "input_example": example.head(5),
        "pip_requirements": pip_requirements(),
    }
    if not metrics.is_classification():
        info = mlflow.sklearn.log_model(
            pipeline,
            serialization_format="skops",
            skops_trusted_types=model.TRUSTED_TYPES,
            signature=infer_signature(example, pipeline.predict(example)),
            **logged,
        )
        return info.model_uri
    import skops.io

    from . import classifier_model

    classes = [int(value) for value in pipeline.classes_]
    answers = classifier_model.answer_frame(pipeline.predict_proba(example), classes)
    with tempfile.TemporaryDirectory(prefix="pipeline-") as folder:
        saved = Path(folder) / "pipeline.skops"
        skops.io.dump(pipeline, saved)
        # MLflow loads the model to check the input example; a type skops is not told to
        # trust would only be warned about there, so it fails here, naming the types.
        skops.io.load(saved, trusted=model.TRUSTED_TYPES)
        info = mlflow.pyfunc.log_model(
            python_model=classifier_model.__file__,
            artifacts={classifier_model.PIPELINE: str(saved)},
            model_config={"trusted_types": list(model.TRUSTED_TYPES), "classes": classes},
            metadata={outputs.CLASSES_KEY: classes},
            signature=infer_signature(example, answers),
            **logged,
        )
    return info.model_uri


def register(model_uri: str, *, model_name: str, tags: dict) -> str:
    """Register a logged model as a new version, born with its lineage `tags`.

    The tags go in the one request that creates the version (locally one SQLite transaction;
    Unity Catalog's CreateModelVersion carries them too), so no version exists without them,
    however the process ends: `validate`, `deploy` and `promote` refuse a version that has not
    got them (`registry.TRAINING_TAGS`).
    """
    import mlflow

    registry.configure_mlflow()
    version = mlflow.register_model(
        model_uri, model_name, tags={k: str(v) for k, v in tags.items()}
    )
    return str(version.version)


def train(
    *,
    location: Location,
    input_table: str = config.INPUT_TABLE,
    experiment_name: str | None = None,
    sample_fraction: float = 1.0,
    max_training_rows: int = config.MAX_TRAINING_ROWS,
    params: dict | None = None,
) -> TrainResult:
    """Fit `model.build_pipeline` on `input_table` (all of it, or a sample) and register a new
    version of `location.model`.

    The hold-out rows (see `dataset.is_holdout`) are left out of fitting and give the metrics
    logged with the run; `validate` measures on the same rows.
    """
    import mlflow

    metrics.check_contract()
    sample = load_training_frame(
        input_table, sample_fraction=sample_fraction, max_training_rows=max_training_rows
    )
    frame = sample.frame
    fit_rows, holdout = dataset.split_holdout(frame)
    log.info("training on %s rows of %s", len(fit_rows), input_table)

    pipeline = model.build_pipeline(params)
    pipeline.fit(fit_rows[features.MODEL_FEATURES], fit_rows[contract.LABEL])
    scores = metrics.compute(
        holdout[contract.LABEL],
        outputs.raw_scores(pipeline, holdout[features.MODEL_FEATURES]),
        outputs.classes_of_pipeline(pipeline),
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
                "max_training_rows": max_training_rows,
                "training_rows": len(fit_rows),
            }
        )
        mlflow.log_metrics({f"holdout_{name}": value for name, value in scores.items()})
        # How much of the table the model saw: the sample's rows and their share of the table.
        mlflow.log_metrics(
            {
                "input_table_rows": sample.table_rows,
                "sampled_rows": sample.sampled_rows,
                "sampled_fraction": sample.sampled_fraction,
            }
        )
        model_uri = log_model(pipeline, fit_rows[features.MODEL_FEATURES].head(200))
    # After the run has ended: a version never points at a run still marked running.
    version = register(
        model_uri,
        model_name=location.model,
        tags={
            "training_table": input_table,
            "sample_fraction": sample_fraction,
            "git_commit": commit,
            f"holdout_{contract.GATE.metric}": round(scores[contract.GATE.metric], 4),
        },
    )
    result = TrainResult(
        location.model, version, run.info.run_id, scores, len(fit_rows), sample_fraction
    )
    log.info("%s", result.summary())
    return result
