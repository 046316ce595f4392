import gc
import sys

from .mlops.cli import main

# This process runs one command (see `cli.prepare`). At the end the survivors are frozen, so
# that exiting does not scan them once more: about a second of a `lifecycle` run.
code = main(one_command=True)
gc.freeze()
sys.exit(code)
