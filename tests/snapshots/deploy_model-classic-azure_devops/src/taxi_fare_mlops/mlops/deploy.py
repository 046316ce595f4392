"""Deploy within a catalog: the validated `challenger` becomes `champion`.

Batch inference always loads `champion`, so moving the alias is the whole deployment; moving it
back to the previous version (recorded as a tag) is the rollback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from .. import config
from . import registry
from .errors import MlopsError
from .location import Location

log = logging.getLogger(__name__)


@dataclass
class DeployResult:
    model_name: str
    version: str
    previous_champion: str | None

    def summary(self) -> str:
        return (
            f"{self.model_name}: {config.CHAMPION} is version {self.version} "
            f"(was {self.previous_champion or 'none'})"
        )


def deploy(*, location: Location, model_version: str = "") -> DeployResult:
    """Make `model_version` (default: the current challenger) champion.

    Only the challenger may be deployed: that is the version that passed the gate most recently,
    so a stale or never-validated version cannot reach batch inference by mistake.
    """
    name = location.model
    challenger = registry.require_alias(name, config.CHALLENGER, ": validate a version first")
    version = str(model_version).strip() or challenger
    if version != challenger:
        raise MlopsError(
            f"{name} version {version} is not the {config.CHALLENGER} "
            f"(version {challenger} is): only a validated version can become {config.CHAMPION}"
        )
    previous = registry.alias_version(name, config.CHAMPION)
    registry.set_alias(name, config.CHAMPION, version)
    tags = {"deployed_at": datetime.now(timezone.utc).isoformat()}
    if previous and previous != version:
        tags["previous_champion"] = previous
    registry.set_tags(name, version, tags)
    result = DeployResult(name, version, previous)
    log.info("%s", result.summary())
    return result
