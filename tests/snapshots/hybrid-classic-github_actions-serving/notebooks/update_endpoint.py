# Databricks notebook source
# MAGIC %md
# MAGIC # Serving endpoint: serve exactly the champion
# MAGIC
# MAGIC Runs after `champion` moves (deploy, promotion, rollback). Creates the real-time endpoint on
# MAGIC the first run, then updates it to the champion version, and waits until it is ready. If the
# MAGIC new version does not become ready, the task fails with one line and the endpoint keeps serving
# MAGIC the version it served before. Requests and responses are logged to the AI Gateway inference
# MAGIC table `<catalog>.<schema>.serving_payload`; the workspace read group may query the endpoint
# MAGIC (`CAN_QUERY`). The details, and the documentation pages they follow, are in
# MAGIC `src/taxi_fare_mlops/mlops/endpoint.py`.
# MAGIC
# MAGIC The endpoint is made here rather than declared in the bundle: a declared endpoint needs a model
# MAGIC version at `bundle deploy`, before any training run has registered one.

# COMMAND ----------

# MAGIC %md
# MAGIC ## Setup
# MAGIC `_setup` makes the package importable: installed on a job cluster, installed from the
# MAGIC bundle's wheel on serverless, imported from `src/` in a Git folder (so your edits apply).

# COMMAND ----------

# MAGIC %run ./_setup

# COMMAND ----------

from taxi_fare_mlops import config
from taxi_fare_mlops.mlops.endpoint import update_endpoint
from taxi_fare_mlops.mlops.location import Location

# COMMAND ----------

# MAGIC %md
# MAGIC ## Parameters
# MAGIC `endpoint_name` is the name before the bundle's prefix (development mode adds the developer's,
# MAGIC as to the model); empty means this target has no endpoint. The prefix is what the bundle put
# MAGIC before `declared_model_name` in the model's name. The job does not pass it: jobs name the model
# MAGIC only through the bundle resource (`tests/bundle_validation.py`), so it is the generated default.

# COMMAND ----------

dbutils.widgets.text("catalog", config.DEV_CATALOG, "Catalog")
dbutils.widgets.text("schema", config.SCHEMA, "Schema")
dbutils.widgets.text("model_name", config.MODEL_NAME, "Model name")
dbutils.widgets.text("endpoint_name", "", "Serving endpoint (before the bundle's prefix)")
dbutils.widgets.text("declared_model_name", config.MODEL_NAME, "Model name without the prefix")
dbutils.widgets.dropdown("scale_to_zero", "true", ["true", "false"], "Scale to zero when idle")
dbutils.widgets.text("query_group", "", "Workspace group granted CAN_QUERY")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Create or update, then wait

# COMMAND ----------

location = Location(
    catalog=dbutils.widgets.get("catalog"),
    schema=dbutils.widgets.get("schema"),
    model_name=dbutils.widgets.get("model_name"),
)
result = update_endpoint(
    location=location,
    endpoint=dbutils.widgets.get("endpoint_name"),
    model_name=dbutils.widgets.get("declared_model_name"),
    scale_to_zero=dbutils.widgets.get("scale_to_zero") == "true",
    query_group=dbutils.widgets.get("query_group"),
)
print(result.summary())
dbutils.jobs.taskValues.set("endpoint_action", result.action)
