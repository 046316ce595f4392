"""PNG plots of the monitoring metrics, for people to look at and for MLflow to keep.

The Agg backend renders to files only: the monitoring job runs headless, and a display backend
would fail there or pop up windows locally. Every function closes its figure, because a
scheduled job that plots every window would otherwise keep them all in memory.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

# The backend must be chosen before pyplot is imported.
matplotlib.use("Agg")

import matplotlib.pyplot as plt

from .errors import DataError

_OK_COLOUR = "tab:blue"
_ALERT_COLOUR = "tab:red"


def _save(figure: plt.Figure, path: str | Path) -> Path:
    """Write `figure` as PNG to `path`, creating its folder, and free the figure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        figure.savefig(path, format="png", dpi=100, bbox_inches="tight")
    finally:
        plt.close(figure)
    return path


def _require_columns(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(f"{name} lacks columns {missing}")


def plot_feature_drift(
    drift_table: pd.DataFrame,
    path: str | Path,
    max_psi: float | None = None,
    batch_id: str = "",
) -> Path:
    """Horizontal bar chart of PSI per numeric feature, drifted features in red.

    Horizontal bars keep long feature names readable; with `max_psi` a dashed line shows the
    threshold, so the chart answers "which features pushed us over" at a glance. The title names
    `batch_id`: the charts of several batches side by side (the lifecycle page) look alike.
    """
    _require_columns(drift_table, ["feature", "metric", "value"], "drift_table")
    psi = drift_table[drift_table["metric"] == "psi"].sort_values("value")
    figure, axes = plt.subplots(figsize=(8, 1.5 + 0.4 * max(len(psi), 1)))
    if psi.empty:
        axes.text(0.5, 0.5, "no numeric features", ha="center", va="center")
    else:
        values = psi["value"].to_numpy(dtype=float)
        drifted = values > max_psi if max_psi is not None else np.zeros(len(values), dtype=bool)
        colours = np.where(drifted, _ALERT_COLOUR, _OK_COLOUR)
        axes.barh(psi["feature"].astype(str), values, color=colours)
    if max_psi is not None:
        axes.axvline(max_psi, color=_ALERT_COLOUR, linestyle="--", label=f"threshold {max_psi:g}")
        axes.legend(loc="lower right")
    axes.set_xlabel("population stability index")
    axes.set_title(drift_title(batch_id))
    return _save(figure, path)


def drift_title(batch_id: str = "") -> str:
    """The drift chart's title, which the lifecycle page also gives the image as its text."""
    batch = f" of batch {batch_id}" if batch_id else ""
    return f"Feature drift{batch} against the training baseline"


ERROR_TITLE = "Prediction quality over time"


def plot_error_over_time(metrics_history: pd.DataFrame, path: str | Path) -> Path:
    """Line chart of each error metric (every column but `window_start`) per monitoring window.

    Windows whose labels have not arrived yet (NaN) show as gaps rather than as zero error.
    """
    _require_columns(metrics_history, ["window_start"], "metrics_history")
    names = [column for column in metrics_history.columns if column != "window_start"]
    history = metrics_history.sort_values("window_start")
    figure, axes = plt.subplots(figsize=(8, 4))
    if history.empty:
        axes.text(0.5, 0.5, "no monitoring windows yet", ha="center", va="center")
    else:
        for metric in names:
            values = history[metric].to_numpy(dtype=float, na_value=np.nan)
            axes.plot(history["window_start"], values, marker="o", label=metric)
        axes.legend()
        figure.autofmt_xdate()
    axes.set_xlabel("window start")
    axes.set_ylabel("metric")
    axes.set_title(ERROR_TITLE)
    return _save(figure, path)


# The exploration notebook shows these figures inline (`display(figure)`), so they are returned
# open; `save_figure` writes one to a file and frees it.


def distributions_figure(
    frame: pd.DataFrame, columns: list[str], valid_ranges: dict | None = None
) -> plt.Figure:
    """One histogram per column, with the valid range (if any) as dashed lines: values outside
    them are what training leaves out."""
    _require_columns(frame, columns, "frame")
    valid_ranges = valid_ranges or {}
    per_row = 3
    rows = max(1, -(-len(columns) // per_row))
    figure, grid = plt.subplots(rows, per_row, figsize=(4 * per_row, 2.8 * rows), squeeze=False)
    for axes, column in zip(grid.flat, columns):
        values = pd.to_numeric(frame[column], errors="coerce").dropna()
        if values.empty:
            axes.text(0.5, 0.5, "no values", ha="center", va="center")
        else:
            axes.hist(values.to_numpy(dtype=float), bins=40, color=_OK_COLOUR)
        for bound in valid_ranges.get(column, ()):
            axes.axvline(bound, color=_ALERT_COLOUR, linestyle="--")
        axes.set_title(column)
    for axes in list(grid.flat)[len(columns) :]:
        axes.set_visible(False)
    figure.suptitle(f"Distributions of {len(frame):,} rows")
    figure.tight_layout()
    return figure


def comparison_figure(comparison: pd.DataFrame, metric: str | None = None) -> plt.Figure:
    """Horizontal bars of `metric` (default: the gate's) per try; the champion's bar in red, so
    the question "which try beats it" is answered at a glance."""
    from .. import contract
    from .metrics import HIGHER_IS_BETTER

    metric = metric or contract.GATE.metric
    higher_is_better = HIGHER_IS_BETTER.get(metric, False)
    _require_columns(comparison, ["name", metric, "is_champion"], "comparison")
    ordered = comparison.sort_values(metric, ascending=False)
    figure, axes = plt.subplots(figsize=(8, 1.5 + 0.4 * max(len(ordered), 1)))
    colours = np.where(ordered["is_champion"].to_numpy(dtype=bool), _ALERT_COLOUR, _OK_COLOUR)
    axes.barh(ordered["name"].astype(str), ordered[metric].to_numpy(dtype=float), color=colours)
    axes.set_xlabel(f"hold-out {metric}")
    better = "higher" if higher_is_better else "lower"
    axes.set_title(f"Tries against the champion ({metric}, {better} is better)")
    return figure


def save_figure(figure: plt.Figure, path: str | Path) -> Path:
    """Write a figure returned above as PNG and free it."""
    return _save(figure, path)
