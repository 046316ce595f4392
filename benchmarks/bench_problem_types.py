"""Lifecycle and test time of the generated project per problem type, against a baseline.

    python benchmarks/bench_problem_types.py [--baseline DIR] [--rounds 3] [--keep]

Bakes the default project (deploy_code) with `problem_type=regression` and
`problem_type=classification` from this template, and, with `--baseline`, the default project of
another checkout of the template (e.g. `git worktree add ../before <commit>`: a release before
the data contract, which has no problem_type). Builds one project environment with the first
project's `make install`, then measures, rounds interleaved so that a change of the machine's
load hits every variant alike:

- `python -m <package> lifecycle` in a new local folder (wall and CPU seconds);
- the project's `make test` (the fast suite).

Prints the median of the rounds per variant and its ratio to the baseline. A benchmark, not a
test: it asserts nothing and its figures depend on the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
from pathlib import Path

from bench_project import package_name, project_env, project_python, timed_run
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TEMPLATE / "tests"))
from baking import find_bundle_schema  # noqa: E402
from work_folder import add_keep_option, work_folder  # noqa: E402


def bake(template: Path, output_dir: Path, **answers) -> Path:
    with contextlib.redirect_stdout(io.StringIO()):  # the hook's "next steps"
        return Path(
            cookiecutter(
                str(template), no_input=True, extra_context=answers, output_dir=str(output_dir)
            )
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="another checkout of the template")
    parser.add_argument("--rounds", type=int, default=3)
    add_keep_option(parser)
    args = parser.parse_args()
    with work_folder(prefix="bench-problem-types-", keep=args.keep) as work:
        return benchmark(args, work)


def benchmark(args: argparse.Namespace, work: Path) -> int:
    schema, _ = find_bundle_schema(work)
    variants = {}
    if args.baseline:
        variants["baseline (regression)"] = bake(args.baseline, work / "baseline")
    for problem_type in ("regression", "classification"):
        variants[problem_type] = bake(TEMPLATE, work / problem_type, problem_type=problem_type)
    # One environment for every variant: each run puts its own project's src/ first.
    python = project_python(next(iter(variants.values())))
    print(f"project environment: {python}; {args.rounds} rounds\n")
    times: dict[str, dict[str, list[tuple[float, float]]]] = {
        name: {"lifecycle": [], "make test": []} for name in variants
    }
    for round_ in range(args.rounds):
        for name, project in variants.items():
            package = package_name(project)
            env = project_env(project, work / f"{name}-{round_}-lifecycle", schema)
            lifecycle = timed_run([str(python), "-m", package, "lifecycle"], project, env)
            times[name]["lifecycle"].append(lifecycle[:2])
            env = project_env(project, work / f"{name}-{round_}-test", schema)
            make_test = ["make", "--no-print-directory", "test", f"BIN={python.parent}"]
            times[name]["make test"].append(timed_run(make_test, project, env)[:2])
    print_table(times)
    return 0


def print_table(times: dict[str, dict[str, list[tuple[float, float]]]]) -> None:
    base = next(iter(times))
    print(f"{'variant':<24} {'step':<10} {'wall s (median)':>16} {'cpu s':>8} {'vs ' + base:>28}")
    for name, steps in times.items():
        for step, runs in steps.items():
            wall = statistics.median(seconds for seconds, _ in runs)
            cpu = statistics.median(cpu for _, cpu in runs)
            base_wall = statistics.median(seconds for seconds, _ in times[base][step])
            walls = ", ".join(f"{seconds:.1f}" for seconds, _ in runs)
            print(
                f"{name:<24} {step:<10} {wall:>16.1f} {cpu:>8.1f} {wall / base_wall:>27.2f}x"
                f"   ({walls})"
            )


if __name__ == "__main__":
    sys.exit(main())
