"""What a real `databricks bundle deploy` (CLI v1.13.0) and the first job runs need, checked
offline. Each test names the CLI source file (github.com/databricks/cli at tag v1.13.0) or the
documentation page its rule comes from, checks this project, and shows that the checker catches
the mistake it is about on a copy with that mistake put back."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

import bundle_validation as rules

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def broken(tmp_path):
    """A copy of the bundle files that a test may edit: broken(edit) -> project path."""

    def make(edit) -> Path:
        copy = tmp_path / "project"
        shutil.copytree(PROJECT, copy, ignore=shutil.ignore_patterns(".*", "dist", "__pycache__"))
        shutil.copy(PROJECT / ".gitignore", copy / ".gitignore")
        documents = {
            path.relative_to(PROJECT): doc for path, doc in rules.bundle_documents(PROJECT).items()
        }
        edit(documents)
        for relative, document in documents.items():
            (copy / relative).write_text(yaml.safe_dump(document, sort_keys=False))
        return copy

    return make


def root(documents):
    return documents[Path("databricks.yml")]


def test_no_sync_pattern_matches_nothing(broken):
    """bundle/config/validate/validate_sync_patterns.go: a sync pattern without a match in the
    clone warns "Pattern ... does not match any files"; `bundle validate --strict` fails on it.
    The wheel is not synced: `bundle deploy` uploads artifacts itself
    (bundle/libraries/remote_path.go collects `artifacts.*.files`)."""
    assert rules.sync_pattern_warnings(PROJECT) == []
    assert "sync" not in rules.load_yaml(PROJECT / "databricks.yml")
    copy = broken(lambda d: root(d).update(sync={"include": ["dist/*.whl"]}))
    assert rules.sync_pattern_warnings(copy) == [
        "sync.include[0]: Pattern dist/*.whl does not match any files"
    ]


def test_no_root_path_is_writable_by_all_users(broken):
    """bundle/permissions/validate.go and bundle/libraries/path.go: a root_path under
    /Workspace/Shared/ warns "is writable by all workspace users". staging and prod deploy into
    the deploying identity's home instead."""
    assert rules.shared_root_path_warnings(PROJECT) == []
    for target in ("staging", "prod"):
        path = rules.bundle_targets(PROJECT)[target]["workspace"]["root_path"]
        assert path.startswith("/Workspace/Users/") and "/.bundle/" in path

    def share(documents):
        root(documents)["targets"]["prod"]["workspace"]["root_path"] = "/Workspace/Shared/x"

    assert rules.shared_root_path_warnings(broken(share)) == [
        "target prod: the bundle root path /Workspace/Shared/x is writable by all workspace users"
    ]


def test_target_modes_are_what_the_cli_accepts(broken):
    """bundle/config/mutator/resourcemutator/validate_target_mode.go: production needs an
    explicit root_path; development needs per-user paths and prefixes and paused triggers."""
    assert rules.target_mode_problems(PROJECT) == []

    def unsafe(documents):
        targets = root(documents)["targets"]
        del targets["prod"]["workspace"]["root_path"]
        targets["dev"]["presets"] = {"name_prefix": "[dev] ", "trigger_pause_status": "UNPAUSED"}

    assert rules.target_mode_problems(broken(unsafe)) == [
        "target dev: name_prefix must contain the current user",
        "target dev: development mode cannot default to UNPAUSED",
        "target prod: 'mode: production' must set workspace.root_path",
    ]


def test_jobs_name_the_schema_model_and_experiment_through_the_resources(broken):
    """bundle/config/mutator/resourcemutator/apply_presets.go prefixes the schema, the
    registered model (normalised: "[dev jane] " -> "dev_jane_") and the experiment in
    development mode and under the test target's name_prefix; variables keep the old names.
    Tasks pass `${resources.<kind>.<key>.name}`, so they use what the bundle manages."""
    assert rules.resource_name_problems(PROJECT) == []
    assert rules.RENAMED_BY_PRESETS >= {"schemas", "registered_models", "experiments"}
    test = rules.bundle_targets(PROJECT)["test"]
    assert test["presets"]["name_prefix"]  # the test target's tables live in test_<schema>

    def by_variable(documents):
        for document in documents.values():
            for job in ((document.get("resources") or {}).get("jobs") or {}).values():
                for parameter in job["parameters"]:
                    if parameter["name"] == "schema":
                        parameter["default"] = "${var.schema}"

    problems = rules.resource_name_problems(broken(by_variable))
    assert problems and all("var.schema" in p or "passes schema" in p for p in problems)


def test_the_bundle_creates_the_schema_and_nothing_needs_data_a_job_makes(broken):
    """bundle/config/resources/schema.go (`resources.schemas`): the bundle creates the schema,
    and `bundle destroy` drops it with its tables (the CLI force-deletes schemas:
    bundle/deploy/terraform/tfdyn/convert_schema.go, bundle/direct/dresources/schema.go).
    A quality monitor resource would need the predictions table at deploy time."""
    assert rules.first_deploy_problems(PROJECT) == []

    def declare_monitor(documents):
        monitor = {"table_name": "${var.catalog}.${var.schema}.predictions"}
        root(documents).setdefault("resources", {})["quality_monitors"] = {"m": monitor}

    assert "needs a table no deploy creates" in " ".join(
        rules.first_deploy_problems(broken(declare_monitor))
    )


def test_schedules_follow_the_target(broken):
    """bundle/config/mutator/resourcemutator/apply_presets.go sets a schedule's pause_status
    from presets only when the job leaves it empty; apply_target_mode.go defaults development
    mode to PAUSED. So jobs set none: dev and test stay paused, staging and prod run."""
    assert rules.pause_status_problems(PROJECT) == []

    def unpause(documents):
        for document in documents.values():
            for job in ((document.get("resources") or {}).get("jobs") or {}).values():
                if "schedule" in job:
                    job["schedule"]["pause_status"] = "UNPAUSED"

    assert any("sets pause_status" in p for p in rules.pause_status_problems(broken(unpause)))


def test_workspace_permissions_and_catalog_grants_take_the_right_groups(broken):
    """Workspace permissions take workspace groups (`users`), Unity Catalog grants account
    groups (`account users`; `users` is workspace-local and takes no Unity Catalog privilege):
    https://docs.databricks.com/sql/language-manual/sql-ref-principal.html .
    A model reader needs EXECUTE plus USE SCHEMA and USE CATALOG:
    https://docs.databricks.com/aws/en/machine-learning/manage-model-lifecycle/ ."""
    assert rules.permission_problems(PROJECT) == []

    def mixed(documents):
        variables = root(documents)["variables"]
        variables["workspace_read_group"]["default"] = "account users"

    assert rules.permission_problems(broken(mixed)) == [
        "workspace_read_group is the account group 'account users'"
    ]


def test_the_wheel_builds_without_a_bare_python(broken):
    """Stock macOS and Ubuntu have `python3` and no `python`; the CLI runs the artifact's
    `build` command as given (bundle/artifacts/build.go)."""
    assert rules.artifact_problems(PROJECT) == []

    def bare(documents):
        root(documents)["artifacts"]["python_artifact"]["build"] = "python -m build"

    assert rules.artifact_problems(broken(bare)) != []


def test_every_rule_holds():
    assert rules.deploy_rule_problems(PROJECT) == []


def test_serverless_tasks_get_the_folder_the_cli_uploads_the_wheel_to():
    """`bundle deploy` uploads every artifact file to `${workspace.artifact_path}/.internal`
    (bundle/libraries/filer.go, InternalDirName; bundle/libraries/remote_path.go). Serverless
    notebook tasks take no job libraries or environments (those are for Python script, wheel and
    dbt tasks: https://docs.databricks.com/aws/en/dev-tools/bundles/resource-examples), so each
    task passes that folder and `_setup` installs the wheel from it."""
    for target in rules.bundle_targets(PROJECT):
        for job_key, job in (rules.target_resources(PROJECT, target).get("jobs") or {}).items():
            for task in job["tasks"]:
                if "notebook_task" not in task:
                    continue
                parameters = rules.task_parameters(job, task)
                if "libraries" in task:  # classic: the job cluster installs the wheel
                    assert task["libraries"] == [{"whl": "../dist/*.whl"}], job_key
                    assert "wheel_dir" not in parameters
                else:
                    assert parameters["wheel_dir"] == "${workspace.artifact_path}/.internal"


class _Recorder:
    def __init__(self):
        self.calls = []

    def run_line_magic(self, magic, line):
        self.calls.append((magic, line))


def _run_setup(wheel_dir, monkeypatch, versions: tuple[str, ...]):
    """notebooks/_setup.py over a wheel folder holding these versions' wheels, with the package
    not installed yet: (what it asked IPython to run, the dbutils it used, the package name)."""
    import sys

    from taxi_fare_mlops import config

    from notebook_runner import NOTEBOOKS, DbutilsStandIn

    for version in versions:
        (wheel_dir / f"{config.PACKAGE}-{version}-py3-none-any.whl").write_bytes(b"")
    monkeypatch.setitem(sys.modules, config.PACKAGE, None)  # not installed yet
    dbutils = DbutilsStandIn({"wheel_dir": str(wheel_dir)})
    ipython = _Recorder()
    namespace = {"dbutils": dbutils, "get_ipython": lambda: ipython, "__name__": "__main__"}
    source = (NOTEBOOKS / "_setup.py").read_text(encoding="utf-8")
    # The folder is not under /Workspace: only the prefixing differs from a workspace path.
    source = source.replace('wheel_dir = "/Workspace" + wheel_dir', "pass")
    exec(compile(source, "_setup.py", "exec"), namespace)  # noqa: S102
    return ipython, dbutils, config.PACKAGE


def test_setup_installs_the_wheel_by_absolute_path_then_restarts_python(tmp_path, monkeypatch):
    """The notebook-scoped install the docs give for serverless notebooks: pip (the magic) by an
    absolute path, then `dbutils.library.restartPython()`
    (https://docs.databricks.com/aws/en/libraries/notebooks-python-libraries)."""
    ipython, dbutils, package = _run_setup(tmp_path, monkeypatch, ("0.1.0",))
    wheel = tmp_path / f"{package}-0.1.0-py3-none-any.whl"
    assert ipython.calls == [("pip", f"install --quiet {wheel}")]
    assert dbutils.library.restarts == 1


def test_each_developer_and_ci_get_their_own_schema_and_model():
    """Development mode prefixes "[dev <user>] " (apply_target_mode.go) and the CLI normalises it
    for Unity Catalog names (apply_presets.go, normalizePrefix; libs/textutil/textutil.go): two
    developers' dev deploys, the CI test target and staging/prod never share a schema or model,
    so versions, aliases, tables and quality monitors never collide."""
    assert rules.normalize_prefix("[dev jane.doe] ") == "dev_jane_doe_"
    assert rules.normalize_prefix("[test] ") == "test_"
    jane = rules.deployed_uc_names(PROJECT, "dev", "jane")
    john = rules.deployed_uc_names(PROJECT, "dev", "john")
    ci = rules.deployed_uc_names(PROJECT, "test", "ci")
    prod = rules.deployed_uc_names(PROJECT, "prod", "deployer")
    schema = rules.variable_default(PROJECT, "schema")
    assert jane["schema"].endswith(f".dev_jane_{schema}")
    assert len({jane["schema"], john["schema"], ci["schema"], prod["schema"]}) == 4
    assert len({jane["model"], john["model"]}) == 2
    assert prod["schema"].endswith(f".{schema}")  # staging and prod keep the plain names


def test_a_target_that_runs_as_a_principal_keeps_one_deployment_in_its_home(broken):
    """bundle/config/mutator/resourcemutator/validate_target_mode.go: production targets set
    root_path so that "only one copy is deployed", naming a user or principal. The state lives
    there: with prod_service_principal answered, prod's path names that principal, so a person
    bootstrapping prod and the pipeline share one deployment (docs/ci-cd.md, who deploys)."""
    assert rules.single_deployment_problems(PROJECT) == []
    prod = rules.bundle_targets(PROJECT)["prod"]
    principal = (prod.get("run_as") or {}).get("service_principal_name")
    if principal:
        assert prod["workspace"]["root_path"].startswith(f"/Workspace/Users/{principal}/")

    def follow_the_deployer(documents):
        targets = root(documents)["targets"]
        targets["prod"]["run_as"] = {"service_principal_name": "sp-id"}
        path = "/Workspace/Users/${workspace.current_user.userName}/.bundle/x/prod"
        targets["prod"]["workspace"]["root_path"] = path

    assert rules.single_deployment_problems(broken(follow_the_deployer)) == [
        "target prod: root_path is not in the home of sp-id"
    ]


def test_promotions_copy_from_a_model_a_pipeline_makes(broken):
    """Development mode prefixes each developer's schema and model ("dev_<user>_":
    bundle/config/mutator/resourcemutator/apply_presets.go, normalizePrefix), so a promotion
    copies from a target that is not in development mode and trains or promotes, under the
    names that target deploys (deploy_model: dev_shared, which CD trains on every merge)."""
    assert rules.promotion_source_problems(PROJECT) == []
    promoting = [
        target
        for target in rules.bundle_targets(PROJECT)
        if "promotion_job" in (rules.target_resources(PROJECT, target).get("jobs") or {})
    ]
    if not promoting:  # deploy_code: every target trains, nothing is copied
        return

    def from_nowhere(documents):
        for target in promoting:
            variables = root(documents)["targets"][target]["variables"]
            variables["source_catalog"] = "nowhere"

    problems = rules.promotion_source_problems(broken(from_nowhere))
    assert len(problems) == len(promoting)
    assert all("which no non-development target trains or promotes" in p for p in problems)


def test_the_smoke_run_checks_the_staging_model():
    """Where staging gets its champion only through a promotion (deploy_model), the merge
    pipeline looks the alias up (`databricks model-versions get-by-alias`) before its smoke run;
    the model it names is the one the bundle deploys to staging."""
    staging_model = rules.deployed_uc_names(PROJECT, "staging", "anyone")["model"]
    pipelines = [
        path
        for pattern in (".github/workflows/*.yml", ".azure-pipelines/*.yml", ".gitlab-ci.yml")
        for path in PROJECT.glob(pattern)
    ]
    for path in pipelines:
        text = path.read_text(encoding="utf-8")
        if "get-by-alias" in text:
            assert re.findall(r"(?:MODEL: |model=\")([\w.-]+)", text) == [staging_model], path


def test_every_principal_with_a_privilege_on_the_schema_or_model_is_in_the_bundle(broken):
    """bundle/direct/dresources/grants.go: a deploy revokes every grant on the bundle's schema
    and model that the bundle does not list (removedGrantPrincipals), and a principal listed
    twice loses ALL_PRIVILEGES (buildGrantChanges). Readers get SELECT on the schema for the
    predictions; a run_as principal and a promotion's reader are listed too."""
    assert rules.grant_problems(PROJECT) == []

    def no_select_and_run_as_without_grants(documents):
        schema = documents[Path("resources/schema.yml")]
        schema["resources"]["schemas"]["project_schema"]["grants"][0]["privileges"] = ["USE_SCHEMA"]
        schema.pop("targets", None)
        prod = root(documents)["targets"]["prod"]
        prod["run_as"] = {"service_principal_name": "00000000-0000-0000-0000-000000000001"}

    problems = rules.grant_problems(broken(no_select_and_run_as_without_grants))
    assert "prod: readers lack USE_SCHEMA or SELECT on the schema" in problems
    assert "prod: run_as 00000000-0000-0000-0000-000000000001 lacks ALL_PRIVILEGES, MANAGE" in (
        problems
    )


def test_the_docs_prescribe_no_hand_grant_on_what_the_bundle_manages(tmp_path):
    """A hand grant on the bundle's schema or model is revoked by the next deploy (grants.go)."""
    assert rules.hand_grant_problems(PROJECT) == []
    copy = tmp_path / "project"
    shutil.copytree(PROJECT, copy, ignore=shutil.ignore_patterns(".*", "dist", "__pycache__"))
    catalog = rules.variable_default(PROJECT, "catalog", "prod")
    schema = rules.variable_default(PROJECT, "schema")
    grant = f"GRANT EXECUTE ON MODEL {catalog}.{schema}.m"
    (copy / "docs" / "extra.md").write_text(f"```sql\n{grant} TO `x`;\n```\n", encoding="utf-8")
    assert rules.hand_grant_problems(copy) == [f"extra.md: {grant}"]


def test_a_job_waits_at_least_as_long_as_the_job_it_starts(broken):
    """A run_job_task's run ends when its parent job or the task times out
    (https://docs.databricks.com/aws/en/jobs/run-job): each is at least the child job's timeout,
    for every run_job_task of every job in every target."""
    assert rules.timeout_problems(PROJECT) == []

    def parent_starts_child(documents):
        child = {"timeout_seconds": 7200, "tasks": [{"task_key": "t"}]}
        run = {"task_key": "run", "run_job_task": {"job_id": "${resources.jobs.child.id}"}}
        parent = {"timeout_seconds": 3600, "tasks": [run]}
        root(documents)["resources"] = {"jobs": {"child": child, "parent": parent}}

    problems = rules.timeout_problems(broken(parent_starts_child))
    assert "dev: parent (job) times out after 3600 s, child may run 7200 s" in problems


def test_each_deploy_uploads_one_wheel(broken):
    """bundle/artifacts/prepare.go uploads every dist/*.whl: the build empties dist/ first,
    with python3 only (no `rm` on Windows)."""
    assert rules.artifact_problems(PROJECT) == []

    def keep_old_wheels(documents):
        artifact = root(documents)["artifacts"]["python_artifact"]
        artifact["build"] = "python3 -m pip wheel --no-deps --wheel-dir dist ."

    problems = rules.artifact_problems(broken(keep_old_wheels))
    assert any("does not empty dist/" in p for p in problems)


def test_setup_installs_the_newest_version_not_the_last_name(tmp_path, monkeypatch):
    """The upload folder keeps earlier deploys' wheels; 0.10.0 is newer than 0.9.0, though
    sorted() puts it first."""
    ipython, _, package = _run_setup(tmp_path, monkeypatch, ("0.9.0", "0.10.0", "0.2.1"))
    newest = tmp_path / f"{package}-0.10.0-py3-none-any.whl"
    assert ipython.calls == [("pip", f"install --quiet {newest}")]


def test_notebook_tasks_take_no_job_environment_so_setup_installs_the_wheel():
    """The bundle schema of CLI v1.13 says job environments are for tasks other than notebooks
    (`environments[].spec`: "jobs' environment for non-notebook task"; `environment_key`:
    "required for Python script, Python wheel and dbt tasks"), so serverless notebook tasks
    install the wheel in `_setup` (%pip). When the schema stops saying so, this fails: then a
    job environment should replace `%pip`."""
    schema, source = rules.load_schema()
    if schema is None:
        pytest.skip(source)
    service = schema["$defs"]["github.com"]["databricks"]["databricks-sdk-go"]["service"]
    spec = service["jobs.JobEnvironment"]["oneOf"][0]["properties"]["spec"]["description"]
    task = service["jobs.Task"]["oneOf"][0]["properties"]["environment_key"]["description"]
    assert "non-notebook task" in spec
    assert "Python script, Python wheel and dbt tasks" in task
    for target in rules.bundle_targets(PROJECT):
        for job in (rules.target_resources(PROJECT, target).get("jobs") or {}).values():
            assert "environments" not in job


# MLflow of each Databricks Runtime ML release, from the "MLflow-Databricks Runtime
# compatibility matrix" of https://docs.databricks.com/aws/en/release-notes/runtime/ .
RUNTIME_ML_MLFLOW = {"17.3": "3.0.1", "18.0": "3.8.1", "19.0": "3.12.0"}


def test_the_readme_says_what_the_wheel_replaces_on_the_pinned_runtime():
    """Where the pinned runtime ships an older MLflow than pyproject.toml needs, installing the
    wheel upgrades it on every cluster: the README says so and what it costs."""
    import re

    pyproject = (PROJECT / "pyproject.toml").read_text(encoding="utf-8")
    bound = re.search(r'"mlflow>=([\d.]+)"', pyproject).group(1)
    needed = tuple(int(n) for n in bound.split("."))
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    pinned = rules.variable_default(PROJECT, "spark_version")
    if pinned is None:  # serverless
        assert "upgrades MLflow" in readme and "_setup.py" in readme
        return
    release = re.match(r"(\d+\.\d+)\.", pinned).group(1)
    shipped = RUNTIME_ML_MLFLOW[release]
    if tuple(int(n) for n in shipped.split(".")) < needed:
        assert f"{release} LTS ML" in readme and "upgrades MLflow" in readme
        assert shipped in readme
