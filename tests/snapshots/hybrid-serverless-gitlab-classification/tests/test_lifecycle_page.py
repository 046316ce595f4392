"""The lifecycle page of a made-up run: what it shows, and how a browser lays it out.

The run of `test_lifecycle.py` checks the page against the tables a real run wrote; here a
report built by hand reaches every part in a second: two checked batches, categorical drift,
serving, long names, and each deployment pattern.
"""

from pathlib import Path

import pandas as pd
import pytest
import yaml

from taxi_fare_mlops import config
from taxi_fare_mlops.mlops import lifecycle_page, reports
from taxi_fare_mlops.mlops.lifecycle import LifecycleReport

from pages import NOT_INSTALLED, chromium, look_at, read_page

PROJECT = Path(__file__).resolve().parent.parent
PATTERNS = ["deploy_code", "deploy_model", "hybrid"]
# Long enough to need wrapping at 1280 pixels: a user's catalogs and models are named so.
LONG_MODEL = "a_long_production_catalog.an_even_longer_schema_name.a_model_with_a_long_name"


def drift_rows(psi: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "feature": ["trip_distance", "trip_distance", "pickup_zip", "dropoff_zip"],
            "metric": ["psi", "ks", "js", "js"],
            "value": [psi, 0.1, 0.048, 0.045],
        }
    )


# The two checked batches of the made-up run, with their largest PSI.
BATCH_PSI = {"2016-03-01": 0.007, "2016-03-08": 1.387}


@pytest.fixture(scope="module")
def charts(tmp_path_factory) -> dict[str, str]:
    """The run's charts, drawn once for the module (matplotlib takes half a second a chart, and
    every page here links the same ones): each batch's drift chart, and "error"."""
    folder = tmp_path_factory.mktemp("charts")
    drawn = {
        batch_id: str(
            reports.plot_feature_drift(
                drift_rows(psi), folder / f"drift_{batch_id}.png", 0.2, batch_id=batch_id
            )
        )
        for batch_id, psi in BATCH_PSI.items()
    }
    error = pd.DataFrame({"window_start": pd.to_datetime(list(BATCH_PSI)), "rmse": [2.0, 2.1]})
    drawn["error"] = str(reports.plot_error_over_time(error, folder / "error.png"))
    return drawn


def checked_batch(charts, batch_id: str, violations: list[str]) -> dict:
    return {
        "batch_id": batch_id,
        "rows": 5000,
        "model_version": "1",
        "retrain": bool(violations),
        "violations": violations,
        "metric": 2.0,
        "labelled_rows": 5000,
        "max_psi": BATCH_PSI[batch_id],
        "categorical_drift": {"pickup_zip": 0.048, "dropoff_zip": 0.045},
        "drift_plot": charts[batch_id],
        "error_plot": charts["error"],
    }


def made_up_report(charts, pattern: str, *, serving: bool = True) -> LifecycleReport:
    shifted = [f"psi of trip_distance is 1.387, above 0.2 ({'long words ' * 12})"]
    report = LifecycleReport(
        pattern,
        catalogs={
            "prod": {
                "model": LONG_MODEL,
                "versions": ["1", "2"],
                config.CHAMPION: "2",
                config.CHALLENGER: "2",
                "metric": 1.229,
                "source": f"models:/{LONG_MODEL}/2",
            }
        },
        batches=[
            checked_batch(charts, "2016-03-01", []),
            checked_batch(charts, "2016-03-08", shifted),
        ],
        seconds=23.04,
        durations={"sample data": 0.44, "batch 2016-03-01": 4.91},
    )
    if serving:
        report.serving = {"version": "2", "rows": 1500, "url": "http://x", "batch_id": "2016-03-01"}
    return report


def written(tmp_path, report: LifecycleReport):
    return read_page(lifecycle_page.write(report, tmp_path / "page" / lifecycle_page.FILE_NAME))


def test_each_drift_chart_is_titled_with_its_batch(tmp_path, charts):
    page = written(tmp_path, made_up_report(charts, config.DEPLOYMENT_PATTERN))
    assert [image["alt"] for image in page.images] == [
        reports.drift_title("2016-03-01"),
        reports.drift_title("2016-03-08"),
        reports.ERROR_TITLE,
    ]
    assert "2016-03-08" in reports.drift_title("2016-03-08")


def test_categorical_drift_is_a_table_per_batch(tmp_path, charts):
    page = written(tmp_path, made_up_report(charts, config.DEPLOYMENT_PATTERN))
    for batch_id in ("2016-03-01", "2016-03-08"):
        assert page.records(f"categorical-drift-{batch_id}") == [
            {"categorical feature": "pickup_zip", "Jensen-Shannon distance": "0.048"},
            {"categorical feature": "dropoff_zip", "Jensen-Shannon distance": "0.045"},
        ]


@pytest.mark.parametrize("serving", [True, False])
def test_the_serving_check_shows_where_lifecycle_recorded_one(tmp_path, charts, serving):
    page = written(tmp_path, made_up_report(charts, config.DEPLOYMENT_PATTERN, serving=serving))
    shown = "answered 1,500 rows of batch 2016-03-01 over HTTP, equal to batch scoring"
    assert (shown in page.text) == serving


def test_numbers_read_as_the_cli_prints_them(tmp_path, charts):
    page = written(tmp_path, made_up_report(charts, config.DEPLOYMENT_PATTERN))
    batch = page.records("batches")[0]
    assert (batch["rows scored"], batch["labelled rows"], batch["max psi"]) == (
        "5,000",
        "5,000",
        "0.007",
    )
    assert [row["seconds"] for row in page.records("steps")] == ["0.4", "4.9"]
    assert "Ran in 23.0s" in page.text


@pytest.mark.parametrize("pattern", PATTERNS)
def test_retrain_shows_only_where_the_pattern_retrains(tmp_path, charts, pattern):
    page = written(tmp_path, made_up_report(charts, pattern))
    outcomes = [(row.get("retrain"), row.get("monitoring job")) for row in page.records("batches")]
    if pattern == "deploy_code":
        assert outcomes == [("false", None), ("true", None)]
    else:
        assert outcomes == [(None, "passes"), (None, "fails and notifies")]
        assert "retrain true" not in page.text and "retraining happens upstream" in page.text


def test_the_patterns_that_retrain_are_those_whose_monitoring_job_does():
    job_file = PROJECT / "resources" / "monitoring_job.yml"
    if not job_file.exists():
        pytest.skip("the project was generated without monitoring")
    tasks = yaml.safe_load(job_file.read_text())["resources"]["jobs"]["monitoring_job"]["tasks"]
    starts_training = any("run_job_task" in task for task in tasks)
    assert starts_training == (config.DEPLOYMENT_PATTERN in config.RETRAINING_PATTERNS)


needs_chromium = pytest.mark.skipif(chromium() is None, reason=NOT_INSTALLED)


@needs_chromium
def test_the_page_in_a_browser(tmp_path, charts):
    """Every part, long names included, as Chromium lays it out 1,280 pixels wide: it renders,
    every image loads, no text is wider than its box (tests/pages.py says how)."""
    page = lifecycle_page.write(
        made_up_report(charts, config.DEPLOYMENT_PATTERN), tmp_path / "lifecycle.html"
    )
    seen = look_at(page, tmp_path / "browser")
    assert seen["title"] == f"{config.PROJECT_NAME}: {config.DEPLOYMENT_PATTERN} lifecycle"
    assert "Serving" in seen["headings"] and "Batch 2016-03-08" in seen["headings"]
    assert len(seen["images"]) == 3
    assert all(image["complete"] and image["naturalWidth"] > 0 for image in seen["images"])
    assert seen["overflowing"] == [] and seen["pageWidth"] <= seen["viewportWidth"] == 1280


@needs_chromium
def test_the_browser_check_sees_a_broken_image_and_overflowing_text(tmp_path):
    """The check itself: a page with both faults fails it."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>broken</title></head><body>"
        '<img alt="broken" src="data:image/png;base64,AAAA">'
        f'<div style="width: 100px">{"x" * 400}</div></body></html>'
    )
    seen = look_at(page, tmp_path / "browser")
    assert [image["naturalWidth"] for image in seen["images"]] == [0]
    assert [element["tag"] for element in seen["overflowing"]] == ["div"]
