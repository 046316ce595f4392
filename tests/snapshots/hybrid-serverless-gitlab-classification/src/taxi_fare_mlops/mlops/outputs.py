"""What a model answers, per task: the columns scoring writes and `serve` returns.

Regression: `prediction`, the predicted value. Classification: `prediction`, the most likely
class, and `probabilities`, {class: probability} for every class the model knows (a map column
in the tables, the shape Databricks' quality monitor reads as `prediction_proba_col`).

A classifier is logged as `classifier_model.py`, whose pyfunc answers both columns (a served
endpoint returns them as one object per row), with its classes in the model's metadata, so
every copy of the version (promotion) carries them along.
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


def raw_scores(pipeline, rows: pd.DataFrame) -> np.ndarray:
    """A fitted pipeline's predictions, or a classifier's probabilities by class."""
    return pipeline.predict_proba(rows) if is_classification() else pipeline.predict(rows)


def scores_of(answer, classes: list[int] | None) -> np.ndarray:
    """What a logged model's pyfunc returns -> `raw_scores`' shape: a classifier's answers
    (`classifier_model.py`: class and {class: probability} per row) become its probabilities,
    one column per class in `classes`' order."""
    if isinstance(answer, pd.DataFrame) and PROBABILITIES in answer:
        return probability_matrix(answer[PROBABILITIES], classes or [])
    return np.asarray(answer)


def classes_of(model) -> list[int] | None:
    """The classes of a loaded pyfunc model (from its metadata), None for regression."""
    metadata = getattr(model, "metadata", None)
    return classes_in_metadata(getattr(metadata, "metadata", None))


def classes_in_metadata(extra: dict | None) -> list[int] | None:
    """The classes a model's metadata names (`train.log_model`), None for regression."""
    if not is_classification():
        return None
    return [int(value) for value in (extra or {}).get(CLASSES_KEY, [])] or None


def classes_at(model_uri: str) -> tuple[list[int] | None, bool]:
    """The classes of a registered version (None for regression), read from its metadata
    without loading it, and whether it answers only their probabilities: a classifier logged
    with the scikit-learn flavour's `predict_proba`, as versions were before
    `classifier_model.py`."""
    if not is_classification():
        return None, False
    from mlflow.models import get_model_info

    info = get_model_info(model_uri)
    classes = [int(value) for value in (info.metadata or {}).get(CLASSES_KEY, [])] or None
    return classes, "sklearn" in info.flavors


def classes_of_pipeline(pipeline) -> list[int] | None:
    return [int(c) for c in pipeline.classes_] if is_classification() else None


def answer(scores, classes: list[int] | None) -> dict[str, Any]:
    """A model's output -> {column: values}: the prediction, and the probabilities by class."""
    scores = np.asarray(scores_of(scores, classes), dtype="float64")
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
    """A model's output -> JSON-ready answers: numbers, or {prediction, probabilities} objects."""
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
