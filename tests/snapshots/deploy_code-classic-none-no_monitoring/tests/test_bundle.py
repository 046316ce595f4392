"""The bundle configuration is valid offline: schema, resource loading, variables and paths."""

from pathlib import Path

import pytest

import bundle_validation
from notebook_runner import widget_names

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def validator():
    schema, source = bundle_validation.load_schema()
    if schema is None:
        pytest.skip(source)
    return bundle_validation.schema_validator(schema)


def test_every_bundle_file_matches_the_official_schema(validator):
    assert bundle_validation.schema_problems(PROJECT, validator) == []


def test_every_resource_loads_with_databricks_bundles():
    assert bundle_validation.resource_loading_problems(PROJECT) == []


def test_variables_modes_and_paths_are_consistent():
    assert bundle_validation.semantic_problems(PROJECT) == []


def test_every_parameter_a_job_passes_is_a_widget_of_its_notebook():
    for path, document in bundle_validation.bundle_documents(PROJECT).items():
        for _, resources in bundle_validation.resource_sections(document):
            for job_key, job in (resources.get("jobs") or {}).items():
                notebook_widgets = set()
                for task in job["tasks"]:
                    if "notebook_task" not in task:
                        continue
                    widgets = set(widget_names(Path(task["notebook_task"]["notebook_path"]).stem))
                    notebook_widgets |= widgets
                    missing = set(task["notebook_task"].get("base_parameters", {})) - widgets
                    assert not missing, f"{path.name}: {job_key}.{task['task_key']} {missing}"
                # Job parameters reach every task; at least one notebook must read each.
                job_parameters = {p["name"] for p in job.get("parameters", [])}
                assert job_parameters <= notebook_widgets, f"{path.name}: {job_key}"
