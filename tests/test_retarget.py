"""The generated README's "Your own table and label" recipe works on tables that are not taxis.

For each of three data sets scikit-learn ships (no download), a project is baked with the
matching `problem_type` and the recipe is applied as written: the files it names are edited and
nothing else (`contract.py`, `features.py`, `sample_data.py`, `databricks.yml` and `config.py`
for the input table and the gate's threshold, the candidate feature of `notebooks/explore.py`;
`model.py` needs no change, the baked estimator already fits the task). The local stand-in
(`sample_data.generate_rows`) draws rows of the data set with replacement, a little noise, an
integer id, a synthetic event time and the target as the outcome; `drift` > 1 shifts one
numeric column.

Then the project's own suite runs without the tests about the example's columns
(`-m "not example"`, as the README says; its slow suites too are left out, for time: the
`lifecycle` run below is what its slow lifecycle test checks), and `lifecycle`: a champion in
prod, predictions holding the new features (and for a classifier the class and its
probabilities), drift metrics over the new features.

- `load_diabetes`: regression, an integer column used as a category;
- `load_breast_cancer`: binary classification, a label computed from the outcome column;
- `load_wine`: three classes, no categorical feature.

Slow: each bakes a project, rewrites it, runs its suite and its lifecycle.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from deltalake import DeltaTable

from baking import bake
from project_checks import run

pytestmark = pytest.mark.slow

# Small: the generator samples with replacement, so the suite and the lifecycle stay quick.
LIFECYCLE_ROWS = 1_500
INPUT_TABLE = "main.research.{name}"
# What the README's recipe tells the data scientist to edit.
RECIPE_FILES = [
    "databricks.yml",
    "config.py",
    "contract.py",
    "features.py",
    "sample_data.py",
    "notebooks/explore.py",
]


@dataclass(frozen=True)
class Dataset:
    """A scikit-learn data set as a project's input table."""

    name: str
    loader: str  # sklearn.datasets.<loader>(as_frame=True)
    problem_type: str
    outcome: str  # the outcome column the generator writes
    outcome_rule: str  # its Rule(...), as source
    outcome_of_target: str  # source: the outcome from `target`, the data set's target Series
    label: str
    label_rule: str
    compute_label: str  # the body of features.compute_label
    categorical: dict[str, str] = field(default_factory=dict)  # column -> Rule source
    # A text column the generator adds (a site, drawn at random), coded as a categorical feature.
    text: str = ""
    prefix: str = ""  # the project keeps the data set's columns whose names start with it
    drifting: str = ""  # the numeric column `drift` shifts
    gate: str = 'Gate(metric="roc_auc", threshold=0.8, higher_is_better=True)'
    gate_threshold: str = "0.8"
    loader_arguments: str = "as_frame=True"


DATASETS = [
    Dataset(
        name="diabetes",
        loader="load_diabetes",
        loader_arguments="as_frame=True, scaled=False",
        problem_type="regression",
        outcome="progression",
        outcome_rule='Rule("number", 0.0, 1_000.0)',
        outcome_of_target="target",
        label="progression",
        label_rule='Rule("number", 0.0, 1_000.0, action="refuse")',
        compute_label="return rows[contract.LABEL]",
        # 1 or 2 in the raw data: a code, not a quantity.
        categorical={"sex": 'Rule("integer", 1, 2)'},
        drifting="bmi",
        gate='Gate(metric="rmse", threshold=80.0, higher_is_better=False)',
        gate_threshold="80.0",
    ),
    Dataset(
        name="breast_cancer",
        loader="load_breast_cancer",
        problem_type="classification",
        # The data set's target is 1 for benign: the table stores the diagnosis as text would,
        # and the label asks the question the model answers.
        outcome="benign",
        outcome_rule='Rule("integer", 0, 1)',
        outcome_of_target="target",
        label="malignant",
        label_rule='Rule("integer", 0, 1, action="refuse")',
        compute_label=(
            'benign = rows["benign"]\n    return (1 - benign).astype("Int64").where(benign.notna())'
        ),
        # The "mean ..." measurements only: the worst and error columns say much the same.
        prefix="mean_",
        drifting="mean_radius",
        text="clinic",
    ),
    Dataset(
        name="wine",
        loader="load_wine",
        problem_type="classification",
        outcome="cultivar",
        outcome_rule='Rule("integer", 0, 2)',
        outcome_of_target="target",
        label="cultivar",
        label_rule='Rule("integer", 0, 2, action="refuse")',
        compute_label="return rows[contract.LABEL]",
        drifting="alcohol",
    ),
]


def dataset_columns(dataset: Dataset) -> list[str]:
    """The data set's feature columns the project keeps, named in snake case."""
    from sklearn import datasets

    frame = getattr(datasets, dataset.loader)(as_frame=True).data
    names = [re.sub(r"\W+", "_", name) for name in frame.columns]
    return [name for name in names if name.startswith(dataset.prefix)]


def contract_source(dataset: Dataset, columns: list[str]) -> str:
    key, time = f"{dataset.name}_id", "observed_at"
    rules = [f'    "{key}": Rule("integer", 0, 2**62),', f'    "{time}": _TIME,']
    for column in columns:
        rule = dataset.categorical.get(column, 'Rule("number")')
        rules.append(f'    "{column}": {rule},')
    if dataset.text:
        rules.append(f'    "{dataset.text}": Rule("string"),')
    rules_source = "\n".join(rules)
    metrics = (
        '["rmse", "mae", "r2"]'
        if dataset.problem_type == "regression"
        else '["roc_auc", "log_loss", "accuracy", "f1"]'
    )
    return f'''"""Edit here: the data contract of scikit-learn's {dataset.name} data set."""

from __future__ import annotations

import pandas as pd

from .mlops.rules import Gate, Rule

PROBLEM_TYPE = "{dataset.problem_type}"

_TIME = Rule("timestamp", pd.Timestamp("1970-01-01"), pd.Timestamp("2100-01-01"))
INPUT_COLUMNS = {{
{rules_source}
}}
# One integer id column: it is the key, as it is.
KEY = "{key}"
KEY_COLUMNS = [KEY]
TIMESTAMP = "{time}"
OUTCOME_COLUMNS = {{"{dataset.outcome}": {dataset.outcome_rule}}}
LABEL = "{dataset.label}"
LABEL_RULE = {dataset.label_rule}
TRAINING_RANGES: dict[str, tuple[float, float]] = {{}}
METRICS = {metrics}
GATE = {dataset.gate}
'''


DERIVED = "# Derived from the declarations above; do not list columns by hand anywhere else.\n"


def features_source(dataset: Dataset, columns: list[str], baked: str) -> str:
    assert DERIVED in baked, "features.py no longer has its derived declarations: update the test"
    numeric = [column for column in columns if column not in dataset.categorical]
    numeric_lines = "\n".join(f'    "{column}": "double",' for column in numeric)
    categorical = [*dataset.categorical, *([f"{dataset.text}_code"] if dataset.text else [])]
    categorical_lines = "\n".join(f'    "{column}": "long",' for column in categorical)
    text_code = (
        f'"{dataset.text}_code": rows["{dataset.text}"].map(TEXT_CODES).fillna(-1), '
        if dataset.text
        else ""
    )
    return f'''"""Edit here: the features of the {dataset.name} model, the measurements as such."""

from __future__ import annotations

import pandas as pd

from . import contract

NUMERIC_FEATURES = {{
{numeric_lines}
}}
CATEGORICAL_FEATURES = {{
{categorical_lines}
}}

# Codes of the text column's values (an unknown value is -1: a category never seen).
TEXT_CODES = {{"north": 0, "south": 1, "east": 2, "west": 3}}


def compute_features(rows: pd.DataFrame) -> dict[str, pd.Series]:
    # The measurements are the features, as they are.
    return {{{text_code}**{{name: rows[name] for name in {columns!r}}}}}


def compute_label(rows: pd.DataFrame) -> pd.Series:
    {dataset.compute_label}


{DERIVED}{baked.split(DERIVED, 1)[1]}'''


WRITER = "# " + "-" * 93 + "\n"


def sample_data_source(dataset: Dataset, baked: str) -> str:
    assert WRITER in baked, "sample_data.py no longer has its writer section: update the test"
    return f'''"""Edit here: the local stand-in for the input table: rows of scikit-learn's
{dataset.name} data set, drawn with replacement and a little noise."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from sklearn.datasets import {dataset.loader}

from . import config, contract
from .mlops.errors import MlopsError

COLUMNS = [*contract.INPUT_COLUMNS, *contract.OUTCOME_COLUMNS]
# The column `drift` > 1 shifts, by (drift - 1) standard deviations.
DRIFTING = "{dataset.drifting}"


def _table() -> pd.DataFrame:
    data = {dataset.loader}({dataset.loader_arguments})
    table = data.data.rename(columns=lambda name: re.sub(r"\\W+", "_", name))
    target = data.target
    table["{dataset.outcome}"] = {dataset.outcome_of_target}
    return table


def generate_rows(
    n_rows: int = config.SAMPLE_ROWS,
    *,
    seed: int = config.SEED,
    start: str = "2016-01-01",
    days: int = 60,
    drift: float = 1.0,
) -> pd.DataFrame:
    if n_rows < 1:
        raise MlopsError(f"the sample needs at least one row, got {{n_rows}}")
    rng = np.random.default_rng(seed)
    table = _table()
    rows = table.iloc[rng.integers(0, len(table), n_rows)].reset_index(drop=True)
    numbers = [name for name, rule in contract.INPUT_COLUMNS.items() if rule.kind == "number"]
    spread = table[numbers].std().to_numpy()
    rows[numbers] = rows[numbers] + rng.normal(0.0, 0.05, (n_rows, len(numbers))) * spread
    rows[DRIFTING] = rows[DRIFTING] + (drift - 1.0) * table[DRIFTING].std()
    # Codes stored as floats in the data set are whole numbers in the table.
    for name, rule in contract.INPUT_COLUMNS.items():
        if rule.kind == "string":  # a site, drawn at random
            rows[name] = rng.choice(["north", "south", "east", "west"], n_rows)
        if rule.kind == "integer" and name in rows:
            rows[name] = rows[name].astype("int64")
    # Ids that differ between batches: the seed and the first day, then a row number.
    first_day = (pd.Timestamp(start) - pd.Timestamp("2000-01-01")).days
    rows[contract.KEY] = (seed % 1_000 * 100_000 + first_day) * 1_000_000 + np.arange(n_rows)
    seconds = rng.integers(0, days * 86_400, n_rows)
    rows[contract.TIMESTAMP] = (pd.Timestamp(start) + pd.to_timedelta(seconds, unit="s")).as_unit(
        "us"
    )
    return rows[COLUMNS]


{WRITER}{baked.split(WRITER, 1)[1]}'''


def replace_line(path: Path, starts: str, new: str) -> None:
    """Replace the one line of `path` that starts with `starts` (after its indent) by `new`."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if line.lstrip().startswith(starts)]
    assert len(hits) == 1, f"{path.name}: {len(hits)} lines start with {starts!r}"
    indent = lines[hits[0]][: len(lines[hits[0]]) - len(lines[hits[0]].lstrip())]
    lines[hits[0]] = f"{indent}{new}\n"
    path.write_text("".join(lines), encoding="utf-8")


def set_bundle_default(path: Path, variable: str, value: str) -> None:
    """The default of one variable of databricks.yml, the line after `  <variable>:`."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index(f"  {variable}:\n")
    for i in range(start + 1, len(lines)):
        if lines[i].lstrip().startswith("default:"):
            lines[i] = f"    default: {json.dumps(value)}\n"
            break
    path.write_text("".join(lines), encoding="utf-8")


def retarget(project, dataset: Dataset) -> list[str]:
    """Apply the README's recipe for `dataset`; returns its feature columns."""
    readme = project.read("README.md")
    recipe = readme.split("## Your own table and label", 1)[1].split("\n## ", 1)[0]
    for name in RECIPE_FILES:
        assert f"`{name}`" in recipe or f"`src/{project.package}/{name}`" in recipe, (
            f"the README's recipe no longer names {name}"
        )
    assert '-m "not example"' in recipe, "the README's recipe no longer says how to run the suite"

    package = project.path / "src" / project.package
    columns = dataset_columns(dataset)
    table = INPUT_TABLE.format(name=dataset.name)
    set_bundle_default(project.path / "databricks.yml", "input_table", table)
    set_bundle_default(project.path / "databricks.yml", "gate_threshold", dataset.gate_threshold)
    replace_line(package / "config.py", "INPUT_TABLE =", f'INPUT_TABLE = "{table}"')
    (package / "contract.py").write_text(contract_source(dataset, columns), encoding="utf-8")
    features = package / "features.py"
    features.write_text(
        features_source(dataset, columns, features.read_text(encoding="utf-8")), encoding="utf-8"
    )
    candidate_cell(project.path / "notebooks" / "explore.py", dataset)
    sample = package / "sample_data.py"
    sample.write_text(sample_data_source(dataset, sample.read_text(encoding="utf-8")), "utf-8")
    return columns


def candidate_cell(path: Path, dataset: Dataset) -> None:
    """The exploration notebook's candidate feature, one of the new columns'."""
    source = path.read_text(encoding="utf-8")
    start = source.index("candidate_features = {\n")
    end = source.index("}\n", start) + 2
    column = dataset.drifting
    candidate = (
        "candidate_features = {\n"
        f"    # Is the {column} above its median? A flag may say it more plainly.\n"
        f'    "high_{column}": lambda rows: rows["{column}"] > rows["{column}"].median(),\n'
        "}\n"
    )
    path.write_text(source[:start] + candidate + source[end:], encoding="utf-8")


def prod_table(project, local_dir: Path, table: str):
    context = project.context
    path = local_dir / "warehouse" / context["prod_catalog"] / context["schema_name"] / table
    return DeltaTable(str(path)).to_pandas()


@pytest.mark.parametrize("dataset", DATASETS, ids=[d.name for d in DATASETS])
def test_the_recipe_retargets_the_project_to_another_table(tmp_path, dataset):
    project = bake(
        tmp_path / "bake",
        project_name=f"retarget-{dataset.name.replace('_', '-')}",
        problem_type=dataset.problem_type,
    )
    columns = retarget(project, dataset)
    # The generated ruff config for the edited files, as the project's pre-commit hook would.
    run([sys.executable, "-m", "ruff", "format", "src"], cwd=project.path)
    run([sys.executable, "-m", "ruff", "check", "."], cwd=project.path)
    run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
        + ["-m", "not example and not spark and not slow"],
        cwd=project.path,
    )
    local_dir = tmp_path / "local"
    local = {"PYTHONPATH": str(project.path / "src"), "MLOPS_LOCAL_DIR": str(local_dir)}
    output = run(
        [sys.executable, "-m", project.package, "lifecycle", "--rows", str(LIFECYCLE_ROWS)],
        project.path,
        **local,
    ).stdout
    assert "Summary" in output

    # A champion in prod, and it scored both batches.
    predictions = prod_table(project, local_dir, "predictions")
    assert predictions["model_version"].notna().all()
    assert set(predictions["batch_id"]) == {"2016-03-01", "2016-03-08"}
    assert f"{dataset.name}_id" in predictions.columns
    assert predictions[f"{dataset.name}_id"].is_unique
    for column in columns:
        assert predictions[column].notna().all(), column
    assert predictions["prediction"].notna().all()
    if dataset.problem_type == "classification":
        classes = sorted(prod_table(project, local_dir, "labels")[dataset.label].unique())
        assert set(predictions["prediction"]) <= set(classes)
        first = dict(predictions["probabilities"].iloc[0])
        assert sorted(int(name) for name in first) == classes
        assert sum(first.values()) == pytest.approx(1.0)

    if dataset.text:  # a text input column, coded as a categorical feature
        assert predictions[f"{dataset.text}_code"].isin(range(4)).all()

    metrics = prod_table(project, local_dir, "monitoring_metrics")
    psi = metrics[metrics["metric"] == "psi"]
    numeric = [column for column in columns if column not in dataset.categorical]
    assert set(psi["feature"]) >= set(numeric)
    categorical = [*dataset.categorical, *([f"{dataset.text}_code"] if dataset.text else [])]
    assert set(metrics.loc[metrics["metric"] == "js", "feature"]) == set(categorical)
    shifted = psi[(psi["feature"] == dataset.drifting) & (psi["batch_id"] == "2016-03-08")]
    assert (shifted["value"] > 0.2).all() and len(shifted) > 0
