"""{{ cookiecutter.__package_name }}: data, features, training, validation, deployment, scoring, monitoring.

One module per stage of the pipeline; `python -m {{ cookiecutter.__package_name }} --help` lists the commands.
"""

__version__ = "0.1.0"
