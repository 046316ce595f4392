"""Edit here: the model's features, declared once with their types, and how they are computed.

To add a feature, compute it in `add_features` and name it, with its type, in
`NUMERIC_FEATURES` or `CATEGORICAL_FEATURES`. Nothing else needs to change: training, the
model signature, batch scoring (locally and in Spark), the predictions table, the drift checks
and the monitoring plots all take their columns from the two dictionaries below.

Types are `long` (whole numbers; also for flags) or `double`. Everything here is plain pandas:
on Databricks the scoring job runs `add_features` inside Spark with `mapInPandas`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LABEL = "fare_amount"
ID = "trip_id"
TIMESTAMP = "tpep_pickup_datetime"
# The columns of the input table `add_features` reads (the label only when it is known); the
# local sample data (`sample_data.py`) has exactly these.
INPUT_COLUMNS = [
    "tpep_pickup_datetime",
    "tpep_dropoff_datetime",
    "trip_distance",
    "fare_amount",
    "pickup_zip",
    "dropoff_zip",
]

# The model's inputs: numbers, and codes the model treats as categories (drift is measured
# with PSI and KS for the first, with the Jensen-Shannon distance for the second).
NUMERIC_FEATURES = {
    "trip_distance": "double",
    "trip_duration_minutes": "double",
    "pickup_hour": "long",
    "pickup_weekday": "long",
}
CATEGORICAL_FEATURES = {
    "pickup_zip": "long",
    "dropoff_zip": "long",
}

# Derived from the declarations above; do not list columns by hand anywhere else.
MODEL_FEATURES = [*NUMERIC_FEATURES, *CATEGORICAL_FEATURES]
# Every column `add_features` returns, with its type: the id, the time, the features, the label.
COLUMN_TYPES = {
    ID: "long",
    TIMESTAMP: "timestamp",
    **NUMERIC_FEATURES,
    **CATEGORICAL_FEATURES,
    LABEL: "double",
}
OUTPUT_COLUMNS = list(COLUMN_TYPES)
_PANDAS_TYPES = {"long": "int64", "double": "float64"}


def add_features(trips: pd.DataFrame) -> pd.DataFrame:
    """Raw trips -> id, pickup time, model features and the label (NaN when not known yet)."""
    pickup = pd.to_datetime(trips["tpep_pickup_datetime"])
    dropoff = pd.to_datetime(trips["tpep_dropoff_datetime"])
    computed = {
        "trip_distance": trips["trip_distance"],
        "trip_duration_minutes": (dropoff - pickup).dt.total_seconds() / 60.0,
        "pickup_hour": pickup.dt.hour,
        "pickup_weekday": pickup.dt.dayofweek,
        "pickup_zip": trips["pickup_zip"],
        "dropoff_zip": trips["dropoff_zip"],
    }
    return _declared_columns(trips, pickup, computed)


def _declared_columns(trips: pd.DataFrame, pickup: pd.Series, computed: dict) -> pd.DataFrame:
    """The computed features in the declared order and types, between the id, time and label.

    Integers are int64 everywhere so the model signature is the same whichever engine read the
    table (Spark hands 32-bit ints to pandas, deltalake may not).
    """
    missing = [name for name in MODEL_FEATURES if name not in computed]
    undeclared = [name for name in computed if name not in MODEL_FEATURES]
    if missing or undeclared:
        raise ValueError(
            f"features declared but not computed: {missing}; computed but not declared in "
            f"NUMERIC_FEATURES or CATEGORICAL_FEATURES: {undeclared}"
        )
    if LABEL in trips:
        label = trips[LABEL].astype("float64")
    else:
        label = pd.Series(np.nan, index=trips.index, dtype="float64")
    columns = {ID: trip_ids(trips), TIMESTAMP: pickup}
    for name in MODEL_FEATURES:
        columns[name] = pd.Series(computed[name], index=trips.index).astype(
            _PANDAS_TYPES[COLUMN_TYPES[name]]
        )
    columns[LABEL] = label
    return pd.DataFrame(columns, index=trips.index)


def _epoch_seconds(timestamps: pd.Series) -> pd.Series:
    """Whole seconds since 1970, independent of the column's time unit or time zone."""
    timestamps = pd.to_datetime(timestamps)
    if timestamps.dt.tz is not None:
        timestamps = timestamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return timestamps.astype("datetime64[s]").astype("int64")


def trip_ids(trips: pd.DataFrame) -> pd.Series:
    """A stable id per trip, the same on every run and runtime: a hash of what identifies it."""
    keys = pd.DataFrame(
        {
            "pickup": _epoch_seconds(trips["tpep_pickup_datetime"]),
            "dropoff": _epoch_seconds(trips["tpep_dropoff_datetime"]),
            "distance": np.round(trips["trip_distance"].astype("float64") * 100).astype("int64"),
            "pickup_zip": trips["pickup_zip"].astype("int64"),
            "dropoff_zip": trips["dropoff_zip"].astype("int64"),
        }
    )
    hashes = pd.util.hash_pandas_object(keys, index=False).to_numpy()
    return pd.Series(hashes.view("int64"), index=trips.index, name=ID)


# What a plausible trip looks like, per column (inclusive bounds). Rows outside are meter
# glitches (zero distance, negative durations, fares of hundreds of dollars for a block): they
# would teach the model noise. The exploration notebook counts them per column.
VALID_RANGES = {
    LABEL: (2.5, 250.0),
    "trip_distance": (0.01, 100.0),
    "trip_duration_minutes": (0.5, 300.0),
}


def training_rows(features: pd.DataFrame) -> pd.DataFrame:
    """Rows fit to learn from: every column of `VALID_RANGES` within its range."""
    keep = pd.Series(True, index=features.index)
    for column, (low, high) in VALID_RANGES.items():
        keep &= features[column].between(low, high)
    return features[keep]


def is_holdout(features: pd.DataFrame, share_percent: int = 20) -> pd.Series:
    """Hold out the same trips every time (by id), so validation in any catalog and at any
    later date measures models on rows none of them trained on."""
    return (features[ID] % 100).abs() < share_percent


def split_holdout(features: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    holdout = is_holdout(features)
    return features[~holdout], features[holdout]
