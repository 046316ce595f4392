import pytest

from taxi_fare_mlops import config
from taxi_fare_mlops.mlops import registry
from taxi_fare_mlops.mlops.errors import MlopsError
from taxi_fare_mlops.mlops.location import Location
from taxi_fare_mlops.mlops.promote import copy_model, promote

DEV, STAGING, PROD = config.DEV_CATALOG, config.STAGING_CATALOG, config.PROD_CATALOG


@pytest.fixture
def staging(location):
    return location.elsewhere(STAGING)


def test_copy_carries_lineage_tags(location, staging, champion):
    result = copy_model(location=staging, source_catalog=DEV)
    source_uri = location.model_uri(champion)
    assert result.created and result.source_uri == source_uri
    assert result.model_name == staging.model
    assert "copied as" in result.summary()
    tags = registry.tags(staging.model, result.version)
    assert tags["source_model_uri"] == source_uri
    assert tags["source_model_version"] == champion
    assert tags["source_model_name"] == location.model
    assert tags["git_commit"] and tags["promoted_at"]
    assert tags["training_table"] == config.INPUT_TABLE  # carried over from the source


def test_promoting_twice_makes_one_copy(staging, champion):
    first = copy_model(location=staging, source_catalog=DEV)
    again = copy_model(location=staging, source_catalog=DEV)
    by_version = copy_model(location=staging, source_catalog=DEV, source_version=champion)
    assert first.created and not again.created and not by_version.created
    assert first.version == again.version == by_version.version
    assert registry.versions(staging.model) == [first.version]


def test_promote_copies_validates_and_deploys(input_table, staging, champion):
    result = promote(location=staging, source_catalog=DEV, input_table=input_table)
    assert registry.alias_version(staging.model, config.CHAMPION) == result.copy.version
    assert registry.alias_version(staging.model, config.CHALLENGER) == result.copy.version
    assert result.validation.passed
    assert result.summary().endswith(f"now {config.CHAMPION}")


def test_promotion_errors(location, champion):
    prod = location.elsewhere(PROD)
    with pytest.raises(MlopsError, match="has no champion yet"):
        copy_model(location=prod, source_catalog=STAGING)
    with pytest.raises(MlopsError, match="has no version 42"):
        copy_model(location=prod, source_catalog=DEV, source_version="42")
    with pytest.raises(MlopsError, match="same model"):
        copy_model(location=location, source_catalog=DEV)
    with pytest.raises(MlopsError, match="unknown catalog"):
        copy_model(location=prod, source_catalog="elsewhere")
    with pytest.raises(MlopsError, match="unknown catalog"):
        Location("elsewhere")
