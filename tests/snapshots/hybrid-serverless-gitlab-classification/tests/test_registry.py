import os
import shutil
import sys
from pathlib import Path

import pytest

from taxi_fare_mlops import config
from taxi_fare_mlops.mlops import registry, runtime
from taxi_fare_mlops.mlops.errors import MlopsError

from conftest import empty_registry, start_local_dir

NOTHING = f"{config.DEV_CATALOG}.nothing.here"


def test_local_mlflow_uses_sqlite_in_the_local_dir(fresh_local_dir):
    import mlflow

    registry.configure_mlflow()
    assert mlflow.get_tracking_uri() == f"sqlite:///{fresh_local_dir / 'mlflow.db'}"
    assert mlflow.get_registry_uri() == mlflow.get_tracking_uri()
    assert registry.versions(NOTHING) == []


def test_a_new_registry_is_made_in_the_local_dir_and_nowhere_else(tmp_path, monkeypatch):
    # No copy of an empty database here (fresh_local_dir has one): MLflow builds it, in the
    # local dir; the user's home and cache folders stay untouched.
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    local_dir = tmp_path / "new" / ".local"
    monkeypatch.setenv(runtime.LOCAL_DIR_VARIABLES[0], str(local_dir))
    assert registry.versions(NOTHING) == []
    assert registry.experiment_id("/Shared/new")
    assert (local_dir / "mlflow.db").is_file()
    assert list(home.iterdir()) == []


def _new_local_dir(tmp_path, monkeypatch) -> Path:
    """A local dir with no registry yet, on a machine with a core to spare for building one."""
    local_dir = tmp_path / "new" / ".local"
    monkeypatch.setenv(runtime.LOCAL_DIR_VARIABLES[0], str(local_dir))
    monkeypatch.setattr(registry, "_cores", lambda: 2)
    return local_dir


@pytest.mark.slow  # a child process: its own imports of MLflow and the migrations
def test_a_child_process_builds_a_new_registry_and_the_first_access_waits_for_it(
    tmp_path, monkeypatch
):
    local_dir = _new_local_dir(tmp_path, monkeypatch)
    registry.start_building_database()
    (database, build), *others = registry._BUILDS.items()
    assert database == local_dir / "mlflow.db" and others == []
    registry.start_building_database()  # already under way: no second child
    assert list(registry._BUILDS.values()) == [build]

    assert registry.versions(NOTHING) == []
    assert build.returncode == 0  # waited for and reaped, not left to the end
    assert registry._BUILDS == {}
    assert database.is_file()
    # No half-built copy is left: the database, the folder it was built for, and a lock.
    assert sorted(path.name for path in local_dir.iterdir()) == [
        "locks",
        "mlflow.db",
        "mlflow.db.home",
    ]
    registry.start_building_database()  # the database exists: nothing to do
    assert registry._BUILDS == {}


@pytest.fixture
def builds_here(monkeypatch, empty_database) -> list[Path]:
    """The databases this process builds itself, each a copy of the session's empty one (the
    real build is tested above; here it would cost a second each)."""
    built = []

    def copy_empty(database: Path) -> None:
        built.append(database)
        start_local_dir(database.parent, empty_database)

    monkeypatch.setattr(registry, "_create_database", copy_empty)
    return built


def test_on_one_core_the_process_builds_a_new_registry_itself(tmp_path, monkeypatch, builds_here):
    local_dir = _new_local_dir(tmp_path, monkeypatch)
    monkeypatch.setattr(registry, "_cores", lambda: 1)
    registry.start_building_database()
    assert registry._BUILDS == {}
    assert registry.versions(NOTHING) == []
    assert builds_here == [local_dir / "mlflow.db"]


def test_a_failed_child_build_is_done_again_in_the_process(tmp_path, monkeypatch, builds_here):
    local_dir = _new_local_dir(tmp_path, monkeypatch)
    monkeypatch.setattr(registry.sys, "executable", str(tmp_path / "no-such-python"))
    with pytest.raises(OSError):
        registry.start_building_database()
    monkeypatch.setattr(registry.sys, "executable", "false")
    registry.start_building_database()
    (build,) = registry._BUILDS.values()
    assert registry.versions(NOTHING) == []
    assert build.returncode == 1
    assert builds_here == [local_dir / "mlflow.db"]


@pytest.mark.slow  # a child process
@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for Python")
def test_a_stuck_child_build_is_stopped_and_done_again_in_the_process(
    tmp_path, monkeypatch, builds_here
):
    local_dir = _new_local_dir(tmp_path, monkeypatch)
    stuck = tmp_path / "stuck-python"
    stuck.write_text("#!/bin/sh\nexec sleep 60\n")
    stuck.chmod(0o755)
    monkeypatch.setattr(registry.sys, "executable", str(stuck))
    monkeypatch.setattr(registry, "_BUILD_SECONDS", 0.5)
    registry.start_building_database()
    (build,) = registry._BUILDS.values()
    assert registry.versions(NOTHING) == []
    assert build.returncode is not None and build.returncode < 0  # killed
    assert builds_here == [local_dir / "mlflow.db"]


def test_the_cli_builds_a_new_registry_on_the_side_for_the_commands_that_need_it(
    tmp_path, monkeypatch
):
    from taxi_fare_mlops.mlops import cli

    started = []
    monkeypatch.setattr(registry, "start_building_database", lambda: started.append(True))
    _new_local_dir(tmp_path, monkeypatch)
    # Fails at once on the missing table; the build starts before anything is imported.
    assert cli.main(["train", "--input-table", NOTHING]) == 1
    assert started == [True]
    assert cli.main(["sample-data", "--rows", "60", "--table", f"{NOTHING}_trips"]) == 0
    assert started == [True]


def test_experiments_keep_artifacts_under_the_local_dir(fresh_local_dir):
    import mlflow

    created = registry.experiment_id("/Shared/some-experiment")
    assert registry.experiment_id("/Shared/some-experiment") == created
    location = mlflow.get_experiment(created).artifact_location
    assert Path(location.removeprefix("file://")) == fresh_local_dir / "mlartifacts"


def test_git_commit_prefers_ci_variables(monkeypatch):
    registry.git_commit.cache_clear()
    monkeypatch.setenv("GIT_COMMIT", "abc123")
    try:
        assert registry.git_commit() == "abc123"
    finally:
        registry.git_commit.cache_clear()


def test_registry_lookups_of_missing_things():
    assert registry.alias_version(NOTHING, config.CHAMPION) is None
    assert registry.versions(NOTHING) == []
    with pytest.raises(MlopsError, match="no versions yet"):
        registry.latest_version(NOTHING)
    with pytest.raises(MlopsError, match="must be a number"):
        registry.model_version(NOTHING, "latest")
    with pytest.raises(MlopsError, match="no champion yet: deploy"):
        registry.require_alias(NOTHING, config.CHAMPION, ": deploy")


def test_copies_are_found_by_their_source(location, champion):
    staging = location.elsewhere(config.STAGING_CATALOG)
    source_uri = location.model_uri(champion)
    assert registry.find_copy(staging.model, source_uri) is None
    copied = registry.copy_version(source_uri, staging.model)
    # MLflow's copy carries every tag of the source (conftest.copy_of relies on it).
    assert registry.tags(staging.model, copied) == registry.tags(location.model, champion)
    registry.set_tags(staging.model, copied, {"source_model_uri": source_uri})
    assert registry.find_copy(staging.model, source_uri) == copied
    assert registry.latest_version(staging.model) == copied


def test_a_tag_another_process_inserted_first_is_set_again(location, champion, monkeypatch):
    # Two promotions validating one copy both insert the same new tag; SQLite refuses the
    # second insert. Here the first call loses that race the way MLflow reports it.
    mlflow_client = registry.client()
    real_set = mlflow_client.set_model_version_tag
    calls = []

    def lose_the_first_insert(*args):
        calls.append(args)
        if len(calls) == 1:
            real_set(*args)  # the other process's insert
            raise RuntimeError(
                "UNIQUE constraint failed: model_version_tags.key, model_version_tags.name"
            )
        return real_set(*args)

    monkeypatch.setattr(mlflow_client, "set_model_version_tag", lose_the_first_insert)
    monkeypatch.setattr(registry, "client", lambda: mlflow_client)
    registry.set_tags(location.model, champion, {"validation_status": "passed"})
    assert len(calls) == 2
    assert registry.tags(location.model, champion)["validation_status"] == "passed"

    monkeypatch.setattr(mlflow_client, "set_model_version_tag", lambda *args: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        registry.set_tags(location.model, champion, {"other": "x"})


def test_a_model_is_loaded_once_while_its_files_stay_the_same(
    trained_model, location, champion, monkeypatch
):
    import mlflow

    loads = []
    real_load = mlflow.pyfunc.load_model

    def counted(model_uri):
        loads.append(model_uri)
        return real_load(model_uri)

    monkeypatch.setattr(mlflow.pyfunc, "load_model", counted)
    monkeypatch.setattr(registry, "_LOADED", {})
    copy = location.model_uri(champion)
    first = registry.load_model(copy)
    assert registry.load_model(copy) is first
    # A copy of a version (promotion's, every test's champion) shares its files: loaded once.
    assert registry.load_model(trained_model) is first
    assert loads == [copy]

    # A file of the version changed: the next load reads the files again, and only that
    # model is kept, so going back to the old files reads them again too.
    changed = registry._version_folder(location.model, champion) / "MLmodel"
    before = changed.stat()
    try:
        os.utime(changed, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
        registry.load_model(copy)
    finally:
        os.utime(changed, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert registry.load_model(trained_model) is not first
    assert loads == [copy, copy, trained_model]


def test_the_local_champion_is_found_without_mlflow_where_mlflow_finds_it(location, champion):
    version, folder = registry.local_alias_folder(location.model, config.CHAMPION)
    assert (version, folder) == (champion, registry._version_folder(location.model, champion))
    assert registry.local_alias_folder(location.model, "nothing") is None
    assert registry.local_alias_folder(NOTHING, config.CHAMPION) is None


def test_a_registry_moved_or_being_built_is_left_to_mlflow(location, champion, monkeypatch):
    database = runtime.local_dir() / "mlflow.db"
    elsewhere = runtime.local_dir() / "mlflow.db.home-elsewhere"
    monkeypatch.setattr(registry, "_HOME_FILE", elsewhere.name)
    assert registry.local_alias_folder(location.model, config.CHAMPION) is None  # no record
    elsewhere.write_text("/another/folder\n")
    try:
        assert registry.local_alias_folder(location.model, config.CHAMPION) is None  # moved
    finally:
        elsewhere.unlink()
    monkeypatch.undo()
    assert registry.local_alias_folder(location.model, config.CHAMPION) is not None
    monkeypatch.setitem(registry._BUILDS, database, None)
    assert registry.local_alias_folder(location.model, config.CHAMPION) is None


def test_only_numbered_versions_of_the_local_registry_are_reused():
    assert registry._local_files_key(f"models:/{NOTHING}@champion") is None
    assert registry._local_files_key("runs:/0123abcd/model") is None


@pytest.mark.parametrize("source_model_id", ["", None])
def test_a_copy_of_a_version_without_a_logged_model_names_none(
    location, champion, monkeypatch, source_model_id
):
    """Unity Catalog gives such a version the model id "" and refuses "" in a new version
    (mlflow issue #22012): the copy passes no model id. MLflow's UC client cannot be pointed at
    the fake workspace (it uploads the files through cloud storage credentials), so this reads
    the argument MLflow's client is given."""
    import mlflow

    real_get, real_create = (
        mlflow.MlflowClient.get_model_version,
        mlflow.MlflowClient.create_model_version,
    )
    asked = {}

    def get_without_logged_model(self, name, version):
        found = real_get(self, name, version)
        found._model_id = source_model_id
        return found

    def create(self, *args, **kwargs):
        asked.update(kwargs)
        return real_create(self, *args, **kwargs)

    monkeypatch.setattr(mlflow.MlflowClient, "get_model_version", get_without_logged_model)
    monkeypatch.setattr(mlflow.MlflowClient, "create_model_version", create)
    copy = registry.create_copy(location.model_uri(champion), location.model, {"promoted": "yes"})
    assert asked["model_id"] is None
    assert registry.tags(location.model, copy)["promoted"] == "yes"


def test_the_tests_keep_their_empty_registry_for_the_next_run(tmp_path, empty_database):
    """The suite's empty registry (conftest.empty_registry) is built once, then read from
    pytest's cache folder by every later run, which skips MLflow's migrations."""
    this_run, cache = tmp_path / "this run", tmp_path / "cache"
    this_run.mkdir()
    cache.mkdir()
    # As a worker finds it once this run's first worker has built it.
    shutil.copyfile(empty_database, this_run / empty_database.name)
    assert empty_registry(this_run, cache) == this_run / empty_database.name
    kept = cache / empty_database.name
    assert kept.read_bytes() == empty_database.read_bytes()
    assert [path.name for path in cache.iterdir()] == [kept.name]  # nothing half-written
    # The next run: no folder of its own yet, nothing to build.
    assert empty_registry(tmp_path / "next run", cache) == kept
    assert not (tmp_path / "next run").exists()
