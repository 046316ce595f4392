"""The exploration helpers behind notebooks/explore.py: profile, tries, comparison, figures."""

import pandas as pd
import pytest

from taxi_fare_mlops import config, contract, features, model, sample_data
from taxi_fare_mlops.mlops import dataset, explore, inputs, reports
from taxi_fare_mlops.mlops.errors import MlopsError

GATE = contract.GATE.metric
# The candidate feature of the tries: is the first numeric feature below its median?
NUMBER = next(iter(features.NUMERIC_FEATURES))


@pytest.fixture(scope="module")
def featurised() -> pd.DataFrame:
    return dataset.add_features(sample_data.generate_rows(1_500))


@pytest.mark.example
def test_profile_counts_missing_and_out_of_range_values(featurised):
    frame = featurised.copy()
    frame.loc[frame.index[:7], contract.LABEL] = None
    frame.loc[frame.index[:3], "trip_distance"] = 0.0  # a meter glitch
    if contract.LABEL in contract.TRAINING_RANGES:
        frame.loc[frame.index[7:12], contract.LABEL] = 900.0  # above the valid fare range
    profile = explore.profile(frame).set_index("column")
    assert profile.loc[contract.LABEL, "missing"] == 7
    if contract.LABEL in contract.TRAINING_RANGES:
        assert profile.loc[contract.LABEL, "out_of_range"] == 5
        assert profile.loc[contract.LABEL, "max"] == 900.0
    assert profile.loc["trip_distance", "out_of_range"] == 3
    assert profile.loc["trip_distance", "missing"] == 0
    # Columns without a declared range have nothing out of range.
    assert profile.loc["pickup_hour", "out_of_range"] == 0
    assert profile.loc["pickup_hour", "valid_range"] == ""
    assert (profile["rows"] == len(frame)).all()


def test_values_outside_their_rule_are_counted_as_scoring_and_serve_refuse_them(featurised):
    rules = inputs.feature_rules()
    bounded = [name for name, rule in rules.items() if rule.high is not None]
    frame = featurised.copy()
    for name in bounded:
        frame[name] = frame[name].astype("float64")
        frame.loc[frame.index[:2], name] = float(rules[name].high) + 1
    profile = explore.profile(frame).set_index("column")
    for name in bounded:
        assert profile.loc[name, "outside_rule"] == 2, name
    # The rows batch scoring would drop are the ones training leaves out too.
    if bounded:
        assert len(dataset.training_rows(frame)) <= len(dataset.training_rows(featurised)) - 2


@pytest.mark.example
def test_out_of_range_rows_are_the_ones_training_drops(featurised):
    frame = featurised.copy()
    frame.loc[frame.index[:4], "trip_duration_minutes"] = -1.0
    dropped = len(frame) - len(dataset.training_rows(frame))
    before = len(featurised) - len(dataset.training_rows(featurised))
    profile = explore.profile(frame).set_index("column")
    original = explore.profile(featurised).set_index("column")
    assert dropped - before == 4
    assert (
        profile.loc["trip_duration_minutes", "out_of_range"]
        - original.loc["trip_duration_minutes", "out_of_range"]
        == 4
    )


@pytest.mark.skipif(GATE != "rmse", reason="problem type: regression metrics")
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
    taken = features.MODEL_FEATURES[0]
    with pytest.raises(MlopsError, match=rf"\['{taken}'\] already exist"):
        explore.try_candidate(featurised, name="clash", candidate_features={taken: lambda rows: 0})


def test_a_try_is_logged_with_its_feature_and_parameters(input_table, featurised):
    import mlflow

    # A parameter of whatever estimator model.py builds, at its own value.
    first_param = next(iter(model.PARAMS.items()))
    trial = explore.try_candidate(
        featurised,
        name="above the median",
        candidate_features={"is_short_trip": lambda rows: rows[NUMBER] < rows[NUMBER].median()},
        params=dict([first_param]),
        experiment_name="/Shared/explore-unit",
    )
    assert trial.feature_columns == [*features.MODEL_FEATURES, "is_short_trip"]
    assert contract.GATE.passes(trial.metrics[GATE], contract.GATE.threshold)
    run = mlflow.get_run(trial.run_id)
    assert run.data.tags["stage"] == "explore"
    assert run.data.params[first_param[0]] == str(first_param[1])
    assert run.data.tags["estimator"] == type(model.build_pipeline().steps[-1][1]).__name__
    assert run.data.params["candidate_features"] == "is_short_trip"
    assert run.data.metrics[f"holdout_{GATE}"] == pytest.approx(trial.metrics[GATE])


def test_another_estimator_takes_the_pipeline_s_last_step(input_table, featurised):
    import mlflow
    from sklearn.linear_model import Ridge
    from sklearn.naive_bayes import GaussianNB

    if contract.PROBLEM_TYPE == "classification":
        linear, parameter = GaussianNB(var_smoothing=3.0), "var_smoothing"
    else:
        linear, parameter = Ridge(alpha=3.0), "alpha"
    trial = explore.try_candidate(
        featurised,
        name="linear",
        estimator=linear,
        experiment_name="/Shared/explore-unit",
    )
    run = mlflow.get_run(trial.run_id)
    assert run.data.tags["estimator"] == type(linear).__name__
    assert run.data.params[parameter] == "3.0"
    # The model's own parameters belong to another estimator: not logged as this one's.
    assert not set(model.PARAMS) & set(run.data.params)
    assert trial.metrics[GATE] > 0


def test_sample_size_and_table_are_checked(input_table):
    with pytest.raises(MlopsError, match="at least 100"):
        explore.load_sample(input_table, max_rows=10)
    with pytest.raises(MlopsError, match="does not exist"):
        explore.load_sample(f"{config.DEV_CATALOG}.nowhere.trips")
    assert len(explore.load_sample(input_table, max_rows=300)) == 300


def test_figures_show_every_column_and_every_try(featurised, tmp_path):
    columns = explore.profile_columns()
    figure = reports.distributions_figure(featurised, columns, contract.TRAINING_RANGES)
    visible = [axes for axes in figure.axes if axes.get_visible()]
    assert [axes.get_title() for axes in visible] == columns
    # A declared valid range is drawn: two dashed lines (a contract may declare none).
    for ranged in [column for column in columns if column in contract.TRAINING_RANGES][:1]:
        assert len(visible[columns.index(ranged)].get_lines()) == 2
    comparison = pd.DataFrame(
        {"name": ["x", "champion"], "rmse": [2.0, 1.0], "is_champion": [False, True]}
    )
    chart = reports.comparison_figure(comparison, "rmse")
    colours = [bar.get_facecolor() for bar in chart.axes[0].patches]
    assert len(colours) == 2 and colours[0] != colours[1]
    for name, shown in (("distributions", figure), ("comparison", chart)):
        assert reports.save_figure(shown, tmp_path / f"{name}.png").stat().st_size > 0
