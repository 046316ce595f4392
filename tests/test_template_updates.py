"""A project made with cruft takes template updates with `cruft update`, and keeps its own edits.

The template is copied into a git repository of its own and given a second commit (a changed
template-owned file and a new one), as a template release would. A project is created at the
first commit, a data scientist edits `features.py`, and `cruft update` brings it to the second.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from baking import copy_template
from project_checks import run

pytestmark = pytest.mark.slow

CRUFT = str(Path(sys.executable).with_name("cruft"))
GIT_IDENTITY = ["-c", "user.name=Template Test", "-c", "user.email=template-test@example.com"]
PROJECT_TEMPLATE = "{{cookiecutter.project_name}}"
ANSWERS = {"project_name": "fare-lab", "dev_catalog": "lab_dev", "deployment_pattern": "hybrid"}
TEMPLATE_EDIT = "\n# Added by the template's second release.\n"
USER_EDIT = "\n\n# A feature idea of the data scientist's, kept across template updates.\n"


def commit(repo: Path, message: str) -> str:
    run(["git", "add", "-A"], repo)
    run(["git", *GIT_IDENTITY, "commit", "-q", "-m", message], repo)
    return run(["git", "rev-parse", "HEAD"], repo).stdout.strip()


@pytest.fixture
def template_repo(tmp_path) -> tuple[Path, str, str]:
    """A git copy of this template at two commits: as it is, and with a template change."""
    repo = copy_template(tmp_path / "template")
    shutil.rmtree(repo / "tests" / "snapshots")  # not part of what cruft renders; saves time
    run(["git", "init", "-q", "-b", "main"], repo)
    first = commit(repo, "template as it is")
    makefile = repo / PROJECT_TEMPLATE / "Makefile"
    makefile.write_text(makefile.read_text() + TEMPLATE_EDIT)
    (repo / PROJECT_TEMPLATE / "docs" / "added-in-release-2.md").write_text(
        "# New in release 2 of the template, for {{ cookiecutter.project_name }}\n"
    )
    second = commit(repo, "template change")
    return repo, first, second


def test_cruft_update_brings_template_changes_and_keeps_user_edits(template_repo, tmp_path):
    repo, first, second = template_repo
    out = tmp_path / "projects"
    out.mkdir()
    run([CRUFT, "create", "--no-input", "--checkout", first, "--extra-context",
         json.dumps(ANSWERS), str(repo)], out)  # fmt: skip
    project = out / ANSWERS["project_name"]
    assert json.loads((project / ".cruft.json").read_text())["commit"] == first
    assert not (project / "docs" / "added-in-release-2.md").exists()

    run(["git", "init", "-q", "-b", "main"], project)
    commit(project, "generated")
    features = project / "src" / "fare_lab" / "features.py"
    features.write_text(features.read_text() + USER_EDIT)
    commit(project, "a data scientist's edit")

    run([CRUFT, "update", "--skip-apply-ask", "--checkout", second], project)

    cruft_state = json.loads((project / ".cruft.json").read_text())
    assert cruft_state["commit"] == second
    assert cruft_state["context"]["cookiecutter"]["dev_catalog"] == "lab_dev"
    assert (project / "docs" / "added-in-release-2.md").read_text() == (
        "# New in release 2 of the template, for fare-lab\n"
    )
    assert (project / "Makefile").read_text().endswith(TEMPLATE_EDIT)
    assert features.read_text().endswith(USER_EDIT)
    assert not list(project.rglob("*.rej")), "the update left conflicts"
    # What the hooks pruned for this pattern stays pruned (hybrid keeps promotion, for example).
    assert (project / "resources" / "promotion_job.yml").exists()
    assert "up to date" in run([CRUFT, "check", "--checkout", second], project).stdout
