"""Prune what the chosen options do not use, then print the next steps and the answers that
are still the template's placeholders, with the files that hold them.

Every optional file of the generated project is listed once, in REMOVALS, next to the
condition under which it goes. The template's tests state the expected files independently.
Files, not folders: re-baking over an existing project (`cookiecutter -f`, `cruft update`)
removes what the template made and keeps a user's own files beside them (a folder goes only
once it is empty).
"""

import json
import re
import shlex
import sys
from pathlib import Path
from urllib.parse import urlsplit

ANSWERS = json.loads({{cookiecutter | tojson | tojson}})  # noqa: F821  (rendered by cookiecutter)

# (condition on the answers, paths removed when it holds)
REMOVALS = (
    (
        lambda a: a["cicd_platform"] != "github_actions",
        [
            ".github/workflows/ci.yml",
            ".github/workflows/deploy.yml",
            ".github/workflows/promote-model.yml",
        ],
    ),
    (
        lambda a: a["cicd_platform"] != "azure_devops",
        [
            ".azure-pipelines/ci.yml",
            ".azure-pipelines/deploy.yml",
            ".azure-pipelines/promote-model.yml",
            ".azure-pipelines/templates/databricks-step.yml",
            ".azure-pipelines/templates/install-databricks-cli.yml",
        ],
    ),
    (lambda a: a["cicd_platform"] != "gitlab", [".gitlab-ci.yml"]),
    (lambda a: a["cicd_platform"] == "none", ["docs/ci-cd.md"]),
    (
        lambda a: a["deployment_pattern"] == "deploy_code",
        [
            "resources/promotion_job.yml",
            "notebooks/promote.py",
            ".github/workflows/promote-model.yml",
            ".azure-pipelines/promote-model.yml",
        ],
    ),
    (
        lambda a: not a["include_monitoring"],
        [
            "resources/monitoring_job.yml",
            "notebooks/monitor.py",
            "notebooks/create_monitor.py",
        ],
    ),
    (
        lambda a: not a["include_serving"],
        [
            "src/{{ cookiecutter.__package_name }}/mlops/endpoint.py",
            "src/{{ cookiecutter.__package_name }}/mlops/server.py",
            "notebooks/update_endpoint.py",
            "tests/test_endpoint.py",
            "tests/test_server.py",
        ],
    ),
)


def paths_to_remove(answers: dict) -> list[str]:
    return [path for applies, paths in REMOVALS if applies(answers) for path in paths]


def remove(relative_path: str) -> None:
    """Remove one file, then each folder above it that this leaves empty."""
    path = Path(relative_path)
    path.unlink(missing_ok=True)
    for folder in path.parents[:-1]:  # up to, not including, the project folder
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def print_next_steps() -> None:
    project = ANSWERS["project_name"]
    # The hook runs in the new project's folder: its full path is right wherever the user is
    # (`cookiecutter -o build/demo`, `make demo`).
    print(
        f"\nCreated {project} ({ANSWERS['deployment_pattern']} pattern). Next steps:\n"
        f"  cd {shlex.quote(str(Path.cwd()))}\n"
        "  make install                      # .venv with the package and its dev tools\n"
        "  make test                         # the fast suite: stages, notebooks, bundle checks\n"
        "  make lifecycle                    # the whole pipeline on this machine\n"
        "  databricks bundle deploy -t dev   # then deploy to your dev workspace\n"
    )


HOSTS = ("dev_workspace_host", "staging_workspace_host", "prod_workspace_host")
# Mail domains reserved for examples (RFC 2606): mail sent there reaches no one.
EXAMPLE_DOMAIN = re.compile(r"@(?:[a-z0-9-]+\.)*example\.(?:com|org|net)$", re.IGNORECASE)


def is_placeholder_host(url: str) -> bool:
    """The template's example hosts: a workspace id of one repeated digit
    (https://adb-1111111111111111.11.azuredatabricks.net, https://dbc-22222222-2222...)."""
    label = (urlsplit(url).hostname or "").split(".")[0]
    digits = re.sub(r"^(?:adb|dbc)-|-", "", label)
    return digits.isdigit() and len(set(digits)) == 1


def placeholders(answers: dict) -> dict[str, list[str]]:
    """Placeholder value -> the answers that hold it."""
    found: dict[str, list[str]] = {}
    for key in HOSTS:
        if is_placeholder_host(answers[key]):
            found.setdefault(answers[key], []).append(key)
    if EXAMPLE_DOMAIN.search(answers["notification_email"]):
        found.setdefault(answers["notification_email"], []).append("notification_email")
    return found


def files_containing(text: str) -> list[str]:
    return sorted(
        path.as_posix()
        for path in Path().rglob("*")
        if path.is_file() and text in path.read_text(encoding="utf-8", errors="replace")
    )


def print_placeholders() -> None:
    """Placeholders would deploy to someone else's workspace, or mail no one: say so, and where
    each one is written."""
    found = placeholders(ANSWERS)
    if not found:
        return
    print("Still the template's placeholders: replace them in these files before the first deploy.")
    for value, keys in found.items():
        print(f"  {value} ({', '.join(keys)}): {', '.join(files_containing(value))}")
    print()


def main() -> int:
    for relative_path in paths_to_remove(ANSWERS):
        remove(relative_path)
    print_next_steps()
    print_placeholders()
    return 0


if __name__ == "__main__":
    sys.exit(main())
