"""The bundle configuration is valid offline: schema, resource loading, variables and paths."""

from pathlib import Path

import pytest

import bundle_validation

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def validator():
    schema, source = bundle_validation.load_schema()
    if schema is None:
        pytest.skip(source)
    return bundle_validation.schema_validator(schema)


def test_every_bundle_file_matches_the_official_schema(validator):
    assert bundle_validation.schema_problems(PROJECT, validator) == []


def test_every_resource_loads_with_databricks_bundles():
    assert bundle_validation.resource_loading_problems(PROJECT) == []


def test_variables_modes_and_paths_are_consistent():
    assert bundle_validation.semantic_problems(PROJECT) == []
