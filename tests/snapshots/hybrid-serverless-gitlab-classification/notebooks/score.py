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
# MAGIC `_setup` makes the package importable: installed on a job cluster, installed from the
# MAGIC bundle's wheel on serverless, imported from `src/` in a Git folder (so your edits apply).

# COMMAND ----------

# MAGIC %run ./_setup

# COMMAND ----------

from taxi_fare_mlops import config
from taxi_fare_mlops.mlops.location import Location
from taxi_fare_mlops.mlops.score import score

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

location = Location(
    catalog=dbutils.widgets.get("catalog"),
    schema=dbutils.widgets.get("schema"),
    model_name=dbutils.widgets.get("model_name"),
)
result = score(
    location=location,
    input_table=dbutils.widgets.get("input_table"),
    batch_id=dbutils.widgets.get("batch_id"),
)
print(result.summary())
dbutils.jobs.taskValues.set("rows", result.rows)
