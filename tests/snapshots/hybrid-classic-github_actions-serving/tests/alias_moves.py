"""What the tests of interrupted and concurrent alias moves share: the commands that move
aliases, each with a registry state it has something to do in, the state that counts (aliases,
versions, an unfinished change), and a registry that dies at a chosen call.

"A registry call" is one call of the registry store, the layer below `MlflowClient`: one SQLite
transaction locally, one REST request to Unity Catalog on Databricks. A process killed at any
moment has made the calls before some call N and not the ones from N on (the call it died in
either landed or not: "before N" or "before N + 1"), so dying before each N in turn, and once
not at all, is every way a run can end.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from taxi_fare_mlops import config
from taxi_fare_mlops.mlops import registry
from taxi_fare_mlops.mlops.location import Location

from conftest import copy_of

DEV, STAGING = config.DEV_CATALOG, config.STAGING_CATALOG
ALIASES = (config.CHAMPION, config.CHALLENGER, config.PREVIOUS_CHAMPION)


class Killed(BaseException):
    """The process dies here. Not an Exception: no `except Exception` of the code under test
    catches it, as none catches a `kill -9`."""


@contextmanager
def registry_dying_at(call: int | tuple[str, int] | None) -> Iterator[list[str]]:
    """Count the registry calls made in the block (their names, in order), and raise `Killed`
    in place of call number `call`, or of the n-th call of a name (`("set_...", n)`); None:
    never. A call the store makes from inside another is part of that one request and not
    counted."""
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

    calls: list[str] = []
    depth = [0]

    def counted(name: str, method: Callable) -> Callable:
        def call_or_die(*args, **kwargs):
            if depth[0] == 0:
                calls.append(name)
                if call in (len(calls), (name, calls.count(name))):
                    raise Killed(f"killed at registry call {len(calls)} ({name})")
            depth[0] += 1
            try:
                return method(*args, **kwargs)
            finally:
                depth[0] -= 1

        return call_or_die

    patch = pytest.MonkeyPatch()
    for name, method in inspect.getmembers(SqlAlchemyStore, inspect.isfunction):
        if not name.startswith("_"):
            patch.setattr(SqlAlchemyStore, name, counted(name, method))
    try:
        yield calls
    finally:
        patch.undo()


def state(location: Location) -> dict:
    """What an alias change leaves: the aliases, the versions, and any unfinished change."""
    return {
        "aliases": {alias: registry.alias_version(location.model, alias) for alias in ALIASES},
        "versions": registry.versions(location.model),
        "pending": registry.model_tags(location.model).get(registry.PENDING_MOVE),
    }


def fresh_location() -> Location:
    """The dev catalog in a schema of its own: no model, no aliases."""
    return Location(DEV, f"moves_{uuid.uuid4().hex[:10]}")


@dataclass(frozen=True)
class Command:
    """An alias-moving command: `setup` builds, around a fresh dev location and from the
    session's trained model, a registry it has something to do in and returns the location
    whose aliases it moves; `argv` is the command line for that location."""

    name: str
    setup: Callable[[Location, str], Location]
    argv: Callable[[Location], list[str]]


def _where(location: Location) -> list[str]:
    return ["--catalog", location.catalog, "--schema", location.schema]


def shared_state(location: Location, trained_model: str) -> Location:
    """One registry every command has something to do in: in staging, version 2 champion
    (it replaced 1), 3 challenger, 4 trained and not validated; in dev a champion to promote."""
    copy_of(trained_model, location, config.CHAMPION)
    staging = location.elsewhere(STAGING)
    first = copy_of(trained_model, staging)
    second = copy_of(trained_model, staging, config.CHAMPION)
    registry.set_alias(staging.model, config.PREVIOUS_CHAMPION, first)
    registry.set_tags(staging.model, second, {"previous_champion": first})
    copy_of(trained_model, staging, config.CHALLENGER)
    copy_of(trained_model, staging)
    return staging


def just_deployed(location: Location, trained_model: str) -> Location:
    """In staging, version 2 champion and still challenger (it replaced 1), 3 trained and not
    validated; in dev a champion to promote. Rolling back here also removes `challenger`."""
    copy_of(trained_model, location, config.CHAMPION)
    staging = location.elsewhere(STAGING)
    first = copy_of(trained_model, staging)
    second = copy_of(trained_model, staging, config.CHAMPION, config.CHALLENGER)
    registry.set_alias(staging.model, config.PREVIOUS_CHAMPION, first)
    registry.set_tags(staging.model, second, {"previous_champion": first})
    copy_of(trained_model, staging)
    return staging


def _train_setup(location: Location, trained_model: str) -> Location:
    copy_of(trained_model, location, config.CHAMPION, config.CHALLENGER)
    return location


# Each alias-moving command, on the registry `shared_state` makes (races use that one for all).
DEPLOY = Command("deploy", shared_state, lambda where: ["deploy", *_where(where)])
ROLLBACK = Command("rollback", shared_state, lambda where: ["rollback", *_where(where)])
VALIDATE = Command("validate", shared_state, lambda where: ["validate", *_where(where)])
PROMOTE = Command("promote", shared_state, lambda where: ["promote", *_where(where)])
ALIAS_MOVERS = (DEPLOY, ROLLBACK, VALIDATE, PROMOTE)
# Train moves no alias, but registers the version validate picks by default.
TRAIN = Command("train", _train_setup, lambda where: ["train", *_where(where)])
