"""Table IO: one interface, two implementations, chosen in one place (`for_runtime`).

Tables always have three-level names, `<catalog>.<schema>.<table>`.

- `LocalTables`: Delta tables (the `deltalake` package, no JVM) under
  `.local/warehouse/<catalog>/<schema>/<table>`, the default off Databricks.
- `SparkTables`: Unity Catalog tables through Spark, on Databricks (and in the Spark tests).

The stages never ask which one they hold: everything that differs between the runtimes, the
SQL included, lives here. Column types are plain names (`long`, `double`, `string`,
`timestamp`, `timestamp_utc`) so a schema is declared once and turned into Arrow or Spark here.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa

from .. import config
from . import runtime
from .errors import MlopsError
from .location import split_name

log = logging.getLogger(__name__)

ARROW_TYPES = {
    "long": pa.int64(),
    "double": pa.float64(),
    "string": pa.string(),
    "timestamp": pa.timestamp("us"),
    "timestamp_utc": pa.timestamp("us", tz="UTC"),
}
_SPARK_TYPES = {"timestamp_utc": "timestamp"}


def arrow_schema(columns: Mapping[str, str]) -> pa.Schema:
    """{column: type name} -> Arrow schema, every column nullable."""
    return pa.schema([pa.field(name, ARROW_TYPES[kind]) for name, kind in columns.items()])


def spark_ddl(columns: Mapping[str, str]) -> str:
    """{column: type name} -> a Spark DDL schema string, e.g. `trip_id long, fare double`."""
    return ", ".join(f"{name} {_SPARK_TYPES.get(kind, kind)}" for name, kind in columns.items())


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


# A batch-scoring step: raw rows -> rows with every output column but the prediction.
Prepare = Callable[[pd.DataFrame], pd.DataFrame]


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
        what reaches memory (on Spark both happen on the cluster).
        """
        raise NotImplementedError

    def columns(self, name: str) -> list[str]:
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
        one copy and a failed run leaves the old one."""
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

    def fill_missing(self, target: str, source: str, *, key: str, column: str) -> int:
        """Set `target.column` from `source` (joined on `key`) where it is still null; returns
        how many rows were filled. Rows that already have a value are left alone."""
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
        number of rows scored."""
        raise NotImplementedError


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

        return DeltaTable.is_deltatable(str(self.path(name)))

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
        if not 0 < sample_fraction <= 1:
            raise MlopsError(f"sample_fraction must be in (0, 1], got {sample_fraction}")
        filters = [(column, "=", value) for column, value in (where or {}).items()] or None
        frame = self._delta(name).to_pandas(columns=columns, filters=filters)
        if sample_fraction < 1:
            frame = frame.sample(frac=sample_fraction, random_state=seed).sort_index()
        if max_rows and len(frame) > max_rows:
            frame = frame.sample(n=max_rows, random_state=seed).sort_index()
        return frame.reset_index(drop=True)

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
        if predicate and not self.exists(name):
            # Nothing to replace yet: the first write creates the table.
            write_deltalake(str(path), data, mode="append")
        elif predicate:
            write_deltalake(str(path), data, mode="overwrite", predicate=predicate)
        else:
            schema_mode = "overwrite" if mode == "overwrite" else None
            write_deltalake(str(path), data, mode=mode, schema_mode=schema_mode)
        log.debug("wrote %s", name)

    def _create_empty(self, name, columns):
        self.write(arrow_schema(columns).empty_table(), name, mode="append")

    def upsert(self, rows, name, *, key, schema):
        source = to_arrow(rows, schema)
        if not self.exists(name):
            self.write(source, name, mode="append")
            return
        self._delta(name).merge(
            source, predicate=f"t.{key} = s.{key}", source_alias="s", target_alias="t"
        ).when_matched_update_all().when_not_matched_insert_all().execute()

    def fill_missing(self, target, source, *, key, column):
        values = to_arrow(self.read(source, columns=[key, column]))
        metrics = (
            self._delta(target)
            .merge(values, predicate=f"t.{key} = s.{key}", source_alias="s", target_alias="t")
            .when_matched_update({column: f"s.{column}"}, predicate=f"t.{column} IS NULL")
            .execute()
        )
        return int(metrics.get("num_target_rows_updated", 0))

    def batches(self, name: str, batch_size: int, columns=None) -> Iterator[pd.DataFrame]:
        """A table in pandas chunks of at most `batch_size` rows, so memory stays bounded.

        The files are read through pyarrow's own file system, not deltalake's: the chunks are
        consumed inside a deltalake write (scoring streams into the predictions table), and
        deltalake cannot re-enter its IO runtime from there.
        """
        from pyarrow import fs

        path = self.path(name)
        dataset = self._delta(name).to_pyarrow_dataset(
            filesystem=fs.SubTreeFileSystem(str(path), fs.LocalFileSystem())
        )
        batches = dataset.to_batches(columns=columns, batch_size=batch_size)
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
        import mlflow

        model = mlflow.pyfunc.load_model(model_uri)
        chunks = self.batches(source, chunk_rows, columns=columns)
        total = 0

        def scored() -> Iterator[pa.RecordBatch]:
            nonlocal total
            for chunk in chunks:
                rows = prepare(chunk)
                rows["prediction"] = model.predict(rows[model_inputs])
                total += len(rows)
                if progress:
                    progress(total)
                yield pa.RecordBatch.from_pandas(
                    rows[schema.names], schema=schema, preserve_index=False
                )

        # One write for all chunks: the batch is replaced atomically, never half-written.
        reader = pa.RecordBatchReader.from_batches(schema, scored())
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

        if not 0 < sample_fraction <= 1:
            raise MlopsError(f"sample_fraction must be in (0, 1], got {sample_fraction}")
        frame = self._table(name)
        for column, value in (where or {}).items():
            frame = frame.where(F.col(column) == F.lit(value))
        if columns:
            frame = frame.select(*columns)
        if sample_fraction < 1:
            frame = frame.sample(fraction=sample_fraction, seed=seed)
        if max_rows:
            frame = frame.limit(max_rows)
        return frame.toPandas()

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
        writer = data.write
        if predicate and self.exists(name):
            self._require_delta(name, "replacing a slice of")
            writer = writer.mode("overwrite").option("replaceWhere", predicate)
        elif predicate:
            writer = writer.mode("append")
        else:
            writer = writer.mode(mode)
            if mode == "overwrite":
                writer = writer.option("overwriteSchema", "true")
        writer.saveAsTable(quoted(name))

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

    def fill_missing(self, target, source, *, key, column):
        self._require_delta(target, "filling")
        result = self.spark.sql(
            f"MERGE INTO {quoted(target)} AS t "
            f"USING (SELECT {key}, {column} FROM {quoted(source)}) AS s ON t.{key} = s.{key} "
            f"WHEN MATCHED AND t.{column} IS NULL THEN UPDATE SET t.{column} = s.{column}"
        )
        # Delta's MERGE answers with one row of counts.
        return int(result.first()["num_updated_rows"])

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

        prepared = [field for field in schema if field.name != "prediction"]
        ddl = ", ".join(f"{f.name} {_spark_type(f.type)}" for f in prepared)
        names = [field.name for field in prepared]
        trips = self._table(source)
        # The same pandas code as locally, run on the executors batch by batch; the model runs
        # on the cluster through spark_udf.
        rows = trips.select(*columns).mapInPandas(
            lambda batches: (prepare(batch)[names] for batch in batches), schema=ddl
        )
        predict = mlflow.pyfunc.spark_udf(
            self.spark, model_uri, result_type="double", env_manager="local"
        )
        scored = rows.withColumn("prediction", predict(F.struct(*model_inputs)))
        self.write(scored.select(*schema.names), target, mode="append", replace=replace)
        return trips.count()


def _spark_type(arrow_type: pa.DataType) -> str:
    for name, candidate in ARROW_TYPES.items():
        if candidate == arrow_type:
            return _SPARK_TYPES.get(name, name)
    raise ValueError(f"no Spark type for {arrow_type}")


def for_runtime() -> Tables:
    """The table backend of this runtime: the one place that chooses between the two."""
    return SparkTables() if runtime.use_spark() else LocalTables()
