"""Bake the template in-process and look at the result.

`bake(**answers)` runs cookiecutter with `--no-input` semantics and returns a `BakedProject`.
Bakes are cached by their answers, so the 144-combination matrix and the focused tests that
reuse a combination share one bake each.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import random
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import cookiecutter.generate as cookiecutter_generate
import jinja2
import yaml
from cookiecutter.main import cookiecutter

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = TEMPLATE_ROOT.parent / "shared"
DEFAULTS = json.loads((TEMPLATE_ROOT / "cookiecutter.json").read_text())
# libyaml's loader where PyYAML has it (its wheels do): ten times the pure-Python one's speed,
# over the hundreds of YAML files the suite reads.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The official bundle schema, where a user of this template may have it (see find_bundle_schema).
SCHEMA_VARIABLE = "DATABRICKS_BUNDLE_SCHEMA"
SHARED_SCHEMA = SHARED_DIR / "bundle-schema" / "jsonschema.json"
NO_SCHEMA = (
    "bundle schema checks skipped: no `databricks` CLI on the PATH, DATABRICKS_BUNDLE_SCHEMA "
    "unset, no ../shared/bundle-schema/jsonschema.json; to run them, install the Databricks "
    "CLI or set DATABRICKS_BUNDLE_SCHEMA to the output of `databricks bundle schema`"
)
# Seed of the random valid answers the slow tests bake (random_answers); printed in the header.
SEED_VARIABLE = "TEMPLATE_ANSWERS_SEED"

OPTION_AXES = {
    "deployment_pattern": ["deploy_code", "deploy_model", "hybrid"],
    "cloud": ["azure", "aws", "gcp"],
    "cicd_platform": ["github_actions", "azure_devops", "gitlab", "none"],
    "compute": ["serverless", "classic"],
    "include_monitoring": [True, False],
    "include_serving": [True, False],
    "problem_type": ["regression", "classification"],
}
# include_serving and problem_type are not crossed with the rest (that would make the matrix 576
# bakes): all_combinations pairs each with the crossed options, so each value of every other
# option is baked with serving on and off and with both problem types, in 144 bakes.
PAIRED_AXIS = "include_serving"
PAIRED_AXES = (PAIRED_AXIS, "problem_type")
PATTERNS = OPTION_AXES["deployment_pattern"]
TARGETS = ("dev", "test", "staging", "prod")


def notebook_parameters(job: dict, task: dict) -> dict:
    """The widget values a notebook task receives: its job's parameters (pushed down to every
    task) and the task's own base_parameters."""
    parameters = {p["name"]: p.get("default", "") for p in job.get("parameters") or []}
    return parameters | ((task.get("notebook_task") or {}).get("base_parameters") or {})


def all_combinations() -> list[dict]:
    crossed = {name: values for name, values in OPTION_AXES.items() if name not in PAIRED_AXES}
    combinations = [
        dict(zip(crossed, values, strict=True)) for values in itertools.product(*crossed.values())
    ]
    for options in combinations:
        # On for classic with monitoring and serverless without; off for the other two.
        options[PAIRED_AXIS] = (options["compute"] == "classic") == options["include_monitoring"]
        # Alternating along pattern, cloud and CI platform: every value of each of them (and of
        # compute and monitoring, which do not enter the sum) meets both problem types.
        position = sum(
            OPTION_AXES[name].index(options[name])
            for name in ("deployment_pattern", "cloud", "cicd_platform")
        )
        options["problem_type"] = OPTION_AXES["problem_type"][position % 2]
    return combinations


def combination_id(options: dict) -> str:
    return "-".join(
        (k.removeprefix("include_") if v else "no_" + k.removeprefix("include_"))
        if isinstance(v, bool)
        else str(v)
        for k, v in options.items()
    )


@dataclass
class BakedProject:
    path: Path
    context: dict
    _yaml_cache: dict = field(default_factory=dict, repr=False)

    @property
    def package(self) -> str:
        return self.context["__package_name"]

    def files(self) -> list[Path]:
        return sorted(p for p in self.path.rglob("*") if p.is_file())

    def relative_files(self) -> set[str]:
        return {p.relative_to(self.path).as_posix() for p in self.files()}

    def read(self, relative: str) -> str:
        return (self.path / relative).read_text(encoding="utf-8")

    def yaml(self, relative: str):
        if relative not in self._yaml_cache:
            self._yaml_cache[relative] = yaml.load(self.read(relative), Loader=SAFE_LOADER)
        return self._yaml_cache[relative]

    def bundle_files(self) -> dict[str, dict]:
        """`databricks.yml` and every file it includes, parsed, keyed by relative path."""
        root = self.yaml("databricks.yml")
        files = {"databricks.yml": root}
        for pattern in root.get("include", []):
            for path in sorted(self.path.glob(pattern)):
                rel = path.relative_to(self.path).as_posix()
                files[rel] = self.yaml(rel) or {}
        return files

    def jobs_in_target(self, target: str) -> dict[str, dict]:
        """Jobs deployed to a target, by key: top-level resources plus that target's resources."""
        jobs: dict[str, dict] = {}
        for doc in self.bundle_files().values():
            jobs.update((doc.get("resources") or {}).get("jobs") or {})
            target_doc = (doc.get("targets") or {}).get(target) or {}
            jobs.update((target_doc.get("resources") or {}).get("jobs") or {})
        return jobs


def find_bundle_schema(cache_dir: Path) -> tuple[Path | None, str]:
    """The official bundle JSON schema and where it came from, in the order a user has it:
    the installed CLI (`databricks bundle schema`, the schema of the very CLI that deploys),
    then DATABRICKS_BUNDLE_SCHEMA, then the copy in ../shared (this repository's CI).
    (None, NO_SCHEMA) when there is none: the schema checks then skip with that one line."""
    cli = shutil.which("databricks")
    if cli:
        result = subprocess.run(
            [cli, "bundle", "schema"], capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode == 0:
            path = cache_dir / "jsonschema.json"
            path.write_text(result.stdout, encoding="utf-8")
            return path, f"`databricks bundle schema` ({cli})"
    configured = os.environ.get(SCHEMA_VARIABLE)
    if configured:
        if not Path(configured).is_file():
            raise FileNotFoundError(f"{SCHEMA_VARIABLE}={configured} names no file")
        return Path(configured), f"{SCHEMA_VARIABLE}={configured}"
    if SHARED_SCHEMA.is_file():
        return SHARED_SCHEMA, str(SHARED_SCHEMA)
    return None, NO_SCHEMA


# Words for drawing valid answers: none of them makes a package name that the pre-generation
# hook reserves (the stdlib, the project's dependencies).
WORDS = ("fare", "trip", "cab", "ride", "meter", "zone", "lab", "north", "blue", "q3", "v2")
BRANCHES = ("main", "master", "trunk", "develop", "release", "prod", "release/v1", "rel-2")


def random_answers(rng: random.Random) -> dict:
    """One valid set of answers, none of them the default: everything a user types (names,
    catalogs, branches, free text) and every option drawn from `rng`."""

    def name(separator: str = "_") -> str:
        return separator.join(rng.sample(WORDS, 2)) + f"{separator}{rng.randrange(100)}"

    # Four distinct catalogs: a name drawn per environment can't repeat (the role ends it).
    dev, test, staging, prod = (f"{name()}_{role}" for role in ("dev", "ci", "stg", "prd"))
    default_branch, release_branch = rng.sample(BRANCHES, 2)
    answers = {option: rng.choice(values) for option, values in OPTION_AXES.items()}
    return answers | {
        "project_name": name(rng.choice("-_")),
        "description": rng.choice(
            ['Fares: "estimates" & {braces}, $(not a command)', "Prévision des tarifs de taxi"]
        ),
        "dev_catalog": dev,
        "test_catalog": test,
        "staging_catalog": staging,
        "prod_catalog": prod,
        "schema_name": name(),
        "model_name": name(),
        "input_table": rng.choice(["samples.nyctaxi.trips", f"{name()}.raw.taxi_trips"]),
        "default_branch": default_branch,
        "release_branch": release_branch,
        "read_group": rng.choice(["data-scientists", "ml readers"]),
        "workspace_read_group": rng.choice(["users", "ml-team"]),
        "notification_email": f"{name('.')}@example.org",
        "prod_service_principal": rng.choice(["", str(uuid.UUID(int=rng.getrandbits(128)))]),
    }


# What a clone of the template does not have: local environments, build output, caches.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "build", "__pycache__", ".pytest_cache", ".ruff_cache", ".local"
)


def copy_template(destination: Path) -> Path:
    """The template's files as a fresh clone has them, at `destination`."""
    shutil.copytree(TEMPLATE_ROOT, destination, ignore=NOT_IN_A_CLONE)
    return destination


def answers_seed() -> int:
    """The run's seed: TEMPLATE_ANSWERS_SEED, which the test session sets once (conftest)."""
    return int(os.environ[SEED_VARIABLE])


@functools.cache
def bake_root() -> Path:
    """The folder of this process's cached bakes, made at the first one: importing this module
    writes nothing (benchmarks and golden.py import it). It sits in the temporary folder, which
    the test run points into a work folder of its own and removes (conftest)."""
    return Path(tempfile.mkdtemp(prefix="bakes-"))


class CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's compiled form of each template file, kept for every bake of this process.

    cookiecutter makes a new Jinja environment for each bake, so each of the matrix's 144 bakes
    would compile the same hundred-odd files again: about half of a bake's time. Jinja keys an
    entry by the file and checks it against the file's text, so an edited template is compiled
    anew; the rendered files are the same either way.
    """

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self._compiled:
            bucket.bytecode_from_string(self._compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


def _keep_compiled_templates() -> None:
    """Give every environment cookiecutter makes to render files one shared CompiledTemplates."""
    make_environment = cookiecutter_generate.create_env_with_context
    compiled = CompiledTemplates()

    def environment_keeping_compiled_templates(context):
        environment = make_environment(context)
        environment.bytecode_cache = compiled
        return environment

    cookiecutter_generate.create_env_with_context = environment_keeping_compiled_templates


_keep_compiled_templates()


def bake(output_dir: Path | None = None, **answers) -> BakedProject:
    """Bake with these answers on top of the defaults (cached unless output_dir is given)."""
    if output_dir is not None:
        return _bake(Path(output_dir), answers)
    return _cached_bake(json.dumps(answers, sort_keys=True))


@functools.cache
def _cached_bake(answers_json: str) -> BakedProject:
    answers = json.loads(answers_json)
    output_dir = Path(tempfile.mkdtemp(dir=bake_root()))
    return _bake(output_dir, answers)


def _bake(output_dir: Path, answers: dict) -> BakedProject:
    output_dir.mkdir(parents=True, exist_ok=True)
    path = Path(
        cookiecutter(
            str(TEMPLATE_ROOT),
            no_input=True,
            extra_context=answers,
            output_dir=str(output_dir),
            accept_hooks=True,
        )
    )
    context = json.loads((path / ".cookiecutter-answers.json").read_text())
    return BakedProject(path=path, context=context)
