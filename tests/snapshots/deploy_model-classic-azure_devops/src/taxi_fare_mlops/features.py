"""Edit here: the model's features, declared once with their types, and how they are computed.

To add a feature, compute it in `compute_features` and name it, with its type, in
`NUMERIC_FEATURES` or `CATEGORICAL_FEATURES`. Nothing else needs to change: training, the
model signature, batch scoring (locally and in Spark), the predictions table (a new column is
added to a table that already exists), the drift checks and the monitoring plots all take their
columns from the two dictionaries below. What the input table holds, its key, time and label
are declared in `contract.py`.

Types are `long` (whole numbers; also for flags) or `double`. Everything here is plain pandas:
on Databricks the scoring job runs it inside Spark with `mapInPandas`.
"""

from __future__ import annotations

import pandas as pd

from . import contract
from .mlops.rules import Rule

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


# The values a computed feature can take, for rows that do not come through `compute_features`
# (a request to `serve`): one set of rules at every door. A feature not named here that is an
# input column (same name) takes its rule from `contract.INPUT_COLUMNS`; one in neither only has
# to be a finite number (a whole one for `long`). Batch scoring drops and counts a row that breaks
# one, training leaves it out, `serve` refuses it naming the column.
FEATURE_RULES = {
    "trip_duration_minutes": Rule("number"),
    "pickup_hour": Rule("integer", 0, 23),
    "pickup_weekday": Rule("integer", 0, 6),
}


def compute_features(rows: pd.DataFrame) -> dict[str, pd.Series]:
    """Input rows (the columns of `contract.INPUT_COLUMNS`) -> {feature: values}."""
    pickup = pd.to_datetime(rows["tpep_pickup_datetime"])
    dropoff = pd.to_datetime(rows["tpep_dropoff_datetime"])
    return {
        "trip_distance": rows["trip_distance"],
        "trip_duration_minutes": (dropoff - pickup).dt.total_seconds() / 60.0,
        "pickup_hour": pickup.dt.hour,
        "pickup_weekday": pickup.dt.dayofweek,
        "pickup_zip": rows["pickup_zip"],
        "dropoff_zip": rows["dropoff_zip"],
    }


def compute_label(rows: pd.DataFrame) -> pd.Series:
    """Input rows with their outcome columns (`contract.OUTCOME_COLUMNS`) -> the label.

    A missing outcome stays missing: that row's label has not arrived yet.
    """
    return rows[contract.LABEL]


# Derived from the declarations above; do not list columns by hand anywhere else.
MODEL_FEATURES = [*NUMERIC_FEATURES, *CATEGORICAL_FEATURES]
LABEL_TYPE = "double" if contract.PROBLEM_TYPE == "regression" else "long"
# Every column the stages work on (`mlops.dataset.add_features`), with its type: the key, the
# time, the features, the label.
COLUMN_TYPES = {
    contract.KEY: "long",
    contract.TIMESTAMP: "timestamp",
    **NUMERIC_FEATURES,
    **CATEGORICAL_FEATURES,
    contract.LABEL: LABEL_TYPE,
}
OUTPUT_COLUMNS = list(COLUMN_TYPES)
