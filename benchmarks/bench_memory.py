"""Peak memory of the generated project's `score`, `label` and `monitor` as the table grows.

    python benchmarks/bench_memory.py [--rows 1000000 5000000] [--stages label] [--keep]
                                      [--work DIR]

Bakes the default project into a temporary folder and, for each row count, with the interpreter
that runs this script:

1. sets up local state in a process of its own: the sample data, a model trained, validated
   and deployed in the prod catalog, and a table of that many new trips (with their fares);
2. runs each stage through the project's CLI, as a user would, each in a fresh child process:
   `score` (the new trips), `label` (their fares, merged into the labels table and attached to
   the predictions) and `monitor` (the scored batch);
3. reads each child's peak resident set size from `os.wait4`, which reports the resources of
   that one child, so one run's peak never counts for another.

It prints the peaks per row count and the ratio of the largest to the smallest row count: local
reads stream record batches, so the goal is at most 1.3x. This is a benchmark, not a test: it
asserts nothing and its figures depend on the machine.

The work folder, a new one in the temporary folder, is also the temporary folder of this process
and of every one it starts (cookiecutter leaves its hook copies there), and goes when the run
ends, on an error or Ctrl-C too: at 5M rows it holds hundreds of MB of tables.

--stages runs some of the stages (in their order above). --keep keeps the work folder, prints
its path, and keeps in it a copy of the local state after the set-up and after each stage;
--work DIR works in DIR (made if missing) and keeps it: a run with --work and a kept folder bakes
the project again (so it measures the template as it is now) but starts from the copy the first
stage needs (`label` alone starts from the state `score` left), instead of setting up and
scoring again. Without either nothing is copied: a copy is only ever read back by a later run,
and at 5M rows each one is hundreds of MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_project import bake, package_name, project_env

# From tests/, which importing bench_project put on the path.
from work_folder import add_keep_option, work_folder

STAGES = ["score", "label", "monitor"]
GOAL = 1.3
SETUP = """
import sys
from {package} import config, sample_data
from {package}.mlops.deploy import deploy
from {package}.mlops.location import Location
from {package}.mlops.tables import for_runtime
from {package}.mlops.train import train
from {package}.mlops.validate import validate

rows = int(sys.argv[1])
prod = Location(config.PROD_CATALOG)
sample_data.write_sample_data(config.INPUT_TABLE)
trained = train(location=prod)
validate(location=prod, model_version=trained.version)
deploy(location=prod, model_version=trained.version)
store = for_runtime()
# Written in slices, so setting up 5M rows does not need them all in memory at once.
step = 1_000_000
for start in range(0, rows, step):
    trips = sample_data.generate_rows(
        min(step, rows - start), seed=7 + start, start="2016-03-01", days=30
    )
    store.write(trips, prod.new_rows, mode="overwrite" if start == 0 else "append")
print(store.count(prod.new_rows), prod.new_rows)
"""


def run_child(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Run `command`; its peak RSS in MB (from wait4: this child only), seconds and stdout."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        try:
            _, status, usage = os.wait4(child.pid, 0)
        except BaseException:  # Ctrl-C: the child ends before its work folder goes
            child.kill()
            child.wait()
            raise
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if child.returncode != 0:
        tail = (stdout + stderr).strip().splitlines()[-15:]
        raise SystemExit(f"{' '.join(command)} failed:\n" + "\n".join(tail))
    # Linux reports ru_maxrss in kilobytes.
    return usage.ru_maxrss / 1024, seconds, stdout.strip()


def saved_state(work: Path, rows: int, after: str) -> Path:
    """Where the local state of `rows` rows is kept after `after` (`setup` or a stage)."""
    return work / "saved" / f"{rows}-after-{after}"


def save_state(local: Path, work: Path, rows: int, after: str) -> None:
    saved = saved_state(work, rows, after)
    shutil.rmtree(saved, ignore_errors=True)
    shutil.copytree(local, saved, symlinks=True)


def measure(
    project: Path, work: Path, rows: int, stages: list[str], keep: bool
) -> dict[str, tuple[float, float]]:
    """Peak MB and seconds of each stage at `rows` rows; `keep` saves the state after each step."""
    package = package_name(project)
    local = work / f"local-{rows}"
    # No bundle schema: the stages run here, not the bundle checks.
    env = project_env(project, local, None)
    # The state the first stage starts from: what the stage before it (or the set-up) left.
    first = STAGES.index(stages[0])
    start = saved_state(work, rows, STAGES[first - 1] if first else "setup")
    shutil.rmtree(local, ignore_errors=True)
    if start.exists():
        shutil.copytree(start, local, symlinks=True)
        print(f"  {rows:,} rows: starting from {start}", flush=True)
    elif first:
        raise SystemExit(
            f"error: no saved state {start}: first run the stages before {stages[0]} in this folder"
        )
    else:
        _, setup_seconds, output = run_child(
            [sys.executable, "-c", SETUP.format(package=package), str(rows)], project, env
        )
        written, new_trips = output.splitlines()[-1].split()
        print(
            f"  {rows:,} rows: set up {int(written):,} new trips in {setup_seconds:.0f} s",
            flush=True,
        )
        if keep:
            save_state(local, work, rows, "setup")
        # The new trips table's name (small): a later --work run that starts from a copy reads it.
        (work / "saved").mkdir(exist_ok=True)
        (work / "saved" / f"{rows}-new-trips").write_text(new_trips)
    new_trips = (work / "saved" / f"{rows}-new-trips").read_text()
    catalog = ["--catalog", "prod"]
    commands = {
        "score": ["score", *catalog, "--input-table", new_trips, "--batch-id", "bench"],
        "label": ["label", *catalog, "--from-table", new_trips],
        "monitor": ["monitor", *catalog, "--batch-id", "bench"],
    }
    peaks = {}
    for stage in stages:
        peak, seconds, output = run_child(
            [sys.executable, "-m", package, *commands[stage]], project, env
        )
        peaks[stage] = (peak, seconds)
        print(f"  {rows:,} rows: {stage} peak {peak:,.0f} MB in {seconds:.1f} s", flush=True)
        print("    " + output.splitlines()[0], flush=True)
        if keep:
            save_state(local, work, rows, stage)
    return peaks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument(
        "--stages", nargs="+", choices=STAGES, default=STAGES, help="default: all three"
    )
    add_keep_option(parser)
    parser.add_argument(
        "--work", type=Path, help="a work folder to reuse and keep (default: a new one)"
    )
    args = parser.parse_args()
    stages = [stage for stage in STAGES if stage in args.stages]

    keep = args.keep or args.work is not None
    with work_folder(prefix="bench-memory-", keep=keep, path=args.work) as work:
        print(f"python {sys.version.split()[0]} ({sys.executable}); work dir {work}\n")
        shutil.rmtree(work / "project", ignore_errors=True)
        project = bake("hybrid", work / "project")
        figures = {rows: measure(project, work, rows, stages, keep) for rows in args.rows}
        print_peaks(figures, args.rows, stages)  # before a kept folder's path, printed last
    return 0


def print_peaks(figures: dict, row_counts: list[int], stages: list[str]) -> None:
    small, large = min(row_counts), max(row_counts)
    header = ["stage", *(f"{rows:,} rows" for rows in row_counts), f"ratio {large:,}/{small:,}"]
    table = []
    for stage in stages:
        peaks = [figures[rows][stage][0] for rows in row_counts]
        ratio = figures[large][stage][0] / figures[small][stage][0]
        verdict = "ok" if ratio <= GOAL else f"above the {GOAL}x goal"
        table.append([stage, *(f"{peak:,.0f} MB" for peak in peaks), f"{ratio:.2f}x {verdict}"])
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    print("\npeak resident memory of each stage (one child process each)")
    for row in [header, ["-" * width for width in widths], *table]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
