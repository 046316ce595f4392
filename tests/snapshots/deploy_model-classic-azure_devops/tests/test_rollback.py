"""Rollback: champion returns to the version it replaced, the way the project's pattern moves
champion (deploy_model); rolling back twice changes nothing the second
time; with nothing to return to, one clear line."""

import pytest

from taxi_fare_mlops import config
from taxi_fare_mlops.mlops import cli, registry
from taxi_fare_mlops.mlops.deploy import rollback
from taxi_fare_mlops.mlops.errors import MlopsError
from taxi_fare_mlops.mlops.promote import promote
from taxi_fare_mlops.mlops.score import score

from alias_moves import Killed, registry_dying_at, shared_state, state
from conftest import copy_of


def move_champion_twice(location, trained_model, input_table):
    """Champion moves from a first version to a second as this pattern moves it: deploy in the
    same catalog (deploy_code), or promotion from the previous catalog (deploy_model, hybrid).
    Returns (where champion moved, first version, second version)."""
    if config.DEPLOYMENT_PATTERN == "deploy_code":
        first = copy_of(trained_model, location, config.CHALLENGER, config.CHAMPION)
        second = copy_of(trained_model, location, config.CHALLENGER)
        from taxi_fare_mlops.mlops.deploy import deploy

        deploy(location=location, model_version=second)
        return location, first, second
    target = location.elsewhere(config.STAGING_CATALOG)
    versions = []
    for _ in range(2):
        source = copy_of(trained_model, location, config.CHALLENGER, config.CHAMPION)
        promoted = promote(
            location=target,
            source_catalog=location.catalog,
            source_version=source,
            input_table=input_table,
        )
        versions.append(promoted.copy.version)
    return target, versions[0], versions[1]


def test_rollback_returns_champion_and_twice_is_safe(location, trained_model, input_table):
    where, first, second = move_champion_twice(location, trained_model, input_table)
    assert registry.alias_version(where.model, config.PREVIOUS_CHAMPION) == first

    result = rollback(location=where)
    assert (result.version, result.replaced, result.rolled_back) == (first, second, True)
    assert "again (rolled back from" in result.summary()
    assert registry.alias_version(where.model, config.CHAMPION) == first
    assert registry.alias_version(where.model, config.PREVIOUS_CHAMPION) is None
    # The version taken out cannot come back by rerunning deploy: it is challenger no more.
    assert registry.alias_version(where.model, config.CHALLENGER) is None
    assert "rolled_back_at" in registry.tags(where.model, second)

    # Batch scoring reads champion: the next batch uses the restored version.
    scored = score(location=where, input_table=input_table, batch_id="after-rollback")
    assert scored.model_version == first

    again = rollback(location=where)
    assert (again.version, again.replaced, again.rolled_back) == (first, second, False)
    assert "nothing further to roll back" in again.summary()
    assert registry.alias_version(where.model, config.CHAMPION) == first


def test_nothing_to_roll_back_to_is_one_line(location, champion, capsys):
    with pytest.raises(
        MlopsError, match=f"no previous champion to roll back to: version {champion}"
    ):
        rollback(location=location)
    assert cli.main(["rollback", "--schema", location.schema]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "is the first one deployed" in err[-1]
    assert registry.alias_version(location.model, config.CHAMPION) == champion


def test_champions_recorded_only_by_tag_roll_back_too(location, trained_model):
    # Deployed before the previous_champion alias existed: only the tag says what it replaced.
    first = copy_of(trained_model, location, config.CHAMPION)
    second = copy_of(trained_model, location, config.CHAMPION)
    registry.set_tags(location.model, second, {"previous_champion": first})
    assert rollback(location=location).version == first


def test_a_rollback_killed_after_moving_champion_is_completed_not_repeated(location, trained_model):
    # Issue: killed between moving champion and clearing previous_champion, the rerun rolled
    # back a second time.
    where = shared_state(location, trained_model)
    with pytest.raises(Killed), registry_dying_at(("delete_registered_model_alias", 1)):
        rollback(location=where)
    assert registry.alias_version(where.model, config.CHAMPION) == "1"
    again = rollback(location=where)
    assert (again.version, again.rolled_back) == ("1", False)
    assert state(where)["aliases"] == {
        config.CHAMPION: "1",
        config.CHALLENGER: "3",
        config.PREVIOUS_CHAMPION: None,
    }
    assert state(where)["pending"] is None
