# Databricks notebook source
# MAGIC %md
# MAGIC # Monitoring: drift and error of the latest batch
# MAGIC
# MAGIC Compares the latest scored batch in `<catalog>.<schema>.predictions` with the data the model
# MAGIC trained on (`input_table`):
# MAGIC - **drift** per feature: population stability index (PSI) and Kolmogorov-Smirnov for numbers,
# MAGIC   Jensen-Shannon distance for zip codes;
# MAGIC - **error** (RMSE, MAE) over the rows whose real fare has arrived. Fares reach
# MAGIC   `<catalog>.<schema>.labels` later, keyed by trip id; the check first copies them into the
# MAGIC   predictions that have no label yet, which is also where the quality monitor reads them.
# MAGIC   Without labels the error is empty ("n/a"), never a violation.
# MAGIC
# MAGIC The metrics are appended to `<catalog>.<schema>.monitoring_metrics`, and the plots logged to
# MAGIC MLflow. If PSI exceeds `max_psi` or RMSE exceeds `gate_threshold`, the task value `retrain` is
# MAGIC `"true"`. Where training runs in the same environment (deploy_code) the monitoring job then
# MAGIC starts the training job; elsewhere `fail_on_violation` is `"true"`, so the task fails and
# MAGIC the job's failure notification tells the team to retrain upstream.

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
from taxi_fare_mlops.mlops.monitor import monitor

# COMMAND ----------

# MAGIC %md
# MAGIC ## Parameters

# COMMAND ----------

dbutils.widgets.text("catalog", config.DEV_CATALOG, "Catalog")
dbutils.widgets.text("schema", config.SCHEMA, "Schema")
dbutils.widgets.text("model_name", config.MODEL_NAME, "Model name")
dbutils.widgets.text("input_table", config.INPUT_TABLE, "Training data (drift baseline)")
dbutils.widgets.text("max_psi", str(config.MAX_PSI), "Highest acceptable PSI")
dbutils.widgets.text(
    "gate_threshold", str(contract.GATE.threshold), "Gate metric threshold (contract.GATE)"
)
dbutils.widgets.dropdown("fail_on_violation", "false", ["true", "false"], "Fail on a violation")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Check the latest batch

# COMMAND ----------

location = Location(
    catalog=dbutils.widgets.get("catalog"),
    schema=dbutils.widgets.get("schema"),
    model_name=dbutils.widgets.get("model_name"),
)
result = monitor(
    location=location,
    baseline_table=dbutils.widgets.get("input_table"),
    max_psi=float(dbutils.widgets.get("max_psi")),
    gate_threshold=float(dbutils.widgets.get("gate_threshold")),
)
print(result.summary())
display(result.drift)

# COMMAND ----------

# MAGIC %md
# MAGIC ## Tell the job whether to retrain

# COMMAND ----------

dbutils.jobs.taskValues.set("retrain", "true" if result.retrain else "false")
if result.violations and dbutils.widgets.get("fail_on_violation") == "true":
    raise RuntimeError("monitoring thresholds violated: " + "; ".join(result.violations))
