"""What the stages accept from the tables they read: the rules of `contract.py`, applied.

Each stage checks its input table once, where it reads it:

1. **Columns and types** (`require_columns`): a missing column, or one whose type is not of the
   declared kind, refuses the whole run with one line that names the column and `contract.py`;
   nothing is written.
2. **Rows** (`clean_rows`, `clean_features`, `classify_labels`): per column, what happens to a
   row whose value is null, not finite or out of range. `drop` leaves the row out and counts it
   (the stage reports the count, and rows in = rows written + rows dropped); `refuse` stops the
   run with one line that names the column, the count and the allowed range, and leaves every
   table as it was.

The rules are `contract.INPUT_COLUMNS` (what scoring reads), `contract.OUTCOME_COLUMNS` (what
training reads besides; a row whose outcome breaks its rule is dropped) and `contract.LABEL_RULE`
(a labels load holding a label outside it is refused whole). A missing label in a labels source
is a row whose label has not arrived: skipped and counted, not an error. Training drops rows
outside `contract.TRAINING_RANGES` later (`dataset.training_rows`).

The computed features have rules too (`feature_rules()`: `features.FEATURE_RULES`, else the
input column's of the same name, else finite): batch scoring drops and counts a row that
breaks one, training leaves it out, and `serve`, whose requests carry features rather than input
rows, refuses it with the column named. So a row batch scoring would not score gets no answer
there.

Identifiers typed by people are parsed strictly: `parse_batch_id` accepts ASCII letters,
digits and `_ . : -`, at most `MAX_BATCH_ID_LENGTH` characters, and every stage that reads a
batch id (score, monitor) parses it with the same function, so an id one accepts the other can
read back. `parse_count` accepts ASCII digits only (no signs, spaces, `_` or other scripts'
digits, all of which `int()` takes), and `check_number` keeps thresholds finite and in range.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .. import contract, features
from .errors import MlopsError
from .rules import Rule

# The input columns every stage reads (training, scoring, the baseline of monitoring, raw rows
# as a labels source), and with the outcomes what training reads.
INPUT_RULES: dict[str, Rule] = dict(contract.INPUT_COLUMNS)
TRAINING_RULES: dict[str, Rule] = {**contract.INPUT_COLUMNS, **contract.OUTCOME_COLUMNS}
LABEL_RULE = contract.LABEL_RULE
KEY_RULE = Rule("integer")
INPUT_COLUMNS = list(INPUT_RULES)

# The kinds of `features.COLUMN_TYPES` (the tables this project writes) as rules' kinds.
_DECLARED_KINDS = {"long": "integer", "double": "number", "timestamp": "timestamp"}
MAX_BATCH_ID_LENGTH = 64
_BATCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
_ASCII_DIGITS = re.compile(r"[0-9]+")
# Counts typed by people (rows, days, caps): at most this many digits.
MAX_COUNT_DIGITS = 12


def _feature_rule(name: str) -> Rule:
    declared = getattr(features, "FEATURE_RULES", {})
    rule = declared.get(name) or contract.INPUT_COLUMNS.get(name)
    if rule is None:
        return Rule("integer" if features.COLUMN_TYPES[name] == "long" else "number")
    if rule.kind not in ("integer", "number"):
        raise MlopsError(
            f"feature {name} has a {rule.kind} rule, but features are numbers: give it an "
            "integer or number Rule in FEATURE_RULES (features.py)"
        )
    return rule


@functools.cache
def feature_rules() -> dict[str, Rule]:
    """The rule of every model feature (`features.FEATURE_RULES`, else the input column's of
    the same name, else finite): what batch scoring, training and `serve` accept."""
    return {name: _feature_rule(name) for name in features.MODEL_FEATURES}


def declared_kind(column: str) -> str:
    """The kind of a column the project declares in `features.COLUMN_TYPES`."""
    return _DECLARED_KINDS[features.COLUMN_TYPES[column]]


def kind_of(type_name: str) -> str:
    """An Arrow or Spark type name -> integer | number | timestamp | string | other."""
    name = type_name.strip().lower()
    if re.match(r"u?int(8|16|32|64)$|bigint$|int$|smallint$|tinyint$|long$", name):
        return "integer"
    if re.match(r"(float|double|halffloat)$|decimal", name):
        return "number"
    if name.startswith("timestamp"):
        return "timestamp"
    if name in ("string", "large_string", "utf8", "large_utf8") or name.startswith("varchar"):
        return "string"
    return "other"


def _accepts(expected: str, actual: str) -> bool:
    # Whole numbers are numbers too; nothing else converts silently.
    return actual == expected or (expected == "number" and actual == "integer")


def require_columns(store, table: str, columns: Mapping[str, Rule] | list[str]) -> None:
    """Refuse `table` unless it has every column, each of its rule's kind (one line)."""
    if not isinstance(columns, Mapping):
        columns = {name: TRAINING_RULES[name] for name in columns}
    rules = columns
    types = store.column_types(table)
    missing = [name for name in rules if name not in types]
    if missing:
        raise MlopsError(
            f"{table} has no column {', '.join(missing)}, which contract.py declares: add it to "
            "the table or change the contract"
        )
    wrong = [
        f"{name} is {types[name]}, not {rule.kind}"
        for name, rule in rules.items()
        if not _accepts(rule.kind, kind_of(types[name]))
    ]
    if wrong:
        raise MlopsError(f"{table}: {'; '.join(wrong)}")


def bad_values(values: pd.Series, rule: Rule) -> pd.Series:
    """True where a value breaks `rule`: null, not finite, or outside its range."""
    if rule.kind == "string":  # text has no range: only a missing value breaks its rule
        return pd.Series(values.isna().to_numpy(), index=values.index)
    if rule.kind == "timestamp":
        stamps = pd.to_datetime(values, errors="coerce", utc=True).dt.tz_localize(None)
        bad = stamps.isna()
        if rule.low is not None:
            bad |= stamps < rule.low
        if rule.high is not None:
            bad |= stamps > rule.high
        return bad
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    bad = ~np.isfinite(numbers)
    if rule.low is not None:
        bad |= numbers < rule.low
    if rule.high is not None:
        bad |= numbers > rule.high
    if rule.kind == "integer":
        bad |= numbers.fillna(0) != np.round(numbers.fillna(0))
    return pd.Series(bad, index=values.index)


def clean_rows(
    rows: pd.DataFrame, *, table: str, with_outcomes: bool = False
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Input rows -> the rows every rule accepts, and {column: rows dropped because of it}.

    A row is counted once, under the first column (in the contract's order) it fails. Outcome
    columns are checked only `with_outcomes` (training); a missing outcome is dropped too.
    """
    return _apply_rules(rows, TRAINING_RULES if with_outcomes else INPUT_RULES, table=table)


def clean_features(frame: pd.DataFrame, *, table: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """Featurised rows -> the rows whose every feature keeps its rule (`FEATURE_RULES`), and
    {feature: rows dropped because of it}, as `clean_rows` does for the input columns."""
    return _apply_rules(frame, feature_rules(), table=table)


def _apply_rules(
    rows: pd.DataFrame, rules: Mapping[str, Rule], *, table: str
) -> tuple[pd.DataFrame, dict[str, int]]:
    keep = pd.Series(True, index=rows.index)
    dropped: dict[str, int] = {}
    for column, rule in rules.items():
        if column not in rows.columns:
            continue
        bad = bad_values(rows[column], rule) & keep
        if bad.any():
            if rule.action == "refuse":
                raise MlopsError(
                    f"{table}: {int(bad.sum()):,} rows have {column} not {rule.describe()}"
                )
            dropped[column] = int(bad.sum())
            keep &= ~bad
    return rows[keep], dropped


def describe_dropped(dropped: Mapping[str, int]) -> str:
    """{column: rows} -> "3 rows (distance 2, zip 1)", or "" when none."""
    total = sum(dropped.values())
    if not total:
        return ""
    detail = ", ".join(f"{column} {count:,}" for column, count in dropped.items() if count)
    return f"{total:,} rows ({detail})"


# Label rows fall in exactly one of these classes (see `classify_labels`).
LABEL_OK = "ok"
LABEL_MISSING = "no label yet"
LABEL_NO_KEY = "row not identifiable"
LABEL_IMPOSSIBLE = "label outside its rule"


def classify_labels(frame: pd.DataFrame) -> pd.Series:
    """One class per row of a labels source (the key and the label, or raw input rows with their
    outcome columns, whose labels `features.compute_label` derives)."""
    from . import dataset  # dataset imports features; imported here to keep this module light

    if contract.LABEL in frame.columns:
        label = dataset.as_labels(frame[contract.LABEL], source="labels")
    else:
        label = dataset.labels_of(frame)
    classes = pd.Series(LABEL_OK, index=frame.index, dtype=object)
    if contract.KEY in frame.columns:
        unidentified = bad_values(frame[contract.KEY], KEY_RULE)
    else:
        unidentified = pd.Series(False, index=frame.index)
        for column in contract.KEY_COLUMNS:
            unidentified |= bad_values(frame[column], TRAINING_RULES[column])
    classes[bad_values(label, LABEL_RULE)] = LABEL_IMPOSSIBLE
    classes[label.isna().to_numpy()] = LABEL_MISSING
    classes[unidentified] = LABEL_NO_KEY
    return classes


def parse_batch_id(batch_id: str) -> str:
    """A batch id as every stage stores and reads it back, or one line saying why not."""
    if len(batch_id) > MAX_BATCH_ID_LENGTH:
        raise MlopsError(f"batch_id is {len(batch_id)} characters, at most {MAX_BATCH_ID_LENGTH}")
    if not _BATCH_ID.fullmatch(batch_id):
        raise MlopsError(
            f"batch_id {batch_id!r} may only hold ASCII letters, digits and _ . : - "
            "(and must start with a letter or digit)"
        )
    return batch_id


def parse_count(text: str, *, name: str, minimum: int = 0) -> int:
    """A whole number typed by a person: ASCII digits only, at most MAX_COUNT_DIGITS."""
    text = str(text).strip()
    if not _ASCII_DIGITS.fullmatch(text) or len(text) > MAX_COUNT_DIGITS:
        raise MlopsError(f"{name} must be a whole number in ASCII digits, got {text!r}")
    value = int(text)
    if value < minimum:
        raise MlopsError(f"{name} must be at least {minimum}, got {value}")
    return value


def check_number(
    value: float, *, name: str, low: float = -math.inf, high: float = math.inf, above: bool = False
) -> float:
    """A setting typed by a person (a threshold, a share, a count): finite and in its range, or
    one line naming it and the range. NaN compares false with everything, so a NaN threshold
    would pass every check that reads it; it is refused here instead. `above`: `low` itself is
    out of range."""
    number = float(value)
    in_range = (number > low if above else number >= low) and number <= high
    if not (math.isfinite(number) and in_range):
        opening, closing = "(" if above else "[", "]" if math.isfinite(high) else ")"
        allowed = f"{opening}{_bound(low)}, {_bound(high)}{closing}"
        raise MlopsError(f"{name} must be a finite number in {allowed}, got {value}")
    return number


def _bound(value: float) -> str:
    return f"{int(value):,}" if math.isfinite(value) and value == int(value) else f"{value:g}"
