"""Project settings chosen when the project was generated.

This is the one file the template fills in; every other module imports its defaults from here.
On Databricks the jobs pass their own values (bundle variables -> notebook widgets), so these
defaults matter for local runs, the tests and the notebook widgets' initial values. The bundle
variables of databricks.yml default to the same values; tests/test_config.py checks that.
"""

PACKAGE = "taxi_fare_mlops"
PROJECT_NAME = "taxi-fare-mlops"
DESCRIPTION = "An ML model on Databricks, started from the NYC taxi example of the template"

# deploy_code | deploy_model | hybrid: see README.md, "How a model reaches production".
DEPLOYMENT_PATTERN = "hybrid"
INCLUDE_MONITORING = True
# A real-time endpoint that follows champion (Databricks), and `serve` on this machine.
INCLUDE_SERVING = True

# One Unity Catalog catalog per environment; locally each is a folder under .local/warehouse.
CATALOGS = {
    "dev": "dev",
    "test": "test",
    "staging": "staging",
    "prod": "prod",
}
DEV_CATALOG = CATALOGS["dev"]
STAGING_CATALOG = CATALOGS["staging"]
PROD_CATALOG = CATALOGS["prod"]

SCHEMA = "taxi_fare_mlops"
MODEL_NAME = "taxi_fare_mlops_model"
INPUT_TABLE = "samples.nyctaxi.trips"
PREDICTIONS_TABLE = "predictions"
# Ground truth that arrives after scoring: the label per key (see mlops/labels.py).
LABELS_TABLE = "labels"
MONITORING_TABLE = "monitoring_metrics"
# Locally, `lifecycle` writes each batch of new rows here (with the outcomes the generator drew,
# which `label` then records as if they had arrived a day later).
NEW_ROWS_TABLE = "new_rows"
EXPERIMENT_NAME = f"/Shared/{PROJECT_NAME}"

# Aliases in the registry: a candidate that passed validation, and the version batch inference uses.
CHALLENGER = "challenger"
CHAMPION = "champion"
# The version champion replaced, set when champion moves: what `rollback` returns to.
PREVIOUS_CHAMPION = "previous_champion"

# Validation gate (bundle variables gate_threshold, champion_tolerance): the metric, its
# direction and its threshold are the data contract's (`contract.GATE`); a candidate must also
# be no worse than the current champion by more than 5 %. Monitoring uses the same
# gate_threshold for the error of scored batches.
CHAMPION_TOLERANCE = 0.05
# Monitoring (bundle variable max_psi): a population stability index above 0.2 is the usual
# "significant shift" rule of thumb.
MAX_PSI = 0.2

# The patterns whose monitoring_job starts training_job on a violation: those that train in
# every environment (resources/monitoring_job.yml). In the others the job fails and notifies, and
# retraining happens upstream.
RETRAINING_PATTERNS = ("deploy_code",)

# Local sample data: small enough that `lifecycle` runs in seconds, large enough to train on.
SAMPLE_ROWS = 20_000
SEED = 42
# deploy_code trains staging on a sample of the data (the integration test), prod on all of it.
STAGING_SAMPLE_FRACTION = 0.1
# Training reads at most this many rows (bundle variable max_training_rows), a seeded random
# sample drawn on the cluster: with the features built, about 1 KB a row at the peak in pandas,
# so 5 million rows take about 5 GB, a third of the 16 GB driver of the default node type.
# README.md, "How big can it get", says when to raise it and when to go distributed instead.
MAX_TRAINING_ROWS = 5_000_000
