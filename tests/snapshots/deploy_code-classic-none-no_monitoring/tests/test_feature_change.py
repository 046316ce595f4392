"""The feature recipe applied to a project whose tables exist, across whole `lifecycle` runs.

`lifecycle` runs once with the code as it is; then `features.py` is edited the way the README
says (in a copy of `src/`), and `lifecycle` runs again from that copy on the same `.local/`,
as a data scientist would run `make lifecycle` after the edit:

1. a feature added: every catalog moves to a version that uses it, and the prod predictions
   table gets its column (null in a batch scored before, filled in the batches scored after);
2. a feature removed: the column stays, null in the new batches;
3. a feature's type changed: the run stops before any step, with one line naming the table, the
   column and both types, and no version or alias changes in any catalog.

The edits are the only place that knows how `features.py` is laid out (`add_feature`,
`remove_feature`, `retype_feature`); the features are picked from the declarations.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from taxi_fare_mlops import config, contract, features, sample_data
from taxi_fare_mlops.mlops import lifecycle, registry, runtime, tables
from taxi_fare_mlops.mlops.location import Location
from taxi_fare_mlops.mlops.score import score

from conftest import SRC, source_environment, start_local_dir

pytestmark = pytest.mark.slow

ROWS = 2_000
CATALOGS = (config.DEV_CATALOG, config.STAGING_CATALOG, config.PROD_CATALOG)
PROD = Location(config.PROD_CATALOG)
# Scored before the change and never again: the rows a new column finds in the table.
OLD_BATCH = "2016-02-23"
# The batches every `lifecycle` run scores (again) in prod.
LIFECYCLE_BATCHES = ("2016-03-01", "2016-03-08") if config.INCLUDE_MONITORING else ("2016-03-01",)
NEW_FEATURE = "recipe_feature"

# --- the recipe, as edits of features.py ------------------------------------------------------


def _features_file(src: Path) -> Path:
    return src / config.PACKAGE / "features.py"


def _edit(src: Path, pattern: str, replacement: str, count: int) -> None:
    path = _features_file(src)
    text, made = re.subn(pattern, replacement, path.read_text(), flags=re.MULTILINE)
    assert made == count, f"{path}: {pattern!r} matched {made} times, not {count}"
    path.write_text(text)


def add_feature(src: Path, name: str, kind: str, expression: str) -> None:
    """Declare `name` in NUMERIC_FEATURES and compute it in `add_features` (two lines)."""
    _edit(src, r"^(NUMERIC_FEATURES = \{\n)", rf'\g<1>    "{name}": "{kind}",\n', 1)
    _edit(src, r"^(\s*)(return \{\n)", rf'\g<1>\g<2>\g<1>    "{name}": {expression},\n', 1)


def remove_feature(src: Path, name: str) -> None:
    """Delete its declaration and its computation (the two lines that start with its name), and
    its rule in `FEATURE_RULES` if it has one."""
    _edit(src, rf'^\s*"{name}": (?!Rule\().*,\n', "", 2)
    has_rule = name in getattr(features, "FEATURE_RULES", {})
    _edit(src, rf'^\s*"{name}": Rule\(.*\),\n', "", 1 if has_rule else 0)


def retype_feature(src: Path, name: str, kind: str) -> None:
    _edit(src, rf'^(\s*"{name}": )"\w+",$', rf'\g<1>"{kind}",', 1)


# --- what to change, picked from the declarations ---------------------------------------------


def _numeric_input_column() -> str:
    sample = sample_data.generate_rows(5)
    return next(
        column for column in contract.INPUT_COLUMNS if pd.api.types.is_float_dtype(sample[column])
    )


def _removed_feature() -> str:
    ranged = contract.TRAINING_RANGES
    return next(name for name in reversed(features.NUMERIC_FEATURES) if name not in ranged)


def _retyped_feature(removed: str) -> tuple[str, str, str]:
    """A feature, its type and another: a whole number that becomes a fraction if there is one
    (deltalake's schema merge alone would cut the new fractions to the stored whole numbers)."""
    kept = [(name, kind) for name, kind in features.NUMERIC_FEATURES.items() if name != removed]
    name, kind = sorted(kept, key=lambda item: item[1] != "long")[0]
    return name, kind, "double" if kind == "long" else "long"


# --- running it -------------------------------------------------------------------------------


def run_lifecycle(src: Path, local_dir: Path) -> subprocess.CompletedProcess:
    """`python -m <package> lifecycle` from `src` (the edited copy), on `local_dir`."""
    environment = {
        **source_environment(),
        "PYTHONPATH": str(src),
        runtime.LOCAL_DIR_VARIABLES[0]: str(local_dir),
    }
    command = [sys.executable, "-m", config.PACKAGE, "lifecycle", "--rows", str(ROWS)]
    return subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=900, check=False
    )


def _registry_state() -> dict[str, tuple]:
    return {
        catalog: (
            registry.versions(Location(catalog).model),
            registry.alias_version(Location(catalog).model, config.CHAMPION),
            registry.alias_version(Location(catalog).model, config.CHALLENGER),
        )
        for catalog in CATALOGS
    }


def _batches() -> dict[str, pd.DataFrame]:
    rows = tables.for_runtime().read(PROD.predictions)
    return {batch: frame for batch, frame in rows.groupby("batch_id")}


@pytest.fixture
def project(tmp_path, monkeypatch, empty_database):
    """A local dir after one `lifecycle` of the code as it is, plus a batch scored in prod that
    no later run scores again; and a copy of src/ to edit."""
    local_dir = start_local_dir(tmp_path / ".local", empty_database)
    monkeypatch.setenv(runtime.LOCAL_DIR_VARIABLES[0], str(local_dir))
    lifecycle.run(rows=ROWS, say=lambda line: None)
    sample_data.write_sample_data(PROD.new_rows, n_rows=300, seed=5, start=OLD_BATCH, days=7)
    score(location=PROD, input_table=PROD.new_rows, batch_id=OLD_BATCH)
    src = tmp_path / "src"
    shutil.copytree(SRC, src, ignore=shutil.ignore_patterns("__pycache__"))
    return local_dir, src


def test_adding_removing_and_retyping_a_feature_on_live_tables(project):
    local_dir, src = project
    assert _registry_state()[config.PROD_CATALOG][1] == "1"

    # 1. A feature added: merged into the predictions table.
    add_feature(src, NEW_FEATURE, "double", f"rows[{_numeric_input_column()!r}] * 0.5")
    added = run_lifecycle(src, local_dir)
    assert added.returncode == 0, added.stdout[-2000:] + added.stderr[-2000:]
    assert f"adds column {NEW_FEATURE}" in added.stdout
    for catalog, (versions, champion, challenger) in _registry_state().items():
        assert versions[-1] == champion == challenger != "1", catalog
    batches = _batches()
    assert set(batches) == {OLD_BATCH, *LIFECYCLE_BATCHES}
    assert batches[OLD_BATCH][NEW_FEATURE].isna().all()
    for batch in LIFECYCLE_BATCHES:
        assert batches[batch][NEW_FEATURE].notna().all(), batch
    if config.INCLUDE_MONITORING:
        metrics = tables.for_runtime().read(PROD.metrics, where={"feature": NEW_FEATURE})
        assert set(metrics["batch_id"]) == set(LIFECYCLE_BATCHES)
        labelled = batches[LIFECYCLE_BATCHES[0]]
        assert labelled[contract.LABEL].notna().any()

    # 2. A feature removed: its column stays, null in the batches scored without it.
    removed = _removed_feature()
    remove_feature(src, removed)
    dropped = run_lifecycle(src, local_dir)
    assert dropped.returncode == 0, dropped.stdout[-2000:] + dropped.stderr[-2000:]
    assert f"keeps column {removed}" in dropped.stdout
    assert f"needs {removed}, no longer computed" in dropped.stdout
    batches = _batches()
    assert batches[OLD_BATCH][removed].notna().all()
    for batch in LIFECYCLE_BATCHES:
        assert batches[batch][removed].isna().all(), batch
        assert batches[batch][NEW_FEATURE].notna().all(), batch

    # 3. A type changed: refused before anything moves, anywhere.
    retyped, stored, now = _retyped_feature(removed)
    retype_feature(src, retyped, now)
    before = _registry_state()
    refused = run_lifecycle(src, local_dir)
    assert refused.returncode != 0
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, refused.stderr[-2000:]
    assert errors[0].startswith(
        f"error: table {PROD.predictions}: column {retyped} is stored as {stored}, this code "
        f"writes {now}; a type cannot change in place: declare the feature under a new name"
    )
    assert _registry_state() == before
