"""Run a Databricks source-format notebook locally with a small `dbutils` stand-in.

`make explore` runs `notebooks/explore.py` through `main()` here: tables it displays are
printed, figures saved as PNG under `.local/reports/explore/`.

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


# Notebooks people run by hand, not job tasks: no bundle resource names them.
INTERACTIVE_NOTEBOOKS = ["explore"]


def notebook_names() -> list[str]:
    """The task notebooks; `_`-prefixed ones are only ever `%run` by others."""
    return sorted(
        path.stem
        for path in NOTEBOOKS.glob("*.py")
        if not path.stem.startswith("_") and path.stem not in INTERACTIVE_NOTEBOOKS
    )


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
    return notebook_namespace(name, **params)["dbutils"].jobs.taskValues.values


def notebook_namespace(name: str, display=None, **params) -> dict[str, object]:
    """Execute `notebooks/<name>.py` with widget values `params`; returns its variables, and
    what it displayed under `displayed` (each also handed to `display`, if given)."""
    path = NOTEBOOKS / f"{name}.py"
    dbutils = DbutilsStandIn(params)
    unknown = set(params) - set(widget_names(name))
    if unknown:
        raise AssertionError(f"{name} has no widgets {sorted(unknown)}")
    displayed: list[object] = []

    def show(value) -> None:
        displayed.append(value)
        if display is not None:
            display(value)

    namespace = {
        "__name__": "__main__",
        "dbutils": dbutils,
        "display": show,
        "displayed": displayed,
    }
    _execute(path, namespace)
    return namespace


def show_locally(folder: Path):
    """A terminal's `display`: tables printed whole, figures saved as numbered PNG files."""
    folder.mkdir(parents=True, exist_ok=True)
    figures = iter(range(1, 1_000))

    def display(value) -> None:
        if hasattr(value, "savefig"):
            path = folder / f"figure_{next(figures)}.png"
            value.savefig(path, format="png", dpi=100, bbox_inches="tight")
            print(f"[figure] {path}")
        elif hasattr(value, "to_string"):
            print(value.to_string())
        else:
            print(value)

    return display


def main(argv: list[str] | None = None) -> int:
    """`python tests/notebook_runner.py <notebook> [widget=value ...]`, on the local runtime."""
    import sys

    from taxi_fare_mlops.mlops import runtime
    from taxi_fare_mlops.mlops.errors import MlopsError

    name, *pairs = sys.argv[1:] if argv is None else argv
    params = dict(pair.split("=", 1) for pair in pairs)
    try:
        notebook_namespace(name, show_locally(runtime.reports_dir() / name), **params)
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


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


if __name__ == "__main__":
    raise SystemExit(main())
