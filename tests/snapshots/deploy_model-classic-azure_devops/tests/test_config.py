from taxi_fare_mlops import config


def test_patterns_and_catalogs_are_known():
    assert config.DEPLOYMENT_PATTERN in ("deploy_code", "deploy_model", "hybrid")
    assert set(config.CATALOGS) == {"dev", "test", "staging", "prod"}
    assert len({config.DEV_CATALOG, config.STAGING_CATALOG, config.PROD_CATALOG}) == 3


def test_input_table_has_three_levels():
    assert len(config.INPUT_TABLE.split(".")) == 3


def test_thresholds_are_sane():
    assert config.MAX_RMSE > 0
    assert 0 <= config.CHAMPION_TOLERANCE < 1
    assert 0 < config.MAX_PSI
    assert 0 < config.STAGING_SAMPLE_FRACTION <= 1
    assert isinstance(config.INCLUDE_MONITORING, bool)
