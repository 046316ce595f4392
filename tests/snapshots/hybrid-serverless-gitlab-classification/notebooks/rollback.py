# Databricks notebook source
# MAGIC %md
# MAGIC # Rollback: champion returns to the version it replaced
# MAGIC
# MAGIC Each time `champion` moves, the version it replaced keeps the alias `previous_champion`.
# MAGIC Rolling back moves `champion` back to that version and removes `previous_champion`; batch
# MAGIC scoring loads `champion` on its next run. Running it twice changes nothing the second time; with no version to return
# MAGIC to it fails with one line.

# COMMAND ----------

# MAGIC %md
# MAGIC ## Setup
# MAGIC `_setup` makes the package importable: installed on a job cluster, installed from the
# MAGIC bundle's wheel on serverless, imported from `src/` in a Git folder (so your edits apply).

# COMMAND ----------

# MAGIC %run ./_setup

# COMMAND ----------

from taxi_fare_mlops import config
from taxi_fare_mlops.mlops.deploy import rollback
from taxi_fare_mlops.mlops.location import Location

# COMMAND ----------

# MAGIC %md
# MAGIC ## Parameters

# COMMAND ----------

dbutils.widgets.text("catalog", config.DEV_CATALOG, "Catalog")
dbutils.widgets.text("schema", config.SCHEMA, "Schema")
dbutils.widgets.text("model_name", config.MODEL_NAME, "Model name")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Move champion back

# COMMAND ----------

location = Location(
    catalog=dbutils.widgets.get("catalog"),
    schema=dbutils.widgets.get("schema"),
    model_name=dbutils.widgets.get("model_name"),
)
result = rollback(location=location)
print(result.summary())
dbutils.jobs.taskValues.set("model_version", result.version)
