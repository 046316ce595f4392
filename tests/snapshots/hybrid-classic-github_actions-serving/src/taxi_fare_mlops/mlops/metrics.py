"""The task's metrics: what every run logs, and what the gate and the monitor compare.

`contract.METRICS` names them and `contract.GATE` says which one gates, with its direction.
Regression metrics read predictions; classification metrics read the class probabilities
(columns in the order of the model's classes) and take the predicted class as the most likely.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn import metrics as sk

from .. import contract
from .errors import MlopsError

# Each metric with the direction in which it improves.
HIGHER_IS_BETTER = {
    "rmse": False,
    "mae": False,
    "r2": True,
    "roc_auc": True,
    "log_loss": False,
    "accuracy": True,
    "f1": True,
}
REGRESSION_METRICS = ("rmse", "mae", "r2")
CLASSIFICATION_METRICS = ("roc_auc", "log_loss", "accuracy", "f1")


def is_classification() -> bool:
    return contract.PROBLEM_TYPE == "classification"


def check_contract() -> None:
    """The contract's task, metrics and gate fit together, or one line that says what to fix."""
    allowed = CLASSIFICATION_METRICS if is_classification() else REGRESSION_METRICS
    unknown = [name for name in [*contract.METRICS, contract.GATE.metric] if name not in allowed]
    if unknown:
        raise MlopsError(
            f"contract.py: metric {unknown[0]!r} is not a {contract.PROBLEM_TYPE} metric; use "
            f"one of {', '.join(allowed)}"
        )
    if contract.GATE.higher_is_better != HIGHER_IS_BETTER[contract.GATE.metric]:
        better = "higher" if HIGHER_IS_BETTER[contract.GATE.metric] else "lower"
        raise MlopsError(
            f"contract.py: GATE says the wrong direction for {contract.GATE.metric}: "
            f"{better} is better"
        )


def compute(y_true, scores: np.ndarray, classes=None) -> dict[str, float]:
    """`contract.METRICS` over rows with a label; `scores` are predictions (regression) or
    class probabilities (classification, one column per class in `classes`' order)."""
    names = list(dict.fromkeys([*contract.METRICS, contract.GATE.metric]))
    y_true = pd.Series(y_true).reset_index(drop=True)
    scores = np.asarray(scores, dtype="float64")
    labelled = y_true.notna().to_numpy()
    if not labelled.any():
        return {name: math.nan for name in names}
    y_true, scores = y_true[labelled].to_numpy(), scores[labelled]
    if is_classification():
        return _classification(y_true.astype("int64"), scores, list(classes), names)
    return _regression(y_true.astype("float64"), scores, names)


def _regression(y_true, y_pred, names) -> dict[str, float]:
    if np.isnan(y_pred).any():
        raise ValueError("a prediction is missing for a row that has a label")
    values = {
        "rmse": lambda: sk.root_mean_squared_error(y_true, y_pred),
        "mae": lambda: sk.mean_absolute_error(y_true, y_pred),
        "r2": lambda: sk.r2_score(y_true, y_pred) if len(y_true) > 1 else math.nan,
    }
    return {name: float(values[name]()) for name in names}


def _classification(y_true, probabilities, classes, names) -> dict[str, float]:
    if np.isnan(probabilities).any():
        raise ValueError("class probabilities are missing for a row that has a label")
    predicted = np.asarray(classes)[probabilities.argmax(axis=1)]
    binary = len(classes) == 2
    present = np.unique(y_true)

    def roc_auc() -> float:
        # AUC needs both outcomes among the labels; with one it is undefined, not zero.
        if len(present) < 2:
            return math.nan
        if binary:
            return sk.roc_auc_score(y_true, probabilities[:, 1])
        return (
            sk.roc_auc_score(y_true, probabilities, multi_class="ovr", labels=classes)
            if set(present) == set(classes)
            else math.nan
        )

    values = {
        "roc_auc": roc_auc,
        "log_loss": lambda: sk.log_loss(y_true, probabilities, labels=classes),
        "accuracy": lambda: sk.accuracy_score(y_true, predicted),
        "f1": lambda: sk.f1_score(
            y_true,
            predicted,
            average="binary" if binary else "macro",
            labels=classes,
            pos_label=classes[-1] if binary else 1,
            zero_division=0.0,
        ),
    }
    return {name: float(values[name]()) for name in names}


def describe(values: dict[str, float]) -> str:
    """ "rmse 3.142, mae 2.010": the gate's metric first, three decimals, n/a for NaN."""
    names = [contract.GATE.metric, *[n for n in values if n != contract.GATE.metric]]
    return ", ".join(
        f"{name} {values[name]:.3f}" if not math.isnan(values[name]) else f"{name} n/a"
        for name in names
        if name in values
    )
