"""Table IO: one interface, two implementations, chosen in one place (`for_runtime`).

Tables always have three-level names, `<catalog>.<schema>.<table>`.

- `LocalTables`: Delta tables (the `deltalake` package, no JVM) under
  `.local/warehouse/<catalog>/<schema>/<table>`, the default off Databricks.
- `SparkTables`: Unity Catalog tables through Spark, on Databricks (and in the Spark tests).

The stages never ask which one they hold: everything that differs between the runtimes, the
SQL included, lives here. Column types are plain names (`long`, `double`, `string`,
`timestamp`, `timestamp_utc`, `map_string_double`) so a schema is declared once and turned
into Arrow or Spark here.

Tables follow the code's columns (`schema_change`): a write that brings a column the table has
not got adds it (rows written before read it back as null), a column the table has and the
write leaves out stays (null in the new rows), so adding or removing a feature works on tables
that exist. What cannot follow in place is refused before anything is written, in one line: a
column whose type changed (its old rows would be cast or lost), or a missing key column (a
renamed key, or another table). `schema_check.require_writable` asks the same question of a
catalog's tables before an alias moves.
"""

from __future__ import annotations

import itertools
import logging
import math
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import config
from . import runtime
from .errors import BrokenStateError, MlopsError, retry_conflicts
from .location import split_name

log = logging.getLogger(__name__)

ARROW_TYPES = {
    "long": pa.int64(),
    "double": pa.float64(),
    "string": pa.string(),
    "timestamp": pa.timestamp("us"),
    "timestamp_utc": pa.timestamp("us", tz="UTC"),
    # A classifier's probabilities by class (predictions.py).
    "map_string_double": pa.map_(pa.string(), pa.float64()),
}
_SPARK_TYPES = {"timestamp_utc": "timestamp", "map_string_double": "map<string,double>"}
# The names Spark's `simpleString` gives the declared types (both timestamps are `timestamp`).
_SPARK_SIMPLE_TYPES = {
    "long": "bigint",
    "double": "double",
    "string": "string",
    "timestamp": "timestamp",
    "timestamp_utc": "timestamp",
    "map_string_double": "map<string,double>",
}


def arrow_schema(columns: Mapping[str, str]) -> pa.Schema:
    """{column: type name} -> Arrow schema, every column nullable."""
    return pa.schema([pa.field(name, ARROW_TYPES[kind]) for name, kind in columns.items()])


def spark_ddl(columns: Mapping[str, str]) -> str:
    """{column: type name} -> a Spark DDL schema string, e.g. `trip_id long, fare double`."""
    return ", ".join(f"{name} {_SPARK_TYPES.get(kind, kind)}" for name, kind in columns.items())


def declared_columns(schema: pa.Schema) -> dict[str, str]:
    """An Arrow schema -> {column: type name}, the inverse of `arrow_schema`."""
    names = {arrow_type: name for name, arrow_type in ARROW_TYPES.items()}
    return {field.name: names[field.type] for field in schema}


# Engine type names (as `Tables.column_types` reports them) of the same type.
_SAME_TYPE = {"large_string": "string", "large_utf8": "string", "utf8": "string"}
# The type of a column of nothing but nulls (Arrow, Spark): it fits any stored type.
_NULL_TYPES = ("null", "void")


class SchemaConflict(MlopsError):
    """A table cannot take what a stage writes without losing or misreading rows it holds."""


@dataclass(frozen=True)
class SchemaChange:
    """How a write changes a table that exists: the columns it adds (rows written before read
    them back as null) and the stored columns it leaves out (kept, null in the new rows)."""

    table: str
    added: dict[str, str]
    kept: tuple[str, ...] = ()

    def summary(self) -> str:
        parts = []
        if self.added:
            parts.append(f"adds column {', '.join(self.added)} (null in the rows already there)")
        if self.kept:
            parts.append(f"keeps column {', '.join(self.kept)} (null in new rows)")
        return f"{self.table}: " + ("; ".join(parts) or "columns unchanged")


def schema_change(
    table: str,
    stored: Mapping[str, str],
    written: Mapping[str, str],
    *,
    keys: tuple[str, ...] = (),
    describe: Callable[[str], str] = str,
) -> SchemaChange:
    """What writing columns `written` to `table`, which has `stored`, does to it; both are
    {column: the engine's type name}. Refuses, in one line naming each column, its stored and
    its new type and what to do: a column whose type differs (no cast is safe for every row:
    doubles written to a long column lose their fractions, and readers that expect the new
    type find the old one), and a `keys` column the table has not got (a renamed key: its old
    rows could never be matched). `describe` turns an engine type name into the name to show."""
    problems = []
    missing_keys = [key for key in keys if key not in stored]
    if missing_keys:
        problems.append(
            f"table {table} has other columns than this stage writes: it has no "
            f"{', '.join(missing_keys)}, the key this stage matches and replaces rows by, so "
            "its rows could never be matched (a renamed key is not merged): keep the old key's "
            "name, or migrate the table to the new key (or drop it to start afresh)"
        )
    for column, kind in written.items():
        old = stored.get(column)
        if (
            old is None
            or kind in _NULL_TYPES
            or _SAME_TYPE.get(old, old) == _SAME_TYPE.get(kind, kind)
        ):
            continue
        problems.append(
            f"table {table}: column {column} is stored as {describe(old)}, this code writes "
            f"{describe(kind)}; a type cannot change in place: declare the feature under a new "
            f"name (the old column stays, null in new rows), or migrate the table (its {column} "
            "cast to the new type, or the table dropped to start afresh)"
        )
    if problems:
        raise SchemaConflict("; ".join(problems))
    added = {column: kind for column, kind in written.items() if column not in stored}
    kept = tuple(column for column in stored if column not in written)
    return SchemaChange(table, added, kept)


def quoted(name: str) -> str:
    return ".".join(f"`{part}`" for part in split_name(name))


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


def _replace_predicate(replace: Mapping[str, object]) -> str:
    clauses = []
    for column, value in replace.items():
        text = str(value)
        if "'" in text:
            raise MlopsError(f"{column} value {text!r} must not contain quotes")
        clauses.append(f"{column} = '{text}'")
    return " AND ".join(clauses)


# Rows per record batch when a local read streams a table: small enough that a batch and the
# sample kept so far stay a few MB beside the result, large enough to keep pyarrow busy.
STREAM_BATCH_ROWS = 131_072


def _scan(
    dataset, *, columns=None, filter=None, batch_size: int = STREAM_BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """The batches of `dataset` (its `columns`, rows matching `filter`), one row group at a time.

    pyarrow's own scan reads ahead of its consumer without a bound: a consumer slower than the
    disk (a deltalake write, a model) found most of a file decoded in memory. A scan of one row
    group holds at most that row group; row groups whose statistics rule out `filter` are
    skipped unread, and only `columns` are decoded.
    """
    import pyarrow.dataset as ds

    no_prefetch = ds.ParquetFragmentScanOptions(pre_buffer=False)
    for fragment in dataset.get_fragments(filter=filter):
        for row_group in fragment.split_by_row_group(filter, schema=dataset.schema):
            yield from row_group.to_batches(
                schema=dataset.schema,
                columns=columns,
                filter=filter,
                batch_size=batch_size,
                fragment_scan_options=no_prefetch,
            )


def _check_fraction(sample_fraction: float) -> None:
    if not 0 < sample_fraction <= 1:
        raise MlopsError(f"sample_fraction must be in (0, 1], got {sample_fraction}")


def _arrow_filter(where: Mapping[str, object] | None):
    """{column: value} -> a pyarrow expression the dataset evaluates while it reads."""
    expression = None
    for column, value in (where or {}).items():
        clause = pc.field(column) == pc.scalar(value)
        expression = clause if expression is None else expression & clause
    return expression


class _StreamSample:
    """A seeded random sample of a stream of record batches, in memory bounded by the sample.

    Every row draws a uniform key from one seeded generator: keys below `sample_fraction` are
    kept (a Bernoulli sample, as Spark's `sample`), and with `max_rows` only the rows with the
    `max_rows` smallest keys survive (a bottom-k sample: every subset of that size is equally
    likely, whatever the order of the files). The result keeps the table's row order.
    """

    def __init__(self, *, sample_fraction: float, max_rows: int | None, seed: int):
        self.fraction = sample_fraction
        self.max_rows = max_rows or None
        self.rng = np.random.default_rng(seed)
        self.kept: list[pa.Table] = []
        self.kept_rows = 0
        self.offset = 0
        # Rows whose key is not below this cannot be in the result: the fraction, lowered to
        # the largest key kept once `max_rows` rows with smaller keys are known.
        self.below = sample_fraction

    def add(self, batch: pa.RecordBatch) -> None:
        rows = batch.num_rows
        if not rows:
            return
        table = pa.Table.from_batches([batch])
        if self.fraction < 1 or self.max_rows:
            keys = self.rng.random(rows)
            table = table.append_column("__key", pa.array(keys))
            table = table.append_column(
                "__order", pa.array(np.arange(self.offset, self.offset + rows))
            )
            # Filtered even when every row passes: the filter copies the rows, so what is
            # kept never pins the whole row group the reader decoded it from.
            table = table.filter(pa.array(keys < self.below))
        self.offset += rows
        self.kept.append(table)
        self.kept_rows += table.num_rows
        if self.max_rows and self.kept_rows > 2 * self.max_rows:
            self._prune()

    def _prune(self) -> None:
        table = pa.concat_tables(self.kept)
        smallest = pc.sort_indices(table, sort_keys=[("__key", "ascending")])[: self.max_rows]
        self.kept = [table.take(smallest)]
        self.kept_rows = self.kept[0].num_rows
        if self.kept_rows == self.max_rows:
            self.below = min(self.below, pc.max(self.kept[0].column("__key")).as_py())

    def result(self, schema: pa.Schema, columns: list[str] | None) -> pa.Table:
        if columns:
            schema = pa.schema([schema.field(column) for column in columns])
        if not self.kept:
            return schema.empty_table()
        if self.max_rows and self.kept_rows > self.max_rows:
            self._prune()
        table = pa.concat_tables(self.kept)
        if "__order" in table.column_names:
            table = table.take(pc.sort_indices(table, sort_keys=[("__order", "ascending")]))
            table = table.drop_columns(["__key", "__order"])
        return table


def capped_sample(frame, max_rows: int, *, seed: int = config.SEED):
    """A Spark DataFrame -> a seeded random sample of at most `max_rows` of its rows, drawn on
    the cluster (`limit` alone would take the first rows in file order, often the oldest).

    A fraction derived from the count, with five standard deviations of headroom, so the
    sample almost surely holds `max_rows`; then ordering by a seeded random number and the cap
    keep a random `max_rows` of it (a top-k on the executors).
    """
    from pyspark.sql import functions as F

    total = frame.count()
    if total <= max_rows:
        return frame
    fraction = min(1.0, (max_rows + 5 * math.sqrt(max_rows) + 10) / total)
    return frame.sample(fraction=fraction, seed=seed).orderBy(F.rand(seed)).limit(max_rows)


# A local labels upsert (`LocalTables.upsert_from`) runs in key ranges of about this many
# source rows, each a MERGE (a commit) of its own: deltalake builds the MERGE's hash
# join from its source, so a range bounds that table whatever the size of the load.
MERGE_CHUNK_ROWS = 1_000_000
# Keys sampled to place the range boundaries (bottom-k, so the ranges hold about equal rows
# however the keys are spread); 8 bytes each.
KEY_SAMPLE_ROWS = 100_000
# Rows per row group of every file a local write makes. A reader decodes a row group whole
# and a writer buffers one before it writes it, so this, not the table, sets their memory:
# deltalake's default (about a million rows, ~110 MB decoded for the predictions) made each
# stage's peak grow with the table until it held a few of them.
ROW_GROUP_ROWS = 65_536

# A key range [low, high): None leaves that side open. Keys are int64.
KeyRange = tuple[int | None, int | None]


def key_ranges(
    rows: int, keys: Callable[[], Iterator[np.ndarray]], *, chunk_rows: int | None = None
) -> list[KeyRange]:
    """Split a key column of about `rows` rows into ranges of about `chunk_rows` rows each.

    `rows` is an upper bound known without a pass (a table's count); only when it exceeds one
    chunk is `keys()` read, once, for the count and a seeded random sample of the keys whose
    quantiles are the boundaries. The ranges cover every int64 key exactly once.
    """
    chunk_rows = chunk_rows or MERGE_CHUNK_ROWS
    if rows <= chunk_rows:
        return [(None, None)]
    sample = _StreamSample(sample_fraction=1.0, max_rows=KEY_SAMPLE_ROWS, seed=config.SEED)
    counted = 0
    for values in keys():
        counted += len(values)
        sample.add(pa.record_batch([pa.array(values, type=pa.int64())], names=["key"]))
    chunks = math.ceil(counted / chunk_rows)
    if chunks <= 1:
        return [(None, None)]
    drawn = sample.result(pa.schema([pa.field("key", pa.int64())]), None)
    ordered = np.sort(drawn.column("key").to_numpy())
    cuts = np.unique(ordered[(np.arange(1, chunks) * len(ordered)) // chunks]).tolist()
    bounds: list[int | None] = [None, *cuts, None]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _key_filter(key: str, low: int | None, high: int | None):
    """[low, high) on `key` as a pyarrow expression (None on a side leaves it open)."""
    expression = pc.field(key).is_valid()
    if low is not None:
        expression &= pc.field(key) >= pc.scalar(low)
    if high is not None:
        expression &= pc.field(key) < pc.scalar(high)
    return expression


def _range_sql(column: str, low: int | None, high: int | None) -> str:
    """[low, high) as SQL conjuncts on `column`, each starting with AND ('' if open)."""
    clauses = ""
    if low is not None:
        clauses += f" AND {column} >= {int(low)}"
    if high is not None:
        clauses += f" AND {column} < {int(high)}"
    return clauses


def _in_range(keys: np.ndarray, low: int | None, high: int | None) -> np.ndarray:
    inside = np.ones(len(keys), dtype=bool)
    if low is not None:
        inside &= keys >= low
    if high is not None:
        inside &= keys < high
    return inside


def _sorted_keys(batches: Iterator[pa.RecordBatch], expected: int) -> np.ndarray:
    """The distinct int64 keys of the batches' first column, ascending, gathered in place in one
    array of `expected` keys (8 bytes each; grown if the table had more): no list of chunks and
    no sorted copy beside it."""
    keys = np.empty(expected, dtype="int64")
    count = 0
    for batch in batches:
        values = batch.column(0).to_numpy(zero_copy_only=False)
        if count + len(values) > len(keys):
            keys = np.resize(keys, 2 * (count + len(values)))
        keys[count : count + len(values)] = values
        count += len(values)
    keys = keys[:count]
    keys.sort()
    if count > 1 and (keys[1:] == keys[:-1]).any():
        keys = np.unique(keys)
    return keys


def _sorted_values(batches: Iterator[pa.RecordBatch], value_type) -> tuple[np.ndarray, np.ndarray]:
    """The batches' (unique int64 key, value) pairs, ascending by key, as two arrays."""
    keys, values = [], []
    for batch in batches:
        keys.append(batch.column(0).to_numpy(zero_copy_only=False))
        values.append(batch.column(1).cast(value_type).to_numpy(zero_copy_only=False))
    if not keys:
        return np.array([], dtype="int64"), np.array([], dtype=value_type.to_pandas_dtype())
    keys_, values_ = np.concatenate(keys), np.concatenate(values)
    order = np.argsort(keys_, kind="stable")
    return keys_[order], values_[order]


def _add_counts(counts: dict, values: pa.Array) -> None:
    """Add how often each value occurs in `values` to `counts` ({value: rows})."""
    for item in pc.value_counts(values).to_pylist():
        counts[item["values"]] = counts.get(item["values"], 0) + item["counts"]


def _positions(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each key's index in `sorted_keys` (unique, ascending), and whether it is found there."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype="int64"), np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return at, sorted_keys[at] == keys


# A batch-scoring step: raw rows -> rows with every output column but the prediction.
Prepare = Callable[[pd.DataFrame], pd.DataFrame]
# Rows -> one class name per row (see `Tables.tally`).
Classify = Callable[[pd.DataFrame], pd.Series]


class Tables:
    """What the stages may do with tables. Both runtimes implement every method."""

    def exists(self, name: str) -> bool:
        raise NotImplementedError

    def require(self, name: str) -> None:
        if self.exists(name):
            return
        hint = ""
        if name == config.INPUT_TABLE and not runtime.use_spark():
            hint = f": run `python -m {config.PACKAGE} sample-data` to create it locally"
        raise MlopsError(f"table {name} does not exist{hint}")

    def read(
        self,
        name: str,
        *,
        columns: list[str] | None = None,
        where: Mapping[str, object] | None = None,
        sample_fraction: float = 1.0,
        seed: int = config.SEED,
        max_rows: int | None = None,
    ) -> pd.DataFrame:
        """The table (or its `columns`, rows matching `where` column = value) as pandas.

        `sample_fraction` < 1 reads a random, repeatable share of the rows; `max_rows` caps
        what reaches memory with a seeded random sample of that many rows, on both runtimes
        (on Spark both happen on the cluster; locally the files are streamed).
        """
        raise NotImplementedError

    def columns(self, name: str) -> list[str]:
        raise NotImplementedError

    def column_types(self, name: str) -> dict[str, str]:
        """{column: the engine's type name}, e.g. `int64`/`bigint`, for checking inputs."""
        raise NotImplementedError

    def type_name(self, kind: str) -> str:
        """The engine's name of a declared type name, as `column_types` reports it."""
        raise NotImplementedError

    def _describe_type(self, engine_type: str) -> str:
        """An engine type name as the declared type name it stands for (itself if none)."""
        for kind in ARROW_TYPES:
            if self.type_name(kind) == engine_type:
                return kind
        return engine_type

    def schema_change(
        self, name: str, columns: Mapping[str, str], *, keys: tuple[str, ...] = ()
    ) -> SchemaChange | None:
        """What writing these {column: type name} to `name` would do to it (None: no such table
        yet, the write creates it), without writing. Raises `SchemaConflict` for a change that
        cannot be merged (see `schema_change`): the check a stage runs before an alias moves to
        a version whose predictions this code writes."""
        if not self.exists(name):
            return None
        written = {column: self.type_name(kind) for column, kind in columns.items()}
        stored = self.column_types(name)
        return schema_change(name, stored, written, keys=keys, describe=self._describe_type)

    def tally(self, name: str, *, columns: list[str], classify: Classify) -> dict[str, int]:
        """How many rows of `name` fall in each class `classify` gives them (pandas, batch by
        batch; on Spark on the executors): one pass, only the counts reach memory."""
        raise NotImplementedError

    def upsert_from(
        self,
        source: str,
        target: str,
        *,
        columns: list[str],
        prepare: Prepare,
        key: str,
        schema: pa.Schema,
    ) -> int:
        """MERGE `prepare(columns of source)` into `target` on `key`, table to table (rows of
        a trip already there are replaced, others inserted); a source that lists a key twice
        contributes one of those rows. Returns how many rows were merged. Locally a large
        source is merged in key ranges, a commit each (see `key_ranges`): a rerun after a stop
        between two of them replaces the ranges done and merges the rest."""
        raise NotImplementedError

    def newest(self, name: str, *, column: str, order_by: str) -> object:
        """`column` of the row with the largest `order_by` (None for an empty table), found
        without bringing the table into memory."""
        raise NotImplementedError

    def count(self, name: str) -> int:
        raise NotImplementedError

    def write(
        self,
        data: pd.DataFrame | pa.Table,
        name: str,
        *,
        mode: str = "overwrite",
        replace: Mapping[str, object] | None = None,
    ) -> None:
        """`overwrite` the table, `append` to it, or with `replace` = {column: value} swap
        exactly the rows of that slice (e.g. one batch) in one transaction, so a rerun leaves
        one copy and a failed run leaves the old one.

        An append or a replace follows the data's columns (`schema_change`): new ones are
        added to the table, stored ones the data has not got are null in its rows; a changed
        type, or a `replace` column the table has not got, is refused before anything is
        written. `overwrite` replaces the table's columns with the data's."""
        raise NotImplementedError

    def upsert(self, rows: pd.DataFrame, name: str, *, key: str, schema: pa.Schema) -> None:
        """Insert `rows`, replacing those whose `key` the table already holds."""
        raise NotImplementedError

    def create_if_missing(self, name: str, columns: Mapping[str, str]) -> bool:
        """Create `name` empty with these {column: type name} unless it exists; True if made."""
        if self.exists(name):
            return False
        self._create_empty(name, columns)
        log.info("created %s", name)
        return True

    def _create_empty(self, name: str, columns: Mapping[str, str]) -> None:
        raise NotImplementedError

    def fill_missing(self, target: str, source: str, *, key: str, column: str, by: str) -> int:
        """Set `target.column` from `source` (joined on `key`) where it is still null; returns
        how many rows were filled. Rows that already have a value are left alone, so a rerun
        fills only what is still empty. Locally each value of `by` (a slice written on its own,
        such as a scored batch) is rewritten in a commit of its own; on Spark it is one MERGE.
        """
        raise NotImplementedError

    def correct(
        self, target: str, source: str, *, key: str, column: str, by: str, among: Mapping
    ) -> int:
        """Set `target.column` from `source` (joined on `key`) where it holds another value,
        looking only at the source rows matching `among` ({column: value}: one load of
        corrections); returns how many rows changed. Empty values are `fill_missing`'s. A rerun
        changes nothing more. Locally only the slices of `by` holding such a row are rewritten,
        each in one commit; on Spark it is one MERGE."""
        raise NotImplementedError

    def score(
        self,
        source: str,
        target: str,
        *,
        columns: list[str],
        prepare: Prepare,
        model_uri: str,
        model_inputs: list[str],
        schema: pa.Schema,
        replace: Mapping[str, object],
        chunk_rows: int,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Batch inference: `columns` of `source` -> `prepare` -> the model's `prediction`
        from `model_inputs` -> the slice `replace` of `target` (one transaction). Returns the
        number of rows scored. Refuses when no row passes `prepare`: replacing the slice with
        nothing would delete a batch that was there (and the labels attached to it)."""
        raise NotImplementedError


def _writer():
    from deltalake import WriterProperties

    return WriterProperties(max_row_group_size=ROW_GROUP_ROWS)


class LocalTables(Tables):
    """Delta tables in the local warehouse folder, read and written with `deltalake`."""

    @staticmethod
    def path(name: str) -> Path:
        catalog, schema, table = split_name(name)
        return runtime.local_dir() / "warehouse" / catalog / schema / table

    def _delta(self, name: str):
        from deltalake import DeltaTable

        self.require(name)
        return DeltaTable(str(self.path(name)))

    def exists(self, name: str) -> bool:
        from deltalake import DeltaTable

        folder = self.path(name)
        if DeltaTable.is_deltatable(str(folder)):
            return True
        if folder.is_dir() and any(folder.rglob("*.parquet")):
            # Data files without a log: a write that started the table anew would hide the old
            # rows behind a new commit 0. Refused, as an empty mlflow.db is.
            raise BrokenStateError(
                f"table {name} is damaged (data files in {folder} but no _delta_log): restore "
                "the log from a backup, or move the folder away to start the table anew"
            )
        return False

    def read(
        self,
        name,
        *,
        columns=None,
        where=None,
        sample_fraction=1.0,
        seed=config.SEED,
        max_rows=None,
    ):
        _check_fraction(sample_fraction)
        # Streamed: only the matching rows of the wanted columns are decoded (column and filter
        # pushdown), and a sample keeps at most what it returns, so memory follows the result,
        # not the table.
        batches = _scan(self._dataset(name), columns=columns, filter=_arrow_filter(where))
        sample = _StreamSample(sample_fraction=sample_fraction, max_rows=max_rows, seed=seed)
        for batch in batches:
            sample.add(batch)
        return sample.result(self._dataset(name).schema, columns).to_pandas()

    def _dataset(self, name: str, table=None):
        """The table's current files (or those of `table`, a version of it already opened) as a
        `pyarrow.dataset`, read through pyarrow's own file system: the batches may be consumed
        inside a deltalake write (scoring streams into the predictions table), and deltalake
        cannot re-enter its IO runtime from there."""
        from pyarrow import fs

        return (table or self._delta(name)).to_pyarrow_dataset(
            filesystem=fs.SubTreeFileSystem(str(self.path(name)), fs.LocalFileSystem())
        )

    def column_types(self, name):
        return {field.name: str(field.type) for field in self._dataset(name).schema}

    def type_name(self, kind):
        return str(ARROW_TYPES[kind])

    def tally(self, name, *, columns, classify):
        counts: dict[str, int] = {}
        for batch in _scan(self._dataset(name), columns=columns):
            for label, count in classify(batch.to_pandas()).value_counts().items():
                counts[str(label)] = counts.get(str(label), 0) + int(count)
        return counts

    def upsert_from(self, source, target, *, columns, prepare, key, schema):
        new_table = not self.exists(target)

        def prepared_keys() -> Iterator[np.ndarray]:
            for batch in self.batches(source, STREAM_BATCH_ROWS, columns=columns):
                yield prepare(batch)[key].to_numpy(dtype="int64")

        # The source's row count bounds the prepared rows, so a small load needs no extra pass.
        ranges = key_ranges(self.count(source), prepared_keys)
        merged = 0
        for low, high in ranges:
            # Opened here, not in the generator: it runs inside deltalake's MERGE, which cannot
            # re-enter deltalake's IO runtime.
            batches = self.batches(source, STREAM_BATCH_ROWS, columns=columns)

            def rows(batches=batches, low=low, high=high) -> Iterator[pa.RecordBatch]:
                # A key seen in an earlier batch is skipped: one MERGE may not match a target
                # row twice. Only the keys of this range are remembered (8 bytes a row), kept
                # sorted by inserting each batch's: a merge, not a sort of all of them again.
                nonlocal merged
                seen = np.array([], dtype="int64")
                for batch in batches:
                    prepared = prepare(batch).drop_duplicates(key)
                    keys = prepared[key].to_numpy(dtype="int64")
                    fresh = _in_range(keys, low, high) & ~_positions(seen, keys)[1]
                    prepared, new = prepared[fresh], np.sort(keys[fresh])
                    seen = np.insert(seen, np.searchsorted(seen, new), new)
                    merged += len(prepared)
                    yield pa.RecordBatch.from_pandas(
                        prepared[schema.names], schema=schema, preserve_index=False
                    )

            stream = pa.RecordBatchReader.from_batches(schema, rows())
            if new_table:
                # Nothing to match yet: an append writes the stream without a MERGE (the
                # ranges are disjoint, so appending them one by one never duplicates a key).
                self.write(stream, target, mode="append")
                continue
            # One MERGE per range fed by a stream: the source never sits in memory, and the
            # range on the target side keeps the MERGE to the keys of this chunk.
            self._delta(target).merge(
                stream,
                predicate=f"t.{key} = s.{key}" + _range_sql(f"t.{key}", low, high),
                source_alias="s",
                target_alias="t",
                streamed_exec=True,
                writer_properties=_writer(),
            ).when_matched_update_all().when_not_matched_insert_all().execute()
        return merged

    def newest(self, name, *, column, order_by):
        # One pass over two columns, keeping only the running maximum.
        best = None
        for batch in _scan(self._dataset(name), columns=[column, order_by]):
            valid = batch.filter(pc.is_valid(batch.column(order_by)))
            if not valid.num_rows:
                continue
            index = pc.index(valid.column(order_by), pc.max(valid.column(order_by))).as_py()
            candidate = (valid.column(order_by)[index].as_py(), valid.column(column)[index].as_py())
            if best is None or candidate[0] >= best[0]:
                best = candidate
        return None if best is None else best[1]

    def columns(self, name):
        return [field.name for field in self._delta(name).schema().fields]

    def count(self, name):
        return self._delta(name).count()

    def write(self, data, name, *, mode="overwrite", replace=None):
        from deltalake import write_deltalake

        if mode not in ("overwrite", "append"):
            raise ValueError(f"mode must be overwrite or append, got {mode!r}")
        predicate = _replace_predicate(replace) if replace else None
        path = self.path(name)
        path.mkdir(parents=True, exist_ok=True)
        if isinstance(data, pd.DataFrame):
            data = to_arrow(data)
        exists = self.exists(name)
        if exists and (predicate or mode == "append"):
            # Checked first: deltalake's merge would cast a changed type, truncating or
            # misreading rows (long -> double), where this refuses with what to do.
            written = {field.name: str(field.type) for field in data.schema}
            change = schema_change(
                name,
                self.column_types(name),
                written,
                keys=tuple(replace or ()),
                describe=self._describe_type,
            )
            if change.added:
                log.info("%s", change.summary())
        if predicate and not exists:
            # Nothing to replace yet: the first write creates the table.
            write_deltalake(str(path), data, mode="append", writer_properties=_writer())
        elif predicate:
            # `merge`: a new column joins the table in the same commit; a stored column the
            # data has not got is null in its rows.
            write_deltalake(
                str(path),
                data,
                mode="overwrite",
                predicate=predicate,
                schema_mode="merge",
                writer_properties=_writer(),
            )
        else:
            schema_mode = "overwrite" if mode == "overwrite" else "merge" if exists else None
            write_deltalake(
                str(path), data, mode=mode, schema_mode=schema_mode, writer_properties=_writer()
            )
        log.debug("wrote %s", name)

    def _create_empty(self, name, columns):
        self.write(arrow_schema(columns).empty_table(), name, mode="append")

    def upsert(self, rows, name, *, key, schema):
        source = to_arrow(rows, schema)
        if not self.exists(name):
            self.write(source, name, mode="append")
            return
        self._delta(name).merge(
            source,
            predicate=f"t.{key} = s.{key}",
            source_alias="s",
            target_alias="t",
            writer_properties=_writer(),
        ).when_matched_update_all().when_not_matched_insert_all().execute()

    def fill_missing(self, target, source, *, key, column, by):
        # One slice of `by` at a time (predictions: a scored batch, written in files of its
        # own), and only the slices that still have a row without a value (a streamed read of
        # one column, filter pushed down): a fully labelled table costs a scan, not a rewrite.
        empty_rows: dict = {}
        for batch in _scan(
            self._dataset(target),
            columns=[by],
            filter=pc.field(column).is_null() & pc.field(by).is_valid() & pc.field(key).is_valid(),
        ):
            _add_counts(empty_rows, batch.column(0))
        filled = 0
        for value, rows in sorted(empty_rows.items()):
            # A slice scored again meanwhile fails the commit; the fill is safe to repeat, and
            # the next try reads the new rows.
            filled += retry_conflicts(
                lambda value=value, rows=rows: self._fill_slice(
                    target, source, key=key, column=column, where={by: value}, rows=rows
                )
            )
        return filled

    def correct(self, target, source, *, key, column, by, among):
        # Which slices hold a value the load changes: the load's keys and values in key ranges
        # (16 bytes a row), each range against the labelled rows of the target in it.
        loaded = _arrow_filter(among) & pc.field(key).is_valid() & pc.field(column).is_valid()
        known = self._dataset(source)
        dataset = self._dataset(target)
        value_type = dataset.schema.field(column).type

        def load_keys() -> Iterator[np.ndarray]:
            for batch in _scan(known, columns=[key], filter=loaded):
                yield batch.column(0).to_numpy(zero_copy_only=False)

        labelled = pc.field(column).is_valid() & pc.field(by).is_valid()
        changed: dict = {}
        labelled_rows: dict = {}
        for low, high in key_ranges(self.count(source), load_keys):
            in_range = _key_filter(key, low, high)
            keys, values = _sorted_values(
                _scan(known, columns=[key, column], filter=loaded & in_range), value_type
            )
            for batch in _scan(dataset, columns=[key, column, by], filter=labelled & in_range):
                at, hit = _positions(keys, batch.column(0).to_numpy(zero_copy_only=False))
                old = batch.column(1).cast(value_type).to_numpy(zero_copy_only=False)
                differs = hit & (old != values[at])
                _add_counts(labelled_rows, batch.column(2))
                if differs.any():
                    _add_counts(changed, batch.column(2).filter(pa.array(differs)))
        corrected = 0
        for value in sorted(changed):
            corrected += retry_conflicts(
                lambda value=value: self._fill_slice(
                    target,
                    source,
                    key=key,
                    column=column,
                    where={by: value},
                    rows=labelled_rows[value],
                    among=among,
                )
            )
        return corrected

    def _fill_slice(self, target, source, *, key, column, where, rows: int, among=None) -> int:
        """Fill one slice of `target` and replace it in one commit; returns the rows filled.

        With `among` ({column: value} of `source`: one load) it corrects instead: the slice's
        labelled rows whose value that load changes get the load's value.

        The slice is read and replaced as a whole (a predicate overwrite), so the rewrite is one
        commit: a run stopped before it leaves the slice as it was, and a concurrent commit
        that replaced the same slice makes this one fail rather than bring back the old rows.
        Its `rows` that still miss a value are looked up in key ranges of about
        `MERGE_CHUNK_ROWS` (17 bytes a row: the key, the value found and a flag), the slice's
        rows of one range after the other, so memory follows a range, never the tables.
        """
        from deltalake import write_deltalake

        # The version read is the version replaced: the write commits on top of it, so a
        # commit that replaced the slice since (a batch scored again) is a conflict, not lost.
        table = self._delta(target)
        dataset = self._dataset(target, table)
        in_slice = _arrow_filter(where)
        needed = pc.field(column).is_null() if among is None else pc.field(column).is_valid()
        empty = in_slice & needed
        value_type = dataset.schema.field(column).type
        # Opened here: `lookup` also runs inside the deltalake write, which cannot re-enter it.
        known_values = self._dataset(source)

        def empty_keys() -> Iterator[np.ndarray]:
            for batch in _scan(dataset, columns=[key], filter=empty & pc.field(key).is_valid()):
                yield batch.column(0).to_numpy(zero_copy_only=False)

        ranges = key_ranges(rows, empty_keys)

        def lookup(low, high) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """The range's keys without a value, sorted, the values found and which were."""
            in_range = _key_filter(key, low, high)
            # A hint for the array: ranges come from a sample, so one may hold a few more.
            expected = rows if len(ranges) == 1 else int(1.1 * rows / len(ranges))
            missing = _sorted_keys(_scan(dataset, columns=[key], filter=empty & in_range), expected)
            found = np.zeros(len(missing), dtype=bool)
            values = np.zeros(len(missing), dtype=value_type.to_pandas_dtype())
            known = in_range & pc.field(column).is_valid()
            if among is not None:
                known &= _arrow_filter(among)
            for batch in _scan(known_values, columns=[key, column], filter=known):
                at, hit = _positions(missing, batch.column(0).to_numpy(zero_copy_only=False))
                values[at[hit]] = (
                    batch.column(1).cast(value_type).to_numpy(zero_copy_only=False)[hit]
                )
                found[at[hit]] = True
            return missing, values, found

        # The first range with a value found; none means nothing to fill (no label for any of
        # these keys yet), so no rewrite. The rewrite starts with that range and takes its
        # lookup as it is (any order of the ranges covers the slice): it is not built twice.
        for start in range(len(ranges)):
            first = lookup(*ranges[start])
            if first[2].any():
                break
        else:
            return 0
        ranges = ranges[start:] + ranges[:start]
        pending = [first]  # popped by the rewrite, so it is not held past its range
        del first
        filled = 0

        def filled_rows() -> Iterator[pa.RecordBatch]:
            nonlocal filled
            index = dataset.schema.get_field_index(column)
            for low, high in ranges:
                missing, values, found = pending.pop() if pending else lookup(low, high)
                for batch in _scan(dataset, filter=in_slice & _key_filter(key, low, high)):
                    at, hit = _positions(missing, batch.column(key).to_numpy())
                    old = batch.column(column)
                    found_values = pa.array(values[at], type=value_type)
                    if among is None:
                        hit &= found[at] & old.is_null().to_numpy(zero_copy_only=False)
                    else:
                        differs = pc.not_equal(old.cast(value_type), found_values)
                        hit &= found[at] & differs.fill_null(False).to_numpy(zero_copy_only=False)
                    filled += int(hit.sum())
                    new = pc.if_else(pa.array(hit), found_values, old)
                    columns = batch.columns
                    columns[index] = new
                    # `RecordBatch.set_column` needs pyarrow 16; the floor is 14.
                    yield pa.RecordBatch.from_arrays(columns, schema=dataset.schema)
            # Rows of the slice without a key are in no range: copied as they are.
            yield from _scan(dataset, filter=in_slice & pc.field(key).is_null())

        reader = pa.RecordBatchReader.from_batches(dataset.schema, filled_rows())
        write_deltalake(
            table,
            reader,
            mode="overwrite",
            predicate=_replace_predicate(where),
            writer_properties=_writer(),
        )
        return filled

    def batches(self, name: str, batch_size: int, columns=None) -> Iterator[pd.DataFrame]:
        """A table in pandas chunks of at most `batch_size` rows, so memory stays bounded."""
        batches = _scan(self._dataset(name), columns=columns, batch_size=batch_size)
        return (batch.to_pandas() for batch in batches if batch.num_rows)

    def score(
        self,
        source,
        target,
        *,
        columns,
        prepare,
        model_uri,
        model_inputs,
        schema,
        replace,
        chunk_rows,
        progress=None,
    ):
        from . import outputs, registry  # the layer above; only local scoring loads a model

        model = registry.load_model(model_uri)
        classes = outputs.classes_of(model)
        chunks = self.batches(source, chunk_rows, columns=columns)
        total = 0

        def scored() -> Iterator[pa.RecordBatch]:
            nonlocal total
            for chunk in chunks:
                rows = prepare(chunk)
                if rows.empty:  # every row of the chunk broke an input rule
                    continue
                answer = outputs.answer(model.predict(rows[model_inputs]), classes)
                for column, values in answer.items():
                    rows[column] = values
                total += len(rows)
                if progress:
                    progress(total)
                yield pa.RecordBatch.from_pandas(
                    rows[schema.names], schema=schema, preserve_index=False
                )

        batches = scored()
        first = next(batches, None)
        if first is None:
            raise _nothing_passed(source, target)
        # One write for all chunks: the batch is replaced atomically, never half-written.
        reader = pa.RecordBatchReader.from_batches(schema, itertools.chain([first], batches))
        self.write(reader, target, mode="append", replace=replace)
        return total


class SparkTables(Tables):
    """Unity Catalog (or a local metastore's) tables through the active Spark session."""

    def __init__(self):
        self.spark = runtime.get_spark()

    def _table(self, name: str):
        self.require(name)
        return self.spark.table(quoted(name))

    def exists(self, name):
        return self.spark.catalog.tableExists(quoted(name))

    def read(
        self,
        name,
        *,
        columns=None,
        where=None,
        sample_fraction=1.0,
        seed=config.SEED,
        max_rows=None,
    ):
        from pyspark.sql import functions as F

        _check_fraction(sample_fraction)
        frame = self._table(name)
        for column, value in (where or {}).items():
            frame = frame.where(F.col(column) == F.lit(value))
        if columns:
            frame = frame.select(*columns)
        if sample_fraction < 1:
            frame = frame.sample(fraction=sample_fraction, seed=seed)
        if max_rows:
            frame = capped_sample(frame, max_rows, seed=seed)
        # Bounded: all of a table only when the caller asked for no cap (small tables, tests);
        # the stages pass `max_rows` or a `where` on one batch.
        return frame.toPandas()

    def column_types(self, name):
        return {field.name: field.dataType.simpleString() for field in self._table(name).schema}

    def type_name(self, kind):
        return _SPARK_SIMPLE_TYPES[kind]

    def tally(self, name, *, columns, classify):
        classes = (
            self._table(name)
            .select(*columns)
            .mapInPandas(
                lambda batches: (pd.DataFrame({"class": classify(b).astype(str)}) for b in batches),
                schema="class string",
            )
        )
        # An aggregate: one row per class reaches the driver.
        counts = classes.groupBy("class").count().collect()
        return {row["class"]: int(row["count"]) for row in counts}

    def upsert_from(self, source, target, *, columns, prepare, key, schema):
        ddl = ", ".join(f"{f.name} {_spark_type(f.type)}" for f in schema)
        names = schema.names
        rows = (
            self._table(source)
            .select(*columns)
            .mapInPandas(lambda batches: (prepare(b)[names] for b in batches), schema=ddl)
            .dropDuplicates([key])
        )
        if not self.exists(target):
            self.write(rows, target, mode="append")
            return self.count(target)
        self._require_delta(target, "merging into")
        # MERGE from a view of the source: the rows go from table to table on the cluster.
        view = f"upsert_{uuid.uuid4().hex}"
        rows.createOrReplaceTempView(view)
        try:
            result = self.spark.sql(
                f"MERGE INTO {quoted(target)} AS t USING {view} AS s ON t.{key} = s.{key} "
                "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
            )
            # Delta's MERGE answers with one row of counts.
            counts = result.first()
            return int(counts["num_updated_rows"]) + int(counts["num_inserted_rows"])
        finally:
            self.spark.catalog.dropTempView(view)

    def newest(self, name, *, column, order_by):
        from pyspark.sql import functions as F

        # An aggregate on the cluster: one row reaches the driver, however long the table.
        row = (
            self._table(name)
            .where(F.col(order_by).isNotNull())
            .agg(F.expr(f"max_by({column}, {order_by})").alias("newest"))
            .first()
        )
        return None if row is None else row["newest"]

    def columns(self, name):
        return self._table(name).columns

    def count(self, name):
        return self._table(name).count()

    def write(self, data, name, *, mode="overwrite", replace=None):
        if mode not in ("overwrite", "append"):
            raise ValueError(f"mode must be overwrite or append, got {mode!r}")
        predicate = _replace_predicate(replace) if replace else None
        # `data` may already be a Spark DataFrame (scoring on the cluster never leaves Spark).
        if isinstance(data, pa.Table):
            data = data.to_pandas()
        if isinstance(data, pd.DataFrame):
            data = self.spark.createDataFrame(data)
        exists = self.exists(name)
        if predicate and exists:
            # Before the columns follow: a refused write leaves the table as it was.
            self._require_delta(name, "replacing a slice of")
        if exists and (predicate or mode == "append"):
            data = self._follow_columns(data, name, keys=tuple(replace or ()))
        writer = data.write
        if predicate and exists:
            writer = writer.mode("overwrite").option("replaceWhere", predicate)
        elif predicate:
            writer = writer.mode("append")
        else:
            writer = writer.mode(mode)
            if mode == "overwrite":
                writer = writer.option("overwriteSchema", "true")
        writer.saveAsTable(quoted(name))

    def _follow_columns(self, data, name: str, *, keys: tuple[str, ...]):
        """`data` made to fit `name` (see `schema_change`): the table gets the data's new
        columns (`ALTER TABLE ... ADD COLUMNS`, which Delta and Parquet tables both take; the
        rows already there read them as null), and the data gets the stored columns it has not
        got, as nulls, in the table's order, so an append or `replaceWhere` writes every column.
        """
        from pyspark.sql import functions as F

        written = {field.name: field.dataType.simpleString() for field in data.schema}
        stored = self.column_types(name)
        change = schema_change(name, stored, written, keys=keys, describe=self._describe_type)
        if change.added:
            columns = ", ".join(f"`{column}` {kind}" for column, kind in change.added.items())
            self.spark.sql(f"ALTER TABLE {quoted(name)} ADD COLUMNS ({columns})")
            log.info("%s", change.summary())
        return data.select(
            *[
                F.col(f"`{column}`") if column in written else F.lit(None).cast(kind).alias(column)
                for column, kind in {**stored, **change.added}.items()
            ]
        )

    def _create_empty(self, name, columns):
        empty = self.spark.createDataFrame([], spark_ddl(columns))
        empty.write.mode("append").saveAsTable(quoted(name))

    def _require_delta(self, name: str, action: str) -> None:
        """Refuse what only Delta can do (replace a slice, MERGE) on another format."""
        rows = self.spark.sql(f"DESCRIBE TABLE EXTENDED {quoted(name)}").collect()
        provider = next(
            (
                row[1].strip().lower()
                for row in rows
                if (row[0] or "").strip().lower() == "provider"
            ),
            "unknown",
        )
        if provider != "delta":
            raise MlopsError(f"{action} {name} needs a Delta table")

    def upsert(self, rows, name, *, key, schema):
        source = self.spark.createDataFrame(to_arrow(rows, schema).to_pandas())
        if not self.exists(name):
            self.write(source, name, mode="append")
            return
        self._require_delta(name, "merging into")
        view = f"upsert_{uuid.uuid4().hex}"
        source.createOrReplaceTempView(view)
        try:
            self.spark.sql(
                f"MERGE INTO {quoted(name)} AS t USING {view} AS s ON t.{key} = s.{key} "
                "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
            )
        finally:
            self.spark.catalog.dropTempView(view)

    def fill_missing(self, target, source, *, key, column, by):
        self._require_delta(target, "filling")
        result = self.spark.sql(
            f"MERGE INTO {quoted(target)} AS t "
            f"USING (SELECT {key}, {column} FROM {quoted(source)}) AS s ON t.{key} = s.{key} "
            f"WHEN MATCHED AND t.{column} IS NULL THEN UPDATE SET t.{column} = s.{column}"
        )
        # Delta's MERGE answers with one row of counts.
        return int(result.first()["num_updated_rows"])

    def correct(self, target, source, *, key, column, by, among):
        from pyspark.sql import functions as F

        self._require_delta(target, "correcting")
        load = self._table(source)
        for name, value in among.items():
            load = load.where(F.col(name) == F.lit(value))
        view = f"correct_{uuid.uuid4().hex}"
        load.select(key, column).createOrReplaceTempView(view)
        try:
            result = self.spark.sql(
                f"MERGE INTO {quoted(target)} AS t USING {view} AS s ON t.{key} = s.{key} "
                f"WHEN MATCHED AND t.{column} IS NOT NULL AND s.{column} IS NOT NULL "
                f"AND t.{column} <> s.{column} THEN UPDATE SET t.{column} = s.{column}"
            )
            return int(result.first()["num_updated_rows"])
        finally:
            self.spark.catalog.dropTempView(view)

    def score(
        self,
        source,
        target,
        *,
        columns,
        prepare,
        model_uri,
        model_inputs,
        schema,
        replace,
        chunk_rows,
        progress=None,
    ):
        import mlflow
        from pyspark.sql import functions as F

        from . import outputs

        answered = outputs.column_types()
        prepared = [field for field in schema if field.name not in answered]
        ddl = ", ".join(f"{f.name} {_spark_type(f.type)}" for f in prepared)
        names = [field.name for field in prepared]
        inputs = self._table(source)
        # The same pandas code as locally, run on the executors batch by batch; the model runs
        # on the cluster through spark_udf.
        rows = inputs.select(*columns).mapInPandas(
            lambda batches: (prepare(batch)[names] for batch in batches), schema=ddl
        )
        classes, probabilities_only = outputs.classes_at(model_uri)
        if not classes:
            answer_type = "double"
        elif probabilities_only:
            answer_type = "array<double>"
        else:  # `classifier_model.py`: the class and {class: probability}
            answer_type = (
                f"struct<{outputs.PREDICTION}: bigint, "
                f"{outputs.PROBABILITIES}: map<string, double>>"
            )
        predict = mlflow.pyfunc.spark_udf(
            self.spark, model_uri, result_type=answer_type, env_manager="local"
        )
        if rows.isEmpty():  # stops at the first row that passes
            raise _nothing_passed(source, target)
        answers = predict(F.struct(*model_inputs))
        if not classes:
            scored = rows.withColumn(outputs.PREDICTION, answers)
        elif probabilities_only:
            # The most likely class, and {class: probability}, as locally (outputs.answer).
            class_names = F.array(*[F.lit(str(value)) for value in classes])
            scored = rows.withColumn("_scores", answers)
            best = F.array_position(F.col("_scores"), F.array_max(F.col("_scores"))).cast("int")
            scored = scored.withColumn(
                outputs.PREDICTION,
                F.element_at(F.array(*[F.lit(value) for value in classes]), best).cast("long"),
            ).withColumn(outputs.PROBABILITIES, F.map_from_arrays(class_names, F.col("_scores")))
        else:
            scored = rows.withColumn("_answer", answers).select(
                *names, *(F.col(f"_answer.{name}").alias(name) for name in answered)
            )
        self.write(scored.select(*schema.names), target, mode="append", replace=replace)
        # Rows written (an aggregate on the cluster): `prepare` may leave invalid rows out.
        written = self._table(target)
        for column, value in replace.items():
            written = written.where(F.col(column) == F.lit(value))
        return written.count()


def _nothing_passed(source: str, target: str) -> MlopsError:
    return MlopsError(
        f"no row of {source} passed the input rules: nothing scored, and {target} is left as it was"
    )


def _spark_type(arrow_type: pa.DataType) -> str:
    for name, candidate in ARROW_TYPES.items():
        if candidate == arrow_type:
            return _SPARK_TYPES.get(name, name)
    raise ValueError(f"no Spark type for {arrow_type}")


def for_runtime() -> Tables:
    """The table backend of this runtime: the one place that chooses between the two."""
    return SparkTables() if runtime.use_spark() else LocalTables()
