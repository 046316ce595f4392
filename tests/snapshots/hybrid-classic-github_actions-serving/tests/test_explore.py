"""The exploration helpers behind notebooks/explore.py: profile, tries, comparison, figures."""

import numpy as np
import pandas as pd
import pytest

from taxi_fare_mlops import config, features, model, sample_data
from taxi_fare_mlops.mlops import explore, reports
from taxi_fare_mlops.mlops.errors import MlopsError


@pytest.fixture(scope="module")
def featurised() -> pd.DataFrame:
    return features.add_features(sample_data.generate_trips(1_500))


def test_profile_counts_missing_and_out_of_range_values(featurised):
    frame = featurised.copy()
    frame.loc[frame.index[:7], features.LABEL] = np.nan
    frame.loc[frame.index[7:12], features.LABEL] = 900.0  # above the valid fare range
    frame.loc[frame.index[:3], "trip_distance"] = 0.0  # a meter glitch
    profile = explore.profile(frame).set_index("column")
    assert profile.loc[features.LABEL, "missing"] == 7
    assert profile.loc[features.LABEL, "out_of_range"] == 5
    assert profile.loc[features.LABEL, "max"] == 900.0
    assert profile.loc["trip_distance", "out_of_range"] == 3
    assert profile.loc["trip_distance", "missing"] == 0
    # Columns without a declared range have nothing out of range.
    assert profile.loc["pickup_hour", "out_of_range"] == 0
    assert profile.loc["pickup_hour", "valid_range"] == ""
    assert (profile["rows"] == len(frame)).all()


def test_out_of_range_rows_are_the_ones_training_drops(featurised):
    frame = featurised.copy()
    frame.loc[frame.index[:4], "trip_duration_minutes"] = -1.0
    dropped = len(frame) - len(features.training_rows(frame))
    before = len(featurised) - len(features.training_rows(featurised))
    profile = explore.profile(frame).set_index("column")
    original = explore.profile(featurised).set_index("column")
    assert dropped - before == 4
    assert (
        profile.loc["trip_duration_minutes", "out_of_range"]
        - original.loc["trip_duration_minutes", "out_of_range"]
        == 4
    )


def test_compare_puts_the_best_first_relative_to_the_champion():
    trials = [
        explore.Trial("a", {"rmse": 2.0, "mae": 1.0, "r2": 0.9}, run_id="r1"),
        explore.Trial("b", {"rmse": 1.5, "mae": 0.8, "r2": 0.95}, run_id="r2"),
        explore.Trial("champion", {"rmse": 1.6, "mae": 0.9, "r2": 0.94}, is_champion=True),
    ]
    table = explore.compare(trials)
    assert list(table["name"]) == ["b", "champion", "a"]
    assert table.loc[0, "rmse_vs_champion"] == pytest.approx(1.5 / 1.6 - 1)
    assert table.loc[1, "rmse_vs_champion"] == 0.0
    no_champion = explore.compare([trials[0], None])
    assert no_champion["rmse_vs_champion"].isna().all()


def test_a_candidate_feature_must_be_new(featurised):
    with pytest.raises(MlopsError, match=r"\['pickup_hour'\] already exist"):
        explore.try_candidate(
            featurised, name="clash", candidate_features={"pickup_hour": lambda rows: 0}
        )


def test_a_try_is_logged_with_its_feature_and_parameters(input_table, featurised):
    import mlflow

    # A parameter of whatever estimator model.py builds, at its own value.
    first_param = next(iter(model.PARAMS.items()))
    trial = explore.try_candidate(
        featurised,
        name="short trips",
        candidate_features={"is_short_trip": lambda rows: rows["trip_distance"] < 1.0},
        params=dict([first_param]),
        experiment_name="/Shared/explore-unit",
    )
    assert trial.feature_columns == [*features.MODEL_FEATURES, "is_short_trip"]
    assert trial.metrics["rmse"] < config.MAX_RMSE
    run = mlflow.get_run(trial.run_id)
    assert run.data.tags["stage"] == "explore"
    assert run.data.params[first_param[0]] == str(first_param[1])
    assert run.data.tags["estimator"] == type(model.build_pipeline().steps[-1][1]).__name__
    assert run.data.params["candidate_features"] == "is_short_trip"
    assert run.data.metrics["holdout_rmse"] == pytest.approx(trial.metrics["rmse"])


def test_another_estimator_takes_the_pipeline_s_last_step(input_table, featurised):
    import mlflow
    from sklearn.linear_model import Ridge

    trial = explore.try_candidate(
        featurised,
        name="linear",
        estimator=Ridge(alpha=3.0),
        experiment_name="/Shared/explore-unit",
    )
    run = mlflow.get_run(trial.run_id)
    assert run.data.tags["estimator"] == "Ridge"
    assert run.data.params["alpha"] == "3.0"
    # The model's own parameters belong to another estimator: not logged as this one's.
    assert not set(model.PARAMS) & set(run.data.params)
    assert trial.metrics["rmse"] > 0


def test_sample_size_and_table_are_checked(input_table):
    with pytest.raises(MlopsError, match="at least 100"):
        explore.load_sample(input_table, max_rows=10)
    with pytest.raises(MlopsError, match="does not exist"):
        explore.load_sample(f"{config.DEV_CATALOG}.nowhere.trips")
    assert len(explore.load_sample(input_table, max_rows=300)) == 300


def test_figures_show_every_column_and_every_try(featurised, tmp_path):
    columns = explore.profile_columns()
    figure = reports.distributions_figure(featurised, columns, features.VALID_RANGES)
    visible = [axes for axes in figure.axes if axes.get_visible()]
    assert [axes.get_title() for axes in visible] == columns
    # The label's valid range is drawn: two dashed lines.
    label_axes = visible[columns.index(features.LABEL)]
    assert len(label_axes.get_lines()) == 2
    comparison = pd.DataFrame(
        {"name": ["x", "champion"], "rmse": [2.0, 1.0], "is_champion": [False, True]}
    )
    chart = reports.comparison_figure(comparison)
    colours = [bar.get_facecolor() for bar in chart.axes[0].patches]
    assert len(colours) == 2 and colours[0] != colours[1]
    for name, shown in (("distributions", figure), ("comparison", chart)):
        assert reports.save_figure(shown, tmp_path / f"{name}.png").stat().st_size > 0
