"""Batch inference: score a table with the `champion` model into `<catalog>.<schema>.predictions`.

Each run is one batch (`batch_id`, today's date by default). The predictions table keeps every
batch, with the model version and time of scoring, so monitoring can look back in time;
scoring a batch again replaces that batch in one transaction (no duplicates, nothing lost).
An input table without rows is refused before anything is written: replacing a batch with
nothing would delete it, and the labels attached to it. Two runs scoring the same batch at
once take turns locally (a file lock); on Spark the one whose commit loses tries again
(`errors.retry_conflicts`): either way the batch holds each row once.

The label column (`contract.LABEL`) is always written empty, even when the input has outcomes:
the real label of a row arrives later and reaches the predictions through the labels table
(`labels.py`), so there is one way in for ground truth, not two that could disagree.

The predictions table's columns are `features.COLUMN_TYPES`, the model's answer
(`outputs.py`: the prediction, and a classifier's probabilities) and the bookkeeping below, so a
new feature reaches it without an edit here: a table scored before gets the new column (null in
its old batches), and a removed feature's column stays (null in new batches). A changed type
is refused before the model runs (`tables.schema_change`). Locally the input is read in chunks
and written as a stream; on Databricks the model runs on the cluster (both in `tables.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timezone

import pandas as pd

from .. import config, contract, features
from . import dataset, errors, inputs, outputs, registry, runtime, tables
from .errors import MlopsError
from .location import Location

log = logging.getLogger(__name__)

CHUNK_ROWS = 250_000
# What scoring adds to the feature columns. The label stays null until labels are attached.
BOOKKEEPING_COLUMNS = {
    **outputs.column_types(),
    "model_version": "string",
    "scored_at": "timestamp_utc",
    "batch_id": "string",
}
PREDICTION_COLUMNS = {**features.COLUMN_TYPES, **BOOKKEEPING_COLUMNS}
PREDICTION_SCHEMA = tables.arrow_schema(PREDICTION_COLUMNS)
# What scoring reads from the input: its declared columns, never the outcomes.
INPUT_COLUMNS = dataset.SCORING_COLUMNS


@dataclass
class ScoreResult:
    table: str
    batch_id: str
    rows: int
    model_version: str
    # Input rows left out because a key value was null, not finite or out of range (inputs.py).
    dropped: int = 0

    def summary(self) -> str:
        line = (
            f"scored {self.rows:,} rows with version {self.model_version} into {self.table} "
            f"(batch {self.batch_id})"
        )
        if self.dropped:
            line += f"; left out {self.dropped:,} input rows with invalid values"
        return line


def resolve_batch_id(batch_id: str | None) -> str:
    return inputs.parse_batch_id((batch_id or "").strip() or date.today().isoformat())


def prepare_rows(raw: pd.DataFrame, *, version: str, scored_at, batch_id: str) -> pd.DataFrame:
    """One chunk of input rows -> the features, an empty label and the bookkeeping columns
    (everything but the model's answer). Rows that break the input rules, or whose features
    break theirs, are left out (`inputs`); `score` reports how many."""
    raw, _ = inputs.clean_rows(raw, table="input")
    prepared, _ = inputs.clean_features(dataset.add_features(raw), table="input")
    prepared[contract.LABEL] = dataset.empty_labels(prepared.index)
    prepared["model_version"] = version
    prepared["scored_at"] = scored_at
    prepared["batch_id"] = batch_id
    return prepared


def score(
    *,
    location: Location,
    input_table: str = config.INPUT_TABLE,
    batch_id: str = "",
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
) -> ScoreResult:
    """Score every row of `input_table` with the champion of `location.model`."""
    batch_id = resolve_batch_id(batch_id)
    version = registry.require_alias(
        location.model,
        config.CHAMPION,
        ": train, validate and deploy (or promote) a version first",
    )
    store = tables.for_runtime()
    store.require(input_table)
    inputs.require_columns(store, input_table, INPUT_COLUMNS)
    # Before the model runs: a predictions table these columns cannot be merged into.
    store.schema_change(location.predictions, PREDICTION_COLUMNS, keys=(contract.KEY, "batch_id"))
    input_rows = store.count(input_table)
    if input_rows == 0:
        raise MlopsError(
            f"{input_table} has no rows: nothing to score, and batch {batch_id} of "
            f"{location.predictions} is left as it was"
        )
    scored_at = pd.Timestamp(datetime.now(timezone.utc))

    def prepare(raw: pd.DataFrame) -> pd.DataFrame:
        return prepare_rows(raw, version=version, scored_at=scored_at, batch_id=batch_id)

    def write() -> int:
        return store.score(
            input_table,
            location.predictions,
            columns=INPUT_COLUMNS,
            prepare=prepare,
            model_uri=location.model_uri(version),
            model_inputs=features.MODEL_FEATURES,
            schema=PREDICTION_SCHEMA,
            replace={"batch_id": batch_id},
            chunk_rows=chunk_rows,
            progress=progress,
        )

    # Locally, runs of the same batch take turns: deltalake retries a blind append (the first
    # write creates the table) without noticing that the other run wrote the same batch. On
    # Spark, Delta's own conflict checks catch it, and replacing a batch is safe to repeat.
    with nullcontext() if runtime.use_spark() else runtime.local_lock(location.predictions):
        rows = errors.retry_conflicts(write)
    result = ScoreResult(location.predictions, batch_id, rows, version, input_rows - rows)
    log.info("%s", result.summary())
    return result
