"""Feature engineering shared by training, validation, scoring and monitoring.

Training and scoring both call `add_features`, so the model never sees a column computed two
different ways. Everything is plain pandas: on Databricks the scoring job runs it inside Spark
with `mapInPandas`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LABEL = "fare_amount"
ID = "trip_id"
TIMESTAMP = "tpep_pickup_datetime"
NUMERIC_FEATURES = ["trip_distance", "trip_duration_minutes", "pickup_hour", "pickup_weekday"]
CATEGORICAL_FEATURES = ["pickup_zip", "dropoff_zip"]
MODEL_FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES

# Spark types of the columns `add_features` returns (the scoring job declares them up front).
SPARK_SCHEMA = (
    f"{ID} long, {TIMESTAMP} timestamp, trip_distance double, trip_duration_minutes double, "
    f"pickup_hour long, pickup_weekday long, pickup_zip long, dropoff_zip long, {LABEL} double"
)
OUTPUT_COLUMNS = [ID, TIMESTAMP, *MODEL_FEATURES, LABEL]

# Columns that identify a trip; their hash is a stable id, the same on every run and runtime.
_ID_SOURCE = ["tpep_pickup_datetime", "tpep_dropoff_datetime", "trip_distance", "pickup_zip"]
_ID_SOURCE += ["dropoff_zip"]


def _epoch_seconds(timestamps: pd.Series) -> pd.Series:
    """Whole seconds since 1970, independent of the column's time unit or time zone."""
    timestamps = pd.to_datetime(timestamps)
    if timestamps.dt.tz is not None:
        timestamps = timestamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return timestamps.astype("datetime64[s]").astype("int64")


def trip_ids(trips: pd.DataFrame) -> pd.Series:
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


def add_features(trips: pd.DataFrame) -> pd.DataFrame:
    """Raw trips -> id, pickup time, model features and the label (NaN when not known yet).

    Integers are int64 everywhere so the model signature is the same whichever engine read the
    table (Spark hands 32-bit ints to pandas, deltalake may not).
    """
    pickup = pd.to_datetime(trips["tpep_pickup_datetime"])
    dropoff = pd.to_datetime(trips["tpep_dropoff_datetime"])
    if LABEL in trips:
        label = trips[LABEL].astype("float64")
    else:
        label = pd.Series(np.nan, index=trips.index, dtype="float64")
    features = pd.DataFrame(
        {
            ID: trip_ids(trips),
            TIMESTAMP: pickup,
            "trip_distance": trips["trip_distance"].astype("float64"),
            "trip_duration_minutes": (dropoff - pickup).dt.total_seconds() / 60.0,
            "pickup_hour": pickup.dt.hour.astype("int64"),
            "pickup_weekday": pickup.dt.dayofweek.astype("int64"),
            "pickup_zip": trips["pickup_zip"].astype("int64"),
            "dropoff_zip": trips["dropoff_zip"].astype("int64"),
            LABEL: label,
        },
        index=trips.index,
    )
    return features


def training_rows(features: pd.DataFrame) -> pd.DataFrame:
    """Rows fit to learn from: meter glitches (zero distance, negative durations, fares of
    hundreds of dollars for a block) would teach the model noise."""
    keep = (
        features[LABEL].between(2.5, 250)
        & features["trip_distance"].between(0.01, 100)
        & features["trip_duration_minutes"].between(0.5, 300)
    )
    return features[keep]


def is_holdout(features: pd.DataFrame, share_percent: int = 20) -> pd.Series:
    """Hold out the same trips every time (by id), so validation in any catalog and at any
    later date measures models on rows none of them trained on."""
    return (features[ID] % 100).abs() < share_percent


def split_holdout(features: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    holdout = is_holdout(features)
    return features[~holdout], features[holdout]
