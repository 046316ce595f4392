import pytest

from taxi_fare_mlops import config, contract
from taxi_fare_mlops.mlops import registry
from taxi_fare_mlops.mlops.errors import MlopsError
from taxi_fare_mlops.mlops.location import Location
from taxi_fare_mlops.mlops.promote import CARRIED_TAGS, copy_model, promote

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


def test_a_copy_does_not_carry_the_source_validation_or_deployment_tags(
    location, staging, champion
):
    source_tags = registry.tags(location.model, champion)
    registry.set_tags(location.model, champion, {"deployed_at": "2016-01-01T00:00:00+00:00"})
    copied = copy_model(location=staging, source_catalog=DEV)
    tags = registry.tags(staging.model, copied.version)
    assert "validation_status" in source_tags
    assert not {"validation_status", f"validation_{contract.GATE.metric}", "deployed_at"} & set(
        tags
    )
    # The copy's source is recorded by the registry itself, in the step that creates it.
    assert registry.model_version(staging.model, copied.version).source == copied.source_uri


def test_a_partial_copy_is_completed_on_rerun(location, staging, champion):
    # What a run killed between MLflow's copy (which copies every tag) and its lineage tags left.
    source_uri = location.model_uri(champion)
    partial = registry.copy_version(source_uri, staging.model)
    assert registry.tags(staging.model, partial).get("validation_status") == "passed"
    again = copy_model(location=staging, source_catalog=DEV)
    assert (again.version, again.created) == (partial, False)
    assert registry.versions(staging.model) == [partial]
    tags = registry.tags(staging.model, partial)
    assert tags["source_model_uri"] == source_uri and tags["source_model_version"] == champion
    assert set(tags) - set(CARRIED_TAGS) == {
        "source_model_uri",
        "source_model_name",
        "source_model_version",
        "promoted_at",
    }


def test_the_summary_says_champion_only_when_the_registry_does(input_table, staging, champion):
    result = promote(location=staging, source_catalog=DEV, input_table=input_table)
    assert result.summary().endswith(f"now {config.CHAMPION}")
    result.champion = "7"  # as if another run had moved the alias since
    assert result.summary().endswith(f"{config.CHAMPION} is version 7, not this copy")


def test_a_source_without_training_tags_is_not_promoted(location, staging, champion):
    registry.delete_tags(location.model, champion, list(registry.TRAINING_TAGS))
    with pytest.raises(MlopsError, match=f"version {champion} has no training tags"):
        copy_model(location=staging, source_catalog=DEV)
    assert registry.versions(staging.model) == []
