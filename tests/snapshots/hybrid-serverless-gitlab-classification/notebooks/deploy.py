# Databricks notebook source
# MAGIC %md
# MAGIC # Deploy: the challenger becomes champion
# MAGIC
# MAGIC Batch inference always loads the version with the alias `champion`, so deploying is moving that
# MAGIC alias to the version that just passed validation (the `challenger`). Only the challenger can be
# MAGIC deployed, so a version that skipped the gate never reaches production.
# MAGIC
# MAGIC To roll back, run `rollback_job` (or `python -m taxi_fare_mlops rollback`): `champion` returns to the
# MAGIC version it replaced, which keeps the alias `previous_champion` until then.

# COMMAND ----------

# MAGIC %md
# MAGIC ## Setup
# MAGIC `_setup` makes the package importable: installed on a job cluster, installed from the
# MAGIC bundle's wheel on serverless, imported from `src/` in a Git folder (so your edits apply).

# COMMAND ----------

# MAGIC %run ./_setup

# COMMAND ----------

from taxi_fare_mlops import config
from taxi_fare_mlops.mlops.deploy import deploy
from taxi_fare_mlops.mlops.location import Location

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

location = Location(
    catalog=dbutils.widgets.get("catalog"),
    schema=dbutils.widgets.get("schema"),
    model_name=dbutils.widgets.get("model_name"),
)
result = deploy(
    location=location,
    model_version=dbutils.widgets.get("model_version"),
)
print(result.summary())
dbutils.jobs.taskValues.set("model_version", result.version)
