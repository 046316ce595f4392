"""A run of the template's tests leaves nothing in the temporary folder but pytest's own
`pytest-of-<user>`, whether it passes, fails or is interrupted with Ctrl-C (conftest.py,
work_folder.py); nor does importing the bake helpers, and a benchmark's work folder goes too."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from baking import TEMPLATE_ROOT
from work_folder import work_folder

PROBE = "tests/leftovers_probe.py"
# Starts the command with Ctrl-C delivered as KeyboardInterrupt whatever this run inherited: a
# shell starts a background job with SIGINT ignored, and Python then never raises it.
WITH_CTRL_C = [
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])",
]


def environment_with_temporary_folder(folder: Path, **variables: str) -> dict[str, str]:
    """This environment with `folder` as the temporary folder of everything, pytest's included
    (this run sets PYTEST_DEBUG_TEMPROOT for its own folders; the probe's go into `folder`)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_DEBUG_TEMPROOT"}
    return env | {"TMPDIR": str(folder)} | variables


def left_behind(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("pytest-of-"))


def start_probe(folder: Path, ending: str, workers: str, ready: Path) -> subprocess.Popen:
    folder.mkdir()
    command = [sys.executable, *WITH_CTRL_C, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    return subprocess.Popen(
        [*command, "-n", workers, PROBE],
        cwd=TEMPLATE_ROOT,
        env=environment_with_temporary_folder(
            folder, LEFTOVERS_PROBE_ENDING=ending, LEFTOVERS_PROBE_READY=str(ready)
        ),
        # A process group of its own, to send Ctrl-C to all of it, as a terminal does.
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(path: Path, probe: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists() and probe.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)


def finish(probe: subprocess.Popen) -> tuple[int, str]:
    """The probe's exit code and output; its whole group is killed if it does not end."""
    try:
        output, _ = probe.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(probe.pid, signal.SIGKILL)
        output, _ = probe.communicate()
        pytest.fail(f"the probe run did not end:\n{output[-3000:]}")
    return probe.returncode, output


@pytest.mark.parametrize(
    "ending, workers, exit_code",
    [
        # The whole suite's own run passes on two workers, and CI checks what it leaves
        # (.ci/run): this one is for `make test`, not for the fast loop.
        pytest.param("pass", "2", 0, id="passed-on-two-workers", marks=pytest.mark.slow),
        pytest.param("fail", "0", 1, id="failed"),
        pytest.param("interrupt", "2", 2, id="interrupted-on-two-workers"),
    ],
)
def test_a_run_leaves_only_pytests_own_folders(ending, workers, exit_code, tmp_path):
    folder, ready = tmp_path / "tmp", tmp_path / "ready"
    probe = start_probe(folder, ending, workers, ready)
    if ending == "interrupt":
        wait_for(ready, probe, seconds=120)
        if probe.poll() is None:
            os.killpg(probe.pid, signal.SIGINT)
    returncode, output = finish(probe)
    assert left_behind(folder) == [], output[-3000:]
    assert returncode == exit_code, output[-3000:]


def test_importing_the_bake_helpers_writes_nothing(tmp_path):
    """Benchmarks and golden.py import baking; its folder of bakes comes with the first bake."""
    command = [sys.executable, "-c", "import baking"]
    env = environment_with_temporary_folder(tmp_path) | {"PYTHONPATH": str(TEMPLATE_ROOT / "tests")}
    subprocess.run(command, env=env, check=True)
    assert list(tmp_path.iterdir()) == []


def test_a_work_folder_is_the_temporary_folder_while_it_lasts():
    before = tempfile.gettempdir(), os.environ.get("TMPDIR")
    with work_folder("probe-") as work:
        assert tempfile.gettempdir() == os.environ["TMPDIR"] == str(work / "tmp")
    assert (tempfile.gettempdir(), os.environ.get("TMPDIR")) == before
    assert not work.exists()


@pytest.mark.parametrize("interruption", [ValueError, KeyboardInterrupt])
def test_a_work_folder_goes_on_an_error_and_on_ctrl_c(interruption):
    with pytest.raises(interruption), work_folder("probe-") as work:
        (work / "tmp" / "a-hook-copy.py").write_text("")
        raise interruption
    assert not work.exists()


def test_a_kept_work_folder_stays_and_says_where(capsys):
    with work_folder("probe-", keep=True) as work:
        pass
    try:
        assert work.is_dir()
        assert f"work folder kept: {work}" in capsys.readouterr().err
    finally:
        shutil.rmtree(work)


# CI's check after `make test` (.ci/run): the command runs with an empty TMPDIR of its own.
CI_CHECK = str(TEMPLATE_ROOT / ".ci" / "without-leftovers")


def ci_check(script: str) -> subprocess.CompletedProcess:
    """.ci/without-leftovers running a bash script, with a grace of one second for processes."""
    return subprocess.run(
        [CI_CHECK, "bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ | {"LEFTOVERS_GRACE_SECONDS": "1"},
    )


def running(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    # A zombie has ended; only its parent's wait is missing.
    return stat.exists() and stat.read_text().rsplit(")", 1)[-1].split()[0] != "Z"


def test_ci_passes_a_run_that_leaves_only_pytests_folders():
    result = ci_check('mkdir "$TMPDIR/pytest-of-someone" && echo tested')
    assert (result.returncode, result.stdout) == (0, "tested\n"), result.stderr


def test_ci_keeps_the_exit_code_of_a_failed_run():
    assert ci_check("exit 3").returncode == 3


def test_ci_fails_a_run_that_leaves_files_or_processes_and_ends_them():
    result = ci_check(
        'touch "$TMPDIR/tmp1a2b3c.py" && mkdir "$TMPDIR/bakes-x" "$TMPDIR/pytest-of-someone"\n'
        "sleep 600 >/dev/null 2>&1 & echo $!\n"
        # In a session of its own, as a process that its starter meant to kill by group.
        "setsid sleep 601 >/dev/null 2>&1 & echo $!\n"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "left 2 processes running" in result.stdout
    assert "left 2 files or folders" in result.stdout
    assert "tmp1a2b3c.py" in result.stdout and "bakes-x" in result.stdout
    assert "pytest-of-someone" not in result.stdout
    left = [int(line) for line in result.stdout.splitlines() if line.isdigit()]
    assert len(left) == 2 and not any(running(pid) for pid in left), result.stdout
