"""Validate the answers before any file is written.

The answers arrive as data: cookiecutter renders them into one JSON string literal, which is
parsed here, so no answer is ever pasted into Python code. A bad answer prints one line naming
the prompt, the value and what is allowed, and exits 1; cookiecutter then removes the
half-made project folder.
"""

import json
import keyword
import re
import sys
from urllib.parse import urlsplit

import yaml  # cookiecutter's own dependency

ANSWERS = json.loads({{cookiecutter | tojson | tojson}})  # noqa: F821  (rendered by cookiecutter)
# The answers as given, before cookiecutter rendered them as Jinja (`--no-input key=value` and
# replayed answers are rendered; typed answers are not). cruft renders without them.
GIVEN = json.loads({{_cookiecutter | default({}) | tojson | tojson}})  # noqa: F821

CHOICES = {
    "deployment_pattern": ("deploy_code", "deploy_model", "hybrid"),
    "problem_type": ("regression", "classification"),
    "cloud": ("azure", "aws", "gcp"),
    "cicd_platform": ("github_actions", "azure_devops", "gitlab", "none"),
    "compute": ("serverless", "classic"),
}
PROJECT_NAME = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
# Lowercase so that what the user typed is what Unity Catalog stores, and no backticks needed.
UC_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
HOSTNAME_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
EMAIL = re.compile(r"[^@\s\"'`<>(),;:\\\[\]]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+", re.IGNORECASE)
# Databricks application IDs are UUIDs.
APPLICATION_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Names the generated package must not take: importing it would shadow what the project needs.
RESERVED_PACKAGES = {
    "databricks", "deltalake", "mlflow", "numpy", "pandas", "pyspark", "pytest", "scipy",
    "sklearn", "matplotlib", "yaml", "setuptools", "pip", "src", "test", "tests", "notebooks",
    "resources", "conftest",
}  # fmt: skip
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# Distributions the generated project depends on (its pyproject.toml; a test keeps the two
# equal): a project of the same name could not be installed beside them.
DEPENDENCY_DISTRIBUTIONS = {
    "databricks-bundles", "databricks-connect", "databricks-sdk", "deltalake", "hatchling",
    "hypothesis", "jsonschema", "matplotlib", "mlflow", "mypy", "numpy", "pandas", "pre-commit",
    "pyarrow", "pyspark", "pytest", "pytest-xdist", "pyyaml", "regex", "ruff", "scikit-learn",
    "scipy", "skops",
}  # fmt: skip
# Answers written into YAML as plain names (bundle name, catalogs, schema, model).
YAML_NAMES = ("project_name", "dev_catalog", "test_catalog", "staging_catalog", "prod_catalog",
              "schema_name", "model_name")  # fmt: skip
# Free text lands in YAML, TOML and Python as quoted data; these would still be read as code.
FREE_TEXT = ("description", "read_group", "workspace_read_group")
# {% raw %} (this hook is itself rendered as Jinja: the openers below stay literal)
TEMPLATE_SYNTAX = ("{{", "{%", "{#", "${")
# {% endraw %}


class AnswerError(ValueError):
    """One bad answer; its message is the whole error line."""


def fail(key: str, value, allowed: str):
    raise AnswerError(f"{key}={json.dumps(value, ensure_ascii=False)} is invalid: {allowed}")


def check_choices():
    for key, allowed in CHOICES.items():
        if ANSWERS[key] not in allowed:
            fail(key, ANSWERS[key], "choose one of " + ", ".join(allowed))
    if not isinstance(ANSWERS["include_monitoring"], bool):
        fail("include_monitoring", ANSWERS["include_monitoring"], "answer yes or no")
    if not isinstance(ANSWERS["include_serving"], bool):
        fail("include_serving", ANSWERS["include_serving"], "answer yes or no")


def check_project_name():
    name = ANSWERS["project_name"]
    if len(name) > 64 or not PROJECT_NAME.fullmatch(name):
        fail(
            "project_name",
            name,
            "use 1-64 lowercase letters, digits, '-' or '_', starting with a letter "
            "(it names the folder and the bundle)",
        )


def check_package_name():
    package = ANSWERS["__package_name"]
    if not package.isidentifier() or keyword.iskeyword(package):
        fail(
            "project_name",
            ANSWERS["project_name"],
            f"it gives {package!r}, not a Python name",
        )
    if package in sys.stdlib_module_names or package in RESERVED_PACKAGES:
        fail(
            "project_name",
            ANSWERS["project_name"],
            f"its package name {package!r} would shadow a module the project imports; "
            "pick a more specific name",
        )


def check_distribution_name():
    name = re.sub(r"[-_.]+", "-", ANSWERS["project_name"]).lower()
    if name in DEPENDENCY_DISTRIBUTIONS:
        fail(
            "project_name",
            ANSWERS["project_name"],
            f"the project depends on the package {name!r}, so it cannot be called that",
        )


def check_yaml_names():
    for key in YAML_NAMES:
        if not isinstance(yaml.safe_load(ANSWERS[key]), str):
            fail(key, ANSWERS[key], "YAML reads it as a boolean, null or number; choose a name")


def check_workspace_hosts():
    for key in ("dev_workspace_host", "staging_workspace_host", "prod_workspace_host"):
        url = ANSWERS[key]
        allowed = "use an https:// workspace URL such as https://adb-123.4.azuredatabricks.net"
        if CONTROL_CHARACTERS.search(url) or any(c in url for c in " \"'`\\{}$"):
            fail(key, url, allowed)
        try:
            parts = urlsplit(url.strip())
            host, _ = parts.hostname, parts.port
        except ValueError:
            fail(key, url, allowed)
        if parts.scheme.lower() != "https" or not host or parts.username or parts.password:
            fail(key, url, allowed + " (no user name or password in it)")
        if not all(HOSTNAME_LABEL.fullmatch(label) for label in host.split(".")):
            fail(key, url, allowed)


def check_identifiers():
    for key in ("dev_catalog", "test_catalog", "staging_catalog", "prod_catalog", "schema_name",
                "model_name"):  # fmt: skip
        value = ANSWERS[key]
        if len(value) > 255 or not UC_IDENTIFIER.fullmatch(value):
            fail(
                key,
                value,
                "use a Unity Catalog name that needs no quoting: lowercase letters, digits "
                "and '_', not starting with a digit",
            )


def check_catalogs_differ():
    # The test catalog too: pull-request integration tests train and deploy into it.
    keys = ("dev_catalog", "test_catalog", "staging_catalog", "prod_catalog")
    seen = {}
    for key in keys:
        value = ANSWERS[key]
        if value in seen:
            fail(
                key,
                value,
                f"it equals {seen[value]}; dev, test, staging and prod need their own catalog",
            )
        seen[value] = key


def check_input_table():
    value = ANSWERS["input_table"]
    parts = value.split(".")
    if len(parts) != 3 or not all(UC_IDENTIFIER.fullmatch(part) for part in parts):
        fail(
            "input_table",
            value,
            "use a three-part name <catalog>.<schema>.<table>, e.g. samples.nyctaxi.trips",
        )


def check_branches():
    for key in ("default_branch", "release_branch"):
        value = ANSWERS[key]
        if not is_valid_branch_name(value):
            fail(
                key,
                value,
                "use a valid git branch name (see `git check-ref-format --branch`)",
            )
    if ANSWERS["default_branch"] == ANSWERS["release_branch"]:
        fail(
            "release_branch",
            ANSWERS["release_branch"],
            "it must differ from default_branch",
        )


def is_valid_branch_name(name: str) -> bool:
    """The rules of `git check-ref-format --branch`, without calling git."""
    if not name or name == "@" or name.startswith(("-", "/")) or name.endswith(("/", ".")):
        return False
    if CONTROL_CHARACTERS.search(name) or any(c in name for c in " ~^:?*[\\"):
        return False
    if ".." in name or "@{" in name or "//" in name:
        return False
    return all(
        part and not part.startswith(".") and not part.endswith(".lock") for part in name.split("/")
    )


def check_free_text():
    for key in FREE_TEXT:
        value = ANSWERS[key]
        if not value.strip() or CONTROL_CHARACTERS.search(value) or len(value) > 300:
            fail(key, value, "use one non-empty line of text (up to 300 characters)")
        given = GIVEN.get(key, value)
        for syntax in TEMPLATE_SYNTAX:
            if syntax in value or (isinstance(given, str) and syntax in given):
                fail(
                    key,
                    given,
                    f"remove {syntax!r}: cookiecutter (Jinja) or the bundle (its $" + "{...} "
                    "substitutions) would read it as code, not text",
                )


def check_notification_email():
    value = ANSWERS["notification_email"]
    if not EMAIL.fullmatch(value):
        fail(
            "notification_email",
            value,
            "use one email address, e.g. ml-alerts@example.com",
        )


def check_service_principal():
    value = ANSWERS["prod_service_principal"]
    if value and not APPLICATION_ID.fullmatch(value):
        fail(
            "prod_service_principal",
            value,
            "leave it empty or use the service principal's application ID (a lowercase UUID)",
        )


CHECKS = (
    check_choices,
    check_project_name,
    check_package_name,
    check_distribution_name,
    check_yaml_names,
    check_workspace_hosts,
    check_identifiers,
    check_catalogs_differ,
    check_input_table,
    check_branches,
    check_free_text,
    check_notification_email,
    check_service_principal,
)


def main() -> int:
    try:
        for check in CHECKS:
            check()
    except AnswerError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
