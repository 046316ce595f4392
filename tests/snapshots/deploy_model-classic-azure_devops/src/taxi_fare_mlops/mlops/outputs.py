"""What a model answers, per task: the columns scoring writes and `serve` returns.

Regression: `prediction`, the predicted value. Classification: `prediction`, the most likely
class, and `probabilities`, {class: probability} for every class the model knows (a map column
in the tables, the shape Databricks' quality monitor reads as `prediction_proba_col`).

A classifier is logged with `predict_proba` as its pyfunc predict function and its classes in
the model's metadata, so the served endpoint answers with the probabilities in that order and
every copy of the version (promotion) carries its classes along.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .metrics import is_classification

PREDICTION = "prediction"
PROBABILITIES = "probabilities"
CLASSES_KEY = "classes"


def column_types() -> dict[str, str]:
    """The columns a model's answer takes in the predictions table, with their types."""
    if is_classification():
        return {PREDICTION: "long", PROBABILITIES: "map_string_double"}
    return {PREDICTION: "double"}


def log_options(pipeline) -> dict:
    """Extra arguments of `mlflow.sklearn.log_model` for this task."""
    if not is_classification():
        return {}
    classes = [int(value) for value in pipeline.classes_]
    return {"pyfunc_predict_fn": "predict_proba", "metadata": {CLASSES_KEY: classes}}


def raw_scores(pipeline, rows: pd.DataFrame) -> np.ndarray:
    """What the logged model's pyfunc returns for `rows` (probabilities for a classifier)."""
    return pipeline.predict_proba(rows) if is_classification() else pipeline.predict(rows)


def classes_of(model) -> list[int] | None:
    """The classes of a loaded pyfunc model (from its metadata), None for regression."""
    metadata = getattr(model, "metadata", None)
    return classes_in_metadata(getattr(metadata, "metadata", None))


def classes_in_metadata(extra: dict | None) -> list[int] | None:
    """The classes a model's metadata (`log_options`) names, None for regression."""
    if not is_classification():
        return None
    return [int(value) for value in (extra or {}).get(CLASSES_KEY, [])] or None


def classes_at(model_uri: str) -> list[int] | None:
    """The classes of a registered version, read from its metadata without loading it."""
    if not is_classification():
        return None
    from mlflow.models import get_model_info

    extra = get_model_info(model_uri).metadata or {}
    return [int(value) for value in extra.get(CLASSES_KEY, [])] or None


def classes_of_pipeline(pipeline) -> list[int] | None:
    return [int(c) for c in pipeline.classes_] if is_classification() else None


def answer(scores, classes: list[int] | None) -> dict[str, Any]:
    """Raw model output -> {column: values}: the prediction, and the probabilities by class."""
    scores = np.asarray(scores, dtype="float64")
    if not is_classification():
        return {PREDICTION: scores.reshape(-1)}
    if not classes or scores.ndim != 2 or scores.shape[1] != len(classes):
        raise ValueError("a classifier must answer one probability per class of its metadata")
    names = [str(value) for value in classes]
    return {
        PREDICTION: np.asarray(classes, dtype="int64")[scores.argmax(axis=1)],
        PROBABILITIES: [list(zip(names, row, strict=True)) for row in scores.tolist()],
    }


def records(scores, classes: list[int] | None) -> list:
    """Raw model output -> JSON-ready answers: numbers, or {prediction, probabilities} objects."""
    columns = answer(scores, classes)
    if not is_classification():
        return [float(value) for value in columns[PREDICTION]]
    return [
        {PREDICTION: int(label), PROBABILITIES: dict(pairs)}
        for label, pairs in zip(columns[PREDICTION], columns[PROBABILITIES], strict=True)
    ]


def probability_matrix(values: pd.Series, classes: list[int]) -> np.ndarray:
    """A `probabilities` column read back from a table -> one column per class, in order."""
    names = [str(value) for value in classes]

    def row(value) -> list[float]:
        pairs = dict(value) if value is not None else {}
        return [float(pairs.get(name, np.nan)) for name in names]

    return np.array([row(value) for value in values], dtype="float64").reshape(-1, len(names))


def classes_in(values: pd.Series) -> list[int]:
    """The classes named by a `probabilities` column (its first non-null value)."""
    for value in values:
        if value is not None:
            return sorted(
                int(name) for name, _ in (value.items() if isinstance(value, dict) else value)
            )
    return []
