"""The project's own exception types, and the one place that turns library errors into them.

Stages raise `MlopsError` for problems a user can fix. Libraries raise their own types for
broken or busy state (a damaged `mlflow.db`, a Delta table with missing files or a corrupt log,
a table whose columns differ from what a stage writes, a commit another run won, missing model
files, a Databricks workspace refusing a request); `explain` maps those to `MlopsError`s here,
so no stage needs a try/except of its own and the CLI prints one `error: ...` line for each
(`--debug` shows the traceback).

`retry_conflicts` repeats a write that lost a concurrent commit, for writes that are safe to
repeat (replacing a batch, a MERGE by key): the loser then does what it would have done alone.
"""

from __future__ import annotations

import re
import sqlite3
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TypeVar

T = TypeVar("T")

# How many attempts a write that loses a concurrent commit gets, and the pause between them.
CONFLICT_ATTEMPTS = 5
CONFLICT_PAUSE_SECONDS = 0.2
# Longest library detail quoted in a message: enough to recognise the error, still one line.
MAX_DETAIL = 160


class MlopsError(Exception):
    """A problem the user can fix (missing table, no champion yet, failed gate ...).

    The CLI prints these as one `error: ...` line instead of a traceback.
    """


class DataError(MlopsError, ValueError):
    """The data handed to a stage is not what it needs (no rows, missing columns).

    Also a `ValueError`, so code that checks values the usual Python way still catches it.
    """


class BrokenStateError(MlopsError):
    """Local state a stage depends on is damaged or missing: the registry database, a Delta
    table's files or log, a model's files. The message says what to restore or remove."""


class ConcurrentWriteError(MlopsError):
    """Another run changed the same table or registry entry at the same time, and won.

    This run's write to it did not happen; running the command again is safe.
    """


def first_line(error: BaseException) -> str:
    """The first line of an error's text, shortened (library errors carry backtraces)."""
    lines = str(error).strip().splitlines()
    text = lines[0].strip() if lines else type(error).__name__
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 3] + "..."


def explain(error: BaseException) -> MlopsError | None:
    """`error` as an `MlopsError` the user can act on, or None when it is none of the known
    kinds (a bug: the CLI then names the type and points at `--debug`)."""
    # The error itself first, then what caused it: the outermost error we know wins.
    for cause in chain(error):
        if isinstance(cause, MlopsError):
            return cause
        known = (
            _registry_database(cause)
            or _missing_column(cause, error)
            or _delta(cause, error)
            or _spark_conflict(cause)
            or _model_files(cause)
            or _damaged_model(cause, error)
            or _damaged_data_file(cause, error)
            or untrusted_types(cause)
            or _workspace(cause)
        )
        if known is not None:
            return known
    return None


def retry_conflicts(write: Callable[[], T], *, attempts: int = CONFLICT_ATTEMPTS) -> T:
    """`write()`, again when it loses a concurrent commit (only for writes safe to repeat)."""
    for attempt in range(1, attempts + 1):
        try:
            return write()
        except Exception as error:
            known = explain(error)
            if not isinstance(known, ConcurrentWriteError) or attempt == attempts:
                raise
            time.sleep(CONFLICT_PAUSE_SECONDS * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def chain(error: BaseException) -> list[BaseException]:
    """The error and what caused it (libraries wrap each other's errors)."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not other for other in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def untrusted_types(error: BaseException) -> MlopsError | None:
    """skops refusing to save or load a model whose types it was not told to trust: the types,
    and where to trust them (its own message is cut before them, or buried in notes)."""
    if type(error).__name__ != "UntrustedTypesFoundException":
        return None
    found = re.search(r"\[(.*?)\]", str(error), re.S)
    names = found.group(1).replace("'", "").replace("\n", " ") if found else str(error)
    return MlopsError(
        f"skops does not trust the model's types {names}: review them and add them to "
        "TRUSTED_TYPES in model.py"
    )


# What a workspace's refusal means for the user, by the SDK's error type (`databricks.sdk.errors`).
_WORKSPACE_REMEDIES = {
    "ResourceConflict": "something else is changing it right now: run again once that is done",
    "PermissionDenied": "this identity lacks the permission: ask a workspace admin for it",
    "Unauthenticated": "the credentials were refused: log in again (databricks auth login)",
    "TooManyRequests": "the workspace is throttling requests: run again in a few minutes",
    "InternalError": "the workspace failed: run again, and if it persists, see its status page",
    "TemporarilyUnavailable": "the workspace is unavailable: run again in a few minutes",
}


def _workspace(error: BaseException) -> MlopsError | None:
    """A Databricks workspace API's refusal (databricks-sdk), or no credentials to ask it."""
    if isinstance(error, ValueError) and "cannot configure default credentials" in str(error):
        return MlopsError(
            "no Databricks credentials: set DATABRICKS_CONFIG_PROFILE to a profile of "
            "`databricks auth login`, or DATABRICKS_HOST and DATABRICKS_TOKEN"
        )
    if not type(error).__module__.startswith("databricks.sdk"):
        return None
    from databricks.sdk.errors import DatabricksError, OperationFailed

    if isinstance(error, OperationFailed):
        return MlopsError(f"a workspace operation failed ({first_line(error)})")
    if not isinstance(error, DatabricksError):
        return None
    detail = first_line(error)
    if error.error_code == "FEATURE_DISABLED" or "not enabled" in detail:
        remedy = "the feature is not enabled in this workspace: ask a workspace admin to enable it"
    else:
        kinds = [kind.__name__ for kind in type(error).__mro__]
        remedy = next((_WORKSPACE_REMEDIES[k] for k in kinds if k in _WORKSPACE_REMEDIES), "")
    return MlopsError(
        f"the workspace refused the request ({detail})" + (f": {remedy}" if remedy else "")
    )


def _local_dir() -> Path:
    from . import runtime

    return runtime.local_dir()


def _registry_database(error: BaseException) -> MlopsError | None:
    """SQLite errors of the local MLflow registry (sqlite3's own, or SQLAlchemy's wrapper)."""
    is_sqlite = isinstance(error, sqlite3.Error) or (
        type(error).__module__.startswith("sqlalchemy")
        and isinstance(getattr(error, "orig", None), sqlite3.Error)
    )
    if not is_sqlite:
        return None
    database = _local_dir() / "mlflow.db"
    text = str(getattr(error, "orig", None) or error)
    if "locked" in text or "busy" in text:
        return ConcurrentWriteError(
            f"the local MLflow registry {database} is busy (another run is writing to it): "
            "run the command again"
        )
    if any(sign in text for sign in ("malformed", "not a database", "encrypted")):
        return BrokenStateError(
            f"the local MLflow registry {database} is damaged ({text}): restore it from a "
            "backup, or move it away to start an empty registry (then train again)"
        )
    return None


def _delta(cause: BaseException, error: BaseException) -> MlopsError | None:
    """deltalake's errors, and a Delta table's data file that is gone."""
    try:
        from deltalake import exceptions as delta
    except ImportError:  # the `local` extra is not installed: no local Delta tables
        return None
    path = _warehouse_path(cause)
    if isinstance(cause, FileNotFoundError) and path is None:
        return None
    if not isinstance(cause, (delta.DeltaError, FileNotFoundError)):
        return None
    table = _table_name(path) if path else _table_in_traceback(error.__traceback__)
    where = f"table {table}" if table else "a Delta table"
    detail = first_line(cause)
    if isinstance(cause, delta.CommitFailedError):
        return ConcurrentWriteError(
            f"another run changed {where} at the same time ({detail}): this run's write to it "
            "did not happen; run the command again"
        )
    if isinstance(cause, delta.SchemaMismatchError) or "Schema error" in str(cause):
        return BrokenStateError(
            f"{where} has other columns than this stage writes ({detail}): the write to it was "
            "refused; move the table aside or drop it, or write to another schema"
        )
    data_file = _DATA_FILE.search(str(cause))
    if data_file and any(sign in str(cause) for sign in _MISSING):
        detail = f"its data file {data_file.group(0)} is missing"
    folder = _table_folder(table) if table else None
    remedy = f"restore {folder} from a backup, or delete it" if folder else "restore it"
    return BrokenStateError(f"{where} is damaged ({detail}): {remedy} and create it again")


_ARROW_MISSING_COLUMN = re.compile(r"No match for FieldRef\.Name\(([^)]*)\)")


def _missing_column(cause: BaseException, error: BaseException) -> MlopsError | None:
    """Arrow reading a column a table does not have (a table of another shape in its place)."""
    found = _ARROW_MISSING_COLUMN.search(str(cause))
    if not type(cause).__module__.startswith("pyarrow") or found is None:
        return None
    table = _table_in_traceback(error.__traceback__)
    where = f"table {table}" if table else "a table"
    return BrokenStateError(
        f"{where} has no column {found.group(1)}: it is not the table this stage expects; "
        "move it aside or drop it, or use another schema"
    )


# Delta's conflict exceptions on Spark (the class names appear in the error text).
_SPARK_CONFLICTS = (
    "ConcurrentAppendException",
    "ConcurrentDeleteReadException",
    "ConcurrentDeleteDeleteException",
    "ConcurrentTransactionException",
    "MetadataChangedException",
    "DELTA_CONCURRENT",
)


def _spark_conflict(error: BaseException) -> MlopsError | None:
    if not type(error).__module__.startswith(("pyspark", "py4j")):
        return None
    if not any(name in str(error) for name in _SPARK_CONFLICTS):
        return None
    return ConcurrentWriteError(
        f"another run changed the same table at the same time ({first_line(error)}): this "
        "run's write to it did not happen; run the command again"
    )


def _model_files(error: BaseException) -> MlopsError | None:
    """The files of a logged model are gone (the registry still points at them)."""
    text = str(error)
    artifacts = _local_dir() / "mlartifacts"
    filename = str(getattr(error, "filename", "") or "")
    # FileNotFoundError from recent MLflow; a bare OSError naming the file from older ones.
    missing_file = isinstance(error, OSError) and str(artifacts) in (filename or text)
    missing_artifact = type(error).__name__ == "MlflowException" and (
        "No such artifact" in text or "No such file or directory" in text
    )
    if not (missing_file or missing_artifact):
        return None
    model = _local_in_traceback(error.__traceback__, "model_uri")
    which = f"of {model} " if model else ""
    return BrokenStateError(
        f"the model files {which}are missing ({first_line(error)}): restore {artifacts}, or "
        "train, validate and deploy a new version"
    )


# What reading a model whose files were cut short or overwritten raises: skops' zip archive,
# the MLmodel file's YAML.
_DAMAGED_MODEL_ERRORS = (zipfile.BadZipFile, EOFError)


def _damaged_model(cause: BaseException, error: BaseException) -> MlopsError | None:
    """A logged model's files are there but cannot be read (truncated, overwritten)."""
    unreadable = isinstance(cause, _DAMAGED_MODEL_ERRORS) or type(cause).__module__.startswith(
        "yaml"
    )
    readers = ("mlflow", "skops")
    if not unreadable or not (
        _passes_through(cause.__traceback__, readers)
        or _passes_through(error.__traceback__, readers)
    ):
        return None
    model = _local_in_traceback(error.__traceback__, "model_uri")
    which = f"of {model} " if model else ""
    return BrokenStateError(
        f"the model files {which}are damaged ({type(cause).__name__}: {first_line(cause)}): "
        f"restore {_local_dir() / 'mlartifacts'} from a backup, or train, validate and deploy a "
        "new version"
    )


def _damaged_data_file(cause: BaseException, error: BaseException) -> MlopsError | None:
    """A data file of a local Delta table that is there but is not Parquet (cut short)."""
    text = str(cause)
    if not type(cause).__module__.startswith("pyarrow") or "Parquet" not in text:
        return None
    data_file = _DATA_FILE.search(text)
    # The file's name is unique: the folder that holds it names the table.
    holders = list(_local_dir().glob(f"warehouse/*/*/*/{data_file.group(0)}")) if data_file else []
    table = _table_name(f"{holders[0].parent}/") if holders else None
    table = table or _table_in_traceback(error.__traceback__)
    where = f"table {table}" if table else "a Delta table"
    what = f"its data file {data_file.group(0)}" if data_file else "one of its data files"
    folder = _table_folder(table) if table else None
    remedy = f"restore {folder} from a backup, or delete it" if folder else "restore it"
    return BrokenStateError(
        f"{where} is damaged ({what} is not a readable Parquet file): {remedy} and create it again"
    )


def _passes_through(trace: TracebackType | None, packages: tuple[str, ...]) -> bool:
    """Whether a frame of the traceback is in one of these installed packages."""
    while trace is not None:
        parts = Path(trace.tb_frame.f_code.co_filename).parts
        if any(package in parts for package in packages):
            return True
        trace = trace.tb_next
    return False


_DATA_FILE = re.compile(r"[\w.-]+\.parquet")
_MISSING = ("No such file", "not found", "Failed to open", "Failed to fetch", "NotFound")
_WAREHOUSE_PATH = re.compile(r"warehouse/([A-Za-z0-9_-]+)/([A-Za-z0-9_-]+)/([A-Za-z0-9_-]+)/")


def _warehouse_path(error: BaseException) -> str | None:
    """The part of a local warehouse path an error names, `warehouse/<c>/<s>/<t>/`."""
    found = _WAREHOUSE_PATH.search(f"{getattr(error, 'filename', '') or ''} {error}")
    return found.group(0) if found else None


def _table_name(path: str) -> str:
    found = _WAREHOUSE_PATH.search(path)
    return ".".join(found.groups()) if found else ""


def _table_folder(table: str) -> Path | None:
    from .tables import LocalTables

    try:
        return LocalTables.path(table)
    except MlopsError:
        return None


def _table_in_traceback(trace: TracebackType | None) -> str | None:
    """The table the innermost table operation worked on (tables.py names it `name`)."""
    for key in ("name", "target", "source"):
        value = _local_in_traceback(trace, key, module="tables.py")
        if value and value.count(".") == 2:
            return value
    return None


def _local_in_traceback(trace: TracebackType | None, variable: str, module: str = "") -> str | None:
    """A string variable of the innermost frame of this package that has it."""
    package = str(Path(__file__).resolve().parent.parent)
    found = None
    while trace is not None:
        frame = trace.tb_frame
        filename = frame.f_code.co_filename
        if filename.startswith(package) and filename.endswith(module):
            value = frame.f_locals.get(variable)
            if isinstance(value, str):
                found = value
        trace = trace.tb_next
    return found
