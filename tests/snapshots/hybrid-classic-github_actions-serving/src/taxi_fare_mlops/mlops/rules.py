"""The vocabulary of the data contract: how a column is checked, and what the gate measures.

`contract.py` (the data scientist's file) declares its columns and its gate with these two
types; `inputs.py` applies the rules and `validate.py` the gate. This module imports nothing
from the project, so the contract can import it without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

# Kinds a rule checks, and the column types (features.COLUMN_TYPES) that hold each.
KINDS = ("integer", "number", "timestamp", "string")
REGRESSION = "regression"
CLASSIFICATION = "classification"
PROBLEM_TYPES = (REGRESSION, CLASSIFICATION)


@dataclass(frozen=True)
class Rule:
    """How one input column is checked: its kind, its allowed range, and what to do with a row
    whose value is null, not finite or outside the range (`drop` or `refuse`)."""

    kind: str  # integer | number | timestamp | string (text: no range, only not null)
    low: float | pd.Timestamp | None = None
    high: float | pd.Timestamp | None = None
    action: str = "drop"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Rule kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.kind == "string" and (self.low is not None or self.high is not None):
            raise ValueError("a string Rule has no range: Rule('string') checks it is not null")
        if self.action not in ("drop", "refuse"):
            raise ValueError(f"Rule action {self.action!r} is not 'drop' or 'refuse'")

    def describe(self) -> str:
        if self.low is None and self.high is None:
            return "finite" if self.kind == "number" else "not null"
        return f"between {self.low} and {self.high}"


@dataclass(frozen=True)
class Gate:
    """The validation gate: `metric` must be at or beyond `threshold` in its direction, and
    not worse than the champion's by more than the tolerance (validate.py)."""

    metric: str
    threshold: float
    higher_is_better: bool

    @property
    def bound(self) -> str:
        """ "at least" or "at most": how the threshold reads."""
        return "at least" if self.higher_is_better else "at most"

    def passes(self, value: float, limit: float) -> bool:
        """`value` is at `limit` or on its good side (NaN never passes)."""
        return value >= limit if self.higher_is_better else value <= limit

    def better(self, value: float, other: float) -> bool:
        return value > other if self.higher_is_better else value < other
