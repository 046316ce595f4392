"""Every alias-moving command, killed at each of its registry calls in turn, then run again:
the aliases end exactly where one uninterrupted run puts them, with no change left unfinished
(`registry.changing_aliases`). Run once more after finishing, a command changes nothing.

Train moves no alias, but registers the version `validate` picks by default: killed at any of
its registry calls, it leaves no version without its training tags.
"""

from __future__ import annotations

import pytest

from taxi_fare_mlops.mlops import cli, registry

from alias_moves import (
    ALIAS_MOVERS,
    TRAIN,
    Command,
    Killed,
    fresh_location,
    registry_dying_at,
    state,
)


def run(command: Command, trained_model: str, die_at: int | None):
    """`command` on a registry of its own, dying at registry call `die_at`: (the location it
    moves, whether it died, the registry calls it made)."""
    where = command.setup(fresh_location(), trained_model)
    with registry_dying_at(die_at) as calls:
        try:
            assert cli.main(command.argv(where)) == 0
        except Killed:
            return where, True, calls
    return where, False, calls


# Registry calls that only read. Killed in place of a read, a run leaves what it leaves killed
# in place of the next write (or of its first call, or not killed, when none follows): the
# registry holds the same writes either way, and the rerun sees the same state.
READS = ("get_", "search_", "list_")


def kill_points(calls: list[str]) -> list[int]:
    """The calls to die in place of that leave every distinct registry state: the first call,
    each write, and past the last call (a run that was not killed)."""
    writes = [n for n, name in enumerate(calls, start=1) if not name.startswith(READS)]
    return sorted({1, *writes, len(calls) + 1})


def kill_at_every_call(command: Command, trained_model: str):
    """(call, where the rerun moved aliases, the state one uninterrupted run leaves) for each
    kill point of `command` (`kill_points`), the last one a run not killed, then run again."""
    where, died, calls = run(command, trained_model, None)
    assert not died and calls, calls
    expected = state(where)
    assert expected["pending"] is None
    points = kill_points(calls)
    for call in points:
        where, died, _ = run(command, trained_model, call)
        assert died == (call <= len(calls)), (command.name, call, calls)
        assert cli.main(command.argv(where)) == 0, (command.name, call)
        yield call, where, expected
    print(
        f"{command.name}: {len(calls)} registry calls, killed at each of the "
        f"{len(points) - 1} that leave a distinct state, rerun: {calls}"
    )


def test_every_distinct_state_a_kill_leaves_is_a_kill_point():
    calls = [
        "get_model_version",
        "set_registered_model_tag",
        "get_model_version_by_alias",
        "set_registered_model_alias",
        "delete_registered_model_tag",
        "get_registered_model",
    ]
    assert kill_points(calls) == [1, 2, 4, 5, 7]


@pytest.mark.slow  # deploy and rollback take seconds; validate and promote measure models
@pytest.mark.parametrize("command", ALIAS_MOVERS, ids=lambda command: command.name)
def test_a_command_killed_at_any_registry_call_is_completed_by_its_rerun(
    command, trained_model, input_table
):
    for call, where, expected in kill_at_every_call(command, trained_model):
        assert state(where) == expected, f"{command.name} killed at registry call {call}"


@pytest.mark.slow  # trains once per registry call
def test_train_killed_at_any_registry_call_leaves_no_untagged_version(trained_model, input_table):
    for call, where, expected in kill_at_every_call(TRAIN, trained_model):
        after = state(where)
        # A killed train may have registered its version, whole; the rerun registers another.
        # Aliases are not train's to move.
        assert (after["aliases"], after["pending"]) == (expected["aliases"], None), call
        assert len(after["versions"]) - len(expected["versions"]) in (0, 1), call
        assert all(registry.untrained(where.model, v) == "" for v in after["versions"]), call
