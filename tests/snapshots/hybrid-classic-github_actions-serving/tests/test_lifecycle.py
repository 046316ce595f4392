"""The whole pipeline of this project's deployment pattern, on local dev, staging and prod."""

import pytest

from taxi_fare_mlops import config
from taxi_fare_mlops.mlops import lifecycle, registry, runtime, tables
from taxi_fare_mlops.mlops.location import Location

DEV, STAGING, PROD = config.DEV_CATALOG, config.STAGING_CATALOG, config.PROD_CATALOG
# Which catalogs train their own model and which receive a copy (and from where).
COPIED_FROM = {
    "deploy_code": {},
    "deploy_model": {STAGING: DEV, PROD: STAGING},
    "hybrid": {PROD: STAGING},
}[config.DEPLOYMENT_PATTERN]


def model(catalog):
    return Location(catalog).model


def read(table):
    return tables.for_runtime().read(table)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    patch = pytest.MonkeyPatch()
    patch.setenv(runtime.LOCAL_DIR_VARIABLES[0], str(tmp_path_factory.mktemp("lifecycle")))
    lines = []
    yield lifecycle.run(rows=6_000, say=lines.append), lines
    patch.undo()


@pytest.mark.slow
def test_every_catalog_has_one_champion_version(report):
    result, _ = report
    for catalog in (DEV, STAGING, PROD):
        assert registry.versions(model(catalog)) == ["1"], catalog
        assert registry.alias_version(model(catalog), config.CHAMPION) == "1"
        assert registry.alias_version(model(catalog), config.CHALLENGER) == "1"
        assert result.catalogs[catalog]["rmse"] < config.MAX_RMSE


@pytest.mark.slow
def test_copies_carry_lineage_and_trained_versions_do_not(report):
    for catalog in (DEV, STAGING, PROD):
        tags = registry.tags(model(catalog), "1")
        if catalog in COPIED_FROM:
            assert tags["source_model_uri"] == f"models:/{model(COPIED_FROM[catalog])}/1"
            assert tags["promoted_at"] and tags["git_commit"]
        else:
            assert "source_model_uri" not in tags
            assert tags["training_table"] == config.INPUT_TABLE


@pytest.mark.slow
def test_staging_sample_matches_the_pattern(report):
    fraction = registry.tags(model(STAGING), "1")["sample_fraction"]
    expected = config.STAGING_SAMPLE_FRACTION if config.DEPLOYMENT_PATTERN == "deploy_code" else 1.0
    assert float(fraction) == expected


@pytest.mark.slow
def test_prod_predictions_and_monitoring(report):
    result, lines = report
    rows = read(Location(PROD).predictions)
    expected_batches = 2 if config.INCLUDE_MONITORING else 1
    assert rows["batch_id"].nunique() == expected_batches
    assert len(rows) == 1_500 * expected_batches
    assert not rows.duplicated(["batch_id", "trip_id"]).any()
    assert (rows["model_version"] == "1").all()
    output = "\n".join(lines)
    if config.INCLUDE_MONITORING:
        normal, shifted = result.batches
        assert not normal["retrain"] and shifted["retrain"]
        assert any("trip_distance" in violation for violation in shifted["violations"])
        # The fares of both batches arrived (the shifted one after a first, drift-only check).
        assert shifted["retrain_before_labels"] and "rmse n/a (no labels yet)" in output
        assert normal["labelled_rows"] == shifted["labelled_rows"] == 1_500
        assert normal["rmse"] < shifted["rmse"]
        assert rows["fare_amount"].notna().all()
        assert "labels recorded in" in output
        labels = read(Location(PROD).labels)
        assert len(labels) == 3_000 and labels["trip_id"].is_unique
    else:
        assert rows["fare_amount"].isna().all() and "labels recorded" not in output
    assert "Summary" in output


@pytest.mark.slow
def test_running_again_adds_versions_and_keeps_one_copy_per_source(report):
    lifecycle.run(rows=6_000, say=lambda line: None)
    for catalog in (DEV, STAGING, PROD):
        assert registry.versions(model(catalog)) == ["1", "2"], catalog
        assert registry.alias_version(model(catalog), config.CHAMPION) == "2"
    rows = read(Location(PROD).predictions)
    assert not rows.duplicated(["batch_id", "trip_id"]).any()
    if config.INCLUDE_MONITORING:
        # The same trips' labels again: upserted, not duplicated.
        labels = read(Location(PROD).labels)
        assert len(labels) == 3_000 and labels["trip_id"].is_unique
