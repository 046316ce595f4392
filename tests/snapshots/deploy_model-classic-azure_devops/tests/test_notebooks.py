"""Every notebook, run end to end against the local runtime, the way the jobs chain them."""

import subprocess
import sys

import pytest

from taxi_fare_mlops import config, contract, features
from taxi_fare_mlops.mlops import registry, tables
from taxi_fare_mlops.mlops.labels import record_labels
from taxi_fare_mlops.mlops.location import Location
from taxi_fare_mlops.mlops.validate import ValidationFailed

from conftest import copy_of
from notebook_runner import (
    HEADER,
    INTERACTIVE_NOTEBOOKS,
    NOTEBOOKS,
    cells,
    notebook_names,
    notebook_namespace,
    run_notebook,
    run_targets,
    widget_names,
)
from notebook_runner import main as notebook_main

GATE = contract.GATE.metric
# A gate threshold no model meets: above the best possible score, or no error at all.
UNREACHABLE = "1.5" if contract.GATE.higher_is_better else "0.0"

# The widgets the bundle's jobs pass: the contract between notebooks and resources/*.yml.
EXPECTED_WIDGETS = {
    "train": {"input_table", "experiment_name", "sample_fraction", "max_training_rows"},
    "validate": {
        "input_table",
        "experiment_name",
        "model_version",
        "gate_threshold",
        "champion_tolerance",
    },
    "deploy": {"model_version"},
    "promote": {"source_catalog", "source_alias", "source_version"},
    "score": {"input_table", "batch_id"},
    "monitor": {"max_psi", "gate_threshold", "fail_on_violation"},
    "create_monitor": {"assets_dir"},
    "explore": {"input_table", "experiment_name", "sample_rows"},
    "rollback": set(),
    "update_endpoint": {"endpoint_name", "scale_to_zero", "query_group"},
}
COMMON_WIDGETS = {"catalog", "schema", "model_name"}


@pytest.mark.parametrize("name", notebook_names() + INTERACTIVE_NOTEBOOKS)
def test_notebook_format(name):
    source = (NOTEBOOKS / f"{name}.py").read_text(encoding="utf-8")
    assert source.startswith(HEADER + "\n")
    assert any("# MAGIC %md" in cell for cell in cells(name)), "explain the steps in markdown"
    assert "%pip" not in source
    assert set(widget_names(name)) >= COMMON_WIDGETS | EXPECTED_WIDGETS[name]


def test_the_expected_notebooks_are_present():
    expected = {"train", "validate", "deploy", "score", "rollback"}
    if config.INCLUDE_SERVING:
        expected.add("update_endpoint")
    if config.DEPLOYMENT_PATTERN != "deploy_code":
        expected.add("promote")
    if config.INCLUDE_MONITORING:
        expected |= {"monitor", "create_monitor"}
    assert expected <= set(notebook_names())


def test_every_notebook_runs_like_the_jobs_chain_them(input_table, schema):
    present = set(notebook_names())
    ran = set()
    dev = Location(config.DEV_CATALOG, schema)
    staging = dev.elsewhere(config.STAGING_CATALOG)
    at_dev = {"catalog": dev.catalog, "schema": schema}
    at_staging = {"catalog": staging.catalog, "schema": schema}

    # training_job: train -> validate -> deploy, each handing the version on.
    trained = run_notebook("train", **at_dev, sample_fraction="1.0")
    validated = run_notebook("validate", **at_dev, model_version=trained["model_version"])
    deployed = run_notebook("deploy", **at_dev, model_version=validated["model_version"])
    ran |= {"train", "validate", "deploy"}
    assert trained["model_version"] == validated["model_version"] == deployed["model_version"]
    assert registry.alias_version(dev.model, config.CHAMPION) == trained["model_version"]

    scored_at = at_dev
    if "promote" in present:
        # promotion_job: copy -> validate -> deploy in the next catalog.
        copied = run_notebook("promote", **at_staging, source_catalog=dev.catalog)
        run_notebook("validate", **at_staging, model_version=copied["model_version"])
        run_notebook("deploy", **at_staging, model_version=copied["model_version"])
        assert registry.alias_version(staging.model, config.CHAMPION) == copied["model_version"]
        again = run_notebook("promote", **at_staging, source_catalog=dev.catalog)
        assert again["model_version"] == copied["model_version"]
        scored_at = at_staging
        ran.add("promote")

    scored = run_notebook("score", **scored_at, batch_id="2016-03-01")
    assert scored["rows"] == tables.for_runtime().count(input_table)
    ran.add("score")

    if "create_monitor" in present:
        # batch_inference_job: score -> create_monitor (locally: the table, no workspace monitor).
        made = run_notebook("create_monitor", **scored_at, assets_dir="/tmp/monitor")
        assert made["monitor_created"] is False
        ran.add("create_monitor")

    if "monitor" in present:
        monitored = run_notebook("monitor", **scored_at)
        assert monitored["retrain"] in ("true", "false")
        ran.add("monitor")

    # rollback_job: a second version deployed in dev, then rolled back to the first.
    second = copy_of(dev.model_uri(deployed["model_version"]), dev, config.CHALLENGER)
    run_notebook("deploy", **at_dev, model_version=second)
    rolled_back = run_notebook("rollback", **at_dev)
    assert rolled_back["model_version"] == deployed["model_version"]
    assert registry.alias_version(dev.model, config.CHAMPION) == deployed["model_version"]
    ran.add("rollback")

    if "update_endpoint" in present:
        # The task after deploy and rollback; without a workspace it says so and changes nothing.
        served = run_notebook("update_endpoint", **at_dev, endpoint_name="shop-dev")
        assert served["endpoint_action"] == "skipped"
        ran.add("update_endpoint")
    assert ran == present


def test_failed_gate_fails_the_validate_notebook(input_table, location, candidate):
    with pytest.raises(ValidationFailed, match=f"gate_threshold {float(UNREACHABLE):g}"):
        run_notebook(
            "validate",
            catalog=location.catalog,
            schema=location.schema,
            model_version=candidate,
            gate_threshold=UNREACHABLE,
        )


def test_monitor_notebook_reports_retrain_without_failing(input_table, location, champion):
    if "monitor" not in notebook_names():
        pytest.skip("the project was generated without monitoring")
    at = {"catalog": location.catalog, "schema": location.schema}
    run_notebook("score", **at)
    # Scoring leaves labels empty; once the labels arrive the error exists (and misses the gate).
    record_labels(tables.for_runtime().read(input_table), location=location)
    values = run_notebook("monitor", **at, max_psi="0.0", gate_threshold=UNREACHABLE)
    assert values["retrain"] == "true"
    # Where retraining happens upstream, the job passes fail_on_violation so the run fails.
    strict = {"max_psi": "0.0", "gate_threshold": UNREACHABLE, "fail_on_violation": "true"}
    with pytest.raises(RuntimeError, match="monitoring thresholds violated: "):
        run_notebook("monitor", **at, **strict)


def test_explore_notebook_profiles_tries_and_compares_with_the_champion(
    input_table, location, champion
):
    import mlflow

    experiment = f"/Shared/explore-{location.schema}"
    namespace = notebook_namespace(
        "explore",
        catalog=location.catalog,
        schema=location.schema,
        experiment_name=experiment,
        sample_rows="2000",
    )
    # The profile covers every feature and the label of the sampled rows.
    profile = namespace["data_profile"].set_index("column")
    assert list(profile.index) == [*features.MODEL_FEATURES, contract.LABEL]
    assert (profile["rows"] == 2_000).all()
    # Each try is a run of the experiment, with the metrics the comparison shows.
    comparison = namespace["comparison"]
    runs = mlflow.search_runs(experiment_names=[experiment], filter_string="tags.stage = 'explore'")
    assert len(runs) == 3
    logged = runs.set_index("run_id")[f"metrics.holdout_{GATE}"]
    tries = comparison[~comparison["is_champion"]].set_index("run_id")[GATE]
    assert sorted(tries.index) == sorted(logged.index)
    assert tries.to_dict() == pytest.approx(logged.to_dict())
    candidate = runs[runs["tags.try"] == "candidate feature"].iloc[0]
    assert candidate["params.candidate_features"] == ",".join(namespace["candidate_features"])
    other = runs[runs["tags.try"] == "candidate estimator"].iloc[0]
    assert other["tags.estimator"].startswith("RandomForest")
    # The champion (version 1 of this test's model) is measured on the same hold-out trips.
    (champion_row,) = comparison[comparison["is_champion"]].itertuples()
    assert champion_row.name == f"{config.CHAMPION} (version {champion})"
    assert getattr(champion_row, f"{GATE}_vs_champion") == 0.0
    # Shown: the profile table and its histograms, the comparison table and its chart.
    figures = [shown for shown in namespace["displayed"] if hasattr(shown, "savefig")]
    assert len(figures) == 2
    bars = figures[1].axes[0].patches
    assert len(bars) == len(comparison) == 4


@pytest.mark.slow  # a child process: its own imports of MLflow and scikit-learn
def test_make_explore_runs_it_in_a_terminal_without_a_champion(
    input_table, schema, session_local_dir, capsys
):
    assert notebook_main(["explore", f"schema={schema}", "sample_rows=1000"]) == 0
    printed = capsys.readouterr().out
    # Tables printed whole: the profile, then the tries (no champion in this schema).
    assert "out_of_range" in printed and f"{GATE}_vs_champion" in printed
    assert "candidate estimator" in printed and f"{config.CHAMPION} (version" not in printed
    figures = sorted((session_local_dir / "reports" / "explore").glob("figure_*.png"))
    assert [path.name for path in figures] == ["figure_1.png", "figure_2.png"]
    assert all(f"[figure] {path}" in printed for path in figures)


def test_make_explore_gives_one_error_line(input_table, capsys):
    missing = f"{config.DEV_CATALOG}.nowhere.trips"
    assert notebook_main(["explore", f"input_table={missing}"]) == 1
    assert capsys.readouterr().err == f"error: table {missing} does not exist\n"


def test_widgets_must_exist():
    with pytest.raises(AssertionError, match="no widgets"):
        run_notebook("deploy", not_a_widget="x")


@pytest.mark.parametrize("name", notebook_names() + INTERACTIVE_NOTEBOOKS)
def test_every_notebook_runs_setup_before_importing_the_package(name):
    assert run_targets(name) == ["_setup"]
    package = "from taxi_fare_mlops"
    first_import = next(i for i, cell in enumerate(cells(name)) if package in cell)
    assert cells(name)[first_import - 1].strip() == "# MAGIC %run ./_setup"


def test_setup_imports_from_src_in_a_git_folder():
    # Without the package installed and without a wheel in dist/ (a Git folder), _setup puts
    # src/ on the path. `-S` hides site-packages, so an installed copy cannot answer.
    package = "taxi_fare_mlops"
    stand_in = "class _W:\n    def text(self, *a): pass\n    def get(self, name): return ''\n"
    stand_in += "class _D:\n    widgets = _W()\ndbutils = _D()\n"
    script = stand_in + (NOTEBOOKS / "_setup.py").read_text(encoding="utf-8")
    script += f"\nimport {package}\nprint({package}.__file__)"
    result = subprocess.run(
        [sys.executable, "-S", "-c", script],
        cwd=NOTEBOOKS,
        capture_output=True,
        text=True,
        check=True,
        env={},
    )
    assert result.stdout.strip() == str(NOTEBOOKS.parent / "src" / package / "__init__.py")
