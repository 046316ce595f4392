import gc
import sys

from .mlops.cli import main

# One command per process, and most of the objects it makes are the half a million that
# scikit-learn, MLflow and pandas create as they load and keep to the end. Full collections,
# which scan them all, run at a tenth of the default rate (young objects are collected as often
# as before), and at the end the survivors are frozen, so that exiting does not scan them once
# more: together about two seconds of a `lifecycle` run. Here, not in `main`: tests call `main`
# in processes that go on.
young, middle, _ = gc.get_threshold()
gc.set_threshold(young, middle, 100)
code = main()
gc.freeze()
sys.exit(code)
