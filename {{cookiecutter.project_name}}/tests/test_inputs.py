"""The input rules (mlops/inputs.py): kinds, dropped rows and their counts, strict parsing."""

import functools

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.__package_name }} import contract, features, sample_data
from {{ cookiecutter.__package_name }}.mlops import dataset, inputs, score, tables
from {{ cookiecutter.__package_name }}.mlops.errors import MlopsError
from {{ cookiecutter.__package_name }}.mlops.rules import Rule


def test_type_names_of_both_engines_map_to_kinds():
    assert [inputs.kind_of(name) for name in ("int32", "bigint", "int", "long")] == ["integer"] * 4
    assert [inputs.kind_of(name) for name in ("double", "float", "decimal(10,2)")] == ["number"] * 3
    assert inputs.kind_of("timestamp[us, tz=UTC]") == inputs.kind_of("timestamp_ntz") == "timestamp"
    assert inputs.kind_of("large_string") == inputs.kind_of("string") == "string"
    assert inputs.kind_of("date32[day]") == "other"


@pytest.mark.example
def test_bad_rows_are_dropped_and_counted_once_per_row():
    trips = sample_data.generate_rows(10)
    trips.loc[0, "trip_distance"] = np.nan
    trips.loc[1, "trip_distance"] = 5_000.0
    trips.loc[2, "pickup_zip"] = -3
    trips.loc[2, "trip_distance"] = np.inf  # counted under its first broken column only
    trips.loc[3, "tpep_pickup_datetime"] = pd.Timestamp("1900-01-01")
    kept, dropped = inputs.clean_rows(trips, table="t")
    assert len(kept) == 6
    assert dropped == {"tpep_pickup_datetime": 1, "trip_distance": 3}
    assert inputs.describe_dropped(dropped) == "4 rows (tpep_pickup_datetime 1, trip_distance 3)"
    assert inputs.describe_dropped({}) == ""


@pytest.fixture
def feature_rules_cleared():
    """`inputs.feature_rules` is cached: cleared before and after a test that changes them."""
    inputs.feature_rules.cache_clear()
    yield
    inputs.feature_rules.cache_clear()


@pytest.mark.example
def test_every_feature_has_a_rule_from_features_py_or_the_contract():
    rules = inputs.feature_rules()
    assert list(rules) == features.MODEL_FEATURES
    assert rules["pickup_hour"] == Rule("integer", 0, 23)  # features.FEATURE_RULES
    assert rules["trip_distance"] == contract.INPUT_COLUMNS["trip_distance"]  # an input column


def test_a_feature_without_a_rule_only_has_to_be_finite(monkeypatch, feature_rules_cleared):
    monkeypatch.setattr(features, "FEATURE_RULES", {}, raising=False)
    derived = [name for name in features.MODEL_FEATURES if name not in contract.INPUT_COLUMNS]
    for name in derived:
        kind = "integer" if features.COLUMN_TYPES[name] == "long" else "number"
        assert inputs.feature_rules()[name] == Rule(kind)


def test_a_feature_rule_is_a_number_rule(monkeypatch, feature_rules_cleared):
    name = features.MODEL_FEATURES[0]
    monkeypatch.setattr(features, "FEATURE_RULES", {name: Rule("string")}, raising=False)
    with pytest.raises(MlopsError, match=f"feature {name} has a string rule.*FEATURE_RULES"):
        inputs.feature_rules()


def test_scoring_and_training_leave_out_rows_whose_features_break_their_rules(
    monkeypatch, feature_rules_cleared
):
    rows = sample_data.generate_rows(400)
    prepare = functools.partial(
        score.prepare_rows, version="1", scored_at=pd.Timestamp.now(tz="UTC"), batch_id="b"
    )
    before = prepare(rows)
    name = features.MODEL_FEATURES[0]
    cut = before[name].median()
    kind = "integer" if features.COLUMN_TYPES[name] == "long" else "number"
    narrowed = {**getattr(features, "FEATURE_RULES", {}), name: Rule(kind, None, cut)}
    monkeypatch.setattr(features, "FEATURE_RULES", narrowed, raising=False)
    inputs.feature_rules.cache_clear()
    after = prepare(rows)
    assert len(after) == int((before[name] <= cut).sum()) < len(before)
    assert after[contract.KEY].tolist() == before.loc[before[name] <= cut, contract.KEY].tolist()
    training = dataset.training_rows(dataset.add_features(rows))
    assert len(training) and (training[name] <= cut).all()


def test_a_string_rule_refuses_only_missing_text():
    values = pd.Series(["north", None, "", "12"], index=[3, 4, 5, 6])
    assert inputs.bad_values(values, Rule("string")).tolist() == [False, True, False, False]
    assert inputs.bad_values(values, Rule("string")).index.tolist() == [3, 4, 5, 6]
    with pytest.raises(ValueError, match="a string Rule has no range"):
        Rule("string", "a", "z")


def test_label_rows_are_classified():
    low, high = contract.LABEL_RULE.low, contract.LABEL_RULE.high
    frame = pd.DataFrame(
        {
            contract.KEY: pd.array([1, 2, None, 4, 5], dtype="Int64"),
            contract.LABEL: [high, None, low, low - 1, high + 1],
        }
    )
    assert inputs.classify_labels(frame).tolist() == [
        inputs.LABEL_OK,
        inputs.LABEL_MISSING,
        inputs.LABEL_NO_KEY,
        inputs.LABEL_IMPOSSIBLE,
        inputs.LABEL_IMPOSSIBLE,
    ]


@pytest.mark.example
def test_columns_are_checked_by_kind(location):
    store = tables.for_runtime()
    table = location.table("trips")
    trips = sample_data.generate_rows(5)
    store.write(trips.assign(pickup_zip=trips["pickup_zip"].astype(str)), table)
    with pytest.raises(MlopsError, match="pickup_zip is string, not integer"):
        inputs.require_columns(store, table, inputs.INPUT_COLUMNS)
    store.write(trips.drop(columns="trip_distance"), table)
    with pytest.raises(MlopsError, match="has no column trip_distance, which contract.py declares"):
        inputs.require_columns(store, table, inputs.INPUT_COLUMNS)
    store.write(trips, table)
    inputs.require_columns(store, table, inputs.INPUT_COLUMNS)


@pytest.mark.parametrize(
    "text", ["", "a\n", "-x", "a" * (inputs.MAX_BATCH_ID_LENGTH + 1), "b\u00e9", "٣", "a b", "a'b"]
)
def test_batch_ids_are_parsed_strictly(text):
    with pytest.raises(MlopsError, match="batch_id"):
        inputs.parse_batch_id(text)


def test_good_batch_ids_pass_unchanged():
    for text in ("2016-03-01", "b1", "run_7.v2:x", "a" * inputs.MAX_BATCH_ID_LENGTH):
        assert inputs.parse_batch_id(text) == text


@pytest.mark.parametrize("text", ["", "1_000", "+5", "-1", "١٢", "1e3", "3.0", "9" * 13])
def test_counts_are_ascii_digits(text):
    with pytest.raises(MlopsError, match="whole number"):
        inputs.parse_count(text, name="rows")


def test_counts_parse_and_respect_the_minimum():
    assert inputs.parse_count(" 5000000 ", name="rows") == 5_000_000
    with pytest.raises(MlopsError, match="at least 1"):
        inputs.parse_count("0", name="rows", minimum=1)


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["train", "--max-training-rows", "1_000"], "--max-training-rows"),
        (["monitor", "--batch-id", "b\u00e9"], "batch_id"),
        (["score", "--batch-id", "x" * 65], "batch_id"),
    ],
)
def test_the_cli_refuses_loose_numbers_and_ids_in_one_line(argv, named, schema, capsys):
    from {{ cookiecutter.__package_name }}.mlops import cli

    assert cli.main([*argv, "--schema", schema]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {named}")
