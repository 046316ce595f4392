"""Every alias-moving command, killed at each of its registry calls in turn, then run again:
the aliases end exactly where one uninterrupted run puts them, with no change left unfinished
(`registry.changing_aliases`). Run once more after finishing, a command changes nothing.

Train moves no alias, but registers the version `validate` picks by default: killed at any of
its registry calls, it leaves no version without its training tags.
"""

from __future__ import annotations

import pytest

from {{ cookiecutter.__package_name }}.mlops import cli, registry

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


def kill_at_every_call(command: Command, trained_model: str):
    """(call, where the rerun moved aliases, the state one uninterrupted run leaves) for each
    registry call of `command`, and for a run not killed at all then run again."""
    where, died, calls = run(command, trained_model, None)
    assert not died and calls, calls
    expected = state(where)
    assert expected["pending"] is None
    for call in range(1, len(calls) + 2):
        where, died, _ = run(command, trained_model, call)
        assert died == (call <= len(calls)), (command.name, call, calls)
        assert cli.main(command.argv(where)) == 0, (command.name, call)
        yield call, where, expected
    print(f"{command.name}: killed at each of its {len(calls)} registry calls, rerun: {calls}")


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
