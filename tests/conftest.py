import os
import shutil

import pytest

import baking
from baking import SHARED_DIR

SCHEMA_PATH = SHARED_DIR / "bundle-schema" / "jsonschema.json"


def pytest_configure(config):
    # Baked projects' own bundle checks read the schema path from here.
    if SCHEMA_PATH.exists():
        os.environ.setdefault("DATABRICKS_BUNDLE_SCHEMA", str(SCHEMA_PATH))


@pytest.fixture(scope="session")
def bundle_schema_path():
    if not SCHEMA_PATH.exists():
        pytest.skip(f"no bundle schema at {SCHEMA_PATH}: put shared/ beside the template")
    return SCHEMA_PATH


def pytest_sessionfinish(session, exitstatus):
    # Each process (xdist worker) bakes into its own temporary root; leave nothing behind.
    shutil.rmtree(baking.BAKE_ROOT, ignore_errors=True)
