"""Drift and error metrics that decide whether the model needs retraining.

Pure functions over arrays and pandas frames: no IO and no Spark, so the monitoring job on
Databricks and `python -m ... monitor` on a laptop run exactly the same check, and tests can
feed them known distributions.

Numeric features get PSI (the threshold we act on) and the KS statistic (a second opinion that
needs no binning); categorical features get the Jensen-Shannon distance.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp

from .. import contract
from .errors import DataError

# The thresholds (max_psi, gate_threshold) are the project's, in `config.py` and `contract.py`;
# this module only counts.
DEFAULT_PSI_BINS = 10

# Share given to a bin that holds no rows, so PSI's log ratio stays finite. Small enough that an
# empty bin on both sides adds nothing, large enough that a handful of rows in a bin the baseline
# never saw does not swamp every other bin.
EMPTY_BIN_SHARE = 1e-4

DRIFT_COLUMNS = ["feature", "metric", "value"]
_MISSING_CATEGORY = "<missing>"


def _as_float_array(values: Iterable) -> np.ndarray:
    """Numbers as a float array with missing values (None, pd.NA, +-inf) as NaN."""
    if isinstance(values, (pd.Series, pd.Index)):
        array = values.to_numpy(dtype=float, na_value=np.nan)
    else:
        array = np.asarray(values, dtype=float)
    array = array.ravel()
    return np.where(np.isfinite(array), array, np.nan)


def _require_rows(values: np.ndarray | pd.Series, name: str) -> None:
    if len(values) == 0:
        raise DataError(f"{name} has no rows: there is nothing to compare drift against")


def _psi_bin_index(
    values: np.ndarray, cut_points: np.ndarray, low: float, high: float
) -> np.ndarray:
    """Bin number of every value, laid out so that the baseline's empty bins sit at the ends.

    0 is below the baseline minimum, 1 to len(cut_points) + 1 are the quantile bins (closed on
    the right), then come values above the baseline maximum, then missing values.
    """
    bin_index = np.searchsorted(cut_points, values, side="left") + 1
    bin_index[values < low] = 0
    bin_index[values > high] = len(cut_points) + 2
    bin_index[np.isnan(values)] = len(cut_points) + 3
    return bin_index


def population_stability_index(expected, actual, bins: int = DEFAULT_PSI_BINS) -> float:
    """PSI of `actual` against the `expected` (training) distribution of one numeric feature.

    Bin edges are quantiles of `expected`, so every bin holds about the same share of the
    baseline: fixed-width bins would put most rows of a skewed feature (a distance, an amount)
    in one or two bins and miss shifts inside them. Ties collapse duplicate edges, which is what
    turns a constant or low-cardinality column into one bin per value instead of empty slivers.

    Besides the quantile bins there are three bins the baseline leaves empty: values below the
    training minimum, values above the training maximum (inputs the model never saw) and missing
    values (a jump in missing values usually means an upstream pipeline broke). A constant
    baseline therefore still notices a move in either direction.

    Empty bins get `EMPTY_BIN_SHARE` instead of zero; otherwise the log ratio is infinite.
    """
    expected = _as_float_array(expected)
    actual = _as_float_array(actual)
    _require_rows(expected, "expected")
    _require_rows(actual, "actual")
    observed = expected[~np.isnan(expected)]
    if observed.size == 0:
        raise ValueError("expected has only missing values: no distribution to compare against")
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")

    inner_quantiles = np.linspace(0, 1, bins + 1)[1:-1]
    cut_points = np.unique(np.quantile(observed, inner_quantiles))
    low, high = observed.min(), observed.max()
    bin_count = len(cut_points) + 4

    def shares(values: np.ndarray) -> np.ndarray:
        counts = np.bincount(_psi_bin_index(values, cut_points, low, high), minlength=bin_count)
        return np.maximum(counts / values.size, EMPTY_BIN_SHARE)

    expected_share, actual_share = shares(expected), shares(actual)
    return float(np.sum((actual_share - expected_share) * np.log(actual_share / expected_share)))


def ks_statistic(expected, actual) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two CDFs (0..1).

    Needs no bins, so it complements PSI. Only the statistic is reported, not the p-value: with
    millions of rows every tiny shift is "significant", while the gap itself stays readable.
    Missing values are left out; NaN when either side has no values left (PSI's missing-value
    bin reports that case).
    """
    expected = _as_float_array(expected)
    actual = _as_float_array(actual)
    _require_rows(expected, "expected")
    _require_rows(actual, "actual")
    expected = expected[~np.isnan(expected)]
    actual = actual[~np.isnan(actual)]
    if expected.size == 0 or actual.size == 0:
        return math.nan
    return float(ks_2samp(expected, actual).statistic)


def _category_shares(values) -> pd.Series:
    """Share of each category, with missing values as a category of their own."""
    series = pd.Series(values).astype(object)
    return series.where(series.notna(), _MISSING_CATEGORY).value_counts(normalize=True)


def jensen_shannon(expected, actual) -> float:
    """Jensen-Shannon distance between the category frequencies of two samples (0..1).

    Frequencies are aligned over the union of categories, so a category that appears only in
    one sample counts as a share of zero on the other side. Unlike KL divergence, JS stays finite
    in that case and is symmetric; base 2 bounds it by 1 (completely different categories).
    Missing values are a category of their own.
    """
    _require_rows(expected, "expected")
    _require_rows(actual, "actual")
    shares = pd.concat(
        [_category_shares(expected), _category_shares(actual)], axis=1, sort=False
    ).fillna(0.0)
    distance = jensenshannon(shares.iloc[:, 0].to_numpy(), shares.iloc[:, 1].to_numpy(), base=2)
    return float(distance)


def _require_columns(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(f"{name} lacks feature columns {missing}")


def feature_drift(
    baseline: pd.DataFrame,
    current: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
) -> pd.DataFrame:
    """Drift of every feature in `current` against `baseline`, one row per feature and metric.

    Long format (`feature`, `metric`, `value`) so the monitoring job can append it to the metrics
    table as is, with the window and model version added as columns.
    """
    if len(baseline) == 0:
        raise DataError("baseline has no rows: there is nothing to compare drift against")
    if len(current) == 0:
        raise DataError("current has no rows: no scored data in this window")
    for frame, name in ((baseline, "baseline"), (current, "current")):
        _require_columns(frame, numeric + categorical, name)

    rows = []
    for feature in numeric:
        expected, actual = baseline[feature], current[feature]
        rows.append((feature, "psi", population_stability_index(expected, actual)))
        rows.append((feature, "ks", ks_statistic(expected, actual)))
    for feature in categorical:
        rows.append((feature, "js", jensen_shannon(baseline[feature], current[feature])))
    return pd.DataFrame(rows, columns=DRIFT_COLUMNS).astype({"value": float})


def find_violations(
    drift_table: pd.DataFrame,
    errors: Mapping[str, float],
    max_psi: float,
    gate_threshold: float,
    max_js: float | None = None,
) -> list[str]:
    """One readable line per broken threshold; an empty list means the model is healthy.

    A value exactly at its threshold passes ("above 0.2" means above). NaN never violates:
    an error metric of NaN only means no labels have arrived yet. KS is reported but not acted on,
    because at millions of rows it flags shifts too small to matter; PSI is the numeric rule.
    Categorical drift (JS) is checked only when `max_js` is given.
    """
    limits = {"psi": max_psi}
    if max_js is not None:
        limits["js"] = max_js
    violations = []
    for metric, limit in limits.items():
        over = drift_table[(drift_table["metric"] == metric) & (drift_table["value"] > limit)]
        violations += [
            f"{metric} of {feature} is {value:.4g}, above {limit:g}"
            for feature, value in zip(over["feature"], over["value"], strict=True)
        ]
    gate = contract.GATE
    value = errors.get(gate.metric, math.nan)
    if value is not None and not math.isnan(value) and not gate.passes(value, gate_threshold):
        violations.append(f"{gate.metric} is {value:.4g}, not {gate.bound} {gate_threshold:g}")
    return violations
