"""Input data and table IO for both runtimes.

Tables always have three-level names, `<catalog>.<schema>.<table>`. On Databricks they are Unity
Catalog tables read and written through Spark; locally they are Delta tables (the `deltalake`
package, no JVM) under `.local/warehouse/<catalog>/<schema>/<table>`.

Off Databricks there is no `samples.nyctaxi.trips`, so `generate_trips` writes a deterministic
stand-in with the same columns and realistic fares.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from . import config, runtime
from .runtime import MlopsError

log = logging.getLogger(__name__)

TRIP_COLUMNS = [
    "tpep_pickup_datetime",
    "tpep_dropoff_datetime",
    "trip_distance",
    "fare_amount",
    "pickup_zip",
    "dropoff_zip",
]

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


def generate_trips(
    n_rows: int = config.SAMPLE_ROWS,
    seed: int = config.SEED,
    start: str = "2016-01-01",
    days: int = 60,
    distance_scale: float = 1.0,
) -> pd.DataFrame:
    """Taxi trips with the schema of `samples.nyctaxi.trips`, the same for the same arguments.

    Fares follow the 2016 NYC tariff in spirit: a flag drop, a rate per mile, a rate per minute
    stuck in traffic, surcharges at night and in the weekday rush hour, tips of noise, and rounding
    to half dollars. `distance_scale` > 1 makes trips longer: the drift the monitoring must catch.
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

    distance = np.clip(rng.lognormal(0.55, 0.75, n_rows) * distance_scale, 0.1, 80.0)
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
    )


# ---------------------------------------------------------------------------------------------
# Table IO


def table_path(name: str) -> Path:
    """Folder of a local Delta table."""
    catalog, schema, table = runtime.split_name(name)
    return runtime.local_dir() / "warehouse" / catalog / schema / table


def quoted(name: str) -> str:
    return ".".join(f"`{part}`" for part in runtime.split_name(name))


def table_exists(name: str) -> bool:
    if runtime.use_spark():
        return runtime.get_spark().catalog.tableExists(quoted(name))
    from deltalake import DeltaTable

    return DeltaTable.is_deltatable(str(table_path(name)))


def require_table(name: str) -> None:
    if table_exists(name):
        return
    hint = ""
    if name == config.INPUT_TABLE and not runtime.use_spark():
        hint = f": run `python -m {config.PACKAGE} sample-data` to create it locally"
    raise MlopsError(f"table {name} does not exist{hint}")


def read_table(
    name: str,
    columns: list[str] | None = None,
    where: dict[str, object] | None = None,
    sample_fraction: float = 1.0,
    seed: int = config.SEED,
    max_rows: int | None = None,
) -> pd.DataFrame:
    """The table (or its `columns`, rows matching `where` column = value) as pandas.

    `sample_fraction` < 1 reads a random, repeatable share of the rows; on Spark the sampling
    happens on the cluster, before anything reaches the driver.
    """
    if not 0 < sample_fraction <= 1:
        raise MlopsError(f"sample_fraction must be in (0, 1], got {sample_fraction}")
    require_table(name)
    if runtime.use_spark():
        from pyspark.sql import functions as F

        frame = runtime.get_spark().table(quoted(name))
        for column, value in (where or {}).items():
            frame = frame.where(F.col(column) == F.lit(value))
        if columns:
            frame = frame.select(*columns)
        if sample_fraction < 1:
            frame = frame.sample(fraction=sample_fraction, seed=seed)
        if max_rows:
            frame = frame.limit(max_rows)
        return frame.toPandas()

    from deltalake import DeltaTable

    filters = [(column, "=", value) for column, value in (where or {}).items()] or None
    frame = DeltaTable(str(table_path(name))).to_pandas(columns=columns, filters=filters)
    if sample_fraction < 1:
        frame = frame.sample(frac=sample_fraction, random_state=seed).sort_index()
    if max_rows and len(frame) > max_rows:
        frame = frame.sample(n=max_rows, random_state=seed).sort_index()
    return frame.reset_index(drop=True)


def table_columns(name: str) -> list[str]:
    require_table(name)
    if runtime.use_spark():
        return runtime.get_spark().table(quoted(name)).columns
    from deltalake import DeltaTable

    return [f.name for f in DeltaTable(str(table_path(name))).schema().fields]


def count_rows(name: str) -> int:
    require_table(name)
    if runtime.use_spark():
        return runtime.get_spark().table(quoted(name)).count()
    from deltalake import DeltaTable

    return DeltaTable(str(table_path(name))).count()


def iter_batches(
    name: str, batch_size: int, columns: list[str] | None = None
) -> Iterator[pd.DataFrame]:
    """A local table in pandas chunks of at most `batch_size` rows, so memory stays bounded.

    The files are read through pyarrow's own file system, not deltalake's: the chunks may be
    consumed inside a deltalake write (scoring streams into the predictions table), and
    deltalake cannot re-enter its IO runtime from there.
    """
    from deltalake import DeltaTable
    from pyarrow import fs

    require_table(name)
    path = table_path(name)
    dataset = DeltaTable(str(path)).to_pyarrow_dataset(
        filesystem=fs.SubTreeFileSystem(str(path), fs.LocalFileSystem())
    )
    batches = dataset.to_batches(columns=columns, batch_size=batch_size)
    return (batch.to_pandas() for batch in batches if batch.num_rows)


def to_arrow(frame: pd.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    """pandas -> Arrow with microsecond timestamps, the resolution Delta stores."""
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    fields = [
        pa.field(f.name, pa.timestamp("us", f.type.tz), f.nullable)
        if pa.types.is_timestamp(f.type)
        else pa.field(f.name, pa.string(), f.nullable)
        if pa.types.is_large_string(f.type)
        else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))


def _replace_predicate(replace: dict[str, object]) -> str:
    clauses = []
    for column, value in replace.items():
        text = str(value)
        if "'" in text:
            raise MlopsError(f"{column} value {text!r} must not contain quotes")
        clauses.append(f"{column} = '{text}'")
    return " AND ".join(clauses)


def write_table(
    data: pd.DataFrame | pa.Table | pa.RecordBatchReader,
    name: str,
    mode: str = "overwrite",
    replace: dict[str, object] | None = None,
) -> None:
    """Write `data` to a table: `overwrite` it, `append` to it, or with `replace` = {column:
    value} swap exactly the rows of that slice (e.g. one batch) in a single transaction, so a
    rerun leaves one copy and a failed run leaves the old one."""
    if mode not in ("overwrite", "append"):
        raise ValueError(f"mode must be overwrite or append, got {mode!r}")
    predicate = _replace_predicate(replace) if replace else None
    if runtime.use_spark():
        _write_spark(data, name, mode, predicate)
        return

    from deltalake import write_deltalake

    path = table_path(name)
    path.mkdir(parents=True, exist_ok=True)
    if isinstance(data, pd.DataFrame):
        data = to_arrow(data)
    if predicate and not table_exists(name):
        # Nothing to replace yet: the first write creates the table.
        write_deltalake(str(path), data, mode="append")
    elif predicate:
        write_deltalake(str(path), data, mode="overwrite", predicate=predicate)
    else:
        schema_mode = "overwrite" if mode == "overwrite" else None
        write_deltalake(str(path), data, mode=mode, schema_mode=schema_mode)
    log.debug("wrote %s", name)


def _write_spark(data, name: str, mode: str, predicate: str | None) -> None:
    # `data` may already be a Spark DataFrame (scoring on the cluster never leaves Spark).
    if isinstance(data, pa.RecordBatchReader):
        data = data.read_all()
    if isinstance(data, pa.Table):
        data = data.to_pandas()
    if isinstance(data, pd.DataFrame):
        data = runtime.get_spark().createDataFrame(data)
    writer = data.write
    if predicate and table_exists(name):
        require_delta(name, "replacing a slice of")
        writer = writer.mode("overwrite").option("replaceWhere", predicate)
    elif predicate:
        writer = writer.mode("append")
    else:
        writer = writer.mode(mode)
        if mode == "overwrite":
            writer = writer.option("overwriteSchema", "true")
    writer.saveAsTable(quoted(name))


def require_delta(name: str, action: str) -> None:
    """On Spark, refuse what only Delta can do (replace a slice, MERGE) on another format."""
    if _spark_provider(name) != "delta":
        raise MlopsError(f"{action} {name} needs a Delta table")


def _spark_provider(name: str) -> str:
    rows = runtime.get_spark().sql(f"DESCRIBE TABLE EXTENDED {quoted(name)}").collect()
    for row in rows:
        if row[0] and row[0].strip().lower() == "provider":
            return row[1].strip().lower()
    return "unknown"


def write_sample_data(
    table: str = config.INPUT_TABLE,
    n_rows: int = config.SAMPLE_ROWS,
    seed: int = config.SEED,
    start: str = "2016-01-01",
    days: int = 60,
    distance_scale: float = 1.0,
) -> int:
    """Generate trips and overwrite `table` with them; returns the number of rows."""
    trips = generate_trips(n_rows, seed, start, days, distance_scale)
    write_table(trips, table, mode="overwrite")
    return len(trips)
