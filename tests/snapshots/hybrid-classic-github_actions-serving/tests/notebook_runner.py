"""Run a Databricks source-format notebook locally with a small `dbutils` stand-in.

Source-format notebooks are valid Python (markdown cells are `# MAGIC` comments), so running
one is executing the file with `dbutils` defined, as Databricks does. Widgets get their job
parameters from `params` or else their defaults; task values are collected for assertions.
"""

from __future__ import annotations

from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
HEADER = "# Databricks notebook source"
CELL_SEPARATOR = "# COMMAND ----------"


class Widgets:
    def __init__(self, params: dict[str, str]):
        self._params = {key: str(value) for key, value in params.items()}
        self.defined: dict[str, str] = {}

    def text(self, name: str, defaultValue: str = "", label: str | None = None) -> None:  # noqa: N803
        if not isinstance(defaultValue, str):
            raise TypeError(f"widget {name}: Databricks widget defaults are strings")
        self.defined[name] = defaultValue

    def dropdown(self, name: str, defaultValue: str, choices, label: str | None = None) -> None:  # noqa: N803
        if defaultValue not in choices:
            raise ValueError(f"widget {name}: default {defaultValue!r} is not one of {choices}")
        self.text(name, defaultValue, label)

    def get(self, name: str) -> str:
        if name not in self.defined:
            # What Databricks raises for a widget the notebook never created.
            raise ValueError(f"InputWidgetNotDefined: no widget named {name}")
        return self._params.get(name, self.defined[name])


class TaskValues:
    def __init__(self):
        self.values: dict[str, object] = {}

    def set(self, key: str, value) -> None:
        self.values[key] = value

    def get(self, taskKey: str, key: str, default=None, debugValue=None):  # noqa: N803
        return debugValue if debugValue is not None else default


class Jobs:
    def __init__(self):
        self.taskValues = TaskValues()


class Library:
    def __init__(self):
        self.restarts = 0

    def restartPython(self) -> None:  # noqa: N802
        self.restarts += 1


class DbutilsStandIn:
    def __init__(self, params: dict[str, str] | None = None):
        self.widgets = Widgets(params or {})
        self.jobs = Jobs()
        self.library = Library()


RUN_MAGIC = "# MAGIC %run ./"


def notebook_names() -> list[str]:
    """The task notebooks; `_`-prefixed ones are only ever `%run` by others."""
    return sorted(path.stem for path in NOTEBOOKS.glob("*.py") if not path.stem.startswith("_"))


def run_targets(name: str) -> list[str]:
    """Notebooks that `name` pulls in with `%run ./<other>`."""
    return [
        cell.strip()[len(RUN_MAGIC) :] for cell in cells(name) if cell.strip().startswith(RUN_MAGIC)
    ]


def cells(name: str) -> list[str]:
    source = (NOTEBOOKS / f"{name}.py").read_text(encoding="utf-8")
    return source.split(CELL_SEPARATOR)


def run_notebook(name: str, **params) -> dict[str, object]:
    """Execute `notebooks/<name>.py` with job parameters `params`; returns its task values."""
    path = NOTEBOOKS / f"{name}.py"
    dbutils = DbutilsStandIn(params)
    unknown = set(params) - set(widget_names(name))
    if unknown:
        raise AssertionError(f"{name} has no widgets {sorted(unknown)}")
    namespace = {"__name__": "__main__", "dbutils": dbutils, "display": print}
    _execute(path, namespace)
    return dbutils.jobs.taskValues.values


def _execute(path: Path, namespace: dict) -> None:
    # Cell by cell, so that `%run ./other` runs the other notebook in the same namespace, as
    # Databricks does (locally the magic would otherwise be a comment).
    for cell in path.read_text(encoding="utf-8").split(CELL_SEPARATOR):
        if cell.strip().startswith(RUN_MAGIC):
            _execute(NOTEBOOKS / f"{cell.strip()[len(RUN_MAGIC) :]}.py", namespace)
        else:
            exec(compile(cell, str(path), "exec"), namespace)  # noqa: S102


def _widget_names(path: Path) -> list[str]:
    import ast

    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("text", "dropdown")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.append(node.args[0].value)
    return names


def widget_names(name: str) -> list[str]:
    """Widgets of a notebook and of the notebooks it `%run`s (they share its widgets)."""
    names = _widget_names(NOTEBOOKS / f"{name}.py")
    for target in run_targets(name):
        names += widget_names(target)
    return names
