"""`project_checks.run`, through which the template's tests run baked projects' commands: a
command that overruns is killed with everything it started, and the test fails saying so."""

from __future__ import annotations

import os
import sys
import time

import pytest

from project_checks import run

# A command that starts a grandchild in a session of its own (as a baked suite starts `serve`),
# writes that grandchild's pid to a file, then hangs.
HANGS_WITH_A_GRANDCHILD = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                         start_new_session=True)
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(600)
"""


def is_running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to see processes")
def test_a_command_that_overruns_is_killed_with_what_it_started(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    with pytest.raises(AssertionError, match="did not end within 3 s and was killed"):
        run([sys.executable, "-c", HANGS_WITH_A_GRANDCHILD, str(pid_file)], timeout=3)
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while is_running(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not is_running(grandchild)
