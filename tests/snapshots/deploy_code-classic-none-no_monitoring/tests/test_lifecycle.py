"""The whole pipeline of this project's deployment pattern, on local dev, staging and prod."""

import base64
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from taxi_fare_mlops import config, contract, features
from taxi_fare_mlops.mlops import lifecycle, registry, runtime, tables, ui
from taxi_fare_mlops.mlops.location import Location

from conftest import start_local_dir
from pages import NOT_INSTALLED, chromium, look_at, read_page
from processes import running, stop

GATE = contract.GATE.metric

DEV, STAGING, PROD = config.DEV_CATALOG, config.STAGING_CATALOG, config.PROD_CATALOG
# Which catalogs train their own model and which receive a copy (and from where).
COPIED_FROM = {
    "deploy_code": {},
    "deploy_model": {STAGING: DEV, PROD: STAGING},
    "hybrid": {PROD: STAGING},
}[config.DEPLOYMENT_PATTERN]


def model(catalog):
    return Location(catalog).model


def read(table):
    return tables.for_runtime().read(table)


@pytest.fixture(scope="module")
def report(tmp_path_factory, empty_database):
    patch = pytest.MonkeyPatch()
    local_dir = start_local_dir(tmp_path_factory.mktemp("lifecycle"), empty_database)
    patch.setenv(runtime.LOCAL_DIR_VARIABLES[0], str(local_dir))
    lines = []
    yield lifecycle.run(rows=6_000, say=lines.append), lines
    patch.undo()


@pytest.mark.slow
def test_every_catalog_has_one_champion_version(report):
    result, _ = report
    for catalog in (DEV, STAGING, PROD):
        assert registry.versions(model(catalog)) == ["1"], catalog
        assert registry.alias_version(model(catalog), config.CHAMPION) == "1"
        assert registry.alias_version(model(catalog), config.CHALLENGER) == "1"
        assert contract.GATE.passes(result.catalogs[catalog]["metric"], contract.GATE.threshold)


@pytest.mark.slow
def test_copies_carry_lineage_and_trained_versions_do_not(report):
    for catalog in (DEV, STAGING, PROD):
        tags = registry.tags(model(catalog), "1")
        if catalog in COPIED_FROM:
            assert tags["source_model_uri"] == f"models:/{model(COPIED_FROM[catalog])}/1"
            assert tags["promoted_at"] and tags["git_commit"]
        else:
            assert "source_model_uri" not in tags
            assert tags["training_table"] == config.INPUT_TABLE


@pytest.mark.slow
def test_staging_sample_matches_the_pattern(report):
    fraction = registry.tags(model(STAGING), "1")["sample_fraction"]
    expected = config.STAGING_SAMPLE_FRACTION if config.DEPLOYMENT_PATTERN == "deploy_code" else 1.0
    assert float(fraction) == expected


@pytest.mark.slow
def test_prod_predictions_and_monitoring(report):
    result, lines = report
    rows = read(Location(PROD).predictions)
    expected_batches = 2 if config.INCLUDE_MONITORING else 1
    assert rows["batch_id"].nunique() == expected_batches
    assert len(rows) == 1_500 * expected_batches
    assert not rows.duplicated(["batch_id", contract.KEY]).any()
    assert (rows["model_version"] == "1").all()
    output = "\n".join(lines)
    if config.INCLUDE_MONITORING:
        normal, shifted = result.batches
        assert not normal["retrain"] and shifted["retrain"]
        assert any(
            f"psi of {name} " in violation
            for violation in shifted["violations"]
            for name in features.NUMERIC_FEATURES
        )
        # The labels of both batches arrived (the shifted one after a first, drift-only check).
        assert shifted["retrain_before_labels"] and f"{GATE} n/a (no labels yet)" in output
        assert normal["labelled_rows"] == shifted["labelled_rows"] == 1_500
        assert contract.GATE.better(normal["metric"], shifted["metric"])
        assert rows[contract.LABEL].notna().all()
        assert "labels recorded in" in output
        labels = read(Location(PROD).labels)
        assert len(labels) == 3_000 and labels[contract.KEY].is_unique
    else:
        assert rows[contract.LABEL].isna().all() and "labels recorded" not in output
    assert "Summary" in output


def page_tables(report):
    result, _ = report
    page = read_page(result.page)
    return page, {table_id: page.records(table_id) for table_id in page.tables}


@pytest.mark.slow
def test_lifecycle_prints_each_step_duration_and_the_page(report):
    result, lines = report
    timed = [line for line in lines if line.startswith("[time] ")]
    steps = [re.fullmatch(r"\[time\] +[0-9]+\.[0-9]s  (.+)", line).group(1) for line in timed]
    assert steps == list(result.durations)
    assert len(timed) == 5 + config.INCLUDE_MONITORING + config.INCLUDE_SERVING
    # Each duration is printed right after its step's own lines: the first after the data.
    assert lines.index(timed[0]) == 2 and lines[1].startswith("[data]")
    assert result.page == runtime.local_dir() / "reports" / "lifecycle.html"
    assert lines[-1] == f"Report: {result.page}"


@pytest.mark.slow
def test_the_page_shows_the_registry_of_every_catalog(report):
    _, tables_on_page = page_tables(report)
    shown = {row["catalog"]: row for row in tables_on_page["catalogs"]}
    assert list(shown) == [DEV, STAGING, PROD]
    for catalog, row in shown.items():
        assert row["model"] == model(catalog)
        assert row["versions"] == ", ".join(registry.versions(model(catalog)))
        assert row[config.CHAMPION] == registry.alias_version(model(catalog), config.CHAMPION)
        assert row[config.CHALLENGER] == registry.alias_version(model(catalog), config.CHALLENGER)
        expected_source = (
            f"models:/{model(COPIED_FROM[catalog])}/1" if catalog in COPIED_FROM else "trained here"
        )
        assert row["source"] == expected_source
        assert contract.GATE.passes(float(row[GATE]), contract.GATE.threshold)


@pytest.mark.slow
def test_the_page_shows_each_batch_as_the_tables_hold_it(report):
    page, tables_on_page = page_tables(report)
    predictions = read(Location(PROD).predictions)
    shown = tables_on_page["batches"]
    assert [row["batch"] for row in shown] == sorted(predictions["batch_id"].unique())
    for row in shown:
        batch = predictions[predictions["batch_id"] == row["batch"]]
        assert row["rows scored"] == f"{len(batch):,}"  # as the CLI prints it
        assert row["model version"] == batch["model_version"].iloc[0]
    # Nothing to fetch: no links, no scripts, every image inline.
    assert page.links == []
    if not config.INCLUDE_MONITORING:
        assert page.images == [] and shown[0][GATE] == "-"
        return
    metrics = read(Location(PROD).metrics)
    for row in shown:
        values = metrics[metrics["batch_id"] == row["batch"]].set_index(["feature", "metric"])
        assert float(row[GATE]) == pytest.approx(
            values.loc[("prediction", GATE), "value"], abs=5e-4
        )
        labelled = int(values.loc[("prediction", "labelled_rows"), "value"])
        assert row["labelled rows"] == f"{labelled:,}"
        psi = values.xs("psi", level="metric")["value"].max()
        assert float(row["max psi"]) == pytest.approx(psi, abs=5e-4)
        # Categorical drift as the metrics table holds it.
        js = values.xs("js", level="metric")["value"]
        categorical = page.records(f"categorical-drift-{row['batch']}")
        assert [cell["categorical feature"] for cell in categorical] == list(
            features.CATEGORICAL_FEATURES
        )
        for cell in categorical:
            expected = js[cell["categorical feature"]]
            assert float(cell["Jensen-Shannon distance"]) == pytest.approx(expected, abs=5e-4)
    # "retrain" only where monitoring_job retrains; elsewhere what the job does instead.
    outcomes = [row.get("retrain", row.get("monitoring job")) for row in shown]
    retrains = config.DEPLOYMENT_PATTERN in config.RETRAINING_PATTERNS
    assert outcomes == (["false", "true"] if retrains else ["passes", "fails and notifies"])
    # The drift plot of each batch, titled with it, and the error trend, as PNG inside the page.
    reports_dir = runtime.local_dir() / "reports"
    assert [image["alt"] for image in page.images] == [
        "Feature drift of batch 2016-03-01 against the training baseline",
        "Feature drift of batch 2016-03-08 against the training baseline",
        "Prediction quality over time",
    ]
    files = ["drift_2016-03-01.png", "drift_2016-03-08.png", "error.png"]
    for image, name in zip(page.images, files, strict=True):
        prefix = "data:image/png;base64,"
        assert image["src"].startswith(prefix)
        png = base64.b64decode(image["src"].removeprefix(prefix))
        assert png.startswith(b"\x89PNG") and png == (reports_dir / name).read_bytes()


@pytest.mark.slow
def test_the_page_shows_the_serving_check_where_the_project_serves(report):
    result, _ = report
    page, _ = page_tables(report)
    if config.INCLUDE_SERVING:
        serving = result.serving
        assert f"Version {serving['version']} (prod's champion)" in page.text
        assert f"answered {serving['rows']:,} rows of batch 2016-03-01 over HTTP" in page.text
    else:
        assert result.serving == {} and "Serving" not in page.text


@pytest.mark.slow
@pytest.mark.skipif(chromium() is None, reason=NOT_INSTALLED)
def test_the_page_in_a_browser(report, tmp_path):
    """The page of a real run, as Chromium lays it out (tests/pages.py says how)."""
    result, _ = report
    seen = look_at(result.page, tmp_path)
    assert seen["title"] == f"{config.PROJECT_NAME}: {config.DEPLOYMENT_PATTERN} lifecycle"
    assert len(seen["images"]) == (3 if config.INCLUDE_MONITORING else 0)
    assert all(image["complete"] and image["naturalWidth"] > 0 for image in seen["images"])
    assert seen["overflowing"] == [] and seen["pageWidth"] <= seen["viewportWidth"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((ui.HOST, 0))
        return probe.getsockname()[1]


def _get(base: str, path: str, **query) -> dict:
    with urllib.request.urlopen(f"{base}{path}?{urllib.parse.urlencode(query)}", timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture
def mlflow_ui(report, tmp_path):
    """`make mlflow-ui`'s server over the lifecycle's local state, on a free port."""
    port = _free_port()
    log = tmp_path / "mlflow-server.log"
    # A session of its own, so the server's workers stop with it; whatever is left of that
    # group when the test ends, pass or fail, is killed (processes.running).
    base = f"http://{ui.HOST}:{port}"
    with (
        log.open("wb") as output,
        running(ui.server_command(port), stdout=output, stderr=subprocess.STDOUT) as server,
    ):
        deadline = time.monotonic() + 180  # a loaded 2-core machine takes over 90 s
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"mlflow server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield base
        os.killpg(server.pid, signal.SIGTERM)
        stop(server)


@pytest.mark.slow
def test_mlflow_ui_shows_every_catalog_model_and_its_champion(mlflow_ui):
    found = _get(mlflow_ui, "/api/2.0/mlflow/registered-models/search", max_results=100)
    models = {entry["name"]: entry for entry in found["registered_models"]}
    assert set(models) == {model(catalog) for catalog in (DEV, STAGING, PROD)}
    for name, entry in models.items():
        aliases = {alias["alias"]: alias["version"] for alias in entry.get("aliases", [])}
        assert aliases[config.CHAMPION] == registry.alias_version(name, config.CHAMPION)
        champion = _get(
            mlflow_ui, "/api/2.0/mlflow/registered-models/alias", name=name, alias=config.CHAMPION
        )
        assert champion["model_version"]["version"] == aliases[config.CHAMPION]
    # The runs of the stages are there too, in the project's experiment.
    experiment = _get(
        mlflow_ui, "/api/2.0/mlflow/experiments/get-by-name", experiment_name=config.EXPERIMENT_NAME
    )
    assert experiment["experiment"]["name"] == config.EXPERIMENT_NAME


@pytest.mark.slow
def test_running_again_adds_versions_and_keeps_one_copy_per_source(report):
    lifecycle.run(rows=6_000, say=lambda line: None)
    for catalog in (DEV, STAGING, PROD):
        assert registry.versions(model(catalog)) == ["1", "2"], catalog
        assert registry.alias_version(model(catalog), config.CHAMPION) == "2"
    rows = read(Location(PROD).predictions)
    assert not rows.duplicated(["batch_id", contract.KEY]).any()
    if config.INCLUDE_MONITORING:
        # The same rows' labels again: upserted, not duplicated.
        labels = read(Location(PROD).labels)
        assert len(labels) == 3_000 and labels[contract.KEY].is_unique
