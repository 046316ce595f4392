import pytest

from taxi_fare_mlops import config, runtime
from taxi_fare_mlops.promote import copy_model, promote

from conftest import registered_name


def test_copy_carries_lineage_tags(schema, champion):
    result = copy_model(config.STAGING_CATALOG, schema, source_catalog=config.DEV_CATALOG)
    source_uri = f"models:/{registered_name(config.DEV_CATALOG, schema)}/{champion}"
    assert result.created and result.source_uri == source_uri
    assert result.model_name == registered_name(config.STAGING_CATALOG, schema)
    tags = runtime.mlflow_client().get_model_version(result.model_name, result.version).tags
    assert tags["source_model_uri"] == source_uri
    assert tags["source_model_version"] == champion
    assert tags["source_model_name"] == registered_name(config.DEV_CATALOG, schema)
    assert tags["git_commit"] and tags["promoted_at"]
    assert tags["training_table"] == config.INPUT_TABLE  # carried over from the source


def test_promoting_twice_makes_one_copy(schema, champion):
    first = copy_model(config.STAGING_CATALOG, schema, source_catalog=config.DEV_CATALOG)
    again = copy_model(config.STAGING_CATALOG, schema, source_catalog=config.DEV_CATALOG)
    by_version = copy_model(
        config.STAGING_CATALOG, schema, source_catalog=config.DEV_CATALOG, source_version=champion
    )
    assert first.created and not again.created and not by_version.created
    assert first.version == again.version == by_version.version
    versions = runtime.mlflow_client().search_model_versions(f"name='{first.model_name}'")
    assert len(versions) == 1


def test_promote_copies_validates_and_deploys(input_table, schema, champion):
    result = promote(
        config.STAGING_CATALOG, schema, source_catalog=config.DEV_CATALOG, input_table=input_table
    )
    name = registered_name(config.STAGING_CATALOG, schema)
    assert runtime.alias_version(name, config.CHAMPION) == result.copy.version
    assert runtime.alias_version(name, config.CHALLENGER) == result.copy.version
    assert result.validation.passed


def test_promotion_errors(schema, champion):
    with pytest.raises(runtime.MlopsError, match="has no champion yet"):
        copy_model(config.PROD_CATALOG, schema, source_catalog=config.STAGING_CATALOG)
    with pytest.raises(runtime.MlopsError, match="has no version 42"):
        copy_model(
            config.PROD_CATALOG, schema, source_catalog=config.DEV_CATALOG, source_version="42"
        )
    with pytest.raises(runtime.MlopsError, match="same model"):
        copy_model(config.DEV_CATALOG, schema, source_catalog=config.DEV_CATALOG)
    with pytest.raises(runtime.MlopsError, match="unknown catalog"):
        copy_model("elsewhere", schema, source_catalog=config.DEV_CATALOG)
