"""Bad answers stop generation with one clear line and leave nothing behind; odd but valid
answers are carried through as plain data."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

from baking import DEFAULTS, TEMPLATE_ROOT, bake
from project_checks import python_problems, yaml_problems

# (answers, words the one-line error must contain)
BAD_ANSWERS = {
    "project name with a space": ({"project_name": "my project"}, ["project_name", "lowercase"]),
    "project name with a slash": ({"project_name": "a/b"}, ["project_name"]),
    "project name starting with a digit": ({"project_name": "1abc"}, ["project_name"]),
    "package that shadows the stdlib": ({"project_name": "json"}, ["shadow", "json"]),
    "package that shadows mlflow": ({"project_name": "mlflow"}, ["shadow"]),
    "package that is a keyword": ({"project_name": "class"}, ["project_name", "Python name"]),
    "http host": ({"dev_workspace_host": "http://adb-1.azuredatabricks.net"}, ["https://"]),
    "host without scheme": ({"staging_workspace_host": "adb-1.azuredatabricks.net"}, ["https://"]),
    "host with credentials": (
        {"prod_workspace_host": "https://user:pw@adb-1.azuredatabricks.net"},
        ["prod_workspace_host", "password"],
    ),
    "host with a bad port": ({"dev_workspace_host": "https://adb-1.net:99999"}, ["https://"]),
    "host with a shell injection": (
        {"dev_workspace_host": "https://$(touch /tmp/pwned).net"},
        ["dev_workspace_host"],
    ),
    "catalog with a hyphen": ({"dev_catalog": "my-dev"}, ["dev_catalog", "Unity Catalog"]),
    "catalog with uppercase": ({"prod_catalog": "Prod"}, ["prod_catalog"]),
    "schema with a dot": ({"schema_name": "a.b"}, ["schema_name"]),
    "model name with a space": ({"model_name": "my model"}, ["model_name"]),
    "dev and prod catalogs equal": ({"prod_catalog": "dev"}, ["prod_catalog", "own catalog"]),
    "staging and prod catalogs equal": ({"staging_catalog": "prod"}, ["prod_catalog"]),
    # Pull-request integration tests would train and deploy into prod.
    "test catalog is the prod catalog": ({"test_catalog": "prod"}, ["prod_catalog", "test"]),
    "test catalog is the dev catalog": ({"test_catalog": "dev"}, ["test_catalog", "own catalog"]),
    "project named after a dependency": ({"project_name": "scikit-learn"}, ["depends on"]),
    "project named after a dev tool": ({"project_name": "pytest_xdist"}, ["pytest-xdist"]),
    "project name YAML reads as true": ({"project_name": "yes"}, ["project_name", "YAML"]),
    "catalog YAML reads as null": ({"dev_catalog": "null"}, ["dev_catalog", "YAML"]),
    "schema YAML reads as a boolean": ({"schema_name": "off"}, ["schema_name", "YAML"]),
    "model name YAML reads as false": ({"model_name": "false"}, ["model_name", "YAML"]),
    "Jinja in the description": ({"description": "Fares {{ 7 * 7 }}"}, ["description", "'{{'"]),
    "Jinja comment in the read group": ({"read_group": "team {# x #}"}, ["read_group", "'{#'"]),
    "bundle substitution in the description": (
        {"description": "Costs in ${var.catalog}"},
        ["description", "'${'", "substitution"],
    ),
    "two-part input table": ({"input_table": "nyctaxi.trips"}, ["input_table", "three-part"]),
    "input table with quoting": ({"input_table": "a.b.`c`"}, ["input_table"]),
    "branch with a space": ({"default_branch": "my branch"}, ["default_branch", "git"]),
    "branch with dot-dot": ({"release_branch": "rel..1"}, ["release_branch"]),
    "branch ending in .lock": ({"release_branch": "release.lock"}, ["release_branch"]),
    "branch starting with a dash": ({"default_branch": "-main"}, ["default_branch"]),
    "same default and release branch": ({"release_branch": "main"}, ["release_branch", "differ"]),
    "description with a newline": ({"description": "one\ntwo"}, ["description", "one"]),
    "empty read group": ({"read_group": " "}, ["read_group"]),
    "not an email": ({"notification_email": "nobody"}, ["notification_email"]),
    "service principal not a uuid": (
        {"prod_service_principal": "my-sp"},
        ["prod_service_principal"],
    ),
}


@pytest.mark.parametrize("answers, words", list(BAD_ANSWERS.values()), ids=list(BAD_ANSWERS))
def test_bad_answer_fails_with_one_line_and_leaves_no_folder(answers, words, tmp_path, capfd):
    with pytest.raises(FailedHookException):
        bake(output_dir=tmp_path, **answers)
    error_lines = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert len(error_lines) == 1, error_lines
    assert error_lines[0].startswith("ERROR: ")
    for word in words:
        assert word in error_lines[0]
    assert leftovers(tmp_path) == []


def leftovers(output_dir):
    """Files and folders left after a failed bake.

    cookiecutter creates the project folder before any hook runs and removes it when the hook
    fails; for a name like `a/b` it cannot know that it also made `a`, so an empty `a` is the
    one thing that may remain (cookiecutter's behaviour, no content of ours).
    """
    return [
        path
        for path in output_dir.rglob("*")
        if path.is_file() or (path.is_dir() and any(path.iterdir()))
    ]


def test_cli_prints_the_error_and_exits_nonzero(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE_ROOT),
         "-o", str(tmp_path), "dev_catalog=Bad-Name"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert 'ERROR: dev_catalog="Bad-Name" is invalid' in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_unknown_choice_is_refused_before_anything_is_written(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE_ROOT),
         "-o", str(tmp_path), "deployment_pattern=deploy_everything"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "deploy_everything" in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == []


HOSTILE_TEXT = "Fares: \"quoted\" 'single' {braces} $(rm -rf ~) `id` $HOME # café ☕ 🚕 — 100% <b>&"


def test_hostile_free_text_is_carried_through_as_data(tmp_path):
    project = bake(
        output_dir=tmp_path, description=HOSTILE_TEXT, read_group='data science\'s "team"'
    )
    assert yaml_problems(project.path) == []
    assert python_problems(project.path) == []
    model = project.yaml("resources/model.yml")["resources"]["registered_models"]["model"]
    assert model["comment"] == HOSTILE_TEXT
    variables = project.yaml("databricks.yml")["variables"]
    assert variables["read_group"]["default"] == 'data science\'s "team"'
    assert json.loads(project.read(".cookiecutter-answers.json"))["description"] == HOSTILE_TEXT
    # Real UTF-8, not escapes: TOML rejects the surrogate pair an emoji would escape to.
    pyproject = tomllib.loads(project.read("pyproject.toml"))
    assert pyproject["project"]["description"] == HOSTILE_TEXT
    config = ast.parse(project.read(f"src/{project.package}/config.py"))
    values = {
        node.targets[0].id: node.value for node in config.body if isinstance(node, ast.Assign)
    }
    assert ast.literal_eval(values["DESCRIPTION"]) == HOSTILE_TEXT


@pytest.mark.parametrize(
    "description", [HOSTILE_TEXT, 'Two "double" quotes', "it's", 'one " and \\ back']
)
def test_free_text_in_python_is_quoted_as_ruff_formats_it(description, tmp_path):
    project = bake(output_dir=tmp_path, description=description)
    lint = [sys.executable, "-m", "ruff", "format", "--check", "."]
    result = subprocess.run(lint, cwd=project.path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert not (tmp_path / "pwned").exists()


def test_rebaking_keeps_the_users_own_files(tmp_path):
    """`cookiecutter -f` over an existing project (another CI platform, say) removes the files
    the template made for the old choice, and nothing the user added beside them."""
    project = bake(output_dir=tmp_path, cicd_platform="github_actions")
    own_files = [".github/CODEOWNERS", ".github/workflows/nightly.yml"]
    for own in own_files:
        (project.path / own).write_text("mine\n")
    cookiecutter(str(TEMPLATE_ROOT), no_input=True, overwrite_if_exists=True,
                 output_dir=str(tmp_path), extra_context={"cicd_platform": "gitlab"})  # fmt: skip
    assert (project.path / ".gitlab-ci.yml").exists()
    left = sorted(
        p.relative_to(project.path).as_posix() for p in project.path.rglob(".github/**/*")
    )
    assert [p for p in left if (project.path / p).is_file()] == own_files


def test_hosts_are_normalised_to_scheme_and_host():
    project = bake(
        dev_workspace_host="https://ADB-123.4.AzureDatabricks.net/?o=123#job/7",
        staging_workspace_host="https://dbc-1.cloud.databricks.com/",
    )
    targets = project.yaml("databricks.yml")["targets"]
    assert targets["dev"]["workspace"]["host"] == "https://adb-123.4.azuredatabricks.net"
    assert targets["staging"]["workspace"]["host"] == "https://dbc-1.cloud.databricks.com"


@pytest.mark.parametrize("name", ["releases/prod", "feature/x-1", "trunk", "v2.0"])
def test_odd_but_valid_branch_names_are_accepted(name):
    project = bake(release_branch=name)
    assert json.loads(project.read(".cookiecutter-answers.json"))["release_branch"] == name


def test_deploy_model_defaults_to_one_workspace():
    project = bake(deployment_pattern="deploy_model")
    hosts = {t["workspace"]["host"] for t in project.yaml("databricks.yml")["targets"].values()}
    assert len(hosts) == 1


def test_package_name_is_derived_from_the_project_name():
    project = bake(project_name="fare-forecast_v2")
    assert project.package == "fare_forecast_v2"
    assert (project.path / "src" / "fare_forecast_v2" / "__init__.py").exists()


def test_every_prompt_has_help_text_and_every_choice_a_label():
    prompts = DEFAULTS["__prompts__"]
    public = [key for key in DEFAULTS if not key.startswith("_")]
    assert sorted(prompts) == sorted(public)
    for key in public:
        if isinstance(DEFAULTS[key], list):
            assert set(prompts[key]) == {"__prompt__", *DEFAULTS[key]}, key
        else:
            assert isinstance(prompts[key], str) and prompts[key].strip(), key


def test_names_refused_for_the_project_are_all_of_its_dependencies():
    """The pre-generation hook's list of dependency names is the generated pyproject's."""
    hook = (TEMPLATE_ROOT / "hooks" / "pre_gen_project.py").read_text()
    listed = re.search(r"DEPENDENCY_DISTRIBUTIONS = (\{.*?\})", hook, re.S).group(1)
    pyproject = tomllib.loads(bake().read("pyproject.toml"))
    requirements = [
        *pyproject["build-system"]["requires"],
        *pyproject["project"]["dependencies"],
        *(r for extra in pyproject["project"]["optional-dependencies"].values() for r in extra),
    ]
    names = {re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", r).group(0)).lower()
             for r in requirements}  # fmt: skip
    assert names == ast.literal_eval(listed)
