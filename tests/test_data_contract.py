"""The data contract: `mlops/` names no column and no domain, whatever the task.

The taxi-fare model is the example a project starts from; the machinery under `mlops/` reads
every column, rule, task and metric from the data scientist's `contract.py` and `features.py`,
so retargeting the project never means editing it. Docstrings and comments may cite the
example; code and the messages users see may not.
"""

from __future__ import annotations

import io
import re
import token
import tokenize
from pathlib import Path

import pytest

from baking import bake

# The example's domain: its table, its columns and their units.
DOMAIN_WORDS = re.compile(
    r"taxi|\btrips?\b|\btrip_|\bfares?\b|\bfare_|pickup|dropoff|\bzips?\b|_zip", re.IGNORECASE
)
# The builtin is not a zip code.
ALLOWED_NAMES = {"zip"}
# Python 3.12 splits f-strings into parts; 3.11 reads one STRING token.
STRING_TOKENS = {token.STRING, getattr(token, "FSTRING_MIDDLE", token.STRING)}


def code_words(source: str) -> list[tuple[int, str]]:
    """(line, text) of each name and string of `source` that is no docstring and no comment."""
    found = []
    previous = token.NEWLINE
    for item in tokenize.generate_tokens(io.StringIO(source).readline):
        statement_start = previous in (token.NEWLINE, token.INDENT, token.DEDENT)
        docstring = item.type == token.STRING and statement_start
        name = item.type == token.NAME and item.string not in ALLOWED_NAMES
        text = item.type in STRING_TOKENS and not docstring
        if name or text:
            found.append((item.start[0], item.string))
        if item.type not in (token.NL, token.COMMENT):
            previous = item.type
    return found


def domain_mentions(mlops: Path) -> list[str]:
    mentions = []
    for path in sorted(mlops.glob("*.py")):
        for line, text in code_words(path.read_text(encoding="utf-8")):
            if DOMAIN_WORDS.search(text):
                mentions.append(f"{path.name}:{line}: {text}")
    return mentions


@pytest.mark.parametrize("problem_type", ["regression", "classification"])
def test_mlops_names_no_column_and_no_domain(tmp_path, problem_type):
    project = bake(tmp_path, problem_type=problem_type)
    mlops = project.path / "src" / project.package / "mlops"
    assert domain_mentions(mlops) == []


def test_the_check_finds_a_domain_word_in_code_and_messages_but_not_in_docs(tmp_path):
    (tmp_path / "stage.py").write_text(
        '"""Scores taxi trips (the example)."""\n'
        "# the fare of a trip\n"
        "rows = zip([1], [2])\n"
        'message = f"scored {rows} trips"\n'
        "pickup_hour = 1\n",
        encoding="utf-8",
    )
    mentions = domain_mentions(tmp_path)
    assert [mention.split(":")[1] for mention in mentions] == ["4", "5"]
    assert "trips" in mentions[0] and mentions[1] == "stage.py:5: pickup_hour"
