# Databricks notebook source
# MAGIC %md
# MAGIC # Quality monitor of the predictions
# MAGIC
# MAGIC Runs after `score` in `batch_inference_job`. Makes sure `<catalog>.<schema>.predictions`
# MAGIC exists (empty, with its known columns, if scoring has not written it yet) and carries a
# MAGIC Lakehouse quality monitor: an inference-log profile for regression, one window a day, its
# MAGIC metric tables in the same schema. The first run creates the monitor; later runs refresh it.
# MAGIC
# MAGIC The monitor is made here rather than declared in the bundle because a bundle resource
# MAGIC would need the table at deploy time, before any scoring run has created it.

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
from taxi_fare_mlops.mlops.quality_monitor import create_monitor

# COMMAND ----------

# MAGIC %md
# MAGIC ## Parameters

# COMMAND ----------

dbutils.widgets.text("catalog", config.DEV_CATALOG, "Catalog")
dbutils.widgets.text("schema", config.SCHEMA, "Schema")
dbutils.widgets.text("model_name", config.MODEL_NAME, "Model name")
dbutils.widgets.text("assets_dir", "", "Workspace folder of the monitor's dashboard")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Table, then monitor

# COMMAND ----------

location = Location(
    catalog=dbutils.widgets.get("catalog"),
    schema=dbutils.widgets.get("schema"),
    model_name=dbutils.widgets.get("model_name"),
)
result = create_monitor(location=location, assets_dir=dbutils.widgets.get("assets_dir"))
print(result.summary())
dbutils.jobs.taskValues.set("monitor_created", result.created_monitor)
