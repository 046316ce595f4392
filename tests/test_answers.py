"""Bad answers stop generation with one clear line each, all at once, and leave nothing behind
but the answers to correct and answer again with; odd but valid answers are carried through as
plain data."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter
from packaging.requirements import Requirement

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
    # Installed with the project's dependencies: mlflow needs flask, pandas python-dateutil.
    "package that shadows an indirect dependency": ({"project_name": "flask"}, ["shadow", "flask"]),
    "project named after an indirect dependency": (
        {"project_name": "python-dateutil"},
        ["project_name", "dependencies install the package 'python-dateutil'"],
    ),
    "endpoint name over 63 characters": (
        {"project_name": "fare-" + "x" * 51, "include_serving": True},
        ["project_name", "64 characters, Databricks allows 63: use at most 55"],
    ),
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
    "input table the project writes": (
        {"input_table": "main.churn.predictions", "schema_name": "churn"},
        ["input_table", "name a table of your own"],
    ),
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


@pytest.fixture(autouse=True)
def home(tmp_path_factory, monkeypatch):
    """A home of the test's own: cookiecutter's replay folder, where a failed run leaves its
    answers, is under it."""
    path = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(path))
    return path


@pytest.mark.parametrize("answers, words", list(BAD_ANSWERS.values()), ids=list(BAD_ANSWERS))
def test_bad_answer_fails_with_a_line_and_leaves_no_folder(answers, words, tmp_path, capfd):
    with pytest.raises(FailedHookException):
        bake(output_dir=tmp_path, **answers)
    error_lines = error_lines_of(capfd.readouterr().err)
    assert any(all(word in line for word in words) for line in error_lines), error_lines
    # One line per answer; a default derived from a bad answer (the schema from the project
    # name) is an answer too, and is reported on its own line.
    keys = [line.removeprefix("ERROR: ").split("=")[0] for line in error_lines]
    assert len(keys) == len(set(keys)), error_lines
    assert leftovers(tmp_path) == []


def error_lines_of(report: str) -> list[str]:
    return [line for line in report.splitlines() if line.startswith("ERROR: ")]


# Four bad answers, each to a different prompt, and what to correct them to.
SEVERAL_BAD = {
    "project_name": ("Churn Risk", "churn-risk"),
    "dev_catalog": ("Dev-Catalog", "dev_ml"),
    "release_branch": ("main", "production"),
    "notification_email": ("nobody", "ml@example.com"),
}


def cookiecutter_cli(*args, home) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cookiecutter", *args],
        capture_output=True, text=True, check=False, env={**os.environ, "HOME": str(home)},
    )  # fmt: skip


def test_every_bad_answer_is_reported_at_once_and_answered_again_without_retyping(tmp_path, home):
    """The issue's user needed three rounds of every prompt; now one report lists all four
    problems, and the printed command bakes from the saved answers once they are corrected."""
    bad = [f"{key}={bad}" for key, (bad, _) in SEVERAL_BAD.items()]
    output = tmp_path / "out"
    first = cookiecutter_cli("--no-input", str(TEMPLATE_ROOT), "-o", str(output), "cloud=aws",
                             "compute=classic", *bad, home=home)  # fmt: skip
    assert first.returncode != 0
    errors = error_lines_of(first.stderr)
    assert [line.split("=")[0] for line in errors] == [f"ERROR: {key}" for key in SEVERAL_BAD]
    assert all("is invalid: " in line for line in errors)
    # Our report comes first, between banners; cookiecutter's own follows on stdout.
    report = first.stderr.strip().splitlines()
    assert report[0] == report[-1] == "=" * 78
    assert "4 answers are invalid; nothing was generated." in report
    assert not output.exists() or leftovers(output) == []

    command = next(line for line in report if line.startswith("  cookiecutter "))
    args = shlex.split(command)[1:]
    saved = home / ".cookiecutter_replay" / "Churn-Risk-answers.yaml"
    assert args == ["--config-file", str(saved), str(TEMPLATE_ROOT)]
    correct_marked_lines(saved)

    again = cookiecutter_cli(*args, "--no-input", "-o", str(output), home=home)
    assert again.returncode == 0, again.stderr
    answers = json.loads((output / "churn-risk" / ".cookiecutter-answers.json").read_text())
    assert {key: answers[key] for key in SEVERAL_BAD} == {
        key: good for key, (_, good) in SEVERAL_BAD.items()
    }
    assert (answers["cloud"], answers["compute"]) == ("aws", "classic")  # kept, not retyped
    assert answers["dev_workspace_host"].endswith(".cloud.databricks.com")


def correct_marked_lines(saved):
    """What the user does: give each line marked `fix` a good value."""
    lines = []
    for line in saved.read_text(encoding="utf-8").splitlines():
        key = line.strip().split(":")[0]
        if "# fix: " in line:
            line = f"  {key}: {json.dumps(SEVERAL_BAD[key][1])}"
        lines.append(line)
    assert sum(line.strip().split(":")[0] in SEVERAL_BAD for line in lines) == len(SEVERAL_BAD)
    saved.write_text("\n".join(lines) + "\n", encoding="utf-8")


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


def hook_constant(name: str):
    """The literal the pre-generation hook assigns to `name` (the hook is Python as it stands:
    its Jinja expressions are set literals to the parser)."""
    tree = ast.parse((TEMPLATE_ROOT / "hooks" / "pre_gen_project.py").read_text())
    assigned = (
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and [target.id for target in node.targets] == [name]
    )
    return ast.literal_eval(next(assigned))


def generated_requirements(*, build_backend: bool) -> list[str]:
    """The requirements of the default project's pyproject with serving (which adds one): its
    dependencies and every extra, and with `build_backend` what building it needs."""
    pyproject = tomllib.loads(bake(include_serving=True).read("pyproject.toml"))
    return [
        *(pyproject["build-system"]["requires"] if build_backend else []),
        *pyproject["project"]["dependencies"],
        *(r for extra in pyproject["project"]["optional-dependencies"].values() for r in extra),
    ]


def distribution_name(name: str) -> str:
    """A distribution's name as the hook compares it (PEP 503's normalised form)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def test_names_refused_for_the_project_are_all_of_its_dependencies():
    """The pre-generation hook's list of dependency names is the generated pyproject's."""
    names = {
        distribution_name(Requirement(text).name)
        for text in generated_requirements(build_backend=True)
    }
    assert names == hook_constant("DEPENDENCY_DISTRIBUTIONS")


def _installed_closure(names) -> dict:
    """The installed distributions `names` need, down to the last, as {name: distribution}."""
    closure, pending = {}, [*names]
    while pending:
        name = distribution_name(pending.pop())
        if name in closure:
            continue
        try:
            closure[name] = distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # not in this environment (databricks-connect, the build backend)
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return closure


def _top_level_modules(distribution) -> set[str]:
    """The importable names a distribution installs, lowercase (as a package name would be)."""
    names = set((distribution.read_text("top_level.txt") or "").split())
    for file in distribution.files or []:
        first = file.parts[0]
        if len(file.parts) == 1 and first.endswith(".py"):
            names.add(first[:-3])
        elif len(file.parts) > 1 and not first.endswith((".dist-info", ".data", ".egg-info")):
            names.add(first)
    return {name.lower() for name in names if name.isidentifier() and name[0].isalpha()}


def test_names_refused_for_the_project_include_what_its_dependencies_install():
    """A project named after an indirect dependency (flask, through mlflow) could not be
    installed beside it, and its package would shadow the module. The hook's lists hold every
    distribution and module the generated project's requirements install, in the template's
    environment (which has them all: the baked projects' tests run in it)."""
    requirements = generated_requirements(build_backend=False)
    closure = _installed_closure(Requirement(text).name for text in requirements)
    distributions = hook_constant("DEPENDENCY_DISTRIBUTIONS") | hook_constant(
        "INDIRECT_DISTRIBUTIONS"
    )
    assert not set(closure) - distributions, "add to INDIRECT_DISTRIBUTIONS"
    modules = set().union(*(_top_level_modules(d) for d in closure.values()))
    refused = hook_constant("DEPENDENCY_MODULES") | hook_constant("RESERVED_PACKAGES")
    assert not {m for m in modules if "__" not in m} - refused, "add to DEPENDENCY_MODULES"


def test_placeholders_left_in_the_answers_are_listed_with_their_files(tmp_path, capfd):
    project = bake(output_dir=tmp_path, cloud="aws", cicd_platform="gitlab")
    out = capfd.readouterr().out
    assert f"  cd {project.path}\n" in out  # the folder it is in, wherever that is
    listed = out.split("Still the template's placeholders")[1].splitlines()[1:5]
    staging = "https://dbc-22222222-2222.cloud.databricks.com"
    assert f"  {staging} (staging_workspace_host): " in listed[1]
    files = listed[1].split(": ", 1)[1].split(", ")
    assert {"databricks.yml", ".gitlab-ci.yml"} <= set(files)
    assert all(staging in project.read(path) for path in files)
    assert listed[3].startswith("  ml-alerts@example.com (notification_email): ")


def test_own_hosts_and_email_leave_no_placeholder_note(tmp_path, capfd):
    bake(
        output_dir=tmp_path,
        dev_workspace_host="https://adb-8046126.6.azuredatabricks.net",
        staging_workspace_host="https://adb-3820175.19.azuredatabricks.net",
        prod_workspace_host="https://adb-7732291.2.azuredatabricks.net",
        notification_email="ml-team@fares.io",
    )
    assert "placeholders" not in capfd.readouterr().out


def test_the_hook_knows_every_table_the_project_writes():
    # The hook refuses an input table among them; the generated config.py names them.
    project = bake()
    config = (project.path / "src" / project.package / "config.py").read_text()
    written = set(re.findall(r'^[A-Z_]+_TABLE = "(\w+)"', config, re.M))
    assert written == set(hook_constant("PROJECT_TABLES"))
