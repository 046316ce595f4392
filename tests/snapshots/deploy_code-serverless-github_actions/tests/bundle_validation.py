"""Offline checks of the bundle configuration (`databricks.yml` and `resources/*.yml`).

`databricks bundle validate` needs a workspace; these checks need nothing but files:
- each file against the official bundle JSON schema (from `databricks bundle schema`, or the
  file named by DATABRICKS_BUNDLE_SCHEMA);
- each resource loaded with the `databricks-bundles` package, which rejects unknown fields;
- what the schema cannot see: undeclared variables, `mode` values, paths that do not exist;
- what the Databricks CLI (v1.13.0) itself checks or changes at deploy time, reproduced from its
  source so that no generated configuration makes it warn (`bundle validate --strict` turns
  warnings into errors) and the first deploy works on an empty schema. Each function below
  names the CLI file (github.com/databricks/cli, tag v1.13.0) whose rule it restates.

Plain functions that return lists of problems, so tests can assert the list is empty and show
every problem at once. The template's own tests import this module too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

SCHEMA_ENV_VAR = "DATABRICKS_BUNDLE_SCHEMA"
VALID_MODES = {"development", "production"}
VARIABLE_REFERENCE = re.compile(r"\$\{var\.([A-Za-z0-9_-]+)")
PATH_KEYS = {"notebook_path", "python_file", "whl", "path", "file"}
# libyaml's safe loader where PyYAML has it (its wheels do): the rules read the bundle's files
# a few hundred times, and the pure-Python loader takes ten times as long.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path):
    return yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER) or {}


def bundle_documents(project: Path) -> dict[Path, dict]:
    """`databricks.yml` and every file its `include` globs match, parsed."""
    root = project / "databricks.yml"
    documents = {root: load_yaml(root)}
    for pattern in documents[root].get("include", []):
        for path in sorted(project.glob(pattern)):
            documents[path] = load_yaml(path)
    return documents


def load_schema() -> tuple[dict | None, str]:
    """The bundle JSON schema and where it came from, or None and the reason it is missing.

    The installed CLI first (its schema is the one `bundle deploy` applies), then the file named
    by DATABRICKS_BUNDLE_SCHEMA (a CI runner without the CLI)."""
    cli = shutil.which("databricks")
    if cli:
        result = subprocess.run(
            [cli, "bundle", "schema"], capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode == 0:
            return json.loads(result.stdout), "databricks bundle schema"
    configured = os.environ.get(SCHEMA_ENV_VAR)
    if configured:
        return json.loads(Path(configured).read_text(encoding="utf-8")), configured
    return None, (
        f"no bundle schema: install the Databricks CLI or set {SCHEMA_ENV_VAR} to the output "
        "of `databricks bundle schema` to run this check"
    )


def schema_validator(schema: dict):
    """A Draft 2020-12 validator whose `pattern` understands \\p{L} (the `regex` package)."""
    import regex
    from jsonschema import Draft202012Validator, ValidationError, validators

    def pattern(validator, expected, instance, _schema):
        if validator.is_type(instance, "string") and not regex.search(expected, instance):
            yield ValidationError(f"{instance!r} does not match {expected!r}")

    return validators.extend(Draft202012Validator, {"pattern": pattern})(schema)


def _leaf_errors(error):
    # Each typed field is oneOf[real type, "${...}" string]: report the branch that matters.
    inner = [e for e in error.context if e.path or e.validator not in ("type", "pattern")]
    return [leaf for e in inner for leaf in _leaf_errors(e)] if inner else [error]


def schema_problems(project: Path, validator) -> list[str]:
    problems = []
    for path, document in bundle_documents(project).items():
        for error in validator.iter_errors(document):
            for leaf in _leaf_errors(error):
                name = path.relative_to(project)
                problems.append(f"{name}: {leaf.json_path}: {leaf.message[:200]}")
    return problems


def resource_sections(document: dict):
    """(where, resources mapping) for the top level and every target of one document."""
    yield "resources", document.get("resources") or {}
    for target, settings in (document.get("targets") or {}).items():
        yield f"targets.{target}.resources", (settings or {}).get("resources") or {}


def resource_loading_problems(project: Path) -> list[str]:
    """Load each job, model, experiment and monitor with the `databricks-bundles` classes."""
    from databricks.bundles.experiments import MlflowExperiment
    from databricks.bundles.jobs import Job
    from databricks.bundles.quality_monitors import QualityMonitor
    from databricks.bundles.registered_models import RegisteredModel
    from databricks.bundles.schemas import Schema

    classes = {
        "jobs": Job,
        "registered_models": RegisteredModel,
        "experiments": MlflowExperiment,
        "quality_monitors": QualityMonitor,
        "schemas": Schema,
    }
    problems = []
    for path, document in bundle_documents(project).items():
        for where, resources in resource_sections(document):
            for kind, items in resources.items():
                if kind not in classes:
                    problems.append(f"{path.name}: {where}.{kind}: no loader for this kind")
                    continue
                for key, body in (items or {}).items():
                    try:
                        classes[kind].from_dict(body)
                    except (ValueError, TypeError) as error:
                        problems.append(f"{path.name}: {where}.{kind}.{key}: {error}")
    return problems


def _strings(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def _paths(node, base: Path):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in PATH_KEYS and isinstance(value, str) and "${" not in value:
                yield key, value, base
            else:
                yield from _paths(value, base)
    elif isinstance(node, list):
        for value in node:
            yield from _paths(value, base)


def semantic_problems(project: Path) -> list[str]:
    """What the schema does not check and `bundle validate` would."""
    documents = bundle_documents(project)
    root = documents[project / "databricks.yml"]
    declared = set(root.get("variables") or {})
    problems = []
    for path, document in documents.items():
        name = path.relative_to(project)
        for used in {m for s in _strings(document) for m in VARIABLE_REFERENCE.findall(s)}:
            if used not in declared:
                problems.append(f"{name}: variable {used!r} is used but not declared")
        for target, settings in (document.get("targets") or {}).items():
            settings = settings or {}
            for variable in settings.get("variables") or {}:
                if variable not in declared:
                    problems.append(f"{name}: target {target} sets undeclared variable {variable}")
            mode = settings.get("mode")
            if mode is not None and mode not in VALID_MODES:
                problems.append(f"{name}: target {target} has mode {mode!r}")
        for key, value, base in _paths(document, path.parent):
            if key == "path" and base == project and value == ".":
                continue
            resolved = base / value
            if "*" in value:
                # Build outputs (dist/*.whl) exist only after `bundle deploy` builds them.
                if not value.startswith(("../dist/", "dist/", "./dist/")):
                    problems.append(f"{name}: {key} {value} is a glob outside dist/")
            elif not resolved.exists():
                problems.append(f"{name}: {key} {value} does not exist")
    return problems


# ---------------------------------------------------------------------------------------------
# Rules of the Databricks CLI v1.13.0, restated offline


def bundle_targets(project: Path) -> dict[str, dict]:
    """Each target's settings from `databricks.yml` (the only file that declares targets)."""
    root = load_yaml(project / "databricks.yml")
    return {name: settings or {} for name, settings in (root.get("targets") or {}).items()}


def merge(base, override):
    """libs/dyn/merge/merge.go: mappings merge key by key, sequences concatenate (a target's
    grants are added to the top-level ones), anything else is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(override, list):
        return base + override
    return override


def target_resources(project: Path, target: str) -> dict[str, dict]:
    """Resources deployed to `target`: top-level ones, then that target's own merged in
    (bundle/config/root.go MergeTargetOverrides)."""
    merged: dict[str, dict] = {}
    for document in bundle_documents(project).values():
        sections = [document.get("resources") or {}]
        sections.append(((document.get("targets") or {}).get(target) or {}).get("resources") or {})
        for resources in sections:
            merged = merge(merged, {kind: items or {} for kind, items in resources.items()})
    return merged


def variable_default(project: Path, name: str, target: str | None = None):
    root = load_yaml(project / "databricks.yml")
    overrides = (bundle_targets(project).get(target) or {}).get("variables") or {}
    if name in overrides:
        return overrides[name]
    return ((root.get("variables") or {}).get(name) or {}).get("default")


def _gitignored(relative: str, patterns: list[str]) -> bool:
    import fnmatch

    parts = relative.split("/")
    for pattern in patterns:
        bare = pattern.strip("/")
        if any(fnmatch.fnmatch(part, bare) for part in parts) or fnmatch.fnmatch(relative, bare):
            return True
    return False


def fresh_clone_files(project: Path) -> list[str]:
    """Files a fresh clone has: everything here but what `.gitignore` leaves out (and `.git`)."""
    ignore = project / ".gitignore"
    patterns = [
        line.strip()
        for line in (ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else [])
        if line.strip() and not line.startswith(("#", "!"))
    ] + [".git"]
    files = []
    for path in project.rglob("*"):
        relative = path.relative_to(project).as_posix()
        if path.is_file() and not _gitignored(relative, patterns):
            files.append(relative)
    return sorted(files)


def sync_pattern_warnings(project: Path) -> list[str]:
    """bundle/config/validate/validate_sync_patterns.go: every `sync.include`/`sync.exclude`
    pattern must match a file, else "Pattern <p> does not match any files" (a warning, an error
    under --strict). `bundle validate` runs before any build, so build outputs (dist/*.whl)
    match nothing in a fresh clone."""
    import fnmatch

    files = fresh_clone_files(project)
    warnings = []
    sections = [("sync", load_yaml(project / "databricks.yml").get("sync") or {})]
    sections += [
        (f"targets.{t}.sync", s.get("sync") or {}) for t, s in bundle_targets(project).items()
    ]
    for where, sync in sections:
        for key in ("exclude", "include"):
            for index, pattern in enumerate(sync.get(key) or []):
                bare = pattern.removeprefix("!")
                if not any(
                    fnmatch.fnmatch(f, bare) or f.startswith(bare.rstrip("/") + "/") for f in files
                ):
                    warnings.append(
                        f"{where}.{key}[{index}]: Pattern {pattern} does not match any files"
                    )
    return warnings


def shared_root_path_warnings(project: Path) -> list[str]:
    """bundle/permissions/validate.go (ValidateSharedRootPermissions) with
    bundle/libraries/path.go (IsWorkspaceSharedPath): a root_path under /Workspace/Shared/
    warns "the bundle root path ... is writable by all workspace users" unless the bundle's
    top-level permissions give `group_name: users` CAN_MANAGE."""
    root = load_yaml(project / "databricks.yml")
    everyone_manages = any(
        p.get("group_name") == "users" and p.get("level") == "CAN_MANAGE"
        for p in root.get("permissions") or []
    )
    warnings = []
    for target, settings in bundle_targets(project).items():
        root_path = (settings.get("workspace") or {}).get("root_path") or (
            (root.get("workspace") or {}).get("root_path") or ""
        )
        # The CLI prefixes /Workspace to /Shared/... before this check runs.
        if root_path.startswith("/Shared/"):
            root_path = "/Workspace" + root_path
        if root_path.startswith("/Workspace/Shared/") and not everyone_manages:
            warnings.append(
                f"target {target}: the bundle root path {root_path} is writable by all "
                "workspace users"
            )
    return warnings


USER_IDENTIFIERS = ("${workspace.current_user.userName}", "${workspace.current_user.short_name}")


def target_mode_problems(project: Path) -> list[str]:
    """bundle/config/mutator/resourcemutator/validate_target_mode.go:
    - `mode: production` must set workspace.root_path (an error; only a recommendation, still
      printed, when run_as is set);
    - `mode: development`: root/file/artifact/state paths must contain the user name or start
      with '~/', a name_prefix must contain the user, and trigger_pause_status must not be
      UNPAUSED."""
    problems = []
    for target, settings in bundle_targets(project).items():
        mode = settings.get("mode")
        workspace = settings.get("workspace") or {}
        presets = settings.get("presets") or {}
        if mode == "production" and not workspace.get("root_path"):
            problems.append(f"target {target}: 'mode: production' must set workspace.root_path")
        if mode == "development":
            for key in ("root_path", "file_path", "artifact_path", "state_path"):
                value = workspace.get(key)
                if (
                    value
                    and not value.startswith("~/")
                    and not any(user in value for user in USER_IDENTIFIERS)
                ):
                    problems.append(f"target {target}: {key} must contain the current user")
            prefix = presets.get("name_prefix")
            if prefix and not any(user in prefix for user in USER_IDENTIFIERS):
                problems.append(f"target {target}: name_prefix must contain the current user")
            if presets.get("trigger_pause_status") == "UNPAUSED":
                problems.append(f"target {target}: development mode cannot default to UNPAUSED")
    return problems


def cli_warning_problems(project: Path) -> list[str]:
    """Everything above that `databricks bundle validate --strict` would reject."""
    return (
        sync_pattern_warnings(project)
        + shared_root_path_warnings(project)
        + target_mode_problems(project)
    )


# Resources the CLI renames in development mode and under presets.name_prefix
# (bundle/config/mutator/resourcemutator/apply_presets.go): jobs, experiments and models by the
# prefix itself; registered models and schemas by its normalised form ("[dev jane] " becomes
# "dev_jane_"). Quality monitors are not renamed.
RENAMED_BY_PRESETS = {"jobs", "experiments", "registered_models", "schemas"}
# What a job parameter must be for each name the jobs hand to the notebooks.
RESOURCE_NAMES = {
    "schema": "${resources.schemas.project_schema.name}",
    "model_name": "${resources.registered_models.model.name}",
    "experiment_name": "${resources.experiments.experiment.name}",
}


def task_parameters(job: dict, task: dict) -> dict:
    """The widget values a notebook task receives: the job's parameters (pushed down to every
    task) and the task's own base_parameters."""
    parameters = {p["name"]: p.get("default", "") for p in job.get("parameters") or []}
    return parameters | ((task.get("notebook_task") or {}).get("base_parameters") or {})


def _task_parameters(job: dict):
    for task in job.get("tasks") or []:
        if "notebook_task" in task:
            yield task["task_key"], task_parameters(job, task)


def resource_name_problems(project: Path) -> list[str]:
    """bundle/config/mutator/resourcemutator/apply_presets.go renames the schema, the model and
    the experiment, not variables: a task that passes `${var.schema}` or `${var.model_name}`
    writes into an unprefixed, unmanaged object. Every job must name them through the
    resources, and the model must sit in the bundle's schema."""
    problems = []
    for target in bundle_targets(project):
        resources = target_resources(project, target)
        for job_key, job in (resources.get("jobs") or {}).items():
            for task_key, parameters in _task_parameters(job):
                for name, expected in RESOURCE_NAMES.items():
                    if name in parameters and parameters[name] != expected:
                        problems.append(
                            f"{target}: {job_key}.{task_key} passes {name}={parameters[name]}"
                        )
            text = json.dumps(job)
            for variable in ("${var.schema}", "${var.model_name}", "${var.experiment_name}"):
                if variable in text:
                    problems.append(f"{target}: {job_key} uses {variable}, not the resource")
        model = (resources.get("registered_models") or {}).get("model") or {}
        if model.get("schema_name") != RESOURCE_NAMES["schema"]:
            problems.append(f"{target}: the model is not in resources.schemas.project_schema")
    return problems


def first_deploy_problems(project: Path) -> list[str]:
    """The first deploy works on an empty catalog: the bundle declares the schema its model and
    tables live in (`resources.schemas`, bundle/config/resources/schema.go) and no resource
    depends on data a job creates. A `quality_monitors` resource needs its table at deploy
    time, but the predictions table appears only after the first scoring run, so the monitor
    is made by a job task instead."""
    problems = []
    for target in bundle_targets(project):
        resources = target_resources(project, target)
        schema = (resources.get("schemas") or {}).get("project_schema")
        if not schema:
            problems.append(f"{target}: no resources.schemas.project_schema")
        elif (schema.get("catalog_name"), schema.get("name")) != (
            "${var.catalog}",
            "${var.schema}",
        ):
            problems.append(target + ": project_schema is not ${var.catalog}.${var.schema}")
        for key in resources.get("quality_monitors") or {}:
            problems.append(f"{target}: quality monitor {key} needs a table no deploy creates")
    return problems


def pause_status_problems(project: Path) -> list[str]:
    """bundle/config/mutator/resourcemutator/apply_presets.go sets a job schedule's pause status
    from presets.trigger_pause_status only when the job leaves it empty, and
    apply_target_mode.go makes development mode default to PAUSED. So no job may set
    `pause_status` (it would override dev and test); staging and prod set UNPAUSED by preset,
    the test target PAUSED, dev is `mode: development`."""
    problems = []
    expected = {"dev": None, "test": "PAUSED", "staging": "UNPAUSED", "prod": "UNPAUSED"}
    targets = bundle_targets(project)
    for target, status in expected.items():
        settings = targets.get(target) or {}
        preset = (settings.get("presets") or {}).get("trigger_pause_status")
        if preset != status:
            problems.append(f"target {target}: trigger_pause_status {preset!r}, not {status!r}")
        for job_key, job in (target_resources(project, target).get("jobs") or {}).items():
            for key in ("schedule", "trigger", "continuous"):
                if "pause_status" in (job.get(key) or {}):
                    problems.append(f"{target}: {job_key}.{key} sets pause_status")
    if (targets.get("dev") or {}).get("mode") != "development":
        problems.append("target dev is not in development mode")
    return problems


def permission_problems(project: Path) -> list[str]:
    """Workspace permissions (jobs, experiments) take workspace groups such as `users`; Unity
    Catalog grants take account groups such as `account users`
    (https://docs.databricks.com/sql/language-manual/sql-ref-principal.html: `users` is
    workspace-local and takes no Unity Catalog privileges). A reader of the model needs
    EXECUTE on it plus USE SCHEMA and USE CATALOG
    (https://docs.databricks.com/aws/en/machine-learning/manage-model-lifecycle/); the schema
    grant is the bundle's, USE CATALOG the catalog owner's (README, "Deploying")."""
    problems = []
    workspace_group = variable_default(project, "workspace_read_group")
    uc_group = variable_default(project, "read_group")
    if workspace_group == "account users":
        problems.append("workspace_read_group is the account group 'account users'")
    if uc_group == "users":
        problems.append("read_group is the workspace-local group 'users'")
    for target in bundle_targets(project):
        resources = target_resources(project, target)
        for kind in ("jobs", "experiments"):
            for key, body in (resources.get(kind) or {}).items():
                for permission in body.get("permissions") or []:
                    # Groups are the workspace group; the one other entry is the run_as service
                    # principal's, which needs to manage what its jobs log to (grant_problems).
                    run_as = {"service_principal_name": run_as_principal(project, target)}
                    if permission.get("group_name") != "${var.workspace_read_group}" and not (
                        permission.items() >= run_as.items() and run_as["service_principal_name"]
                    ):
                        problems.append(f"{target}: {kind}.{key} permission {permission}")
        model = granted_privileges(resources, "registered_models").get("${var.read_group}", set())
        schema = granted_privileges(resources, "schemas").get("${var.read_group}", set())
        if "EXECUTE" in model:
            if "USE_SCHEMA" not in schema:
                problems.append(f"{target}: readers get EXECUTE on the model but not USE_SCHEMA")
    return problems


def granted_privileges(resources: dict, kind: str) -> dict[str, set[str]]:
    """{principal: privileges} over every `kind` resource's grants in one target."""
    granted: dict[str, set[str]] = {}
    for body in (resources.get(kind) or {}).values():
        for grant in body.get("grants") or []:
            granted.setdefault(grant["principal"], set()).update(grant.get("privileges") or [])
    return granted


def run_as_principal(project: Path, target: str) -> str | None:
    run_as = bundle_targets(project)[target].get("run_as") or {}
    return run_as.get("service_principal_name") or run_as.get("user_name")


def grant_problems(project: Path) -> list[str]:
    """bundle/direct/dresources/grants.go: a deploy makes a securable's grants exactly the
    listed ones (removedGrantPrincipals revokes every other principal), so whoever needs a
    privilege on the bundle's schema or model is listed there, once (buildGrantChanges: a second
    entry for the same principal without ALL_PRIVILEGES revokes the first one's):
    - readers (var.read_group): USE SCHEMA and SELECT on the schema (the predictions and
      monitoring tables), EXECUTE on the model;
    - prod's run_as principal, when it is set: ALL_PRIVILEGES and MANAGE on prod's schema (what
      the jobs create there);
    - the identity of a promotion job that copies from another target's catalog: USE SCHEMA
      and EXECUTE on that target's schema (checked where it is known: prod's run_as)."""
    problems = []
    targets = bundle_targets(project)
    catalogs = {t: variable_default(project, "catalog", t) for t in targets}
    for target in targets:
        resources = target_resources(project, target)
        for kind in ("schemas", "registered_models"):
            for key, body in (resources.get(kind) or {}).items():
                principals = [grant["principal"] for grant in body.get("grants") or []]
                for principal in {p for p in principals if principals.count(p) > 1}:
                    problems.append(f"{target}: {kind}.{key} lists {principal} twice")
        schema = granted_privileges(resources, "schemas")
        model = granted_privileges(resources, "registered_models")
        if not {"USE_SCHEMA", "SELECT"} <= schema.get("${var.read_group}", set()):
            problems.append(f"{target}: readers lack USE_SCHEMA or SELECT on the schema")
        if "EXECUTE" not in model.get("${var.read_group}", set()):
            problems.append(f"{target}: readers lack EXECUTE on the model")
        principal = run_as_principal(project, target)
        if principal and not {"ALL_PRIVILEGES", "MANAGE"} <= schema.get(principal, set()):
            problems.append(f"{target}: run_as {principal} lacks ALL_PRIVILEGES, MANAGE")
        if principal and "promotion_job" in (resources.get("jobs") or {}):
            source = variable_default(project, "source_catalog", target)
            for other in (t for t, catalog in catalogs.items() if catalog == source):
                granted = granted_privileges(target_resources(project, other), "schemas")
                if not {"USE_SCHEMA", "EXECUTE"} <= granted.get(principal, set()):
                    problems.append(
                        f"{other}: {target}'s promotion identity {principal} cannot read the model"
                    )
    return problems


HAND_GRANT = re.compile(r"GRANT\s.*?\sON\s+(SCHEMA|MODEL|TABLE|FUNCTION)\s+(\S+?)[\s;]", re.I)


def hand_grant_problems(project: Path) -> list[str]:
    """What the docs tell people to grant by hand must not be on a securable the bundle manages
    (its schema and everything in it, in any target's catalog): the next deploy would revoke it
    (grants.go)."""
    problems = []
    schema = variable_default(project, "schema")
    catalogs = {variable_default(project, "catalog", target) for target in bundle_targets(project)}
    managed = tuple(sorted(f"{catalog}.{schema}".lower() for catalog in catalogs))
    for path in [project / "README.md", *sorted((project / "docs").glob("*.md"))]:
        for match in HAND_GRANT.finditer(path.read_text(encoding="utf-8")):
            name = match.group(2).strip("`").lower()
            if name.startswith(managed):
                problems.append(f"{path.name}: {match.group(0).strip()}")
    return problems


def timeout_problems(project: Path) -> list[str]:
    """A run_job_task waits for the whole run of the job it starts: when the parent job or the
    task times out first, the child's run is cancelled half-way
    (https://docs.databricks.com/aws/en/jobs/run-job; `timeout_seconds` 0 means none). So the
    parent job's timeout and the task's are each at least the child job's."""
    problems = []
    reference = re.compile(r"^\$\{resources\.jobs\.([\w-]+)\.id\}$")
    for target in bundle_targets(project):
        jobs = target_resources(project, target).get("jobs") or {}
        for job_key, job in jobs.items():
            for task in job.get("tasks") or []:
                if "run_job_task" not in task:
                    continue
                found = reference.match(str(task["run_job_task"].get("job_id", "")))
                child = jobs.get(found.group(1)) if found else None
                if child is None:
                    problems.append(f"{target}: {job_key}.{task['task_key']} starts an unknown job")
                    continue
                limit = child.get("timeout_seconds") or 0
                for where, timeout in (("job", job), ("task", task)):
                    seconds = timeout.get("timeout_seconds") or 0
                    if limit == 0 and seconds or 0 < seconds < limit:
                        problems.append(
                            f"{target}: {job_key} ({where}) times out after {seconds} s, "
                            f"{found.group(1)} may run {limit or 'unlimited'} s"
                        )
    return problems


def artifact_problems(project: Path) -> list[str]:
    """The wheel's build command must run on stock macOS, Ubuntu and Windows: only `python3`
    (no `python`, no `rm`; the CLI runs `build` in a shell: bundle/artifacts/build.go). It
    empties dist/ first, because the CLI uploads every dist/*.whl (bundle/artifacts/prepare.go)
    and a classic task's `../dist/*.whl` installs them all: one wheel a deploy."""
    problems = []
    for key, artifact in (load_yaml(project / "databricks.yml").get("artifacts") or {}).items():
        command = (artifact or {}).get("build") or ""
        steps = [step.split() for step in command.split("&&")]
        if any(step[:1] != ["python3"] for step in steps):
            problems.append(f"artifacts.{key}.build calls something but `python3`: {command}")
        if (artifact or {}).get("type") == "whl" and "rmtree('dist'" not in command.split("&&")[0]:
            problems.append(f"artifacts.{key}.build does not empty dist/ first: {command}")
    return problems


def deploy_rule_problems(project: Path) -> list[str]:
    """Every rule of this section, for the template's matrix."""
    return (
        cli_warning_problems(project)
        + resource_name_problems(project)
        + first_deploy_problems(project)
        + pause_status_problems(project)
        + permission_problems(project)
        + grant_problems(project)
        + hand_grant_problems(project)
        + timeout_problems(project)
        + artifact_problems(project)
        + single_deployment_problems(project)
        + promotion_source_problems(project)
    )


def normalize_string(name: str) -> str:
    """libs/textutil/textutil.go NormalizeString: lower case (Go's one-rune mapping, so "İ" is
    "i"), every rune but a Unicode letter (unicode.IsLetter: category L*) or decimal digit
    (unicode.IsDigit: Nd) becomes "_", runs of "_" become one, "_" trimmed from both ends."""
    import unicodedata

    def keep(character: str) -> str:
        category = unicodedata.category(character)
        return character if category.startswith("L") or category == "Nd" else "_"

    lowered = "".join(keep(c.lower()[0]) for c in name)
    return re.sub(r"_+", "_", lowered).strip("_")


def short_user_name(user_name: str) -> str:
    """libs/iamutil/user.go GetShortUserName (a user): the normalised part before the "@"."""
    return normalize_string(user_name.split("@", 1)[0])


def normalize_prefix(prefix: str) -> str:
    """bundle/config/mutator/resourcemutator/apply_presets.go normalizePrefix with
    libs/textutil/textutil.go NormalizeString: "[dev jane_doe] " -> "dev_jane_doe_"."""
    prefix = prefix.replace("[", "").strip(" ")
    suffix = "_" if prefix.endswith("]") else ""
    return normalize_string(prefix) + suffix


def deployed_uc_names(project: Path, target: str, user_short_name: str) -> dict[str, str]:
    """The schema and model names a deploy of `target` by `user_short_name` creates, after the
    CLI's presets: development mode's default prefix "[dev <short name>] "
    (apply_target_mode.go) or the target's presets.name_prefix, normalised (apply_presets.go)."""
    settings = bundle_targets(project)[target]
    prefix = (settings.get("presets") or {}).get("name_prefix") or ""
    if settings.get("mode") == "development" and not prefix:
        prefix = f"[dev {user_short_name}] "
    catalog = variable_default(project, "catalog", target)
    uc_prefix = normalize_prefix(prefix)
    schema = uc_prefix + variable_default(project, "schema")
    return {
        "schema": f"{catalog}.{schema}",
        "model": f"{catalog}.{schema}.{uc_prefix}{variable_default(project, 'model_name')}",
    }


def _root_path(project: Path, target: str) -> str:
    root = load_yaml(project / "databricks.yml")
    settings = bundle_targets(project)[target]
    return (settings.get("workspace") or {}).get("root_path") or (
        (root.get("workspace") or {}).get("root_path") or ""
    )


def single_deployment_problems(project: Path) -> list[str]:
    """bundle/config/mutator/resourcemutator/validate_target_mode.go: a production target sets
    root_path "to make sure only one copy is deployed", naming "a username or principal name".
    The deployment state lives under root_path, so a path that follows the deploying identity
    (${workspace.current_user.userName}) gives every other identity a second deployment. Where
    the target runs as a service principal, the path names that principal: one deployment,
    whoever deploys."""
    problems = []
    for target, settings in bundle_targets(project).items():
        principal = (settings.get("run_as") or {}).get("service_principal_name")
        expected = f"/Workspace/Users/{principal}/.bundle/" + "${bundle.name}/${bundle.target}"
        if principal and _root_path(project, target) != expected:
            problems.append(f"target {target}: root_path is not in the home of {principal}")
    return problems


def _makes_a_champion(project: Path, target: str) -> bool:
    jobs = target_resources(project, target).get("jobs") or {}
    return "training_job" in jobs or "promotion_job" in jobs


def promotion_source(project: Path, target: str) -> str:
    """The model `promotion_job` in `target` copies from: `source_catalog`, and the job's
    `source_schema`/`source_model_name` parameters or, when those are empty, the plain names
    (notebooks/promote.py)."""
    job = target_resources(project, target)["jobs"]["promotion_job"]
    parameters = {p["name"]: p.get("default", "") for p in job.get("parameters") or []}
    schema = parameters.get("source_schema") or variable_default(project, "schema")
    model = parameters.get("source_model_name") or variable_default(project, "model_name")
    return f"{variable_default(project, 'source_catalog', target)}.{schema}.{model}"


def promotion_source_problems(project: Path) -> list[str]:
    """A promotion copies a model that a pipeline makes: a target that is not in development
    mode and trains or promotes. Development mode prefixes a developer's schema and model
    ("dev_<user>_", bundle/config/mutator/resourcemutator/apply_presets.go, normalizePrefix), so
    no shared pipeline could find a source there."""
    problems = []
    for target in bundle_targets(project):
        if "promotion_job" not in (target_resources(project, target).get("jobs") or {}):
            continue
        source = promotion_source(project, target)
        makers = [
            name
            for name, settings in bundle_targets(project).items()
            if settings.get("mode") != "development"
            and _makes_a_champion(project, name)
            and deployed_uc_names(project, name, "anyone")["model"] == source
        ]
        if not makers:
            problems.append(
                f"target {target}: promotion_job copies {source}, which no non-development "
                "target trains or promotes"
            )
    return problems
