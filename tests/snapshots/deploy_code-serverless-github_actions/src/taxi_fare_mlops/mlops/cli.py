"""Command line: `python -m <package> <command>`, one command per pipeline stage.

Each command is two functions side by side: its arguments and its handler. A handler calls one
stage and returns the stage's result, and every result renders itself (`result.summary()`), so
the CLI, the notebooks and `lifecycle` show a stage's outcome the same way.

Every failure ends with one `error: ...` line on stderr and exit code 1: expected problems (a
missing table, no champion yet, an unknown catalog, a failed validation gate), broken or busy
state (a damaged registry database or Delta table, missing model files, a lost concurrent
write: `errors.explain` maps the library errors) and, named by its type, anything else, which
is a bug. `--debug` prints the traceback as well.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import config, contract
from . import errors, registry, runtime
from .errors import MlopsError
from .location import Location

# Stage modules are imported inside the handlers, not at the top, so `--help` stays instant.


@dataclass
class Message:
    """The result of a command whose stage returns a plain count."""

    text: str

    def summary(self) -> str:
        return self.text


def _location_arguments(
    parser: argparse.ArgumentParser, catalog: str = config.DEV_CATALOG, model: bool = True
) -> None:
    parser.add_argument(
        "--catalog", default=catalog, help="catalog of the environment (default: %(default)s)"
    )
    parser.add_argument("--schema", default=config.SCHEMA, help="default: %(default)s")
    if model:
        parser.add_argument("--model-name", default=config.MODEL_NAME, help="default: %(default)s")


def _location(args: argparse.Namespace) -> Location:
    return Location(args.catalog, args.schema, getattr(args, "model_name", config.MODEL_NAME))


def _input_table(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "--input-table", default=config.INPUT_TABLE, help=f"{help_text} (default: %(default)s)"
    )


def _experiment(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--experiment-name", default=config.EXPERIMENT_NAME, help="default: %(default)s"
    )


def _gate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gate-threshold",
        type=float,
        default=contract.GATE.threshold,
        help="highest acceptable hold-out RMSE (default: %(default)s)",
    )
    parser.add_argument(
        "--champion-tolerance",
        type=float,
        default=config.CHAMPION_TOLERANCE,
        help="how much worse than champion a candidate may be, 0.05 = 5%% (default: %(default)s)",
    )


# --- sample-data -------------------------------------------------------------------------------


def sample_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", default=config.INPUT_TABLE, help="default: %(default)s")
    parser.add_argument("--rows", type=int, default=config.SAMPLE_ROWS, help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=config.SEED, help="default: %(default)s")
    parser.add_argument("--start", default="2016-01-01", help="first day (default: %(default)s)")
    parser.add_argument("--days", type=int, default=60, help="default: %(default)s")
    parser.add_argument(
        "--drift",
        type=float,
        default=1.0,
        help="> 1 shifts the rows away from training, to simulate drift (default: %(default)s)",
    )


def sample_data(args: argparse.Namespace) -> Message:
    from ..sample_data import write_sample_data

    runtime.refuse_workspace("sample-data", f"it overwrites {args.table} with synthetic rows")

    rows = write_sample_data(
        args.table,
        n_rows=args.rows,
        seed=args.seed,
        start=args.start,
        days=args.days,
        drift=args.drift,
    )
    return Message(f"wrote {rows:,} sample rows to {args.table}")


# --- train, validate, deploy -------------------------------------------------------------------


def train_arguments(parser: argparse.ArgumentParser) -> None:
    _location_arguments(parser)
    _input_table(parser, "training data")
    _experiment(parser)
    parser.add_argument(
        "--sample-fraction",
        type=float,
        default=1.0,
        help="share of the input table to train on (default: %(default)s)",
    )
    parser.add_argument(
        "--max-training-rows",
        default=str(config.MAX_TRAINING_ROWS),
        help="most rows to train on, a random sample (default: %(default)s)",
    )


def train(args: argparse.Namespace):
    from .inputs import parse_count
    from .train import train

    return train(
        location=_location(args),
        input_table=args.input_table,
        experiment_name=args.experiment_name,
        sample_fraction=args.sample_fraction,
        max_training_rows=parse_count(
            args.max_training_rows, name="--max-training-rows", minimum=1
        ),
    )


def validate_arguments(parser: argparse.ArgumentParser) -> None:
    _location_arguments(parser)
    _input_table(parser, "data whose hold-out rows measure the model")
    parser.add_argument(
        "--model-version",
        default="newest",
        help="default: %(default)s, the newest version that carries its training tags",
    )
    _experiment(parser)
    _gate(parser)


def validate(args: argparse.Namespace):
    from .validate import validate

    return validate(
        location=_location(args),
        model_version=args.model_version,
        input_table=args.input_table,
        experiment_name=args.experiment_name,
        gate_threshold=args.gate_threshold,
        champion_tolerance=args.champion_tolerance,
    )


def deploy_arguments(parser: argparse.ArgumentParser) -> None:
    _location_arguments(parser)
    parser.add_argument("--model-version", default="", help="default: the challenger")


def deploy(args: argparse.Namespace):
    from .deploy import deploy

    return deploy(location=_location(args), model_version=args.model_version)


def rollback_arguments(parser: argparse.ArgumentParser) -> None:
    _location_arguments(parser)


def rollback(args: argparse.Namespace):
    from .deploy import rollback

    return rollback(location=_location(args))


# --- promote -----------------------------------------------------------------------------------


def promote_arguments(parser: argparse.ArgumentParser) -> None:
    _location_arguments(parser, catalog=config.STAGING_CATALOG)
    parser.add_argument(
        "--source-catalog",
        default=None,
        help=f"default: {config.DEV_CATALOG} for {config.STAGING_CATALOG}, "
        f"{config.STAGING_CATALOG} for {config.PROD_CATALOG}",
    )
    parser.add_argument("--source-alias", default=config.CHAMPION, help="default: %(default)s")
    parser.add_argument("--source-version", default="", help="overrides --source-alias")
    parser.add_argument(
        "--copy-only",
        action="store_true",
        help="only copy (the promotion job validates and deploys in later tasks)",
    )
    _input_table(parser, "data to validate the copy on")
    _gate(parser)


def promote(args: argparse.Namespace):
    from .promote import copy_model, default_source_catalog, promote

    source = {
        "location": _location(args),
        "source_catalog": args.source_catalog or default_source_catalog(args.catalog),
        "source_alias": args.source_alias,
        "source_version": args.source_version,
    }
    if args.copy_only:
        return copy_model(**source)
    return promote(
        **source,
        input_table=args.input_table,
        gate_threshold=args.gate_threshold,
        champion_tolerance=args.champion_tolerance,
    )


# --- score, label, monitor ---------------------------------------------------------------------


def score_arguments(parser: argparse.ArgumentParser) -> None:
    _location_arguments(parser)
    _input_table(parser, "rows to score")
    parser.add_argument("--batch-id", default="", help="default: today's date")


def score(args: argparse.Namespace):
    from .score import score

    def progress(rows: int) -> None:
        print(f"  scored {rows:,} rows ...", file=sys.stderr, flush=True)

    return score(
        location=_location(args),
        input_table=args.input_table,
        batch_id=args.batch_id,
        progress=progress,
    )


def label_arguments(parser: argparse.ArgumentParser) -> None:
    _location_arguments(parser, model=False)
    parser.add_argument(
        "--from-table",
        default="",
        help=f"table with {contract.KEY} and {contract.LABEL}, or input rows with their outcomes "
        f"(default "
        f"locally: <catalog>.<schema>.{config.NEW_ROWS_TABLE}, the latest generated batch)",
    )


def label(args: argparse.Namespace):
    from . import tables
    from .labels import label

    location = _location(args)
    source = args.from_table.strip()
    if not source:
        # Only `lifecycle` writes this table (locally); elsewhere the labels come from a table
        # the caller names.
        source = location.new_rows
        if not tables.for_runtime().exists(source):
            raise MlopsError(
                f"table {source} does not exist: pass --from-table, or run lifecycle first"
            )
    return label(location=location, source=source)


def monitor_arguments(parser: argparse.ArgumentParser) -> None:
    _location_arguments(parser)
    parser.add_argument(
        "--baseline-table", default="", help="default: the table the scoring model trained on"
    )
    parser.add_argument("--batch-id", default="", help="default: the latest batch")
    parser.add_argument(
        "--max-psi", type=float, default=config.MAX_PSI, help="default: %(default)s"
    )
    parser.add_argument(
        "--gate-threshold",
        type=float,
        default=contract.GATE.threshold,
        help="default: %(default)s",
    )


def monitor(args: argparse.Namespace):
    from .monitor import monitor

    result = monitor(
        location=_location(args),
        baseline_table=args.baseline_table,
        max_psi=args.max_psi,
        gate_threshold=args.gate_threshold,
        batch_id=args.batch_id,
    )
    return Message(
        f"{result.summary()}\n  plots: {', '.join(str(path) for path in result.reports)}"
    )


# --- lifecycle ---------------------------------------------------------------------------------


def lifecycle_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rows",
        type=int,
        default=config.SAMPLE_ROWS,
        help="sample rows to train on (default: %(default)s)",
    )
    parser.add_argument(
        "--pattern",
        default=config.DEPLOYMENT_PATTERN,
        choices=["deploy_code", "deploy_model", "hybrid"],
        help="default: %(default)s",
    )
    monitoring = parser.add_mutually_exclusive_group()
    monitoring.add_argument(
        "--monitoring",
        dest="monitoring",
        action="store_true",
        default=config.INCLUDE_MONITORING,
        help="score a drifted batch too",
    )
    monitoring.add_argument("--no-monitoring", dest="monitoring", action="store_false")


def lifecycle(args: argparse.Namespace):
    from .lifecycle import run

    runtime.refuse_workspace(
        "lifecycle", "it writes synthetic input, trains and moves champion in every catalog"
    )

    # The lifecycle narrates each step as it goes and ends with its summary.
    run(pattern=args.pattern, rows=args.rows, monitoring=args.monitoring)
    return None


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace], object]


COMMANDS = [
    Command("sample-data", "write the local sample input", sample_data_arguments, sample_data),
    Command("train", "train and register a new model version", train_arguments, train),
    Command("validate", "gate a version; pass makes it challenger", validate_arguments, validate),
    Command("deploy", "make the challenger champion", deploy_arguments, deploy),
    Command(
        "promote",
        "copy a version from another catalog, validate it here, make it champion",
        promote_arguments,
        promote,
    ),
    Command(
        "rollback", "move champion back to the version it replaced", rollback_arguments, rollback
    ),
    Command("score", "batch inference with the champion", score_arguments, score),
    Command(
        "label",
        "record the labels of scored rows and attach them to the predictions",
        label_arguments,
        label,
    ),
    Command("monitor", "drift and error of the latest scored batch", monitor_arguments, monitor),
    Command(
        "lifecycle",
        f"the whole {config.DEPLOYMENT_PATTERN} pipeline on local catalogs",
        lifecycle_arguments,
        lifecycle,
    ),
]


_DEBUG_HELP = "on an error, print the traceback too"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {config.PACKAGE}",
        description=f"{config.DESCRIPTION}. Runs each stage of the ML pipeline; locally the "
        f"state lives in .local/ (override with {runtime.LOCAL_DIR_VARIABLES[0]}).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="more detail")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="command")
    for command in COMMANDS:
        command.arguments(subparsers.add_parser(command.name, help=command.help))
        # Also after the command name; SUPPRESS keeps the top-level value when it is not given.
        subparsers.choices[command.name].add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP
        )
        # argparse hands the handler back with the parsed arguments.
        subparsers.choices[command.name].set_defaults(handler=command.handler)
    return parser


# Commands that save or load a model, which MLflow does with skops.
MODEL_COMMANDS = frozenset({"train", "validate", "promote", "score", "lifecycle"})


def _configure_logging(command: str, verbose: bool) -> None:
    if command in MODEL_COMMANDS:
        # Before MLflow: importing skops.io walks sys.modules once per scipy ufunc, and with
        # MLflow's 2,000 modules already loaded that walk costs about half a second more.
        import skops.io  # noqa: F401
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=logging.WARNING)
    # The CLI prints each result's summary; the stages' log lines would repeat it.
    level = logging.DEBUG if verbose else logging.WARNING
    logging.getLogger(config.PACKAGE).setLevel(level)
    # serve loads the champion without MLflow where it can, and quiets MLflow when it cannot.
    if command not in ("sample-data", "serve"):
        registry.quiet_mlflow()


def _collect_less() -> None:
    """Run the garbage collector's full collections at a tenth of the default rate.

    One command runs per process, and most of the objects it makes are the half a million that
    scikit-learn, MLflow and pandas create as they load and keep to the end; a full collection
    scans them all. Young objects are still collected as often as before.
    """
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 100)


def prepare(command: str, *, verbose: bool = False, one_command: bool = False) -> None:
    """What runs before a command's handler: the registry's child build, logging and the
    libraries they load; with `one_command` (a process that runs this command and exits,
    `python -m <package>`), the collector's settings too.

    `main` calls it, and so does the benchmark's breakdown of a lifecycle's CPU, so both
    measure the same process. Tests call `main` without `one_command`: their processes go on.
    """
    if one_command:
        _collect_less()
    if command in MODEL_COMMANDS:
        # A new local registry is built on the other core while this process imports.
        registry.start_building_database()
    _configure_logging(command, verbose)
    if one_command:
        # What the libraries made as they loaded lives to the end: no collection needs to scan
        # it again (about 0.2 s of collections in a `lifecycle` run).
        gc.freeze()


# Numeric options no stage checks itself (the stages check their thresholds), with their ranges.
OPTION_RANGES: dict[str, dict[str, Any]] = {
    "rows": {"low": 1},
    "days": {"low": 1},
    "seed": {"low": 0, "high": 2**32 - 1},
    "drift": {"low": 0, "above": True},
    "port": {"low": 0, "high": 65535},
}
TABLE_OPTIONS = ("table", "input_table", "baseline_table", "from_table")


def check_options(args: argparse.Namespace) -> None:
    """Numbers in range and tables that are not the project's own, before anything runs."""
    from .inputs import check_number
    from .location import refuse_project_table

    for name, allowed in OPTION_RANGES.items():
        if hasattr(args, name):
            check_number(getattr(args, name), name=f"--{name}", **allowed)
    # sample-data writes its --table, whatever the schema; the others read theirs.
    schema = getattr(args, "schema", None)
    for name in TABLE_OPTIONS:
        if getattr(args, name, ""):
            option = f"--{name.replace('_', '-')}"
            refuse_project_table(getattr(args, name).strip(), schema=schema, option=option)


def _one_line(error: Exception) -> str:
    known = errors.explain(error)
    if known is not None:
        return " ".join(str(known).split())
    return (
        f"unexpected {type(error).__name__}: {errors.first_line(error)} (a bug? rerun with "
        "--debug for the traceback)"
    )


def main(argv: list[str] | None = None, *, one_command: bool = False) -> int:
    """Run the command `argv` names; its exit code. `one_command`: see `prepare`."""
    if not runtime.is_databricks():
        # Local tables are small: one OpenMP thread fits and predicts the trees as fast as
        # several, and several fight each other (and parallel test workers) for the cores.
        # Set before scikit-learn loads its OpenMP runtime, which reads it once.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    args = build_parser().parse_args(argv)
    prepare(args.command, verbose=args.verbose, one_command=one_command)
    try:
        check_options(args)
        result = args.handler(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            traceback.print_exc()
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 1
    if result is not None:
        print(result.summary())
    return 0
