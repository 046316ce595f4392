"""Every notebook, run end to end against the local runtime, the way the jobs chain them."""

import subprocess
import sys

import pytest

from {{ cookiecutter.__package_name }} import config, features
from {{ cookiecutter.__package_name }}.mlops import registry, tables
from {{ cookiecutter.__package_name }}.mlops.labels import record_labels
from {{ cookiecutter.__package_name }}.mlops.location import Location
from {{ cookiecutter.__package_name }}.mlops.validate import ValidationFailed

from conftest import copy_of
from notebook_runner import (
    HEADER,
    INTERACTIVE_NOTEBOOKS,
    NOTEBOOKS,
    cells,
    notebook_names,
    notebook_namespace,
    run_notebook,
    run_targets,
    widget_names,
)

# The widgets the bundle's jobs pass: the contract between notebooks and resources/*.yml.
EXPECTED_WIDGETS = {
    "train": {"input_table", "experiment_name", "sample_fraction", "max_training_rows"},
    "validate": {
        "input_table",
        "experiment_name",
        "model_version",
        "max_rmse",
        "champion_tolerance",
    },
    "deploy": {"model_version"},
    "promote": {"source_catalog", "source_alias", "source_version"},
    "score": {"input_table", "batch_id"},
    "monitor": {"max_psi", "max_rmse", "fail_on_violation"},
    "create_monitor": {"assets_dir"},
    "rollback": set(),
    "update_endpoint": {"endpoint_name", "scale_to_zero", "query_group"},
