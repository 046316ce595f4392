# Databricks notebook source
# MAGIC %md
# MAGIC # Setup: make the project's package importable
# MAGIC
# MAGIC Every task notebook starts with `%run ./_setup`.
# MAGIC - On a classic job cluster the bundle installed the project's wheel as a library: nothing to do.
# MAGIC - Serverless notebook tasks take no job libraries, so the wheel that `bundle deploy` built
# MAGIC   and synced to `dist/` is installed here, notebook-scoped.
# MAGIC - Opened from a Git folder there is no wheel: the package is imported from `src/`, so edits
# MAGIC   to the code apply without building anything.

# COMMAND ----------

import subprocess
import sys
from pathlib import Path

try:
    import taxi_fare_mlops  # noqa: F401
except ImportError:
    # Serverless notebook tasks take no job libraries: install the wheel the bundle built and
    # synced to dist/. In a Git folder there is no wheel: import from src/ instead.
    wheels = sorted((Path.cwd().parent / "dist").glob("*.whl"))
    if wheels:
        pip_install = [sys.executable, "-m", "pip", "install", "--quiet", str(wheels[-1])]
        subprocess.run(pip_install, check=True)
    else:
        sys.path.insert(0, str(Path.cwd().parent / "src"))
