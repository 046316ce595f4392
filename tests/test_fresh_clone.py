"""A user's clone of the template has nothing beside it: no ../shared, maybe no Databricks CLI.

The template's tests must pass there all the same, with the schema checks skipped on one line
that says how to enable them. Only the tests that read the schema run again here (every other
test runs the same with or without one, and `make test` has run it already): the template's
schema check, in a copy of the template with no schema reachable, and the full suite of a
project baked with the default answers (the one full suite with them: test_generated_projects
draws random ones), whose bundle tests look for the schema themselves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from baking import SCHEMA_VARIABLE, bake, copy_template
from project_checks import assert_passed_skipping_only, run

pytestmark = pytest.mark.slow


def environment_without_a_schema() -> dict[str, str]:
    """This environment, minus every way to the schema: the variable and any `databricks`."""
    cli = shutil.which("databricks")
    path = [p for p in os.environ["PATH"].split(os.pathsep) if not cli or p != os.path.dirname(cli)]
    env = {key: value for key, value in os.environ.items() if key != SCHEMA_VARIABLE}
    return env | {"PATH": os.pathsep.join(path)}


def pytest_in(clone, *args) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=1800,
        env=environment_without_a_schema(),
        check=False,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    return result.stdout


def skip_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("SKIPPED")]


# The template tests that read the bundle schema: those that take this fixture.
SCHEMA_FIXTURE = "bundle_schema_path"
TESTS = Path(__file__).resolve().parent


def test_only_the_matrix_reads_the_bundle_schema():
    # What makes running only test_matrix.py's schema check in the clone enough.
    readers = {
        path.name
        for path in TESTS.glob("test_*.py")
        if f"{SCHEMA_FIXTURE})" in path.read_text() or f"{SCHEMA_FIXTURE}," in path.read_text()
    }
    assert readers == {"test_matrix.py"}


def test_template_tests_pass_in_a_clone_with_no_schema_reachable(tmp_path):
    clone = copy_template(tmp_path / "clone" / "template")
    assert not (clone.parent / "shared").exists()

    checks = pytest_in(clone, "-n", "2", "tests/test_matrix.py", "-k", "validates_offline")
    [schema_skip] = skip_lines(checks)
    assert "DATABRICKS_BUNDLE_SCHEMA" in schema_skip


def test_default_project_suite_passes_with_no_schema_reachable():
    project = bake(include_serving=True)
    without = environment_without_a_schema()
    # With the slow tests, as `make test-all` runs them (two workers, a file to each).
    args = ["-q", "-p", "no:cacheprovider", "-m", "not spark", "-n", "2", "--dist", "loadfile"]
    result = run(
        [sys.executable, "-m", "pytest", *args],
        cwd=project.path,
        timeout=1800,
        unset=(SCHEMA_VARIABLE,),
        PATH=without["PATH"],
    )
    # Its schema checks skip with the generated checker's one-line reason, naming the variable.
    assert_passed_skipping_only(result.stdout, SCHEMA_VARIABLE)
    assert any(SCHEMA_VARIABLE in line for line in skip_lines(result.stdout))
