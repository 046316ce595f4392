"""The MLflow model registry: where it is, versions, aliases, copies and lineage tags.

Locally MLflow keeps runs and the registry in `.local/mlflow.db` (SQLite, so aliases and
`copy_model_version` work as in Unity Catalog); on Databricks it is the workspace's tracking
server and the `databricks-uc` registry. Every stage talks to the registry through here.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from functools import cache
from pathlib import Path

from .. import config
from . import runtime
from .errors import BrokenStateError, MlopsError, chain, explain

log = logging.getLogger(__name__)


def configure_mlflow() -> None:
    """Point MLflow at the registry of this runtime.

    Called before every registry access, so a changed local directory (tests) takes effect
    without restarting Python.
    """
    import mlflow

    if runtime.uses_workspace():
        # Through Connect, the same CLI profile as the Spark session (none: DATABRICKS_HOST).
        profile = "" if runtime.is_databricks() else os.environ.get("DATABRICKS_CONFIG_PROFILE")
        suffix = f"://{profile}" if profile else ""
        mlflow.set_tracking_uri(f"databricks{suffix}")
        mlflow.set_registry_uri(f"databricks-uc{suffix}")
        return
    root = runtime.local_dir()
    root.mkdir(parents=True, exist_ok=True)
    # SQLite, not a file store: the model registry (aliases, copy_model_version) needs a database.
    # Built on first use (replaying MLflow's schema migrations, about a second), here or by the
    # CLI's child (start_building_database); it all stays in the local dir: nothing is written
    # to the user's home or cache folders.
    database = root / "mlflow.db"
    # Before a new database is built too: its dozens of migrations each commit.
    _skip_disk_syncs()
    _wait_for_build(database)
    if not database.exists():
        _create_database(database)
    if database.exists() and database.stat().st_size == 0:
        # SQLite would take an empty file for a new database and MLflow would quietly start an
        # empty registry over it: every model, alias and run would be gone without a word.
        raise BrokenStateError(
            f"the local MLflow registry {database} is empty (0 bytes): it was damaged; restore "
            "it from a backup, or delete it to start an empty registry (then train again)"
        )
    if database.exists():
        stat = database.stat()
        _check_database(database, stat.st_size, stat.st_mtime_ns)
    _follow_a_move(root, database)
    uri = f"sqlite:///{database}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)


# Next to mlflow.db: the folder the registry's artifact paths were written for.
_HOME_FILE = "mlflow.db.home"
# Local dirs whose registry this process has checked (a move needs checking once).
_AT_HOME: set[Path] = set()


def _follow_a_move(root: Path, database: Path) -> None:
    """Rewrite the registry's artifact paths when the local dir has moved.

    MLflow stores absolute paths (experiments, runs, model versions, logged models): after a
    move, loading a model would look in the old folder and training would write there. The
    folder the paths were written for is recorded beside the database; when it differs from
    where the database is now, every path under it is rewritten, once, under a lock.
    """
    here = root.resolve()
    if here in _AT_HOME:
        return
    home_file = root / _HOME_FILE
    with runtime.local_lock("registry-home"):
        recorded = _recorded_home(root)
        if recorded and recorded != str(here):
            _rewrite_prefix(database, Path(recorded), here)
        if recorded != str(here):
            partial = home_file.with_name(f"{_HOME_FILE}.{os.getpid()}")
            partial.write_text(f"{here}\n")
            partial.replace(home_file)
    _AT_HOME.add(here)


def _recorded_home(root: Path) -> str:
    """The folder the registry's paths were written for ("" before the first record)."""
    home_file = root / _HOME_FILE
    return home_file.read_text().strip() if home_file.exists() else ""


def _rewrite_prefix(database: Path, old: Path, new: Path) -> None:
    """Every text value in `database` that starts with `old` (as a path or a file URI) starts
    with `new` instead, in one transaction."""
    import sqlite3

    prefixes = [(old.as_uri(), new.as_uri()), (str(old), str(new))]
    with closing(sqlite3.connect(database)) as connection, connection:
        for (table,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            columns = connection.execute(f'PRAGMA table_info("{table}")').fetchall()
            for column in [row[1] for row in columns if re.search("CHAR|TEXT", row[2].upper())]:
                for before, after in prefixes:
                    connection.execute(
                        f'UPDATE "{table}" SET "{column}" = ? || substr("{column}", ?) '
                        f'WHERE substr("{column}", 1, ?) = ?',
                        (after, len(before) + 1, len(before), before),
                    )


def _create_database(database: Path) -> None:
    """Build a new, fully migrated registry database through MLflow's tracking store.

    Built under a name of its own and linked into place: two first runs in a new folder never
    migrate the same file together (both build, one link wins), and none sees a half-built file.
    """
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    partial = database.with_name(f"{database.name}.{os.getpid()}.new")
    try:
        store = SqlAlchemyStore(f"sqlite:///{partial}", (database.parent / "mlartifacts").as_uri())
        store.engine.dispose()
        os.link(partial, database)
    except FileExistsError:
        pass  # another process got there first: its database is as good
    finally:
        partial.unlink(missing_ok=True)


# Child processes building a new local database (start_building_database), by its path.
_BUILDS: dict[Path, subprocess.Popen] = {}
_BUILD_SECONDS = 120
# The folder this package was imported from (src/ or site-packages).
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def start_building_database() -> None:
    """Build a missing local registry database in a child process, while this one goes on.

    A new database costs about two seconds of one core (MLflow's imports and its schema
    migrations). The CLI starts the build before its own imports (scikit-learn, skops, MLflow:
    about three seconds), so on a second core the two overlap; the first registry access
    waits for the child. The child builds the database as `_create_database` does, so no one
    meets a half-built file, and if it fails for any reason the waiting process builds the
    database itself and reports the real error. A command that stops before it needs the
    registry leaves the child to finish: the database is there for the next one.
    """
    if runtime.uses_workspace() or _cores() < 2:
        return  # on one core the child would only take turns with this process
    database = runtime.local_dir() / "mlflow.db"
    if database.exists() or database in _BUILDS:
        return
    database.parent.mkdir(parents=True, exist_ok=True)
    _BUILDS[database] = subprocess.Popen(
        # No garbage collection in a child that builds one database and exits: it would
        # spend about a fifth of the build scanning what MLflow made as it loaded.
        [
            sys.executable,
            "-c",
            f"import gc; gc.disable(); from {__name__} import configure_mlflow; configure_mlflow()",
        ],
        # The same local dir and the same package as this process, however it was found
        # (installed, or a test runner's path); MLflow narrates the migrations on stderr, and
        # a failure is reported by the parent's own attempt.
        env={
            **os.environ,
            runtime.LOCAL_DIR_VARIABLES[0]: str(database.parent),
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(_PACKAGE_ROOT), os.environ.get("PYTHONPATH")])
            ),
        },
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _cores() -> int:
    """Cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _wait_for_build(database: Path) -> None:
    """Wait for a child building `database`, if one was started (and reap it)."""
    build = _BUILDS.pop(database, None)
    if build is None:
        return
    try:
        build.wait(timeout=_BUILD_SECONDS)
    except subprocess.TimeoutExpired:
        # Stuck (it takes seconds): this process builds the database and says what is wrong.
        build.kill()
        build.wait()


@cache
def _check_database(database: Path, size: int, modified: int) -> None:
    """Refuse a damaged registry database at once (once per state of the file).

    MLflow retries opening a database it cannot read for about 100 seconds before it gives up;
    SQLite's own quick check answers in milliseconds.
    """
    import sqlite3

    try:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
            problems = [row[0] for row in connection.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as error:
        known = explain(error)
        if known is None:
            raise
        raise known from error
    if problems != ["ok"]:
        raise BrokenStateError(
            f"the local MLflow registry {database} is damaged ({problems[0]}): restore it from "
            "a backup, or move it away to start an empty registry (then train again)"
        )


@cache
def _skip_disk_syncs() -> None:
    """Let SQLite hand writes to the OS without waiting for the disk after each commit.

    A pipeline run makes hundreds of small registry writes (and a new database dozens of
    migrations), and waiting for each to reach the disk takes seconds on a busy machine. This
    is a local scratch registry: losing its last writes in a power cut is acceptable. Only
    SQLite connections of this process are affected.
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _no_sync(dbapi_connection, _record) -> None:
        if type(dbapi_connection).__module__.startswith("sqlite3"):
            dbapi_connection.execute("PRAGMA synchronous = OFF")


# Experiment ids by (tracking URI, name): the stages log several runs per process, and looking
# the experiment up by name each time costs more than the run itself.
_EXPERIMENT_IDS: dict[tuple[str, str], str] = {}


def experiment_id(name: str | None) -> str:
    """Id of the experiment `name` (default: the project's), created if it does not exist.

    Locally the experiment keeps its artifacts under the local dir: without an explicit
    location MLflow would write ./mlruns next to wherever we run.
    """
    import mlflow

    configure_mlflow()
    name = name or config.EXPERIMENT_NAME
    key = (mlflow.get_tracking_uri(), name)
    if key not in _EXPERIMENT_IDS:
        experiment = mlflow.get_experiment_by_name(name)
        if experiment is not None and experiment.lifecycle_stage == "deleted":
            # MLflow refuses runs in it, and its name stays taken until it is purged.
            raise BrokenStateError(
                f"the MLflow experiment {name} (id {experiment.experiment_id}) is deleted: "
                "restore it (the MLflow UI, or `mlflow experiments restore --experiment-id "
                f"{experiment.experiment_id}`), or purge it (`mlflow gc`) to start a new one"
            )
        if experiment is not None:
            _EXPERIMENT_IDS[key] = experiment.experiment_id
        elif runtime.uses_workspace():
            _EXPERIMENT_IDS[key] = mlflow.create_experiment(name)
        else:
            artifacts = (runtime.local_dir() / "mlartifacts").as_uri()
            _EXPERIMENT_IDS[key] = mlflow.create_experiment(name, artifact_location=artifacts)
    return _EXPERIMENT_IDS[key]


def local_alias_folder(model_name: str, alias: str) -> tuple[str, Path] | None:
    """The version `alias` points to and its model's folder, read from the local registry's
    database with SQLite alone: for `serve`, whose start is mostly MLflow's imports and its
    store's (about half of it) when it asks MLflow.

    None whenever the answer is MLflow's to give: on a workspace, with no database or one being
    built, in a local dir that moved (MLflow's paths are rewritten first), for a model or alias
    that does not exist, a version that is not READY or whose files are outside the local dir,
    or a database whose tables are not as MLflow writes them. The caller then asks MLflow,
    which also says what is wrong. A damaged database is refused here as there.
    """
    import sqlite3

    if runtime.uses_workspace():
        return None
    root = runtime.local_dir()
    database = root / "mlflow.db"
    if database in _BUILDS or not database.is_file():
        return None
    here = root.resolve()
    stat = database.stat()
    if stat.st_size == 0 or _recorded_home(root) != str(here):
        return None
    _check_database(database, stat.st_size, stat.st_mtime_ns)
    try:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
            found = connection.execute(
                "SELECT v.version, v.status, v.storage_location "
                "FROM registered_model_aliases AS a JOIN model_versions AS v "
                "ON v.name = a.name AND v.version = a.version WHERE a.name = ? AND a.alias = ?",
                (model_name, alias),
            ).fetchall()
    except sqlite3.Error:
        return None
    if len(found) != 1:
        return None
    version, status, location = found[0]
    path = _local_path(location) if isinstance(location, str) else None
    if status != "READY" or path is None:
        return None
    folder = path.resolve()
    if not folder.is_relative_to(here) or not (folder / "MLmodel").is_file():
        return None
    return str(version), folder


def quiet_mlflow() -> None:
    """Import MLflow and turn its loggers down, unless this package logs at DEBUG (--verbose).

    MLflow sets its log level when first imported, so it is imported before it is turned down:
    it narrates every database migration, and our own lines say what happened.
    """
    import mlflow  # noqa: F401

    if logging.getLogger(config.PACKAGE).isEnabledFor(logging.DEBUG):
        return
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="mlflow")


def client():
    from mlflow import MlflowClient

    configure_mlflow()
    return MlflowClient()


def is_missing(error: Exception) -> bool:
    code = getattr(error, "error_code", "")
    return code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE")


def alias_version(model_name: str, alias: str) -> str | None:
    """Version that carries `alias`, or None when the model or the alias does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client().get_model_version_by_alias(model_name, alias).version)
    except MlflowException as error:
        if is_missing(error):
            return None
        raise


def require_alias(model_name: str, alias: str, hint: str = "") -> str:
    version = alias_version(model_name, alias)
    if version is None:
        raise MlopsError(f"{model_name} has no {alias} yet{hint}")
    return version


def set_alias(model_name: str, alias: str, version: str) -> None:
    client().set_registered_model_alias(model_name, alias, version)


def delete_alias(model_name: str, alias: str) -> None:
    """Remove `alias` from the model; nothing happens when no version carries it."""
    from mlflow.exceptions import MlflowException

    try:
        client().delete_registered_model_alias(model_name, alias)
    except MlflowException as error:
        if not is_missing(error):
            raise


def model_version(model_name: str, version: str):
    """The registry entry of a version, or a one-line error when it does not exist."""
    from mlflow.exceptions import MlflowException

    version = str(version).strip()
    if not version.isdigit():
        raise MlopsError(f"model version must be a number, got {version!r}")
    try:
        return client().get_model_version(model_name, version)
    except MlflowException as error:
        if is_missing(error):
            raise MlopsError(f"{model_name} has no version {version}") from None
        raise


# The model this process loaded last, with the key of its files (see `load_model`).
_LOADED: dict[tuple, object] = {}


def load_model(model_uri: str):
    """`mlflow.pyfunc.load_model(model_uri)`, reusing the model this process loaded last when
    it comes from the same files.

    A model version's files do not change, so a process that validates a version and then
    scores with it (`lifecycle` does, and serves it too) loads it once: each load copies the
    files and skops checks every type it reads, about 60 ms. A copy of a version (promotion)
    shares its files in the local registry, so it is the same model. The key is the files'
    folder with each file's size and modification time, so a file replaced or deleted under
    the version makes the next load read (and fail) for real. Locally only, and only
    `models:/<name>/<n>` URIs: on Databricks a job runs one stage per process.
    """
    import mlflow

    configure_mlflow()
    key = _local_files_key(model_uri)
    if key is not None and key in _LOADED:
        return _LOADED[key]
    loaded = mlflow.pyfunc.load_model(model_uri)
    if key is not None:
        _LOADED.clear()  # one model at a time: memory stays that of one model
        _LOADED[key] = loaded
    return loaded


def split_model_uri(model_uri: str) -> tuple[str, str]:
    """The model name and version of `models:/<name>/<version>` (`Location.model_uri`)."""
    name, version = model_uri.removeprefix("models:/").rsplit("/", 1)
    return name, version


def _version_folder(model_name: str, version: str) -> Path | None:
    """The local folder of a version's files; None where they are not in a local folder."""
    root = _local_path(client().get_model_version_download_uri(model_name, version))
    return root if root is not None and root.is_dir() else None


def _local_path(uri: str) -> Path | None:
    """The path a file URI (or a plain path) names; None for another scheme (dbfs:, s3:, ...)."""
    from urllib.parse import unquote, urlparse

    location = urlparse(uri)
    return Path(unquote(location.path)) if location.scheme in ("", "file") else None


def _local_files_key(model_uri: str) -> tuple | None:
    """(the version's folder, every file in it with its size and modification time), or None.
    Not the URI: the copies of a version share its folder."""
    if runtime.uses_workspace() or not re.fullmatch(r"models:/[^@]+/\d+", model_uri):
        return None
    root = _version_folder(*split_model_uri(model_uri))
    if root is None:
        return None
    files = []
    for path in sorted(root.rglob("*")):
        # MLflow itself rewrites registered_model_meta (the name and version of the last load).
        if path.is_file() and path.name != "registered_model_meta":
            stat = path.stat()
            files.append((str(path.relative_to(root)), stat.st_size, stat.st_mtime_ns))
    return (str(root), tuple(files))


def versions(model_name: str) -> list[str]:
    """Every version number of a registered model, oldest first; none if it does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        found = client().search_model_versions(f"name='{model_name}'")
    except MlflowException as error:
        if not is_missing(error):
            raise
        found = []
    return [str(number) for number in sorted(int(v.version) for v in found)]


def latest_version(model_name: str) -> str:
    """Newest version number of a registered model (what `train` just registered)."""
    numbers = versions(model_name)
    if not numbers:
        raise MlopsError(f"{model_name} has no versions yet: run train first")
    return numbers[-1]


def tags(model_name: str, version: str) -> dict[str, str]:
    return dict(model_version(model_name, version).tags)


def set_tags(model_name: str, version: str, values: Mapping[str, object]) -> None:
    registry = client()
    for key, value in values.items():
        try:
            registry.set_model_version_tag(model_name, version, key, str(value))
        except Exception as error:
            # Two processes setting the same new tag at once (two promotions validating one
            # copy) both insert it, and SQLite refuses the second. The tag exists now, and
            # setting it again updates it: a tag write is safe to repeat.
            if not any("UNIQUE constraint failed" in str(e) for e in chain(error)):
                raise
            registry.set_model_version_tag(model_name, version, key, str(value))


def find_copy(model_name: str, source_uri: str) -> str | None:
    """Version of `model_name` already copied from `source_uri`, if any.

    A copy is recognised by its lineage tag `source_model_uri`, or by the registry's own record
    of where its files came from (`source`), which the registry writes in the same step as the
    version itself: so a copy whose tags never got written is found too.
    """
    registry = client()
    for version in reversed(versions(model_name)):
        # Unity Catalog search results omit tags, so read each version in full.
        entry = registry.get_model_version(model_name, version)
        if source_uri in (entry.tags.get("source_model_uri"), entry.source):
            return version
    return None


def copy_version(source_uri: str, model_name: str) -> str:
    """MLflow's own copy: the new version gets the files and every tag of the source."""
    return str(client().copy_model_version(source_uri, model_name).version)


def create_copy(source_uri: str, model_name: str, tags: Mapping[str, object]) -> str:
    """A new version of `model_name` with the files of `source_uri`, born with `tags`.

    What `MlflowClient.copy_model_version` does (the same `create_model_version` call, on
    SQLite and Unity Catalog alike), except that the version gets `tags` instead of the
    source's: tags are part of the one request that creates the version, so no copy exists
    without its lineage, and none carries the source's validation or deployment tags.
    """
    from mlflow.exceptions import MlflowException

    registry = client()
    source = registry.get_model_version(*split_model_uri(source_uri))
    try:
        registry.create_registered_model(model_name)
    except MlflowException as error:
        if getattr(error, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
            raise
    created = registry.create_model_version(
        model_name,
        source_uri,
        run_id=source.run_id,
        tags={key: str(value) for key, value in tags.items()},
        run_link=source.run_link,
        description=source.description,
        # Unity Catalog answers "" for a version without a logged model, and refuses that ""
        # back (mlflow issue #22012): pass none then.
        model_id=source.model_id or None,
    )
    return str(created.version)


def delete_tags(model_name: str, version: str, keys: list[str]) -> None:
    registry = client()
    for key in keys:
        registry.delete_model_version_tag(model_name, version, key)


# Model locks this thread holds: a command that holds one may call another that takes it too.
_HELD = threading.local()


@contextmanager
def model_lock(model_name: str) -> Iterator[None]:
    """Hold while reading then changing `model_name`: finding or making a copy (so one source
    yields one copy), or deciding and moving its aliases (see `changing_aliases`).

    Locally two processes share `.local/mlflow.db`: an exclusive file lock
    (`runtime.local_lock`) makes the read and the write one step, and goes with a process that is
    killed. It is reentrant within a thread, so `promote` holds it across copy, validate and
    deploy. In a workspace there is no shared lock: the promotion job runs one at a time
    (`max_concurrent_runs: 1`), and every run looks for an existing copy before copying. Two
    promotions of one source started outside that job at the very same moment can still both
    copy; `find_copy` then returns the newest, and the older one is an unused version.
    """
    held = _HELD.__dict__.setdefault("names", set())
    if runtime.uses_workspace() or model_name in held:
        yield
        return
    with runtime.local_lock(f"model-{model_name}"):
        held.add(model_name)
        try:
            yield
        finally:
            held.discard(model_name)


# The registered-model tag that records an alias change before any alias moves.
PENDING_MOVE = "pending_alias_move"


@contextmanager
def changing_aliases(model_name: str) -> Iterator[None]:
    """The model's lock, with any alias change an interrupted command left half-done finished
    first: every command that moves aliases decides inside this block, on a whole state, and
    applies its decision with `move_aliases`.

    Why a change survives an interruption at any registry call, here and on Databricks alike:
    Unity Catalog has no transactions across aliases (each alias and tag is one REST call), so
    a change is recorded, as one registered-model tag (`PENDING_MOVE`), before its first alias
    moves, and the tag is removed after its last write. A command killed in between leaves the
    tag; the next alias-moving command on the model (the rerun, or any other) applies the
    recorded change (setting an alias or tag again is harmless) before it decides anything. A
    command killed before the tag was written moved nothing; one killed after removing it had
    finished. So a rerun completes a change and never makes it twice.

    Races: locally the file lock makes decide-and-move one step for every process. A workspace
    has no shared lock: each job that moves aliases runs one at a time (`max_concurrent_runs:
    1`), and two different jobs moving one model's aliases at the same instant (a deploy and a
    rollback) are not serialised; a recorded change is never lost, but the later decision may be
    taken on the state before the earlier one. Run them one after another.
    """
    with model_lock(model_name):
        complete_pending_move(model_name)
        yield


def move_aliases(
    model_name: str,
    aliases: Mapping[str, str | None],
    version_tags: Mapping[str, Mapping[str, object]] | None = None,
) -> None:
    """Point each alias at its version (None: remove it) and write the versions' tags, as one
    recorded change (see `changing_aliases`, whose block this must run in)."""
    change = {
        "aliases": dict(aliases),
        "tags": {
            str(version): {key: str(value) for key, value in values.items()}
            for version, values in (version_tags or {}).items()
        },
    }
    registry = client()
    registry.set_registered_model_tag(
        model_name, PENDING_MOVE, json.dumps(change, separators=(",", ":"), sort_keys=True)
    )
    _apply(model_name, change)
    registry.delete_registered_model_tag(model_name, PENDING_MOVE)


def complete_pending_move(model_name: str) -> bool:
    """Apply the alias change an interrupted command recorded and did not finish, if any."""
    recorded = model_tags(model_name).get(PENDING_MOVE)
    if recorded is None:
        return False
    try:
        change = json.loads(recorded)
    except ValueError:
        change = None
    if not (
        isinstance(change, dict)
        and all(isinstance(change.get(k), dict) for k in ("aliases", "tags"))
    ):
        raise BrokenStateError(
            f"{model_name} has a damaged {PENDING_MOVE} tag ({recorded[:80]!r}): check its "
            "aliases by hand, then delete the tag"
        )
    _apply(model_name, change)
    client().delete_registered_model_tag(model_name, PENDING_MOVE)
    log.warning("%s: completed an interrupted alias change %s", model_name, recorded)
    return True


def _apply(model_name: str, change: dict) -> None:
    for alias, version in sorted(change["aliases"].items()):
        if version is None:
            delete_alias(model_name, alias)
        else:
            set_alias(model_name, alias, version)
    for version, values in sorted(change["tags"].items()):
        set_tags(model_name, version, values)


def model_tags(model_name: str) -> dict[str, str]:
    """The registered model's own tags; none when the model does not exist yet."""
    from mlflow.exceptions import MlflowException

    try:
        return dict(client().get_registered_model(model_name).tags)
    except MlflowException as error:
        if is_missing(error):
            return {}
        raise


# What `train` writes on every version it registers, in the request that creates it (copies
# carry them over): a version without them was never finished by `train`.
TRAINING_TAGS = ("training_table", "git_commit")


def untrained(model_name: str, version: str) -> str:
    """Why `version` may not be validated, deployed or promoted; "" when it may."""
    entry = model_version(model_name, version)
    missing = [key for key in TRAINING_TAGS if key not in entry.tags]
    if missing:
        return (
            f"{model_name} version {version} has no training tags ({', '.join(missing)}): "
            "it was not registered by a finished train; train again (or delete that version)"
        )
    status = str(getattr(entry, "status", "READY") or "READY")
    if status != "READY":
        return f"{model_name} version {version} was never finished (status {status})"
    return ""


def require_trained(model_name: str, version: str) -> str:
    problem = untrained(model_name, version)
    if problem:
        raise MlopsError(problem)
    return str(version)


def newest_trained_version(model_name: str) -> str:
    """Newest version that carries its training tags; versions without them are passed over
    (each named in a warning), never picked by default."""
    for version in reversed(versions(model_name)):
        problem = untrained(model_name, version)
        if not problem:
            return version
        log.warning("skipped: %s", problem)
    latest_version(model_name)  # no versions at all: says so
    raise MlopsError(f"{model_name} has no version with its training tags: run train first")


@cache
def git_commit() -> str:
    """Commit of the code that runs, for lineage tags; "unknown" outside a git checkout."""
    for variable in ("GIT_COMMIT", "GITHUB_SHA", "BUILD_SOURCEVERSION", "CI_COMMIT_SHA"):
        if os.environ.get(variable):
            return os.environ[variable]
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"
