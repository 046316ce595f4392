"""Baked projects build, lint clean and pass their own test suites in the shared environment.

These are the slow tests: each runs a baked project's pytest in a subprocess. CI runs them.
"""

from __future__ import annotations

import sys

import pytest

from baking import PATTERNS, bake
from project_checks import run

pytestmark = pytest.mark.slow

# Distinct project names give distinct package names, so nothing collides in the shared venv.
PROJECT_PER_PATTERN = {pattern: f"demo-{pattern.replace('_', '-')}" for pattern in PATTERNS}


def project_pytest(project, marker: str):
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", marker]
    return run(args, cwd=project.path)


def baked(pattern: str, **answers):
    return bake(deployment_pattern=pattern, project_name=PROJECT_PER_PATTERN[pattern], **answers)


def test_baked_projects_lint_clean():
    projects = [
        bake(deployment_pattern=pattern, include_monitoring=monitoring, compute=compute)
        for pattern in PATTERNS
        for monitoring in (True, False)
        for compute in ("serverless", "classic")
    ]
    for project in projects:
        run([sys.executable, "-m", "ruff", "check", "."], cwd=project.path)
        run([sys.executable, "-m", "ruff", "format", "--check", "."], cwd=project.path)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_wheel_builds_as_the_bundle_artifact_does(pattern, tmp_path):
    project = baked(pattern)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(tmp_path), "."],
        cwd=project.path)  # fmt: skip
    wheels = list(tmp_path.glob("*.whl"))
    assert [w.name.split("-")[0] for w in wheels] == [project.package]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_project_test_suite_passes(pattern):
    project = baked(pattern)
    result = project_pytest(project, "not spark")
    assert " passed" in result.stdout and "skipped" not in result.stdout.splitlines()[-1]


def test_project_test_suite_passes_without_monitoring():
    project = baked("deploy_code", include_monitoring=False)
    project_pytest(project, "not spark")


def test_spark_path_passes():
    project = baked("deploy_code")
    result = project_pytest(project, "spark")
    assert " passed" in result.stdout


@pytest.mark.parametrize("pattern", PATTERNS)
def test_lifecycle_runs_end_to_end_from_the_command_line(pattern, tmp_path):
    project = baked(pattern)
    local_state = {"PYTHONPATH": str(project.path / "src"), "MLOPS_LOCAL_DIR": str(tmp_path)}
    result = run([sys.executable, "-m", project.package, "lifecycle"], project.path, **local_state)
    assert "champion" in result.stdout
