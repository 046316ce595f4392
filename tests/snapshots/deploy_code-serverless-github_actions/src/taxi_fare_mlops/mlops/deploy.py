"""Deploy within a catalog: the validated `challenger` becomes `champion`; and roll back.

Batch inference always loads `champion`, so moving the alias is the whole deployment. The version
it replaced keeps the alias `previous_champion` (and the new champion a `previous_champion` tag),
so `rollback` knows where to return: it moves `champion` back and removes `previous_champion`.

Both decide and move inside `registry.changing_aliases`: under the model's lock, after finishing
any alias change an interrupted command left half-done, and as one recorded change. So a rerun
after an interruption at any point completes the change and does not repeat it, and a deploy
and a rollback at once end as if one had run after the other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from .. import config
from . import registry, schema_check
from .errors import MlopsError
from .location import Location

log = logging.getLogger(__name__)


@dataclass
class DeployResult:
    model_name: str
    version: str
    previous_champion: str | None
    # False when the version was champion already: nothing moved.
    moved: bool = True

    def summary(self) -> str:
        if not self.moved:
            return f"{self.model_name}: {config.CHAMPION} is already version {self.version}"
        return (
            f"{self.model_name}: {config.CHAMPION} is version {self.version} "
            f"(was {self.previous_champion or 'none'})"
        )


def deploy(*, location: Location, model_version: str = "") -> DeployResult:
    """Make `model_version` (default: the current challenger) champion.

    Only the challenger may be deployed: that is the version that passed the gate most recently,
    so a stale or never-validated version cannot reach batch inference by mistake. Deploying
    the champion again changes nothing.
    """
    name = location.model
    with registry.changing_aliases(name):
        challenger = registry.require_alias(name, config.CHALLENGER, ": validate a version first")
        version = str(model_version).strip() or challenger
        if version != challenger:
            raise MlopsError(
                f"{name} version {version} is not the {config.CHALLENGER} "
                f"(version {challenger} is): only a validated version can become {config.CHAMPION}"
            )
        registry.require_trained(name, version)
        # Batch scoring writes with this code: champion never moves to predictions it cannot
        # write.
        schema_check.require_writable(location)
        previous = registry.alias_version(name, config.CHAMPION)
        if previous == version:
            result = DeployResult(name, version, previous, moved=False)
        else:
            aliases = {config.CHAMPION: version}
            tags = {"deployed_at": datetime.now(timezone.utc).isoformat()}
            if previous:
                aliases[config.PREVIOUS_CHAMPION] = tags["previous_champion"] = previous
            registry.move_aliases(name, aliases, {version: tags})
            result = DeployResult(name, version, previous)
    log.info("%s", result.summary())
    return result


# Tags of a rollback: on the version taken out of service, and on the one restored.
ROLLED_BACK_AT = "rolled_back_at"
RESTORED_FROM = "restored_by_rollback_from"


@dataclass
class RollbackResult:
    model_name: str
    version: str
    replaced: str
    rolled_back: bool

    def summary(self) -> str:
        if not self.rolled_back:
            return (
                f"{self.model_name}: {config.CHAMPION} is already version {self.version} "
                f"(rolled back from {self.replaced}): nothing further to roll back"
            )
        return (
            f"{self.model_name}: {config.CHAMPION} is version {self.version} again (rolled back "
            f"from {self.replaced}); batch scoring and the endpoint use it from their next run"
        )


def rollback(*, location: Location) -> RollbackResult:
    """Move `champion` back to the version it replaced.

    Safe to run twice (a retried job, two people pressing the button): the second run finds no
    `previous_champion` but a champion restored by a rollback, and changes nothing. The version
    taken out of service also loses `challenger`, so running deploy again cannot bring it back.
    """
    with registry.changing_aliases(location.model):
        result = _roll_back(location.model)
    log.info("%s", result.summary())
    return result


def _roll_back(name: str) -> RollbackResult:
    current = registry.require_alias(name, config.CHAMPION, ": nothing to roll back")
    target = registry.alias_version(name, config.PREVIOUS_CHAMPION)
    if target is None or target == current:
        current_tags = registry.tags(name, current)
        if RESTORED_FROM in current_tags:
            return RollbackResult(name, current, current_tags[RESTORED_FROM], rolled_back=False)
        # Champions deployed before the alias existed carry only the tag.
        target = current_tags.get("previous_champion")
        if not target:
            raise MlopsError(
                f"{name} has no previous {config.CHAMPION} to roll back to: version {current} "
                "is the first one deployed"
            )
    registry.model_version(name, target)  # one clear line if it was deleted since
    aliases: dict[str, str | None] = {config.CHAMPION: target, config.PREVIOUS_CHAMPION: None}
    if registry.alias_version(name, config.CHALLENGER) == current:
        aliases[config.CHALLENGER] = None
    now = datetime.now(timezone.utc).isoformat()
    registry.move_aliases(
        name,
        aliases,
        {current: {ROLLED_BACK_AT: now}, target: {RESTORED_FROM: current, "deployed_at": now}},
    )
    return RollbackResult(name, target, current, rolled_back=True)
