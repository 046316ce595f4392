"""Validate the answers before any file is written.

The answers arrive as data: cookiecutter renders them into one JSON string literal, which is
parsed here, so no answer is ever pasted into Python code. Every bad answer is reported at
once, one line each naming the prompt, the value and what is allowed, between two banners that
stand out above cookiecutter's own report; the answers are saved as a config file to correct and
answer again with, and the hook exits 1: cookiecutter then removes the half-made project folder.
"""

import json
import keyword
import re
import shlex
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml  # cookiecutter's own dependency
from cookiecutter.config import get_user_config  # the hook runs on cookiecutter's Python

ANSWERS = json.loads({{cookiecutter | tojson | tojson}})  # noqa: F821  (rendered by cookiecutter)
# The answers as given, before cookiecutter rendered them as Jinja (`--no-input key=value` and
# replayed answers are rendered; typed answers are not). cruft renders without them.
GIVEN = json.loads({{_cookiecutter | default({}) | tojson | tojson}})  # noqa: F821
# The template as the user named it (a path or URL), for the command that answers again.
TEMPLATE = ANSWERS.get("_template") or "<template>"
BANNER = "=" * 78

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
# The modules the project's dependencies install, direct or not (lowercase): a package of
# the same name would shadow one of them (a template test keeps it complete).
DEPENDENCY_MODULES = {
    "aiohappyeyeballs", "aiohttp", "aiosignal", "alembic", "annotated_doc", "annotated_types",
    "anyio", "arro3", "ast_serialize", "attr", "attrs", "blinker", "cachetools", "certifi", "cffi",
    "cfgv", "charset_normalizer", "click", "cloudpickle", "contourpy", "cryptography", "cycler",
    "databricks", "dateutil", "deltalake", "deprecated", "distlib", "docker", "dotenv", "execnet",
    "fastapi", "filelock", "flask", "flask_cors", "fonttools", "frozenlist", "git", "gitdb",
    "google", "graphene", "graphql", "graphql_relay", "gunicorn", "h11", "huey", "hypothesis",
    "identify", "idna", "importlib_metadata", "iniconfig", "itsdangerous", "jinja2", "joblib",
    "jsonschema", "jsonschema_specifications", "kiwisolver", "librt", "mako", "markupsafe",
    "matplotlib", "mlflow", "mpl_toolkits", "multidict", "mypy", "mypy_extensions", "mypyc",
    "narwhals", "nodeenv", "numpy", "opentelemetry", "orjson", "packaging", "pandas", "pathspec",
    "pil",
    "platformdirs", "pluggy", "pre_commit", "prettytable", "propcache", "py", "py4j", "pyarrow",
    "pyasn1", "pyasn1_modules", "pycparser", "pydantic", "pydantic_core", "pygments", "pylab",
    "pyparsing", "pyspark", "pytest", "python_discovery", "referencing", "regex", "requests",
    "rpds", "ruff", "scipy", "six", "sklearn", "skops", "smmap", "sortedcontainers", "sqlalchemy",
    "sqlparse", "starlette", "threadpoolctl", "typing_extensions", "typing_inspection", "urllib3",
    "uvicorn", "virtualenv", "wcwidth", "werkzeug", "wrapt", "xdist", "yaml", "yarl", "zipp"
}  # fmt: skip
# Serving endpoint names: 1-63 letters, digits, '-' or '_' (the endpoints API).
MAX_ENDPOINT_NAME = 63
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# Distributions the generated project depends on (its pyproject.toml; a test keeps the two
# equal): a project of the same name could not be installed beside them.
DEPENDENCY_DISTRIBUTIONS = {
    "databricks-bundles", "databricks-connect", "databricks-sdk", "deltalake", "hatchling",
    "hypothesis", "jsonschema", "matplotlib", "mlflow", "mypy", "numpy", "orjson", "pandas",
    "pre-commit",
    "pyarrow", "pyspark", "pytest", "pytest-xdist", "pyyaml", "regex", "ruff", "scikit-learn",
    "scipy", "skops",
}  # fmt: skip
# What those depend on in turn, down to the last (a template test keeps it complete for the
# template's environment): installing the project would replace one of them.
INDIRECT_DISTRIBUTIONS = {
    "aiohappyeyeballs", "aiohttp", "aiosignal", "alembic", "annotated-doc", "annotated-types",
    "anyio", "arro3-core", "ast-serialize", "attrs", "blinker", "cachetools", "certifi", "cffi",
    "cfgv", "charset-normalizer", "click", "cloudpickle", "contourpy", "cryptography", "cycler",
    "deprecated", "distlib", "docker", "execnet", "fastapi", "filelock", "flask", "flask-cors",
    "fonttools", "frozenlist", "gitdb", "gitpython", "google-auth", "graphene", "graphql-core",
    "graphql-relay", "gunicorn", "h11", "huey", "identify", "idna", "importlib-metadata",
    "iniconfig", "itsdangerous", "jinja2", "joblib", "jsonschema-specifications", "kiwisolver",
    "librt", "mako", "markupsafe", "mlflow-skinny", "mlflow-tracing", "multidict",
    "mypy-extensions", "narwhals", "nodeenv", "opentelemetry-api", "opentelemetry-proto",
    "opentelemetry-sdk", "opentelemetry-semantic-conventions", "packaging", "pathspec", "pillow",
    "platformdirs", "pluggy", "prettytable", "propcache", "protobuf", "py4j", "pyasn1",
    "pyasn1-modules", "pycparser", "pydantic", "pydantic-core", "pygments", "pyparsing",
    "python-dateutil", "python-discovery", "python-dotenv", "referencing", "requests", "rpds-py",
    "six", "smmap", "sortedcontainers", "sqlalchemy", "sqlparse", "starlette", "threadpoolctl",
    "typing-extensions", "typing-inspection", "urllib3", "uvicorn", "virtualenv", "wcwidth",
    "werkzeug", "wrapt", "yarl", "zipp"
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

    def __init__(self, key: str, value, allowed: str):
        super().__init__(f"{key}={json.dumps(value, ensure_ascii=False)} is invalid: {allowed}")
        self.key = key
        self.allowed = allowed


def fail(key: str, value, allowed: str):
    raise AnswerError(key, value, allowed)


def check_choice(key):
    if ANSWERS[key] not in CHOICES[key]:
        fail(key, ANSWERS[key], "choose one of " + ", ".join(CHOICES[key]))


def check_yes_no(key):
    if not isinstance(ANSWERS[key], bool):
        fail(key, ANSWERS[key], "answer yes or no")


def check_project_name(key):
    name = ANSWERS[key]
    if len(name) > 64 or not PROJECT_NAME.fullmatch(name):
        fail(
            key,
            name,
            "use 1-64 lowercase letters, digits, '-' or '_', starting with a letter "
            "(it names the folder and the bundle)",
        )


def check_package_name(key):
    package = ANSWERS["__package_name"]
    if not package.isidentifier() or keyword.iskeyword(package):
        fail(key, ANSWERS[key], f"it gives {package!r}, not a Python name")
    if package in sys.stdlib_module_names or package in RESERVED_PACKAGES | DEPENDENCY_MODULES:
        fail(
            key,
            ANSWERS[key],
            f"its package name {package!r} would shadow a module the project imports; "
            "pick a more specific name",
        )


def check_distribution_name(key):
    name = re.sub(r"[-_.]+", "-", ANSWERS[key]).lower()
    if name in DEPENDENCY_DISTRIBUTIONS:
        fail(
            key,
            ANSWERS[key],
            f"the project depends on the package {name!r}, so it cannot be called that",
        )
    if name in INDIRECT_DISTRIBUTIONS:
        fail(
            key,
            ANSWERS[key],
            f"the project's dependencies install the package {name!r}, so it cannot be called that",
        )


def check_endpoint_name_fits(key):
    # The endpoint is named `<project_name>-<target>` (databricks.yml, serving_endpoint), and
    # Databricks takes at most 63 characters; staging is the longest target name.
    longest = f"{ANSWERS[key]}-staging"
    if ANSWERS["include_serving"] is True and len(longest) > MAX_ENDPOINT_NAME:
        fail(
            key,
            ANSWERS[key],
            f"with include_serving its endpoint {longest!r} would have {len(longest)} "
            f"characters, Databricks allows {MAX_ENDPOINT_NAME}: use at most "
            f"{MAX_ENDPOINT_NAME - len('-staging')} characters",
        )


def check_yaml_name(key):
    if not isinstance(yaml.safe_load(ANSWERS[key]), str):
        fail(key, ANSWERS[key], "YAML reads it as a boolean, null or number; choose a name")


def check_workspace_host(key):
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


def check_unity_catalog_name(key):
    value = ANSWERS[key]
    if len(value) > 255 or not UC_IDENTIFIER.fullmatch(value):
        fail(
            key,
            value,
            "use a Unity Catalog name that needs no quoting: lowercase letters, digits "
            "and '_', not starting with a digit",
        )


def check_catalog_is_its_own(key):
    # The test catalog too: pull-request integration tests train and deploy into it.
    for earlier in CATALOGS[: CATALOGS.index(key)]:
        if ANSWERS[earlier] == ANSWERS[key]:
            fail(
                key,
                ANSWERS[key],
                f"it equals {earlier}; dev, test, staging and prod need their own catalog",
            )


def check_input_table(key):
    value = ANSWERS[key]
    parts = value.split(".")
    if len(parts) != 3 or not all(UC_IDENTIFIER.fullmatch(part) for part in parts):
        fail(
            key,
            value,
            "use a three-part name <catalog>.<schema>.<table>, e.g. samples.nyctaxi.trips",
        )


# The tables the generated stages write in the project's schema (config.py): an input table
# among them would be compared with itself, or overwritten by sample data.
PROJECT_TABLES = ("predictions", "labels", "monitoring_metrics", "new_rows")


def check_input_table_is_not_the_projects(key):
    value = ANSWERS[key]
    parts = value.split(".")
    if len(parts) == 3 and parts[1] == ANSWERS["schema_name"] and parts[2] in PROJECT_TABLES:
        fail(
            key,
            value,
            f"name a table of your own: {', '.join(PROJECT_TABLES)} in schema "
            f"{parts[1]} are the tables the project writes",
        )


def check_branch(key):
    if not is_valid_branch_name(ANSWERS[key]):
        fail(key, ANSWERS[key], "use a valid git branch name (see `git check-ref-format --branch`)")


def check_release_branch_differs(key):
    if ANSWERS["default_branch"] == ANSWERS[key]:
        fail(key, ANSWERS[key], "it must differ from default_branch")


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


def check_free_text(key):
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


def check_notification_email(key):
    if not EMAIL.fullmatch(ANSWERS[key]):
        fail(key, ANSWERS[key], "use one email address, e.g. ml-alerts@example.com")


def check_service_principal(key):
    value = ANSWERS[key]
    if value and not APPLICATION_ID.fullmatch(value):
        fail(
            key,
            value,
            "leave it empty or use the service principal's application ID (a lowercase UUID)",
        )


CATALOGS = ("dev_catalog", "test_catalog", "staging_catalog", "prod_catalog")
HOSTS = ("dev_workspace_host", "staging_workspace_host", "prod_workspace_host")
# (rule, the answers it checks), in order: an answer is reported once, for its first problem.
CHECKS = (
    (check_choice, tuple(CHOICES)),
    (check_yes_no, ("include_monitoring", "include_serving")),
    (check_project_name, ("project_name",)),
    (check_package_name, ("project_name",)),
    (check_distribution_name, ("project_name",)),
    (check_endpoint_name_fits, ("project_name",)),
    (check_yaml_name, YAML_NAMES),
    (check_workspace_host, HOSTS),
    (check_unity_catalog_name, (*CATALOGS, "schema_name", "model_name")),
    (check_catalog_is_its_own, CATALOGS),
    (check_input_table, ("input_table",)),
    (check_input_table_is_not_the_projects, ("input_table",)),
    (check_branch, ("default_branch", "release_branch")),
    (check_release_branch_differs, ("release_branch",)),
    (check_free_text, FREE_TEXT),
    (check_notification_email, ("notification_email",)),
    (check_service_principal, ("prod_service_principal",)),
)


def answer_errors() -> list[AnswerError]:
    """Every invalid answer, each with its first problem, in the order of CHECKS."""
    errors: dict[str, AnswerError] = {}
    for check, keys in CHECKS:
        for key in keys:
            if key not in errors:
                try:
                    check(key)
                except AnswerError as error:
                    errors[key] = error
    return list(errors.values())


def save_answers(errors: list[AnswerError]) -> Path:
    """The answers as a cookiecutter config file (`default_context`), each invalid one marked.

    Not cookiecutter's own replay file: that also holds the private values derived from the
    answers (package name, normalised hosts, targets), which a replay does not derive again, so
    a corrected project name there would bake with the old package name.
    """
    user_config = get_user_config()
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", ANSWERS["project_name"]).strip("-.") or "project"
    path = Path(user_config["replay_dir"]).expanduser() / f"{name}-answers.yaml"
    marks = {error.key: f"  # fix: {error.allowed}" for error in errors}
    # JSON scalars are YAML scalars, and always one line.
    lines = [
        f"  {key}: {json.dumps(value, ensure_ascii=False)}{marks.get(key, '')}"
        for key, value in ANSWERS.items()
        if not key.startswith("_")
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"# The answers of a run of {TEMPLATE}: correct the lines marked `fix`. Each answer is\n"
        "# kept as given, defaults too: change a host or the schema along with the cloud or the\n"
        "# project name it came from.\n"
        "default_context:\n" + "\n".join(lines) + "\n",
        encoding="utf-8",
    )
    return path


def report(errors: list[AnswerError]) -> str:
    """Lines that stand out above cookiecutter's own report (and its traceback) that follows."""
    count = f"{len(errors)} answer{'s are' if len(errors) > 1 else ' is'} invalid"
    lines = [BANNER, f"{count}; nothing was generated.", *(f"ERROR: {e}" for e in errors)]
    try:
        saved = save_answers(errors)
    except OSError as error:
        lines.append(f"(your answers could not be saved: {error}; answer the prompts again)")
    else:
        command = ["cookiecutter", "--config-file", str(saved), TEMPLATE]
        lines += [
            f"Your answers are saved in {saved}: correct the lines marked `fix`, then run",
            f"  {shlex.join(command)}",
            "and press Enter at each prompt to keep your answer (or add --no-input).",
        ]
    lines += ["(cookiecutter's own report and traceback below add nothing to this)", BANNER]
    return "\n".join(lines)


def main() -> int:
    errors = answer_errors()
    if errors:
        print(report(errors), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
