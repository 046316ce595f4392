"""Bakes as the template's tests do, for test_leftovers.py: it runs this file in a pytest of its
own with an empty TMPDIR, and looks at what the run left there. A normal run does not collect
it (its name does not start with `test_`).

LEFTOVERS_PROBE_ENDING says how the run ends: `pass`, `fail`, or `interrupt` (the test writes
the file LEFTOVERS_PROBE_READY names once it has baked, then waits for Ctrl-C).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from baking import TEMPLATE_ROOT, bake

ENDING = os.environ.get("LEFTOVERS_PROBE_ENDING", "pass")


def test_bake_in_process_and_with_the_command_line(tmp_path):
    bake(output_dir=tmp_path / "api")
    bake(project_name="probe-cached")  # cached: into this process's folder of bakes
    command = [sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE_ROOT)]
    subprocess.run([*command, "-o", str(tmp_path / "cli")], check=True, capture_output=True)
    # Two hook copies per bake (cookiecutter#886): the run is to remove them.
    hook_copies = list(Path(tempfile.gettempdir()).glob("tmp*.py"))
    assert len(hook_copies) >= 6, hook_copies

    if ENDING == "fail":
        pytest.fail("this run fails, as one with a broken test does")
    if ENDING == "interrupt":
        Path(os.environ["LEFTOVERS_PROBE_READY"]).touch()
        time.sleep(300)  # until Ctrl-C
