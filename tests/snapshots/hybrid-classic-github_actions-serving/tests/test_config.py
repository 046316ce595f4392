"""The project's settings, and their agreement with the bundle's variables.

Locally every default comes from `config.py`; on Databricks the jobs get the bundle variables of
`databricks.yml`. Both are rendered from the same answers, and the thresholds must match too,
so a local run and a deployed job judge a model by the same rules.
"""

from pathlib import Path

import pytest
import yaml

from taxi_fare_mlops import config, contract

BUNDLE = Path(__file__).resolve().parent.parent / "databricks.yml"

# Bundle variable -> the config value it must default to.
SAME_DEFAULTS = {
    "catalog": config.DEV_CATALOG,
    "schema": config.SCHEMA,
    "model_name": config.MODEL_NAME,
    "input_table": config.INPUT_TABLE,
    "gate_threshold": contract.GATE.threshold,
    "champion_tolerance": config.CHAMPION_TOLERANCE,
    "max_psi": config.MAX_PSI,
    "training_sample_fraction": 1.0,
    "max_training_rows": config.MAX_TRAINING_ROWS,
}
# Present in every generated bundle (max_psi only with monitoring).
ALWAYS_DECLARED = {"catalog", "schema", "model_name", "input_table", "gate_threshold"}


@pytest.fixture(scope="module")
def bundle() -> dict:
    return yaml.safe_load(BUNDLE.read_text(encoding="utf-8"))


def _same(bundle_value, config_value) -> bool:
    if isinstance(config_value, float):
        return float(bundle_value) == config_value
    return str(bundle_value) == str(config_value)


def test_patterns_and_catalogs_are_known():
    assert config.DEPLOYMENT_PATTERN in ("deploy_code", "deploy_model", "hybrid")
    assert set(config.CATALOGS) == {"dev", "test", "staging", "prod"}
    assert len({config.DEV_CATALOG, config.STAGING_CATALOG, config.PROD_CATALOG}) == 3


def test_input_table_has_three_levels():
    assert len(config.INPUT_TABLE.split(".")) == 3


def test_thresholds_are_sane():
    assert contract.GATE.threshold > 0
    assert 0 <= config.CHAMPION_TOLERANCE < 1
    assert 0 < config.MAX_PSI
    assert 0 < config.STAGING_SAMPLE_FRACTION <= 1
    assert isinstance(config.INCLUDE_MONITORING, bool)


def test_bundle_variable_defaults_match_the_config(bundle):
    declared = {name: spec.get("default") for name, spec in bundle["variables"].items()}
    assert ALWAYS_DECLARED <= set(declared)
    for name, expected in SAME_DEFAULTS.items():
        if name in declared:
            assert _same(declared[name], expected), f"{name}: {declared[name]!r} != {expected!r}"


def test_each_target_uses_the_catalog_of_its_environment(bundle):
    for target, catalog in config.CATALOGS.items():
        variables = bundle["targets"][target].get("variables") or {}
        assert variables.get("catalog", config.DEV_CATALOG) == catalog, target


def test_staging_trains_on_the_sample_the_local_lifecycle_uses(bundle):
    # deploy_code trains staging on a sample; hybrid trains it on all the production data.
    expected = {"deploy_code": config.STAGING_SAMPLE_FRACTION, "hybrid": 1.0}
    if config.DEPLOYMENT_PATTERN in expected:
        variables = bundle["targets"]["staging"].get("variables") or {}
        fraction = variables.get("training_sample_fraction", "1.0")
        assert float(fraction) == expected[config.DEPLOYMENT_PATTERN]
