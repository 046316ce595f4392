"""Ground truth that arrives after scoring: the real fare of each trip, keyed by trip id.

When a trip is scored its fare is not known yet, so scoring leaves the label column of
`<catalog>.<schema>.predictions` empty. Later the fares arrive:

- `record_labels` upserts them into `<catalog>.<schema>.labels` (`trip_id`, `fare_amount`,
  `labelled_at`). A trip recorded again replaces its row, so a rerun never duplicates.
- `attach_labels` copies each known fare into the predictions that have no label yet. The
  monitoring check calls it first, and the Databricks quality monitor reads its label column from
  the predictions table, so both report error metrics as soon as labels exist.

Locally a large load is upserted in key ranges of about `tables.MERGE_CHUNK_ROWS` source rows,
one deltalake MERGE (one commit) each, so the hash join the MERGE builds from its source follows
the range, not the load. The attach rewrites one scored batch at a time (a commit each), and
looks up the fares of its unlabelled rows in key ranges of the same size. A run stopped between
two commits leaves the ones before it done and the others untouched, and a rerun completes it:
the upsert replaces by key (a trip recorded again gets the same fare and a newer `labelled_at`,
never a second row), and the attach fills only labels that are still empty.
On Databricks each step is one MERGE on the cluster.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd

from .. import features
from . import inputs, tables
from .errors import MlopsError
from .location import Location

log = logging.getLogger(__name__)

ID, LABEL = features.ID, features.LABEL
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
# Raw trips (the input of scoring) identify a trip by these columns; see `features.trip_ids`.
_TRIP_KEY_COLUMNS = [column for column in features.INPUT_COLUMNS if column != LABEL]


@dataclass
class LabelResult:
    source: str
    labels_table: str
    recorded: int
    attached: int
    source_rows: int = 0
    # {reason: rows} of source rows that were not recorded (no fare yet, no trip id, a trip
    # listed twice); with `recorded` they add up to `source_rows`.
    skipped: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        line = (
            f"recorded {self.recorded:,} labels from {self.source} in {self.labels_table}; "
            f"{self.attached:,} predictions got their label"
        )
        skipped = ", ".join(f"{reason} {rows:,}" for reason, rows in self.skipped.items() if rows)
        if skipped:
            line += f" (of {self.source_rows:,} source rows, skipped: {skipped})"
        return line


def label_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """`trip_id` and `fare_amount` of every row that has a fare, one row per trip.

    `frame` either has trip ids already or is raw trips (the columns scoring reads), whose ids
    are computed the way scoring computes them.
    """
    if LABEL not in frame.columns:
        raise MlopsError(f"labels need a {LABEL} column")
    if ID in frame.columns:
        ids = frame[ID]
    elif all(column in frame.columns for column in _TRIP_KEY_COLUMNS):
        ids = features.trip_ids(frame)
    else:
        raise MlopsError(
            f"labels need {ID} and {LABEL} columns, or the trip columns "
            + ", ".join(features.INPUT_COLUMNS)
        )
    labels = pd.DataFrame({ID: ids, LABEL: frame[LABEL]}).dropna()
    labels = labels.astype({ID: "int64", LABEL: "float64"})
    return labels.drop_duplicates(ID, keep="last").reset_index(drop=True)


def _source_columns(store, table: str) -> list[str]:
    """The columns of `table` that hold labels, checked: `trip_id` and `fare_amount`, or the
    raw trip columns with `fare_amount` (a `trip_id` of another type is refused, not guessed)."""
    types = store.column_types(table)
    if ID in types:
        rules = {ID: inputs.ID_RULE, LABEL: inputs.LABEL_RULE}
    else:
        rules = {**inputs.TRIP_RULES, LABEL: inputs.LABEL_RULE}
    missing = [column for column in rules if column not in types]
    if missing:
        raise MlopsError(
            f"{table} has no {', '.join(missing)}: labels need {ID} and {LABEL} (or raw trips)"
        )
    inputs.require_columns(store, table, rules)
    return list(rules)


def read_labels(table: str) -> pd.DataFrame:
    """The labels held by a (small) table as pandas: `trip_id` and `fare_amount`, or raw trips
    with their fares. For tests and local runs; the `label` stage merges table to table."""
    store = tables.for_runtime()
    store.require(table)
    columns = _source_columns(store, table)
    # Bounded by the cap: more rows than this belong in `label`, which never loads them.
    frame = store.read(table, columns=columns, max_rows=MAX_FRAME_ROWS)
    return label_rows(frame)


def record_labels(
    frame: pd.DataFrame, *, location: Location, labelled_at: datetime | None = None
) -> int:
    """Upsert the fares in `frame` into the labels table; returns how many trips it recorded.

    Rows of trips already in the table are replaced (the newer fare wins), others inserted.
    """
    implausible = int((inputs.classify_labels(frame) == inputs.LABEL_IMPLAUSIBLE).sum())
    if implausible:
        raise MlopsError(
            f"{implausible:,} labels have {LABEL} outside "
            f"{inputs.LABEL_RULE.low:g}..{inputs.LABEL_RULE.high:g}; nothing recorded"
        )
    labels = label_rows(frame)
    if labels.empty:
        return 0
    labels[LABELLED_AT] = pd.Timestamp(labelled_at or datetime.now(timezone.utc))
    tables.for_runtime().upsert(labels, location.labels, key=ID, schema=LABEL_SCHEMA)
    log.info("recorded %s labels in %s", f"{len(labels):,}", location.labels)
    return len(labels)


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
    """The `label` command: record the fares in `source`, then attach them to predictions.

    The source is checked first (columns, types, and every fare: one outside the plausible
    range refuses the whole load, see `inputs.py`), then merged into the labels table from the
    source table itself, never through the driver's memory.
    """
    store = tables.for_runtime()
    store.require(source)
    columns = _source_columns(store, source)
    classes = store.tally(source, columns=columns, classify=inputs.classify_labels)
    implausible = classes.get(inputs.LABEL_IMPLAUSIBLE, 0)
    if implausible:
        raise MlopsError(
            f"{source}: {implausible:,} rows have {LABEL} outside "
            f"{inputs.LABEL_RULE.low:g}..{inputs.LABEL_RULE.high:g}; nothing recorded"
        )
    labelled_at = pd.Timestamp(datetime.now(timezone.utc))

    def prepare(frame: pd.DataFrame) -> pd.DataFrame:
        ok = inputs.classify_labels(frame) == inputs.LABEL_OK
        rows = label_rows(frame[ok])
        rows[LABELLED_AT] = labelled_at
        return rows

    recorded = 0
    if classes.get(inputs.LABEL_OK, 0):
        recorded = store.upsert_from(
            source, location.labels, columns=columns, prepare=prepare, key=ID, schema=LABEL_SCHEMA
        )
    log.info("recorded %s labels in %s", f"{recorded:,}", location.labels)
    attached = attach_labels(location=location)
    skipped = {
        reason: classes.get(reason, 0)
        for reason in (inputs.LABEL_NO_FARE, inputs.LABEL_NO_TRIP)
        if classes.get(reason, 0)
    }
    duplicates = classes.get(inputs.LABEL_OK, 0) - recorded
    if duplicates:
        skipped["trip listed again"] = duplicates
    return LabelResult(source, location.labels, recorded, attached, sum(classes.values()), skipped)
