# Databricks notebook source
# MAGIC %md
# MAGIC # Batch inference
# MAGIC
# MAGIC Scores every row of `input_table` with the `champion` version of the model and writes the
# MAGIC result to `<catalog>.<schema>.predictions`: the trip id, the features, the prediction, the fare
# MAGIC when it is known, the model version, the time of scoring and the `batch_id`.
# MAGIC
# MAGIC Each run is one batch (by default today's date). Earlier batches stay in the table, which is
# MAGIC what monitoring looks at; running the same batch again replaces it, so a retried job never
# MAGIC leaves duplicates. On Databricks the model runs on the cluster through
# MAGIC `mlflow.pyfunc.spark_udf`.

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
from {{ cookiecutter.__package_name }}.score import score

# COMMAND ----------

# MAGIC %md
# MAGIC ## Parameters

# COMMAND ----------

dbutils.widgets.text("catalog", config.DEV_CATALOG, "Catalog")
dbutils.widgets.text("schema", config.SCHEMA, "Schema")
dbutils.widgets.text("model_name", config.MODEL_NAME, "Model name")
dbutils.widgets.text("input_table", config.INPUT_TABLE, "Table to score")
dbutils.widgets.text("batch_id", "", "Batch id (empty: today's date)")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Score

# COMMAND ----------

result = score(
    catalog=dbutils.widgets.get("catalog"),
    schema=dbutils.widgets.get("schema"),
    model_name=dbutils.widgets.get("model_name"),
    input_table=dbutils.widgets.get("input_table"),
    batch_id=dbutils.widgets.get("batch_id"),
)
print(f"scored {result.rows:,} rows with version {result.model_version} into {result.table}")
dbutils.jobs.taskValues.set("rows", result.rows)
