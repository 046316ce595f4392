"""taxi_fare_mlops: data, features, training, validation, deployment, scoring, monitoring.

One module per stage of the pipeline; `python -m taxi_fare_mlops --help` lists the commands.
"""

__version__ = "0.1.0"
