import gc
import sys

from .mlops.cli import collect_less, main

# See `collect_less`. At the end the survivors are frozen, so that exiting does not scan them
# once more: with the rarer full collections, about two seconds of a `lifecycle` run.
collect_less()
code = main()
gc.freeze()
sys.exit(code)
