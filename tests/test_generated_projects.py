"""Baked projects build, lint clean and pass their own test suites in the shared environment.

These are the slow tests: each runs a baked project's pytest in a subprocess. CI runs them.
Besides the defaults, each run bakes a few sets of random valid answers (seeded; the seed is in
the pytest header), so over many runs every answer a user types reaches the generated suite.
"""

from __future__ import annotations

import ast
import os
import random
import re
import subprocess
import sys

import pytest

from baking import PATTERNS, TEMPLATE_ROOT, answers_seed, bake, random_answers
from project_checks import (
    CHROMIUM_BINARIES,
    NO_CHROMIUM,
    NO_MONITORING,
    OTHER_PROBLEM_TYPE,
    assert_passed_skipping_only,
    run,
)

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
        bake(
            deployment_pattern=pattern,
            include_monitoring=monitoring,
            include_serving=monitoring,
            compute=compute,
        )
        for pattern in PATTERNS
        for monitoring in (True, False)
        for compute in ("serverless", "classic")
    ]
    for project in projects:
        run([sys.executable, "-m", "ruff", "check", "."], cwd=project.path)
        run([sys.executable, "-m", "ruff", "format", "--check", "."], cwd=project.path)
    # `make check`'s type checker (its settings in the project's pyproject.toml): with
    # monitoring and serving, and without either, the shapes the package code takes.
    for project in projects[:2]:
        run([sys.executable, "-m", "mypy"], cwd=project.path)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_wheel_builds_as_the_bundle_artifact_does(pattern, tmp_path):
    project = baked(pattern)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(tmp_path), "."],
        cwd=project.path)  # fmt: skip
    wheels = list(tmp_path.glob("*.whl"))
    assert [w.name.split("-")[0] for w in wheels] == [project.package]


# The full generated suites, each run once. Every one bakes random answers (the seed is in the
# pytest header: no generated test may hard-code a default), with the options that decide what
# is generated fixed so that each pattern, each problem type, and a project without monitoring
# run the whole suite. The default answers' suite runs in test_fresh_clone.py, with no schema.
FULL_SUITES = {
    "deploy_code-regression": {"deployment_pattern": "deploy_code", "problem_type": "regression"},
    "deploy_model-classification": {
        "deployment_pattern": "deploy_model",
        "problem_type": "classification",
    },
    "hybrid": {"deployment_pattern": "hybrid"},
    "no-monitoring": {"include_monitoring": False},
}


def suite_answers(suite: str) -> dict:
    answers = random_answers(random.Random(f"{answers_seed()}-{suite}")) | FULL_SUITES[suite]
    if answers["include_monitoring"]:
        answers["include_serving"] = True  # the fullest project: monitoring and serving
    return answers


@pytest.mark.parametrize("suite", FULL_SUITES)
def test_project_suite_passes(suite):
    answers = suite_answers(suite)
    project = bake(**answers)
    print(f"answers (seed {answers_seed()}, {suite}): {answers}")
    skippable = () if answers["include_monitoring"] else (NO_MONITORING,)
    # The slow generated tests run with the default answers (test_fresh_clone.py) and with
    # random ones in the CI checks' `make test-all`: each full suite here would repeat them.
    result = project_pytest(project, "not spark and not slow")
    assert_passed_skipping_only(result.stdout, *skippable)


def test_the_skips_the_suites_allow_are_the_generated_tests_own():
    # A reason reworded in a generated test would fail every suite of that kind; a reason
    # the checks allow but no test gives would hide nothing and mislead.
    tests = TEMPLATE_ROOT / "{{cookiecutter.project_name}}" / "tests"
    sources = "\n".join(path.read_text() for path in sorted(tests.glob("*.py")))
    for reason in (NO_MONITORING, OTHER_PROBLEM_TYPE, NO_CHROMIUM):
        assert reason in sources, reason
    pages = (tests / "pages.py").read_text()
    binaries = re.search(r"^BINARIES = (\(.*?\))", pages, re.M).group(1)
    assert ast.literal_eval(binaries) == CHROMIUM_BINARIES
    monitoring_skips = re.findall(r'pytest\.skip\("([^"]*monitoring[^"]*)"', sources)
    assert monitoring_skips and all(NO_MONITORING in reason for reason in monitoring_skips)


@pytest.mark.parametrize("problem_type", ["regression", "classification"])
def test_spark_path_passes(problem_type):
    # Each problem type has its own Spark code: a regressor's spark_udf answers a number, a
    # classifier's a struct of its class and probabilities (and older versions an array).
    project = baked("deploy_code", problem_type=problem_type)
    result = project_pytest(project, "spark")
    assert " passed" in result.stdout


@pytest.mark.parametrize("pattern", PATTERNS)
def test_lifecycle_runs_end_to_end_from_the_command_line(pattern, tmp_path):
    project = baked(pattern, include_serving=True)
    local_state = {"PYTHONPATH": str(project.path / "src"), "MLOPS_LOCAL_DIR": str(tmp_path)}
    result = run([sys.executable, "-m", project.package, "lifecycle"], project.path, **local_state)
    assert "champion" in result.stdout
    assert "over HTTP, answers equal to batch scoring" in result.stdout


def test_baked_projects_ci_checks_pass_on_a_clean_runner(tmp_path):
    """The generated GitHub Actions `checks` job, command for command, on a fresh bake with its
    own fresh virtual environment (not the shared one): a dependency missing from the generated
    pyproject.toml fails here first. Answers are a random valid set, so over many runs every
    option is installed from scratch."""
    answers = random_answers(random.Random(f"{answers_seed()}-ci")) | {
        "cicd_platform": "github_actions"
    }
    project = bake(output_dir=tmp_path, **answers)
    checks = project.yaml(".github/workflows/ci.yml")["jobs"]["checks"]
    commands = [step["run"] for step in checks["steps"] if "run" in step]
    assert commands == ["make install", "make check", "make test-all", "make lifecycle"]
    # The runner's own Python: the shared venv's bin leaves the PATH, so `make` builds anew.
    shared_bin = os.path.dirname(sys.executable)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != shared_bin)
    environment = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    for command in commands:
        result = subprocess.run(
            command.split(),
            cwd=project.path,
            capture_output=True,
            text=True,
            timeout=1800,
            env=environment | {"PATH": path},
            check=False,
        )
        assert result.returncode == 0, (
            f"{command} failed (answers {answers}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    # pyspark is the `spark` extra, not in this venv: `make test-spark` says so rather than pass
    # with every Spark test skipped.
    result = subprocess.run(
        ["make", "test-spark"],
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=300,
        env=environment | {"PATH": path},
        check=False,
    )
    assert result.returncode != 0
    assert "error: pyspark is not installed in .venv: run make install-spark first" in result.stderr


def test_make_install_uses_uv_when_it_is_on_the_path(tmp_path):
    """The generated Makefile's other branch: with uv on the PATH, `make install` builds the
    same environment with uv (the `checks` job above runs without it, so with pip)."""
    project = bake(output_dir=tmp_path, **random_answers(random.Random(f"{answers_seed()}-uv")))
    uv_bin = os.path.dirname(sys.executable)  # the shared venv carries uv (requirements-dev)
    path = os.pathsep.join([uv_bin, os.environ["PATH"]])
    result = run(["make", "install"], project.path, timeout=1800, PATH=path)
    assert "uv pip install" in result.stdout
    venv_python = project.path / ".venv" / "bin" / "python"
    run([str(venv_python), "-c", f"import {project.package}, deltalake, pytest"], project.path)
    # The bundle's artifact build (`python3 -m pip wheel`) works with this venv activated.
    run([str(venv_python), "-m", "pip", "--version"], project.path)
    # pyspark comes only with `make install-spark` (the `spark` extra), into the same venv.
    run([str(venv_python), "-c", "import importlib.util as u; assert not u.find_spec('pyspark')"],
        project.path)  # fmt: skip
    run(["make", "install-spark"], project.path, timeout=1800, PATH=path)
    run([str(venv_python), "-c", f"import {project.package}, pyspark, deltalake"], project.path)
