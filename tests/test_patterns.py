"""The deployment patterns, asserted from the parsed bundle: which job runs where, on which
catalog, copying from where (DESIGN.md, "The three deployment patterns")."""

from __future__ import annotations

import pytest

from baking import PATTERNS, TARGETS, bake

TRAINING_TARGETS = {
    "deploy_code": {"dev", "test", "staging", "prod"},
    "deploy_model": {"dev", "test"},
    "hybrid": {"dev", "test", "staging"},
}
PROMOTION_TARGETS = {"deploy_code": set(), "deploy_model": {"staging", "prod"}, "hybrid": {"prod"}}
PROMOTION_SOURCE = {
    "deploy_model": {"staging": "dev", "prod": "staging"},
    "hybrid": {"prod": "staging"},
}
CATALOGS = {"dev": "ml_dev", "test": "ml_ci", "staging": "ml_staging", "prod": "ml_prod"}
CATALOG_ANSWERS = {f"{target}_catalog": catalog for target, catalog in CATALOGS.items()}


def target_variable(project, target: str, name: str):
    root = project.yaml("databricks.yml")
    overrides = root["targets"][target].get("variables") or {}
    return overrides.get(name, root["variables"][name].get("default"))


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("monitoring", [True, False])
def test_each_job_exists_in_exactly_the_targets_its_pattern_needs(pattern, monitoring):
    project = bake(deployment_pattern=pattern, include_monitoring=monitoring)
    for target in TARGETS:
        expected = {"batch_inference_job"}
        expected |= {"monitoring_job"} if monitoring else set()
        expected |= {"training_job"} if target in TRAINING_TARGETS[pattern] else set()
        expected |= {"promotion_job"} if target in PROMOTION_TARGETS[pattern] else set()
        assert set(project.jobs_in_target(target)) == expected, target


@pytest.mark.parametrize("pattern", PATTERNS)
def test_each_target_uses_its_answered_catalog(pattern):
    project = bake(deployment_pattern=pattern, **CATALOG_ANSWERS)
    for target, catalog in CATALOGS.items():
        assert target_variable(project, target, "catalog") == catalog
    model = project.yaml("resources/model.yml")["resources"]["registered_models"]["model"]
    assert model["catalog_name"] == "${var.catalog}"


@pytest.mark.parametrize("pattern", ["deploy_model", "hybrid"])
def test_promotion_copies_from_the_previous_catalog(pattern):
    project = bake(deployment_pattern=pattern, **CATALOG_ANSWERS)
    for target, source in PROMOTION_SOURCE[pattern].items():
        assert target_variable(project, target, "source_catalog") == CATALOGS[source]
        job = project.jobs_in_target(target)["promotion_job"]
        copy = next(task for task in job["tasks"] if task["task_key"] == "copy")
        assert copy["notebook_task"]["base_parameters"]["source_catalog"] == "${var.source_catalog}"
        assert [t["task_key"] for t in job["tasks"]] == ["copy", "validate", "deploy"]
        assert {p["name"] for p in job["parameters"]} == {"source_alias", "source_version"}


def test_deploy_code_trains_on_a_sample_in_staging_and_everything_in_prod():
    project = bake(deployment_pattern="deploy_code")
    assert float(target_variable(project, "staging", "training_sample_fraction")) < 1
    assert float(target_variable(project, "prod", "training_sample_fraction")) == 1
    train = project.jobs_in_target("prod")["training_job"]["tasks"][0]
    assert train["notebook_task"]["base_parameters"]["sample_fraction"] == (
        "${var.training_sample_fraction}"
    )


@pytest.mark.parametrize("pattern", PATTERNS)
def test_training_job_is_train_validate_deploy_passing_the_version_on(pattern):
    project = bake(deployment_pattern=pattern)
    job = project.jobs_in_target("dev")["training_job"]
    assert [t["task_key"] for t in job["tasks"]] == ["train", "validate", "deploy"]
    validate, deploy = job["tasks"][1], job["tasks"][2]
    assert validate["depends_on"] == [{"task_key": "train"}]
    assert validate["notebook_task"]["base_parameters"]["model_version"] == (
        "{{tasks.train.values.model_version}}"
    )
    assert deploy["notebook_task"]["base_parameters"]["model_version"] == (
        "{{tasks.validate.values.model_version}}"
    )


def test_test_target_is_where_the_integration_test_runs():
    hosts = {
        pattern: bake(deployment_pattern=pattern).yaml("databricks.yml")["targets"]
        for pattern in PATTERNS
    }
    assert (
        hosts["deploy_code"]["test"]["workspace"]["host"]
        == (hosts["deploy_code"]["staging"]["workspace"]["host"])
    )
    for pattern in ("deploy_model", "hybrid"):
        assert (
            hosts[pattern]["test"]["workspace"]["host"]
            == hosts[pattern]["dev"]["workspace"]["host"]
        )


def test_targets_modes_and_prod_identity():
    sp = "12345678-1234-1234-1234-123456789abc"
    targets = bake(prod_service_principal=sp).yaml("databricks.yml")["targets"]
    assert targets["dev"]["mode"] == "development" and targets["dev"]["default"] is True
    assert targets["prod"]["mode"] == "production"
    assert targets["prod"]["workspace"]["root_path"].startswith("/Workspace/Shared/")
    assert targets["prod"]["run_as"] == {"service_principal_name": sp}
    assert "run_as" not in bake().yaml("databricks.yml")["targets"]["prod"]


@pytest.mark.parametrize("compute", ["serverless", "classic"])
@pytest.mark.parametrize("cloud", ["azure", "aws", "gcp"])
def test_every_task_gets_the_wheel_on_the_chosen_compute(compute, cloud):
    project = bake(compute=compute, cloud=cloud, deployment_pattern="hybrid")
    bundle = project.yaml("databricks.yml")
    for target in TARGETS:
        for job in project.jobs_in_target(target).values():
            notebook_tasks = [task for task in job["tasks"] if "notebook_task" in task]
            for task in notebook_tasks:
                if compute == "serverless":
                    # The Jobs API refuses environments and libraries on serverless notebook
                    # tasks: the notebooks install the synced wheel themselves.
                    assert not {"environment_key", "libraries", "job_cluster_key"} & set(task)
                else:
                    assert task["job_cluster_key"] == "main"
                    assert task["libraries"] == [{"whl": "../dist/*.whl"}]
            if compute == "serverless":
                assert not {"environments", "job_clusters"} & set(job)
            else:
                cluster = job["job_clusters"][0]["new_cluster"]
                assert cluster["data_security_mode"] == "SINGLE_USER"
    if compute == "serverless":
        assert bundle["sync"]["include"] == ["dist/*.whl"]
    else:
        assert "sync" not in bundle
        node_type = bundle["variables"]["node_type_id"]["default"]
        prefix = {"azure": "Standard_", "aws": "m5", "gcp": "n2-"}[cloud]
        assert node_type.startswith(prefix)
        assert "-ml-" in bundle["variables"]["spark_version"]["default"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_every_job_has_timeouts_and_failure_notifications(pattern):
    project = bake(deployment_pattern=pattern)
    for target in TARGETS:
        for job in project.jobs_in_target(target).values():
            assert job["timeout_seconds"] > 0
            assert job["email_notifications"]["on_failure"] == ["${var.notification_email}"]
            assert all(
                t.get("timeout_seconds", 0) > 0 for t in job["tasks"] if "notebook_task" in t
            )
            train = [t for t in job["tasks"] if t["task_key"] == "train"]
            assert all("max_retries" not in t for t in train), "retrying train registers twice"


@pytest.mark.parametrize("pattern", PATTERNS)
def test_monitoring_retrains_only_where_training_runs_in_every_target(pattern):
    project = bake(deployment_pattern=pattern, include_monitoring=True)
    tasks = {t["task_key"]: t for t in project.jobs_in_target("prod")["monitoring_job"]["tasks"]}
    monitor_parameters = tasks["monitor"]["notebook_task"]["base_parameters"]
    if pattern == "deploy_code":
        assert tasks["retraining_needed"]["condition_task"]["left"] == (
            "{{tasks.monitor.values.retrain}}"
        )
        assert tasks["retrain"]["run_job_task"]["job_id"] == "${resources.jobs.training_job.id}"
        assert monitor_parameters["fail_on_violation"] == "false"
    else:
        assert set(tasks) == {"monitor"}
        assert monitor_parameters["fail_on_violation"] == "true"


def test_quality_monitor_watches_predictions_and_is_paused_in_dev():
    project = bake(include_monitoring=True)
    document = project.yaml("resources/predictions_monitor.yml")
    monitor = document["resources"]["quality_monitors"]["predictions_monitor"]
    assert monitor["table_name"] == "${var.catalog}.${var.schema}.predictions"
    log = monitor["inference_log"]
    assert log["problem_type"] == "PROBLEM_TYPE_REGRESSION"
    assert (log["model_id_col"], log["timestamp_col"]) == ("model_version", "scored_at")
    assert log["granularities"] == ["1 day"]
    dev = document["targets"]["dev"]["resources"]["quality_monitors"]["predictions_monitor"]
    assert dev["schedule"]["pause_status"] == "PAUSED"
