"""Install times with pip and with uv, from a cold cache and a warm one.

Two environments are measured: the template's own (`requirements-dev.txt`, what `make test` and
`make demo` build) and a generated project's (`make install`: the package with its local and dev
extras). Each tool gets a cache of its own in a temporary folder, so "cold" really starts empty
and "warm" is a second install from that same cache (the usual case on a laptop or a CI runner
with a cached folder).

    .venv/bin/python benchmarks/bench_install.py            # both environments
    .venv/bin/python benchmarks/bench_install.py template   # one of them
    .venv/bin/python benchmarks/bench_install.py --keep     # keep the work folder to look at

Everything (environments, caches, the baked project, the tools' temporary files) is written in
one work folder, which goes when the run ends, on an error or Ctrl-C too.
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

TEMPLATE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TEMPLATE / "tests"))

from baking import bake  # noqa: E402
from work_folder import add_keep_option, work_folder  # noqa: E402

UV = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
PYTHON = shutil.which("python3")


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def install_time(tool: str, requirement_args: list[str], cwd: Path, cache: Path) -> float:
    """Seconds to make a new virtual environment and install into it."""
    venv = Path(tempfile.mkdtemp(prefix=f"bench-{tool}-")) / ".venv"
    env = {**os.environ, "PIP_CACHE_DIR": str(cache), "UV_CACHE_DIR": str(cache)}
    try:
        if tool == "pip":
            return timed([PYTHON, "-m", "venv", str(venv)], cwd, env) + timed(
                [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                 *requirement_args], cwd, env,
            )  # fmt: skip
        return timed([UV, "venv", "--quiet", "--python", PYTHON, str(venv)], cwd, env) + timed(
            [UV, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
             *requirement_args], cwd, env,
        )  # fmt: skip
    finally:
        shutil.rmtree(venv.parent, ignore_errors=True)


def measure(name: str, requirement_args: list[str], cwd: Path) -> None:
    for tool in ("pip", "uv"):
        cache = Path(tempfile.mkdtemp(prefix=f"cache-{tool}-"))
        try:
            cold = install_time(tool, requirement_args, cwd, cache)
            warm = install_time(tool, requirement_args, cwd, cache)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        print(f"{name:<18} {tool:<4} cold cache {cold:6.1f} s   warm cache {warm:6.1f} s",
              flush=True)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="?", choices=["template", "project"], help="default: both")
    add_keep_option(parser)
    args = parser.parse_args()
    print(f"pip: {PYTHON} -m pip; uv: {UV}; {os.cpu_count()} cores")
    with work_folder(prefix="bench-install-", keep=args.keep) as work:
        if args.which in (None, "template"):
            measure("template .venv", ["-r", "requirements-dev.txt"], TEMPLATE)
        if args.which in (None, "project"):
            project = bake(output_dir=work / "project")
            measure("generated project", ["-e", ".[local,dev]"], project.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
