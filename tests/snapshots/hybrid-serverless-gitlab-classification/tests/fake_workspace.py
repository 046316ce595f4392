"""A fake Databricks workspace on 127.0.0.1: the REST API the workspace-only code calls.

No workspace can be reached from the tests, so this is the next best thing: the real
`databricks-sdk` talks HTTP to it (`FakeWorkspace.client()`), and nothing of our own is mocked.
It answers what `mlops/endpoint.py` and `mlops/quality_monitor.py` call:

- serving endpoints (`/api/2.0/serving-endpoints`): create, get, delete, config update,
  AI Gateway, permissions (`/api/2.0/permissions/serving-endpoints/<id>`);
- Unity Catalog tables and schemas (get), for the ids a monitor names;
- data quality monitors (`/api/data-quality/v1/monitors`): create, get, refreshes (create,
  list, get);
- the Unity Catalog model registry as MLflow's `databricks-uc` client calls it
  (`/api/2.0/mlflow/unity-catalog/...`, mlflow/protos/databricks_uc_registry_service.proto):
  registered models (get, tags, aliases) and model versions (get, search, tags, by alias), for
  the alias moves of `mlops/registry.py`. Versions are added by the test (`add_model_version`):
  nothing here stores model files.

State changes as the documentation describes them, and as the Databricks CLI's own fake does
(databricks/cli v1.13.0, libs/testserver/serving_endpoints.go): a created or updated endpoint
is IN_PROGRESS (NOT_READY when new) for one read, then NOT_UPDATING and READY with the new
configuration, or UPDATE_FAILED with the previous one still serving (`fail_next_update`); a
config or AI Gateway update while another is in progress is refused with 409 RESOURCE_CONFLICT.
A refresh goes PENDING -> RUNNING -> SUCCESS, one step per read; a refresh requested while one
runs is refused with 409 (the documentation does not say which error the real API gives).

Every request body must round-trip through the SDK's dataclass for it
(`X.from_dict(body).as_dict() == body`): a misspelt or unknown key is answered 400, as a real
workspace refuses a body it cannot read. Faults are scripted with `fail(...)`: any status with
an error code, `Retry-After`, or a slow answer.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from databricks.sdk.service import dataquality, serving

RUNNING_REFRESH = ("MONITOR_REFRESH_STATE_PENDING", "MONITOR_REFRESH_STATE_RUNNING")
NEXT_REFRESH_STATE = {
    "MONITOR_REFRESH_STATE_PENDING": "MONITOR_REFRESH_STATE_RUNNING",
    "MONITOR_REFRESH_STATE_RUNNING": "MONITOR_REFRESH_STATE_SUCCESS",
}


def round_trips(dataclass_type: Any, body: dict) -> bool:
    """The body reads into the SDK's dataclass and back unchanged: no unknown or misspelt key."""
    return dataclass_type.from_dict(body).as_dict() == body


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: dict
    at: float
    status: int = 0  # of the answer


@dataclass
class Fault:
    """The next `times` requests matching `method` and the `path` regex get this answer."""

    method: str
    path: str
    status: int = 0  # 0: answer normally, after `delay`
    error_code: str = ""
    message: str = ""
    retry_after: int | None = None
    delay: float = 0.0
    times: int = 1
    after: int = 0  # matching requests answered normally before the fault starts


class ApiError(Exception):
    def __init__(self, status: int, error_code: str, message: str):
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message


@dataclass
class FakeWorkspace:
    endpoints: dict[str, dict] = field(default_factory=dict)
    # name -> the configuration an update in progress will apply ({} for an AI Gateway change)
    pending: dict[str, dict] = field(default_factory=dict)
    permissions: dict[str, list[dict]] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)  # full name -> table id
    schemas: dict[str, str] = field(default_factory=dict)  # full name -> schema id
    monitors: dict[str, dict] = field(default_factory=dict)  # object id -> monitor
    refreshes: dict[str, list[dict]] = field(default_factory=dict)  # object id -> refreshes
    # registered model name -> {"tags": {key: value}, "aliases": {alias: version}}
    models: dict[str, dict] = field(default_factory=dict)
    # (registered model name, version) -> {"tags": {key: value}, "status": ...}
    model_versions: dict[tuple[str, str], dict] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    fail_next_update: bool = False  # the next update ends UPDATE_FAILED
    settles: bool = True  # False: updates stay IN_PROGRESS

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A client that gave up on a slow answer has closed its socket: nothing to report.
        self._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- running it ------------------------------------------------------------------------

    @property
    def host(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeWorkspace:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def client(self, **settings: Any) -> WorkspaceClient:
        """A client of this workspace; `settings` go to the SDK's `Config` (timeouts ...)."""
        return WorkspaceClient(config=Config(host=self.host, token="fake-token", **settings))

    # --- scripting and reading it ----------------------------------------------------------

    def fail(self, method: str, path: str, status: int = 0, **answer: Any) -> None:
        self.faults.append(Fault(method, path, status, **answer))

    def calls(self, method: str = "", path: str = "") -> list[Request]:
        """The requests so far, oldest first; only those of `method` whose path matches `path`."""
        return [
            request
            for request in self.requests
            if request.method == (method or request.method) and re.search(path, request.path)
        ]

    def add_table(self, full_name: str) -> str:
        catalog, schema, _ = full_name.split(".")
        self.schemas.setdefault(f"{catalog}.{schema}", str(uuid.uuid4()))
        return self.tables.setdefault(full_name, str(uuid.uuid4()))

    def add_endpoint(self, name: str, *, update: str = "NOT_UPDATING", **fields: Any) -> dict:
        """An endpoint made outside this code (by hand, or by an earlier run)."""
        ready = "READY" if fields.get("config") else "NOT_READY"
        endpoint = {"name": name, "id": uuid.uuid4().hex, **fields}
        endpoint["state"] = {"config_update": update, "ready": ready}
        self.endpoints[name] = endpoint
        if update == "IN_PROGRESS":
            self.pending[name] = {}
        return endpoint

    def add_model_version(self, name: str, version: str, **tags: str) -> None:
        """A version registered earlier (by a training run), with its tags."""
        self.models.setdefault(name, {"tags": {}, "aliases": {}})
        self.model_versions[(name, str(version))] = {"tags": dict(tags), "status": "READY"}

    # --- answering -------------------------------------------------------------------------

    def answer(self, request: Request) -> tuple[int, dict, dict]:
        """(status, headers, JSON body) for one request."""
        status, headers, body = self._answer(request)
        request.status = status
        return status, headers, body

    def _answer(self, request: Request) -> tuple[int, dict, dict]:
        if request.path == "/.well-known/databricks-config":
            # The SDK's discovery probe as it configures a client: no request of the code's.
            return 200, {}, {"oidc_endpoint": f"{self.host}/oidc", "workspace_id": "1"}
        with self._lock:
            self.requests.append(request)
            fault = self._fault_for(request)
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.status:
            headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            body = {"error_code": fault.error_code, "message": fault.message or fault.error_code}
            return fault.status, headers, body
        routes = [(m, p, h, False) for m, p, h in ROUTES]
        routes += [(m, p, h, True) for m, p, h in REGISTRY_ROUTES]
        for method, pattern, handle, with_query in routes:
            found = re.fullmatch(pattern, request.path)
            if method == request.method and found:
                arguments = [request.query] if with_query else list(map(unquote, found.groups()))
                try:
                    with self._lock:
                        return 200, {}, handle(self, request.body, *arguments)
                except ApiError as error:
                    return (
                        error.status,
                        {},
                        {"error_code": error.error_code, "message": error.message},
                    )
        return 404, {}, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"no API {request.path}"}

    def _fault_for(self, request: Request) -> Fault | None:
        for fault in self.faults:
            if (
                fault.times > 0
                and fault.method == request.method
                and re.search(fault.path, request.path)
            ):
                if fault.after > 0:
                    fault.after -= 1
                    continue
                fault.times -= 1
                return fault
        return None

    # --- serving endpoints -----------------------------------------------------------------

    def _endpoint(self, name: str) -> dict:
        if name not in self.endpoints:
            raise ApiError(
                404, "RESOURCE_DOES_NOT_EXIST", f"Serving endpoint with name {name} not found"
            )
        return self.endpoints[name]

    def _refuse_while_updating(self, name: str) -> dict:
        endpoint = self._endpoint(name)
        if endpoint["state"]["config_update"] == "IN_PROGRESS":
            raise ApiError(
                409,
                "RESOURCE_CONFLICT",
                f"Endpoint {name} is currently updating. Wait for the update to complete.",
            )
        return endpoint

    def create_endpoint(self, body: dict) -> dict:
        _check(
            body,
            name=str,
            config=serving.EndpointCoreConfigInput,
            ai_gateway=serving.AiGatewayConfig,
        )
        name = body["name"]
        if name in self.endpoints:
            raise ApiError(409, "RESOURCE_ALREADY_EXISTS", f"Endpoint {name} already exists")
        endpoint = self.add_endpoint(name, update="IN_PROGRESS")
        if "ai_gateway" in body:
            endpoint["ai_gateway"] = body["ai_gateway"]
        self.pending[name] = _served_config(body.get("config", {}))
        endpoint["pending_config"] = self.pending[name]
        return endpoint

    def get_endpoint(self, body: dict, name: str) -> dict:
        endpoint = self._endpoint(name)
        answer = json.loads(json.dumps(endpoint))
        if name in self.pending and self.settles:
            self._settle(name)  # this answer still shows the update in progress
        return answer

    def _settle(self, name: str) -> None:
        endpoint, config = self.endpoints[name], self.pending.pop(name)
        endpoint.pop("pending_config", None)
        if config and self.fail_next_update:
            # Databricks keeps the previous configuration serving when an update fails.
            self.fail_next_update = False
            endpoint["state"]["config_update"] = "UPDATE_FAILED"
            return
        if config:
            endpoint["config"] = config
        endpoint["state"] = {"config_update": "NOT_UPDATING", "ready": "READY"}

    def update_config(self, body: dict, name: str) -> dict:
        _check_whole(serving.EndpointCoreConfigInput, body)
        endpoint = self._refuse_while_updating(name)
        self.pending[name] = endpoint["pending_config"] = _served_config(body)
        endpoint["state"]["config_update"] = "IN_PROGRESS"
        return endpoint

    def put_ai_gateway(self, body: dict, name: str) -> dict:
        _check_whole(serving.PutAiGatewayResponse, body)
        endpoint = self._refuse_while_updating(name)
        endpoint["ai_gateway"] = body
        # An AI Gateway change is an update of the endpoint too: another waits until it is done.
        self.pending[name] = {}
        endpoint["state"]["config_update"] = "IN_PROGRESS"
        return body

    def delete_endpoint(self, body: dict, name: str) -> dict:
        self._endpoint(name)
        del self.endpoints[name]
        self.pending.pop(name, None)
        return {}

    def update_permissions(self, body: dict, endpoint_id: str) -> dict:
        _check(body, access_control_list=serving.ServingEndpointAccessControlRequest)
        if endpoint_id not in {endpoint["id"] for endpoint in self.endpoints.values()}:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"no serving endpoint {endpoint_id}")
        self.permissions[endpoint_id] = body.get("access_control_list", [])
        return {
            "object_id": f"/serving-endpoints/{endpoint_id}",
            "object_type": "serving-endpoint",
            "access_control_list": [
                {
                    "group_name": entry.get("group_name"),
                    "all_permissions": [{"permission_level": entry["permission_level"]}],
                }
                for entry in self.permissions[endpoint_id]
            ],
        }

    # --- Unity Catalog ---------------------------------------------------------------------

    def get_table(self, body: dict, full_name: str) -> dict:
        if full_name not in self.tables:
            raise ApiError(404, "TABLE_DOES_NOT_EXIST", f"Table '{full_name}' does not exist.")
        return {"full_name": full_name, "table_id": self.tables[full_name]}

    def get_schema(self, body: dict, full_name: str) -> dict:
        if full_name not in self.schemas:
            raise ApiError(404, "SCHEMA_DOES_NOT_EXIST", f"Schema '{full_name}' does not exist.")
        return {"full_name": full_name, "schema_id": self.schemas[full_name]}

    # --- data quality monitors -------------------------------------------------------------

    def _monitor(self, object_id: str) -> dict:
        if object_id not in self.monitors:
            raise ApiError(404, "NOT_FOUND", f"Monitor for {object_id} does not exist")
        return self.monitors[object_id]

    def create_monitor(self, body: dict) -> dict:
        _check_whole(dataquality.Monitor, body)
        if body["object_id"] in self.monitors:
            raise ApiError(409, "RESOURCE_ALREADY_EXISTS", "Monitor already exists")
        self.monitors[body["object_id"]] = body
        self.refreshes[body["object_id"]] = []
        return body

    def get_monitor(self, body: dict, object_type: str, object_id: str) -> dict:
        return self._monitor(object_id)

    def create_refresh(self, body: dict, object_type: str, object_id: str) -> dict:
        _check_whole(dataquality.Refresh, body)
        self._monitor(object_id)
        refreshes = self.refreshes[object_id]
        if any(refresh["state"] in RUNNING_REFRESH for refresh in refreshes):
            raise ApiError(409, "RESOURCE_CONFLICT", "A refresh is already in progress")
        refresh = {
            **body,
            "refresh_id": len(refreshes) + 1,
            "state": "MONITOR_REFRESH_STATE_PENDING",
            "trigger": "MONITOR_REFRESH_TRIGGER_MANUAL",
            "start_time_ms": int(time.time() * 1000),
        }
        refreshes.append(refresh)
        return dict(refresh)

    def list_refreshes(self, body: dict, object_type: str, object_id: str) -> dict:
        self._monitor(object_id)
        answer = [dict(refresh) for refresh in reversed(self.refreshes[object_id])]
        for refresh in self.refreshes[object_id]:
            refresh["state"] = NEXT_REFRESH_STATE.get(refresh["state"], refresh["state"])
        return {"refreshes": answer}

    def get_refresh(self, body: dict, object_type: str, object_id: str, refresh_id: str) -> dict:
        found = [r for r in self._refreshes(object_id) if str(r["refresh_id"]) == refresh_id]
        if not found:
            raise ApiError(404, "NOT_FOUND", f"Refresh {refresh_id} does not exist")
        answer = dict(found[0])
        found[0]["state"] = NEXT_REFRESH_STATE.get(found[0]["state"], found[0]["state"])
        return answer

    def _refreshes(self, object_id: str) -> list[dict]:
        self._monitor(object_id)
        return self.refreshes[object_id]

    # --- the Unity Catalog model registry (MLflow's UC client: GET sends its fields as a
    # query string, the other methods as a JSON body) ----------------------------------------

    def _model(self, name: str) -> dict:
        if name not in self.models:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Registered model {name} not found")
        return self.models[name]

    def _version(self, name: str, version: str) -> dict:
        self._model(name)
        if (name, version) not in self.model_versions:
            raise ApiError(
                404, "RESOURCE_DOES_NOT_EXIST", f"Model version {name}/{version} not found"
            )
        return self.model_versions[(name, version)]

    def _version_message(self, name: str, version: str) -> dict:
        entry = self._version(name, version)
        aliases = [a for a, v in self._model(name)["aliases"].items() if v == version]
        return {
            "name": name,
            "version": version,
            "status": entry["status"],
            "tags": _tag_list(entry["tags"]),
            "aliases": aliases,
            "creation_timestamp": 1,
            "last_updated_timestamp": 1,
        }

    def get_registered_model(self, body: dict, query: dict) -> dict:
        name = _one(query, "full_name") or _one(query, "name")
        model = self._model(name)
        return {
            "registered_model": {
                "name": name,
                "tags": _tag_list(model["tags"]),
                "aliases": [
                    {"alias": a, "version": v} for a, v in sorted(model["aliases"].items())
                ],
            }
        }

    def set_registered_model_tag(self, body: dict, query: dict) -> dict:
        _check(body, name=str, key=str, value=str)
        self._model(body["name"])["tags"][body["key"]] = body["value"]
        return {}

    def delete_registered_model_tag(self, body: dict, query: dict) -> dict:
        _check(body, name=str, key=str)
        self._model(body["name"])["tags"].pop(body["key"], None)
        return {}

    def set_alias(self, body: dict, query: dict) -> dict:
        _check(body, name=str, alias=str, version=str)
        self._version(body["name"], str(body["version"]))
        self._model(body["name"])["aliases"][body["alias"]] = str(body["version"])
        return {}

    def delete_alias(self, body: dict, query: dict) -> dict:
        _check(body, name=str, alias=str)
        aliases = self._model(body["name"])["aliases"]
        if body["alias"] not in aliases:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Alias {body['alias']} not found")
        del aliases[body["alias"]]
        return {}

    def get_version_by_alias(self, body: dict, query: dict) -> dict:
        name, alias = _one(query, "name"), _one(query, "alias")
        version = self._model(name)["aliases"].get(alias)
        if version is None:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Alias {alias} not found")
        return {"model_version": self._version_message(name, version)}

    def get_model_version(self, body: dict, query: dict) -> dict:
        name, version = _one(query, "name"), _one(query, "version")
        return {"model_version": self._version_message(name, version)}

    def search_model_versions(self, body: dict, query: dict) -> dict:
        found = re.fullmatch(r"name\s*=\s*'([^']+)'", _one(query, "filter").strip())
        if found is None:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "filter by name = '<name>' only")
        name = found.group(1)
        numbers = sorted(int(v) for n, v in self.model_versions if n == name)
        return {"model_versions": [self._version_message(name, str(v)) for v in numbers]}

    def set_model_version_tag(self, body: dict, query: dict) -> dict:
        _check(body, name=str, version=str, key=str, value=str)
        self._version(body["name"], str(body["version"]))["tags"][body["key"]] = body["value"]
        return {}


def _tag_list(tags: dict[str, str]) -> list[dict]:
    """Tags as the registry's messages carry them: a list of {key, value}."""
    return [{"key": key, "value": value} for key, value in sorted(tags.items())]


def _one(query: dict, key: str) -> str:
    return (query.get(key) or [""])[0]


def _served_config(config_input: dict) -> dict:
    """The endpoint's configuration as GET shows it, made from the one that was asked for."""
    entities = [
        {key: value for key, value in entity.items() if key != "burst_scaling_enabled"}
        for entity in config_input.get("served_entities", [])
    ]
    return {"served_entities": entities, "traffic_config": config_input.get("traffic_config", {})}


def _check_whole(dataclass_type: Any, body: dict) -> None:
    if not round_trips(dataclass_type, body):
        raise ApiError(
            400, "INVALID_PARAMETER_VALUE", f"cannot read {body} as {dataclass_type.__name__}"
        )


def _check(body: dict, **fields: Any) -> None:
    """Each key of `body` is one of `fields`, and reads into the dataclass named for it."""
    for key, value in body.items():
        kind = fields.get(key)
        values = value if isinstance(value, list) else [value]
        if kind is None or (kind is not str and not all(round_trips(kind, v) for v in values)):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"unknown or unreadable field {key!r}")


ENDPOINT = r"/api/2.0/serving-endpoints/([^/]+)"
MONITOR = r"/api/data-quality/v1/monitors/([^/]+)/([^/]+)"
ROUTES: list[tuple[str, str, Callable[..., dict]]] = [
    ("POST", r"/api/2.0/serving-endpoints", FakeWorkspace.create_endpoint),
    ("GET", ENDPOINT, FakeWorkspace.get_endpoint),
    ("DELETE", ENDPOINT, FakeWorkspace.delete_endpoint),
    ("PUT", ENDPOINT + "/config", FakeWorkspace.update_config),
    ("PUT", ENDPOINT + "/ai-gateway", FakeWorkspace.put_ai_gateway),
    ("PATCH", r"/api/2.0/permissions/serving-endpoints/([^/]+)", FakeWorkspace.update_permissions),
    ("GET", r"/api/2.1/unity-catalog/tables/([^/]+)", FakeWorkspace.get_table),
    ("GET", r"/api/2.1/unity-catalog/schemas/([^/]+)", FakeWorkspace.get_schema),
    ("POST", r"/api/data-quality/v1/monitors", FakeWorkspace.create_monitor),
    ("GET", MONITOR, FakeWorkspace.get_monitor),
    ("POST", MONITOR + "/refreshes", FakeWorkspace.create_refresh),
    ("GET", MONITOR + "/refreshes", FakeWorkspace.list_refreshes),
    ("GET", MONITOR + r"/refreshes/([^/]+)", FakeWorkspace.get_refresh),
]
UC_MODELS = "/api/2.0/mlflow/unity-catalog/registered-models"
UC_VERSIONS = "/api/2.0/mlflow/unity-catalog/model-versions"
# Routes that read the query string too: (method, path, handler(workspace, body, query)).
REGISTRY_ROUTES: list[tuple[str, str, Callable[..., dict]]] = [
    ("GET", UC_MODELS + "/get", FakeWorkspace.get_registered_model),
    ("POST", UC_MODELS + "/set-tag", FakeWorkspace.set_registered_model_tag),
    ("DELETE", UC_MODELS + "/delete-tag", FakeWorkspace.delete_registered_model_tag),
    ("POST", UC_MODELS + "/alias", FakeWorkspace.set_alias),
    ("DELETE", UC_MODELS + "/alias", FakeWorkspace.delete_alias),
    ("GET", UC_MODELS + "/alias", FakeWorkspace.get_version_by_alias),
    ("GET", UC_VERSIONS + "/get", FakeWorkspace.get_model_version),
    ("GET", UC_VERSIONS + "/search", FakeWorkspace.search_model_versions),
    ("POST", UC_VERSIONS + "/set-tag", FakeWorkspace.set_model_version_tag),
]


def _handler_for(workspace: FakeWorkspace) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = Request(
                self.command, url.path, parse_qs(url.query), json.loads(raw or b"{}"), time.time()
            )
            status, headers, body = workspace.answer(request)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # the tests read `workspace.requests`

    return Handler
