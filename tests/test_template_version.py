"""The template's version is named once (cookiecutter.json), matches the newest CHANGELOG entry,
and reaches every baked project, so a bug report can say which template made it."""

from __future__ import annotations

import json
import re

from baking import DEFAULTS, TEMPLATE_ROOT, bake

VERSION = DEFAULTS["__template_version"]


def test_version_is_the_newest_changelog_entry():
    changelog = (TEMPLATE_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    # "Unreleased" collects changes until the next version is named.
    versions = [
        v for v in re.findall(r"^## (\S+)", changelog, flags=re.MULTILINE) if v != "Unreleased"
    ]
    assert versions and versions[0] == VERSION


def test_baked_project_records_the_version():
    project = bake()
    assert json.loads(project.read(".cookiecutter-answers.json"))["__template_version"] == VERSION
    assert f"version {VERSION} of its template" in project.read("README.md")
