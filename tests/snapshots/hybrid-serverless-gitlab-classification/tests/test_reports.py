"""The monitoring plots come out as real PNG files, wherever they are asked for."""

import math

import matplotlib.image
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from taxi_fare_mlops.mlops import reports

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_valid_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 2_000, "a chart with axes and labels is more than a few bytes"
    height, width = matplotlib.image.imread(path).shape[:2]
    assert height > 100
    assert width > 100


@pytest.fixture
def drift_table():
    return pd.DataFrame(
        {
            "feature": ["trip_distance", "trip_distance", "pickup_hour", "pickup_zip"],
            "metric": ["psi", "ks", "psi", "js"],
            "value": [0.41, 0.3, 0.02, 0.05],
        }
    )


@pytest.fixture
def metrics_history():
    return pd.DataFrame(
        {
            "window_start": pd.to_datetime(["2024-01-03", "2024-01-01", "2024-01-02"]),
            "rmse": [3.1, 2.9, math.nan],  # the latest window has no labels yet
            "mae": [2.0, 1.8, math.nan],
        }
    )


@pytest.mark.parametrize("max_psi", [0.2, None])
def test_feature_drift_plot_is_a_png_in_a_new_folder(tmp_path, drift_table, max_psi):
    target = tmp_path / "reports" / "nested" / "feature_drift.png"
    written = reports.plot_feature_drift(drift_table, target, max_psi=max_psi)
    assert written == target
    assert_valid_png(written)


def test_feature_drift_plot_without_numeric_features(tmp_path, drift_table):
    categorical_only = drift_table[drift_table["metric"] == "js"]
    assert_valid_png(reports.plot_feature_drift(categorical_only, tmp_path / "drift.png", 0.2))


def test_feature_drift_plot_names_missing_columns(tmp_path):
    with pytest.raises(ValueError, match="metric"):
        reports.plot_feature_drift(pd.DataFrame({"feature": [], "value": []}), tmp_path / "x.png")


def test_error_plot_is_a_png_in_a_new_folder(tmp_path, metrics_history):
    target = tmp_path / "reports" / "error_over_time.png"
    written = reports.plot_error_over_time(metrics_history, str(target))
    assert written == target
    assert_valid_png(written)


def test_error_plot_without_history(tmp_path, metrics_history):
    assert_valid_png(reports.plot_error_over_time(metrics_history.iloc[0:0], tmp_path / "e.png"))


def test_plots_close_their_figures(tmp_path, drift_table, metrics_history):
    plt.close("all")
    reports.plot_feature_drift(drift_table, tmp_path / "drift.png", max_psi=0.2)
    reports.plot_error_over_time(metrics_history, tmp_path / "error.png")
    assert plt.get_fignums() == []
