"""Prune what the chosen options do not use, then print the next steps.

Every optional file of the generated project is listed once, in REMOVALS, next to the
condition under which it goes. The template's tests state the expected files independently.
Files, not folders: re-baking over an existing project (`cookiecutter -f`, `cruft update`)
removes what the template made and keeps a user's own files beside them (a folder goes only
once it is empty).
"""

import json
import sys
from pathlib import Path

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
    print(
        f"\nCreated {project} ({ANSWERS['deployment_pattern']} pattern). Next steps:\n"
        f"  cd {project}\n"
        "  make install                      # .venv with the package and its dev tools\n"
        "  make test                         # the fast suite: stages, notebooks, bundle checks\n"
        "  make lifecycle                    # the whole pipeline on this machine\n"
        "  databricks bundle deploy -t dev   # then deploy to your dev workspace\n"
    )


def main() -> int:
    for relative_path in paths_to_remove(ANSWERS):
        remove(relative_path)
    print_next_steps()
    return 0


if __name__ == "__main__":
    sys.exit(main())
