import pytest

from taxi_fare_mlops import config
from taxi_fare_mlops.mlops import registry
from taxi_fare_mlops.mlops.deploy import deploy
from taxi_fare_mlops.mlops.errors import MlopsError

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
