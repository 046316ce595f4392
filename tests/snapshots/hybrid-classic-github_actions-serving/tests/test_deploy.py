import pytest

from taxi_fare_mlops import config
from taxi_fare_mlops.mlops import registry
from taxi_fare_mlops.mlops.deploy import deploy, rollback
from taxi_fare_mlops.mlops.errors import MlopsError

from alias_moves import Killed, registry_dying_at, shared_state
from conftest import copy_of


def test_challenger_becomes_champion(location, trained_model, candidate):
    registry.set_alias(location.model, config.CHALLENGER, candidate)
    result = deploy(location=location, model_version="")  # empty = the challenger
    assert (result.version, result.previous_champion) == (candidate, None)
    assert "(was none)" in result.summary()

    second = copy_of(trained_model, location, config.CHALLENGER)
    result = deploy(location=location, model_version=second)
    assert (result.version, result.previous_champion) == (second, candidate)
    assert registry.alias_version(location.model, config.CHAMPION) == second
    tags = registry.tags(location.model, second)
    assert tags["previous_champion"] == candidate
    assert "deployed_at" in tags


def test_only_the_challenger_can_be_deployed(location, trained_model, candidate):
    with pytest.raises(MlopsError, match="no challenger yet"):
        deploy(location=location)
    registry.set_alias(location.model, config.CHALLENGER, candidate)
    unvalidated = copy_of(trained_model, location)
    with pytest.raises(MlopsError, match="is not the challenger"):
        deploy(location=location, model_version=unvalidated)
    assert registry.alias_version(location.model, config.CHAMPION) is None


def test_a_deploy_killed_between_its_alias_moves_is_completed_by_the_rerun(location, trained_model):
    # Issue: killed between moving champion and setting previous_champion, the rerun left
    # previous_champion stale, and a later rollback skipped a version.
    where = shared_state(location, trained_model)
    with pytest.raises(Killed), registry_dying_at(("set_registered_model_alias", 2)):
        deploy(location=where)
    assert registry.alias_version(where.model, config.CHAMPION) == "3"
    assert registry.alias_version(where.model, config.PREVIOUS_CHAMPION) == "1"  # stale
    assert not deploy(location=where).moved
    assert registry.alias_version(where.model, config.PREVIOUS_CHAMPION) == "2"
    assert rollback(location=where).version == "2"


def test_deploying_the_champion_again_changes_nothing(location, champion):
    deployed_at = registry.tags(location.model, champion).get("deployed_at")
    result = deploy(location=location)
    assert not result.moved and "is already version" in result.summary()
    assert registry.tags(location.model, champion).get("deployed_at") == deployed_at


def test_a_challenger_without_training_tags_is_not_deployed(location, candidate):
    registry.delete_tags(location.model, candidate, list(registry.TRAINING_TAGS))
    registry.set_alias(location.model, config.CHALLENGER, candidate)
    with pytest.raises(MlopsError, match=f"version {candidate} has no training tags"):
        deploy(location=location)
    assert registry.alias_version(location.model, config.CHAMPION) is None


def test_a_damaged_record_of_an_alias_change_is_one_line(location, champion):
    registry.client().set_registered_model_tag(location.model, registry.PENDING_MOVE, "{oops")
    with pytest.raises(MlopsError, match="damaged pending_alias_move tag"):
        deploy(location=location)
