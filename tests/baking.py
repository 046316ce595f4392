"""Bake the template in-process and look at the result.

`bake(**answers)` runs cookiecutter with `--no-input` semantics and returns a `BakedProject`.
Bakes are cached by their answers, so the 144-combination matrix and the focused tests that
reuse a combination share one bake each.
"""

from __future__ import annotations

import functools
import itertools
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from cookiecutter.main import cookiecutter

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = TEMPLATE_ROOT.parent / "shared"
DEFAULTS = json.loads((TEMPLATE_ROOT / "cookiecutter.json").read_text())

OPTION_AXES = {
    "deployment_pattern": ["deploy_code", "deploy_model", "hybrid"],
    "cloud": ["azure", "aws", "gcp"],
    "cicd_platform": ["github_actions", "azure_devops", "gitlab", "none"],
    "compute": ["serverless", "classic"],
    "include_monitoring": [True, False],
}
PATTERNS = OPTION_AXES["deployment_pattern"]
TARGETS = ("dev", "test", "staging", "prod")


def all_combinations() -> list[dict]:
    names = list(OPTION_AXES)
    return [
        dict(zip(names, values, strict=True)) for values in itertools.product(*OPTION_AXES.values())
    ]


def combination_id(options: dict) -> str:
    return "-".join(
        ("monitoring" if v else "no_monitoring") if isinstance(v, bool) else str(v)
        for v in options.values()
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
            self._yaml_cache[relative] = yaml.safe_load(self.read(relative))
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


BAKE_ROOT = Path(tempfile.mkdtemp(prefix="bakes-"))


def bake(output_dir: Path | None = None, **answers) -> BakedProject:
    """Bake with these answers on top of the defaults (cached unless output_dir is given)."""
    if output_dir is not None:
        return _bake(Path(output_dir), answers)
    return _cached_bake(json.dumps(answers, sort_keys=True))


@functools.cache
def _cached_bake(answers_json: str) -> BakedProject:
    answers = json.loads(answers_json)
    output_dir = Path(tempfile.mkdtemp(dir=BAKE_ROOT))
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
