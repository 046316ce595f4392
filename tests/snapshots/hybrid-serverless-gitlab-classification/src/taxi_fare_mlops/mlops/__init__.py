"""The MLOps machinery: tables, registry, the pipeline stages, the CLI and the local lifecycle.

A data scientist rarely needs to open this package: the model lives in `features.py`,
`model.py` and `sample_data.py` one level up, and every stage here reads them from there.
"""
