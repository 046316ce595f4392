# Databricks notebook source
# MAGIC %md
# MAGIC # Train a candidate model
# MAGIC
# MAGIC Fits the fare model on `input_table` and registers it as a **new version** of
# MAGIC `<catalog>.<schema>.<model_name>` in Unity Catalog. Nothing is deployed yet: the next task,
# MAGIC `validate`, decides whether this version is good enough.
# MAGIC
# MAGIC What happens, step by step:
# MAGIC 1. read the input table (or a random `sample_fraction` of it: staging trains on a sample),
# MAGIC    at most `max_training_rows` rows, a random sample drawn on the cluster (its size and share of
# MAGIC    the table are logged with the run);
# MAGIC 2. build features with `dataset.add_features` (trip duration, pickup hour and weekday, zip codes),
# MAGIC    the same code that batch inference uses;
# MAGIC 3. leave the hold-out trips out (a fixed 20 % chosen by trip id) and fit a scikit-learn pipeline;
# MAGIC 4. log parameters, hold-out metrics, the model signature and an input example to MLflow, and
# MAGIC    register the model.
# MAGIC
# MAGIC To change the model, edit `src/taxi_fare_mlops/model.py`; to add a feature,
# MAGIC edit `src/taxi_fare_mlops/features.py`. The tests (`make test`) run this notebook too.

# COMMAND ----------

# MAGIC %md
# MAGIC ## Setup
# MAGIC `_setup` makes the package importable: installed on a job cluster, installed from the
# MAGIC bundle's wheel on serverless, imported from `src/` in a Git folder (so your edits apply).

# COMMAND ----------

# MAGIC %run ./_setup

# COMMAND ----------

from taxi_fare_mlops import config
from taxi_fare_mlops.mlops.inputs import parse_count
from taxi_fare_mlops.mlops.location import Location
from taxi_fare_mlops.mlops.train import train

# COMMAND ----------

# MAGIC %md
# MAGIC ## Parameters
# MAGIC The job fills these from the bundle variables of the target (`databricks.yml`); the defaults
# MAGIC are for interactive runs.

# COMMAND ----------

dbutils.widgets.text("catalog", config.DEV_CATALOG, "Catalog")
dbutils.widgets.text("schema", config.SCHEMA, "Schema")
dbutils.widgets.text("model_name", config.MODEL_NAME, "Model name")
dbutils.widgets.text("input_table", config.INPUT_TABLE, "Input table")
dbutils.widgets.text("experiment_name", config.EXPERIMENT_NAME, "MLflow experiment")
dbutils.widgets.text("sample_fraction", "1.0", "Share of the input to train on")
dbutils.widgets.text("max_training_rows", str(config.MAX_TRAINING_ROWS), "Most rows to train on")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Train and register
# MAGIC The run appears in the MLflow experiment; the new version in Catalog Explorer under the model.

# COMMAND ----------

location = Location(
    catalog=dbutils.widgets.get("catalog"),
    schema=dbutils.widgets.get("schema"),
    model_name=dbutils.widgets.get("model_name"),
)
result = train(
    location=location,
    input_table=dbutils.widgets.get("input_table"),
    experiment_name=dbutils.widgets.get("experiment_name"),
    sample_fraction=float(dbutils.widgets.get("sample_fraction") or "1.0"),
    max_training_rows=parse_count(
        dbutils.widgets.get("max_training_rows") or str(config.MAX_TRAINING_ROWS),
        name="max_training_rows",
        minimum=1,
    ),
)
print(result.summary())

# COMMAND ----------

# MAGIC %md
# MAGIC ## Hand the version on
# MAGIC `validate` reads it as the task value `tasks.train.values.model_version`.

# COMMAND ----------

dbutils.jobs.taskValues.set("model_version", result.version)
