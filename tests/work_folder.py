"""A work folder for one run (the template's tests, a benchmark) that is also the temporary
folder of the run and of every process it starts, and goes when the run ends.

Why a temporary folder, not cleaning up after each bake: cookiecutter writes every bake's hooks
as `tmp*.py` files with `delete=False` and never removes them (cookiecutter issue #886, closed
as intended), and not every bake goes through `baking.bake`: cookiecutter and cruft started as
commands, nested pytest runs. Every process the run starts (pytest-xdist workers included)
inherits TMPDIR, so pointing it into the work folder collects what they, and the tools they
call, leave there, and removing the folder removes it all.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def work_folder(prefix: str, keep: bool = False, path: Path | None = None) -> Iterator[Path]:
    """A new folder (or `path`), whose `tmp/` is TMPDIR for this process and its children while
    the block runs. Removed when the block ends, by an error or Ctrl-C too, unless `keep`: then
    its path is printed, to look at or reuse."""
    work = Path(path) if path is not None else Path(tempfile.mkdtemp(prefix=prefix))
    temporary = work / "tmp"
    # A reused folder starts with an empty tmp/: its old temporary files are no one's anymore.
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    previous_variable, previous_folder = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = str(temporary)
    # tempfile caches the folder it found first; this process may have asked already.
    tempfile.tempdir = str(temporary)
    try:
        yield work
    finally:
        tempfile.tempdir = previous_folder
        if previous_variable is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = previous_variable
        if keep:
            print(f"work folder kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def add_keep_option(parser: argparse.ArgumentParser) -> None:
    """The `--keep` of a script that works in a work_folder (the benchmarks)."""
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder and print its path, to look at"
    )
