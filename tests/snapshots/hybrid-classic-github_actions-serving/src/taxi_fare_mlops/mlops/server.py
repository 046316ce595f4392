"""The champion as a REST server on this machine, speaking MLflow's scoring protocol.

`python -m taxi_fare_mlops serve` answers what a Databricks serving endpoint answers for this model:
`GET /ping` (200 when up), and `POST /invocations` with a JSON body holding the model's input
columns (`features.MODEL_FEATURES`) as `dataframe_records` (a list of row objects) or
`dataframe_split` (`columns` and `data`), answered with `{"predictions": [...]}`
(https://mlflow.org/docs/latest/ml/deployment/deploy-model-locally/, "Inference Server
Specification"). The same JSON works against the endpoint, so a client written against this
server works there.

The server is the standard library's `ThreadingHTTPServer`, not MLflow's own scoring server:
that one starts a separate uvicorn process (seconds) with FastAPI, which the project does not
otherwise need; this one starts in milliseconds inside the calling process, which `lifecycle`
and the tests rely on, and loads the model exactly as batch scoring does
(`mlflow.pyfunc.load_model`), so both give the same predictions. It listens on 127.0.0.1 only:
it is for trying the model and integration tests, not for production traffic.

A bad request gets a 4xx status and a one-line `{"error_code": ..., "message": ...}` body (the
shape MLflow's server uses), never a traceback; bodies above `MAX_BODY_BYTES` are refused before
they are read.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pandas as pd

from .. import config, features
from . import registry
from .location import Location

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
# About 30,000 rows of dataframe_split: plenty for interactive use, small enough that a runaway
# client cannot exhaust memory.
MAX_BODY_BYTES = 5 * 1024 * 1024
INPUT_FORMATS = ("dataframe_records", "dataframe_split")
_PANDAS_TYPES = {"long": "int64", "double": "float64"}


class BadRequest(ValueError):
    """A request the server refuses, with the HTTP status and the one-line reason."""

    def __init__(self, message: str, status: HTTPStatus = HTTPStatus.BAD_REQUEST):
        super().__init__(message)
        self.status = status


def _frame(payload: object) -> pd.DataFrame:
    if not isinstance(payload, dict):
        raise BadRequest(f"the body must be a JSON object with one of {', '.join(INPUT_FORMATS)}")
    given = [key for key in INPUT_FORMATS if key in payload]
    if len(given) != 1:
        raise BadRequest(f"the body must hold exactly one of {', '.join(INPUT_FORMATS)}")
    data = payload[given[0]]
    if given[0] == "dataframe_records":
        if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
            raise BadRequest("dataframe_records must be a list of objects, one per row")
        return pd.DataFrame.from_records(data)
    if not isinstance(data, dict) or not isinstance(data.get("columns"), list):
        raise BadRequest('dataframe_split must be an object with "columns" and "data"')
    rows = data.get("data")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise BadRequest('dataframe_split "data" must be a list of rows (lists)')
    if any(len(row) != len(data["columns"]) for row in rows):
        raise BadRequest('every dataframe_split row must have one value per entry of "columns"')
    return pd.DataFrame(rows, columns=data["columns"])


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """One input column in the model's type, or a BadRequest naming the first bad value."""
    kind = features.COLUMN_TYPES[name]
    values = frame[name]
    if values.dtype.kind not in "iuf":
        # Mixed or non-numeric values (strings, nulls, booleans: numbers to pandas, a client's
        # mistake to the model): find the first that is not a number. An all-numeric column
        # skips this per-value loop, which would otherwise dominate large requests.
        is_number = values.map(
            lambda v: isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_)
        )
        if not is_number.all():
            row = int(np.flatnonzero(~is_number.to_numpy())[0])
            raise BadRequest(
                f"column {name}: row {row} is {values.tolist()[row]!r}, expected a number"
            )
    numbers = values.astype("float64")
    if not np.isfinite(numbers).all():
        row = int(np.flatnonzero(~np.isfinite(numbers.to_numpy()))[0])
        raise BadRequest(f"column {name}: row {row} is not a finite number")
    if kind == "long" and not (numbers == np.round(numbers)).all():
        row = int(np.flatnonzero((numbers != np.round(numbers)).to_numpy())[0])
        sent = values.tolist()[row]  # the Python value, as the client wrote it
        raise BadRequest(f"column {name}: row {row} is {sent!r}, expected a whole number")
    return numbers.astype(_PANDAS_TYPES[kind])


def parse_request(body: bytes) -> pd.DataFrame:
    """A request body -> the model's input columns in their types (extra columns are ignored,
    as by the model signature), or a BadRequest with the reason."""
    if not body.strip():
        raise BadRequest("the body is empty: send JSON with dataframe_records or dataframe_split")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(f"the body is not valid JSON: {error}") from None
    frame = _frame(payload)
    if frame.empty:
        raise BadRequest("no rows to score")
    missing = [name for name in features.MODEL_FEATURES if name not in frame.columns]
    if missing:
        raise BadRequest(f"missing columns: {', '.join(missing)}")
    return pd.DataFrame({name: _column(frame, name) for name in features.MODEL_FEATURES})


@dataclass
class ServedModel:
    model_name: str
    version: str
    model: Any  # an mlflow.pyfunc.PyFuncModel

    def predict(self, rows: pd.DataFrame) -> list[float]:
        return [float(value) for value in self.model.predict(rows)]


def load_champion(location: Location) -> ServedModel:
    """The champion of `location.model`, loaded as batch scoring loads it."""
    version = registry.require_alias(
        location.model, config.CHAMPION, ": train, validate and deploy (or promote) a version first"
    )
    return ServedModel(location.model, version, registry.load_model(location.model_uri(version)))


class _Handler(BaseHTTPRequestHandler):
    served: ServedModel  # set on the subclass made per server
    protocol_version = "HTTP/1.1"  # keep-alive: a client reuses its connection
    # One write per reply, sent at once: headers and body in separate small writes meet the
    # client's delayed ACK (Nagle's algorithm), which adds about 40 ms to every request.
    wbufsize = -1
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path in ("/ping", "/health"):
            self._reply(HTTPStatus.OK, b"\n", "text/plain")
        elif self.path == "/version":
            self._reply_json(
                HTTPStatus.OK, {"model": self.served.model_name, "version": self.served.version}
            )
        else:
            self._error(
                HTTPStatus.NOT_FOUND, f"no such path {self.path}: use /ping or /invocations"
            )

    def do_POST(self) -> None:  # noqa: N802
        if self.path != "/invocations":
            self._error(HTTPStatus.NOT_FOUND, f"no such path {self.path}: POST to /invocations")
            return
        try:
            body = self._body()
            rows = parse_request(body)
        except BadRequest as error:
            self._error(error.status, str(error))
            return
        try:
            predictions = self.served.predict(rows)
        except Exception as error:  # the model failed: say so in one line, keep serving
            log.exception("prediction failed")
            self._error(
                HTTPStatus.INTERNAL_SERVER_ERROR, f"prediction failed: {error}".splitlines()[0]
            )
            return
        self._reply_json(HTTPStatus.OK, {"predictions": predictions})

    def _body(self) -> bytes:
        content_type = self.headers.get("Content-Type", "application/json").split(";")[0].strip()
        if content_type != "application/json":
            raise BadRequest(
                f"Content-Type {content_type} is not supported: send application/json",
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            )
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise BadRequest(
                "the request needs a Content-Length header", HTTPStatus.LENGTH_REQUIRED
            )
        if int(length) > MAX_BODY_BYTES:
            # Not read: the connection closes after the reply, so the unread body goes with it.
            self.close_connection = True
            raise BadRequest(
                f"the body is {int(length):,} bytes, more than the limit of {MAX_BODY_BYTES:,}: "
                "send fewer rows per request",
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            )
        return self.rfile.read(int(length))

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._reply_json(
            status, {"error_code": status.phrase.upper().replace(" ", "_"), "message": message}
        )

    def _reply_json(self, status: HTTPStatus, payload: dict) -> None:
        self._reply(status, json.dumps(payload).encode(), "application/json")

    def _reply(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's signature)
        log.debug("%s %s", self.address_string(), format % args)


class ScoringServer:
    """A server for one loaded model on 127.0.0.1; `with ScoringServer(...) as server:` runs it
    in a background thread and stops it on the way out."""

    def __init__(self, served: ServedModel, port: int = 0):
        handler = type("Handler", (_Handler,), {"served": served})
        try:
            self._http = ThreadingHTTPServer((HOST, port), handler)
        except OSError as error:
            from .errors import MlopsError

            raise MlopsError(f"cannot listen on {HOST}:{port}: {error.strerror}") from None
        self._http.daemon_threads = True
        self.served = served
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        port = self._http.server_address[1]
        return f"http://{HOST}:{port}"

    def start(self) -> ScoringServer:
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._http.serve_forever()

    def stop(self) -> None:
        if self._thread is not None:
            self._http.shutdown()
            self._thread.join()
            self._thread = None
        self._http.server_close()

    def __enter__(self) -> ScoringServer:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


def serve_forever(*, location: Location, port: int, say: Callable[[str], None] = print) -> None:
    """`serve`: load the champion, print where it listens, answer requests until Ctrl-C."""
    server = ScoringServer(load_champion(location), port)
    say(
        f"serving {location.model} version {server.served.version} at {server.url} "
        "(POST /invocations, GET /ping); Ctrl-C stops"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        say("stopped")  # the usual way to end a server, not an error
    finally:
        server.stop()


def invoke(url: str, rows: pd.DataFrame, timeout: float = 30.0) -> list[float]:
    """POST `rows` to a scoring server (this one or a Databricks endpoint's URL) as
    dataframe_split; returns the predictions. Used by `lifecycle`, the tests and the benchmark."""
    import urllib.request

    body = json.dumps({"dataframe_split": rows.to_dict(orient="split", index=False)}).encode()
    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())["predictions"]
