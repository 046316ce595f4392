"""Promote a model between catalogs: copy a version, then validate and deploy it there.

Used by the deploy_model and hybrid patterns. The copy keeps lineage as tags on the new version
(which model and version it came from, the git commit that trained it, when it was promoted).

One source version yields one copy, whatever runs at the same time or dies half-way:

- The copy is looked up by its source before copying (`registry.find_copy`: the lineage tag,
  or the registry's own `source` field), and promoting the same source again returns it.
- The lineage tags are part of the step that creates the version (`registry.create_copy`), and
  only the tags in `CARRIED_TAGS` come from the source: a copy never carries the source's
  `validation_status`, `deployed_at` or aliases as if they were its own.
- Locally, find-then-copy holds a file lock (`registry.model_lock`), so two `promote` processes
  at once make one copy. On Databricks the promotion job runs one at a time
  (`max_concurrent_runs: 1`) and each run finds the copy before copying; two promotions of one
  source started by hand at the same instant are not guaranteed to make only one.
- A partial copy (the version exists, its lineage tags do not: a copy made by an older release
  of this code, killed between copying and tagging) is adopted on the next run: it gets its
  lineage tags, loses the tags it took from the source, and the promotion carries on with it.
  A copy that Unity Catalog never finished registering (status not READY) is refused with what
  to do: delete that version, then promote again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from .. import config, contract
from . import registry, schema_check
from .deploy import DeployResult, deploy
from .errors import MlopsError
from .location import Location
from .validate import ValidationResult, validate

log = logging.getLogger(__name__)

# Tags the copy carries over from the source version, besides the lineage tags.
CARRIED_TAGS = (
    "training_table",
    "sample_fraction",
    "git_commit",
    f"holdout_{contract.GATE.metric}",
)


@dataclass
class CopyResult:
    model_name: str
    version: str
    source_uri: str
    created: bool

    def summary(self) -> str:
        verb = "copied" if self.created else "already copied"
        return f"{self.source_uri} {verb} as {self.model_name} version {self.version}"


@dataclass
class PromoteResult:
    copy: CopyResult
    validation: ValidationResult
    deployment: DeployResult
    # The champion as read back from the registry after deploying (another run may have moved
    # it since): the summary says "now champion" only when it is this copy.
    champion: str | None = None

    def summary(self) -> str:
        if self.champion == self.copy.version:
            outcome = f"now {config.CHAMPION}"
        else:
            outcome = f"{config.CHAMPION} is version {self.champion or 'none'}, not this copy"
        return (
            f"{self.copy.summary()}; validated here ({contract.GATE.metric} "
            f"{self.validation.metrics[contract.GATE.metric]:.3f}); {outcome}"
        )


def default_source_catalog(catalog: str) -> str:
    """Where a catalog's models come from: dev feeds staging, staging feeds prod."""
    return config.DEV_CATALOG if catalog == config.STAGING_CATALOG else config.STAGING_CATALOG


def copy_model(
    *,
    location: Location,
    source_catalog: str,
    source_alias: str = config.CHAMPION,
    source_version: str = "",
    source_schema: str = "",
    source_model_name: str = "",
) -> CopyResult:
    """Copy the model of `source_catalog` at `source_version` (or `source_alias`) to
    `location.model`; returns the version in the target catalog. `source_schema` and
    `source_model_name` name a source whose names differ (empty: the target's own)."""
    source = location.elsewhere(source_catalog, source_schema, source_model_name)
    if source.model == location.model:
        raise MlopsError(f"source and target are the same model, {location.model}")
    if str(source_version).strip():
        version = str(registry.model_version(source.model, source_version).version)
    else:
        version = registry.require_alias(source.model, source_alias, ": nothing to promote")
    # Only a version `train` finished travels: one without its training tags is refused.
    registry.require_trained(source.model, version)
    source_uri = source.model_uri(version)

    with registry.model_lock(location.model):
        existing = registry.find_copy(location.model, source_uri)
        if existing is not None:
            _complete_partial_copy(location.model, existing, source_uri)
            return CopyResult(location.model, existing, source_uri, created=False)
        source_tags = registry.tags(source.model, version)
        tags = {key: source_tags[key] for key in CARRIED_TAGS if key in source_tags}
        tags.update(
            {
                "source_model_uri": source_uri,
                "source_model_name": source.model,
                "source_model_version": version,
                "git_commit": source_tags.get("git_commit") or registry.git_commit(),
                "promoted_at": datetime.now(timezone.utc).isoformat(),
            }
        )
        new_version = registry.create_copy(source_uri, location.model, tags)
    result = CopyResult(location.model, new_version, source_uri, created=True)
    log.info("%s", result.summary())
    return result


def _complete_partial_copy(model_name: str, version: str, source_uri: str) -> None:
    """Make a found copy whole: lineage tags present, none of the source's own tags left."""
    entry = registry.model_version(model_name, version)
    status = str(getattr(entry, "status", "READY") or "READY")
    if status != "READY":
        raise MlopsError(
            f"{model_name} version {version}, a copy of {source_uri}, was never finished "
            f"(status {status}): delete that version, then promote again"
        )
    tags = dict(entry.tags)
    if tags.get("source_model_uri") == source_uri:
        return
    source_name, source_version = registry.split_model_uri(source_uri)
    # Everything but the carried tags was copied from the source along with the files: the
    # copy was never validated or deployed here, so those tags describe another version.
    registry.delete_tags(model_name, version, [key for key in tags if key not in CARRIED_TAGS])
    registry.set_tags(
        model_name,
        version,
        {
            "source_model_uri": source_uri,
            "source_model_name": source_name,
            "source_model_version": source_version,
            "git_commit": tags.get("git_commit") or registry.git_commit(),
            "promoted_at": datetime.now(timezone.utc).isoformat(),
        },
    )
    log.warning("%s version %s: completed the lineage of a partial copy", model_name, version)


def promote(
    *,
    location: Location,
    source_catalog: str,
    source_alias: str = config.CHAMPION,
    source_version: str = "",
    input_table: str = config.INPUT_TABLE,
    experiment_name: str | None = None,
    gate_threshold: float = contract.GATE.threshold,
    champion_tolerance: float = config.CHAMPION_TOLERANCE,
) -> PromoteResult:
    """Copy, validate on this catalog's data, make champion: the promotion job in one call.

    One step under the target model's lock (`registry.changing_aliases`): another command
    moving its aliases runs wholly before or after this one.
    """
    # First: a copy this catalog's tables could not take the predictions of is not made.
    schema_check.require_writable(location)
    with registry.changing_aliases(location.model):
        copy = copy_model(
            location=location,
            source_catalog=source_catalog,
            source_alias=source_alias,
            source_version=source_version,
        )
        validation = validate(
            location=location,
            model_version=copy.version,
            input_table=input_table,
            experiment_name=experiment_name,
            gate_threshold=gate_threshold,
            champion_tolerance=champion_tolerance,
        )
        deployment = deploy(location=location, model_version=copy.version)
        champion = registry.alias_version(location.model, config.CHAMPION)
    return PromoteResult(copy, validation, deployment, champion)
