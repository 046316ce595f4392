import contextlib
import os
import random
import tempfile
from pathlib import Path

import pytest

from baking import NO_SCHEMA, SCHEMA_VARIABLE, SEED_VARIABLE, find_bundle_schema
from work_folder import work_folder

SCHEMA_SOURCE = pytest.StashKey[str]()
# Where pytest makes its own folders (tmp_path): documented in pytest's reference of environment
# variables. Without it they would follow TMPDIR into the run's folder, which goes at the end.
PYTEST_TEMPORARY_ROOT = "PYTEST_DEBUG_TEMPROOT"


def pytest_configure(config):
    if hasattr(config, "workerinput"):
        return  # an xdist worker: it inherited the controller's environment, set below
    use_a_temporary_folder_of_the_runs_own(config)
    # Baked projects' own bundle checks read the schema path from the environment, as do the
    # workers, so the schema is looked for once.
    path, source = find_bundle_schema(Path(tempfile.gettempdir()))
    if path is None:
        os.environ.pop(SCHEMA_VARIABLE, None)
    else:
        os.environ[SCHEMA_VARIABLE] = str(path)
    config.stash[SCHEMA_SOURCE] = source
    # One seed per run for the random valid answers; set it to replay a run's draw.
    os.environ.setdefault(SEED_VARIABLE, str(random.SystemRandom().randrange(1_000_000)))


def use_a_temporary_folder_of_the_runs_own(config):
    """Point TMPDIR, for this process and every one it starts (xdist workers, cookiecutter and
    cruft commands, nested pytest runs), into a work folder that goes when the run ends, passed,
    failed or interrupted: cookiecutter leaves two hook copies in it per bake (work_folder.py).
    pytest's own folders stay where they were, so a failed test's tmp_path is still there."""
    os.environ.setdefault(PYTEST_TEMPORARY_ROOT, tempfile.gettempdir())
    run_folder = contextlib.ExitStack()
    run_folder.enter_context(work_folder(prefix="template-tests-"))
    # Cleanups run last, after the xdist workers have stopped, and after Ctrl-C as well.
    config.add_cleanup(run_folder.close)


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
