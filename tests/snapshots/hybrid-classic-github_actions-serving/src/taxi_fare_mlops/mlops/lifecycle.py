"""The whole pipeline on this machine, the way the project's deployment pattern runs it.

Three local catalogs stand in for the dev, staging and prod workspaces. Depending on the pattern:

- deploy_code: the same training code runs in every catalog (train -> validate -> deploy);
  staging trains on a sample of the data, as the integration test of the code.
- deploy_model: training happens once, in dev; the approved version is copied to staging and
  then to prod, validated on each catalog's data before it becomes champion there.
- hybrid: dev is for development; staging trains on the production data; prod receives a copy.

Then prod scores a batch of new rows and, with monitoring, records its labels (the outcomes the
sample generator drew, as if they arrived the next day) and checks it for drift and error. A
second batch drawn with drift (`sample_data`'s `drift`) is checked before its labels arrive,
which drift alone flags, and again after.
Between the two, prod's champion is served on a free local port (`serve`): the answers to a
request of scored rows must equal the batch predictions for them.
Every step prints the summary of its stage's result, as the CLI and the notebooks do, and then
how long it took. At the end the run writes one HTML page, `.local/reports/lifecycle.html`
(`lifecycle_page.py`), with the registry, the batches and the monitoring plots.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .. import config, contract, sample_data
from . import lifecycle_page, registry, runtime, schema_check
from .deploy import deploy
from .errors import MlopsError
from .labels import record_labels
from .location import Location
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
    # Seconds per step, in the order they ran; and the HTML page written at the end.
    durations: dict[str, float] = field(default_factory=dict)
    page: Path | None = None
    serving: dict = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"Summary ({self.pattern}, {self.seconds:.1f}s)"]
        metric = contract.GATE.metric
        lines.append(f"  {'catalog':<10} {'versions':<10} {'champion':<9} {metric:>8}  source")
        for catalog, state in self.catalogs.items():
            lines.append(
                f"  {catalog:<10} {','.join(state['versions']):<10} "
                f"{state[config.CHAMPION] or '-':<9} {state['metric']:>8.3f}  "
                f"{state['source'] or 'trained here'}"
            )
        for batch in self.batches:
            line = (
                f"  batch {batch['batch_id']}: {batch['rows']:,} rows scored by version "
                f"{batch['model_version']}"
            )
            if "retrain_before_labels" in batch:
                line += (
                    f", max psi {batch['max_psi']:.3f}, retrain "
                    f"{str(batch['retrain_before_labels']).lower()} before labels; {metric} "
                    f"{batch['metric']:.3f} once {batch['labelled_rows']:,} labels "
                    "arrived"
                )
            elif "retrain" in batch:
                line += (
                    f", {batch['labelled_rows']:,} labelled, {metric} {batch['metric']:.3f}, "
                    f"max psi {batch['max_psi']:.3f}, retrain {str(batch['retrain']).lower()}"
                )
            lines.append(line)
        if self.serving:
            lines.append(
                f"  serving: version {self.serving['version']} answered "
                f"{self.serving['rows']} rows over HTTP, equal to batch scoring"
            )
        return "\n".join(lines)


@contextmanager
def _timed(report: LifecycleReport, step: str, say: Callable[[str], None]) -> Iterator[None]:
    """Time one step, print how long it took as soon as it is done and keep it for the page."""
    started = time.perf_counter()
    yield
    report.durations[step] = time.perf_counter() - started
    say(f"[time] {report.durations[step]:5.1f}s  {step}")


def _say_in(catalog: str, say: Callable[[str], None]) -> Callable[[object], None]:
    """Print a stage result's summary, each line tagged with the catalog it happened in."""

    def show(result) -> None:
        for line in result.summary().splitlines():
            say(f"[{catalog}] {line}")

    return show


def _train_validate_deploy(location: Location, sample_fraction: float, say) -> dict:
    show = _say_in(location.catalog, say)
    trained = train(location=location, sample_fraction=sample_fraction)
    show(trained)
    checked = validate(location=location, model_version=trained.version)
    show(checked)
    show(deploy(location=location, model_version=checked.version))
    metric = checked.metrics[contract.GATE.metric]
    return {"version": trained.version, "metric": metric, "source": None}


def _promote(location: Location, source_catalog: str, say) -> dict:
    promoted = promote(location=location, source_catalog=source_catalog)
    _say_in(location.catalog, say)(promoted)
    return {
        "version": promoted.copy.version,
        "metric": promoted.validation.metrics[contract.GATE.metric],
        "source": promoted.copy.source_uri,
    }


def _registry_state(location: Location) -> dict:
    return {
        "model": location.model,
        "versions": registry.versions(location.model),
        config.CHAMPION: registry.alias_version(location.model, config.CHAMPION),
        config.CHALLENGER: registry.alias_version(location.model, config.CHALLENGER),
    }


def _score_batch(
    report: LifecycleReport, prod: Location, *, batch_id: str, say: Callable[[str], None], **rest
) -> None:
    with _timed(report, f"batch {batch_id}", say):
        _score_and_check(report, prod, batch_id=batch_id, say=say, **rest)


def _score_and_check(
    report: LifecycleReport,
    prod: Location,
    *,
    batch_id: str,
    drift: float,
    seed: int,
    rows: int,
    monitoring: bool,
    say: Callable[[str], None],
    labels_late: bool = False,
) -> None:
    """Score a week of new rows starting on `batch_id` (a date) in prod; with monitoring, check
    it and record its labels (the outcomes the generator drew) as if they arrived a day later:
    before the check, or, with `labels_late`, between a first check (drift only) and a second
    one (error too)."""
    show = _say_in(prod.catalog, say)
    sample_data.write_sample_data(
        prod.new_rows,
        n_rows=rows,
        seed=seed,
        start=batch_id,
        days=7,
        drift=drift,
    )
    scored = score(location=prod, input_table=prod.new_rows, batch_id=batch_id)
    show(scored)
    batch = {"batch_id": batch_id, "rows": scored.rows, "model_version": scored.model_version}
    report.batches.append(batch)
    if not monitoring:
        return
    from .labels import read_labels
    from .monitor import monitor

    if labels_late:
        first = monitor(location=prod, batch_id=batch_id)
        show(first)
        batch.update(retrain_before_labels=first.retrain)
    recorded = record_labels(read_labels(prod.new_rows), location=prod)
    say(
        f"[{prod.catalog}] a day later the labels of batch {batch_id} arrive: {recorded:,} "
        f"labels recorded in {prod.labels}"
    )
    checked = monitor(location=prod, batch_id=batch_id)
    show(checked)
    batch.update(
        retrain=checked.retrain,
        violations=checked.violations,
        metric=checked.errors[contract.GATE.metric],
        labelled_rows=checked.labelled_rows,
        max_psi=checked.largest_psi[1],
        categorical_drift=checked.categorical_drift,
        drift_plot=str(checked.reports[0]),
        error_plot=str(checked.reports[1]),
    )


def _check_serving(report: LifecycleReport, prod: Location, batch_id: str, say, rows: int = 50):
    """Serve prod's champion on a free port, send it `rows` rows of a scored batch, and check
    the answers against the predictions batch scoring wrote for the same rows; then stop."""
    import numpy as np
    import pandas as pd

    from .. import features
    from . import outputs, server, tables

    scored = tables.for_runtime().read(prod.predictions)
    scored = scored[scored["batch_id"] == batch_id].head(rows)
    with server.ScoringServer(server.load_champion(prod), port=0) as running:
        answers = server.invoke(running.url, scored[features.MODEL_FEATURES])
    classes = running.served.classes
    if classes:  # a classifier answers its class and probabilities, as batch scoring stored them
        served = pd.DataFrame(answers)
        same = served[outputs.PREDICTION].tolist() == scored[outputs.PREDICTION].tolist()
        same = same and np.allclose(
            outputs.probability_matrix(served[outputs.PROBABILITIES], classes),
            outputs.probability_matrix(scored[outputs.PROBABILITIES], classes),
            rtol=1e-9,
            atol=0,
        )
    else:
        same = np.allclose(answers, scored[outputs.PREDICTION].to_numpy(), rtol=1e-9, atol=0)
    if not same:
        raise MlopsError(
            f"the local server at {running.url} answered differently from batch scoring"
        )
    report.serving = {
        "version": running.served.version,
        "rows": len(answers),
        "url": running.url,
        "batch_id": batch_id,
    }
    say(
        f"[{prod.catalog}] served version {running.served.version} at {running.url}: "
        f"{len(answers)} rows of batch {batch_id} over HTTP, answers equal to batch scoring"
    )


def run(
    *,
    pattern: str = config.DEPLOYMENT_PATTERN,
    rows: int = config.SAMPLE_ROWS,
    monitoring: bool = config.INCLUDE_MONITORING,
    say: Callable[[str], None] = print,
) -> LifecycleReport:
    started = time.perf_counter()
    dev, staging, prod = (
        Location(catalog)
        for catalog in (config.DEV_CATALOG, config.STAGING_CATALOG, config.PROD_CATALOG)
    )
    report = LifecycleReport(pattern)
    say(f"{config.PROJECT_NAME}: {pattern} lifecycle, local state in {runtime.local_dir()}")
    # Every catalog's tables before the first step: a change of the features they cannot take
    # stops the run before any alias moves anywhere, not after dev and staging moved theirs.
    for location in (dev, staging, prod):
        for change in schema_check.require_writable(location):
            say(f"[{location.catalog}] the next write to {change.summary()}")
    with _timed(report, "sample data", say):
        written = sample_data.write_sample_data(config.INPUT_TABLE, n_rows=rows)
        say(f"[data] wrote {written:,} sample rows to {config.INPUT_TABLE}")

    steps = report.catalogs

    def trained_in(location: Location, sample_fraction: float) -> None:
        with _timed(report, f"{location.catalog}: train, validate, deploy", say):
            steps[location.catalog] = _train_validate_deploy(location, sample_fraction, say)

    def promoted_to(location: Location, source: Location) -> None:
        with _timed(report, f"{location.catalog}: promote from {source.catalog}", say):
            steps[location.catalog] = _promote(location, source.catalog, say)

    if pattern == "deploy_code":
        trained_in(dev, 1.0)
        trained_in(staging, config.STAGING_SAMPLE_FRACTION)
        trained_in(prod, 1.0)
    elif pattern == "deploy_model":
        trained_in(dev, 1.0)
        promoted_to(staging, dev)
        promoted_to(prod, staging)
    elif pattern == "hybrid":
        trained_in(dev, config.STAGING_SAMPLE_FRACTION)
        trained_in(staging, 1.0)
        promoted_to(prod, staging)
    else:
        raise MlopsError(f"unknown deployment pattern {pattern!r}")
    for location in (dev, staging, prod):
        steps[location.catalog].update(_registry_state(location))

    batch_rows = max(rows // 4, 100)
    _score_batch(
        report,
        prod,
        batch_id="2016-03-01",
        drift=1.0,
        seed=config.SEED + 1,
        rows=batch_rows,
        monitoring=monitoring,
        say=say,
    )
    with _timed(report, "serve", say):
        _check_serving(report, prod, "2016-03-01", say)
    if monitoring:
        # Rows drawn away from what training saw: the drift check should fire.
        _score_batch(
            report,
            prod,
            batch_id="2016-03-08",
            drift=2.5,
            seed=config.SEED + 2,
            rows=batch_rows,
            monitoring=monitoring,
            say=say,
            labels_late=True,
        )

    report.seconds = time.perf_counter() - started
    report.page = lifecycle_page.write(report, runtime.reports_dir() / lifecycle_page.FILE_NAME)
    say("")
    say(report.summary())
    say(f"Report: {report.page}")
    return report
