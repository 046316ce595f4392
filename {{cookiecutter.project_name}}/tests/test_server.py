"""The local scoring server, over real HTTP on a free port: MLflow's scoring protocol, answers
equal to batch scoring's, and a 4xx with one line for every bad request."""

from __future__ import annotations

import http.client
import json

import pandas as pd
import pytest

from {{ cookiecutter.__package_name }} import contract, features
from {{ cookiecutter.__package_name }}.mlops import cli, dataset, server, tables
from {{ cookiecutter.__package_name }}.mlops.score import score

from conftest import source_environment


@pytest.fixture
def running(location, champion):
    with server.ScoringServer(server.load_champion(location), port=0) as scoring:
        yield scoring


@pytest.fixture
def scored_rows(location, champion, input_table) -> pd.DataFrame:
    """Rows batch scoring wrote, with the predictions it made."""
    score(location=location, input_table=input_table, batch_id="server-test")
    return tables.for_runtime().read(location.predictions).head(200)


def post(scoring: server.ScoringServer, body: bytes, headers: dict | None = None):
    """(status, parsed JSON) of a POST to /invocations."""
    host, port = scoring.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(
            "POST",
            "/invocations",
            body=body,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def as_records(rows: pd.DataFrame) -> bytes:
    return json.dumps({"dataframe_records": rows.to_dict(orient="records")}).encode()


def test_ping_and_version(running, champion):
    host, port = running.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", "/ping")
    assert connection.getresponse().status == 200
    connection.close()
    assert running.url.startswith("http://127.0.0.1:")
    assert running.served.version == champion


def test_answers_equal_batch_predictions_in_both_formats(running, scored_rows):
    rows = scored_rows[features.MODEL_FEATURES]
    expected = scored_rows["prediction"].tolist()
    status, answer = post(running, as_records(rows))
    assert status == 200
    assert answer["predictions"] == pytest.approx(expected, rel=1e-9)
    assert server.invoke(running.url, rows) == pytest.approx(expected, rel=1e-9)
    # Columns the model does not use (the id, the batch bookkeeping) are ignored.
    status, answer = post(running, as_records(scored_rows[[contract.KEY, *features.MODEL_FEATURES]]))
    assert status == 200 and len(answer["predictions"]) == len(rows)


def records_with(change) -> bytes:
    row = {name: 1.0 for name in features.NUMERIC_FEATURES} | {
        name: 10001 for name in features.CATEGORICAL_FEATURES
    }
    change(row)
    return json.dumps({"dataframe_records": [row]}).encode()


LONG_FEATURE = next(n for n in features.MODEL_FEATURES if features.COLUMN_TYPES[n] == "long")
FIRST_FEATURE = features.MODEL_FEATURES[0]


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"", 400, "the body is empty"),
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        (b'{"inputs": [[1, 2]]}', 400, "exactly one of dataframe_records, dataframe_split"),
        (b'{"dataframe_records": []}', 400, "no rows to score"),
        (b'{"dataframe_records": [1, 2]}', 400, "a list of objects"),
        (b'{"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}', 400, "one value per"),
        (
            records_with(lambda row: row.pop(FIRST_FEATURE)),
            400,
            f"missing columns: {FIRST_FEATURE}",
        ),
        (
            records_with(lambda row: row.update({FIRST_FEATURE: "far"})),
            400,
            f"column {FIRST_FEATURE}: row 0 is 'far', expected a number",
        ),
        (
            records_with(lambda row: row.update({LONG_FEATURE: 2.5})),
            400,
            f"column {LONG_FEATURE}: row 0 is 2.5, expected a whole number",
        ),
        (
            records_with(lambda row: row.update({FIRST_FEATURE: None})),
            400,
            f"column {FIRST_FEATURE}: row 0 is None, expected a number",
        ),
    ],
)
def test_bad_bodies_get_a_4xx_with_one_line(running, body, status, reason):
    got, answer = post(running, body)
    assert got == status
    assert reason in answer["message"] and "\n" not in answer["message"]
    # The server keeps serving after a bad request.
    assert post(running, records_with(lambda row: None))[0] == 200


def test_oversized_and_non_json_bodies_are_refused_unread(running, monkeypatch):
    monkeypatch.setattr(server, "MAX_BODY_BYTES", 1_000)
    status, answer = post(running, b" " * 1_001)
    assert status == 413 and "more than the limit of 1,000" in answer["message"]
    status, answer = post(running, b"a,b\n1,2", {"Content-Type": "text/csv"})
    assert status == 415 and "send application/json" in answer["message"]


def test_dataframe_split_of_many_rows(running, scored_rows):
    rows = scored_rows[features.MODEL_FEATURES]
    body = json.dumps({"dataframe_split": rows.to_dict(orient="split", index=False)}).encode()
    status, answer = post(running, body)
    assert status == 200 and len(answer["predictions"]) == len(rows)


def test_serve_runs_until_interrupted(location, champion):
    """`python -m <package> serve`: prints where it listens, answers, and Ctrl-C ends it cleanly."""
    import signal
    import subprocess
    import sys
    import urllib.request

    command = [
        sys.executable,
        "-m",
        "{{ cookiecutter.__package_name }}",
        "serve",
        "--schema",
        location.schema,
        "--port",
        "0",
    ]
    serving = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=source_environment()
    )
    try:
        first = serving.stdout.readline()
        assert f"version {champion} at http://127.0.0.1:" in first, serving.stderr.read()
        url = first.split(" at ")[1].split()[0]
        with urllib.request.urlopen(f"{url}/ping", timeout=10) as response:
            assert response.status == 200
    finally:
        serving.send_signal(signal.SIGINT)
        out, err = serving.communicate(timeout=30)
    assert serving.returncode == 0, err
    assert out.strip().endswith("stopped") and "Traceback" not in err


def test_a_taken_port_is_one_line(running, location, champion, capsys):
    port = running.url.rsplit(":", 1)[1]
    assert cli.main(["serve", "--schema", location.schema, "--port", port]) == 1
    assert "cannot listen on 127.0.0.1:" in capsys.readouterr().err
