"""Command line: `python -m <package> <command>`, one command per pipeline stage.

Expected problems (a missing table, no champion yet, an unknown catalog, a failed validation
gate) end with one `error: ...` line and exit code 1; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings

from . import config, runtime


def _location(parser: argparse.ArgumentParser, catalog: str = config.DEV_CATALOG) -> None:
    parser.add_argument(
        "--catalog", default=catalog, help="catalog of the environment (default: %(default)s)"
    )
    parser.add_argument("--schema", default=config.SCHEMA, help="default: %(default)s")


def _common(parser: argparse.ArgumentParser, catalog: str = config.DEV_CATALOG) -> None:
    _location(parser, catalog)
    parser.add_argument("--model-name", default=config.MODEL_NAME, help="default: %(default)s")


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
        "--max-rmse",
        type=float,
        default=config.MAX_RMSE,
        help="highest acceptable hold-out RMSE (default: %(default)s)",
    )
    parser.add_argument(
        "--champion-tolerance",
        type=float,
        default=config.CHAMPION_TOLERANCE,
        help="how much worse than champion a candidate may be, 0.05 = 5%% (default: %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {config.PACKAGE}",
        description=f"{config.DESCRIPTION}. Runs each stage of the ML pipeline; locally the "
        f"state lives in .local/ (override with {runtime.LOCAL_DIR_VARIABLES[0]}).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="more detail")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    sample = commands.add_parser("sample-data", help="write deterministic sample taxi trips")
    sample.add_argument("--table", default=config.INPUT_TABLE, help="default: %(default)s")
    sample.add_argument("--rows", type=int, default=config.SAMPLE_ROWS, help="default: %(default)s")
    sample.add_argument("--seed", type=int, default=config.SEED, help="default: %(default)s")
    sample.add_argument("--start", default="2016-01-01", help="first day (default: %(default)s)")
    sample.add_argument("--days", type=int, default=60, help="default: %(default)s")
    sample.add_argument(
        "--distance-scale",
        type=float,
        default=1.0,
        help="> 1 makes trips longer, to simulate drift (default: %(default)s)",
    )

    train = commands.add_parser("train", help="train and register a new model version")
    _common(train)
    _input_table(train, "training data")
    _experiment(train)
    train.add_argument(
        "--sample-fraction",
        type=float,
        default=1.0,
        help="share of the input table to train on (default: %(default)s)",
    )

    validate = commands.add_parser("validate", help="gate a version; pass makes it challenger")
    _common(validate)
    _input_table(validate, "data whose hold-out trips measure the model")
    validate.add_argument("--model-version", default="", help="default: the newest version")
    _experiment(validate)
    _gate(validate)

    deploy = commands.add_parser("deploy", help="make the challenger champion")
    _common(deploy)
    deploy.add_argument("--model-version", default="", help="default: the challenger")

    promote = commands.add_parser(
        "promote", help="copy a version from another catalog, validate it here, make it champion"
    )
    _common(promote, catalog=config.STAGING_CATALOG)
    promote.add_argument(
        "--source-catalog",
        default=None,
        help=f"default: {config.DEV_CATALOG} for {config.STAGING_CATALOG}, "
        f"{config.STAGING_CATALOG} for {config.PROD_CATALOG}",
    )
    promote.add_argument("--source-alias", default=config.CHAMPION, help="default: %(default)s")
    promote.add_argument("--source-version", default="", help="overrides --source-alias")
    promote.add_argument(
        "--copy-only",
        action="store_true",
        help="only copy (the promotion job validates and deploys in later tasks)",
    )
    _input_table(promote, "data to validate the copy on")
    _gate(promote)

    score = commands.add_parser("score", help="batch inference with the champion")
    _common(score)
    _input_table(score, "trips to score")
    score.add_argument("--batch-id", default="", help="default: today's date")

    label = commands.add_parser(
        "label", help="record the real fares of scored trips and attach them to the predictions"
    )
    _location(label)
    label.add_argument(
        "--from-table",
        default="",
        help=f"table with trip_id and fare_amount, or raw trips with their fares (default "
        f"locally: <catalog>.<schema>.{config.NEW_TRIPS_TABLE}, the latest generated batch)",
    )

    monitor = commands.add_parser("monitor", help="drift and error of the latest scored batch")
    _common(monitor)
    monitor.add_argument(
        "--baseline-table", default="", help="default: the table the scoring model trained on"
    )
    monitor.add_argument("--batch-id", default="", help="default: the latest batch")
    monitor.add_argument(
        "--max-psi", type=float, default=config.MAX_PSI, help="default: %(default)s"
    )
    monitor.add_argument(
        "--max-rmse", type=float, default=config.MAX_RMSE, help="default: %(default)s"
    )

    lifecycle = commands.add_parser(
        "lifecycle", help=f"the whole {config.DEPLOYMENT_PATTERN} pipeline on local catalogs"
    )
    lifecycle.add_argument(
        "--rows",
        type=int,
        default=config.SAMPLE_ROWS,
        help="sample trips to train on (default: %(default)s)",
    )
    lifecycle.add_argument(
        "--pattern",
        default=config.DEPLOYMENT_PATTERN,
        choices=["deploy_code", "deploy_model", "hybrid"],
        help="default: %(default)s",
    )
    monitoring = lifecycle.add_mutually_exclusive_group()
    monitoring.add_argument(
        "--monitoring",
        dest="monitoring",
        action="store_true",
        default=config.INCLUDE_MONITORING,
        help="score a drifted batch too",
    )
    monitoring.add_argument("--no-monitoring", dest="monitoring", action="store_false")
    return parser


def run(args: argparse.Namespace) -> None:
    # Stage modules are imported here, not at the top, so `--help` stays instant.
    if args.command == "sample-data":
        from .data import write_sample_data

        rows = write_sample_data(
            args.table, args.rows, args.seed, args.start, args.days, args.distance_scale
        )
        print(f"wrote {rows:,} trips to {args.table}")
    elif args.command == "train":
        from .train import train

        result = train(
            args.catalog,
            args.schema,
            args.model_name,
            args.input_table,
            args.experiment_name,
            args.sample_fraction,
        )
        print(
            f"{result.model_name} version {result.version}: hold-out rmse "
            f"{result.metrics['rmse']:.3f}, mae {result.metrics['mae']:.3f}"
        )
    elif args.command == "validate":
        from .validate import validate

        name = runtime.full_name(args.catalog, args.schema, args.model_name)
        version = args.model_version or runtime.latest_version(name)
        result = validate(
            args.catalog,
            args.schema,
            args.model_name,
            version,
            args.input_table,
            args.experiment_name,
            args.max_rmse,
            args.champion_tolerance,
        )
        print(
            f"{result.model_name} version {result.version} passed (rmse "
            f"{result.metrics['rmse']:.3f}): now {config.CHALLENGER}"
        )
    elif args.command == "deploy":
        from .deploy import deploy

        result = deploy(args.catalog, args.schema, args.model_name, args.model_version)
        print(
            f"{result.model_name}: {config.CHAMPION} is version {result.version} "
            f"(was {result.previous_champion or 'none'})"
        )
    elif args.command == "promote":
        _promote(args)
    elif args.command == "score":
        from .score import score

        def progress(rows: int) -> None:
            print(f"  scored {rows:,} rows ...", file=sys.stderr, flush=True)

        result = score(
            args.catalog,
            args.schema,
            args.model_name,
            args.input_table,
            args.batch_id,
            progress=progress,
        )
        print(
            f"scored {result.rows:,} rows with version {result.model_version} into "
            f"{result.table} (batch {result.batch_id})"
        )
    elif args.command == "label":
        _label(args)
    elif args.command == "monitor":
        from .monitor import monitor

        result = monitor(
            args.catalog,
            args.schema,
            args.model_name,
            args.baseline_table,
            args.max_psi,
            args.max_rmse,
            args.batch_id,
        )
        print(result.drift.to_string(index=False))
        print(f"batch {result.batch_id}: {result.describe_errors()}")
        for violation in result.violations:
            print(f"violation: {violation}")
        print(
            f"retrain: {str(result.retrain).lower()}; plots: "
            f"{', '.join(str(p) for p in result.reports)}"
        )
    elif args.command == "lifecycle":
        from .lifecycle import run as run_lifecycle

        run_lifecycle(args.pattern, args.rows, args.monitoring)


def _label(args: argparse.Namespace) -> None:
    from .data import table_exists
    from .labels import attach_labels, labels_table, read_labels, record_labels

    source = args.from_table.strip()
    if not source:
        if runtime.use_spark():
            raise runtime.MlopsError("--from-table is required: which table holds the fares?")
        source = runtime.full_name(args.catalog, args.schema, config.NEW_TRIPS_TABLE)
        if not table_exists(source):
            raise runtime.MlopsError(
                f"table {source} does not exist: pass --from-table, or run lifecycle first"
            )
    recorded = record_labels(read_labels(source), args.catalog, args.schema)
    attached = attach_labels(args.catalog, args.schema)
    print(
        f"recorded {recorded:,} labels from {source} in {labels_table(args.catalog, args.schema)}; "
        f"{attached:,} predictions got their label"
    )


def _promote(args: argparse.Namespace) -> None:
    from .promote import copy_model, promote

    source = args.source_catalog or (
        config.DEV_CATALOG if args.catalog == config.STAGING_CATALOG else config.STAGING_CATALOG
    )
    if args.copy_only:
        copy = copy_model(
            args.catalog,
            args.schema,
            args.model_name,
            source,
            args.source_alias,
            args.source_version,
        )
    else:
        copy = promote(
            args.catalog,
            args.schema,
            args.model_name,
            source,
            args.source_alias,
            args.source_version,
            args.input_table,
            None,
            args.max_rmse,
            args.champion_tolerance,
        ).copy
    verb = "copied" if copy.created else "already copied"
    print(
        f"{copy.source_uri} {verb} as {copy.model_name} version {copy.version}"
        + ("" if args.copy_only else f", now {config.CHAMPION}")
    )


def _configure_logging(command: str, verbose: bool) -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=logging.WARNING)
    # lifecycle prints its own narrative; the stages' log lines would repeat it.
    level = logging.WARNING if command == "lifecycle" else logging.INFO
    logging.getLogger(config.PACKAGE).setLevel(logging.DEBUG if verbose else level)
    if verbose or command == "sample-data":
        return
    # MLflow sets its log level when first imported, so import it before turning it down: it
    # narrates every database migration, and our own lines say what happened.
    import mlflow  # noqa: F401

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="mlflow")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args.command, args.verbose)
    try:
        run(args)
    except runtime.MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0
