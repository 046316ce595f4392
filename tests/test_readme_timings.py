"""Every duration the generated README states says which machine it was measured on.

"`make test` takes about half a minute" read as a promise, and took 132-161 s on a loaded
2-core machine. A figure is only true of the machine it was measured on: each paragraph of the
README (each line of a code block) that states a duration names that machine in the words
`benchmarks/bench_project.py` prints it ("measured on a 2-core ... machine"), or is a row of that
benchmark's table, quoted as printed.
"""

from __future__ import annotations

import re

import pytest

from baking import bake

# "23 s", "132–161 s", "2.5 minutes", "a few seconds", "half a minute", "a minute or so"; not "the
# second time" nor `trip_duration_minutes`.
NUMBER = r"\d+(?:\.\d+)?(?:\s?[–-]\s?\d+(?:\.\d+)?)?"
DURATION = re.compile(
    rf"(?<![\w.]){NUMBER}\s?(?:ms|s|sec|seconds?|min|minutes?|h|hours?)\b"
    r"|\b(?:a few|several|some|half an?|an?)\s+(?:seconds|minutes?|hours?)\b"
    r"|(?<!_)\b(?:seconds|minutes|hours)\b",
    re.IGNORECASE,
)
# bench_project.py's machine(), as the README quotes it.
MACHINE = re.compile(r"measured on an? \d+-core [^.;)]*machine", re.IGNORECASE)
# bench_project.py's print_table(): measure, value (right-aligned, 9 wide), note.
BENCHMARK_ROW = re.compile(r"^\S.*?\s{2,}\d+(?:\.\d+)? s\s{2,}\S")


def statements(markdown: str) -> list[str]:
    """Prose paragraphs (joined lines) and, inside fenced code blocks, single lines."""
    units, paragraph, in_code = [], [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
            units.append(" ".join(paragraph))
            paragraph = []
        elif in_code:
            units.append(line)
        elif line.strip():
            paragraph.append(line.strip())
        else:
            units.append(" ".join(paragraph))
            paragraph = []
    units.append(" ".join(paragraph))
    return [unit for unit in units if unit]


def unmeasured_durations(markdown: str) -> list[str]:
    return [
        unit
        for unit in statements(markdown)
        if DURATION.search(unit) and not MACHINE.search(unit) and not BENCHMARK_ROW.match(unit)
    ]


@pytest.mark.parametrize(
    "claim",
    [
        "3. `make test`: every stage (about half a\n   minute; `make test-all` adds more)",
        "make lifecycle    # the whole pipeline below, in a few seconds",
        "What it costs: a minute or so of pip at the start of each task",
        "The first run takes 23 s.",
        "It took 132–161 s here.",
    ],
)
def test_a_duration_without_its_machine_is_found(claim):
    text = f"```bash\n{claim}\n```" if claim.startswith("make ") else claim
    assert unmeasured_durations(text) == [" ".join(line.strip() for line in claim.splitlines())]


@pytest.mark.parametrize(
    "statement",
    [
        "`make test` took 132–161 s (measured on a 2-core AMD EPYC Linux machine, load 8).",
        "make test (deploy_code)       141.2 s  cpu 230.1 s; 412 passed",
        "Running the rollback twice changes nothing the second time.",
        '{"trip_duration_minutes": 11}',
    ],
)
def test_a_measured_duration_or_no_duration_passes(statement):
    assert unmeasured_durations(statement) == []


@pytest.mark.parametrize(
    "answers",
    [
        {},
        {"compute": "classic", "deployment_pattern": "deploy_model", "include_serving": True},
        {"deployment_pattern": "hybrid", "include_monitoring": False},
    ],
)
def test_every_duration_the_readme_states_names_its_machine(answers):
    readme = bake(**answers).read("README.md")
    assert unmeasured_durations(readme) == []
