"""Input rows -> the rows every stage works on: key, event time, features, label.

The columns come from `contract.py` and `features.py`; this module only assembles them, in the
declared order and types, and splits them the same way in every stage and catalog.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import contract, features
from . import inputs
from .errors import MlopsError

KEY, TIMESTAMP, LABEL = contract.KEY, contract.TIMESTAMP, contract.LABEL
_PANDAS_TYPES = {"long": "int64", "double": "float64"}
# Columns the contract's rules see as the input's: what scoring reads, and with the outcomes
# what training reads.
SCORING_COLUMNS = list(contract.INPUT_COLUMNS)
TRAINING_COLUMNS = [*contract.INPUT_COLUMNS, *contract.OUTCOME_COLUMNS]


def add_features(raw: pd.DataFrame) -> pd.DataFrame:
    """Input rows -> key, time, model features and the label (missing when not known yet).

    Integers are int64 everywhere so the model signature is the same whichever engine read the
    table (Spark hands 32-bit ints to pandas, deltalake may not).
    """
    computed = features.compute_features(raw)
    missing = [name for name in features.MODEL_FEATURES if name not in computed]
    undeclared = [name for name in computed if name not in features.MODEL_FEATURES]
    if missing or undeclared:
        raise MlopsError(
            f"features declared but not computed: {missing}; computed but not declared in "
            f"NUMERIC_FEATURES or CATEGORICAL_FEATURES: {undeclared} (features.py)"
        )
    columns = {KEY: row_ids(raw), TIMESTAMP: pd.to_datetime(raw[TIMESTAMP])}
    for name in features.MODEL_FEATURES:
        columns[name] = pd.Series(computed[name], index=raw.index).astype(
            _PANDAS_TYPES[features.COLUMN_TYPES[name]]
        )
    columns[LABEL] = labels_of(raw)
    return pd.DataFrame(columns, index=raw.index)


def labels_of(raw: pd.DataFrame) -> pd.Series:
    """The label of each input row (`features.compute_label`), missing where an outcome is."""
    if not all(column in raw.columns for column in contract.OUTCOME_COLUMNS):
        return empty_labels(raw.index)
    values = pd.Series(features.compute_label(raw), index=raw.index)
    return as_labels(values, source="features.compute_label")


def empty_labels(index: pd.Index) -> pd.Series:
    missing = np.nan if features.LABEL_TYPE == "double" else pd.NA
    return pd.Series(missing, index=index, dtype=label_dtype())


def label_dtype() -> str:
    return "float64" if features.LABEL_TYPE == "double" else "Int64"


def as_labels(values: pd.Series, *, source: str) -> pd.Series:
    """Label values in the label's type; a label of the wrong kind for the task is one line."""
    numbers = pd.to_numeric(values, errors="coerce")
    unreadable = numbers.isna() & values.notna()
    if unreadable.any():
        example = values[unreadable].iloc[0]
        raise MlopsError(
            f"{source}: label {LABEL} holds {example!r}, not a number; a "
            f"{contract.PROBLEM_TYPE} label must be a number (contract.py)"
        )
    numbers = numbers.astype("float64")
    if features.LABEL_TYPE == "double":
        return numbers
    finite = numbers.dropna()
    fractional = finite[finite != np.round(finite)]
    if len(fractional):
        raise MlopsError(
            f"{source}: label {LABEL} holds {fractional.iloc[0]:g}: a classification label is "
            "a whole-number class (0, 1, ...); for a continuous label set PROBLEM_TYPE to "
            "'regression' (contract.py)"
        )
    return numbers.astype("Int64")


def _epoch_seconds(timestamps: pd.Series) -> pd.Series:
    """Whole seconds since 1970, independent of the column's time unit or time zone."""
    timestamps = pd.to_datetime(timestamps)
    if timestamps.dt.tz is not None:
        timestamps = timestamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return timestamps.astype("datetime64[s]").astype("int64")


def _key_part(values: pd.Series, kind: str) -> pd.Series:
    """One key column in a form that hashes the same on every runtime."""
    if kind == "timestamp":
        return _epoch_seconds(values)
    if kind == "integer":
        return values.astype("int64")
    if kind == "number":
        # Micro-units: the same value read by Spark or deltalake hashes alike.
        return np.round(values.astype("float64") * 1_000_000).astype("int64")
    return values.astype(str)


def row_ids(raw: pd.DataFrame) -> pd.Series:
    """A stable id per input row (`contract.KEY`), the same on every run and runtime.

    A single integer key column is the id itself; otherwise the id is a hash of the key columns.
    """
    rules = {**contract.INPUT_COLUMNS, **contract.OUTCOME_COLUMNS}
    if contract.KEY_COLUMNS == [KEY]:
        return raw[KEY].astype("int64").rename(KEY)
    keys = pd.DataFrame(
        {column: _key_part(raw[column], rules[column].kind) for column in contract.KEY_COLUMNS}
    )
    hashes = pd.util.hash_pandas_object(keys, index=False).to_numpy()
    return pd.Series(hashes.view("int64"), index=raw.index, name=KEY)


def training_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows fit to learn from: a label, every feature within its rule (`inputs.feature_rules`,
    as batch scoring and `serve` take them) and every column of `contract.TRAINING_RANGES` in
    range."""
    frame, _ = inputs.clean_features(frame, table="the training rows")
    keep = frame[LABEL].notna()
    for column, (low, high) in contract.TRAINING_RANGES.items():
        keep &= frame[column].between(low, high)
    kept = frame[keep]
    # Labels without gaps need no nullable type: estimators take plain int64 classes.
    return kept.astype({LABEL: _PANDAS_TYPES[features.LABEL_TYPE]})


def is_holdout(frame: pd.DataFrame, share_percent: int = 20) -> pd.Series:
    """Hold out the same rows every time (by key), so validation in any catalog and at any
    later date measures models on rows none of them trained on."""
    return (frame[KEY] % 100).abs() < share_percent


def split_holdout(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    holdout = is_holdout(frame)
    return frame[~holdout], frame[holdout]
