import pytest

from taxi_fare_mlops import config, runtime
from taxi_fare_mlops.deploy import deploy
from taxi_fare_mlops.train import train
from taxi_fare_mlops.validate import validate


def test_challenger_becomes_champion(input_table, schema):
    first = train(config.DEV_CATALOG, schema, input_table=input_table)
    validate(config.DEV_CATALOG, schema, model_version=first.version, input_table=input_table)
    result = deploy(config.DEV_CATALOG, schema, model_version="")  # empty = the challenger
    assert (result.version, result.previous_champion) == (first.version, None)

    second = train(config.DEV_CATALOG, schema, input_table=input_table)
    validate(config.DEV_CATALOG, schema, model_version=second.version, input_table=input_table)
    result = deploy(config.DEV_CATALOG, schema, model_version=second.version)
    assert (result.version, result.previous_champion) == (second.version, first.version)
    assert runtime.alias_version(second.model_name, config.CHAMPION) == second.version
    tags = runtime.mlflow_client().get_model_version(second.model_name, second.version).tags
    assert tags["previous_champion"] == first.version
    assert "deployed_at" in tags


def test_only_the_challenger_can_be_deployed(input_table, schema):
    with pytest.raises(runtime.MlopsError, match="no challenger yet"):
        deploy(config.DEV_CATALOG, schema)
    first = train(config.DEV_CATALOG, schema, input_table=input_table)
    validate(config.DEV_CATALOG, schema, model_version=first.version, input_table=input_table)
    unvalidated = train(config.DEV_CATALOG, schema, input_table=input_table)
    with pytest.raises(runtime.MlopsError, match="is not the challenger"):
        deploy(config.DEV_CATALOG, schema, model_version=unvalidated.version)
    assert runtime.alias_version(first.model_name, config.CHAMPION) is None
