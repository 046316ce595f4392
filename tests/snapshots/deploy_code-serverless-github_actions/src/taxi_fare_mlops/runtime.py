"""Where the code runs: a laptop (local) or a Databricks cluster.

The same functions serve both. Locally, tables are Delta tables under `.local/warehouse` and
MLflow keeps runs and the model registry in `.local/mlflow.db`; on Databricks, tables are Unity
Catalog tables read through Spark and models live in the Unity Catalog registry.
"""

from __future__ import annotations

import os
import re
import subprocess
from functools import cache
from pathlib import Path

from . import config

# Environment variables that move local state elsewhere (the tests point them at tmp dirs).
LOCAL_DIR_VARIABLES = (f"{config.PACKAGE.upper()}_LOCAL_DIR", "MLOPS_LOCAL_DIR")


class MlopsError(Exception):
    """A problem the user can fix (missing table, no champion yet, failed gate ...).

    The CLI prints these as one `error: ...` line instead of a traceback.
    """


def is_databricks() -> bool:
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def local_dir() -> Path:
    """Root of the local state: `.local/` of the current directory unless overridden."""
    for variable in LOCAL_DIR_VARIABLES:
        if os.environ.get(variable):
            return Path(os.environ[variable]).resolve()
    return (Path.cwd() / ".local").resolve()


def configure_mlflow() -> None:
    """Point MLflow at the registry of this runtime.

    Called by every stage before it touches MLflow, so a changed local directory (tests) takes
    effect without restarting Python.
    """
    import mlflow

    if is_databricks():
        mlflow.set_tracking_uri("databricks")
        mlflow.set_registry_uri("databricks-uc")
        return
    root = local_dir()
    root.mkdir(parents=True, exist_ok=True)
    # SQLite, not a file store: the model registry (aliases, copy_model_version) needs a database.
    uri = f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)


def set_experiment(name: str | None) -> None:
    """Make `name` the active experiment, creating it with local artifact storage if needed."""
    import mlflow

    configure_mlflow()
    name = name or config.EXPERIMENT_NAME
    if not is_databricks() and mlflow.get_experiment_by_name(name) is None:
        # Without an explicit location MLflow would write ./mlruns next to wherever we run.
        artifacts = (local_dir() / "mlartifacts").as_uri()
        mlflow.create_experiment(name, artifact_location=artifacts)
    mlflow.set_experiment(name)


def check_catalog(catalog: str) -> str:
    """Locally, only the project's catalogs (and the input table's) exist, as on a workspace
    where nobody has created another one. With Spark, the metastore is the judge."""
    known = set(config.CATALOGS.values()) | {config.INPUT_TABLE.split(".")[0]}
    if not use_spark() and catalog not in known:
        raise MlopsError(
            f"unknown catalog {catalog!r}: the local catalogs are {', '.join(sorted(known))}"
        )
    return catalog


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def full_name(catalog: str, schema: str, name: str) -> str:
    """`<catalog>.<schema>.<name>`, refusing parts that would break a SQL name or a path."""
    for part in (catalog, schema, name):
        if not _IDENTIFIER.match(part or ""):
            raise MlopsError(f"{part!r} is not a valid catalog, schema or table name")
    check_catalog(catalog)
    return f"{catalog}.{schema}.{name}"


def split_name(three_level_name: str) -> tuple[str, str, str]:
    parts = three_level_name.split(".")
    if len(parts) != 3:
        raise MlopsError(
            f"{three_level_name!r} is not a three-level name <catalog>.<schema>.<table>"
        )
    full_name(*parts)
    return parts[0], parts[1], parts[2]


@cache
def git_commit() -> str:
    """Commit of the code that runs, for lineage tags; "unknown" outside a git checkout."""
    for variable in ("GIT_COMMIT", "GITHUB_SHA", "BUILD_SOURCEVERSION", "CI_COMMIT_SHA"):
        if os.environ.get(variable):
            return os.environ[variable]
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def get_spark():
    """The active Spark session (Databricks, or a local pyspark session in the tests)."""
    from pyspark.sql import SparkSession

    return SparkSession.builder.getOrCreate()


def use_spark() -> bool:
    """Tables go through Spark on Databricks; tests force it with `<PACKAGE>_USE_SPARK=1`."""
    forced = os.environ.get(f"{config.PACKAGE.upper()}_USE_SPARK")
    if forced is not None:
        return forced.strip().lower() in ("1", "true", "yes")
    return is_databricks()


# ---------------------------------------------------------------------------------------------
# Model registry helpers shared by the stages


def mlflow_client():
    from mlflow import MlflowClient

    configure_mlflow()
    return MlflowClient()


def is_missing(error: Exception) -> bool:
    code = getattr(error, "error_code", "")
    return code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE")


def alias_version(model_name: str, alias: str) -> str | None:
    """Version that carries `alias`, or None when the model or the alias does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return str(mlflow_client().get_model_version_by_alias(model_name, alias).version)
    except MlflowException as error:
        if is_missing(error):
            return None
        raise


def model_version(model_name: str, version: str):
    """The registry entry of a version, or a one-line error when it does not exist."""
    from mlflow.exceptions import MlflowException

    version = str(version).strip()
    if not version.isdigit():
        raise MlopsError(f"model version must be a number, got {version!r}")
    try:
        return mlflow_client().get_model_version(model_name, version)
    except MlflowException as error:
        if is_missing(error):
            raise MlopsError(f"{model_name} has no version {version}") from None
        raise


def require_alias(model_name: str, alias: str, hint: str = "") -> str:
    version = alias_version(model_name, alias)
    if version is None:
        raise MlopsError(f"{model_name} has no {alias} yet{hint}")
    return version


def latest_version(model_name: str) -> str:
    """Newest version number of a registered model (what `train` just registered)."""
    from mlflow.exceptions import MlflowException

    try:
        versions = mlflow_client().search_model_versions(f"name='{model_name}'")
    except MlflowException as error:
        if not is_missing(error):
            raise
        versions = []
    if not versions:
        raise MlopsError(f"{model_name} has no versions yet: run train first")
    return str(max(int(v.version) for v in versions))
