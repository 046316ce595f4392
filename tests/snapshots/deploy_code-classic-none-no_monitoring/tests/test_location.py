import dataclasses

import pytest

from taxi_fare_mlops import config
from taxi_fare_mlops.mlops.errors import MlopsError
from taxi_fare_mlops.mlops.location import Location, full_name, split_name

import bundle_validation

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


def test_every_development_name_the_cli_makes_is_accepted():
    """Development mode names a developer's schema and model `dev_<short name>_...`: the CLI
    keeps every Unicode letter and digit of the user name (libs/iamutil/user.go
    GetShortUserName, libs/textutil/textutil.go NormalizeString, apply_presets.go
    normalizePrefix; restated in tests/bundle_validation.py), so "josé.müller" deploys
    `dev_josé_müller_<schema>`. Whatever it makes, a Location accepts."""
    # Imported here, as in test_bad_inputs.py: importing hypothesis costs every test worker
    # about a second while collecting, whether or not it runs this test.
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=200, deadline=None)
    @given(user_name=st.text(min_size=1, max_size=30).map(lambda local: local + "@example.com"))
    def accepted(user_name):
        prefix = bundle_validation.normalize_prefix(
            f"[dev {bundle_validation.short_user_name(user_name)}] "
        )
        location = Location(config.DEV_CATALOG, prefix + config.SCHEMA, prefix + config.MODEL_NAME)
        assert location.model.startswith(f"{config.DEV_CATALOG}.dev_")

    accepted()


def test_the_cli_keeps_non_ascii_letters_in_the_prefix():
    assert bundle_validation.short_user_name("José.Müller@example.com") == "josé_müller"
    assert bundle_validation.normalize_prefix("[dev josé_müller] ") == "dev_josé_müller_"
    assert Location(config.DEV_CATALOG, "dev_josé_müller_" + config.SCHEMA).schema
