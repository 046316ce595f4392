"""The endpoint step against a stand-in of the serving API that records every call: create on
the first run, update when champion moved, nothing when it already serves champion, a wait each
time, and one line (with the version still served) when the new version does not get ready."""

from __future__ import annotations

from datetime import timedelta

import pytest
from databricks.sdk.errors import NotFound
from databricks.sdk.service.serving import (
    AiGatewayConfig,
    EndpointCoreConfigOutput,
    EndpointState,
    EndpointStateConfigUpdate,
    EndpointStateReady,
    ServedEntityOutput,
    ServingEndpointDetailed,
)

from {{ cookiecutter.__package_name }} import config
from {{ cookiecutter.__package_name }}.mlops import endpoint, registry
from {{ cookiecutter.__package_name }}.mlops.errors import MlopsError
from {{ cookiecutter.__package_name }}.mlops.location import Location

from conftest import copy_of


class ServingStandIn:
    """`WorkspaceClient().serving_endpoints`, in memory: `calls` lists what was asked, in order.

    `fail_next_update` makes the next create or update end in UPDATE_FAILED, with the previous
    configuration still serving, as Databricks does."""

    def __init__(self):
        self.endpoints: dict[str, ServingEndpointDetailed] = {}
        self.pending: dict[str, tuple] = {}
        self.calls: list[tuple] = []
        self.fail_next_update = False
        self.never_ready = False

    def get(self, name):
        self.calls.append(("get", name))
        if name not in self.endpoints:
            raise NotFound(f"endpoint {name} does not exist")
        return self.endpoints[name]

    def create(self, name, *, config=None, ai_gateway=None, **_):
        self.calls.append(("create", name, _entities(config.served_entities)))
        self.endpoints[name] = ServingEndpointDetailed(
            name=name,
            id=f"id-{name}",
            ai_gateway=ai_gateway,
            config=None,
            state=_state("IN_PROGRESS", "NOT_READY"),
        )
        self.pending[name] = tuple(config.served_entities)

    def update_config(self, name, *, served_entities=None, traffic_config=None, **_):
        self.calls.append(("update_config", name, _entities(served_entities)))
        routes = [(r.served_model_name, r.traffic_percentage) for r in traffic_config.routes]
        assert routes == [(served_entities[0].name, 100)]
        self.endpoints[name].state = _state("IN_PROGRESS", "READY")
        self.pending[name] = tuple(served_entities)

    def put_ai_gateway(self, name, *, inference_table_config=None, **_):
        self.calls.append(("put_ai_gateway", name))
        self.endpoints[name].ai_gateway = AiGatewayConfig(
            inference_table_config=inference_table_config
        )

    def wait_get_serving_endpoint_not_updating(self, name, timeout=None, callback=None):
        self.calls.append(("wait", name))
        if self.never_ready:
            raise TimeoutError(f"timed out after {timeout}")
        current = self.endpoints[name]
        entities = self.pending.pop(name, None)
        if entities is not None and self.fail_next_update:
            self.fail_next_update = False
            ready = "READY" if current.config else "NOT_READY"
            current.state = _state("UPDATE_FAILED", ready)
        elif entities is not None:
            current.config = EndpointCoreConfigOutput(
                served_entities=[
                    ServedEntityOutput(
                        name=e.name,
                        entity_name=e.entity_name,
                        entity_version=e.entity_version,
                        scale_to_zero_enabled=e.scale_to_zero_enabled,
                        workload_size=e.workload_size,
                    )
                    for e in entities
                ]
            )
            current.state = _state("NOT_UPDATING", "READY")
        return current

    def update_permissions(self, serving_endpoint_id, *, access_control_list=None):
        self.calls.append(
            (
                "update_permissions",
                serving_endpoint_id,
                [(a.group_name, a.permission_level.value) for a in access_control_list],
            )
        )


def _state(update: str, ready: str) -> EndpointState:
    return EndpointState(
        config_update=EndpointStateConfigUpdate(update), ready=EndpointStateReady(ready)
    )


def _entities(entities) -> list[tuple]:
    return [(e.entity_name, e.entity_version, e.scale_to_zero_enabled) for e in entities]


class ClientStandIn:
    def __init__(self):
        self.serving_endpoints = ServingStandIn()


def kinds(client) -> list[str]:
    return [call[0] for call in client.serving_endpoints.calls]


def test_created_then_unchanged_then_updated_when_champion_moves(location, champion, trained_model):
    client = ClientStandIn()
    run = {"location": location, "endpoint": "shop-dev", "client": client, "query_group": "users"}

    first = endpoint.update_endpoint(**run, scale_to_zero=True)
    assert (first.action, first.version, first.previous_version) == ("created", champion, None)
    assert kinds(client) == ["get", "create", "wait", "update_permissions"]
    create = client.serving_endpoints.calls[1]
    assert create == ("create", "shop-dev", [(location.model, champion, True)])
    made = client.serving_endpoints.endpoints["shop-dev"]
    table = made.ai_gateway.inference_table_config
    assert (table.catalog_name, table.schema_name, table.table_name_prefix, table.enabled) == (
        location.catalog,
        location.schema,
        endpoint.INFERENCE_TABLE_PREFIX,
        True,
    )
    assert client.serving_endpoints.calls[-1] == (
        "update_permissions",
        "id-shop-dev",
        [("users", "CAN_QUERY")],
    )

    client.serving_endpoints.calls.clear()
    again = endpoint.update_endpoint(**run, scale_to_zero=True)
    assert again.action == "unchanged" and "already serves version" in again.summary()
    assert "update_config" not in kinds(client) and "create" not in kinds(client)

    newer = copy_of(trained_model, location, config.CHAMPION)
    client.serving_endpoints.calls.clear()
    moved = endpoint.update_endpoint(**run, scale_to_zero=False)
    assert (moved.action, moved.version, moved.previous_version) == ("updated", newer, champion)
    assert kinds(client) == ["get", "update_config", "wait", "update_permissions"]
    assert client.serving_endpoints.calls[1][2] == [(location.model, newer, False)]
    assert endpoint.served_versions(client.serving_endpoints.endpoints["shop-dev"]) == [
        (location.model, newer)
    ]


def test_a_failed_update_is_one_line_and_the_old_version_stays(location, champion, trained_model):
    client = ClientStandIn()
    endpoint.update_endpoint(location=location, endpoint="shop", client=client)
    newer = copy_of(trained_model, location, config.CHAMPION)
    client.serving_endpoints.fail_next_update = True
    with pytest.raises(MlopsError) as failed:
        endpoint.update_endpoint(location=location, endpoint="shop", client=client)
    message = str(failed.value)
    assert f"did not become ready with version {newer}" in message
    assert f"it still serves version {champion}" in message and "\n" not in message
    assert endpoint.served_versions(client.serving_endpoints.endpoints["shop"]) == [
        (location.model, champion)
    ]
    # No permission change after a failure; the next run tries the update again.
    assert kinds(client)[-2:] == ["update_config", "wait"]
    assert endpoint.update_endpoint(location=location, endpoint="shop", client=client).action == (
        "updated"
    )


def test_a_timeout_is_one_line(location, champion):
    client = ClientStandIn()
    client.serving_endpoints.never_ready = True
    with pytest.raises(
        MlopsError, match=f"not ready with version {champion} after 0:00:01; it serves no version"
    ):
        endpoint.update_endpoint(
            location=location, endpoint="shop", client=client, timeout=timedelta(seconds=1)
        )


def test_an_update_in_progress_is_waited_out_and_logging_is_switched_on(location, champion):
    client = ClientStandIn()
    api = client.serving_endpoints
    # An endpoint someone made by hand, without the inference table, mid-update.
    api.endpoints["shop"] = ServingEndpointDetailed(
        name="shop", id="id-shop", state=_state("IN_PROGRESS", "READY")
    )
    api.pending["shop"] = ()
    result = endpoint.update_endpoint(location=location, endpoint="shop", client=client)
    assert result.action == "updated"
    assert kinds(client) == ["get", "wait", "put_ai_gateway", "update_config", "wait"]


def test_the_endpoint_takes_the_models_development_prefix():
    # apply_presets.go prefixes models and endpoints alike ("dev_jane_").
    assert endpoint.endpoint_name("shop-dev", "dev_jane_fares", "fares") == "dev_jane_shop-dev"
    assert endpoint.endpoint_name("shop-prod", "fares", "fares") == "shop-prod"
    with pytest.raises(MlopsError, match="must be 1-63 letters"):
        endpoint.endpoint_name("x" * 64, "fares", "fares")
    with pytest.raises(MlopsError, match="must be 1-63 letters"):
        endpoint.endpoint_name("shop prod", "fares", "fares")


def test_no_endpoint_without_a_name_a_champion_or_a_workspace(location, champion):
    assert endpoint.update_endpoint(location=location, endpoint="").action == "skipped"
    local = endpoint.update_endpoint(location=location, endpoint="shop")
    assert local.action == "skipped" and f"serves version {champion} locally" in local.summary()
    empty = Location(location.catalog, f"{location.schema}_empty")
    with pytest.raises(MlopsError, match="has no champion yet: deploy"):
        endpoint.update_endpoint(location=empty, endpoint="shop", client=ClientStandIn())
    assert registry.alias_version(location.model, config.CHAMPION) == champion
