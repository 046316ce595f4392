"""Edit here: the local stand-in for the input table.

Off Databricks there is no input table, so `generate_rows` draws a deterministic stand-in with
its columns (`contract.INPUT_COLUMNS` and `contract.OUTCOME_COLUMNS`); `sample-data` and
`lifecycle` write it to the local warehouse. Keep its signature when you retarget the project:
`drift` > 1 must shift the rows away from what training saw (lifecycle uses it to show the
drift check firing). The example draws taxi trips like `samples.nyctaxi.trips` with realistic
fares; for your own table, draw rows like yours, or read a file of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import config, contract
from .mlops.errors import MlopsError

# The input table's columns, in the contract's order.
COLUMNS = [*contract.INPUT_COLUMNS, *contract.OUTCOME_COLUMNS]

# Manhattan-heavy zip codes, most frequent first, like the pickups in the real sample.
_ZIPS = np.array(
    [10001, 10003, 10011, 10016, 10019, 10036, 10022, 10017, 10012, 10014, 10010, 10013]
    + [10002, 10009, 10018, 10023, 10024, 10028, 10021, 10065, 10128, 10025, 10007, 10038]
    + [10004, 10005, 10006, 10029, 10031, 10035, 11201, 11211, 11215, 11101, 11217, 11222]
    + [11238, 11377, 11371, 11430]
)
# Share of trips per hour of day: quiet before dawn, busy in the evening.
_HOURLY_SHARE = np.array(
    [4, 3, 2, 1.5, 1, 1.2, 2.5, 4, 5, 5, 4.5, 4.5, 5, 5, 5.5, 5.5, 5.5, 6, 7, 7, 6.5, 6, 6, 5]
)


def generate_rows(
    n_rows: int = config.SAMPLE_ROWS,
    *,
    seed: int = config.SEED,
    start: str = "2016-01-01",
    days: int = 60,
    drift: float = 1.0,
) -> pd.DataFrame:
    """Taxi trips with the schema of `samples.nyctaxi.trips`, the same for the same arguments.

    Fares follow the 2016 NYC tariff in spirit: a flag drop, a rate per mile, a rate per minute
    stuck in traffic, surcharges at night and in the weekday rush hour, tips of noise, and rounding
    to half dollars. `drift` > 1 makes trips longer: the drift the monitoring must catch.
    """
    if n_rows < 1:
        raise MlopsError(f"the sample needs at least one row, got {n_rows}")
    rng = np.random.default_rng(seed)
    day = rng.integers(0, days, n_rows)
    hour = rng.choice(24, n_rows, p=_HOURLY_SHARE / _HOURLY_SHARE.sum())
    seconds = rng.integers(0, 3600, n_rows)
    pickup = (
        pd.Timestamp(start)
        + pd.to_timedelta(day, unit="D")
        + pd.to_timedelta(hour, unit="h")
        + pd.to_timedelta(seconds, unit="s")
    )
    weekday = np.asarray(pickup.dayofweek) < 5
    rush = weekday & (((hour >= 7) & (hour < 10)) | ((hour >= 16) & (hour < 20)))
    night = (hour >= 20) | (hour < 6)

    distance = np.clip(rng.lognormal(0.55, 0.75, n_rows) * drift, 0.1, 80.0)
    speed_mph = np.where(rush, 8.0, np.where(night, 17.0, 11.5)) * rng.lognormal(0, 0.2, n_rows)
    minutes = distance / speed_mph * 60 + rng.gamma(2.0, 0.8, n_rows)

    fare = (
        2.5
        + 2.0 * distance
        + 0.3 * minutes
        + np.where(night, 0.5, 0.0)
        + np.where(rush, 1.0, 0.0)
        + rng.normal(0.0, 1.0, n_rows)
    )
    fare = np.round(np.maximum(fare, 2.5) * 2) / 2

    zip_share = 1.0 / np.arange(1, len(_ZIPS) + 1)
    zip_share /= zip_share.sum()
    return pd.DataFrame(
        {
            "tpep_pickup_datetime": pickup.as_unit("us"),
            "tpep_dropoff_datetime": (pickup + pd.to_timedelta(minutes * 60, unit="s"))
            .floor("s")
            .as_unit("us"),
            "trip_distance": np.round(distance, 2),
            "fare_amount": fare,
            "pickup_zip": rng.choice(_ZIPS, n_rows, p=zip_share).astype("int32"),
            "dropoff_zip": rng.choice(_ZIPS, n_rows, p=zip_share).astype("int32"),
        }
    )[COLUMNS]


# ---------------------------------------------------------------------------------------------


def write_sample_data(
    table: str = config.INPUT_TABLE,
    *,
    n_rows: int = config.SAMPLE_ROWS,
    seed: int = config.SEED,
    start: str = "2016-01-01",
    days: int = 60,
    drift: float = 1.0,
) -> int:
    """Generate rows and overwrite `table` with them; returns the number of rows."""
    from .mlops import tables

    rows = generate_rows(n_rows, seed=seed, start=start, days=days, drift=drift)
    tables.for_runtime().write(rows, table, mode="overwrite")
    return len(rows)
