"""The local scoring server, over real HTTP on a free port: every input shape of MLflow's
scoring protocol, answers equal to batch scoring's, a 4xx with one line for every bad request,
no request lost under load, and `serve` ending cleanly on SIGTERM as on Ctrl-C."""

from __future__ import annotations

import ast
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from taxi_fare_mlops import config, contract, features
from taxi_fare_mlops.mlops import cli, inputs, outputs, registry, server, tables, ui
from taxi_fare_mlops.mlops.score import score

from conftest import source_environment
from processes import default_sigint, processes_marked, running, stop


@pytest.fixture
def running_server(location, champion):
    with server.ScoringServer(server.load_champion(location), port=0) as scoring:
        yield scoring


@pytest.fixture
def scored_rows(location, champion, input_table) -> pd.DataFrame:
    """Rows batch scoring wrote, with the predictions it made."""
    score(location=location, input_table=input_table, batch_id="server-test")
    return tables.for_runtime().read(location.predictions).head(200)


def host_and_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def post(url: str, body: bytes, content_type: str = server.JSON) -> tuple[int, dict]:
    """(status, parsed JSON) of a POST to /invocations (a text answer as {"text": ...})."""
    connection = http.client.HTTPConnection(*host_and_port(url), timeout=60)
    try:
        connection.request(
            "POST", "/invocations", body=body, headers={"Content-Type": content_type}
        )
        response = connection.getresponse()
        payload = response.read()
        try:
            return response.status, json.loads(payload)
        except ValueError:  # MLflow's server answers some errors in plain text
            return response.status, {"text": payload.decode(errors="replace")}
    finally:
        connection.close()


def as_json(key: str, value) -> tuple[bytes, str]:
    return json.dumps({key: value}).encode(), server.JSON


def as_parquet(rows: pd.DataFrame) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    rows.to_parquet(buffer, index=False)
    return buffer.getvalue(), server.PARQUET


# Every shape MLflow's scoring server takes, as a function of the rows to send: (body, type).
SHAPES = {
    "dataframe_split": lambda rows: as_json(
        "dataframe_split", rows.to_dict(orient="split", index=False)
    ),
    "dataframe_records": lambda rows: as_json("dataframe_records", rows.to_dict("records")),
    "instances as rows": lambda rows: as_json("instances", rows.to_dict("records")),
    "instances as columns": lambda rows: as_json("instances", rows.to_dict("list")),
    "inputs as rows": lambda rows: as_json("inputs", rows.to_dict("records")),
    "inputs as columns": lambda rows: as_json("inputs", rows.to_dict("list")),
    "inputs as one row": lambda rows: as_json("inputs", rows.head(1).to_dict("records")[0]),
    "csv": lambda rows: (rows.to_csv(index=False).encode(), server.CSV),
    "parquet": as_parquet,
}


def batch_answers(scored_rows: pd.DataFrame) -> list:
    """What the server answers for rows batch scoring scored: the predictions, or a
    classifier's {prediction, probabilities} objects (as MLflow's server answers)."""
    if outputs.PROBABILITIES not in scored_rows:
        return scored_rows[outputs.PREDICTION].tolist()
    return [
        {outputs.PREDICTION: int(label), outputs.PROBABILITIES: dict(pairs)}
        for label, pairs in zip(
            scored_rows[outputs.PREDICTION], scored_rows[outputs.PROBABILITIES], strict=True
        )
    ]


def as_numbers(answers: list) -> np.ndarray:
    """Answers as one row of numbers each: the prediction, then a classifier's probabilities
    in the order of its classes."""
    if not answers or not isinstance(answers[0], dict):
        return np.asarray(answers, dtype=float)
    classes = sorted(answers[0][outputs.PROBABILITIES], key=int)
    return np.asarray(
        [
            [answer[outputs.PREDICTION], *(answer[outputs.PROBABILITIES][c] for c in classes)]
            for answer in answers
        ],
        dtype=float,
    )


def same_answers(answers, expected) -> bool:
    answers, expected = as_numbers(answers), as_numbers(expected)
    return answers.shape == expected.shape and np.allclose(answers, expected, rtol=1e-9, atol=0)


def expected_for(shape: str, predictions: list) -> list:
    return predictions[:1] if shape == "inputs as one row" else predictions


def test_ping_and_version(running_server, champion):
    connection = http.client.HTTPConnection(*host_and_port(running_server.url), timeout=10)
    connection.request("GET", "/ping")
    assert connection.getresponse().status == 200
    connection.close()
    assert running_server.url.startswith("http://127.0.0.1:")
    assert running_server.served.version == champion


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_answers_as_batch_scoring(running_server, scored_rows, shape):
    rows = scored_rows[features.MODEL_FEATURES]
    status, answer = post(running_server.url, *SHAPES[shape](rows))
    assert status == 200, answer
    expected = expected_for(shape, batch_answers(scored_rows))
    assert same_answers(answer["predictions"], expected)


@pytest.mark.skipif(
    contract.PROBLEM_TYPE != "classification", reason="problem type: a regression model"
)
def test_a_classifier_answers_its_class_and_probabilities(running_server, scored_rows):
    rows = scored_rows[features.MODEL_FEATURES].head(20)
    status, answer = post(running_server.url, *SHAPES["dataframe_records"](rows))
    assert status == 200
    classes = [str(value) for value in outputs.classes_in(scored_rows[outputs.PROBABILITIES])]
    first = answer["predictions"][0]
    assert set(first) == {outputs.PREDICTION, outputs.PROBABILITIES}
    assert list(first[outputs.PROBABILITIES]) == classes
    predicted = [entry[outputs.PREDICTION] for entry in answer["predictions"]]
    assert predicted == scored_rows[outputs.PREDICTION].head(20).tolist()


def test_extra_columns_and_params_are_ignored(running_server, scored_rows):
    expected = batch_answers(scored_rows)
    assert same_answers(
        server.invoke(running_server.url, scored_rows[features.MODEL_FEATURES]), expected
    )
    # Columns the model does not use (the id, the batch bookkeeping) are ignored.
    records = scored_rows[[contract.KEY, *features.MODEL_FEATURES]].to_dict("records")
    status, answer = post(running_server.url, *as_json("dataframe_records", records))
    assert status == 200 and same_answers(answer["predictions"], expected)
    # The model declares no params: MLflow's server ignores them, and so does this one.
    body = json.dumps({"dataframe_records": records, "params": {"threshold": 0.5}}).encode()
    status, answer = post(running_server.url, body)
    assert status == 200 and same_answers(answer["predictions"], expected)


def typed_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` as the server reads them from a request: checked, in the model's types."""
    return server.parse_request(SHAPES["dataframe_split"](rows[features.MODEL_FEATURES])[0])


def test_the_champion_read_without_mlflow_answers_as_through_mlflow(
    location, champion, scored_rows, monkeypatch
):
    """`serve` reads the local champion's files itself (`server._skops_champion`): the same
    version, classes and answers as the model MLflow loads."""
    direct = server.load_champion(location)
    assert direct.pyfunc is None
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")  # MLflow's to decide
    through_mlflow = server.load_champion(location)
    assert through_mlflow.pyfunc is not None
    assert (direct.version, direct.classes) == (through_mlflow.version, through_mlflow.classes)
    rows = typed_rows(scored_rows)
    mlflow_answer = through_mlflow.pyfunc.predict(rows)
    if isinstance(mlflow_answer, pd.DataFrame):  # a classifier's, as MLflow's server sends it
        mlflow_answer = mlflow_answer.to_dict(orient="records")
    assert direct.predict(rows) == list(mlflow_answer)


def test_serve_starts_without_importing_mlflow(location, champion):
    """MLflow's imports and its store took about half of `serve`'s start; a champion the
    project logged is served without them."""
    script = "\n".join(
        [
            "import sys",
            f"from {config.PACKAGE}.mlops import cli, server",
            f"from {config.PACKAGE}.mlops.location import Location",
            "cli.prepare('serve', one_command=True)",
            f"served = server.load_champion(Location({location.catalog!r}, {location.schema!r}))",
            "print(served.version, 'mlflow' in sys.modules)",
        ]
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=source_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.stdout.split() == [champion, "False"], result.stderr[-2000:]


def _changed(path: list[str], value):
    def change(mlmodel: dict, folder: Path) -> None:
        *parents, key = path
        for name in parents:
            mlmodel = mlmodel[name]
        mlmodel[key] = value

    return change


def _edit_model_code(mlmodel: dict, folder: Path) -> None:
    code = folder / Path(mlmodel["flavors"]["python_function"]["model_code_path"]).name
    code.write_text(code.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")


# What the project logs, and changes to it that only MLflow's load handles (or refuses).
LOGGED_CHANGES = {
    "as logged": (lambda mlmodel, folder: None, True),
    "code with the model": (_changed(["flavors", "python_function", "code"], "code"), False),
    "params in the signature": (
        _changed(["signature", "params"], '[{"name": "t", "type": "double", "default": 0.5}]'),
        False,
    ),
    "one input less": (
        lambda mlmodel, folder: mlmodel["signature"].update(
            inputs=json.dumps(json.loads(mlmodel["signature"]["inputs"])[1:])
        ),
        False,
    ),
}
if contract.PROBLEM_TYPE == "classification":  # logged as classifier_model.py
    LOGGED_CHANGES |= {
        "types skops is not told to trust": (
            _changed(["flavors", "python_function", "config", "trusted_types"], []),
            False,
        ),
        "model code other than this project's": (_edit_model_code, False),
    }
else:  # logged with MLflow's scikit-learn flavour
    LOGGED_CHANGES |= {
        "pickled": (
            _changed(["flavors", "sklearn", "serialization_format"], "cloudpickle"),
            False,
        ),
        "types skops is not told to trust": (
            _changed(["flavors", "sklearn", "skops_trusted_types"], []),
            False,
        ),
        "another predict function": (
            _changed(["flavors", "python_function", "predict_fn"], "score"),
            False,
        ),
    }


@pytest.mark.parametrize("case", LOGGED_CHANGES)
def test_a_champion_unlike_what_the_project_logs_is_loaded_through_mlflow(
    location, champion, tmp_path, monkeypatch, case
):
    import yaml

    version, folder = registry.local_alias_folder(location.model, config.CHAMPION)
    copy = shutil.copytree(folder, tmp_path / "model")
    mlmodel = yaml.safe_load((copy / "MLmodel").read_text(encoding="utf-8"))
    change, read_here = LOGGED_CHANGES[case]
    change(mlmodel, copy)
    (copy / "MLmodel").write_text(yaml.safe_dump(mlmodel), encoding="utf-8")
    monkeypatch.setattr(registry, "local_alias_folder", lambda *_: (version, copy))
    served = server._skops_champion(location)
    assert (served is not None) == read_here
    assert server.load_champion(location).version == version


def allowed_value(name: str):
    """A value the feature's rule accepts: the low end of its range, else a plain number."""
    rule = inputs.feature_rules()[name]
    value = next((end for end in (rule.low, rule.high) if end is not None), 1)
    return int(value) if features.COLUMN_TYPES[name] == "long" else float(value)


def one_row(change=lambda row: None) -> dict:
    row = {name: allowed_value(name) for name in features.MODEL_FEATURES}
    change(row)
    return row


def records_with(change) -> bytes:
    return json.dumps({"dataframe_records": [one_row(change)]}).encode()


LONG_FEATURE = next(n for n in features.MODEL_FEATURES if features.COLUMN_TYPES[n] == "long")
DOUBLE_FEATURE = next(n for n in features.MODEL_FEATURES if features.COLUMN_TYPES[n] == "double")
FIRST_FEATURE = features.MODEL_FEATURES[0]
ROWS_OF_ONE = [one_row(), one_row()]

# Bodies both servers refuse: (body, Content-Type, status, this server's reason).
BAD_BODIES = {
    "empty": (b"", server.JSON, 400, "the body is empty"),
    "not JSON": (b"{not json", server.JSON, 400, "not valid JSON"),
    "a list": (b"[1, 2]", server.JSON, 400, "must be a JSON object"),
    "a number": (b"3", server.JSON, 400, "must be a JSON object"),
    "no known key": (b'{"rows": []}', server.JSON, 400, "exactly one of dataframe_split"),
    "two keys": (
        json.dumps({"dataframe_records": ROWS_OF_ONE, "inputs": ROWS_OF_ONE}).encode(),
        server.JSON,
        400,
        "exactly one of dataframe_split",
    ),
    "no rows": (b'{"dataframe_records": []}', server.JSON, 400, "no rows to score"),
    "no rows in inputs": (b'{"inputs": []}', server.JSON, 400, "no rows to score"),
    "records not objects": (
        b'{"dataframe_records": [1, 2]}',
        server.JSON,
        400,
        "a list of objects",
    ),
    "inputs as lists": (
        json.dumps({"inputs": [list(one_row().values())]}).encode(),
        server.JSON,
        400,
        "inputs must be a list of objects, one per row, with column names",
    ),
    "split rows of another width": (
        b'{"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}',
        server.JSON,
        400,
        "one value per",
    ),
    "columns of different lengths": (
        json.dumps(
            {"inputs": {name: [1.0] * (1 + (name == FIRST_FEATURE)) for name in one_row()}}
        ).encode(),
        server.JSON,
        400,
        "the same number of values",
    ),
    "a column missing": (
        records_with(lambda row: row.pop(FIRST_FEATURE)),
        server.JSON,
        400,
        f"missing columns: {FIRST_FEATURE}",
    ),
    "a word for a number": (
        records_with(lambda row: row.update({FIRST_FEATURE: "far"})),
        server.JSON,
        400,
        f"column {FIRST_FEATURE}: row 0 is 'far', expected a number",
    ),
    "null in a whole-number column": (
        records_with(lambda row: row.update({LONG_FEATURE: None})),
        server.JSON,
        400,
        f"column {LONG_FEATURE}: row 0 is None, expected a number",
    ),
    "CSV without the columns": (b"a,b\n1,2\n", server.CSV, 400, "missing columns"),
    "not Parquet": (b"PAR1 but not", server.PARQUET, 400, "not a Parquet file"),
    "another content type": (b"<rows/>", "application/xml", 415, "is not supported"),
    "another charset": (
        json.dumps({"dataframe_records": ROWS_OF_ONE}).encode("latin-1"),
        "application/json; charset=latin-1",
        415,
        "charset latin-1 is not supported",
    ),
}
# Values MLflow's server turns into numbers and predicts with (200); this one refuses them (400)
# and names the value: a client's mistake should not become a fare.
REFUSED_HERE_COERCED_BY_MLFLOW = {
    "a number as text": (
        records_with(lambda row: row.update({FIRST_FEATURE: "2.5"})),
        f"column {FIRST_FEATURE}: row 0 is '2.5', expected a number",
    ),
    "a fraction in a whole-number column": (
        records_with(lambda row: row.update({LONG_FEATURE: 2.5})),
        f"column {LONG_FEATURE}: row 0 is 2.5, expected a whole number",
    ),
    "a boolean": (
        records_with(lambda row: row.update({LONG_FEATURE: True})),
        f"column {LONG_FEATURE}: row 0 is True, expected a number",
    ),
    "null for a number": (
        records_with(lambda row: row.update({DOUBLE_FEATURE: None})),
        f"column {DOUBLE_FEATURE}: row 0 is None, expected a number",
    ),
    # json.dumps writes NaN, which JSON does not have (RFC 8259, section 6).
    "NaN for a number": (
        records_with(lambda row: row.update({DOUBLE_FEATURE: float("nan")})),
        "the body is not valid JSON",
    ),
}


def beyond_rule(name: str, rule):
    """A value just above the upper end of the feature's rule, in the feature's type."""
    over = int(rule.high) + 1
    return over if features.COLUMN_TYPES[name] == "long" else float(over)


# Features whose rule has an upper end (features.py, contract.py).
BOUNDED = [(name, rule) for name, rule in inputs.feature_rules().items() if rule.high is not None]
if BOUNDED:
    OVER_NAME, OVER_VALUE = BOUNDED[0][0], beyond_rule(*BOUNDED[0])
    REFUSED_HERE_COERCED_BY_MLFLOW["a value outside its rule"] = (
        records_with(lambda row: row.update({OVER_NAME: OVER_VALUE})),
        f"column {OVER_NAME}: row 0 is {OVER_VALUE}, expected a value between",
    )


@pytest.mark.parametrize("case", [*BAD_BODIES, *REFUSED_HERE_COERCED_BY_MLFLOW])
def test_bad_bodies_get_a_4xx_with_one_line(running_server, case):
    if case in BAD_BODIES:
        body, content_type, status, reason = BAD_BODIES[case]
    else:
        (body, reason), content_type, status = (
            REFUSED_HERE_COERCED_BY_MLFLOW[case],
            server.JSON,
            400,
        )
    got, answer = post(running_server.url, body, content_type)
    assert got == status
    assert reason in answer["message"] and "\n" not in answer["message"]
    assert answer["error_code"] == http.HTTPStatus(status).phrase.upper().replace(" ", "_")
    # The server keeps serving after a bad request.
    assert post(running_server.url, records_with(lambda row: None))[0] == 200


def test_rows_batch_scoring_drops_get_no_answer(running_server, scored_rows):
    """One set of input rules at every door: a feature value outside its rule is a row batch
    scoring drops and counts (`inputs.clean_features`), and a 400 naming the column here,
    whatever shape the request has."""
    rows = scored_rows[features.MODEL_FEATURES].head(3).reset_index(drop=True)
    for name, rule in BOUNDED:
        beyond = rows.copy()
        beyond.loc[1, name] = beyond_rule(name, rule)
        kept, dropped = inputs.clean_features(beyond, table="rows")
        assert len(kept) == 2 and dropped == {name: 1}
        for shape in ("dataframe_split", "inputs as columns", "csv"):
            status, answer = post(running_server.url, *SHAPES[shape](beyond))
            assert status == 400, (name, shape, answer)
            assert answer["message"].startswith(f"column {name}: row 1 is "), answer
    # Whole numbers beyond 64 bits would wrap around: refused in JSON, CSV and as floats.
    name = next(n for n in features.MODEL_FEATURES if features.COLUMN_TYPES[n] == "long")
    too_large = 2**64 + 5
    header = ",".join(features.MODEL_FEATURES)
    line = ",".join(map(str, one_row(lambda row: row.update({name: too_large})).values()))
    for body, content_type in (
        (records_with(lambda row: row.update({name: too_large})), server.JSON),
        (records_with(lambda row: row.update({name: float(too_large)})), server.JSON),
        (f"{header}\n{line}\n".encode(), server.CSV),
    ):
        status, answer = post(running_server.url, body, content_type)
        assert status == 400 and "too large for a 64-bit number" in answer["message"], answer


def raw_exchange(url: str, request: bytes) -> tuple[int, dict]:
    """Send `request` as it is on a new connection, then close the sending side (a request
    that promised more body than it sent ends there); the status and the JSON body of the
    answer."""
    with socket.create_connection(host_and_port(url), timeout=10) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode()
    assert status_line.startswith("HTTP/1.1 "), answer[:200]
    return int(status_line.split()[1]), json.loads(body)


BODY = json.dumps({"dataframe_records": ROWS_OF_ONE}).encode()
# Requests http.server or the framing checks refuse: (raw request, status).
MALFORMED_REQUESTS = {
    "garbage request line": (b"GARBAGE\r\n\r\n", 400),
    "an unknown version": (b"GET /ping HTTP/7.3\r\n\r\n", 505),
    "a method not served": (b"DELETE /invocations HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    "a header line without a colon": (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nnot a header\r\n\r\n",
        411,
    ),
    "a header line over 64 KiB": (b"GET /ping HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    "chunked": (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + hex(len(BODY))[2:].encode()
        + b"\r\n"
        + BODY
        + b"\r\n0\r\n\r\n",
        501,
    ),
    "lengths that disagree": (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
        b"Content-Length: 2\r\n\r\n%s" % (len(BODY), BODY),
        400,
    ),
    "a length in other digits": (
        "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: \u0661\u0662\r\n\r\n".encode(),
        411,
    ),
    "a body shorter than its length": (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(BODY) + 50, BODY),
        400,
    ),
}


@pytest.mark.parametrize("case", MALFORMED_REQUESTS)
def test_malformed_requests_get_a_json_4xx_and_no_traceback(running_server, case, capfd):
    request, status = MALFORMED_REQUESTS[case]
    got, answer = raw_exchange(running_server.url, request)
    assert got == status, answer
    assert set(answer) == {"error_code", "message"} and "\n" not in answer["message"]
    # Header names are case-insensitive, and a query string does not change the path.
    lowercase = b"POST /invocations?probe=1 HTTP/1.1\r\nhost: x\r\ncontent-type: application/json"
    got, answer = raw_exchange(
        running_server.url,
        lowercase + b"\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s" % (len(BODY), BODY),
    )
    assert got == 200 and len(answer["predictions"]) == 2
    assert "Traceback" not in capfd.readouterr().err


def test_oversized_and_refused_bodies_are_not_read(running_server, monkeypatch):
    monkeypatch.setattr(server, "MAX_BODY_BYTES", 1_000)
    status, answer = post(running_server.url, b" " * 1_001)
    assert status == 413 and "more than the limit of 1,000" in answer["message"]
    status, answer = post(running_server.url, b"<rows/>" * 200, "application/xml")
    assert status == 415 and "application/json, text/csv" in answer["message"]


def test_no_request_lost_under_load(running_server):
    """32 clients on kept-alive connections and 32 that open a new connection per request, all
    starting at once: every request is answered. (With the standard library's listen backlog of
    5 the kernel dropped or reset connections that arrived together.)"""
    clients, kept_alive_requests, new_connection_requests = 32, 4, 2
    body = records_with(lambda row: None)
    start_together = threading.Barrier(2 * clients)

    def ask(connection: http.client.HTTPConnection) -> str:
        connection.request(
            "POST", "/invocations", body=body, headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        answer = response.read()
        return "ok" if response.status == 200 and b"predictions" in answer else answer.decode()

    def kept_alive_client() -> list[str]:
        connection = http.client.HTTPConnection(*host_and_port(running_server.url), timeout=60)
        start_together.wait(timeout=60)
        try:
            return [ask(connection) for _ in range(kept_alive_requests)]
        except OSError as error:
            return [repr(error)]
        finally:
            connection.close()

    def new_connection_client() -> list[str]:
        start_together.wait(timeout=60)
        outcomes = []
        for _ in range(new_connection_requests):
            connection = http.client.HTTPConnection(*host_and_port(running_server.url), timeout=60)
            try:
                outcomes.append(ask(connection))
            except OSError as error:
                outcomes.append(repr(error))
            finally:
                connection.close()
        return outcomes

    with ThreadPoolExecutor(2 * clients) as pool:
        futures = [pool.submit(kept_alive_client) for _ in range(clients)]
        futures += [pool.submit(new_connection_client) for _ in range(clients)]
        outcomes = [outcome for future in futures for outcome in future.result(timeout=300)]
    failures = [outcome for outcome in outcomes if outcome != "ok"]
    assert not failures, f"{len(failures)} of {len(outcomes)} requests failed: {failures[:3]}"
    assert len(outcomes) == clients * (kept_alive_requests + new_connection_requests)


def test_clients_at_once_each_get_their_own_rows_answers(running_server, scored_rows):
    """Requests that arrive together share one call of the model (server._Batches): each
    client still gets the answers for its own rows, as batch scoring made them."""
    clients = 16
    rows = scored_rows[features.MODEL_FEATURES]
    expected = batch_answers(scored_rows)
    # Client i sends i + 1 rows from row 3 * i on: parts of different sizes, overlapping.
    parts = [slice(3 * i, 4 * i + 1) for i in range(clients)]
    start_together = threading.Barrier(clients)

    def ask(part: slice) -> tuple[int, dict]:
        start_together.wait(timeout=60)
        return post(running_server.url, *SHAPES["dataframe_split"](rows[part]))

    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(ask, parts, timeout=300))
    for part, (status, answer) in zip(parts, answers, strict=True):
        assert status == 200, answer
        assert same_answers(answer["predictions"], expected[part])


class HeldModel:
    """A stand-in for a model's predict: doubles column x, fails on a negative x, records the
    number of rows of each call, and holds its first call until `release` is set, so that the
    requests sent meanwhile queue up behind it."""

    def __init__(self):
        self.calls: list[int] = []
        self.holding = threading.Event()
        self.release = threading.Event()

    def __call__(self, rows: pd.DataFrame) -> np.ndarray:
        self.calls.append(len(rows))
        if len(self.calls) == 1:
            self.holding.set()
            assert self.release.wait(timeout=60)
        if (rows["x"] < 0).any():
            raise ValueError("a negative x")
        return rows["x"].to_numpy() * 2


def answers_while_held(values: list[int]) -> tuple[HeldModel, dict]:
    """A request of rows x = [v, v + 100] for each value, the first one held in the model
    while the others queue: (the model, each value's answer or error message)."""
    model, outcomes = HeldModel(), {}
    batches = server._Batches(model)

    def ask(value: int) -> None:
        try:
            outcomes[value] = batches(pd.DataFrame({"x": [value, value + 100]})).tolist()
        except ValueError as error:
            outcomes[value] = str(error)

    first = threading.Thread(target=ask, args=(values[0],))
    first.start()
    assert model.holding.wait(timeout=60)
    others = [threading.Thread(target=ask, args=(value,)) for value in values[1:]]
    for thread in others:
        thread.start()
    deadline = time.monotonic() + 60
    while batches.waiting < len(others):
        assert time.monotonic() < deadline, "the requests did not queue"
        time.sleep(0.001)
    model.release.set()
    for thread in [first, *others]:
        thread.join(timeout=60)
    return model, outcomes


def test_requests_that_queue_meanwhile_are_predicted_in_one_call():
    model, outcomes = answers_while_held(list(range(1, 10)))
    assert model.calls == [2, 16]  # the first alone, then the eight queued behind it, at once
    assert outcomes == {value: [2 * value, 2 * value + 200] for value in range(1, 10)}


def test_a_request_whose_rows_fail_fails_alone():
    model, outcomes = answers_while_held([1, 2, -3, 4])
    # The batch of three fails; each of its requests is then predicted alone.
    assert model.calls == [2, 6, 2, 2, 2]
    assert outcomes == {1: [2, 202], 2: [4, 204], -3: "a negative x", 4: [8, 208]}


README = Path(__file__).resolve().parent.parent / "README.md"


def readme_requests() -> str:
    """The README's block of example requests, one per input shape."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    url = f"URL=127.0.0.1:{cli.SERVE_PORT}/invocations"
    return next(block for block in blocks if block.startswith(url))


def test_serve_and_the_mlflow_ui_default_to_different_ports():
    """Both run side by side while a data scientist looks at a model: `serve` and `make
    mlflow-ui` as the README gives them take different ports."""
    assert cli.build_parser().parse_args(["serve"]).port == cli.SERVE_PORT != ui.DEFAULT_PORT
    readme = README.read_text(encoding="utf-8")
    assert f"serve --catalog {config.DEV_CATALOG}  " in readme  # the default port, not --port
    assert f"http://127.0.0.1:{cli.SERVE_PORT} (--port)" in readme
    assert f"the MLflow UI over .local/ on http://127.0.0.1:{ui.DEFAULT_PORT}" in readme
    makefile = (README.parent / "Makefile").read_text(encoding="utf-8")
    assert f"MLFLOW_PORT ?= {ui.DEFAULT_PORT}\n" in makefile


def test_the_readme_requests_work_as_written(running_server, tmp_path):
    """Each `curl` of the README, run by bash against this server, gets predictions."""
    if not (shutil.which("curl") and shutil.which("bash")):
        pytest.skip("curl or bash is not installed: the README's example requests are not run")
    script = readme_requests().replace(
        f"URL=127.0.0.1:{cli.SERVE_PORT}/invocations", f"URL={running_server.url}/invocations"
    )
    pd.DataFrame([one_row()]).to_parquet(tmp_path / "rows.parquet", index=False)
    result = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    answers, decoder, text = [], json.JSONDecoder(), result.stdout.strip()
    while text:  # curl prints the bodies one after the other
        answer, end = decoder.raw_decode(text)
        answers.append(answer)
        text = text[end:].strip()
    assert len(answers) == script.count("curl ") and all("predictions" in a for a in answers), (
        answers
    )


def serve_command(location) -> list[str]:
    return [
        sys.executable,
        "-m",
        "taxi_fare_mlops",
        "serve",
        "--schema",
        location.schema,
        "--port",
        "0",
    ]


def port_is_free(url: str) -> bool:
    """Whether a new server could listen on the port now. With SO_REUSEADDR, as servers bind:
    the connections of the one that ended may wait in TIME_WAIT a minute, which is no hold."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(host_and_port(url))
        except OSError:
            return False
    return True


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_serve_runs_until_stopped(location, champion, stop_signal):
    """`python -m <package> serve`: prints where it listens, answers, and SIGTERM (`kill`,
    `docker stop`) or Ctrl-C ends it cleanly: "stopped", exit 0, the port free again."""
    with running(
        serve_command(location),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=source_environment(),
        # Ctrl-C's SIGINT as a terminal delivers it, even where this run ignores SIGINT.
        preexec_fn=default_sigint if stop_signal == signal.SIGINT else None,
    ) as serving:
        first = serving.stdout.readline()
        assert f"version {champion} at http://127.0.0.1:" in first, stop(serving)[1]
        url = first.split(" at ")[1].split()[0]
        with urllib.request.urlopen(f"{url}/ping", timeout=10) as response:
            assert response.status == 200
        out, err = stop(serving, stop_signal)
    assert serving.returncode == 0, err
    assert out.strip().endswith("stopped") and "Traceback" not in err
    assert port_is_free(url)


def test_a_taken_port_is_one_line(running_server, location, champion, capsys):
    port = running_server.url.rsplit(":", 1)[1]
    assert cli.main(["serve", "--schema", location.schema, "--port", port]) == 1
    assert "cannot listen on 127.0.0.1:" in capsys.readouterr().err


def ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# The tests of this file that start processes (`serve`, curl) and stop them: what a background
# job's ignored SIGINT can break. The others run inside pytest's own process.
STARTS_PROCESSES = (
    "test_serve_starts_without_importing_mlflow",
    "test_serve_runs_until_stopped",
    "test_the_readme_requests_work_as_written",
)


def test_the_background_job_runs_every_test_that_starts_a_process():
    """Every fast test of this file that starts a process, itself, through a helper or through
    a fixture of this file, is in STARTS_PROCESSES."""
    functions = [
        node
        for node in ast.parse(Path(__file__).read_text(encoding="utf-8")).body
        if isinstance(node, ast.FunctionDef)
    ]

    def called(function: ast.FunctionDef) -> set[str]:
        return {ast.unparse(c.func) for c in ast.walk(function) if isinstance(c, ast.Call)}

    starting = {"running", "subprocess.run", "subprocess.Popen"}
    helpers = {f.name for f in functions if not f.name.startswith("test_") and called(f) & starting}
    starters = {
        f.name
        for f in functions
        if f.name.startswith("test_")
        and "pytest.mark.slow" not in map(ast.unparse, f.decorator_list)
        and (called(f) & (starting | helpers) or {a.arg for a in f.args.args} & helpers)
    }
    assert starters == set(STARTS_PROCESSES)


@pytest.mark.slow
def test_server_tests_pass_as_a_background_job(tmp_path):
    """This file's tests that start processes, run as `pytest ... &` runs them (SIGINT ignored,
    inherited by every child), pass and leave no process behind."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        "not slow",
        "-k",
        " or ".join(STARTS_PROCESSES),
        f"--basetemp={tmp_path / 'run'}",
        __file__,
    ]
    with running(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(__file__)),
        preexec_fn=ignore_sigint,
    ) as run:
        out, err = run.communicate(timeout=900)
        # Every process the run started carries its mark, in whatever session it runs.
        left = processes_marked(run.mark)
    # pytest exits 0 only when it ran a test and none failed.
    assert run.returncode == 0, out[-4000:] + err[-2000:]
    assert not left, f"processes left behind by the run: {left}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((server.HOST, 0))
        return probe.getsockname()[1]


def wait_for_ping(url: str, process, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{process.args} did not answer /ping: {stop(process)[1][-2000:]}")
        time.sleep(0.2)


@pytest.fixture
def mlflow_models_serve(location, champion):
    """`mlflow models serve` of the same champion, from the same local registry."""
    pytest.importorskip("uvicorn", reason="mlflow models serve needs uvicorn (MLflow's extras)")
    import mlflow

    registry.configure_mlflow()
    url = f"http://{server.HOST}:{free_port()}"
    host, port = host_and_port(url)
    command = [sys.executable, "-m", "mlflow", "models", "serve", "--env-manager", "local"]
    command += ["-m", f"models:/{location.model}@{config.CHAMPION}", "-h", host, "-p", str(port)]
    environment = source_environment() | {
        "MLFLOW_TRACKING_URI": mlflow.get_tracking_uri(),
        # MLflow runs the `uvicorn` command: the one of this environment.
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
    }
    with running(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    ) as peer:
        wait_for_ping(url, peer, seconds=300)
        yield url
        stop(peer)


@pytest.mark.slow
def test_answers_and_statuses_equal_mlflow_models_serve(
    running_server, mlflow_models_serve, scored_rows
):
    """Shape by shape, the same status and the same predictions as MLflow's own scoring server;
    the bad bodies get the same status too."""
    rows = scored_rows[features.MODEL_FEATURES].head(50)
    for shape, encode in SHAPES.items():
        ours, theirs = (
            post(url, *encode(rows)) for url in (running_server.url, mlflow_models_serve)
        )
        assert ours[0] == theirs[0] == 200, (shape, ours, theirs)
        assert same_answers(ours[1]["predictions"], theirs[1]["predictions"]), shape
    for case, (body, content_type, status, _) in BAD_BODIES.items():
        ours, theirs = (
            post(url, body, content_type) for url in (running_server.url, mlflow_models_serve)
        )
        assert ours[0] == theirs[0] == status, (case, ours, theirs)
    for case, (body, _) in REFUSED_HERE_COERCED_BY_MLFLOW.items():
        ours, theirs = (post(url, body) for url in (running_server.url, mlflow_models_serve))
        assert (ours[0], theirs[0]) == (400, 200), (case, ours, theirs)
