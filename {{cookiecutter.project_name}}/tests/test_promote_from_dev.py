"""Promotion from a source whose names differ from the target's: development mode prefixes a
developer's schema and model (dev_<user>_<schema>, dev_<user>_<model>), so the promotion job
takes `source_schema` and `source_model_name` (empty: the target's own names)."""

import uuid

from {{ cookiecutter.__package_name }} import config, runtime
from {{ cookiecutter.__package_name }}.promote import copy_model

from conftest import registered_name


def test_copy_from_a_prefixed_dev_schema(schema, champion):
    target_schema = f"staging_{uuid.uuid4().hex[:8]}"
    result = copy_model(
        config.STAGING_CATALOG,
        target_schema,
        source_catalog=config.DEV_CATALOG,
        source_schema=schema,
        source_model_name=config.MODEL_NAME,
    )
    assert result.source_uri == f"models:/{registered_name(config.DEV_CATALOG, schema)}/{champion}"
    assert result.model_name == runtime.full_name(
        config.STAGING_CATALOG, target_schema, config.MODEL_NAME
    )
