"""A user's clone of the template has nothing beside it: no ../shared, maybe no Databricks CLI.

The template's tests must pass there all the same, with the schema checks skipped on one line
that says how to enable them. This runs the template's fast tests and one baked project's own
suite in a copy of the template, in a folder of its own, with no schema reachable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from baking import SCHEMA_VARIABLE, copy_template

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


def test_template_tests_pass_in_a_clone_with_no_schema_reachable(tmp_path):
    clone = copy_template(tmp_path / "clone" / "template")
    assert not (clone.parent / "shared").exists()

    fast = pytest_in(clone, "-n", "2", "-m", "not slow")
    [schema_skip] = skip_lines(fast)
    assert "DATABRICKS_BUNDLE_SCHEMA" in schema_skip

    # A baked project's own suite, whose test asserts its single schema skip (a slow test).
    project_suite = "tests/test_generated_projects.py::test_project_test_suite_passes"
    assert "1 passed" in pytest_in(clone, f"{project_suite}[deploy_code]")
