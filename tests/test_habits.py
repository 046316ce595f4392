"""Everyday habits of a generated project: pre-commit hooks that pass on the baked project.

pre-commit itself would fetch the hook repositories from GitHub; here the pinned hooks run from
the `pre-commit-hooks` package of the same release, each on the files pre-commit would give it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from identify.identify import tags_from_path

from baking import TEMPLATE_ROOT, bake
from golden import SNAPSHOTS

BIN = Path(sys.executable).parent
# Hook id -> (console script of pre-commit-hooks, file types it takes), as in the package's
# .pre-commit-hooks.yaml at the pinned tag.
HOOKS = {
    "trailing-whitespace": ("trailing-whitespace-fixer", "text"),
    "end-of-file-fixer": ("end-of-file-fixer", "text"),
    "check-yaml": ("check-yaml", "yaml"),
    "check-toml": ("check-toml", "toml"),
    "check-json": ("check-json", "json"),
    "check-merge-conflict": ("check-merge-conflict", "text"),
    "check-added-large-files": ("check-added-large-files", "file"),
    "detect-private-key": ("detect-private-key", "text"),
}


def pre_commit_config(project) -> dict:
    return project.yaml(".pre-commit-config.yaml")


def test_pre_commit_config_is_valid_and_pinned():
    project = bake()
    result = subprocess.run(
        [BIN / "pre-commit", "validate-config", ".pre-commit-config.yaml"],
        cwd=project.path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    for repo in pre_commit_config(project)["repos"]:
        if repo["repo"] != "local":
            assert re.fullmatch(r"[0-9a-f]{40}", repo["rev"]), (
                f"{repo['repo']} not pinned by commit"
            )


def test_pre_commit_ruff_is_the_version_make_lint_uses():
    project = bake()
    pinned = re.search(r"^ruff==(\S+)$", (TEMPLATE_ROOT / "requirements-dev.txt").read_text(), re.M)
    hook_versions = {
        dependency
        for repo in pre_commit_config(project)["repos"]
        for hook in repo["hooks"]
        for dependency in hook.get("additional_dependencies", [])
    }
    assert hook_versions == {f"ruff=={pinned.group(1)}"}
    assert f'"ruff=={pinned.group(1)}"' in project.read("pyproject.toml")


@pytest.mark.parametrize("name", list(SNAPSHOTS))
def test_pinned_hooks_pass_on_a_baked_project(name, tmp_path):
    project = bake(output_dir=tmp_path, **SNAPSHOTS[name])
    configured = {
        hook["id"]
        for repo in pre_commit_config(project)["repos"]
        if repo["repo"] != "local"
        for hook in repo["hooks"]
    }
    assert configured == set(HOOKS)
    files = project.files()
    # As a user runs them: in the project's new git repository, on every file it adds.
    subprocess.run(["git", "init", "-q"], cwd=project.path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project.path, check=True)
    for hook, (script, file_type) in HOOKS.items():
        chosen = [str(p) for p in files if file_type in tags_from_path(str(p))]
        result = subprocess.run(
            [BIN / script, *chosen], cwd=project.path, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"{hook}: {result.stdout}{result.stderr}"


def makefile_targets(project) -> set[str]:
    return set(re.findall(r"^([a-z-]+):", project.read("Makefile"), flags=re.MULTILINE))


def test_make_help_lists_every_target_on_one_line():
    project = bake()
    # As a user types it: not under a parent make (`make test`), which makes it name directories.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    result = subprocess.run(["make", "help"], cwd=project.path, capture_output=True, text=True,
                            env=env, check=True)  # fmt: skip
    listed = re.findall(r"^make (\S+) +\S", result.stdout, flags=re.MULTILINE)
    assert sorted(listed) == sorted(makefile_targets(project))
    assert len(result.stdout.strip().splitlines()) == len(listed)


@pytest.mark.parametrize("document", ["AGENTS.md", "README.md"])
def test_every_make_command_a_document_names_exists(document):
    project = bake()
    named = set(re.findall(r"`?make ([a-z-]+)", project.read(document)))
    assert named and named <= makefile_targets(project), named - makefile_targets(project)


def test_agents_md_points_at_files_that_exist():
    project = bake()
    paths = re.findall(r"`((?:src|notebooks|tests|docs)/[^`*<>]+?)`", project.read("AGENTS.md"))
    assert paths
    missing = [p for p in paths if not (project.path / p.rstrip("/")).exists()]
    assert not missing, missing


def test_agents_md_quotes_the_errors_of_the_two_first_traps():
    """AGENTS.md tells an assistant what the two errors a data scientist meets first say, and
    their fixes: the quoted words are the ones the code prints."""
    project = bake()
    agents = project.read("AGENTS.md")
    source = project.path / "src" / project.package
    for quoted, module in [
        ("skops does not trust the model's types", "mlops/errors.py"),
        ("TRUSTED_TYPES", "model.py"),
        ("is stored as", "mlops/tables.py"),
        ("a type cannot change in place", "mlops/tables.py"),
    ]:
        assert quoted in agents, quoted
        assert quoted in (source / module).read_text(encoding="utf-8"), (quoted, module)


CI_FILES = (".github/", ".azure-pipelines/", ".gitlab-ci.yml")


@pytest.mark.parametrize("platform", ["github_actions", "azure_devops", "gitlab"])
def test_ci_installs_the_tool_versions_the_template_pins(platform):
    """uv and cruft in the generated CI are the versions requirements-dev.txt pins (and the
    tests here use), and each pipeline's checks run `make check`."""
    requirements = (TEMPLATE_ROOT / "requirements-dev.txt").read_text()
    pins = dict(re.findall(r"^(uv|cruft)==(\S+)$", requirements, re.MULTILINE))
    project = bake(cicd_platform=platform)
    ci_text = "\n".join(
        project.read(path) for path in sorted(project.relative_files()) if path.startswith(CI_FILES)
    )
    uv_versions = re.findall(r'uv==([0-9.]+)|UV_VERSION: "([0-9.]+)"', ci_text)
    assert {version for pair in uv_versions for version in pair if version} == {pins["uv"]}
    assert set(re.findall(r"cruft==([0-9.]+)", ci_text)) == {pins["cruft"]}
    assert "make check" in ci_text and "make lint" not in ci_text
