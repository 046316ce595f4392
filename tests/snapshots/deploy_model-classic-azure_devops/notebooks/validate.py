# Databricks notebook source
# MAGIC %md
# MAGIC # Validate: the gate before deployment
# MAGIC
# MAGIC Measures a registered version on the **hold-out trips** of `input_table` (trips no model trains
# MAGIC on) and applies two rules:
# MAGIC - its RMSE must not exceed `gate_threshold` (dollars);
# MAGIC - it must not be worse than the current `champion` by more than `champion_tolerance`
# MAGIC   (0.05 = 5 %), measured on the same trips.
# MAGIC
# MAGIC Pass: the version gets the alias `challenger`, and the next task may deploy it.
# MAGIC Fail: this task fails with a message naming the metric, its value and the threshold; `champion`
# MAGIC stays where it is, so batch inference keeps using the current model.

# COMMAND ----------

# MAGIC %md
# MAGIC ## Setup
# MAGIC `_setup` makes the package importable: installed on a job cluster, installed from the
# MAGIC bundle's wheel on serverless, imported from `src/` in a Git folder (so your edits apply).

# COMMAND ----------

# MAGIC %run ./_setup

# COMMAND ----------

from taxi_fare_mlops import config, contract
from taxi_fare_mlops.mlops.location import Location
from taxi_fare_mlops.mlops.validate import validate

# COMMAND ----------

# MAGIC %md
# MAGIC ## Parameters
# MAGIC `model_version` comes from the task before (`train`, or `copy` in the promotion job).

# COMMAND ----------

dbutils.widgets.text("catalog", config.DEV_CATALOG, "Catalog")
dbutils.widgets.text("schema", config.SCHEMA, "Schema")
dbutils.widgets.text("model_name", config.MODEL_NAME, "Model name")
dbutils.widgets.text("input_table", config.INPUT_TABLE, "Input table")
dbutils.widgets.text("experiment_name", config.EXPERIMENT_NAME, "MLflow experiment")
dbutils.widgets.text("model_version", "", "Model version to validate")
dbutils.widgets.text(
    "gate_threshold", str(contract.GATE.threshold), "Gate metric threshold (contract.GATE)"
)
dbutils.widgets.text("champion_tolerance", str(config.CHAMPION_TOLERANCE), "Tolerance vs champion")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Run the gate
# MAGIC A failure raises here and stops the job before `deploy`.

# COMMAND ----------

location = Location(
    catalog=dbutils.widgets.get("catalog"),
    schema=dbutils.widgets.get("schema"),
    model_name=dbutils.widgets.get("model_name"),
)
result = validate(
    location=location,
    model_version=dbutils.widgets.get("model_version"),
    input_table=dbutils.widgets.get("input_table"),
    experiment_name=dbutils.widgets.get("experiment_name"),
    gate_threshold=float(dbutils.widgets.get("gate_threshold")),
    champion_tolerance=float(dbutils.widgets.get("champion_tolerance")),
)
print(result.summary())

# COMMAND ----------

# MAGIC %md
# MAGIC ## Hand the validated version on
# MAGIC `deploy` reads it as the task value `tasks.validate.values.model_version`.

# COMMAND ----------

dbutils.jobs.taskValues.set("model_version", result.version)
