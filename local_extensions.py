"""Jinja filters that derive private cookiecutter values from the answers.

They run while cookiecutter renders `cookiecutter.json`, before the pre-generation hook can
reject a bad answer, so they never raise: a value they cannot make sense of is passed through
unchanged and the hook reports it.
"""

import re
from urllib.parse import urlsplit

from jinja2.ext import Extension


def python_identifier(project_name: str) -> str:
    """`taxi-fare MLOps` -> `taxi_fare_mlops`: the import name of the generated package."""
    return re.sub(r"[^0-9a-z_]+", "_", str(project_name).strip().lower()).strip("_")


def workspace_host(url: str) -> str:
    """`https://ADB-1.azuredatabricks.net/?o=1#job/2` -> `https://adb-1.azuredatabricks.net`."""
    text = str(url).strip()
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError:
        return text
    if parts.scheme.lower() != "https" or not host:
        return text
    port = f":{port}" if port not in (None, 443) else ""
    return f"https://{host}{port}"


def python_string(value: str) -> str:
    """A Python string literal of `value` quoted as `ruff format` quotes it: double quotes,
    unless the text holds more double than single quotes. Text stays UTF-8, so the generated
    file passes `ruff format --check` whatever quotes a description contains."""
    text = str(value)
    quote = "'" if text.count('"') > text.count("'") else '"'
    body = text.replace("\\", "\\\\").replace(quote, "\\" + quote)
    body = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in body)
    return f"{quote}{body}{quote}"


class AnswerFilters(Extension):
    """The filters above, and `tojson` that keeps text as UTF-8."""

    def __init__(self, environment):
        super().__init__(environment)
        # `tojson` writes real UTF-8, not \u escapes: an emoji would otherwise become a
        # surrogate pair, which TOML rejects and Python and YAML read as two broken characters.
        environment.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
        environment.filters["python_identifier"] = python_identifier
        environment.filters["workspace_host"] = workspace_host
        environment.filters["python_string"] = python_string
