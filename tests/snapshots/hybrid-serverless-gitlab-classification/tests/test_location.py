import dataclasses

import pytest

from taxi_fare_mlops import config
from taxi_fare_mlops.mlops.errors import MlopsError
from taxi_fare_mlops.mlops.location import Location, full_name, split_name

DEV = config.DEV_CATALOG


def test_a_location_names_the_model_and_its_tables():
    location = Location(DEV)
    prefix = f"{DEV}.{config.SCHEMA}"
    assert location.model == f"{prefix}.{config.MODEL_NAME}"
    assert location.predictions == f"{prefix}.{config.PREDICTIONS_TABLE}"
    assert location.labels == f"{prefix}.{config.LABELS_TABLE}"
    assert location.metrics == f"{prefix}.{config.MONITORING_TABLE}"
    assert location.model_uri("3") == f"models:/{location.model}/3"
    staging = location.elsewhere(config.STAGING_CATALOG)
    assert (staging.catalog, staging.schema) == (config.STAGING_CATALOG, config.SCHEMA)


def test_a_location_is_a_value():
    assert Location(DEV, "s") == Location(DEV, "s")
    with pytest.raises(dataclasses.FrozenInstanceError):
        Location(DEV).catalog = "other"


def test_full_name_joins_three_levels():
    assert full_name(DEV, "s", "t") == f"{DEV}.s.t"


@pytest.mark.parametrize("bad", ["", "a.b", "x y", "1abc", "a;drop"])
def test_bad_name_parts_are_refused(bad):
    with pytest.raises(MlopsError, match="not a valid"):
        full_name(DEV, bad, "t")
    with pytest.raises(MlopsError, match="not a valid"):
        Location(DEV, bad)


def test_unknown_catalog_is_refused_locally():
    with pytest.raises(MlopsError, match="unknown catalog 'nope'"):
        Location("nope")


def test_split_name_needs_three_levels():
    assert split_name(config.INPUT_TABLE) == tuple(config.INPUT_TABLE.split("."))
    with pytest.raises(MlopsError, match="three-level"):
        split_name("only.two")
