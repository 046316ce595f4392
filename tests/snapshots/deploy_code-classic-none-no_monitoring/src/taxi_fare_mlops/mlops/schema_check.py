"""Before an alias moves: can this code write the tables its stages write in that catalog?

Batch scoring writes the predictions table with this code's columns (the declared features and
the bookkeeping of `score.py`), the `label` stage the labels table. When those tables already
exist, a feature added since is merged into them and a feature removed keeps its column
(`tables.schema_change`). A change that cannot be merged (a column whose type changed, a key
column the table has not got) would only fail at the first scoring run, after `champion` had
moved to a version whose predictions cannot be written. So `validate` (before `challenger`),
`deploy` (before `champion`), `promote` (before it copies) and the local `lifecycle` (before any
step) call `require_writable` first: it reads the tables' schemas, writes nothing, and raises
`tables.SchemaConflict` with the one line that names the table, the column, its stored and its
new type and what to do.

The monitoring metrics table is not checked: its columns are the monitor's own and do not
follow the features.
"""

from __future__ import annotations

import logging

from .. import contract
from . import labels, score, tables
from .location import Location

log = logging.getLogger(__name__)


def planned_writes(location: Location) -> list[tuple[str, dict[str, str], tuple[str, ...]]]:
    """(table, {column: type name} this code writes to it, key columns) per table."""
    return [
        (location.predictions, score.PREDICTION_COLUMNS, (contract.KEY, "batch_id")),
        (location.labels, tables.declared_columns(labels.LABEL_SCHEMA), (contract.KEY,)),
    ]


def require_writable(location: Location) -> list[tables.SchemaChange]:
    """Refuse (`tables.SchemaConflict`, one line) unless this code's writes fit the tables of
    `location` that exist; returns what they will change (columns added, columns kept)."""
    store = tables.for_runtime()
    changes = []
    for table, columns, keys in planned_writes(location):
        change = store.schema_change(table, columns, keys=keys)
        if change is not None and (change.added or change.kept):
            log.info("the next write to %s", change.summary())
            changes.append(change)
    return changes
