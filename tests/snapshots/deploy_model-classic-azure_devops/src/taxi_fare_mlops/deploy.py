"""Deploy within a catalog: the validated `challenger` becomes `champion`.

Batch inference always loads `champion`, so moving the alias is the whole deployment; moving it
back to the previous version (recorded as a tag) is the rollback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from . import config, runtime

log = logging.getLogger(__name__)


@dataclass
class DeployResult:
    model_name: str
    version: str
    previous_champion: str | None


def deploy(
    catalog: str = config.DEV_CATALOG,
    schema: str = config.SCHEMA,
    model_name: str = config.MODEL_NAME,
    model_version: str = "",
) -> DeployResult:
    """Make `model_version` (default: the current challenger) champion.

    Only the challenger may be deployed: that is the version that passed the gate most recently,
    so a stale or never-validated version cannot reach batch inference by mistake.
    """
    registered_name = runtime.full_name(catalog, schema, model_name)
    challenger = runtime.require_alias(
        registered_name, config.CHALLENGER, ": validate a version first"
    )
    version = str(model_version).strip() or challenger
    if version != challenger:
        raise runtime.MlopsError(
            f"{registered_name} version {version} is not the {config.CHALLENGER} "
            f"(version {challenger} is): only a validated version can become {config.CHAMPION}"
        )
    previous = runtime.alias_version(registered_name, config.CHAMPION)
    client = runtime.mlflow_client()
    client.set_registered_model_alias(registered_name, config.CHAMPION, version)
    client.set_model_version_tag(
        registered_name, version, "deployed_at", datetime.now(timezone.utc).isoformat()
    )
    if previous and previous != version:
        client.set_model_version_tag(registered_name, version, "previous_champion", previous)
    log.info(
        "%s: %s is now version %s (was %s)",
        registered_name,
        config.CHAMPION,
        version,
        previous or "none",
    )
    return DeployResult(registered_name, version, previous)
