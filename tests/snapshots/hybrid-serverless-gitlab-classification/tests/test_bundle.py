"""The bundle configuration is valid offline: schema, resource loading, variables and paths."""

from pathlib import Path

import pytest

from taxi_fare_mlops import config

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


def _tasks_by_job(project: Path) -> dict[str, dict[str, dict]]:
    jobs: dict[str, dict[str, dict]] = {}
    for document in bundle_validation.bundle_documents(project).values():
        for _, resources in bundle_validation.resource_sections(document):
            for job_key, job in (resources.get("jobs") or {}).items():
                jobs[job_key] = {task["task_key"]: task for task in job["tasks"]}
    return jobs


def test_rollback_job_is_everywhere_and_run_by_hand():
    for target in ("dev", "test", "staging", "prod"):
        jobs = bundle_validation.target_resources(PROJECT, target)["jobs"]
        assert "rollback_job" in jobs, target
        assert "schedule" not in jobs["rollback_job"] and "trigger" not in jobs["rollback_job"]
    assert "rollback" in _tasks_by_job(PROJECT)["rollback_job"]


def test_the_endpoint_follows_every_task_that_moves_champion():
    """With serving, `update_endpoint` runs right after each task that moves champion (deploy,
    rollback), and nowhere else; without it, no job has the task."""
    for job_key, tasks in _tasks_by_job(PROJECT).items():
        movers = {key for key in tasks if key in ("deploy", "rollback")}
        if not config.INCLUDE_SERVING:
            assert "update_endpoint" not in tasks, job_key
            continue
        if not movers:
            assert "update_endpoint" not in tasks, job_key
            continue
        task = tasks["update_endpoint"]
        assert [d["task_key"] for d in task["depends_on"]] == sorted(movers), job_key
        assert task["notebook_task"]["notebook_path"] == "../notebooks/update_endpoint.py"
        parameters = task["notebook_task"]["base_parameters"]
        assert parameters["endpoint_name"] == "${var.serving_endpoint}"
        # Endpoint permissions are workspace ACLs: a workspace group.
        assert parameters["query_group"] == "${var.workspace_read_group}"


def test_serving_scales_to_zero_outside_prod_and_ci_makes_no_endpoint():
    if not config.INCLUDE_SERVING:
        assert bundle_validation.variable_default(PROJECT, "serving_endpoint") is None
        return
    scale = {
        t: bundle_validation.variable_default(PROJECT, "serving_scale_to_zero", t)
        for t in ("dev", "test", "staging", "prod")
    }
    assert scale == {"dev": "true", "test": "true", "staging": "true", "prod": "false"}
    assert bundle_validation.variable_default(PROJECT, "serving_endpoint", "test") == ""
    assert bundle_validation.variable_default(PROJECT, "serving_endpoint", "prod") == (
        "${bundle.name}-${bundle.target}"
    )
