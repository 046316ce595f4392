"""The champion as a REST server on this machine, speaking MLflow's scoring protocol.

`python -m {{ cookiecutter.__package_name }} serve` answers what `mlflow models serve` and a Databricks
serving endpoint answer for this model
(https://mlflow.org/docs/latest/ml/deployment/deploy-model-locally/, "Inference Server
Specification"): `GET /ping` (200 when up), and `POST /invocations` with the model's input
columns (`features.MODEL_FEATURES`) in any shape MLflow's scoring server takes:

- `application/json` with exactly one of `dataframe_split` (`columns` and `data`),
  `dataframe_records` (a list of row objects), `instances` or `inputs` (a list of row objects,
  an object of columns, or one row as an object of values), plus `params` where the model's
  signature declares them (otherwise they are ignored, as MLflow ignores them);
- `text/csv` (a header line, then one line per row) and `application/vnd.apache.parquet`.

The answer is `{"predictions": [...]}`, one per row, equal to batch scoring's. So a client
written against this server works against the endpoint, and the other way round.

The server is the standard library's threading HTTP server, not MLflow's own: that one starts a
separate uvicorn process with FastAPI, which the project does not otherwise need; this one
starts inside the calling process, which `lifecycle` and the tests rely on. It reads the local
champion as MLflow would (the scikit-learn flavour, or `classifier_model.py`) without importing
MLflow (`_skops_champion`), and loads anything else through `mlflow.pyfunc.load_model`, as
batch scoring does. Requests
that arrive together are predicted in one call of the model (`_Batches`); JSON is read and
written by orjson. It listens on 127.0.0.1 only: it is for trying
the model and integration tests, not for production traffic.

A bad request gets a 4xx status and a one-line `{"error_code": ..., "message": ...}` body (the
shape MLflow's server uses), never a traceback; bodies above `MAX_BODY_BYTES` are refused before
they are read. The input checks are stricter than MLflow's on purpose: where MLflow turns
`"2.5"`, `true`, `null` or `2.5` (in a whole-number column) into some number and predicts, this
server answers 400 naming the column, the row and the value (and `NaN`, which is not JSON, as
invalid JSON). A value outside its feature's rule
(`inputs.feature_rules`: contract.py, features.py) is refused the same way: batch scoring drops
and counts such a row, so it gets no answer here either. A Databricks endpoint checks only what
the model signature carries (the columns and their types), not these ranges.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from .. import config, features
from . import inputs, outputs, registry
from .location import Location
from .signals import sigterm_as_interrupt

# How `train.log_model` logs a classifier: this code, with its pipeline as this artifact.
CLASSIFIER_CODE = Path(__file__).with_name("classifier_model.py")
CLASSIFIER_PIPELINE = "pipeline"

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
# About 30,000 rows of dataframe_split: plenty for interactive use, small enough that a runaway
# client cannot exhaust memory.
MAX_BODY_BYTES = 5 * 1024 * 1024
JSON = "application/json"
CSV = "text/csv"
PARQUET = "application/vnd.apache.parquet"
CONTENT_TYPES = (JSON, CSV, PARQUET)
INPUT_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
# Connections the kernel keeps waiting while the server is busy. The standard library's default
# is 5: 32 clients connecting at once overflowed it, and the kernel dropped or reset the rest.
# (Linux caps it at net.core.somaxconn, 4096 by default.)
LISTEN_BACKLOG = 1024
_PANDAS_TYPES = {"long": "int64", "double": "float64"}
# Exact types, compared with `type(value)`: bool is an int to Python, but `true` is not a number
# the client meant to send.
_NUMBER_TYPES = {int, float}
_INT64_MAX = np.iinfo(np.int64).max
_ASCII_DIGITS = re.compile(r"[0-9]+")
_WHOLE_NUMBER = re.compile(r"[-+]?[0-9]+")


class BadRequest(ValueError):
    """A request the server refuses, with the HTTP status and the one-line reason."""

    def __init__(self, message: str, status: HTTPStatus = HTTPStatus.BAD_REQUEST):
        super().__init__(message)
        self.status = status


class _Absent:
    """A row without a value for a column (a key missing from one row object)."""

    def __repr__(self) -> str:
        return "missing"


_ABSENT = _Absent()


@dataclass
class ScoringRequest:
    """A request's rows (the model's input columns in their types) and its `params`."""

    rows: pd.DataFrame
    params: Any = None


def _require_rows(count: int) -> None:
    if count == 0:
        raise BadRequest("no rows to score")


def _media_type(content_type: str) -> str:
    """The media type of a Content-Type header, refused (415) as MLflow refuses it: another
    type than JSON, CSV or Parquet, a charset other than UTF-8, or any other parameter."""
    media_type, *parameters = (part.strip() for part in content_type.split(";"))
    options = dict(part.partition("=")[::2] for part in parameters if part)
    charset = options.pop("charset", "utf-8").strip('"').lower()
    if charset != "utf-8":
        raise BadRequest(
            f"charset {charset} is not supported: send UTF-8", HTTPStatus.UNSUPPORTED_MEDIA_TYPE
        )
    if options:
        raise BadRequest(
            f"Content-Type parameters {', '.join(options)} are not supported",
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        )
    if media_type.lower() not in CONTENT_TYPES:
        raise BadRequest(
            f"Content-Type {media_type} is not supported: send {', '.join(CONTENT_TYPES)}",
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        )
    return media_type.lower()


def _column_of_rows(rows: list, key) -> list:
    """One column of a list of rows (objects, or lists with `key` a position)."""
    try:
        return list(map(itemgetter(key), rows))  # the loop runs in C: large requests are cheap
    except KeyError:
        return [row.get(key, _ABSENT) for row in rows]


def _records_columns(records: object, shape: str) -> dict[str, Sequence]:
    """Rows as objects (`dataframe_records`, or a list under `instances` or `inputs`)."""
    if not isinstance(records, list) or not set(map(type, records)) <= {dict}:
        raise BadRequest(f"{shape} must be a list of objects, one per row, with column names")
    _require_rows(len(records))
    given = set().union(*records)
    return {
        name: _column_of_rows(records, name) for name in features.MODEL_FEATURES if name in given
    }


def _split_columns(split: object) -> dict[str, Sequence]:
    """`dataframe_split`: {"columns": [...], "data": [[...], ...]} (an "index" is ignored)."""
    if not isinstance(split, dict) or not isinstance(split.get("columns"), list):
        raise BadRequest('dataframe_split must be an object with "columns" and "data"')
    columns, rows = split["columns"], split.get("data")
    if not isinstance(rows, list) or not set(map(type, rows)) <= {list}:
        raise BadRequest('dataframe_split "data" must be a list of rows (lists)')
    if not set(map(len, rows)) <= {len(columns)}:
        raise BadRequest('every dataframe_split row must have one value per entry of "columns"')
    _require_rows(len(rows))
    position = {name: index for index, name in enumerate(columns) if isinstance(name, str)}
    by_position = list(zip(*rows, strict=True))  # the rows turned into columns in one C pass
    return {
        name: by_position[position[name]] for name in features.MODEL_FEATURES if name in position
    }


def _object_columns(data: dict, shape: str) -> dict[str, Sequence]:
    """`instances` or `inputs` as an object: columns of values, or one row of values."""
    values = list(data.values())
    if all(isinstance(value, list) for value in values):
        columns = data
    elif not any(isinstance(value, list | dict) for value in values):
        columns = {name: [value] for name, value in data.items()}
    else:
        raise BadRequest(
            f"{shape} as an object must map every column to a list of values (or every column "
            "to one value, for one row)"
        )
    lengths = {len(columns[name]) for name in features.MODEL_FEATURES if name in columns}
    if len(lengths) > 1:
        raise BadRequest(f"every column of {shape} must have the same number of values")
    _require_rows(max(lengths, default=1))
    return columns


def _json_columns(payload: object) -> dict[str, Sequence]:
    """The columns of a JSON body in any of MLflow's four shapes."""
    formats = ", ".join(INPUT_FORMATS)
    if not isinstance(payload, dict):
        raise BadRequest(f"the body must be a JSON object with one of {formats}")
    given = [key for key in INPUT_FORMATS if key in payload]
    if len(given) != 1:
        raise BadRequest(f"the body must hold exactly one of {formats}")
    shape, data = given[0], payload[given[0]]
    if shape == "dataframe_split":
        return _split_columns(data)
    if shape in ("instances", "inputs") and isinstance(data, dict):
        return _object_columns(data, shape)
    return _records_columns(data, shape)


def _table_columns(frame: pd.DataFrame) -> dict[str, Sequence]:
    _require_rows(len(frame))
    return {name: frame[name].to_numpy() for name in features.MODEL_FEATURES if name in frame}


def _csv_columns(body: bytes) -> dict[str, Sequence]:
    try:
        frame = pd.read_csv(io.BytesIO(body), encoding="utf-8")
    except (ValueError, pd.errors.ParserError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise BadRequest(f"the body is not CSV with a header line: {message}") from None
    for name in features.MODEL_FEATURES:
        # pandas before 2.2 keeps a whole number beyond 64 bits as text; later ones as a number.
        if name in frame and frame[name].dtype == object and _beyond_64_bits(frame[name]):
            raise _too_large(name)
    return _table_columns(frame)


def _beyond_64_bits(texts: pd.Series) -> bool:
    return any(
        isinstance(text, str) and _WHOLE_NUMBER.fullmatch(text) and abs(int(text)) > _INT64_MAX
        for text in texts
    )


def _parquet_columns(body: bytes) -> dict[str, Sequence]:
    try:
        frame = pd.read_parquet(io.BytesIO(body))
    except (ValueError, OSError) as error:  # pyarrow's ArrowInvalid is a ValueError
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise BadRequest(f"the body is not a Parquet file: {message}") from None
    return _table_columns(frame)


def _too_large(name: str) -> BadRequest:
    return BadRequest(f"column {name}: a value is too large for a 64-bit number")


def _column(name: str, values: Sequence) -> np.ndarray:
    """One input column in the model's type, or a BadRequest naming the first bad value."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        numbers = values  # CSV and Parquet: pandas read the numbers already
    else:
        values = values.tolist() if isinstance(values, np.ndarray) else values
        if not set(map(type, values)) <= _NUMBER_TYPES:  # one pass in C over the values
            row = next(i for i, value in enumerate(values) if type(value) not in _NUMBER_TYPES)
            raise BadRequest(f"column {name}: row {row} is {values[row]!r}, expected a number")
        # int64 when every value is a whole number as sent, float64 otherwise.
        numbers = np.array(values)
        if numbers.dtype == object:  # whole numbers beyond 64 bits
            raise _too_large(name)
    kind = features.COLUMN_TYPES[name]
    if numbers.dtype.kind == "u" and numbers.size and numbers.max() > _INT64_MAX:
        raise _too_large(name)
    if numbers.dtype.kind == "f":
        finite = np.isfinite(numbers)
        if not finite.all():
            row = int(np.flatnonzero(~finite)[0])
            raise BadRequest(f"column {name}: row {row} is not a finite number")
        if kind == "long":
            whole = numbers == np.floor(numbers)
            if not whole.all():
                row = int(np.flatnonzero(~whole)[0])
                sent = numbers[row].item()
                raise BadRequest(f"column {name}: row {row} is {sent!r}, expected a whole number")
            if np.abs(numbers).max() >= 2.0**63:  # would wrap around in int64
                raise _too_large(name)
    return numbers.astype(_PANDAS_TYPES[kind], copy=False)


@functools.cache
def _bounded_features() -> list[tuple[str, float, float, str]]:
    """(feature, low, high, what is allowed) for each feature whose rule has a range."""
    bounded = []
    for name, rule in inputs.feature_rules().items():
        if rule.low is not None or rule.high is not None:
            low = -np.inf if rule.low is None else float(rule.low)
            high = np.inf if rule.high is None else float(rule.high)
            bounded.append((name, low, high, rule.describe()))
    return bounded


def _check_rules(columns: dict[str, np.ndarray]) -> None:
    """A BadRequest naming the first value outside its feature's rule: batch scoring drops
    such a row, so no answer here either (one set of rules at every door)."""
    for name, low, high, allowed in _bounded_features():
        values = columns[name]
        outside = (values < low) | (values > high)
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            raise BadRequest(
                f"column {name}: row {row} is {values[row].item()!r}, expected a value "
                f"{allowed} (the project's input rules: contract.py, features.py)"
            )


def _rows(columns: dict[str, Sequence]) -> pd.DataFrame:
    """The model's input columns, checked and typed, in the model's order, each value within
    its feature's rule; extra columns are ignored, as by the model signature."""
    missing = [name for name in features.MODEL_FEATURES if name not in columns]
    if missing:
        raise BadRequest(f"missing columns: {', '.join(missing)}")
    typed = {name: _column(name, columns[name]) for name in features.MODEL_FEATURES}
    _check_rules(typed)
    # The arrays are this request's own: the frame need not copy them.
    return pd.DataFrame(typed, copy=False)


def read_request(body: bytes, content_type: str = JSON) -> ScoringRequest:
    """A request body and its Content-Type -> the rows to score and the `params`, or a
    BadRequest with the reason."""
    media_type = _media_type(content_type)
    if not body.strip():
        raise BadRequest("the body is empty: send rows as dataframe_split, dataframe_records, ...")
    if media_type == CSV:
        return ScoringRequest(_rows(_csv_columns(body)))
    if media_type == PARQUET:
        return ScoringRequest(_rows(_parquet_columns(body)))
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as error:  # invalid UTF-8 too
        raise BadRequest(f"the body is not valid JSON: {error}") from None
    return ScoringRequest(_rows(_json_columns(payload)), payload.get("params"))


def parse_request(body: bytes, content_type: str = JSON) -> pd.DataFrame:
    """A request body -> the model's input columns in their types, or a BadRequest."""
    return read_request(body, content_type).rows


def response_body(predictions: Any, classes: list[int] | None = None) -> bytes:
    """The answer to a scored request, as MLflow's server writes it: `{"predictions": [...]}`,
    one entry per row; a model that returns a table gives each row as an object.

    A classifier's entry is `{"prediction": <class>, "probabilities": {<class>: ...}}`, what
    its logged model (`classifier_model.py`) returns and so what MLflow's server and a
    Databricks endpoint answer."""
    if classes:
        values = outputs.records(predictions, classes)
    elif isinstance(predictions, pd.DataFrame):
        values = predictions.to_dict(orient="records")
    else:
        values = np.asarray(predictions).tolist()
    return _json({"predictions": values})


# Column names that are not text (a pyfunc's table) as text, numpy's numbers as numbers.
_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _json(payload: Any) -> bytes:
    """`payload` as JSON, by orjson: parsing and writing JSON is most of what the server adds
    to the model's own time, and orjson does both about five times faster than the standard
    library (a 1,000-row request: 1.3 ms -> 0.2 ms; its answer 0.6 ms -> 0.03 ms). Numbers
    are written as short as Python writes them (the same values); NaN as null, valid JSON."""
    return orjson.dumps(payload, option=_JSON_OPTIONS)


def _takes_our_rows_as_they_are(model: Any) -> bool:
    """Whether a pyfunc's signature names exactly our input columns, in their types, and no
    params: then the rows `read_request` checked and typed are what MLflow's schema
    enforcement would hand the model, and checking them again costs time for nothing."""
    signature = model.metadata.signature
    if signature is None or signature.params is not None:
        return False
    return _declares_our_inputs(signature.inputs.to_dict())


class _Request:
    """The rows of one request waiting in `_Batches`, and then its answer or error."""

    def __init__(self, rows: pd.DataFrame):
        self.rows = rows
        self.done = False
        self.answer: Any = None
        self.error: BaseException | None = None

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.answer


def _split(answer: Any, lengths: list[int]) -> list | None:
    """A model's answer for rows put together -> the answer for each part, None when it is not
    one entry per row (then each part is predicted alone)."""
    if not isinstance(answer, np.ndarray | pd.Series | pd.DataFrame | list):
        return None
    if len(answer) != sum(lengths):
        return None
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends[:-1]]
    if isinstance(answer, pd.Series | pd.DataFrame):
        return [answer.iloc[a:b].reset_index(drop=True) for a, b in zip(starts, ends, strict=True)]
    return [answer[a:b] for a, b in zip(starts, ends, strict=True)]


class _Batches:
    """Requests that arrive together, predicted in one call of the model.

    Each request has a thread of its own (the standard library's threading server). Called
    from all of them at once, the model's predict runs in many threads taking turns on the GIL,
    and every request waits for all the others: 32 clients on 2 cores saw a p99 of 0.8 s. Here
    a request joins a queue; whichever thread gets the model's turn takes every request queued
    by then and calls the model once on all their rows (a scikit-learn pipeline takes about as
    long for 30 rows as for one), then hands each request its own part. A request that finds
    nobody predicting is predicted at once, alone. Rows are scored each on its own, as the
    chunks of batch scoring already assume; when the call for a batch fails, each request of
    it is predicted alone, so only the one whose rows fail gets the error.
    """

    def __init__(self, predict: Callable[[pd.DataFrame], Any]):
        self._predict = predict
        self._turn = threading.Lock()  # one call of the model at a time
        self._queue_lock = threading.Lock()
        self._queue: list[_Request] = []

    @property
    def waiting(self) -> int:
        """Requests queued for the next call of the model."""
        with self._queue_lock:
            return len(self._queue)

    def __call__(self, rows: pd.DataFrame) -> Any:
        request = _Request(rows)
        with self._queue_lock:
            self._queue.append(request)
        with self._turn:
            if not request.done:  # else the thread before took it along
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._answer(batch)
        return request.outcome()

    def _answer(self, batch: list[_Request]) -> None:
        parts = None
        if len(batch) > 1:
            try:
                together = self._predict(pd.concat([r.rows for r in batch], ignore_index=True))
                parts = _split(together, [len(r.rows) for r in batch])
            except Exception:  # each request alone then finds whose rows fail
                parts = None
        for index, request in enumerate(batch):
            try:
                request.answer = self._predict(request.rows) if parts is None else parts[index]
            except Exception as error:  # raised again in the request's own thread
                request.error = error
            request.done = True


@dataclass
class ServedModel:
    """A loaded champion: what it answers for checked, typed rows, and its classes.

    `pyfunc` is MLflow's model when MLflow loaded it (else None); it checks a request's `params`
    where the signature declares them.
    """

    model_name: str
    version: str
    answer: Callable[[pd.DataFrame], Any]
    classes: list[int] | None = None  # a classifier's, in the order of its probabilities
    pyfunc: Any = None
    _batches: _Batches = field(init=False, repr=False)
    _warned_about_params: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self._batches = _Batches(self.answer)

    @classmethod
    def of_pyfunc(cls, model_name: str, version: str, model: Any) -> ServedModel:
        """A model MLflow loaded: its underlying model's predict when the signature matches
        (see `_takes_our_rows_as_they_are`), which gives the same values without MLflow
        checking the rows a second time; else the pyfunc's predict (a classifier's class and
        probabilities, `classifier_model.py`)."""
        classes = outputs.classes_of(model)
        answer = model.predict
        if not classes and _takes_our_rows_as_they_are(model):
            try:
                answer = model.get_raw_model().predict
            except NotImplementedError:  # a flavour without a raw model
                pass
        return cls(model_name, version, answer, classes, pyfunc=model)

    def predictions(self, rows: pd.DataFrame, params: Any = None) -> Any:
        """What the model returns for `rows`, called once for the requests that arrive
        together (`_Batches`)."""
        if params is not None and self._declares_params():
            return self.pyfunc.predict(rows, params=params)  # MLflow checks them against it
        if params is not None and not self._warned_about_params:
            # As MLflow's server does, once: a client may send them to every request.
            log.warning("this model declares no params: ignoring the request's params")
            self._warned_about_params = True
        return self._batches(rows)

    def _declares_params(self) -> bool:
        return self.pyfunc is not None and self.pyfunc.metadata.get_params_schema() is not None

    def predict(self, rows: pd.DataFrame) -> list:
        """JSON-ready answers: numbers, or a classifier's {prediction, probabilities}."""
        return outputs.records(self.predictions(rows), self.classes)


def load_champion(location: Location) -> ServedModel:
    """The champion of `location.model`, loaded as batch scoring loads it: without MLflow
    where `_skops_champion` can, else through MLflow."""
    served = _skops_champion(location)
    if served is not None:
        return served
    registry.quiet_mlflow()
    version = registry.require_alias(
        location.model, config.CHAMPION, ": train, validate and deploy (or promote) a version first"
    )
    model = registry.load_model(location.model_uri(version))
    return ServedModel.of_pyfunc(location.model, version, model)


def _skops_champion(location: Location) -> ServedModel | None:
    """The local champion read as MLflow reads it, without importing MLflow: its imports and
    its store's take about half of `serve`'s start. A regressor as the scikit-learn flavour
    reads it, a classifier as `classifier_model.py` does: `skops.io.load` of the pipeline's
    file with the types the version trusts; the pipeline's `predict` or `predict_proba` then
    answers, and `outputs.records` turns probabilities into class and probabilities exactly as
    that file does.

    Only for what the project logs (a signature that is exactly our input columns, without
    params; no other code than `classifier_model.py` as it is here); None for anything else,
    and when skops fails or refuses, or MLFLOW_ALLOW_PICKLE_DESERIALIZATION is set (MLflow
    decides then): MLflow loads it, and reports the error as every other command does.
    """
    if "MLFLOW_ALLOW_PICKLE_DESERIALIZATION" in os.environ:
        return None
    found = registry.local_alias_folder(location.model, config.CHAMPION)
    if found is None:
        return None
    version, folder = found
    try:
        mlmodel = _read_yaml(folder / "MLmodel")
        signature = mlmodel.get("signature") or {}
        if signature.get("params") is not None or not _declares_our_inputs(
            json.loads(signature.get("inputs") or "null")
        ):
            return None
        classes = outputs.classes_in_metadata(mlmodel.get("metadata"))
        flavors = mlmodel["flavors"]
        saved = (
            _classifier_pipeline(flavors, folder, classes)
            if classes
            else _regressor_pipeline(flavors, folder)
        )
        if saved is None:
            return None
        import skops.io

        pipeline_file, trusted = saved
        pipeline = skops.io.load(pipeline_file, trusted=trusted)
        answer = pipeline.predict_proba if classes else pipeline.predict
    except Exception:  # whatever it is, MLflow's load reports it as every command does
        return None
    return ServedModel(location.model, version, answer, classes)


def _regressor_pipeline(flavors: dict, folder: Path) -> tuple | None:
    """The skops file and trusted types of a version MLflow's scikit-learn flavour logged to
    answer `predict`, as `train.log_model` logs a regressor; None for anything else."""
    pyfunc, flavour = flavors["python_function"], flavors["sklearn"]
    ours = (
        pyfunc.get("loader_module") == "mlflow.sklearn"
        and flavour.get("serialization_format") == "skops"
        and pyfunc.get("model_path") == flavour.get("pickled_model")
        and not pyfunc.get("code")
        and not flavour.get("code")
        and (pyfunc.get("predict_fn") or "predict") == "predict"
    )
    return (folder / flavour["pickled_model"], flavour.get("skops_trusted_types")) if ours else None


def _classifier_pipeline(flavors: dict, folder: Path, classes: list[int]) -> tuple | None:
    """The skops file and trusted types of a version logged as this project's
    `classifier_model.py` (the same file, byte for byte), with the classes of its metadata;
    None for anything else."""
    pyfunc = flavors["python_function"]
    code = folder / Path(pyfunc["model_code_path"]).name
    artifacts = pyfunc.get("artifacts") or {}
    model_config = pyfunc.get("config") or {}
    ours = (
        list(flavors) == ["python_function"]
        and pyfunc.get("loader_module") == "mlflow.pyfunc.loaders.code_model"
        and not pyfunc.get("code")
        and list(artifacts) == [CLASSIFIER_PIPELINE]
        and [int(value) for value in model_config.get("classes", [])] == classes
        and code.read_bytes() == CLASSIFIER_CODE.read_bytes()
    )
    if not ours:
        return None
    return folder / artifacts[CLASSIFIER_PIPELINE]["path"], model_config.get("trusted_types")


def _read_yaml(path) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)


def _declares_our_inputs(inputs: Any) -> bool:
    """Whether a signature's inputs (MLmodel's JSON) are exactly our columns in their types."""
    declared = [(name, features.COLUMN_TYPES[name]) for name in features.MODEL_FEATURES]
    if not isinstance(inputs, list) or not all(isinstance(spec, dict) for spec in inputs):
        return False
    given = [(spec.get("name"), spec.get("type")) for spec in inputs]
    return given == declared and all(spec.get("required", True) for spec in inputs)


class _Handler(BaseHTTPRequestHandler):
    served: ServedModel  # set on the subclass made per server
    protocol_version = "HTTP/1.1"  # keep-alive: a client reuses its connection
    # One write per reply, sent at once: headers and body in separate small writes meet the
    # client's delayed ACK (Nagle's algorithm), which adds about 40 ms to every request.
    wbufsize = -1
    disable_nagle_algorithm = True

    @property
    def _path(self) -> str:
        """The request's path without its query string (`/ping?probe=1` is `/ping`)."""
        return self.path.split("?", 1)[0]

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self._path in ("/ping", "/health"):
            self._reply(HTTPStatus.OK, b"\n", "text/plain")
        elif self._path == "/version":
            self._reply_json(
                HTTPStatus.OK, {"model": self.served.model_name, "version": self.served.version}
            )
        else:
            self._error(
                HTTPStatus.NOT_FOUND, f"no such path {self.path}: use /ping or /invocations"
            )

    def do_POST(self) -> None:  # noqa: N802
        if self._path != "/invocations":
            self.close_connection = True  # its body is not read
            self._error(HTTPStatus.NOT_FOUND, f"no such path {self.path}: POST to /invocations")
            return
        body = None
        try:
            content_type = self.headers.get("Content-Type", JSON)
            _media_type(content_type)  # before reading: a refused type's body is not read
            body = self._body()
            request = read_request(body, content_type)
        except BadRequest as error:
            # A body left unread goes with the connection, rather than being read as the next
            # request; after a body that was read the client may go on on this connection.
            self.close_connection = self.close_connection or body is None
            self._error(error.status, str(error))
            return
        try:
            body = response_body(
                self.served.predictions(request.rows, request.params), self.served.classes
            )
        except Exception as error:  # the model failed: say so in one line, keep serving
            log.exception("prediction failed")
            self._error(
                HTTPStatus.INTERNAL_SERVER_ERROR, f"prediction failed: {error}".splitlines()[0]
            )
            return
        self._reply(HTTPStatus.OK, body, JSON)

    def _body(self) -> bytes:
        # A body is framed by one Content-Length of ASCII digits (RFC 9112, section 6). Chunked
        # bodies, and lengths that disagree, are refused with the connection: read any other
        # way, the rest of the body would be taken for the next request.
        if self.headers.get("Transfer-Encoding") is not None:
            raise BadRequest(
                "Transfer-Encoding is not supported: send the body with a Content-Length",
                HTTPStatus.NOT_IMPLEMENTED,
            )
        lengths = set(self.headers.get_all("Content-Length") or [])
        if len(lengths) > 1:
            raise BadRequest("the request has Content-Length headers that disagree")
        length = lengths.pop().strip() if lengths else None
        if length is None or not _ASCII_DIGITS.fullmatch(length):
            raise BadRequest(
                "the request needs a Content-Length header", HTTPStatus.LENGTH_REQUIRED
            )
        if int(length) > MAX_BODY_BYTES:
            raise BadRequest(
                f"the body is {int(length):,} bytes, more than the limit of {MAX_BODY_BYTES:,}: "
                "send fewer rows per request",
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            )
        body = self.rfile.read(int(length))
        if len(body) < int(length):  # the client stopped sending: an incomplete message
            self.close_connection = True
            raise BadRequest(
                f"the body ended after {len(body):,} of the {int(length):,} bytes its "
                "Content-Length announced"
            )
        return body

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What http.server answers on its own (a malformed request line or header, a method
        other than GET and POST, a line too long) in the same one-line JSON as every other
        error, instead of its HTML page; the connection closes, as the standard library's does."""
        status = HTTPStatus(code)
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # an unreadable request line: answer in 1.1
            self.request_version = self.protocol_version
        self._error(status, (message or status.phrase).splitlines()[0])

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._reply_json(
            status, {"error_code": status.phrase.upper().replace(" ", "_"), "message": message}
        )

    def _reply_json(self, status: HTTPStatus, payload: dict) -> None:
        self._reply(status, _json(payload), JSON)

    def _reply(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's signature)
        if log.isEnabledFor(logging.DEBUG):  # formatted only when shown: it runs per request
            log.debug("%s %s", self.address_string(), format % args)


class _HTTPServer(ThreadingHTTPServer):
    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True  # an idle kept-alive connection does not hold up the stop

    def handle_error(self, request, client_address) -> None:
        """A connection that broke (the client went away mid-request): one debug line, not
        socketserver's traceback on stderr; the server goes on."""
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class ScoringServer:
    """A server for one loaded model on 127.0.0.1; `with ScoringServer(...) as server:` runs it
    in a background thread and stops it on the way out."""

    def __init__(self, served: ServedModel, port: int = 0):
        handler = type("Handler", (_Handler,), {"served": served})
        try:
            self._http = _HTTPServer((HOST, port), handler)
        except OSError as error:
            from .errors import MlopsError

            raise MlopsError(f"cannot listen on {HOST}:{port}: {error.strerror}") from None
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
    """`serve`: load the champion, print where it listens, answer requests until Ctrl-C or
    SIGTERM, then close the port and print "stopped"."""
    with sigterm_as_interrupt():
        server = ScoringServer(load_champion(location), port)
        say(
            f"serving {location.model} version {server.served.version} at {server.url} "
            "(POST /invocations, GET /ping); Ctrl-C stops"
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass  # the usual way to end a server, not an error
        finally:
            server.stop()
    say("stopped")


def invoke(url: str, rows: pd.DataFrame, timeout: float = 30.0) -> list:
    """POST `rows` to a scoring server (this one or a Databricks endpoint's URL) as
    dataframe_split; returns the predictions (numbers, or a classifier's {prediction,
    probabilities} objects). Used by `lifecycle`, the tests and the benchmark."""
    import urllib.request

    body = json.dumps({"dataframe_split": rows.to_dict(orient="split", index=False)}).encode()
    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": JSON}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())["predictions"]
