"""Every option combination (3 x 3 x 4 x 2 x 2 = 144, with include_serving and problem_type
paired rather than crossed: baking.all_combinations) bakes into a clean, complete project."""

from __future__ import annotations

import pytest

from baking import OPTION_AXES, PAIRED_AXES, TEMPLATE_ROOT, all_combinations, bake, combination_id
from project_checks import (
    bundle_validation_module,
    leftover_template_syntax,
    python_problems,
    template_problems,
    yaml_problems,
)

COMBINATIONS = all_combinations()
PROJECT_TEMPLATE = TEMPLATE_ROOT / "{{cookiecutter.project_name}}"


def combination_params():
    return [
        pytest.param(
            options,
            id=combination_id(options),
            marks=pytest.mark.xdist_group(combination_id(options)),
        )
        for options in COMBINATIONS
    ]


def template_files(package: str) -> set[str]:
    return {
        path.relative_to(PROJECT_TEMPLATE)
        .as_posix()
        .replace("{{cookiecutter.__package_name}}", package)
        for path in PROJECT_TEMPLATE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


MONITORING_FILES = {
    "resources/monitoring_job.yml",
    "notebooks/monitor.py",
    "notebooks/create_monitor.py",
}


SERVING_FILES = {
    "notebooks/update_endpoint.py",
    "tests/test_endpoint.py",
    "tests/test_server.py",
}


def is_absent(path: str, options: dict) -> bool:
    """Which template files a combination must not have (restates the post-generation hook)."""
    cicd = options["cicd_platform"]
    pattern = options["deployment_pattern"]
    rules = [
        (cicd != "github_actions", path.startswith(".github/")),
        (cicd != "azure_devops", path.startswith(".azure-pipelines/")),
        (cicd != "gitlab", path == ".gitlab-ci.yml" or path.startswith(".gitlab/")),
        (cicd == "none", path == "docs/ci-cd.md"),
        (pattern == "deploy_code", "promot" in path and not path.startswith("src/")
         and not path.startswith("tests/")),
        (not options["include_monitoring"], path in MONITORING_FILES),
        (not options["include_serving"], path in SERVING_FILES
         or path.endswith(("/mlops/endpoint.py", "/mlops/server.py"))),
    ]  # fmt: skip
    return any(applies and matches for applies, matches in rules)


def test_there_are_144_combinations():
    assert len(COMBINATIONS) == 144
    assert len({combination_id(c) for c in COMBINATIONS}) == 144


@pytest.mark.parametrize("paired", PAIRED_AXES)
def test_every_option_value_is_baked_with_each_value_of_a_paired_option(paired):
    for name, values in OPTION_AXES.items():
        if name in PAIRED_AXES:
            continue
        for value in values:
            seen = {c[paired] for c in COMBINATIONS if c[name] == value}
            assert seen == set(OPTION_AXES[paired]), (name, value)


@pytest.mark.parametrize("options", combination_params())
def test_baked_project_is_clean(options):
    project = bake(**options)
    problems = (
        template_problems(project.path)
        + yaml_problems(project.path)
        + python_problems(project.path)
    )
    assert problems == []


@pytest.mark.parametrize("options", combination_params())
def test_baked_project_has_exactly_the_expected_files(options):
    project = bake(**options)
    expected = {p for p in template_files(project.package) if not is_absent(p, options)}
    assert project.relative_files() == expected


@pytest.mark.parametrize("options", combination_params())
def test_bundle_validates_offline(options, bundle_schema_path):
    project = bake(**options)
    checks = bundle_validation_module(project.path)
    validator = _validator(checks, bundle_schema_path)
    problems = (
        checks.schema_problems(project.path, validator)
        + checks.resource_loading_problems(project.path)
        + checks.semantic_problems(project.path)
    )
    assert problems == []


@pytest.mark.parametrize("options", combination_params())
def test_deploy_rules_hold(options):
    """The generated checker's restatement of the Databricks CLI v1.13.0 rules (no CLI warning
    under --strict, resource names through presets, schema created by the bundle, schedules left
    to the targets, permission groups, python3 build) for every combination."""
    project = bake(**options)
    checks = bundle_validation_module(project.path)
    assert checks.deploy_rule_problems(project.path) == []


_VALIDATORS = {}


def _validator(checks, schema_path):
    # Building the validator compiles a 900 kB schema: once per worker is enough.
    if schema_path not in _VALIDATORS:
        import json

        _VALIDATORS[schema_path] = checks.schema_validator(json.loads(schema_path.read_text()))
    return _VALIDATORS[schema_path]


@pytest.mark.parametrize(
    "text, leftovers",
    [
        ("name: {{ cookiecutter.project_name }}", ["{{", "cookiecutter.p"]),
        ("run: echo ${{ github.sha }}", []),
        ("run: echo ${{ cookiecutter.default_branch }}", ["cookiecutter.d"]),
        ("model_version: '{{tasks.train.values.model_version}}'", []),
        ("batch: '{{job.start_time.iso_date}}'", []),
        ("{% if x %}", ["{%"]),
        ("{# comment #}", ["{#"]),
        ('f"{share:.0%}"', []),
        ("see cookiecutter.json", []),
    ],
)
def test_leftover_check_is_not_fooled(text, leftovers):
    assert leftover_template_syntax(text) == leftovers
