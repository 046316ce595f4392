"""Where the code runs: a laptop (local) or a Databricks cluster. Detection only.

What differs between the two is decided from these answers in one place each: table IO in
`tables.for_runtime()`, the MLflow registry in `registry.configure_mlflow()`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .. import config

# Environment variables that move local state elsewhere (the tests point them at tmp dirs).
LOCAL_DIR_VARIABLES = (f"{config.PACKAGE.upper()}_LOCAL_DIR", "MLOPS_LOCAL_DIR")
# Forces table IO through Spark (or not) whatever the runtime: the Spark tests set it.
USE_SPARK_VARIABLE = f"{config.PACKAGE.upper()}_USE_SPARK"


def is_databricks() -> bool:
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def use_spark() -> bool:
    """Tables go through Spark on Databricks; tests force it with `<PACKAGE>_USE_SPARK=1`."""
    forced = os.environ.get(USE_SPARK_VARIABLE)
    if forced is not None:
        return forced.strip().lower() in ("1", "true", "yes")
    return is_databricks()


def local_dir() -> Path:
    """Root of the local state: `.local/` of the current directory unless overridden."""
    for variable in LOCAL_DIR_VARIABLES:
        if os.environ.get(variable):
            return Path(os.environ[variable]).resolve()
    return (Path.cwd() / ".local").resolve()


def reports_dir() -> Path:
    """Where plots go: `.local/reports` locally; a scratch folder on Databricks, where the
    monitoring run logs them to MLflow."""
    if is_databricks():
        return Path(tempfile.mkdtemp(prefix="monitoring-"))
    return local_dir() / "reports"


def get_spark():
    """The active Spark session (Databricks, or a local pyspark session in the tests)."""
    from pyspark.sql import SparkSession

    return SparkSession.builder.getOrCreate()
