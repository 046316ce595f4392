"""The deployment patterns, asserted from the parsed bundle: which job runs where, on which
catalog, copying from where (DESIGN.md, "The three deployment patterns")."""

from __future__ import annotations

import re

import pytest

from baking import PATTERNS, TARGETS, bake, notebook_parameters

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
        expected = {"batch_inference_job", "rollback_job"}
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
        assert {p["name"] for p in job["parameters"]} >= {
            "catalog",
            "schema",
            "model_name",
            "source_alias",
            "source_version",
            "source_schema",
            "source_model_name",
        }


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
    # Not /Workspace/Shared: the CLI warns that it is writable by every user (validate --strict
    # fails), bundle/permissions/validate.go at v1.13.0.
    # One deployment of prod whoever deploys: its state lives in the run-as principal's home
    # (validate_target_mode.go asks production targets for a root_path naming one principal).
    home = "/Workspace/Users/${workspace.current_user.userName}/.bundle/"
    assert targets["prod"]["workspace"]["root_path"].startswith(f"/Workspace/Users/{sp}/.bundle/")
    assert targets["staging"]["workspace"]["root_path"].startswith(home)
    assert targets["prod"]["run_as"] == {"service_principal_name": sp}
    unanswered = bake().yaml("databricks.yml")["targets"]["prod"]
    assert "run_as" not in unanswered
    assert unanswered["workspace"]["root_path"].startswith(home)


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
                    # tasks: `_setup` installs the wheel `bundle deploy` uploaded to wheel_dir.
                    assert not {"environment_key", "libraries", "job_cluster_key"} & set(task)
                    parameters = notebook_parameters(job, task)
                    assert parameters["wheel_dir"] == "${workspace.artifact_path}/.internal"
                else:
                    assert task["job_cluster_key"] == "main"
                    assert task["libraries"] == [{"whl": "../dist/*.whl"}]
            if compute == "serverless":
                assert not {"environments", "job_clusters"} & set(job)
            else:
                cluster = job["job_clusters"][0]["new_cluster"]
                assert cluster["data_security_mode"] == "SINGLE_USER"
    # No sync.include of dist/*.whl: it matches nothing in a fresh clone and the CLI warns
    # (bundle/config/validate/validate_sync_patterns.go at v1.13.0).
    assert "sync" not in bundle
    # Empties dist/ first (one wheel per deploy), then builds; python3 only, no shell tools.
    steps = bundle["artifacts"]["python_artifact"]["build"].split(" && ")
    assert all(step.startswith("python3 ") for step in steps), steps
    assert steps[-1].startswith("python3 -m pip wheel")
    if compute == "classic":
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


@pytest.mark.parametrize("monitoring", [True, False])
def test_quality_monitor_is_made_after_scoring_not_declared(monitoring):
    """A `quality_monitors` resource needs its table at deploy time; the predictions table
    appears only with the first scoring run. So batch inference makes the monitor after `score`."""
    project = bake(include_monitoring=monitoring)
    assert "resources/predictions_monitor.yml" not in project.relative_files()
    for target in TARGETS:
        job = project.jobs_in_target(target)["batch_inference_job"]
        keys = [t["task_key"] for t in job["tasks"]]
        assert keys == (["score", "create_monitor"] if monitoring else ["score"])
        if monitoring:
            create = job["tasks"][1]
            assert create["depends_on"] == [{"task_key": "score"}]
            parameters = notebook_parameters(job, create)
            assert parameters["schema"] == "${resources.schemas.project_schema.name}"
    for document in project.bundle_files().values():
        assert "quality_monitors" not in (document.get("resources") or {})


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_schema_is_a_resource_and_jobs_use_resource_names(pattern):
    """Development mode and the test target's name_prefix rename schemas, registered models and
    experiments (bundle/config/mutator/resourcemutator/apply_presets.go at v1.13.0); tasks must
    name them through the resources to write where the bundle manages."""
    project = bake(deployment_pattern=pattern)
    schema = project.yaml("resources/schema.yml")["resources"]["schemas"]["project_schema"]
    assert (schema["catalog_name"], schema["name"]) == ("${var.catalog}", "${var.schema}")
    model = project.yaml("resources/model.yml")["resources"]["registered_models"]["model"]
    assert model["schema_name"] == "${resources.schemas.project_schema.name}"
    names = {
        "schema": "${resources.schemas.project_schema.name}",
        "model_name": "${resources.registered_models.model.name}",
        "experiment_name": "${resources.experiments.experiment.name}",
    }
    for target in TARGETS:
        for job in project.jobs_in_target(target).values():
            for task in job["tasks"]:
                parameters = notebook_parameters(job, task)
                for key, expected in names.items():
                    assert parameters.get(key, expected) == expected, (target, task["task_key"])


def test_schedules_are_left_to_the_targets():
    """An explicit pause_status overrides development mode and presets (apply_presets.go only
    fills an empty one): jobs set none, staging and prod unpause by preset."""
    project = bake(include_monitoring=True)
    targets = project.yaml("databricks.yml")["targets"]
    assert targets["test"]["presets"]["trigger_pause_status"] == "PAUSED"
    assert targets["staging"]["presets"]["trigger_pause_status"] == "UNPAUSED"
    assert targets["prod"]["presets"]["trigger_pause_status"] == "UNPAUSED"
    assert targets["dev"]["mode"] == "development" and "presets" not in targets["dev"]
    for target in TARGETS:
        for job in project.jobs_in_target(target).values():
            assert "pause_status" not in job.get("schedule", {})


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("monitoring", [True, False])
def test_readme_target_table_matches_the_bundle(pattern, monitoring):
    """The README's per-target table is generated from the values that place the jobs, so it
    names exactly the jobs each target deploys, and what monitoring does on a violation."""
    project = bake(deployment_pattern=pattern, include_monitoring=monitoring)
    readme = project.read("README.md")
    for target in TARGETS:
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{target}` |"))
        named = set(re.findall(r"`(\w+_job)`", row.split("|")[2]))
        assert named == set(project.jobs_in_target(target)), (target, row)
        if monitoring:
            retrains = "retrain" in {
                t["task_key"] for t in project.jobs_in_target(target)["monitoring_job"]["tasks"]
            }
            assert ("starts `training_job`" in row) == retrains, row
    assert "monitoring starts `training_job`" not in readme


@pytest.mark.parametrize("compute", ["serverless", "classic"])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_catalog_schema_and_model_are_job_parameters(pattern, compute):
    """As in the CLI's own default template (libs/template/templates/default/template/
    {{.project_name}}/resources/sample_job.job.yml.tmpl at v1.13.0): job-level `parameters`
    reach every task and a run can override them (`bundle run <job> --params catalog=...`).
    No task repeats them."""
    project = bake(deployment_pattern=pattern, compute=compute)
    shared = {"catalog", "schema", "model_name"} | (
        {"wheel_dir"} if compute == "serverless" else set()
    )
    for target in TARGETS:
        for job_key, job in project.jobs_in_target(target).items():
            names = [p["name"] for p in job["parameters"]]
            assert len(names) == len(set(names)) and shared <= set(names), (target, job_key)
            for task in job["tasks"]:
                own = (task.get("notebook_task") or {}).get("base_parameters") or {}
                assert not shared & set(own), (target, job_key, task["task_key"])


@pytest.mark.parametrize("serving", [True, False])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_endpoint_task_follows_every_move_of_champion(pattern, serving):
    """With serving, every job that moves champion (training_job and promotion_job after
    deploy, rollback_job after rollback) ends with update_endpoint, in every target; without
    it, no job has that task and no notebook or module of serving is baked."""
    project = bake(deployment_pattern=pattern, include_serving=serving)
    for target in TARGETS:
        for job_key, job in project.jobs_in_target(target).items():
            keys = [t["task_key"] for t in job["tasks"]]
            mover = {"training_job": "deploy", "promotion_job": "deploy"}.get(job_key)
            mover = "rollback" if job_key == "rollback_job" else mover
            if not (serving and mover):
                assert "update_endpoint" not in keys, (target, job_key)
                continue
            assert keys[-1] == "update_endpoint", (target, job_key)
            last = job["tasks"][-1]
            assert last["depends_on"] == [{"task_key": mover}], (target, job_key)
    assert ("notebooks/update_endpoint.py" in project.relative_files()) == serving
    root = project.yaml("databricks.yml")
    assert ("serving_endpoint" in root["variables"]) == serving
    if serving:
        assert target_variable(project, "test", "serving_endpoint") == ""
        assert target_variable(project, "prod", "serving_scale_to_zero") == "false"
        assert target_variable(project, "staging", "serving_scale_to_zero") == "true"


@pytest.mark.parametrize("serving", [True, False])
@pytest.mark.parametrize("compute", ["serverless", "classic"])
def test_resource_files_have_no_blank_lines_left_by_the_compute_macros(compute, serving):
    project = bake(
        compute=compute,
        deployment_pattern="hybrid",
        include_monitoring=True,
        include_serving=serving,
    )
    for path in sorted((project.path / "resources").glob("*.yml")):
        lines = path.read_text().splitlines()
        assert not [n for n, line in enumerate(lines, 1) if line and not line.strip()], path.name
        assert lines[0].startswith("# ") and lines[-1].strip(), path.name
