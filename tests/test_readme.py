"""The template README's claims a newcomer meets first are true: Quick start comes first, the
snapshot counts match `tests/golden.py`, `make demo` is described as it runs, and the bad-answer
example is what a run prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from baking import DEFAULTS, TEMPLATE_ROOT
from golden import SNAPSHOT_DIR, SNAPSHOTS

README = (TEMPLATE_ROOT / "README.md").read_text(encoding="utf-8")
NUMBERS = {"three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}


def test_quick_start_is_the_first_section():
    assert re.findall(r"^## (.+)$", README, re.MULTILINE)[0] == "Quick start"


def test_the_snapshot_counts_are_the_snapshots_there_are():
    counts = re.findall(
        r"(?:baked output|golden snapshots) of (\w+) (?:combinations|bakes)", README
    )
    assert len(counts) == 2, counts
    assert {NUMBERS[word] for word in counts} == {len(SNAPSHOTS)}
    assert sorted(path.name for path in SNAPSHOT_DIR.iterdir() if path.is_dir()) == sorted(
        SNAPSHOTS
    )


def test_make_demo_is_described_as_it_runs():
    row = next(line for line in README.splitlines() if line.startswith("| `make demo` |"))
    makefile = (TEMPLATE_ROOT / "Makefile").read_text(encoding="utf-8")
    demo_project = re.search(r"^DEMO_PROJECT := \$\(DEMO_DIR\)/(.+)$", makefile, re.M)[1]
    demo_dir = re.search(r"^DEMO_DIR := (.+)$", makefile, re.MULTILINE)[1]
    assert f"`{demo_dir}/{demo_project}/`" in row
    # The default pattern trains in every catalog; promotion is only what DEMO_ANSWERS shows.
    default_pattern = DEFAULTS["deployment_pattern"][0]
    assert default_pattern == "deploy_code"
    default_part, answers_part = row.split("DEMO_ANSWERS=deployment_pattern=", 1)
    assert f"`{default_pattern}`" in default_part and "promot" not in default_part
    assert answers_part.startswith("deploy_model`") and "promoted" in answers_part
    assert "$(DEMO_ANSWERS)" in makefile


def test_the_bad_answer_example_is_what_a_run_prints(tmp_path):
    block = README.split("\n$ cookiecutter --no-input <this-template> ", 1)[1].split("\n```", 1)[0]
    command, expected = block.split("\n", 1)
    answers = re.findall(r'(\w+=(?:"[^"]*"|\S+))', command)
    home = tmp_path / "home"
    result = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE_ROOT),
         "-o", str(tmp_path / "out"), *(answer.replace('"', "") for answer in answers)],
        capture_output=True, text=True, check=False, env={**os.environ, "HOME": str(home)},
    )  # fmt: skip
    assert result.returncode == 1
    printed = (result.stderr + result.stdout).replace(str(home), "/home/you")
    printed = printed.replace(str(TEMPLATE_ROOT), "<this-template>")
    printed = re.sub(r'File "[^"]*/cookiecutter/', 'File ".../cookiecutter/', printed)
    # cookiecutter's own traceback follows its installed version's line numbers.
    assert strip_line_numbers(printed.strip()) == strip_line_numbers(expected.strip())


def strip_line_numbers(text: str) -> str:
    return re.sub(r"line \d+, in", "line N, in", text)
