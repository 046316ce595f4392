# Databricks notebook source
# MAGIC %md
# MAGIC # Promote: copy an approved model into this environment
# MAGIC
# MAGIC The first task of the promotion job. It copies a version of the model from the previous
# MAGIC environment's catalog (`source_catalog`) into this one with `MlflowClient.copy_model_version`:
# MAGIC the version with alias `source_alias` (normally `champion`), or exactly `source_version` when
# MAGIC that is set. The copy carries lineage tags: the source model URI and version, the git commit
# MAGIC that trained it and when it was promoted.
# MAGIC
# MAGIC Promoting the same source version again does not make a second copy. The job's next tasks
# MAGIC validate the copy on this environment's data and make it champion.

# COMMAND ----------

# MAGIC %md
# MAGIC ## Setup
# MAGIC `_setup` makes the package importable: installed on a job cluster, installed from the
# MAGIC bundle's wheel on serverless, imported from `src/` in a Git folder (so your edits apply).

# COMMAND ----------

# MAGIC %run ./_setup

# COMMAND ----------

from taxi_fare_mlops import config
from taxi_fare_mlops.mlops.location import Location
from taxi_fare_mlops.mlops.promote import copy_model

# COMMAND ----------

# MAGIC %md
# MAGIC ## Parameters

# COMMAND ----------

dbutils.widgets.text("catalog", config.STAGING_CATALOG, "Catalog")
dbutils.widgets.text("schema", config.SCHEMA, "Schema")
dbutils.widgets.text("model_name", config.MODEL_NAME, "Model name")
dbutils.widgets.text("source_catalog", config.DEV_CATALOG, "Copy from catalog")
dbutils.widgets.text("source_alias", config.CHAMPION, "Source alias")
dbutils.widgets.text("source_version", "", "Source version (empty: use the alias)")
dbutils.widgets.text("source_schema", "", "Source schema (empty: this schema's name)")
dbutils.widgets.text("source_model_name", "", "Source model (empty: this model's name)")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Copy

# COMMAND ----------

location = Location(
    catalog=dbutils.widgets.get("catalog"),
    schema=dbutils.widgets.get("schema"),
    model_name=dbutils.widgets.get("model_name"),
)
result = copy_model(
    location=location,
    source_catalog=dbutils.widgets.get("source_catalog"),
    source_alias=dbutils.widgets.get("source_alias"),
    source_version=dbutils.widgets.get("source_version"),
    source_schema=dbutils.widgets.get("source_schema"),
    source_model_name=dbutils.widgets.get("source_model_name"),
)
print(result.summary())

# COMMAND ----------

# MAGIC %md
# MAGIC ## Hand the copied version on
# MAGIC `validate` reads it as the task value `tasks.copy.values.model_version`.

# COMMAND ----------

dbutils.jobs.taskValues.set("model_version", result.version)
