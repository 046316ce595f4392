"""Promote a model between catalogs: copy a version, then validate and deploy it there.

Used by the deploy_model and hybrid patterns. The copy keeps lineage as tags on the new version
(which model and version it came from, the git commit that trained it, when it was promoted), and
promoting the same source version again returns the existing copy instead of making another.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from .. import config
from . import registry
from .deploy import DeployResult, deploy
from .errors import MlopsError
from .location import Location
from .validate import ValidationResult, validate

log = logging.getLogger(__name__)

# Tags the copy carries over from the source version, besides the lineage tags.
CARRIED_TAGS = ("training_table", "sample_fraction", "git_commit", "holdout_rmse")


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

    def summary(self) -> str:
        return (
            f"{self.copy.summary()}; validated here (rmse "
            f"{self.validation.metrics['rmse']:.3f}); now {config.CHAMPION}"
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
    source_uri = source.model_uri(version)

    existing = registry.find_copy(location.model, source_uri)
    if existing is not None:
        return CopyResult(location.model, existing, source_uri, created=False)

    source_tags = registry.tags(source.model, version)
    new_version = registry.copy_version(source_uri, location.model)
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
    registry.set_tags(location.model, new_version, tags)
    result = CopyResult(location.model, new_version, source_uri, created=True)
    log.info("%s", result.summary())
    return result


def promote(
    *,
    location: Location,
    source_catalog: str,
    source_alias: str = config.CHAMPION,
    source_version: str = "",
    input_table: str = config.INPUT_TABLE,
    experiment_name: str | None = None,
    max_rmse: float = config.MAX_RMSE,
    champion_tolerance: float = config.CHAMPION_TOLERANCE,
) -> PromoteResult:
    """Copy, validate on this catalog's data, make champion: the promotion job in one call."""
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
        max_rmse=max_rmse,
        champion_tolerance=champion_tolerance,
    )
    deployment = deploy(location=location, model_version=copy.version)
    return PromoteResult(copy, validation, deployment)
