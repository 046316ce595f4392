"""Child processes of the tests: stopped by a signal that works whatever the test run inherited,
and never left behind, pass or fail.

A shell starts a background job (`make test &`, a script's `pytest ... &`) with SIGINT ignored,
and its children inherit that: Python then never raises KeyboardInterrupt, so a test that ends
a child with SIGINT would wait in vain. `stop` sends SIGTERM by default (every long-running
command ends cleanly on it); a test of Ctrl-C itself starts its child with
`preexec_fn=default_sigint`.

Every child `running` starts carries a mark of its own in its environment, which whatever it
starts inherits, in whatever session or process group that runs (`mlflow server` puts its
workers in one of their own). When the test ends, every process with the mark is killed: by
the mark, not by a process group id, which the system may give to another group once the
child's has gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MARK_VARIABLE = "TESTS_PROCESS_MARK"


def default_sigint() -> None:
    """For `preexec_fn`: the child takes SIGINT as a terminal's Ctrl-C, even when this run
    ignores it (a background job)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def processes_marked(mark: str) -> list[int]:
    """The processes still running with `mark` in their environment (Linux's /proc; none where
    there is no /proc)."""
    entry = f"{MARK_VARIABLE}={mark}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if entry in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            continue  # it ended while we looked, or is not ours to read
    return found


def kill_marked(mark: str) -> None:
    for pid in processes_marked(mark):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # it ended meanwhile


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL to the group of a child that leads one (started with start_new_session) and
    has not been waited for: until then its id is the group's and no one else's."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@contextmanager
def running(command: list[str], **options) -> Iterator[subprocess.Popen]:
    """`command` with a mark of its own (`process.mark`), in a new session; on the way out,
    pass or fail, every process with that mark is killed and the child reaped."""
    mark = uuid.uuid4().hex
    environment = {**(options.pop("env", None) or os.environ), MARK_VARIABLE: mark}
    process = subprocess.Popen(command, start_new_session=True, env=environment, **options)
    process.mark = mark  # type: ignore[attr-defined]
    try:
        yield process
    finally:
        kill_group(process)
        kill_marked(mark)
        process.communicate()  # reaps it and closes its pipes


def stop(
    process: subprocess.Popen, signal_number: int = signal.SIGTERM, timeout: float = 30
) -> tuple[str, str]:
    """Send `signal_number` and wait for the child to end: its (stdout, stderr). One that is
    still running after `timeout` seconds is killed with all it started, and AssertionError
    says so."""
    if process.poll() is None:
        process.send_signal(signal_number)
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(process)
        if hasattr(process, "mark"):
            kill_marked(process.mark)
        _, err = process.communicate()
        name = signal.Signals(signal_number).name
        raise AssertionError(
            f"{process.args} did not end within {timeout:.0f} s of {name} and was killed, "
            f"with what it started. Its stderr: {(err or '')[-2000:]}"
        ) from None
