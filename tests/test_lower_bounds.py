"""Every lower bound of the generated project is true: its suite passes on the oldest allowed
versions of its direct dependencies (issue 8, point 8).

A fresh virtual environment gets each runtime dependency and each `local` extra pinned to its
lower bound (`name>=X` becomes `name==X`), the project itself with `--no-deps`, and the tools
its tests import; then the project's own suite runs (`-m "not spark and not slow"`). A bound
that claims too little (`mlflow>=3.1` while skops serialisation needs 3.9) fails here.
"""

from __future__ import annotations

import re
import sys
import tomllib
import venv
from pathlib import Path

import pytest

from baking import bake
from project_checks import run

pytestmark = pytest.mark.slow

LOWER_BOUND = re.compile(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?>=([^,;\s]+)")
# Test tools of the project's `dev` extra that the non-Spark suite imports (not pyspark).
TEST_TOOLS = ("pytest", "hypothesis", "pyyaml", "jsonschema", "regex", "databricks-bundles")
# The generated test of MLflow's cross-workspace copy (the reason for mlflow's lower bound).
COPY_TEST = (
    "tests/test_uc_copy.py::test_a_cross_workspace_copy_does_not_look_up_the_source_logged_model"
)


def lowest_versions(pyproject: dict, extras=("local",)) -> list[str]:
    """`name==X` for each `name>=X` among the runtime dependencies and the given extras."""
    requirements = list(pyproject["project"]["dependencies"])
    for extra in extras:
        requirements += pyproject["project"]["optional-dependencies"][extra]
    pins = []
    for requirement in requirements:
        match = LOWER_BOUND.match(requirement.replace(" ", ""))
        assert match, f"{requirement!r} has no lower bound"
        pins.append(f"{match.group(1)}=={match.group(3)}")
    return pins


def test_lower_bound_parsing():
    pyproject = {
        "project": {
            "dependencies": ["mlflow>=3.9", "numpy >= 1.26,<3"],
            "optional-dependencies": {"local": ["deltalake>=1.0"]},
        }
    }
    assert lowest_versions(pyproject) == ["mlflow==3.9", "numpy==1.26", "deltalake==1.0"]


def dev_tools(pyproject: dict) -> list[str]:
    """The project's own `dev` requirements for the tools the non-Spark suite imports."""
    wanted = set(TEST_TOOLS)
    found = [
        r
        for r in pyproject["project"]["optional-dependencies"]["dev"]
        if re.split(r"[<>=!~\[ ]", r, maxsplit=1)[0].lower() in wanted
    ]
    assert len(found) == len(wanted), found
    return found


# The template environment's uv (requirements-dev.txt pins it; `make test` builds with it):
# about a minute less than pip for these pins, with the same versions installed.
UV = Path(sys.executable).with_name("uv")


def install(python: str, *requirements: str) -> None:
    """Install into the environment of `python` (compiled, as pip would: the suite imports
    MLflow and scikit-learn in every worker)."""
    if not UV.exists():
        run([python, "-m", "pip", "install", "--quiet", *requirements], timeout=1200)
        return
    command = [str(UV), "pip", "install", "--quiet", "--compile-bytecode", "--python", python]
    run([*command, *requirements], timeout=1200)


def test_project_suite_passes_on_the_lowest_allowed_versions(tmp_path):
    # With serving: its one dependency of its own (orjson) has a lower bound too.
    project = bake(project_name="lower-bounds", include_monitoring=True, include_serving=True)
    pyproject = tomllib.loads(project.read("pyproject.toml"))
    environment = tmp_path / "venv"
    venv.EnvBuilder(with_pip=not UV.exists()).create(environment)
    python = str(environment / "bin" / "python")
    install(python, *lowest_versions(pyproject), *dev_tools(pyproject))
    install(python, "--no-deps", str(project.path))
    # -rp lists each passed test: the copy across workspaces (Unity Catalog store) must be one.
    marker = "not spark and not slow"  # the slow tests call the same APIs, many times over
    args = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", marker, "-x", "-rp"]
    result = run(args, project.path, timeout=1800, unset=("VIRTUAL_ENV", "PYTHONPATH"))
    assert " passed" in result.stdout, result.stdout[-2000:]
    assert f"PASSED {COPY_TEST}" in result.stdout, result.stdout[-2000:]
