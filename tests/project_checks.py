"""Checks that hold for every baked project, as functions that return lists of problems."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
from functools import cache
from pathlib import Path

import yaml

# Jinja left in a generated file. Not fooled by GitHub/Azure `${{ }}` expressions or by
# Databricks dynamic value references such as `{{tasks.train.values.model_version}}`.
DYNAMIC_VALUE = r"\s*(?:tasks|task|job|run|parent_run|workspace|backend)\."
# Openers only: every Jinja construct has one, while closers like `%}` occur in f-strings.
LEFTOVER_JINJA = re.compile(r"(?<!\$)\{\{(?!" + DYNAMIC_VALUE + r")|\{%|(?<!\$)\{#")
COOKIECUTTER_REFERENCE = re.compile(r"\bcookiecutter\.(?!json\b)[A-Za-z_]")


def leftover_template_syntax(text: str) -> list[str]:
    found = [m.group(0) for m in LEFTOVER_JINJA.finditer(text)]
    found += [m.group(0) for m in COOKIECUTTER_REFERENCE.finditer(text)]
    return found


def text_files(project: Path):
    for path in sorted(project.rglob("*")):
        if path.is_file():
            try:
                yield path, path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue


def template_problems(project: Path) -> list[str]:
    problems = []
    for path, text in text_files(project):
        for line_number, line in enumerate(text.splitlines(), 1):
            for leftover in leftover_template_syntax(line):
                rel = path.relative_to(project)
                problems.append(f"{rel}:{line_number}: template syntax {leftover!r} left")
        if "cookiecutter" in path.relative_to(project).as_posix().replace(
            ".cookiecutter-answers", ""
        ):
            problems.append(f"{path.relative_to(project)}: template name left in the path")
    return problems


def yaml_problems(project: Path) -> list[str]:
    problems = []
    for path in sorted([*project.rglob("*.yml"), *project.rglob("*.yaml")]):
        try:
            list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except yaml.YAMLError as error:
            problems.append(f"{path.relative_to(project)}: {error}")
    return problems


def python_problems(project: Path) -> list[str]:
    problems = []
    for path in sorted(project.rglob("*.py")):
        try:
            ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError as error:
            problems.append(f"{path.relative_to(project)}:{error.lineno}: {error.msg}")
    return problems


@cache
def bundle_validation_module(project: Path):
    """The generated project's own offline bundle checker, imported from a baked project."""
    path = project / "tests" / "bundle_validation.py"
    spec = importlib.util.spec_from_file_location(f"bundle_validation_{abs(hash(project))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(args, cwd=None, timeout=900, unset=(), **env):
    """Run a command (in a baked project); fail with the tail of its output unless it succeeds.

    `env` adds variables to this process's environment; `unset` names ones to leave out (the
    template's own virtual environment, when the command runs in another).
    """
    environment = {name: value for name, value in os.environ.items() if name not in unset}
    result = subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**environment, **env},
        check=False,
    )
    assert result.returncode == 0, (
        f"{args} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result
