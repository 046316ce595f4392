# Databricks notebook source
# MAGIC %md
# MAGIC # Explore the data and try a model
# MAGIC
# MAGIC Start here. This notebook is not a job task: run it cell by cell, change the candidates,
# MAGIC run it again. It works the same on your laptop (on the local sample data) and in the
# MAGIC workspace (on a sample of `input_table`).
# MAGIC
# MAGIC 1. **Profile** a sample of the input: rows, missing values, values outside the ranges
# MAGIC    training keeps (`contract.TRAINING_RANGES`), and the distribution of every feature.
# MAGIC 2. **Try** the model as `features.py` and `model.py` define it, with a candidate feature, and
# MAGIC    with a candidate estimator. Each try is an MLflow run (tag `stage: explore`) in the
# MAGIC    project's experiment; nothing is registered.
# MAGIC 3. **Compare** the tries with the current `champion` on the same hold-out trips, in a table
# MAGIC    and a chart.
# MAGIC
# MAGIC A try that wins goes into `src/taxi_fare_mlops/features.py` or
# MAGIC `src/taxi_fare_mlops/model.py`; then `make test` and `make lifecycle`
# MAGIC (README, "Working on the model").

# COMMAND ----------

# MAGIC %md
# MAGIC ## Setup
# MAGIC `_setup` makes the package importable: installed on a cluster, imported from `src/` in a
# MAGIC Git folder (so your edits to the package apply here).

# COMMAND ----------

# MAGIC %run ./_setup

# COMMAND ----------
from sklearn.ensemble import RandomForestClassifier as RandomForest

from taxi_fare_mlops import config, contract
from taxi_fare_mlops.mlops import explore, reports
from taxi_fare_mlops.mlops.location import Location

# COMMAND ----------

# MAGIC %md
# MAGIC ## Parameters
# MAGIC The champion is looked up in `<catalog>.<schema>.<model_name>`; in the workspace your dev
# MAGIC deployment's schema is `dev_<you>_taxi_fare_mlops`.

# COMMAND ----------

dbutils.widgets.text("catalog", config.DEV_CATALOG, "Catalog")
dbutils.widgets.text("schema", config.SCHEMA, "Schema")
dbutils.widgets.text("model_name", config.MODEL_NAME, "Model name")
dbutils.widgets.text("input_table", config.INPUT_TABLE, "Input table")
dbutils.widgets.text("experiment_name", config.EXPERIMENT_NAME, "MLflow experiment")
dbutils.widgets.text("sample_rows", str(explore.SAMPLE_ROWS), "Rows to sample")

# COMMAND ----------

location = Location(
    catalog=dbutils.widgets.get("catalog"),
    schema=dbutils.widgets.get("schema"),
    model_name=dbutils.widgets.get("model_name"),
)
experiment_name = dbutils.widgets.get("experiment_name")
sample = explore.load_sample(
    dbutils.widgets.get("input_table"), max_rows=int(dbutils.widgets.get("sample_rows"))
)

# COMMAND ----------

# MAGIC %md
# MAGIC ## Profile
# MAGIC Missing and out-of-range values are rows training leaves out; the dashed lines on the
# MAGIC histograms are the valid ranges.

# COMMAND ----------

data_profile = explore.profile(sample)
display(data_profile)
display(reports.distributions_figure(sample, explore.profile_columns(), contract.TRAINING_RANGES))

# COMMAND ----------

# MAGIC %md
# MAGIC ## Try candidates
# MAGIC Edit these cells: a candidate feature is a function of the featurised rows (the columns
# MAGIC of `dataset.add_features`); a candidate estimator replaces the last step of
# MAGIC `model.build_pipeline()` (the columns are prepared as usual). `try_candidate` also takes
# MAGIC `params=`, which override `model.PARAMS`.

# COMMAND ----------

candidate_features = {
    # Night trips (8 pm to 6 am) pay a surcharge: a flag may say it more plainly than the hour.
    "is_night": lambda rows: (rows["pickup_hour"] >= 20) | (rows["pickup_hour"] < 6),
}
# Another family of trees: averaged deep trees instead of boosted shallow ones.
candidate_estimator = RandomForest(n_estimators=30, min_samples_leaf=5, random_state=config.SEED)

# COMMAND ----------

tries = [
    explore.try_candidate(sample, name="current", experiment_name=experiment_name),
    explore.try_candidate(
        sample,
        name="candidate feature",
        candidate_features=candidate_features,
        experiment_name=experiment_name,
    ),
    explore.try_candidate(
        sample,
        name="candidate estimator",
        estimator=candidate_estimator,
        experiment_name=experiment_name,
    ),
]
for trial in tries:
    print(trial.summary())

# COMMAND ----------

# MAGIC %md
# MAGIC ## Compare with the champion
# MAGIC `<metric>_vs_champion` is the relative change of the gate's metric (`contract.GATE`)
# MAGIC against the champion's on these rows. Without a champion yet (run `make lifecycle` locally, or the
# MAGIC training job), the tries are compared with each other.

# COMMAND ----------

champion = explore.champion_trial(location, sample)
comparison = explore.compare([*tries, champion])
display(comparison)
display(reports.comparison_figure(comparison))
