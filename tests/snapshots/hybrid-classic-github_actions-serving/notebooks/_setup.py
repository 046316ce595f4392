# Databricks notebook source
# MAGIC %md
# MAGIC # Setup: make the project's package importable
# MAGIC
# MAGIC Every task notebook starts with `%run ./_setup`.
# MAGIC - On a classic job cluster the bundle installed the project's wheel as a library: nothing to do.
# MAGIC - Serverless notebook tasks install the wheel here. Job environments (`environment_key`)
# MAGIC   serve Python script, Python wheel and dbt tasks, not notebook tasks (bundle schema of
# MAGIC   CLI v1.13: "jobs' environment for non-notebook task"). The job passes `wheel_dir`, the
# MAGIC   workspace folder where `bundle deploy` uploaded the wheel; the newest version there is
# MAGIC   installed notebook-scoped with pip (the `%pip` magic) and Python restarts, so upgraded
# MAGIC   dependencies load and the Spark UDF workers (`spark_udf`, `mapInPandas`) get the
# MAGIC   package too.
# MAGIC - Opened from a Git folder there is no wheel: the package is imported from `src/`, so edits
# MAGIC   to the code apply without building anything.

# COMMAND ----------

# Serverless notebook tasks install libraries in the notebook (the pip magic, then
# dbutils.library.restartPython()); job environments serve script, wheel and dbt tasks only
# (the bundle schema's `environment_key` and `environments[].spec`; tests/test_deploy_rules.py):
#   https://docs.databricks.com/aws/en/libraries/notebooks-python-libraries
#   https://docs.databricks.com/aws/en/dev-tools/bundles/resource-examples (serverless jobs)
#   https://docs.databricks.com/aws/en/compute/serverless/dependencies
import re
import sys
from pathlib import Path


def wheel_version(wheel: Path) -> tuple[int, ...]:
    """0.10.0 after 0.9.0: the numbers of `<name>-<version>-...whl`, compared as numbers (the
    upload folder keeps the wheels of earlier deploys)."""
    return tuple(int(n) for n in re.findall(r"\d+", wheel.name.split("-")[1]))


try:
    import taxi_fare_mlops  # noqa: F401
except ImportError:
    dbutils.widgets.text("wheel_dir", "", "Folder of the project's wheel (serverless jobs)")
    wheel_dir = dbutils.widgets.get("wheel_dir")
    if wheel_dir and not wheel_dir.startswith(("/Workspace/", "/Volumes/")):
        wheel_dir = "/Workspace" + wheel_dir  # the CLI uploads to /Workspace/... the same way
    wheels = sorted(Path(wheel_dir).glob("*.whl"), key=wheel_version) if wheel_dir else []
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
