"""Two runs at once, as real processes: two promotions of one source, two scorings of one batch,
and each pair of alias-moving commands.

Whatever the interleaving, the registry holds one copy of the source (champion in the target
catalog) and the predictions table holds each trip of the batch once. `CONCURRENCY_ROUNDS`
(default 1) repeats both races; each round after the first promotes the same source again, and
every other round scores into a table that does not exist yet (both runs then race to create it).

Two alias-moving commands at once (deploy, rollback, validate, promote, each pair and each with
itself) end as if one had run after the other: the aliases, versions and exit codes are those of
one of the two serial orders (`registry.changing_aliases`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable

import pytest

from taxi_fare_mlops import config, contract, sample_data
from taxi_fare_mlops.mlops import cli, registry, tables
from taxi_fare_mlops.mlops.deploy import deploy
from taxi_fare_mlops.mlops.location import Location
from taxi_fare_mlops.mlops.train import train
from taxi_fare_mlops.mlops.validate import validate

from alias_moves import (
    ALIAS_MOVERS,
    DEPLOY,
    PROMOTE,
    ROLLBACK,
    VALIDATE,
    Command,
    fresh_location,
    just_deployed,
    shared_state,
    state,
)
from conftest import source_environment
from processes import kill_group

ROWS = 2_000
ROUNDS = int(os.environ.get("CONCURRENCY_ROUNDS", "1"))


def _start(argv: list[str]) -> subprocess.Popen:
    env = source_environment()
    return subprocess.Popen(
        [sys.executable, "-m", config.PACKAGE, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # so a run that hangs is killed with whatever it started
    )


def _both(argv: list[str], other: list[str] | None = None) -> list[tuple[int, str, str]]:
    """Run `argv` and `other` (default: `argv` again) at the same time; (exit code, stdout,
    stderr) of each. A run still going after ten minutes is killed, with its process group, and
    the test fails."""
    runs = [_start(argv), _start(other or argv)]
    try:
        outputs = [run.communicate(timeout=600) for run in runs]
    finally:
        for run in runs:
            kill_group(run)
            run.communicate()
    return [(run.returncode, out, err) for run, (out, err) in zip(runs, outputs)]


@pytest.mark.slow
def test_two_promotions_and_two_scorings_at_once(fresh_local_dir):
    dev = Location(config.DEV_CATALOG)
    staging = dev.elsewhere(config.STAGING_CATALOG)
    sample_data.write_sample_data(config.INPUT_TABLE, n_rows=ROWS)
    trained = train(location=dev, input_table=config.INPUT_TABLE)
    validate(location=dev, model_version=trained.version, input_table=config.INPUT_TABLE)
    deploy(location=dev, model_version=trained.version)
    source_uri = dev.model_uri(trained.version)

    for round_number in range(ROUNDS):
        promotions = _both(["promote", "--catalog", staging.catalog])
        assert [code for code, _, _ in promotions] == [0, 0], promotions
        copied = [out for _, out, _ in promotions if f"{source_uri} copied as" in out]
        # The first round makes the one copy; later rounds find it.
        assert len(copied) == (1 if round_number == 0 else 0), promotions
        assert registry.versions(staging.model) == ["1"]
        assert registry.alias_version(staging.model, config.CHAMPION) == "1"
        assert registry.tags(staging.model, "1")["source_model_uri"] == source_uri

        if round_number % 2 == 0:
            shutil.rmtree(tables.LocalTables.path(staging.predictions), ignore_errors=True)
        batch = f"b{round_number % 2}"
        scorings = _both(["score", "--catalog", staging.catalog, "--batch-id", batch])
        assert [code for code, _, _ in scorings] == [0, 0], scorings
        scored = tables.for_runtime().read(staging.predictions, where={"batch_id": batch})
        assert len(scored) == ROWS and scored[contract.KEY].is_unique
        print(f"round {round_number + 1}/{ROUNDS}: one copy, champion 1, {len(scored)} rows once")


# Each pair on the registry `shared_state` makes; and the pairs with a rollback also on one where
# champion is still challenger (the rollback then removes challenger, which a deploy must see).
RACES = [
    (shared_state, (first, second))
    for index, first in enumerate(ALIAS_MOVERS)
    for second in ALIAS_MOVERS[index:]
] + [(just_deployed, (ROLLBACK, other)) for other in (DEPLOY, VALIDATE, PROMOTE)]


def _serially(
    start: Callable[[Location, str], Location],
    pair: tuple[Command, Command],
    order: tuple[int, int],
    trained_model: str,
) -> tuple[dict, list[int]]:
    """The state and the exit codes (listed in the order of `pair`) when the two run one after
    the other in `order`, from the registry `start` makes."""
    where = start(fresh_location(), trained_model)
    codes = {index: cli.main(pair[index].argv(where)) for index in order}
    return state(where), [codes[0], codes[1]]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("start", "pair"),
    RACES,
    ids=[f"{start.__name__}-{first.name}-{second.name}" for start, (first, second) in RACES],
)
def test_two_alias_moves_at_once_end_as_one_after_the_other(
    start, pair, trained_model, input_table
):
    first, second = (command.name for command in pair)
    serial = {
        f"{first} then {second}": _serially(start, pair, (0, 1), trained_model),
        f"{second} then {first}": _serially(start, pair, (1, 0), trained_model),
    }
    where = start(fresh_location(), trained_model)
    runs = _both(pair[0].argv(where), pair[1].argv(where))
    raced = (state(where), [code for code, _, _ in runs])
    assert raced in serial.values(), (raced, serial, runs)
    assert raced[0]["pending"] is None
    order = next(name for name, outcome in serial.items() if outcome == raced)
    print(f"{first} and {second} at once ({start.__name__}) ended as {order}: {raced}")
