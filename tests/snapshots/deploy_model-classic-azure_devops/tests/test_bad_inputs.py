"""Generated bad tables fed to each stage through the CLI (property-based, with hypothesis).

Whatever a table holds (nulls, NaN, infinities, values out of range, a column missing or of
another type), a stage either fails with exactly one `error:` line and exit code 1, leaving
every table it writes as it was, or succeeds with counts that add up (rows in = rows written +
rows left out). The rules are in `mlops/inputs.py`. Each test prints how many cases it tried
and how many ended in a clean error (`pytest -s`); HYPOTHESIS_EXAMPLES raises the count.
"""

from __future__ import annotations

import os
import re
import uuid
from collections import Counter
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from taxi_fare_mlops import contract, sample_data
from taxi_fare_mlops.mlops import cli, tables

# Each case is a CLI run (a model load, a Delta write, an MLflow run): seconds, not millis.
pytestmark = [pytest.mark.slow, pytest.mark.example]
EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "8"))

BAD_NUMBERS = [None, np.nan, np.inf, -np.inf, -1.0, -1e9, 1e15]
BAD_INTEGERS = [None, -1, 100_000, 2**62]
BAD_TIMES = [None, datetime(1, 1, 1), datetime(1900, 1, 1), datetime(2300, 1, 1)]
BAD_VALUES = {
    "tpep_pickup_datetime": BAD_TIMES,
    "tpep_dropoff_datetime": BAD_TIMES,
    "trip_distance": BAD_NUMBERS,
    "fare_amount": BAD_NUMBERS,
    "pickup_zip": BAD_INTEGERS,
    "dropoff_zip": BAD_INTEGERS,
}


def hypothesis_tools(max_examples: int = EXAMPLES):
    """hypothesis's `given`, this file's settings and its two strategies of bad tables.

    Imported when a test here runs, not when the file is collected: `make test` collects it
    and skips it (slow), and importing hypothesis costs each test worker about a second.
    """
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @st.composite
    def bad_trips(draw, min_rows=1, max_rows=40) -> pd.DataFrame:
        """Valid sample trips, then bad values in some cells, sometimes a column dropped or
        stored as text."""
        rows = draw(st.integers(min_rows, max_rows))
        trips = sample_data.generate_rows(rows, seed=draw(st.integers(0, 1000)))
        # Nullable types, as a table column with nulls is (pandas would turn ints into floats).
        trips = trips.astype({"pickup_zip": "Int64", "dropoff_zip": "Int64"}).astype(
            {"tpep_pickup_datetime": "object", "tpep_dropoff_datetime": "object"}
        )
        for _ in range(draw(st.integers(0, 6))):
            column = draw(st.sampled_from(sorted(BAD_VALUES)))
            row = draw(st.integers(0, rows - 1))
            trips.at[row, column] = draw(st.sampled_from(BAD_VALUES[column]))
        for column in ("tpep_pickup_datetime", "tpep_dropoff_datetime"):
            # Through numpy: pandas < 2.2 cannot make a Timestamp of year 1 (nanoseconds overflow).
            trips[column] = pd.Series(
                np.array(
                    [
                        np.datetime64("NaT") if pd.isna(v) else np.datetime64(v, "us")
                        for v in trips[column]
                    ],
                    dtype="datetime64[us]",
                ),
                index=trips.index,
            )
        damage = draw(st.sampled_from(["none"] * 6 + ["drop column", "as text"]))
        if damage != "none":
            column = draw(st.sampled_from(sorted(BAD_VALUES)))
            if damage == "drop column":
                trips = trips.drop(columns=column)
            else:
                trips[column] = trips[column].astype(str)
        return trips

    @st.composite
    def bad_labels(draw) -> pd.DataFrame:
        """A labels source: trip ids and fares with bad values, or raw trips with their fares."""
        if draw(st.booleans()):
            return draw(bad_trips())
        rows = draw(st.integers(1, 30))
        ids = draw(
            st.lists(
                st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), min_size=rows, max_size=rows
            )
        )
        fares = draw(
            st.lists(
                st.one_of(st.sampled_from(BAD_NUMBERS), st.floats(0, 200)),
                min_size=rows,
                max_size=rows,
            )
        )
        frame = pd.DataFrame(
            {
                contract.KEY: pd.array(ids, dtype="Int64"),
                contract.LABEL: pd.array(fares, dtype="float64"),
            }
        )
        if draw(st.integers(0, 5)) == 0:
            frame[contract.KEY] = frame[contract.KEY].astype(str)
        return frame

    suppress = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
    tuned = settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=suppress,
    )
    return given, tuned, bad_trips, bad_labels


def run(capsys, *argv: str) -> tuple[int, list[str], str]:
    """Exit code, stderr lines and stdout of one CLI run."""
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.err.strip().splitlines(), captured.out


def _number(pattern: str, text: str) -> int:
    match = re.search(pattern, text)
    return int(match.group(1).replace(",", "")) if match else 0


def snapshot(name: str) -> pd.DataFrame | None:
    store = tables.for_runtime()
    if not store.exists(name):
        return None
    frame = store.read(name)
    # Map columns (class probabilities) read back as lists, which pandas cannot sort by.
    sortable = [column for column in frame.columns if not _holds_lists(frame[column])]
    return frame.sort_values(sortable).reset_index(drop=True)


def _holds_lists(values: pd.Series) -> bool:
    return bool(values.map(lambda value: isinstance(value, list | np.ndarray)).any())


def assert_unchanged(before: pd.DataFrame | None, name: str) -> None:
    after = snapshot(name)
    if before is None:
        assert after is None or after.empty, f"{name} was created by a failed run"
    else:
        pd.testing.assert_frame_equal(before, after)


def assert_one_error_line(code: int, lines: list[str]) -> None:
    assert code == 1, lines
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and not any("Traceback" in line for line in lines), lines


def report(stage: str, tally: Counter) -> None:
    print(
        f"\n{stage}: {tally['cases']} bad tables, {tally['errors']} clean errors, "
        f"{tally['successes']} successes with counts that add up"
    )
    assert tally["cases"] == tally["errors"] + tally["successes"]


def _location_args(location) -> list[str]:
    return ["--catalog", location.catalog, "--schema", location.schema]


def test_score_refuses_or_counts_bad_rows(champion, location, capsys):
    store = tables.for_runtime()
    tally: Counter = Counter()

    given, settings, bad_trips, _ = hypothesis_tools()

    @settings
    @given(trips=bad_trips())
    def check(trips):
        source = location.table(f"in_{uuid.uuid4().hex[:8]}")
        store.write(trips, source)
        batch = f"b{uuid.uuid4().hex[:8]}"
        before = snapshot(location.predictions)
        code, lines, out = run(
            capsys, "score", *_location_args(location), "--input-table", source, "--batch-id", batch
        )
        tally["cases"] += 1
        if code == 0:
            written = store.read(location.predictions, where={"batch_id": batch})
            scored = _number(r"scored ([\d,]+) rows", out)
            left_out = _number(r"left out ([\d,]+) input rows", out)
            assert scored == len(written) and scored + left_out == len(trips), out
            assert written[contract.KEY].notna().all()
            assert np.isfinite(written["prediction"]).all()
            tally["successes"] += 1
        else:
            assert_one_error_line(code, lines)
            assert_unchanged(before, location.predictions)
            tally["errors"] += 1

    check()
    report("score", tally)


def test_label_refuses_or_counts_bad_rows(location, capsys):
    store = tables.for_runtime()
    tally: Counter = Counter()

    given, settings, _, bad_labels = hypothesis_tools()

    @settings
    @given(source_rows=bad_labels())
    def check(source_rows):
        source = location.table(f"fares_{uuid.uuid4().hex[:8]}")
        store.write(source_rows, source)
        before = snapshot(location.labels)
        code, lines, _ = run(capsys, "label", *_location_args(location), "--from-table", source)
        tally["cases"] += 1
        if code == 0:
            from taxi_fare_mlops.mlops.labels import label

            # The same run again (labels are idempotent) returns the counts to add up.
            result = label(location=location, source=source)
            assert result.source_rows == len(source_rows)
            assert result.recorded + sum(result.skipped.values()) == len(source_rows)
            if store.exists(location.labels):
                stored = store.read(location.labels)
                assert stored[contract.LABEL].between(0, 1_000).all()
                assert stored[contract.KEY].is_unique
            else:  # every row was left out: nothing to record, no table made
                assert result.recorded == 0
            tally["successes"] += 1
        else:
            assert_one_error_line(code, lines)
            assert_unchanged(before, location.labels)
            tally["errors"] += 1

    check()
    report("label", tally)


def test_monitor_refuses_or_copes_with_a_bad_baseline(champion, location, capsys):
    store = tables.for_runtime()
    trips = sample_data.generate_rows(300, seed=5, start="2016-03-01", days=7)
    store.write(trips, location.new_rows)
    code, _, _ = run(
        capsys, "score", *_location_args(location), "--input-table", location.new_rows,
        "--batch-id", "good",
    )  # fmt: skip
    assert code == 0
    tally: Counter = Counter()

    given, settings, bad_trips, _ = hypothesis_tools()

    @settings
    @given(baseline=bad_trips(min_rows=1, max_rows=60))
    def check(baseline):
        source = location.table(f"base_{uuid.uuid4().hex[:8]}")
        store.write(baseline, source)
        before = snapshot(location.metrics)
        code, lines, _ = run(
            capsys, "monitor", *_location_args(location), "--baseline-table", source,
            "--batch-id", "good",
        )  # fmt: skip
        tally["cases"] += 1
        if code == 0:
            metrics = store.read(location.metrics, where={"batch_id": "good"})
            assert set(metrics["row_count"]) == {300}
            tally["successes"] += 1
        else:
            assert_one_error_line(code, lines)
            assert_unchanged(before, location.metrics)
            tally["errors"] += 1

    check()
    report("monitor", tally)


def test_train_refuses_or_trains_on_the_valid_rows(location, capsys):
    store = tables.for_runtime()
    tally: Counter = Counter()

    given, settings, bad_trips, _ = hypothesis_tools(max_examples=max(3, EXAMPLES // 2))

    @settings
    @given(trips=bad_trips(min_rows=40, max_rows=120))
    def check(trips):
        source = location.table(f"train_{uuid.uuid4().hex[:8]}")
        store.write(trips, source)
        before = _latest_version(location)
        code, lines, out = run(capsys, "train", *_location_args(location), "--input-table", source)
        tally["cases"] += 1
        if code == 0:
            assert _latest_version(location) != before
            # Fit rows are the valid rows less the hold-out: never more than the table holds.
            assert 0 < _number(r"trained on ([\d,]+) rows", out) < len(trips)
            tally["successes"] += 1
        else:
            assert_one_error_line(code, lines)
            assert _latest_version(location) == before, "a failed training registered a version"
            tally["errors"] += 1

    check()
    report("train", tally)


def _latest_version(location) -> int:
    from mlflow import MlflowClient

    from taxi_fare_mlops.mlops import registry

    registry.configure_mlflow()
    versions = MlflowClient().search_model_versions(f"name='{location.model}'")
    return max((int(version.version) for version in versions), default=0)
