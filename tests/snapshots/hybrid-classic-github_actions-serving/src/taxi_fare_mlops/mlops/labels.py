"""Ground truth that arrives after scoring: the label of each row, keyed by `contract.KEY`.

When a row is scored its label is not known yet, so scoring leaves the label column of
`<catalog>.<schema>.predictions` empty. Later the labels arrive (in the example, the fare of a
trip once it ended):

- `record_labels` upserts them into `<catalog>.<schema>.labels` (the key, the label,
  `labelled_at`). A row recorded again replaces its row, so a rerun never duplicates.
- `attach_labels` copies each known label into the predictions that have no label yet. The
  monitoring check calls it first, and the Databricks quality monitor reads its label column from
  the predictions table, so both report error metrics as soon as labels exist.
- `correct_labels` runs after each load: a prediction that already has a label the load changes
  (a corrected label) gets the new one, so the two tables always agree and monitoring measures
  against the newest label. Only the load's rows are looked at (its `labelled_at`).

Locally a large load is upserted in key ranges of about `tables.MERGE_CHUNK_ROWS` source rows,
one deltalake MERGE (one commit) each, so the hash join the MERGE builds from its source follows
the range, not the load. The attach rewrites one scored batch at a time (a commit each), and
looks up the labels of its unlabelled rows in key ranges of the same size. A run stopped between
two commits leaves the ones before it done and the others untouched, and a rerun completes it:
the upsert replaces by key (a row recorded again gets the same label and a newer `labelled_at`,
never a second row), and the attach fills only labels that are still empty.
On Databricks each step is one MERGE on the cluster.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd

from .. import contract, features
from . import dataset, inputs, tables
from .errors import MlopsError
from .location import Location

log = logging.getLogger(__name__)

ID, LABEL = contract.KEY, contract.LABEL
LABELLED_AT = "labelled_at"
LABEL_SCHEMA = tables.arrow_schema(
    {
        ID: features.COLUMN_TYPES[ID],
        LABEL: features.COLUMN_TYPES[LABEL],
        LABELLED_AT: "timestamp_utc",
    }
)
# read_labels loads at most this many rows into memory (a random sample beyond it).
MAX_FRAME_ROWS = 1_000_000


@dataclass
class LabelResult:
    source: str
    labels_table: str
    recorded: int
    attached: int
    source_rows: int = 0
    # {reason: rows} of source rows that were not recorded (no label yet, no key, a row
    # listed twice); with `recorded` they add up to `source_rows`.
    skipped: dict[str, int] = field(default_factory=dict)
    # Predictions that had a label the load changed (a corrected label), now given the new one.
    corrected: int = 0

    def summary(self) -> str:
        line = (
            f"recorded {self.recorded:,} labels from {self.source} in {self.labels_table}; "
            f"{self.attached:,} predictions got their label"
        )
        if self.corrected:
            line += f", {self.corrected:,} a corrected one"
        skipped = ", ".join(f"{reason} {rows:,}" for reason, rows in self.skipped.items() if rows)
        if skipped:
            line += f" (of {self.source_rows:,} source rows, skipped: {skipped})"
        return line


def label_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The key and label of every row that has a label, one row per key.

    `frame` either has keys and labels already or is raw input rows with their outcome columns,
    whose keys and labels are computed the way scoring and training compute them.
    """
    if ID in frame.columns and LABEL in frame.columns:
        labels = pd.DataFrame(
            {ID: frame[ID], LABEL: dataset.as_labels(frame[LABEL], source="labels")}
        )
    elif all(
        column in frame.columns for column in [*contract.KEY_COLUMNS, *contract.OUTCOME_COLUMNS]
    ):
        labels = pd.DataFrame({ID: dataset.row_ids(frame), LABEL: dataset.labels_of(frame)})
    else:
        raise MlopsError(
            f"labels need {ID} and {LABEL} columns, or the input columns "
            + ", ".join([*contract.KEY_COLUMNS, *contract.OUTCOME_COLUMNS])
        )
    labels = labels.dropna()
    labels = labels.astype({ID: "int64", LABEL: dataset.label_dtype()})
    return labels.drop_duplicates(ID, keep="last").reset_index(drop=True)


def _source_columns(store, table: str) -> list[str]:
    """The columns of `table` that hold labels, checked: the key and the label, or the raw
    input columns with the outcomes (a key of another type is refused, not guessed). Input
    rows may hold the key column too (one integer id column is the key): without the label
    column they are raw rows, whose labels `features.compute_label` derives."""
    types = store.column_types(table)
    if ID in types and LABEL in types:
        rules = {ID: inputs.KEY_RULE, LABEL: inputs.LABEL_RULE}
    else:
        rules = dict(inputs.TRAINING_RULES)
    missing = [column for column in rules if column not in types]
    if missing:
        raise MlopsError(
            f"{table} has no {', '.join(missing)}: labels need {ID} and {LABEL} (or the input "
            "columns with their outcomes, contract.py)"
        )
    inputs.require_columns(store, table, rules)
    return list(rules)


def read_labels(table: str) -> pd.DataFrame:
    """The labels held by a (small) table as pandas: keys and labels, or raw input rows with
    their outcomes. For tests and local runs; the `label` stage merges table to table."""
    store = tables.for_runtime()
    store.require(table)
    columns = _source_columns(store, table)
    # Bounded by the cap: more rows than this belong in `label`, which never loads them.
    frame = store.read(table, columns=columns, max_rows=MAX_FRAME_ROWS)
    return label_rows(frame)


def record_labels(
    frame: pd.DataFrame, *, location: Location, labelled_at: datetime | None = None
) -> int:
    """Upsert the labels in `frame` into the labels table; returns how many rows it recorded.

    Rows already in the table are replaced (the newer label wins), others inserted.
    """
    impossible = int((inputs.classify_labels(frame) == inputs.LABEL_IMPOSSIBLE).sum())
    if impossible:
        raise MlopsError(
            f"{impossible:,} labels have {LABEL} not {inputs.LABEL_RULE.describe()} "
            "(contract.LABEL_RULE); nothing recorded"
        )
    labels = label_rows(frame)
    if labels.empty:
        return 0
    # Microseconds, as the table stores it: `correct_labels` finds this load by it.
    labelled_at = pd.Timestamp(labelled_at or datetime.now(timezone.utc)).floor("us")
    labels[LABELLED_AT] = labelled_at
    store = tables.for_runtime()
    # A first load corrects nothing: no label was recorded before it.
    corrections_possible = store.exists(location.labels)
    store.upsert(labels, location.labels, key=ID, schema=LABEL_SCHEMA)
    log.info("recorded %s labels in %s", f"{len(labels):,}", location.labels)
    if corrections_possible:
        correct_labels(location=location, labelled_at=labelled_at)
    return len(labels)


def correct_labels(*, location: Location, labelled_at: pd.Timestamp) -> int:
    """Give the predictions that already have a label the one the load recorded at
    `labelled_at` holds for them, where it differs (a corrected label); returns how many
    changed. So the predictions table, which monitoring and the quality monitor read, always
    agrees with the labels table."""
    store = tables.for_runtime()
    if not (store.exists(location.predictions) and store.exists(location.labels)):
        return 0
    corrected = store.correct(
        location.predictions,
        location.labels,
        key=ID,
        column=LABEL,
        by="batch_id",
        among={LABELLED_AT: labelled_at},
    )
    if corrected:
        log.info("corrected %s labels in %s", f"{corrected:,}", location.predictions)
    return corrected


def attach_labels(*, location: Location) -> int:
    """Fill the label of predictions that have none from the labels table; returns how many
    prediction rows got one. Labelled predictions are left alone, so it can run any time."""
    store = tables.for_runtime()
    if not (store.exists(location.predictions) and store.exists(location.labels)):
        return 0
    attached = store.fill_missing(
        location.predictions, location.labels, key=ID, column=LABEL, by="batch_id"
    )
    log.info("attached %s labels to %s", f"{attached:,}", location.predictions)
    return attached


def label(*, location: Location, source: str) -> LabelResult:
    """The `label` command: record the labels in `source`, then attach them to predictions.

    The source is checked first (columns, types, and every label: one outside
    `contract.LABEL_RULE` refuses the whole load, see `inputs.py`), then merged into the labels
    table from the source table itself, never through the driver's memory.
    """
    store = tables.for_runtime()
    store.require(source)
    columns = _source_columns(store, source)
    classes = store.tally(source, columns=columns, classify=inputs.classify_labels)
    impossible = classes.get(inputs.LABEL_IMPOSSIBLE, 0)
    if impossible:
        raise MlopsError(
            f"{source}: {impossible:,} rows have {LABEL} not {inputs.LABEL_RULE.describe()} "
            "(contract.LABEL_RULE); nothing recorded"
        )
    labelled_at = pd.Timestamp(datetime.now(timezone.utc)).floor("us")

    def prepare(frame: pd.DataFrame) -> pd.DataFrame:
        ok = inputs.classify_labels(frame) == inputs.LABEL_OK
        rows = label_rows(frame[ok])
        rows[LABELLED_AT] = labelled_at
        return rows

    recorded = 0
    corrections_possible = store.exists(location.labels)  # a first load corrects nothing
    if classes.get(inputs.LABEL_OK, 0):
        recorded = store.upsert_from(
            source, location.labels, columns=columns, prepare=prepare, key=ID, schema=LABEL_SCHEMA
        )
    log.info("recorded %s labels in %s", f"{recorded:,}", location.labels)
    attached = attach_labels(location=location)
    corrected = 0
    if recorded and corrections_possible:
        corrected = correct_labels(location=location, labelled_at=labelled_at)
    skipped = {
        reason: classes.get(reason, 0)
        for reason in (inputs.LABEL_MISSING, inputs.LABEL_NO_KEY)
        if classes.get(reason, 0)
    }
    duplicates = classes.get(inputs.LABEL_OK, 0) - recorded
    if duplicates:
        skipped["row listed again"] = duplicates
    return LabelResult(
        source, location.labels, recorded, attached, sum(classes.values()), skipped, corrected
    )
