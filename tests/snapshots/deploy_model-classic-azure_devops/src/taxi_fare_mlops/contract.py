"""Edit here: the data contract, what the platform needs to know about your data.

Everything under `mlops/` reads its columns, rules, task and gate from this file and names no
column of its own. The taxi-fare model is an example: to point the project at your own table and
label, change the declarations below, the features in `features.py` and the local stand-in in
`sample_data.py` (README.md, "Your own table and label", is the recipe).

- `INPUT_COLUMNS`: every column scoring reads from the input table, each with its rule
  (`mlops/rules.py`): its kind (integer, number, timestamp, string), the allowed range (none
  for a string: only a missing value breaks its rule), and whether a row outside it is dropped
  (and counted) or refuses the whole run.
- `KEY_COLUMNS` identify a row; the project stores their hash as `KEY` in every table it writes
  (a single integer column is used as it is). `TIMESTAMP` is the event time.
- `OUTCOME_COLUMNS` are the input columns known only after the fact (with their rules): scoring
  never reads them, and `features.compute_label` turns them into the `LABEL` the model learns.
  `LABEL_RULE` refuses a labels load that holds an impossible label.
- `TRAINING_RANGES`: rows outside are left out of training (noise to learn from), not refused.
- `PROBLEM_TYPE` and `GATE`: the task, and the metric validation gates on with its direction.
"""

from __future__ import annotations

import pandas as pd

from .mlops.rules import Gate, Rule

PROBLEM_TYPE = "regression"

_TIME = Rule("timestamp", pd.Timestamp("1970-01-01"), pd.Timestamp("2100-01-01"))
_ZIP = Rule("integer", 0, 99_999)
INPUT_COLUMNS = {
    "tpep_pickup_datetime": _TIME,
    "tpep_dropoff_datetime": _TIME,
    "trip_distance": Rule("number", 0.0, 1_000.0),
    "pickup_zip": _ZIP,
    "dropoff_zip": _ZIP,
}
KEY = "trip_id"
# No column of the sample identifies a trip, so the key is a hash of what does.
KEY_COLUMNS = [
    "tpep_pickup_datetime",
    "tpep_dropoff_datetime",
    "trip_distance",
    "pickup_zip",
    "dropoff_zip",
]
TIMESTAMP = "tpep_pickup_datetime"
# Training drops a row whose outcome breaks its rule; scoring does not read these columns.
OUTCOME_COLUMNS = {"fare_amount": Rule("number", 0.0, 1_000.0)}

# The example task: the fare of a trip, in dollars.
LABEL = "fare_amount"
# A fare outside this range is not a taxi fare: a labels load that holds one is refused.
LABEL_RULE = Rule("number", 0.0, 1_000.0, action="refuse")
# Meter glitches (zero distance, negative durations, fares of hundreds of dollars for a block)
# would teach the model noise. The exploration notebook counts them per column.
TRAINING_RANGES = {
    LABEL: (2.5, 250.0),
    "trip_distance": (0.01, 100.0),
    "trip_duration_minutes": (0.5, 300.0),
}
METRICS = ["rmse", "mae", "r2"]
# Hold-out RMSE in dollars.
GATE = Gate(metric="rmse", threshold=10.0, higher_is_better=False)
