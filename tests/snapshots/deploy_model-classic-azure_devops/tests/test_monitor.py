import math

import numpy as np
import pytest

from taxi_fare_mlops import config, data, runtime
from taxi_fare_mlops.labels import label_rows, record_labels

if not config.INCLUDE_MONITORING:
    pytest.skip("the project was generated without monitoring", allow_module_level=True)

from taxi_fare_mlops.monitor import metrics_table, monitor  # noqa: E402
from taxi_fare_mlops.score import predictions_table, score  # noqa: E402

DEV = config.DEV_CATALOG


def _score_batch(schema, batch_id, distance_scale=1.0, seed=11, labelled=True):
    """Score 1,000 new trips; with `labelled`, their fares arrive before the check."""
    table = f"{DEV}.{schema}.new_trips"
    trips = data.generate_trips(
        1_000, seed=seed, start="2016-03-01", days=7, distance_scale=distance_scale
    )
    data.write_table(trips, table)
    score(DEV, schema, input_table=table, batch_id=batch_id)
    if labelled:
        record_labels(trips, DEV, schema)
    return trips


def test_monitoring_needs_predictions(schema):
    with pytest.raises(runtime.MlopsError, match="run score first"):
        monitor(DEV, schema)


def test_healthy_batch_then_drifted_batch(schema, champion, tmp_path):
    _score_batch(schema, "normal")
    healthy = monitor(DEV, schema, reports_dir=tmp_path)
    assert healthy.batch_id == "normal" and healthy.model_version == champion
    assert healthy.violations == [] and not healthy.retrain
    assert healthy.errors["rmse"] < config.MAX_RMSE and healthy.labelled_rows == 1_000
    assert set(healthy.drift["metric"]) == {"psi", "ks", "js"}

    _score_batch(schema, "long-trips", distance_scale=2.5, seed=12)
    drifted = monitor(DEV, schema, reports_dir=tmp_path)  # the latest batch by default
    assert drifted.batch_id == "long-trips" and drifted.retrain
    assert any("trip_distance" in violation for violation in drifted.violations)
    for path in drifted.reports:
        assert path.exists() and path.read_bytes()[:4] == b"\x89PNG"

    metrics = data.read_table(metrics_table(DEV, schema))
    assert set(metrics["batch_id"]) == {"normal", "long-trips"}
    errors = metrics[(metrics["feature"] == "prediction") & (metrics["metric"] == "rmse")]
    assert len(errors) == 2


def _batch_metric(schema, batch_id, metric):
    metrics = data.read_table(metrics_table(DEV, schema), where={"batch_id": batch_id})
    values = metrics[(metrics["feature"] == "prediction") & (metrics["metric"] == metric)]
    assert len(values) == 1
    return float(values["value"].iloc[0])


def test_error_waits_for_labels_and_then_matches_a_hand_computation(schema, champion, tmp_path):
    trips = _score_batch(schema, "late", labelled=False)
    before = monitor(DEV, schema, reports_dir=tmp_path)
    assert math.isnan(before.errors["rmse"]) and math.isnan(before.errors["mae"])
    assert before.labelled_rows == 0 and "no labels yet" in before.describe_errors()
    assert _batch_metric(schema, "late", "labelled_rows") == 0
    count = data.count_rows(metrics_table(DEV, schema))

    truth = label_rows(trips).iloc[::4]  # a quarter of the fares have arrived
    record_labels(truth, DEV, schema)
    after = monitor(DEV, schema, reports_dir=tmp_path)
    assert after.labelled_rows == 250

    predictions = data.read_table(predictions_table(DEV, schema))
    joined = predictions[["trip_id", "prediction"]].merge(truth, on="trip_id")
    residuals = (joined["prediction"] - joined["fare_amount"]).to_numpy()
    assert after.errors["rmse"] == pytest.approx(np.sqrt(np.mean(residuals**2)))
    assert after.errors["mae"] == pytest.approx(np.mean(np.abs(residuals)))
    # The batch's metrics were replaced, not appended to.
    assert data.count_rows(metrics_table(DEV, schema)) == count
    assert _batch_metric(schema, "late", "labelled_rows") == 250
    assert _batch_metric(schema, "late", "rmse") == pytest.approx(after.errors["rmse"])


def test_rerunning_the_check_replaces_its_metrics(schema, champion, tmp_path):
    _score_batch(schema, "b")
    monitor(DEV, schema, reports_dir=tmp_path)
    count = data.count_rows(metrics_table(DEV, schema))
    monitor(DEV, schema, batch_id="b", reports_dir=tmp_path)
    assert data.count_rows(metrics_table(DEV, schema)) == count


def test_reports_default_to_the_local_dir(schema, champion, session_local_dir):
    _score_batch(schema, "c")
    result = monitor(DEV, schema)
    assert all(path.parent == session_local_dir / "reports" for path in result.reports)


def test_unknown_batch(schema, champion):
    _score_batch(schema, "d")
    with pytest.raises(runtime.MlopsError, match="no batch 'zzz'"):
        monitor(DEV, schema, batch_id="zzz")
