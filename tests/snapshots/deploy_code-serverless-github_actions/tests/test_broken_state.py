"""Broken local state ends in one `error:` line and changes nothing.

Each case damages a copy of a small, complete local state for real (a truncated `mlflow.db`, a
data file deleted or cut short under a Delta table, a garbled `_delta_log` entry, a model's files
deleted or cut short, a predictions table with other columns, the experiment deleted, the lock
folder replaced by a file), runs a command, and checks: exit code 1, exactly one
`error:` line on stderr, no traceback, and every file of the state as it was before the run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from taxi_fare_mlops import config, contract, sample_data
from taxi_fare_mlops.mlops import cli, errors, registry, runtime, tables
from taxi_fare_mlops.mlops.deploy import deploy
from taxi_fare_mlops.mlops.location import Location
from taxi_fare_mlops.mlops.score import score
from taxi_fare_mlops.mlops.train import train
from taxi_fare_mlops.mlops.validate import validate

from conftest import source_environment

# The platform's robustness, not a data scientist's edit: `make test-all` and CI run it.
pytestmark = pytest.mark.slow

ROWS = 2_000
DEV = Location(config.DEV_CATALOG)
STAGING = config.STAGING_CATALOG


def _build_state() -> None:
    """Sample trips, a champion in dev, and one scored batch `b1`."""
    sample_data.write_sample_data(config.INPUT_TABLE, n_rows=ROWS)
    trained = train(location=DEV, input_table=config.INPUT_TABLE)
    validate(location=DEV, model_version=trained.version, input_table=config.INPUT_TABLE)
    deploy(location=DEV, model_version=trained.version)
    score(location=DEV, input_table=config.INPUT_TABLE, batch_id="b1")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pristine") / ".local"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(runtime.LOCAL_DIR_VARIABLES[0], str(path))
        _build_state()
    return path


@pytest.fixture
def state(pristine, fresh_local_dir) -> Path:
    """A copy of the pristine state, this test's to damage. The registry's paths follow the
    copy (a moved local dir) before the test looks at its files."""
    shutil.copytree(pristine, fresh_local_dir, dirs_exist_ok=True)
    registry.configure_mlflow()
    return fresh_local_dir


def _files(root: Path) -> dict[str, bytes]:
    """Every file of every table, and the registry database (which a failed `promote` may
    have added its copy to: the copy is whole, and the rerun carries on with it)."""
    files = {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted((root / "warehouse").rglob("*"))
        if path.is_file()
    }
    return files | {"mlflow.db": (root / "mlflow.db").read_bytes()}


def _table(root: Path, name: str) -> Path:
    return root / "warehouse" / Path(*name.split("."))


def _first_log_entry(root: Path, name: str) -> Path:
    return _table(root, name) / "_delta_log" / "00000000000000000000.json"


def _run_and_expect_one_error(
    root: Path, argv: list[str], capsys, may_change: tuple[str, ...] = ()
) -> str:
    """Run `argv`; one error line, and every file as it was but those under `may_change`."""
    before = _files(root)
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    error_lines = [line for line in lines if line.startswith("error: ")]
    assert len(error_lines) == 1, err
    assert "Traceback" not in err
    after = _files(root)
    for files in (before, after):
        for path in [path for path in files if path.startswith(may_change)]:
            del files[path]
    assert after == before, "the failed run changed the local state"
    return error_lines[0]


# --- the registry database ---------------------------------------------------------------------

REGISTRY_DAMAGE = {
    "truncated": lambda db: db.write_bytes(db.read_bytes()[:4096]),
    "overwritten": lambda db: db.write_bytes(b"not a database " * 1000),
    "emptied": lambda db: db.write_bytes(b""),
    # Pages of zeros in the middle: the file opens, its tables do not add up.
    "zeroed pages": lambda db: db.write_bytes(
        db.read_bytes()[:8192] + bytes(16384) + db.read_bytes()[8192 + 16384 :]
    ),
}
REGISTRY_COMMANDS = {
    "score": ["score", "--batch-id", "b2"],
    "deploy": ["deploy"],
    "promote": ["promote", "--catalog", STAGING],
}


@pytest.mark.parametrize("damage", REGISTRY_DAMAGE)
@pytest.mark.parametrize("command", REGISTRY_COMMANDS)
def test_a_damaged_registry_database(state, damage, command, capsys):
    REGISTRY_DAMAGE[damage](state / "mlflow.db")
    line = _run_and_expect_one_error(state, REGISTRY_COMMANDS[command], capsys)
    assert f"the local MLflow registry {state / 'mlflow.db'} is" in line
    assert "restore it from a backup" in line


# --- Delta tables: missing data files, a corrupt log, other columns ----------------------------

PREDICTIONS = DEV.predictions


@pytest.mark.parametrize(
    ("table", "argv"),
    [
        (config.INPUT_TABLE, ["score", "--batch-id", "b2"]),
        (config.INPUT_TABLE, ["train"]),
        (PREDICTIONS, ["score", "--batch-id", "b1"]),  # replacing b1 reads its files
    ],
)
def test_a_delta_table_with_a_missing_data_file(state, table, argv, capsys):
    data_files = list(_table(state, table).glob("*.parquet"))
    assert data_files
    data_files[0].unlink()
    line = _run_and_expect_one_error(state, argv, capsys)
    assert f"table {table} is damaged (its data file {data_files[0].name} is missing)" in line
    assert str(_table(state, table)) in line


@pytest.mark.parametrize(
    ("table", "argv"),
    [
        (config.INPUT_TABLE, ["score", "--batch-id", "b2"]),
        (config.INPUT_TABLE, ["train"]),
        (PREDICTIONS, ["score", "--batch-id", "b2"]),
    ],
)
def test_a_delta_table_with_a_garbled_log(state, table, argv, capsys):
    entry = _first_log_entry(state, table)
    entry.write_text('{"commitInfo": {"timestamp": 1' + entry.read_text()[:40])
    line = _run_and_expect_one_error(state, argv, capsys)
    assert f"table {table} is damaged (" in line and "create it again" in line


@pytest.mark.parametrize(
    ("table", "argv"),
    [
        (PREDICTIONS, ["score", "--batch-id", "b2"]),
        (config.INPUT_TABLE, ["train"]),
    ],
)
def test_a_delta_table_whose_log_is_gone(state, table, argv, capsys):
    # The data files remain: a write that started the table anew would bury them.
    shutil.rmtree(_table(state, table) / "_delta_log")
    line = _run_and_expect_one_error(state, argv, capsys)
    folder = _table(state, table)
    assert f"table {table} is damaged (data files in {folder} but no _delta_log)" in line


# `label` records the labels before it attaches them to the predictions, so the labels table
# may have been written when the predictions table turns out to be of another shape.
LABELS_FOLDER = str(Path("warehouse", *DEV.labels.split(".")))


@pytest.mark.parametrize(
    ("argv", "message", "may_change"),
    [
        (["score", "--batch-id", "b1"], "has other columns than this stage writes", ()),
        (["score", "--batch-id", "b2"], "has other columns than this stage writes", ()),
        (
            ["label", "--from-table", config.INPUT_TABLE],
            # The attach reads the batches with unlabelled rows first: their batch id, or (a
            # label computed from an outcome, as the classification example's) their label.
            "has no column ",
            (LABELS_FOLDER,),
        ),
        (["monitor"], f"has no column {contract.KEY}, ", ()),
    ],
)
def test_a_predictions_table_of_another_shape(state, argv, message, may_change, capsys):
    predictions = _table(state, PREDICTIONS)
    shutil.rmtree(predictions)
    shutil.copytree(_table(state, config.INPUT_TABLE), predictions)
    line = _run_and_expect_one_error(state, argv, capsys, may_change)
    assert f"{PREDICTIONS} {message}" in line


# --- the files of a registered model -----------------------------------------------------------


def test_local_state_works_wherever_it_is_moved(state, tmp_path, monkeypatch, capsys):
    # mlflow.db holds absolute artifact paths: after the move they must follow the folder.
    moved = tmp_path / "elsewhere" / ".local"
    moved.parent.mkdir()
    shutil.move(state, moved)
    monkeypatch.setenv(runtime.LOCAL_DIR_VARIABLES[0], str(moved))
    assert cli.main(["score", "--batch-id", "b2"]) == 0, capsys.readouterr().err
    assert cli.main(["train"]) == 0, capsys.readouterr().err
    assert not state.exists(), "a command wrote into the old folder"
    client = registry.client()
    for version in client.search_model_versions(f"name = '{DEV.model}'"):
        assert version.source.startswith(("models:/", moved.as_uri())), version.source
        run = client.get_run(version.run_id)
        assert run.info.artifact_uri.startswith(moved.as_uri()), run.info.artifact_uri


def serialized_models(artifacts: Path) -> list[Path]:
    """The models' serialized files: model.skops (another suffix at older MLflow versions), or
    a classifier's pipeline.skops (logged as classifier_model.py)."""
    return [
        path
        for pattern in ("model.*", "pipeline.skops")
        for path in artifacts.rglob(pattern)
        if path.is_file()
    ]


@pytest.mark.parametrize("missing", ["the model file", "every artifact"])
@pytest.mark.parametrize("argv", [["score", "--batch-id", "b2"], ["promote", "--catalog", STAGING]])
def test_missing_model_files(state, missing, argv, capsys):
    artifacts = state / "mlartifacts"
    if missing == "the model file":
        model_files = serialized_models(artifacts)
        assert model_files
        for path in model_files:
            path.unlink()
    else:
        shutil.rmtree(artifacts)
    line = _run_and_expect_one_error(
        state, argv, capsys, may_change=("mlflow.db",) if argv[0] == "promote" else ()
    )
    assert "the model files of models:/" in line and f"restore {artifacts}" in line


def _cut_short(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


MODEL_DAMAGE = {
    "a truncated model file": lambda artifacts: [
        _cut_short(path) for path in serialized_models(artifacts) if path.suffix == ".skops"
    ],
    "a garbage MLmodel": lambda artifacts: [
        path.write_text("flavors: [not closed\n") for path in artifacts.rglob("MLmodel")
    ],
}


@pytest.mark.parametrize("damage", MODEL_DAMAGE)
def test_damaged_model_files(state, damage, capsys):
    artifacts = state / "mlartifacts"
    assert MODEL_DAMAGE[damage](artifacts)
    line = _run_and_expect_one_error(state, ["score", "--batch-id", "b2"], capsys)
    assert "the model files of models:/" in line and "are damaged (" in line, line
    assert f"restore {artifacts}" in line


@pytest.mark.parametrize(
    ("table", "argv"),
    [
        (config.INPUT_TABLE, ["score", "--batch-id", "b2"]),
        (PREDICTIONS, ["monitor"]),
    ],
)
def test_a_delta_table_with_a_truncated_data_file(state, table, argv, capsys):
    data_file = next(_table(state, table).glob("*.parquet"))
    _cut_short(data_file)
    line = _run_and_expect_one_error(state, argv, capsys)
    assert f"table {table} is damaged (its data file {data_file.name} is not a readable" in line
    assert str(_table(state, table)) in line


# --- the MLflow experiment and the lock files --------------------------------------------------


@pytest.mark.parametrize("argv", [["train"], ["monitor"]])
def test_a_deleted_experiment_is_one_line_and_nothing_is_written(state, argv, capsys):
    # As the MLflow UI's delete does: the experiment stays, marked deleted.
    experiment = registry.experiment_id(None)
    registry.client().delete_experiment(experiment)
    registry._EXPERIMENT_IDS.clear()
    line = _run_and_expect_one_error(state, argv, capsys)
    assert f"the MLflow experiment {config.EXPERIMENT_NAME} (id {experiment}) is deleted" in line
    assert "mlflow experiments restore" in line


def test_a_lock_folder_that_is_a_file(state, capsys):
    locks = state / "locks"
    shutil.rmtree(locks, ignore_errors=True)
    locks.write_text("")
    line = _run_and_expect_one_error(state, ["score", "--batch-id", "b2"], capsys)
    assert f"{locks} is a file, where the project keeps its lock files: move it away" in line


def test_a_lock_another_run_holds_is_waited_for_then_given_up(state, monkeypatch, capsys):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from taxi_fare_mlops.mlops import runtime\n"
            f"with runtime.local_lock({PREDICTIONS!r}):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(120)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=source_environment(),
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setattr(runtime, "LOCK_NOTICE_SECONDS", 0.2)
        monkeypatch.setattr(runtime, "LOCK_WAIT_SECONDS", 1.0)
        started = time.monotonic()
        assert cli.main(["score", "--batch-id", "b2"]) == 1
        assert time.monotonic() - started < 30
        err = capsys.readouterr().err
        lock = state / "locks" / f"{PREDICTIONS}.lock"
        assert f"waiting for {lock}, held by process {holder.pid}" in err
        assert f"error: gave up after 1 s waiting for {lock}, held by process {holder.pid}" in err
    finally:
        holder.kill()
        holder.wait()
    # Released when its holder dies: the next run goes ahead.
    assert cli.main(["score", "--batch-id", "b2"]) == 0


# --- a commit another run won ------------------------------------------------------------------


def _stale_handle_and_a_newer_commit(path: Path):
    """A Delta table handle that a commit of "another run" has overtaken."""
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    write_deltalake(str(path), pa.table({"batch_id": ["b1", "b2"], "value": [1, 2]}))
    stale = DeltaTable(str(path))
    newer = pa.table({"batch_id": ["b1"], "value": [3]})
    write_deltalake(str(path), newer, mode="overwrite", predicate="batch_id = 'b1'")
    return stale


def test_a_lost_commit_is_explained(tmp_path):
    stale = _stale_handle_and_a_newer_commit(tmp_path / "table")
    with pytest.raises(Exception) as lost:
        stale.delete("batch_id = 'b1'")
    known = errors.explain(lost.value)
    assert isinstance(known, errors.ConcurrentWriteError)
    assert "at the same time" in str(known) and "run the command again" in str(known)


def test_a_write_that_is_safe_to_repeat_is_retried(tmp_path):
    from deltalake import DeltaTable

    path = tmp_path / "table"
    stale = _stale_handle_and_a_newer_commit(path)
    attempts = []

    def delete_batch() -> int:
        handle = stale if not attempts else DeltaTable(str(path))
        attempts.append(handle)
        handle.delete("batch_id = 'b1'")
        return len(attempts)

    assert errors.retry_conflicts(delete_batch) == 2
    assert DeltaTable(str(path)).to_pandas()["batch_id"].tolist() == ["b2"]


def test_other_errors_are_not_retried():
    calls = []

    def fails() -> None:
        calls.append(1)
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        errors.retry_conflicts(fails)
    assert len(calls) == 1


# --- what the CLI prints -----------------------------------------------------------------------


def test_debug_adds_the_traceback(state, capsys):
    (state / "mlflow.db").write_bytes(b"")
    for argv in (["--debug", "deploy"], ["deploy", "--debug"]):
        assert cli.main(argv) == 1
        err = capsys.readouterr().err
        assert "Traceback" in err and err.strip().splitlines()[-1].startswith("error: ")


def test_an_unexpected_error_is_one_line_naming_its_type(monkeypatch, capsys):
    def broken(_args):
        raise KeyError("a bug in a handler")

    parser = cli.build_parser()
    parser._subparsers._group_actions[0].choices["deploy"].set_defaults(handler=broken)
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    assert cli.main(["deploy"]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: unexpected KeyError: 'a bug in a handler' (a bug? rerun with --debug for the "
        "traceback)"
    )


def test_data_errors_are_value_errors_and_mlops_errors():
    from taxi_fare_mlops.mlops import drift

    with pytest.raises(errors.DataError, match="baseline has no rows") as raised:
        drift.feature_drift(
            tables.arrow_schema({"x": "double"}).empty_table().to_pandas(),
            tables.arrow_schema({"x": "double"}).empty_table().to_pandas(),
            ["x"],
            [],
        )
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, errors.MlopsError)
