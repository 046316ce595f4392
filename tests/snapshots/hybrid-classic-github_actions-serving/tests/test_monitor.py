import math

import numpy as np
import pytest

from taxi_fare_mlops import config, contract, features, sample_data
from taxi_fare_mlops.mlops import tables
from taxi_fare_mlops.mlops.errors import MlopsError
from taxi_fare_mlops.mlops.labels import label_rows, record_labels

if not config.INCLUDE_MONITORING:
    pytest.skip("the project was generated without monitoring", allow_module_level=True)

from taxi_fare_mlops.mlops.monitor import monitor  # noqa: E402
from taxi_fare_mlops.mlops.score import score  # noqa: E402

GATE = contract.GATE.metric


def _score_batch(location, batch_id, drift=1.0, seed=11, labelled=True):
    """Score 1,000 new trips; with `labelled`, their fares arrive before the check."""
    trips = sample_data.generate_rows(1_000, seed=seed, start="2016-03-01", days=7, drift=drift)
    tables.for_runtime().write(trips, location.new_rows)
    score(location=location, input_table=location.new_rows, batch_id=batch_id)
    if labelled:
        record_labels(trips, location=location)
    return trips


def _metrics(location, **where):
    return tables.for_runtime().read(location.metrics, where=where or None)


def test_monitoring_needs_predictions(location):
    with pytest.raises(MlopsError, match="run score first"):
        monitor(location=location)


def test_healthy_batch_then_drifted_batch(location, champion, tmp_path):
    _score_batch(location, "normal")
    healthy = monitor(location=location, reports_dir=tmp_path)
    assert healthy.batch_id == "normal" and healthy.model_version == champion
    assert healthy.violations == [] and not healthy.retrain
    assert (
        contract.GATE.passes(healthy.errors[GATE], contract.GATE.threshold)
        and healthy.labelled_rows == 1_000
    )
    # Every declared feature is checked, with the metrics of its kind (a contract may declare
    # no categorical feature).
    checked = healthy.drift.groupby("metric")["feature"].apply(set).to_dict()
    assert checked["psi"] == checked["ks"] == set(features.NUMERIC_FEATURES)
    assert checked.get("js", set()) == set(features.CATEGORICAL_FEATURES)
    assert set(checked) == {"psi", "ks"} | ({"js"} if features.CATEGORICAL_FEATURES else set())
    assert healthy.summary().endswith("retrain: false")

    _score_batch(location, "long-trips", drift=2.5, seed=12)
    drifted = monitor(location=location, reports_dir=tmp_path)  # the latest batch by default
    assert drifted.batch_id == "long-trips" and drifted.retrain
    shifted = [name for name in features.NUMERIC_FEATURES if f"psi of {name} " in drifted.summary()]
    assert shifted and any(shifted[0] in violation for violation in drifted.violations)
    for path in drifted.reports:
        assert path.exists() and path.read_bytes()[:4] == b"\x89PNG"

    metrics = _metrics(location)
    assert set(metrics["batch_id"]) == {"normal", "long-trips"}
    errors = metrics[(metrics["feature"] == "prediction") & (metrics["metric"] == GATE)]
    assert len(errors) == 2


def _batch_metric(location, batch_id, metric):
    metrics = _metrics(location, batch_id=batch_id)
    values = metrics[(metrics["feature"] == "prediction") & (metrics["metric"] == metric)]
    assert len(values) == 1
    return float(values["value"].iloc[0])


def test_error_waits_for_labels_and_then_matches_a_hand_computation(location, champion, tmp_path):
    trips = _score_batch(location, "late", labelled=False)
    before = monitor(location=location, reports_dir=tmp_path)
    assert all(math.isnan(value) for value in before.errors.values())
    assert before.labelled_rows == 0 and "no labels yet" in before.summary()
    assert _batch_metric(location, "late", "labelled_rows") == 0
    count = tables.for_runtime().count(location.metrics)

    truth = label_rows(trips).iloc[::4]  # a quarter of the fares have arrived
    record_labels(truth, location=location)
    after = monitor(location=location, reports_dir=tmp_path)
    assert after.labelled_rows == 250

    predictions = tables.for_runtime().read(location.predictions)
    joined = predictions.drop(columns=[contract.LABEL]).merge(truth, on=contract.KEY)
    if contract.PROBLEM_TYPE == "classification":
        # The most likely class: the same as accuracy over the labelled rows.
        hits = (joined["prediction"] == joined[contract.LABEL]).to_numpy()
        assert after.errors["accuracy"] == pytest.approx(hits.mean())
    else:
        residuals = (joined["prediction"] - joined[contract.LABEL]).to_numpy()
        assert after.errors["rmse"] == pytest.approx(np.sqrt(np.mean(residuals**2)))
        assert after.errors["mae"] == pytest.approx(np.mean(np.abs(residuals)))
    # The batch's metrics were replaced, not appended to.
    assert tables.for_runtime().count(location.metrics) == count
    assert _batch_metric(location, "late", "labelled_rows") == 250
    assert _batch_metric(location, "late", GATE) == pytest.approx(after.errors[GATE])


def test_rerunning_the_check_replaces_its_metrics(location, champion, tmp_path):
    _score_batch(location, "b")
    monitor(location=location, reports_dir=tmp_path)
    count = tables.for_runtime().count(location.metrics)
    monitor(location=location, batch_id="b", reports_dir=tmp_path)
    assert tables.for_runtime().count(location.metrics) == count


def test_reports_default_to_the_local_dir(location, champion, session_local_dir):
    _score_batch(location, "c")
    result = monitor(location=location)
    assert all(path.parent == session_local_dir / "reports" for path in result.reports)


def test_unknown_batch(location, champion):
    _score_batch(location, "d")
    with pytest.raises(MlopsError, match="no batch 'zzz'"):
        monitor(location=location, batch_id="zzz")
