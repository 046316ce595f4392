"""Offline checks of the bundle configuration (`databricks.yml` and `resources/*.yml`).

`databricks bundle validate` needs a workspace; these checks need nothing but files:
- each file against the official bundle JSON schema (from `databricks bundle schema`, or the
  file named by DATABRICKS_BUNDLE_SCHEMA);
- each resource loaded with the `databricks-bundles` package, which rejects unknown fields;
- what the schema cannot see: undeclared variables, `mode` values, paths that do not exist.

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


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


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

    classes = {
        "jobs": Job,
        "registered_models": RegisteredModel,
        "experiments": MlflowExperiment,
        "quality_monitors": QualityMonitor,
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
