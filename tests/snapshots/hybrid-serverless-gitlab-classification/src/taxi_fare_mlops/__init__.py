"""taxi_fare_mlops: predict taxi fares, and run the model on Databricks and locally.

What a data scientist edits sits here: `features.py` (the feature columns and their types,
declared once), `model.py` (the estimator, its parameters and metrics) and `sample_data.py`
(the local stand-in for the input table), next to `config.py` (the project's settings). The
MLOps machinery (tables, registry, the stages, the CLI) is in `mlops/`:
`python -m taxi_fare_mlops --help` lists the commands.
"""

__version__ = "0.1.0"
