import os
import random
import shutil
from pathlib import Path

import pytest

import baking
from baking import NO_SCHEMA, SCHEMA_VARIABLE, SEED_VARIABLE, find_bundle_schema

SCHEMA_SOURCE = pytest.StashKey[str]()


def pytest_configure(config):
    if hasattr(config, "workerinput"):
        return  # an xdist worker: it inherited the controller's environment, set below
    # Baked projects' own bundle checks read the schema path from the environment, as do the
    # workers, so the schema is looked for once.
    path, source = find_bundle_schema(baking.BAKE_ROOT)
    if path is None:
        os.environ.pop(SCHEMA_VARIABLE, None)
    else:
        os.environ[SCHEMA_VARIABLE] = str(path)
    config.stash[SCHEMA_SOURCE] = source
    # One seed per run for the random valid answers; set it to replay a run's draw.
    os.environ.setdefault(SEED_VARIABLE, str(random.SystemRandom().randrange(1_000_000)))


def pytest_report_header(config):
    seed = os.environ[SEED_VARIABLE]
    return [
        f"bundle schema: {config.stash.get(SCHEMA_SOURCE, 'looked up by the controller')}",
        f"random answers: seed {seed} (replay with {SEED_VARIABLE}={seed})",
    ]


@pytest.fixture(scope="session")
def bundle_schema_path():
    if not os.environ.get(SCHEMA_VARIABLE):
        pytest.skip(NO_SCHEMA)
    return Path(os.environ[SCHEMA_VARIABLE])


def pytest_sessionfinish(session, exitstatus):
    # Each process (xdist worker) bakes into its own temporary root; leave nothing behind.
    shutil.rmtree(baking.BAKE_ROOT, ignore_errors=True)
