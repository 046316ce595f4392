"""Each golden snapshot under tests/snapshots/ is exactly what the template bakes today.

When one fails, the diff below is what your change does to a generated project: if that is
what you meant, run `make snapshots` and commit the result with your change.
"""

from __future__ import annotations

import pytest

from golden import (
    COMPUTE_DIFF,
    SNAPSHOT_DIR,
    SNAPSHOTS,
    baked_files,
    compute_diff,
    files_diff,
    snapshot_files,
)

# Enough of the diff to read in a test report; the whole of it is one `make snapshots` away.
SHOWN_LINES = 200


def readable(diff: str) -> str:
    lines = diff.splitlines()
    more = f"\n... {len(lines) - SHOWN_LINES} more lines" if len(lines) > SHOWN_LINES else ""
    return "\n".join(lines[:SHOWN_LINES]) + more + "\n(if intended: make snapshots, then commit)"


@pytest.mark.parametrize("name", list(SNAPSHOTS))
def test_bake_matches_its_snapshot(name):
    assert (SNAPSHOT_DIR / name).is_dir(), f"no snapshot {name}: run `make snapshots`"
    diff = files_diff(snapshot_files(name), baked_files(SNAPSHOTS[name]), "snapshot", "baked")
    assert not diff, readable(diff)


def test_serverless_vs_classic_diff_is_current():
    current = compute_diff()
    assert current, "serverless and classic bakes should differ"
    diff = files_diff({"diff": COMPUTE_DIFF.read_text(encoding="utf-8")}, {"diff": current},
                      "committed", "current")  # fmt: skip
    assert not diff, readable(diff)


def test_files_diff_names_added_changed_and_removed_files():
    diff = files_diff({"a": "1\n", "b": "x\n"}, {"b": "y\n", "c": "2\n"}, "old", "new")
    assert "--- old/a\n+++ /dev/null" in diff
    assert "--- old/b\n+++ new/b\n@@ -1 +1 @@\n-x\n+y" in diff
    assert "--- /dev/null\n+++ new/c" in diff
    assert files_diff({"a": "1\n"}, {"a": "1\n"}, "old", "new") == ""
