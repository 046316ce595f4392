"""Wall time of the template's own test loop: `make test-fast` (and, with --full, `make test`),
in this checkout and, with --baseline, in another checkout of the template.

    python benchmarks/bench_template_tests.py [--baseline DIR] [--rounds 1] [--full]

`--baseline` takes another checkout (e.g. `git worktree add ../before <commit>`). Every variant
runs the same command the Makefile target runs, with this checkout's environment (the
template's .venv, which `make` builds) and the bundle schema where `make` finds it; rounds are
interleaved, so a change of the machine's load hits every variant alike. Prints the wall and CPU
seconds per variant (median of the rounds), its ratio to the first, and the 15 slowest tests of
this checkout's last run (pytest prints them: `--durations=15` in pyproject.toml). A benchmark,
not a test: it asserts nothing and its figures depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_project import children_cpu_seconds, machine

TEMPLATE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TEMPLATE / "tests"))
from baking import SCHEMA_VARIABLE, SHARED_SCHEMA  # noqa: E402
from work_folder import work_folder  # noqa: E402

# What `make test-fast` and `make test` run (Makefile), after building the environment.
TARGETS = {
    "make test-fast": ["-n", "2", "--dist", "loadgroup", "-m", "not slow"],
    "make test": ["-n", "2", "--dist", "loadgroup"],
}


def run_tests(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of a test run (with its children), and its output; a failed run
    stops the benchmark, since its time says nothing."""
    cpu_before = children_cpu_seconds()
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-20:]
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n" + "\n".join(tail))
    return seconds, children_cpu_seconds() - cpu_before, result.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="another checkout of the template")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--full", action="store_true", help="make test too (about 20 minutes)")
    args = parser.parse_args()
    print(f"measured on {machine()}")
    checkouts = {"this checkout": TEMPLATE}
    if args.baseline:
        checkouts = {"baseline": args.baseline.resolve(), **checkouts}
    targets = [name for name in TARGETS if args.full or name == "make test-fast"]
    environment = dict(os.environ)
    if SHARED_SCHEMA.is_file():  # a baseline elsewhere has no ../shared beside it
        environment.setdefault(SCHEMA_VARIABLE, str(SHARED_SCHEMA))
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    last_output = ""
    for _ in range(args.rounds):
        for target in targets:
            for name, checkout in checkouts.items():
                # Each run in a work folder of its own, as its temporary folder.
                with work_folder(prefix="bench-template-tests-"):
                    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
                    seconds, cpu, output = run_tests(
                        [*command, *TARGETS[target]], checkout, environment
                    )
                times.setdefault((name, target), []).append((seconds, cpu))
                if name == "this checkout":
                    last_output = output
    print(f"\n{'variant':<16} {'target':<16} {'wall s':>8} {'cpu s':>8} {'vs first':>9}")
    for target in targets:
        first = None
        for name in checkouts:
            runs = times[(name, target)]
            wall = statistics.median(seconds for seconds, _ in runs)
            cpu = statistics.median(cpu for _, cpu in runs)
            first = first or wall
            print(f"{name:<16} {target:<16} {wall:>8.1f} {cpu:>8.1f} {wall / first:>8.2f}x")
    slowest = last_output.split("slowest 15 durations", 1)[-1].splitlines()[1:17]
    print("\nthe 15 slowest tests of this checkout's last run:")
    print("\n".join(line for line in slowest if line.strip() and "=" not in line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
