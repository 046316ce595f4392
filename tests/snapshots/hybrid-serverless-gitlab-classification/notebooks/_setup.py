# Databricks notebook source
# MAGIC %md
# MAGIC # Setup: make the project's package importable
# MAGIC
# MAGIC Every task notebook starts with `%run ./_setup`.
# MAGIC - On a classic job cluster the bundle installed the project's wheel as a library: nothing to do.
# MAGIC - Serverless notebook tasks take no job libraries or environments (those are for Python
# MAGIC   script, wheel and dbt tasks). The job passes `wheel_dir`, the workspace folder where
# MAGIC   `bundle deploy` uploaded the wheel; it is installed notebook-scoped with pip (the `%pip`
# MAGIC   magic) and Python restarts, so upgraded dependencies load and the Spark UDF workers
# MAGIC   (`spark_udf`, `mapInPandas`) get the package too.
# MAGIC - Opened from a Git folder there is no wheel: the package is imported from `src/`, so edits
# MAGIC   to the code apply without building anything.

# COMMAND ----------

# Serverless notebook tasks install libraries in the notebook (the pip magic, then
# dbutils.library.restartPython()); job environments serve script, wheel and dbt tasks only:
#   https://docs.databricks.com/aws/en/libraries/notebooks-python-libraries
#   https://docs.databricks.com/aws/en/dev-tools/bundles/resource-examples (serverless jobs)
#   https://docs.databricks.com/aws/en/compute/serverless/dependencies
import sys
from pathlib import Path

try:
    import taxi_fare_mlops  # noqa: F401
except ImportError:
    dbutils.widgets.text("wheel_dir", "", "Folder of the project's wheel (serverless jobs)")
    wheel_dir = dbutils.widgets.get("wheel_dir")
    if wheel_dir and not wheel_dir.startswith(("/Workspace/", "/Volumes/")):
        wheel_dir = "/Workspace" + wheel_dir  # the CLI uploads to /Workspace/... the same way
    wheels = sorted(Path(wheel_dir).glob("*.whl")) if wheel_dir else []
    if wheel_dir and not wheels:
        missing = f"no wheel in {wheel_dir}: run `databricks bundle deploy` again"
        raise FileNotFoundError(missing) from None
    if wheels:
        # An absolute workspace path, passed by the job: independent of the working directory.
        get_ipython().run_line_magic("pip", f"install --quiet {wheels[-1]}")  # noqa: F821
        dbutils.library.restartPython()
    else:
        # A Git folder: no wheel, the notebooks sit next to src/.
        sys.path.insert(0, str(Path.cwd().parent / "src"))
