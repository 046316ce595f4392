# Databricks notebook source
# MAGIC %md
# MAGIC # Deploy: the challenger becomes champion
# MAGIC
# MAGIC Batch inference always loads the version with the alias `champion`, so deploying is moving that
# MAGIC alias to the version that just passed validation (the `challenger`). Only the challenger can be
# MAGIC deployed, so a version that skipped the gate never reaches production.
# MAGIC
# MAGIC To roll back, point `champion` at the previous version (recorded in the version's
# MAGIC `previous_champion` tag) in Catalog Explorer.

# COMMAND ----------

# MAGIC %md
# MAGIC ## Setup
# MAGIC On a job cluster the project's wheel is already installed. Serverless notebook tasks take
# MAGIC no job libraries, so this cell installs the wheel the bundle built and synced to `dist/`.
# MAGIC Opened from a Git folder, the notebook imports the package straight from `src/` instead,
# MAGIC so edits to the code show up without building anything.

# COMMAND ----------

import subprocess
import sys
from pathlib import Path

try:
    import {{ cookiecutter.__package_name }}  # noqa: F401
except ImportError:
    # Serverless notebook tasks take no job libraries: install the wheel the bundle built and
    # synced to dist/. In a Git folder there is no wheel: import from src/ instead.
    wheels = sorted((Path.cwd().parent / "dist").glob("*.whl"))
    if wheels:
        pip_install = [sys.executable, "-m", "pip", "install", "--quiet", str(wheels[-1])]
        subprocess.run(pip_install, check=True)
    else:
        sys.path.insert(0, str(Path.cwd().parent / "src"))

from {{ cookiecutter.__package_name }} import config
from {{ cookiecutter.__package_name }}.deploy import deploy

# COMMAND ----------

# MAGIC %md
# MAGIC ## Parameters
# MAGIC An empty `model_version` means "the current challenger".

# COMMAND ----------

dbutils.widgets.text("catalog", config.DEV_CATALOG, "Catalog")
dbutils.widgets.text("schema", config.SCHEMA, "Schema")
dbutils.widgets.text("model_name", config.MODEL_NAME, "Model name")
dbutils.widgets.text("model_version", "", "Model version to deploy")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Move the alias

# COMMAND ----------

result = deploy(
    catalog=dbutils.widgets.get("catalog"),
    schema=dbutils.widgets.get("schema"),
    model_name=dbutils.widgets.get("model_name"),
    model_version=dbutils.widgets.get("model_version"),
)
print(f"{result.model_name}: champion is version {result.version} (was {result.previous_champion})")
dbutils.jobs.taskValues.set("model_version", result.version)
