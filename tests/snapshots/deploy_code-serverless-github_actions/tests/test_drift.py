"""Drift and error metrics on distributions whose answer is known, and the violation rule."""

import math

import numpy as np
import pandas as pd
import pytest

from taxi_fare_mlops import config, contract
from taxi_fare_mlops.mlops import drift, metrics

GATE = contract.GATE.metric
regression_only = pytest.mark.skipif(
    contract.PROBLEM_TYPE != "regression", reason="problem type: regression metrics"
)

ROWS = 20_000


@pytest.fixture
def rng():
    return np.random.default_rng(42)


@pytest.fixture
def normal_sample(rng):
    return rng.normal(loc=10.0, scale=2.0, size=ROWS)


# --- PSI ---------------------------------------------------------------------------------------


def test_psi_of_a_sample_against_itself_is_zero(normal_sample):
    assert drift.population_stability_index(normal_sample, normal_sample) == pytest.approx(0.0)


def test_psi_of_two_samples_from_one_distribution_is_near_zero(rng, normal_sample):
    other = rng.normal(loc=10.0, scale=2.0, size=ROWS)
    assert drift.population_stability_index(normal_sample, other) < 0.02


def test_psi_of_a_mean_shift_by_one_sd_is_above_the_default_threshold(rng, normal_sample):
    shifted = rng.normal(loc=12.0, scale=2.0, size=ROWS)
    assert drift.population_stability_index(normal_sample, shifted) > config.MAX_PSI


def test_psi_grows_with_the_shift(rng, normal_sample):
    small = drift.population_stability_index(normal_sample, normal_sample + 0.2)
    large = drift.population_stability_index(normal_sample, normal_sample + 2.0)
    assert 0 < small < large


def test_psi_is_finite_when_current_values_fall_outside_the_training_range(normal_sample):
    value = drift.population_stability_index(normal_sample, normal_sample + 100.0)
    assert math.isfinite(value)
    assert value > config.MAX_PSI


def test_psi_of_a_constant_column_is_zero_when_it_stays_constant():
    constant = np.full(1_000, 3.0)
    assert drift.population_stability_index(constant, constant[:100]) == pytest.approx(0.0)


@pytest.mark.parametrize("moved_to", [2.0, 4.0])
def test_psi_of_a_constant_column_notices_a_move_in_either_direction(moved_to):
    constant = np.full(1_000, 3.0)
    moved = np.full(1_000, moved_to)
    assert drift.population_stability_index(constant, moved) > config.MAX_PSI


def test_psi_of_a_low_cardinality_column(rng):
    passengers = rng.choice([1, 2, 3, 4], p=[0.7, 0.2, 0.07, 0.03], size=ROWS)
    same_mix = rng.choice([1, 2, 3, 4], p=[0.7, 0.2, 0.07, 0.03], size=ROWS)
    new_mix = rng.choice([1, 2, 3, 4], p=[0.25, 0.25, 0.25, 0.25], size=ROWS)
    assert drift.population_stability_index(passengers, same_mix) < 0.02
    assert drift.population_stability_index(passengers, new_mix) > config.MAX_PSI


def test_psi_treats_missing_values_as_their_own_bin(normal_sample):
    with_gaps = normal_sample.copy()
    with_gaps[::10] = np.nan
    assert drift.population_stability_index(with_gaps, with_gaps) == pytest.approx(0.0)
    mostly_missing = normal_sample.copy()
    mostly_missing[: ROWS // 2] = np.nan
    value = drift.population_stability_index(with_gaps, mostly_missing)
    assert math.isfinite(value)
    assert value > config.MAX_PSI


def test_psi_accepts_nullable_pandas_columns():
    expected = pd.Series([1, 2, 3, None, 5] * 100, dtype="Int64")
    assert drift.population_stability_index(expected, expected) == pytest.approx(0.0)


def test_psi_with_empty_current_raises(normal_sample):
    with pytest.raises(ValueError, match="actual has no rows"):
        drift.population_stability_index(normal_sample, np.array([]))


def test_psi_with_an_all_missing_baseline_raises():
    with pytest.raises(ValueError, match="only missing values"):
        drift.population_stability_index(np.full(10, np.nan), np.arange(10.0))


# --- KS ----------------------------------------------------------------------------------------


def test_ks_of_a_sample_against_itself_is_zero(normal_sample):
    assert drift.ks_statistic(normal_sample, normal_sample) == pytest.approx(0.0)


def test_ks_of_two_samples_from_one_distribution_is_small(rng, normal_sample):
    other = rng.normal(loc=10.0, scale=2.0, size=ROWS)
    assert drift.ks_statistic(normal_sample, other) < 0.03


def test_ks_of_a_mean_shift_by_one_sd_is_large(rng, normal_sample):
    shifted = rng.normal(loc=12.0, scale=2.0, size=ROWS)
    # The CDFs of N(0, 1) and N(1, 1) are at most 2 * Phi(0.5) - 1 = 0.38 apart.
    assert drift.ks_statistic(normal_sample, shifted) == pytest.approx(0.38, abs=0.03)


def test_ks_ignores_missing_values(normal_sample):
    with_gaps = normal_sample.copy()
    with_gaps[::3] = np.nan
    assert drift.ks_statistic(normal_sample, with_gaps) < 0.03


def test_ks_is_nan_when_current_has_only_missing_values(normal_sample):
    assert math.isnan(drift.ks_statistic(normal_sample, np.full(10, np.nan)))


def test_ks_with_empty_current_raises(normal_sample):
    with pytest.raises(ValueError, match="actual has no rows"):
        drift.ks_statistic(normal_sample, [])


# --- Jensen-Shannon ----------------------------------------------------------------------------


def test_js_of_identical_category_mixes_is_zero():
    zones = ["midtown", "jfk", "midtown", "harlem"]
    assert drift.jensen_shannon(zones, list(reversed(zones))) == 0.0


def test_js_of_a_shifted_category_mix_is_positive(rng):
    zones = ["midtown", "jfk", "harlem"]
    before = rng.choice(zones, p=[0.6, 0.3, 0.1], size=ROWS)
    after = rng.choice(zones, p=[0.2, 0.3, 0.5], size=ROWS)
    assert 0.1 < drift.jensen_shannon(before, after) < 1.0


def test_js_of_disjoint_categories_is_one():
    assert drift.jensen_shannon(["a", "b"] * 50, ["c", "d"] * 50) == pytest.approx(1.0)


def test_js_counts_a_category_that_only_appears_in_current():
    value = drift.jensen_shannon(["a"] * 90 + ["b"] * 10, ["a"] * 90 + ["new"] * 10)
    assert 0.0 < value < 1.0


def test_js_treats_missing_values_as_a_category():
    baseline = pd.Series(["a", "b", None, "a"])
    assert drift.jensen_shannon(baseline, baseline) == 0.0
    assert drift.jensen_shannon(baseline, pd.Series([None] * 4)) > 0.5


def test_js_accepts_pandas_categoricals():
    baseline = pd.Series(["a", "b", "a"], dtype="category")
    current = pd.Series(["a", "b", "a", "b"], dtype="category")
    assert 0.0 < drift.jensen_shannon(baseline, current) < 0.2


def test_js_with_empty_current_raises():
    with pytest.raises(ValueError, match="actual has no rows"):
        drift.jensen_shannon(["a", "b"], [])


# --- feature_drift -----------------------------------------------------------------------------


@pytest.fixture
def baseline(rng):
    return pd.DataFrame(
        {
            "trip_distance": rng.gamma(shape=2.0, scale=1.5, size=ROWS),
            "pickup_hour": rng.integers(0, 24, size=ROWS),
            "pickup_zip": rng.choice(["10001", "10002", "10003"], size=ROWS),
        }
    )


def test_feature_drift_has_one_row_per_feature_and_metric(baseline):
    numeric, categorical = ["trip_distance", "pickup_hour"], ["pickup_zip"]
    table = drift.feature_drift(baseline, baseline, numeric, categorical)
    assert list(table.columns) == ["feature", "metric", "value"]
    assert set(zip(table["feature"], table["metric"], strict=True)) == {
        ("trip_distance", "psi"),
        ("trip_distance", "ks"),
        ("pickup_hour", "psi"),
        ("pickup_hour", "ks"),
        ("pickup_zip", "js"),
    }
    assert table["value"].dtype == float
    assert np.allclose(table["value"], 0.0)


def test_feature_drift_flags_only_the_shifted_feature(baseline):
    longer_trips = baseline.assign(trip_distance=baseline["trip_distance"] * 2)
    table = drift.feature_drift(baseline, longer_trips, ["trip_distance", "pickup_hour"], [])
    psi = table[table["metric"] == "psi"].set_index("feature")["value"]
    assert psi["trip_distance"] > config.MAX_PSI
    assert psi["pickup_hour"] == pytest.approx(0.0)


def test_feature_drift_with_empty_current_raises(baseline):
    with pytest.raises(ValueError, match="current has no rows"):
        drift.feature_drift(baseline, baseline.iloc[0:0], ["trip_distance"], ["pickup_zip"])


def test_feature_drift_names_missing_columns(baseline):
    with pytest.raises(ValueError, match="fare_amount"):
        drift.feature_drift(baseline, baseline, ["trip_distance", "fare_amount"], [])


# --- the task's error metrics (metrics.compute), as monitoring applies them ----------------------


@regression_only
def test_error_metrics_on_known_numbers():
    errors = metrics.compute([1.0, 2.0, 3.0, 4.0], np.array([2.0, 2.0, 3.0, 2.0]))
    # residuals 1, 0, 0, -2: squared mean 5 / 4, absolute mean 3 / 4
    assert errors["rmse"] == pytest.approx(math.sqrt(1.25))
    assert errors["mae"] == pytest.approx(0.75)


@regression_only
def test_error_metrics_leave_out_rows_without_a_label():
    errors = metrics.compute([1.0, np.nan, 3.0, np.nan], np.array([2.0, 100.0, 3.0, 100.0]))
    assert errors["rmse"] == pytest.approx(math.sqrt(0.5))
    assert errors["mae"] == pytest.approx(0.5)


def test_error_metrics_without_labels_are_nan():
    errors = metrics.compute(pd.Series([np.nan, np.nan]), np.array([1.0, 2.0]))
    assert set(errors) == set(contract.METRICS) | {GATE}
    assert all(math.isnan(value) for value in errors.values())


@regression_only
def test_error_metrics_reject_a_missing_prediction_on_a_labelled_row():
    with pytest.raises(ValueError, match="prediction is missing"):
        metrics.compute([1.0, 2.0], np.array([1.0, np.nan]))


# --- find_violations ---------------------------------------------------------------------------


def drift_rows(*rows):
    return pd.DataFrame(rows, columns=drift.DRIFT_COLUMNS)


LIMITS = {"max_psi": 0.2, "gate_threshold": 4.0}
HEALTHY_ERRORS = {"rmse": 3.0, "mae": 2.0}


@regression_only
def test_no_violations_means_healthy():
    table = drift_rows(("trip_distance", "psi", 0.05), ("trip_distance", "ks", 0.02))
    assert drift.find_violations(table, HEALTHY_ERRORS, **LIMITS) == []


def test_psi_above_the_threshold_is_reported_readably():
    table = drift_rows(("trip_distance", "psi", 0.41), ("pickup_hour", "psi", 0.01))
    violations = drift.find_violations(table, HEALTHY_ERRORS, **LIMITS)
    assert violations == ["psi of trip_distance is 0.41, above 0.2"]


@regression_only
def test_psi_exactly_at_the_threshold_is_not_a_violation():
    at_threshold = drift_rows(("trip_distance", "psi", 0.2))
    just_above = drift_rows(("trip_distance", "psi", 0.2001))
    assert drift.find_violations(at_threshold, HEALTHY_ERRORS, **LIMITS) == []
    assert len(drift.find_violations(just_above, HEALTHY_ERRORS, **LIMITS)) == 1


@regression_only
def test_rmse_above_the_threshold_is_a_violation_and_at_it_is_not():
    table = drift_rows(("trip_distance", "psi", 0.0))
    above = drift.find_violations(table, {"rmse": 5.2, "mae": 3.0}, **LIMITS)
    assert above == ["rmse is 5.2, not at most 4"]
    at = drift.find_violations(table, {"rmse": 4.0, "mae": 3.0}, **LIMITS)
    assert at == []


@regression_only
def test_nan_rmse_means_no_labels_yet_and_is_not_a_violation():
    table = drift_rows(("trip_distance", "psi", 0.0))
    no_labels = {"rmse": math.nan, "mae": math.nan}
    assert drift.find_violations(table, no_labels, **LIMITS) == []


def test_ks_is_reported_but_not_acted_on():
    table = drift_rows(("trip_distance", "ks", 0.9))
    assert drift.find_violations(table, HEALTHY_ERRORS, **LIMITS) == []


def test_js_is_checked_only_when_a_threshold_is_given():
    table = drift_rows(("pickup_zip", "js", 0.3))
    assert drift.find_violations(table, HEALTHY_ERRORS, **LIMITS) == []
    violations = drift.find_violations(table, HEALTHY_ERRORS, **LIMITS, max_js=0.1)
    assert violations == ["js of pickup_zip is 0.3, above 0.1"]


@regression_only
def test_every_violation_gets_its_own_line():
    table = drift_rows(("trip_distance", "psi", 0.5), ("fare_per_mile", "psi", 0.3))
    violations = drift.find_violations(table, {"rmse": 9.0}, **LIMITS)
    assert len(violations) == 3


def test_shifted_batch_fires_the_check_with_default_thresholds(baseline):
    longer_trips = baseline.assign(trip_distance=baseline["trip_distance"] + 3.0)
    table = drift.feature_drift(baseline, longer_trips, ["trip_distance", "pickup_hour"], [])
    violations = drift.find_violations(
        table, {"rmse": math.nan}, config.MAX_PSI, contract.GATE.threshold
    )
    assert len(violations) == 1
    assert violations[0].startswith("psi of trip_distance is ")
