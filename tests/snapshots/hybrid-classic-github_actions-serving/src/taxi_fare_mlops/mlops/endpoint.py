"""The real-time serving endpoint on Databricks, kept on the `champion` version.

The endpoint is made by a job task after champion moves, not declared as a bundle resource: a
`model_serving_endpoints` resource names a model version at `bundle deploy`, before the first
training run has registered one, so the first deploy of every target would fail
(databricks/mlops-stacks issue #217). `update_endpoint` is idempotent:

1. no endpoint yet: create it serving the champion version;
   it serves another version: update its served entity (an update in progress is waited out
   first, as the API refuses a second one); it already serves champion: change nothing;
2. wait until the endpoint is ready; if the update fails or times out, raise one line. Databricks
   keeps the previous configuration serving while a new one is built and when it fails, so the
   previously served version stays in place;
3. request and response logging through an AI Gateway inference table in the project schema
   (`<catalog>.<schema>.serving_payload`), which monitoring can read like the predictions;
4. `CAN_QUERY` for the workspace read group (endpoint permissions are workspace ACLs, which take
   workspace groups, like the jobs' `CAN_VIEW`).

Scale to zero is on outside prod (the bundle variable `serving_scale_to_zero`): an idle
endpoint costs nothing there, at the price of a cold start on the first request.

The documentation this follows:
- create and update endpoints, served entities, workload size, scale to zero; the endpoint's
  creator identity is what reads the Unity Catalog model (so deploy prod as a service principal):
  https://docs.databricks.com/machine-learning/model-serving/create-manage-serving-endpoints
- AI Gateway inference tables, which Databricks recommends; the legacy tables
  (`auto_capture_config`) can no longer be enabled from 20 February 2026:
  https://docs.databricks.com/ai-gateway/inference-tables.html and
  https://docs.databricks.com/machine-learning/model-serving/enable-model-serving-inference-tables.html
- serving endpoint permissions (Can View, Can Query, Can Manage; the permissions API under
  /permissions/serving-endpoints/):
  https://docs.databricks.com/en/security/auth-authz/access-control/serving-endpoint-acl.html
- an update in progress blocks another until it completes or fails, and an AI Gateway change
  is such an update: the API answers 409 RESOURCE_CONFLICT to a config update that does not wait
  for it. The SDK waits for NOT_UPDATING and raises `OperationFailed` on UPDATE_FAILED
  (databricks-sdk 0.162, `databricks/sdk/service/serving.py`, `ServingEndpointsAPI`: create,
  update_config, put_ai_gateway, update_permissions, delete,
  wait_get_serving_endpoint_not_updating)

`bundle destroy` does not delete the endpoint (it is no bundle resource), so `delete_endpoint`
(`python -m <package> delete-endpoint`) does, before the bundle is destroyed (README.md).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from .. import config
from . import registry, runtime
from .errors import MlopsError
from .location import Location, split_name

log = logging.getLogger(__name__)

# The AI Gateway inference table is `<catalog>.<schema>.<prefix>_payload`.
INFERENCE_TABLE_PREFIX = "serving"
WORKLOAD_SIZE = "Small"
READY_TIMEOUT = timedelta(minutes=40)
# Endpoint names: letters, digits, '-' and '_', at most 63 characters.
_ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,63}$")


@dataclass
class EndpointResult:
    endpoint: str
    action: str  # created | updated | unchanged | skipped | deleted | absent
    version: str | None = None
    previous_version: str | None = None
    reason: str = ""

    def summary(self) -> str:
        if self.action == "skipped":
            return f"no serving endpoint updated: {self.reason}"
        if self.action == "absent":
            return f"no endpoint {self.endpoint}: nothing to delete"
        if self.action == "deleted":
            was = f" (it served version {self.previous_version})" if self.previous_version else ""
            return f"endpoint {self.endpoint} deleted{was}"
        if self.action == "unchanged":
            return f"endpoint {self.endpoint} already serves version {self.version}"
        was = f" (was {self.previous_version})" if self.previous_version else ""
        return f"endpoint {self.endpoint} {self.action}: serves version {self.version}{was}"


def endpoint_name(base: str, model_resource_name: str, model_name: str) -> str:
    """`base` with the prefix the bundle gave the registered model.

    In development mode the CLI prefixes registered models and serving endpoints alike, with
    the normalised name prefix ("[dev jane] " -> "dev_jane_"; the test target's "[test] " ->
    "test_"): databricks/cli v1.13.0,
    bundle/config/mutator/resourcemutator/apply_presets.go (normalizePrefix). The endpoint is
    not a bundle resource, so it takes that prefix from the model: the job passes the model's
    resource name, which is the prefix and the declared name (`config.MODEL_NAME`, the bundle
    variable's default).
    """
    prefix = ""
    if model_name and model_resource_name.endswith(model_name):
        prefix = model_resource_name[: -len(model_name)]
    name = prefix + base
    if not _ENDPOINT_NAME.match(name):
        raise MlopsError(
            f"serving endpoint name {name!r} must be 1-63 letters, digits, '-' or '_': "
            "set the bundle variable serving_endpoint to a shorter name"
        )
    return name


def served_entity_name(model: str, version: str) -> str:
    return f"{split_name(model)[2]}-{version}"[-63:]


def served_versions(endpoint) -> list[tuple[str, str]]:
    """(model, version) of every entity the endpoint's live configuration serves."""
    entities = (endpoint.config.served_entities if endpoint.config else None) or []
    return [(entity.entity_name, str(entity.entity_version)) for entity in entities]


def _state(endpoint) -> tuple[str, str]:
    state = endpoint.state
    update = getattr(state.config_update, "value", "") if state and state.config_update else ""
    ready = getattr(state.ready, "value", "") if state and state.ready else ""
    return update, ready


def _inference_table(location: Location):
    from databricks.sdk.service.serving import AiGatewayInferenceTableConfig

    return AiGatewayInferenceTableConfig(
        catalog_name=location.catalog,
        schema_name=location.schema,
        table_name_prefix=INFERENCE_TABLE_PREFIX,
        enabled=True,
    )


def _logs_to(endpoint, location: Location) -> bool:
    table = endpoint.ai_gateway.inference_table_config if endpoint.ai_gateway else None
    return bool(
        table
        and table.enabled
        and (table.catalog_name, table.schema_name, table.table_name_prefix)
        == (location.catalog, location.schema, INFERENCE_TABLE_PREFIX)
    )


def _existing(api, name: str):
    """Endpoint `name`, or None if there is none. A 404 for model serving not being enabled in
    the workspace is no answer about the endpoint: it goes up (`errors.explain` says what to do)."""
    from databricks.sdk.errors import NotFound

    try:
        return api.get(name)
    except NotFound as error:
        if error.error_code == "FEATURE_DISABLED":
            raise
        return None


def _settled(api, name: str, timeout: timedelta, timed_out: str):
    """The endpoint once no update is in progress, or `MlopsError(timed_out)`.

    An update that failed has settled too: the SDK's waiter raises `OperationFailed` for
    UPDATE_FAILED (and UPDATE_CANCELED), and the endpoint, still serving its previous
    configuration, is read once more for the caller to judge."""
    from databricks.sdk.errors import OperationFailed

    try:
        return api.wait_get_serving_endpoint_not_updating(name, timeout=timeout)
    except OperationFailed:
        return api.get(name)
    except TimeoutError:
        raise MlopsError(timed_out) from None


def _wait_until_ready(api, name: str, timeout: timedelta, version: str, previous: str | None):
    """The endpoint once no update is in progress; one line if it is not serving `version`."""
    kept = f"; it still serves version {previous}" if previous else "; it serves no version"
    timed_out = f"endpoint {name} was not ready with version {version} after {timeout}{kept}"
    endpoint = _settled(api, name, timeout, timed_out)
    update, ready = _state(endpoint)
    served = [served_version for _, served_version in served_versions(endpoint)]
    if update != "NOT_UPDATING" or ready != "READY" or served != [version]:
        now = f"; it still serves version {', '.join(served)}" if served else kept
        raise MlopsError(
            f"endpoint {name} did not become ready with version {version} "
            f"(config update {update or 'unknown'}, {ready or 'not ready'}){now}: see the "
            "endpoint's events and build logs in the Serving UI"
        )
    return endpoint


def ensure_endpoint(
    client,
    *,
    name: str,
    location: Location,
    version: str,
    scale_to_zero: bool,
    query_group: str = "",
    timeout: timedelta = READY_TIMEOUT,
) -> EndpointResult:
    """Make endpoint `name` serve exactly `location.model` at `version` (see the module doc).

    `client` is a `databricks.sdk.WorkspaceClient` (of a fake workspace in the tests)."""
    from databricks.sdk.service.serving import (
        AiGatewayConfig,
        EndpointCoreConfigInput,
        Route,
        ServedEntityInput,
        ServingEndpointAccessControlRequest,
        ServingEndpointPermissionLevel,
        TrafficConfig,
    )

    api = client.serving_endpoints
    entity = ServedEntityInput(
        name=served_entity_name(location.model, version),
        entity_name=location.model,
        entity_version=version,
        workload_size=WORKLOAD_SIZE,
        scale_to_zero_enabled=scale_to_zero,
    )
    traffic = TrafficConfig(routes=[Route(served_model_name=entity.name, traffic_percentage=100)])
    existing = _existing(api, name)
    busy = (
        f"endpoint {name} was still busy with an earlier update after {timeout}: run this task "
        "again once it is done"
    )

    previous: str | None = None
    if existing is None:
        log.info("creating endpoint %s for %s version %s", name, location.model, version)
        api.create(
            name,
            config=EndpointCoreConfigInput(
                name=name, served_entities=[entity], traffic_config=traffic
            ),
            ai_gateway=AiGatewayConfig(inference_table_config=_inference_table(location)),
        )
        action = "created"
    else:
        if _state(existing)[0] == "IN_PROGRESS":
            # The API refuses an update while another is in progress: let that one finish.
            existing = _settled(api, name, timeout, busy)
        served = served_versions(existing)
        previous = ", ".join(v for _, v in served) or None
        if not _logs_to(existing, location):
            api.put_ai_gateway(name, inference_table_config=_inference_table(location))
            # That is an update too: the config update below would be refused (409) during it.
            existing = _settled(api, name, timeout, busy)
        if served == [(location.model, version)] and _state(existing) == ("NOT_UPDATING", "READY"):
            action = "unchanged"
        else:
            log.info("pointing endpoint %s at %s version %s", name, location.model, version)
            api.update_config(name, served_entities=[entity], traffic_config=traffic)
            action = "updated"

    endpoint = _wait_until_ready(api, name, timeout, version, previous)
    if query_group:
        api.update_permissions(
            endpoint.id,
            access_control_list=[
                ServingEndpointAccessControlRequest(
                    group_name=query_group,
                    permission_level=ServingEndpointPermissionLevel.CAN_QUERY,
                )
            ],
        )
    return EndpointResult(name, action, version, previous if action != "unchanged" else None)


def update_endpoint(
    *,
    location: Location,
    endpoint: str,
    model_name: str = config.MODEL_NAME,
    scale_to_zero: bool = True,
    query_group: str = "",
    client=None,
    timeout: timedelta = READY_TIMEOUT,
) -> EndpointResult:
    """Point the endpoint `endpoint` (before the bundle's prefix) at the champion.

    `model_name` is the model's declared name (the bundle variable) and `location.model_name`
    its resource name, which carries the prefix. An empty `endpoint` means this target has no
    endpoint (the CI test target: `bundle destroy` would leave a task-made endpoint behind).
    """
    if not endpoint.strip():
        return EndpointResult(
            "", "skipped", reason="this target has no endpoint (serving_endpoint is empty)"
        )
    name = endpoint_name(endpoint.strip(), location.model_name, model_name)
    version = registry.require_alias(
        location.model, config.CHAMPION, ": deploy (or promote) a version before serving it"
    )
    if client is None and not runtime.uses_workspace():
        return EndpointResult(
            name,
            "skipped",
            version,
            reason=f"no workspace here; `python -m {config.PACKAGE} serve` serves version "
            f"{version} locally",
        )
    if client is None:
        from databricks.sdk import WorkspaceClient

        client = WorkspaceClient()
    result = ensure_endpoint(
        client,
        name=name,
        location=location,
        version=version,
        scale_to_zero=scale_to_zero,
        query_group=query_group,
        timeout=timeout,
    )
    log.info("%s", result.summary())
    return result


def delete_endpoint(
    *,
    endpoint: str,
    model_resource_name: str,
    model_name: str = config.MODEL_NAME,
    client=None,
) -> EndpointResult:
    """Delete a target's endpoint, which `bundle destroy` leaves running (and, in prod, billed),
    serving a model that is gone and logging to a schema that is dropped.

    `endpoint`, `model_resource_name` and `model_name` name it as `update_endpoint` does (the
    prefix is the one the bundle gave the model). No endpoint is no error: the teardown can run
    twice."""
    name = endpoint_name(endpoint.strip(), model_resource_name, model_name)
    if client is None:
        from databricks.sdk import WorkspaceClient

        client = WorkspaceClient()
    api = client.serving_endpoints
    existing = _existing(api, name)
    if existing is None:
        return EndpointResult(name, "absent")
    api.delete(name)
    served = ", ".join(version for _, version in served_versions(existing)) or None
    result = EndpointResult(name, "deleted", previous_version=served)
    log.info("%s", result.summary())
    return result
