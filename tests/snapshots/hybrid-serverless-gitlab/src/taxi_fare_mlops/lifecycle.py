"""The whole pipeline on this machine, the way the project's deployment pattern runs it.

Three local catalogs stand in for the dev, staging and prod workspaces. Depending on the pattern:

- deploy_code: the same training code runs in every catalog (train -> validate -> deploy);
  staging trains on a sample of the data, as the integration test of the code.
- deploy_model: training happens once, in dev; the approved version is copied to staging and
  then to prod, validated on each catalog's data before it becomes champion there.
- hybrid: dev is for development; staging trains on the production data; prod receives a copy.

Then prod scores a batch of new trips and, with monitoring, records its labels (the true fares,
as if they arrived the next day) and checks it for drift and error. A second batch of unusually
long trips is checked before its labels arrive, which drift alone flags, and again after.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import config, data, runtime
from .deploy import deploy
from .promote import promote
from .score import score
from .train import train
from .validate import validate


@dataclass
class LifecycleReport:
    pattern: str
    catalogs: dict[str, dict] = field(default_factory=dict)
    batches: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def _train_validate_deploy(catalog: str, sample_fraction: float, say) -> dict:
    trained = train(catalog, sample_fraction=sample_fraction)
    say(
        f"[{catalog}] trained version {trained.version} on {trained.training_rows:,} rows "
        f"(sample_fraction {sample_fraction:g}), hold-out rmse {trained.metrics['rmse']:.3f}"
    )
    checked = validate(catalog, model_version=trained.version)
    say(f"[{catalog}] version {checked.version} passed validation -> {config.CHALLENGER}")
    deployed = deploy(catalog, model_version=checked.version)
    say(f"[{catalog}] version {deployed.version} is {config.CHAMPION}")
    return {"version": trained.version, "rmse": checked.metrics["rmse"], "source": None}


def _promote(catalog: str, source_catalog: str, say) -> dict:
    promoted = promote(catalog, source_catalog=source_catalog)
    copy = promoted.copy
    verb = "copied" if copy.created else "already had"
    say(
        f"[{catalog}] {verb} {copy.source_uri} as version {copy.version}; validated on "
        f"{catalog} data (rmse {promoted.validation.metrics['rmse']:.3f}); now {config.CHAMPION}"
    )
    return {
        "version": copy.version,
        "rmse": promoted.validation.metrics["rmse"],
        "source": copy.source_uri,
    }


def _registry_state(catalog: str) -> dict:
    name = runtime.full_name(catalog, config.SCHEMA, config.MODEL_NAME)
    client = runtime.mlflow_client()
    versions = sorted(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
    return {
        "model": name,
        "versions": [str(v) for v in versions],
        config.CHAMPION: runtime.alias_version(name, config.CHAMPION),
        config.CHALLENGER: runtime.alias_version(name, config.CHALLENGER),
    }


def _score_batch(
    report, batch_id, distance_scale, seed, rows, monitoring, say, labels_late=False
) -> None:
    """Score a week of new trips starting on `batch_id` (a date) in prod; with monitoring, check
    it and record its labels (the true fares the generator drew) as if they arrived a day later:
    before the check, or, with `labels_late`, between a first check (drift only) and a second
    one (error too)."""
    prod = config.PROD_CATALOG
    table = runtime.full_name(prod, config.SCHEMA, config.NEW_TRIPS_TABLE)
    data.write_sample_data(
        table, n_rows=rows, seed=seed, start=batch_id, days=7, distance_scale=distance_scale
    )
    scored = score(prod, input_table=table, batch_id=batch_id)
    say(
        f"[{prod}] scored {scored.rows:,} new trips (batch {batch_id}) with version "
        f"{scored.model_version} into {scored.table}"
    )
    batch = {"batch_id": batch_id, "rows": scored.rows, "model_version": scored.model_version}
    report.batches.append(batch)
    if not monitoring:
        return
    if labels_late:
        first = _check(batch_id, say)
        batch.update(retrain_before_labels=first.retrain)
    _record_labels(table, batch_id, say)
    checked = _check(batch_id, say, again=labels_late)
    psi = checked.drift[checked.drift["metric"] == "psi"]
    batch.update(
        retrain=checked.retrain,
        violations=checked.violations,
        rmse=checked.errors["rmse"],
        labelled_rows=checked.labelled_rows,
        max_psi=float(psi["value"].max()),
    )


def _record_labels(table: str, batch_id: str, say) -> None:
    from .labels import labels_table, read_labels, record_labels

    prod = config.PROD_CATALOG
    recorded = record_labels(read_labels(table), prod, config.SCHEMA)
    say(
        f"[{prod}] a day later the fares of batch {batch_id} arrive: {recorded:,} labels "
        f"recorded in {labels_table(prod, config.SCHEMA)}"
    )


def _check(batch_id: str, say, again: bool = False):
    from .monitor import monitor

    prod = config.PROD_CATALOG
    checked = monitor(prod, batch_id=batch_id)
    psi = checked.drift[checked.drift["metric"] == "psi"].set_index("feature")["value"]
    say(
        f"[{prod}] monitoring batch {batch_id}{' again' if again else ''}: "
        f"{checked.describe_errors()}, largest psi {psi.max():.3f} ({psi.idxmax()})"
    )
    if not again:
        for violation in checked.violations:
            say(f"[{prod}]   ! {violation}")
    say(f"[{prod}]   retrain: {str(checked.retrain).lower()}")
    return checked


def run(
    pattern: str = config.DEPLOYMENT_PATTERN,
    rows: int = config.SAMPLE_ROWS,
    monitoring: bool = config.INCLUDE_MONITORING,
    say: Callable[[str], None] = print,
) -> LifecycleReport:
    started = time.perf_counter()
    dev, staging, prod = config.DEV_CATALOG, config.STAGING_CATALOG, config.PROD_CATALOG
    report = LifecycleReport(pattern)
    say(f"{config.PROJECT_NAME}: {pattern} lifecycle, local state in {runtime.local_dir()}")
    written = data.write_sample_data(config.INPUT_TABLE, n_rows=rows)
    say(f"[data] wrote {written:,} sample trips to {config.INPUT_TABLE}")

    steps = report.catalogs
    if pattern == "deploy_code":
        steps[dev] = _train_validate_deploy(dev, 1.0, say)
        steps[staging] = _train_validate_deploy(staging, config.STAGING_SAMPLE_FRACTION, say)
        steps[prod] = _train_validate_deploy(prod, 1.0, say)
    elif pattern == "deploy_model":
        steps[dev] = _train_validate_deploy(dev, 1.0, say)
        steps[staging] = _promote(staging, dev, say)
        steps[prod] = _promote(prod, staging, say)
    elif pattern == "hybrid":
        steps[dev] = _train_validate_deploy(dev, config.STAGING_SAMPLE_FRACTION, say)
        steps[staging] = _train_validate_deploy(staging, 1.0, say)
        steps[prod] = _promote(prod, staging, say)
    else:
        raise runtime.MlopsError(f"unknown deployment pattern {pattern!r}")
    for catalog in (dev, staging, prod):
        steps[catalog].update(_registry_state(catalog))

    batch_rows = max(rows // 4, 100)
    _score_batch(report, "2016-03-01", 1.0, config.SEED + 1, batch_rows, monitoring, say)
    if monitoring:
        # Longer trips than anything in training: the drift check should fire.
        _score_batch(
            report,
            "2016-03-08",
            2.5,
            config.SEED + 2,
            batch_rows,
            monitoring,
            say,
            labels_late=True,
        )

    report.seconds = time.perf_counter() - started
    say("")
    say(summary(report))
    return report


def summary(report: LifecycleReport) -> str:
    lines = [f"Summary ({report.pattern}, {report.seconds:.1f}s)"]
    lines.append(f"  {'catalog':<10} {'versions':<10} {'champion':<9} {'rmse':>7}  source")
    for catalog, state in report.catalogs.items():
        lines.append(
            f"  {catalog:<10} {','.join(state['versions']):<10} "
            f"{state[config.CHAMPION] or '-':<9} {state['rmse']:>7.3f}  "
            f"{state['source'] or 'trained here'}"
        )
    for batch in report.batches:
        line = (
            f"  batch {batch['batch_id']}: {batch['rows']:,} rows scored by version "
            f"{batch['model_version']}"
        )
        if "retrain_before_labels" in batch:
            line += (
                f", max psi {batch['max_psi']:.3f}, retrain "
                f"{str(batch['retrain_before_labels']).lower()} before labels; rmse "
                f"{batch['rmse']:.3f} once {batch['labelled_rows']:,} labels arrived"
            )
        elif "retrain" in batch:
            line += (
                f", {batch['labelled_rows']:,} labelled, rmse {batch['rmse']:.3f}, max psi "
                f"{batch['max_psi']:.3f}, retrain {str(batch['retrain']).lower()}"
            )
        lines.append(line)
    return "\n".join(lines)
