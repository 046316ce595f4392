"""The generated README's recipes work as written: edit the one file it names, and everything
downstream follows.

- "new feature": add a column in `features.py` only; the project's suite passes and the column
  reaches the predictions table and the drift metrics of `lifecycle`.
- "different model": swap the estimator in `model.py` only; the suite and `lifecycle` pass.
- the local commands, in the order the README gives them, on a fresh bake: each works after the
  one before it.

Slow: each bakes a project, edits it, runs its suite and its lifecycle.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from deltalake import DeltaTable

from baking import bake
from project_checks import run

pytestmark = pytest.mark.slow

NEW_FEATURE = "is_weekend"


def edit(path: Path, replacements: list[tuple[str, str]]) -> None:
    """Apply text replacements, each of which must match: the recipe follows the file as baked."""
    source = path.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in source, f"{path.name} no longer contains {old!r}: update the recipe test"
        source = source.replace(old, new, 1)
    path.write_text(source, encoding="utf-8")


def readme_names(project, path: str) -> None:
    assert f"`{path}`" in project.read("README.md"), f"the README no longer points at {path}"


def suite_and_lifecycle(project, local_dir: Path) -> str:
    run([sys.executable, "-m", "ruff", "check", "."], cwd=project.path)
    # The suite `make test` runs after an edit (the slow ones run elsewhere, on the defaults).
    suite = ["-q", "-p", "no:cacheprovider", "-m", "not spark and not slow"]
    run([sys.executable, "-m", "pytest", *suite], cwd=project.path)
    local = {"PYTHONPATH": str(project.path / "src"), "MLOPS_LOCAL_DIR": str(local_dir)}
    return run([sys.executable, "-m", project.package, "lifecycle"], project.path, **local).stdout


def prod_table(project, local_dir: Path, table: str):
    context = project.context
    path = local_dir / "warehouse" / context["prod_catalog"] / context["schema_name"] / table
    return DeltaTable(str(path)).to_pandas()


def test_a_new_feature_in_features_py_reaches_predictions_and_drift(tmp_path):
    project = bake(tmp_path / "bake", project_name="recipe-feature")
    readme_names(project, "features.py")
    edit(
        project.path / "src" / project.package / "features.py",
        [
            (
                '        "pickup_weekday": pickup.dt.dayofweek,\n',
                '        "pickup_weekday": pickup.dt.dayofweek,\n'
                f'        "{NEW_FEATURE}": pickup.dt.dayofweek >= 5,\n',
            ),
            (
                '    "pickup_weekday": "long",\n',
                f'    "pickup_weekday": "long",\n    "{NEW_FEATURE}": "long",\n',
            ),
        ],
    )
    local_dir = tmp_path / "local"
    suite_and_lifecycle(project, local_dir)

    predictions = prod_table(project, local_dir, "predictions")
    assert predictions[NEW_FEATURE].notna().all()
    assert set(predictions[NEW_FEATURE]) == {0, 1}
    metrics = prod_table(project, local_dir, "monitoring_metrics")
    assert set(metrics.loc[metrics["feature"] == NEW_FEATURE, "metric"]) == {"psi", "ks"}


def test_another_estimator_in_model_py_trains_validates_and_scores(tmp_path):
    project = bake(tmp_path / "bake", project_name="recipe-model")
    readme_names(project, "model.py")
    edit(
        project.path / "src" / project.package / "model.py",
        [
            (
                "from sklearn.ensemble import HistGradientBoostingRegressor\n",
                "from sklearn.ensemble import RandomForestRegressor\n",
            ),
            (
                'PARAMS = {"max_iter": 120, "learning_rate": 0.15, "max_leaf_nodes": 31}\n',
                'PARAMS = {"n_estimators": 40, "min_samples_leaf": 3}\n',
            ),
            # The README says: add the types MLflow names when it refuses to store the model.
            (
                '    "functools.partial",\n',
                '    "functools.partial",\n    "sklearn.tree._tree.Tree",\n',
            ),
            (
                "    estimator = HistGradientBoostingRegressor(\n"
                "        **{**PARAMS, **(params or {})},\n"
                "        categorical_features=list(range(len(categorical))),\n"
                "        random_state=config.SEED,\n"
                "    )\n",
                "    estimator = RandomForestRegressor(\n"
                "        **{**PARAMS, **(params or {})}, random_state=config.SEED\n"
                "    )\n",
            ),
        ],
    )
    local_dir = tmp_path / "local"
    output = suite_and_lifecycle(project, local_dir)
    assert "Summary" in output

    predictions = prod_table(project, local_dir, "predictions")
    assert predictions["prediction"].notna().all()


# The README's commands this test does not run, and why; every other one runs, in order.
NOT_RUN = {
    "make lifecycle": "time: the clean-runner test of test_generated_projects.py runs it",
    "make explore": "time: the project's own test_explore.py runs the notebook",
    "make mlflow-ui": "it serves until stopped: the project's test_ui.py stops it",
    "make test": "time: the clean-runner test runs make test-all",
    "make test-all": "time: the clean-runner test runs it",
    "make install-spark": "a 400 MB download",
    "make test-spark": "needs make install-spark",
    "serve": "it serves until stopped: the project's test_server.py runs it",
}


def readme_command_blocks(readme: str) -> list[str]:
    """The README's two blocks of local commands: `make ...`, then the package's commands."""
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.DOTALL)
    return [b for b in blocks if b.startswith(("make install", "source .venv/bin/activate"))]


def commands_of(block: str) -> list[str]:
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def is_run(command: str) -> bool:
    return command not in NOT_RUN and command.split()[3:4] != ["serve"]


def test_the_readmes_local_commands_work_as_written_in_order(tmp_path):
    """On a fresh bake, as a user types them into one shell: `make install`, then each command
    of the README after the one before it (`python -m <package> ...` needs the activated .venv,
    which the README says to activate)."""
    project = bake(tmp_path / "bake", include_serving=True)
    blocks = readme_command_blocks(project.read("README.md"))
    assert len(blocks) == 2, "the README's blocks of local commands moved: update this test"
    commands = [command for block in blocks for command in commands_of(block)]
    assert commands[0] == "make install" and "source .venv/bin/activate" in commands
    skipped = {c for c in commands if not is_run(c)} - set(NOT_RUN)
    assert skipped == {f"python -m {project.package} serve --catalog dev"}
    script = "\n".join(["set -ex", *(c for c in commands if is_run(c))])
    # As a user's shell has it: uv on the PATH (the fast install), no virtual environment active
    # and no `python` of the template's.
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "uv").symlink_to(Path(sys.executable).parent / "uv")
    shared_bin = str(Path(sys.executable).parent)
    path = [str(tools), *(p for p in os.environ["PATH"].split(os.pathsep) if p != shared_bin)]
    unset = ("VIRTUAL_ENV", "MAKELEVEL", "MAKEFLAGS", "MFLAGS")  # not under the template's make
    result = run(["bash", "-c", script], project.path, timeout=1800, unset=unset,
                 PATH=os.pathsep.join(path))  # fmt: skip
    assert "champion is version 1 again" in result.stdout
