"""Promote a model between catalogs: copy a version, then validate and deploy it there.

Used by the deploy_model and hybrid patterns. The copy keeps lineage as tags on the new version
(which model and version it came from, the git commit that trained it, when it was promoted), and
promoting the same source version again returns the existing copy instead of making another.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from . import config, runtime
from .deploy import DeployResult, deploy
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


@dataclass
class PromoteResult:
    copy: CopyResult
    validation: ValidationResult
    deployment: DeployResult


def resolve_source(source_name: str, source_alias: str, source_version: str) -> str:
    if str(source_version).strip():
        return str(runtime.model_version(source_name, source_version).version)
    return runtime.require_alias(source_name, source_alias, ": nothing to promote")


def find_copy(model_name: str, source_uri: str) -> str | None:
    """Version of `model_name` already copied from `source_uri`, if any."""
    from mlflow.exceptions import MlflowException

    client = runtime.mlflow_client()
    try:
        versions = client.search_model_versions(f"name='{model_name}'")
    except MlflowException as error:
        if runtime.is_missing(error):
            return None  # no model yet, so no copy either
        raise
    for candidate in sorted(versions, key=lambda v: -int(v.version)):
        # Unity Catalog search results omit tags, so read each version in full.
        tags = client.get_model_version(model_name, candidate.version).tags
        if tags.get("source_model_uri") == source_uri:
            return str(candidate.version)
    return None


def copy_model(
    catalog: str = config.STAGING_CATALOG,
    schema: str = config.SCHEMA,
    model_name: str = config.MODEL_NAME,
    source_catalog: str = config.DEV_CATALOG,
    source_alias: str = config.CHAMPION,
    source_version: str = "",
    source_schema: str = "",
    source_model_name: str = "",
) -> CopyResult:
    """Copy `<source_catalog>.<schema>.<model>` at `source_version` (or `source_alias`) into
    `<catalog>.<schema>.<model>`; returns the version in the target catalog. `source_schema` and
    `source_model_name` name a source whose schema or model differs (a developer's prefixed dev
    deployment, `dev_<user>_<schema>`); empty means the target's own names."""
    target_name = runtime.full_name(catalog, schema, model_name)
    source_name = runtime.full_name(
        source_catalog, source_schema or schema, source_model_name or model_name
    )
    if source_name == target_name:
        raise runtime.MlopsError(f"source and target are the same model, {target_name}")
    version = resolve_source(source_name, source_alias, source_version)
    source_uri = f"models:/{source_name}/{version}"

    existing = find_copy(target_name, source_uri)
    if existing is not None:
        log.info("%s is already %s version %s", source_uri, target_name, existing)
        return CopyResult(target_name, existing, source_uri, created=False)

    client = runtime.mlflow_client()
    source = client.get_model_version(source_name, version)
    copied = client.copy_model_version(source_uri, target_name)
    new_version = str(copied.version)
    tags = {key: source.tags[key] for key in CARRIED_TAGS if key in source.tags}
    tags.update(
        {
            "source_model_uri": source_uri,
            "source_model_name": source_name,
            "source_model_version": version,
            "git_commit": source.tags.get("git_commit") or runtime.git_commit(),
            "promoted_at": datetime.now(timezone.utc).isoformat(),
        }
    )
    for key, value in tags.items():
        client.set_model_version_tag(target_name, new_version, key, value)
    log.info("copied %s to %s version %s", source_uri, target_name, new_version)
    return CopyResult(target_name, new_version, source_uri, created=True)


def promote(
    catalog: str = config.STAGING_CATALOG,
    schema: str = config.SCHEMA,
    model_name: str = config.MODEL_NAME,
    source_catalog: str = config.DEV_CATALOG,
    source_alias: str = config.CHAMPION,
    source_version: str = "",
    input_table: str = config.INPUT_TABLE,
    experiment_name: str | None = None,
    max_rmse: float = config.MAX_RMSE,
    champion_tolerance: float = config.CHAMPION_TOLERANCE,
) -> PromoteResult:
    """Copy, validate on this catalog's data, make champion: the promotion job in one call."""
    copy = copy_model(catalog, schema, model_name, source_catalog, source_alias, source_version)
    validation = validate(
        catalog,
        schema,
        model_name,
        copy.version,
        input_table,
        experiment_name,
        max_rmse,
        champion_tolerance,
    )
    deployment = deploy(catalog, schema, model_name, copy.version)
    return PromoteResult(copy, validation, deployment)
