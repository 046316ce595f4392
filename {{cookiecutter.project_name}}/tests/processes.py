"""Child processes of the tests: each in a session of its own, stopped by a signal that works
whatever the test run inherited, and never left behind.

A shell starts a background job (`make test &`, a script's `pytest ... &`) with SIGINT ignored,
and its children inherit that: Python then never raises KeyboardInterrupt, so a test that ends
a child with SIGINT would wait in vain. `stop` sends SIGTERM by default (every long-running
command ends cleanly on it); a test of Ctrl-C itself starts its child with
`preexec_fn=default_sigint`. A child that does not end in time is killed with its whole process
group (what it started too), and the test fails saying so.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def default_sigint() -> None:
    """For `preexec_fn`: the child takes SIGINT as a terminal's Ctrl-C, even when this run
    ignores it (a background job)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL to every process left in the child's group (it leads one: `running`)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # nothing is left of the group


@contextmanager
def running(command: list[str], **options) -> Iterator[subprocess.Popen]:
    """`command` in a new session (and so a process group of its own); on the way out, pass or
    fail, whatever is left of that group is killed and the child reaped."""
    process = subprocess.Popen(command, start_new_session=True, **options)
    try:
        yield process
    finally:
        kill_group(process)
        process.communicate()  # reaps it and closes its pipes


def stop(
    process: subprocess.Popen, signal_number: int = signal.SIGTERM, timeout: float = 30
) -> tuple[str, str]:
    """Send `signal_number` and wait for the child to end: its (stdout, stderr). One that is
    still running after `timeout` seconds is killed with its group, and AssertionError says so."""
    if process.poll() is None:
        process.send_signal(signal_number)
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(process)
        _, err = process.communicate()
        name = signal.Signals(signal_number).name
        raise AssertionError(
            f"{process.args} did not end within {timeout:.0f} s of {name}; its process group "
            f"was killed. Its stderr: {(err or '')[-2000:]}"
        ) from None


def session_members(session_id: int) -> list[int]:
    """The processes still in a session (Linux's /proc; none where there is no /proc)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The fields after the command name, which is in parentheses and may hold spaces:
            # state, parent, group, session, ...
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # it ended while we looked
        if int(fields[3]) == session_id:
            members.append(int(stat.parent.name))
    return members
