"""Features change on tables that exist: what scoring, labels and monitoring do with them, and
the check that stops an alias from moving to a version whose predictions cannot be written.

Each test builds the predictions table as an older version of the code would have left it
(a feature missing, one that was removed since, a type or key of another kind), instead of
editing `features.py`: so it names no feature. `test_feature_change.py` applies the recipe to
the code itself, across whole `lifecycle` runs.
"""

import numpy as np
import pandas as pd
import pytest

from taxi_fare_mlops import config, contract, features, sample_data
from taxi_fare_mlops.mlops import dataset, registry, schema_check, score, tables
from taxi_fare_mlops.mlops.deploy import deploy
from taxi_fare_mlops.mlops.labels import attach_labels, read_labels, record_labels
from taxi_fare_mlops.mlops.location import Location
from taxi_fare_mlops.mlops.monitor import monitor
from taxi_fare_mlops.mlops.promote import promote
from taxi_fare_mlops.mlops.validate import validate

from conftest import copy_of

# A column of the predictions table that no version of the code declares any more.
RETIRED = "retired_feature"


def _score(location, batch_id, *, rows=200, seed=1):
    sample_data.write_sample_data(location.new_rows, n_rows=rows, seed=seed, start="2016-03-01")
    return score.score(location=location, input_table=location.new_rows, batch_id=batch_id)


def _retyped_feature() -> tuple[str, str, str]:
    """A declared feature, the type an older code stored it as, and the type it has now."""
    feature, kind = next(iter(features.NUMERIC_FEATURES.items()))
    return feature, ("double" if kind == "long" else "string"), kind


def _aliases(location) -> tuple[str | None, str | None]:
    return (
        registry.alias_version(location.model, config.CHALLENGER),
        registry.alias_version(location.model, config.CHAMPION),
    )


def test_scoring_merges_a_feature_added_since_and_keeps_one_removed(location, champion):
    """The predictions table of an older code (without the newest feature, with one removed
    since) takes the next batch: the new column is null in the old batch and filled in the new,
    the removed one the other way round; labels, monitoring and reads still work."""
    store = tables.for_runtime()
    added = list(features.NUMERIC_FEATURES)[-1]
    _score(location, "old", seed=1)
    older = store.read(location.predictions).drop(columns=[added]).assign(**{RETIRED: 0.5})
    # In the table's own types (a classifier's probabilities are a map, which pandas cannot say).
    older_types = {name: kind for name, kind in score.PREDICTION_COLUMNS.items() if name != added}
    older_schema = tables.arrow_schema({**older_types, RETIRED: "double"})
    store.write(tables.to_arrow(older, older_schema), location.predictions, mode="overwrite")

    (change,) = schema_check.require_writable(location)
    assert change.table == location.predictions
    assert list(change.added) == [added] and change.kept == (RETIRED,)

    scored = _score(location, "new", seed=2)
    rows = store.read(location.predictions)
    assert set(score.PREDICTION_COLUMNS) | {RETIRED} == set(rows.columns)
    old, new = rows[rows["batch_id"] == "old"], rows[rows["batch_id"] == "new"]
    assert len(old) == 200 and len(new) == scored.rows
    assert old[added].isna().all() and new[added].notna().all()
    assert (old[RETIRED] == 0.5).all() and new[RETIRED].isna().all()
    # The new batch holds the feature as the code computes it.
    computed = dataset.add_features(store.read(location.new_rows)).set_index(contract.KEY)[added]
    assert np.allclose(new[added].to_numpy(float), computed.loc[new[contract.KEY]].to_numpy(float))
    # A stage's own columns read back from the merged table, the old batch's too.
    declared = store.read(location.predictions, columns=list(score.PREDICTION_COLUMNS))
    assert list(declared.columns) == list(score.PREDICTION_COLUMNS) and len(declared) == len(rows)

    # Labels reach both batches: the attach rewrites the old batch's files with the new column.
    record_labels(read_labels(location.new_rows), location=location)
    attach_labels(location=location)
    labelled = store.read(location.predictions)
    assert labelled.loc[labelled["batch_id"] == "new", contract.LABEL].notna().all()
    assert labelled[added].isna().sum() == 200
    checked = monitor(location=location, batch_id="new")
    assert added in set(checked.drift["feature"]) and checked.labelled_rows > 0


def test_a_changed_type_fails_before_any_alias_moves(location, champion, trained_model):
    feature, stored, now = _retyped_feature()
    store = tables.for_runtime()
    store.create_if_missing(location.predictions, {**score.PREDICTION_COLUMNS, feature: stored})
    candidate = copy_of(trained_model, location)
    line = (
        f"table {location.predictions}: column {feature} is stored as {stored}, this code writes "
        f"{now}; a type cannot change in place: declare the feature under a new name"
    )

    with pytest.raises(tables.SchemaConflict) as refused:
        validate(location=location, model_version=candidate)
    assert line in str(refused.value) and "migrate the table" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert _aliases(location) == (champion, champion)

    # A challenger validated before the table changed is not deployed either.
    registry.set_alias(location.model, config.CHALLENGER, candidate)
    with pytest.raises(tables.SchemaConflict, match=f"column {feature} is stored as {stored}"):
        deploy(location=location, model_version=candidate)
    assert _aliases(location) == (candidate, champion)

    # Scoring refuses before the model runs, and leaves the table as it was.
    with pytest.raises(tables.SchemaConflict, match=f"column {feature} is stored as {stored}"):
        _score(location, "b1")
    assert store.count(location.predictions) == 0


def test_a_promotion_into_tables_of_another_type_copies_nothing(location, champion):
    feature, stored, _ = _retyped_feature()
    target = Location(config.STAGING_CATALOG, location.schema)
    store = tables.for_runtime()
    store.create_if_missing(target.predictions, {**score.PREDICTION_COLUMNS, feature: stored})
    with pytest.raises(tables.SchemaConflict, match=f"{target.predictions}: column {feature}"):
        promote(location=target, source_catalog=location.catalog)
    assert registry.versions(target.model) == []


def test_a_renamed_key_fails_before_any_alias_moves(location, champion, trained_model):
    renamed = {
        (f"old_{column}" if column == contract.KEY else column): kind
        for column, kind in score.PREDICTION_COLUMNS.items()
    }
    tables.for_runtime().create_if_missing(location.predictions, renamed)
    candidate = copy_of(trained_model, location)
    with pytest.raises(tables.SchemaConflict) as refused:
        validate(location=location, model_version=candidate)
    assert str(refused.value).startswith(
        f"table {location.predictions} has other columns than this stage writes: it has no "
        f"{contract.KEY}, the key"
    )
    assert "keep the old key's name, or migrate the table" in str(refused.value)
    assert _aliases(location) == (champion, champion)


def test_tables_that_do_not_exist_yet_need_no_change(location):
    assert schema_check.require_writable(location) == []
    # The labels table is checked too, with its own key.
    tables.for_runtime().write(
        pd.DataFrame({contract.KEY: ["a"], contract.LABEL: [1.0]}), location.labels
    )
    with pytest.raises(tables.SchemaConflict, match=f"{location.labels}: column {contract.KEY}"):
        schema_check.require_writable(location)
