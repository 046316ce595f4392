"""The command line: help for every command, one-line errors for expected mistakes."""

import gc
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from taxi_fare_mlops import config, contract, model
from taxi_fare_mlops.mlops import cli, dataset, runtime, tables

from conftest import source_environment

GATE = contract.GATE.metric
# A gate threshold no model meets: above the best possible score, or no error at all.
UNREACHABLE = "1.5" if contract.GATE.higher_is_better else "0.0"

COMMANDS = [
    "sample-data",
    "train",
    "validate",
    "deploy",
    "promote",
    "score",
    "label",
    "monitor",
    "rollback",
    "lifecycle",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main([command, "--help"])
    assert done.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_sample_data(location, capsys):
    table = location.table("trips")
    collector = (gc.get_threshold(), gc.get_freeze_count())
    assert cli.main(["sample-data", "--rows", "120", "--table", table]) == 0
    assert f"wrote 120 sample rows to {table}" in capsys.readouterr().out
    assert tables.for_runtime().count(table) == 120
    # `main` leaves the collector of a process that goes on (this one) as it was.
    assert (gc.get_threshold(), gc.get_freeze_count()) == collector


@pytest.mark.parametrize("command", ["lifecycle", "sample-data"])
@pytest.mark.parametrize(
    ("variable", "where"),
    [("DATABRICKS_RUNTIME_VERSION", "on Databricks"), (runtime.CONNECT_VARIABLE, "set")],
)
def test_local_only_commands_refuse_a_workspace_in_one_line(
    command, variable, where, capsys, monkeypatch
):
    """`lifecycle` and `sample-data` overwrite the input table with synthetic rows (and
    lifecycle moves every catalog's champion): never against a workspace."""
    monkeypatch.setenv(variable, "1")
    assert cli.main([command]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {command} runs only locally")
    assert err[0].endswith(where)


def test_a_process_that_runs_one_command_collects_less_and_freezes_its_imports():
    # What `python -m <package>` sets up, in a process of its own: the collector is global.
    script = (
        f"import gc; from {config.PACKAGE}.mlops import cli; "
        "cli.prepare('sample-data', one_command=True); "
        "print(gc.get_threshold()[2], gc.get_freeze_count())"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=source_environment(),
    )
    assert result.returncode == 0, result.stderr
    full_collection_threshold, frozen = map(int, result.stdout.split())
    assert full_collection_threshold == 100  # the default is 10
    assert frozen > 10_000  # what the imports made


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["score", "--catalog", "nope"], "unknown catalog 'nope'"),
        (["score"], "has no champion yet"),
        (["deploy"], "has no challenger yet"),
        (["validate"], "has no versions yet"),
        (["train", "--input-table", f"{config.DEV_CATALOG}.x.missing"], "does not exist"),
        (["monitor"], "no predictions yet"),
        (["label"], "new_rows does not exist: pass --from-table"),
        (["label", "--from-table", f"{config.DEV_CATALOG}.x.missing"], "does not exist"),
        (["promote", "--catalog", config.PROD_CATALOG], "has no champion yet"),
        (["rollback"], "has no champion yet: nothing to roll back"),
    ],
)
def test_expected_mistakes_are_one_line_errors(argv, message, schema, capsys):
    # A schema of its own: no model, no tables, whatever other tests left in the registry.
    assert cli.main([*argv, "--schema", schema]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1]
    assert not any("Traceback" in line for line in err)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sample-data", "--rows", "-5"], "--rows must be a finite number in [1, inf), got -5"),
        (["sample-data", "--days", "0"], "--days must be a finite number in [1, inf), got 0"),
        (["sample-data", "--drift", "nan"], "--drift must be a finite number in (0, inf), got nan"),
        (["sample-data", "--seed", "-1"], "--seed must be a finite number in [0, 4,294,967,295]"),
        (["monitor", "--max-psi", "nan"], "max_psi must be a finite number in [0, inf), got nan"),
        (["monitor", "--gate-threshold", "inf"], "gate_threshold must be a finite number"),
        (["lifecycle", "--rows", "0"], "--rows must be a finite number in [1, inf), got 0"),
    ],
)
def test_numbers_out_of_range_are_one_line_errors(argv, message, capsys):
    # NaN compares false with everything: unchecked, `--max-psi nan` never reports drift.
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {message}"] or (len(err) == 1 and message in err[0]), err


def test_options_never_name_a_table_another_command_writes(location, capsys):
    at = ["--catalog", location.catalog, "--schema", location.schema]
    refusals = [
        ["sample-data", "--table", location.predictions],
        ["score", *at, "--input-table", location.labels],
        ["train", *at, "--input-table", location.metrics],
    ]
    for argv in refusals:
        assert cli.main(argv) == 1, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: --") and "name a table of your own" in err, err
    assert not tables.for_runtime().exists(location.predictions)


def test_train_validate_deploy_score_from_the_command_line(location, capsys):
    trips = location.table("trips")
    at = ["--catalog", location.catalog, "--schema", location.schema]
    assert cli.main(["sample-data", "--rows", "2000", "--table", trips]) == 0
    assert cli.main(["train", *at, "--input-table", trips]) == 0
    assert cli.main(["validate", *at, "--input-table", trips]) == 0  # the newest version
    assert cli.main(["deploy", *at]) == 0
    assert cli.main(["score", *at, "--input-table", trips, "--batch-id", "b1"]) == 0
    out = capsys.readouterr()
    assert "version 1 passed" in out.out and "scored 2,000 rows" in out.out
    assert "scored 2,000 rows ..." in out.err  # progress on the long step
    # The fares of the scored trips arrive: recorded, and attached to the predictions.
    assert cli.main(["label", *at, "--from-table", trips]) == 0
    labelled = capsys.readouterr().out
    assert "recorded 2,000 labels" in labelled and "2,000 predictions got their label" in labelled
    assert cli.main(["validate", *at, "--input-table", trips, "--gate-threshold", UNREACHABLE]) == 1
    assert f"failed validation: {GATE}" in capsys.readouterr().err
    # Thresholds are finite, and a gate needs enough hold-out rows to say something.
    assert cli.main(["validate", *at, "--input-table", trips, "--gate-threshold", "nan"]) == 1
    assert "gate_threshold must be a finite number" in capsys.readouterr().err
    assert cli.main(["validate", *at, "--input-table", trips, "--champion-tolerance", "2"]) == 1
    assert "champion_tolerance must be a finite number in [0, 1], got 2" in capsys.readouterr().err
    few = location.table("few_trips")
    store = tables.for_runtime()
    raw = store.read(trips)
    holdout = dataset.is_holdout(dataset.row_ids(raw).to_frame())
    store.write(pd.concat([raw[~holdout], raw[holdout].head(5)]), few)
    assert cli.main(["validate", *at, "--input-table", few]) == 1
    assert "the gate needs at least 10" in capsys.readouterr().err
    if config.INCLUDE_MONITORING:
        assert cli.main(["monitor", *at]) == 0
        assert "retrain: " in capsys.readouterr().out


def test_model_commands_are_commands():
    # The commands that import skops before MLflow (cli._configure_logging) must exist.
    assert cli.MODEL_COMMANDS <= {command.name for command in cli.COMMANDS}


@pytest.mark.slow  # a child process: its own imports of MLflow and scikit-learn
def test_python_dash_m_prints_no_traceback(fresh_local_dir):
    # Works whether or not the package is installed (pytest itself imports it from src/).
    src = str(Path(__file__).resolve().parent.parent / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", config.PACKAGE, "score", "--catalog", "nope"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: unknown catalog 'nope': the local catalogs are "
        + ", ".join(sorted(set(config.CATALOGS.values()) | {config.INPUT_TABLE.split(".")[0]}))
    )


def test_a_model_skops_does_not_trust_is_one_line_naming_the_types(location, capsys, monkeypatch):
    trips = location.table("trips")
    at = ["--catalog", location.catalog, "--schema", location.schema, "--input-table", trips]
    assert cli.main(["sample-data", "--rows", "500", "--table", trips]) == 0
    monkeypatch.setattr(model, "TRUSTED_TYPES", [])
    assert cli.main(["train", *at]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: skops does not trust the model's types ")
    assert err[-1].endswith("add them to TRUSTED_TYPES in model.py")
    assert "sklearn." in err[-1]
