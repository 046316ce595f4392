"""Checks that hold for every baked project, as functions that return lists of problems."""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import uuid
from functools import cache
from pathlib import Path

import yaml

from baking import SAFE_LOADER, SCHEMA_VARIABLE

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
        rel = path.relative_to(project)
        problems += [f"{rel}:{where}" for where in _leftovers_by_line(text)]
        if "cookiecutter" in rel.as_posix().replace(".cookiecutter-answers", ""):
            problems.append(f"{rel}: template name left in the path")
    return problems


# The checks below look at a file's text alone, and most files read the same in every baked
# combination: each text is checked once per test process (the matrix bakes 144 combinations).
@cache
def _leftovers_by_line(text: str) -> tuple[str, ...]:
    return tuple(
        f"{number}: template syntax {leftover!r} left"
        for number, line in enumerate(text.splitlines(), 1)
        for leftover in leftover_template_syntax(line)
    )


def yaml_problems(project: Path) -> list[str]:
    problems = []
    for path in sorted([*project.rglob("*.yml"), *project.rglob("*.yaml")]):
        error = _yaml_error(path.read_text(encoding="utf-8"))
        if error:
            problems.append(f"{path.relative_to(project)}: {error}")
    return problems


@cache
def _yaml_error(text: str) -> str | None:
    try:
        list(yaml.load_all(text, Loader=SAFE_LOADER))
    except yaml.YAMLError as error:
        return str(error)
    return None


def python_problems(project: Path) -> list[str]:
    problems = []
    for path in sorted(project.rglob("*.py")):
        error = _syntax_error(path.read_text(encoding="utf-8"))
        if error:
            problems.append(f"{path.relative_to(project)}:{error}")
    return problems


@cache
def _syntax_error(source: str) -> str | None:
    """The first syntax error in `source` as "<line>: <message>", None when it parses."""
    try:
        ast.parse(source)
    except SyntaxError as error:
        return f"{error.lineno}: {error.msg}"
    return None


@cache
def bundle_validation_module(project: Path):
    """The generated project's own offline bundle checker, imported from a baked project."""
    path = project / "tests" / "bundle_validation.py"
    spec = importlib.util.spec_from_file_location(f"bundle_validation_{abs(hash(project))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# A variable every process a `run` starts inherits, with a value per run: what is still running
# with it after a run that overran was started by that run, in whatever session or group.
RUN_MARK_VARIABLE = "TEMPLATE_TESTS_RUN_MARK"


def run(args, cwd=None, timeout=900, unset=(), **env):
    """Run a command (in a baked project); fail with the tail of its output unless it succeeds.

    `env` adds variables to this process's environment; `unset` names ones to leave out (the
    template's own virtual environment, when the command runs in another). A command still
    running after `timeout` seconds (or when this test is interrupted) is killed with every
    process it started, and the test fails saying so: nothing of it outlives the test.
    """
    environment = {name: value for name, value in os.environ.items() if name not in unset}
    mark = uuid.uuid4().hex
    process = subprocess.Popen(
        args,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**environment, **env, RUN_MARK_VARIABLE: mark},
        start_new_session=True,  # its own process group, which a timeout kills whole
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_marked(process, mark)
        stdout, stderr = process.communicate()
        raise AssertionError(
            f"{args} did not end within {timeout} s and was killed, with what it started:\n"
            f"{stdout[-4000:]}\n{stderr[-4000:]}"
        ) from None
    except BaseException:  # Ctrl-C, or anything else that ends the test here
        kill_marked(process, mark)
        process.communicate()
        raise
    result = subprocess.CompletedProcess(args, process.returncode, stdout, stderr)
    assert result.returncode == 0, (
        f"{args} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result


def kill_marked(process: subprocess.Popen, mark: str) -> None:
    """SIGKILL to the process's group and to every process carrying its run's mark (Linux's
    /proc shows them; elsewhere the group alone)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    entry = f"{RUN_MARK_VARIABLE}={mark}".encode()
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if entry in environ.read_bytes().split(b"\0"):
                os.kill(int(environ.parent.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue  # ended meanwhile, or not ours


# What a generated suite may skip: the reasons of its skips.
NO_MONITORING = "generated without monitoring"
# The reason of a generated test that checks the other problem type's metrics, gate or answers.
OTHER_PROBLEM_TYPE = "problem type: "
# The browser checks of the lifecycle page skip where no Chromium is installed (CI installs it
# where it may: .ci/run); the binaries and reason are the generated tests/pages.py's.
CHROMIUM_BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
NO_CHROMIUM = "no chromium binary"


def assert_passed_skipping_only(output: str, *allowed: str):
    """Every test passed; the only skips are those whose reason holds one of `allowed`, plus
    the schema check where no schema is reachable (a user's fresh clone), which skips with the
    generated checker's one-line reason, and the tests of the other problem type."""
    last_line = output.strip().splitlines()[-1]
    assert " passed" in last_line and " failed" not in last_line, last_line
    allowed += (OTHER_PROBLEM_TYPE,)
    if not os.environ.get(SCHEMA_VARIABLE):
        allowed += (SCHEMA_VARIABLE,)
    if not any(shutil.which(binary) for binary in CHROMIUM_BINARIES):
        allowed += (NO_CHROMIUM,)
    skips = [line for line in output.splitlines() if line.startswith("SKIPPED")]
    unexpected = [line for line in skips if not any(reason in line for reason in allowed)]
    assert not unexpected, unexpected
