"""Where a model and its tables live: one catalog + schema + model name, as one value.

Every stage takes a `Location` instead of three loose strings, and asks it for the names it
needs (`location.model`, `location.predictions`, ...), so a table name is spelled in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import config
from . import runtime
from .errors import MlopsError

# Letters, digits, `_` and `-`, Unicode letters included: development mode names a developer's
# schema and model `dev_<short user name>_...`, and the Databricks CLI keeps every Unicode letter
# and digit of the user name there (libs/iamutil/user.go GetShortUserName,
# libs/textutil/textutil.go NormalizeString). SQL quotes each part (tables.quoted), and every
# such name is a valid local folder name.
_IDENTIFIER = re.compile(r"^[^\W\d][\w-]*$")


def check_catalog(catalog: str) -> str:
    """Locally, only the project's catalogs (and the input table's) exist, as on a workspace
    where nobody has created another one. With Spark, the metastore is the judge."""
    known = set(config.CATALOGS.values()) | {config.INPUT_TABLE.split(".")[0]}
    if not runtime.use_spark() and catalog not in known:
        raise MlopsError(
            f"unknown catalog {catalog!r}: the local catalogs are {', '.join(sorted(known))}"
        )
    return catalog


def full_name(catalog: str, schema: str, name: str) -> str:
    """`<catalog>.<schema>.<name>`, refusing parts that would break a SQL name or a path."""
    for part in (catalog, schema, name):
        if not _IDENTIFIER.match(part or ""):
            raise MlopsError(f"{part!r} is not a valid catalog, schema or table name")
    check_catalog(catalog)
    return f"{catalog}.{schema}.{name}"


def split_name(three_level_name: str) -> tuple[str, str, str]:
    parts = three_level_name.split(".")
    if len(parts) != 3:
        raise MlopsError(
            f"{three_level_name!r} is not a three-level name <catalog>.<schema>.<table>"
        )
    full_name(*parts)
    return parts[0], parts[1], parts[2]


# The tables a stage writes, each with the one command that writes it.
PROJECT_TABLES = {
    config.PREDICTIONS_TABLE: "score",
    config.LABELS_TABLE: "label",
    config.MONITORING_TABLE: "monitor",
}


def refuse_project_table(table: str, *, schema: str | None, option: str) -> None:
    """A table an option names (a source to read, sample data to write) is not one the stages
    write: sample data over the predictions would replace them, and a batch scored from the
    predictions would be compared with itself. `schema`: the project's tables are those of this
    schema; None: of any schema (sample data never belongs in a table named like them)."""
    parts = table.split(".")
    ours = schema is None or parts[-2:-1] == [schema]
    writer = PROJECT_TABLES.get(parts[-1]) if ours else None
    if writer:
        raise MlopsError(
            f"{option} {table} is the table `{writer}` writes; name a table of your own"
        )


@dataclass(frozen=True)
class Location:
    """`<catalog>.<schema>` of one environment, and the model registered there."""

    catalog: str
    schema: str = config.SCHEMA
    model_name: str = config.MODEL_NAME

    def __post_init__(self) -> None:
        # Checked once, here: every name below is then safe to use in SQL and paths.
        full_name(self.catalog, self.schema, self.model_name)

    def table(self, name: str) -> str:
        return full_name(self.catalog, self.schema, name)

    @property
    def model(self) -> str:
        """The registered model, `<catalog>.<schema>.<model_name>`."""
        return self.table(self.model_name)

    @property
    def predictions(self) -> str:
        return self.table(config.PREDICTIONS_TABLE)

    @property
    def labels(self) -> str:
        return self.table(config.LABELS_TABLE)

    @property
    def metrics(self) -> str:
        return self.table(config.MONITORING_TABLE)

    @property
    def new_rows(self) -> str:
        return self.table(config.NEW_ROWS_TABLE)

    def model_uri(self, version: str) -> str:
        return f"models:/{self.model}/{version}"

    def elsewhere(self, catalog: str, schema: str = "", model_name: str = "") -> Location:
        """The model in another catalog (the source of a promotion): the same schema and model
        name unless given (a developer's dev deployment prefixes both, dev_<user>_<name>)."""
        return Location(catalog, schema or self.schema, model_name or self.model_name)

    def __str__(self) -> str:
        return self.model
