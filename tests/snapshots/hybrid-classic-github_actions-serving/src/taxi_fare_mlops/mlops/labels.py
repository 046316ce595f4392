"""Ground truth that arrives after scoring: the real fare of each trip, keyed by trip id.

When a trip is scored its fare is not known yet, so scoring leaves the label column of
`<catalog>.<schema>.predictions` empty. Later the fares arrive:

- `record_labels` upserts them into `<catalog>.<schema>.labels` (`trip_id`, `fare_amount`,
  `labelled_at`). A trip recorded again replaces its row, so a rerun never duplicates.
- `attach_labels` copies each known fare into the predictions that have no label yet. The
  monitoring check calls it first, and the Databricks quality monitor reads its label column from
  the predictions table, so both report error metrics as soon as labels exist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd

from .. import features
from . import tables
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
# Raw trips (the input of scoring) identify a trip by these columns; see `features.trip_ids`.
_TRIP_KEY_COLUMNS = [column for column in features.INPUT_COLUMNS if column != LABEL]


@dataclass
class LabelResult:
    source: str
    labels_table: str
    recorded: int
    attached: int

    def summary(self) -> str:
        return (
            f"recorded {self.recorded:,} labels from {self.source} in {self.labels_table}; "
            f"{self.attached:,} predictions got their label"
        )


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


def read_labels(table: str) -> pd.DataFrame:
    """The labels held by a table: `trip_id` and `fare_amount`, or raw trips with their fares."""
    store = tables.for_runtime()
    columns = store.columns(table)
    wanted = [ID, LABEL] if ID in columns else features.INPUT_COLUMNS
    missing = [column for column in wanted if column not in columns]
    if missing:
        raise MlopsError(
            f"{table} has no {', '.join(missing)}: labels need {ID} and {LABEL} (or raw trips)"
        )
    return label_rows(store.read(table, columns=wanted))


def record_labels(
    frame: pd.DataFrame, *, location: Location, labelled_at: datetime | None = None
) -> int:
    """Upsert the fares in `frame` into the labels table; returns how many trips it recorded.

    Rows of trips already in the table are replaced (the newer fare wins), others inserted.
    """
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
    attached = store.fill_missing(location.predictions, location.labels, key=ID, column=LABEL)
    log.info("attached %s labels to %s", f"{attached:,}", location.predictions)
    return attached


def label(*, location: Location, source: str) -> LabelResult:
    """The `label` command: record the fares in `source`, then attach them to predictions."""
    recorded = record_labels(read_labels(source), location=location)
    attached = attach_labels(location=location)
    return LabelResult(source, location.labels, recorded, attached)
