"""docs/journeys.md is the language reference campaign managers write from: every YAML
example in it is a complete journey that validates against the shipped templates, and
every name an expression can use, every step type and every top-level key is in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.campaigns.language.expression_rules import MEMBERS, ROOT_NAMES
from orchestrator.campaigns.language.validation import validate_files
from orchestrator.domain.vocabulary import INTENTS, STAGES, TOUCHPOINT_TYPES

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = ROOT / "docs" / "journeys.md"
TEMPLATES = ROOT / "templates"
EXAMPLE = re.compile(r"^```yaml\n(.*?)^```", re.DOTALL | re.MULTILINE)


def examples() -> list[tuple[int, str]]:
    text = REFERENCE.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in EXAMPLE.finditer(text)]


def test_the_reference_has_worked_examples():
    assert len(examples()) >= 15


@pytest.mark.parametrize(("line", "source"), examples(), ids=lambda v: str(v)[:12])
def test_every_example_validates(line, source, tmp_path):
    path = tmp_path / f"example-at-line-{line}.yaml"
    path.write_text(source, encoding="utf-8")
    journeys, problems = validate_files([path], TEMPLATES)
    assert problems == (), f"docs/journeys.md line {line}: {problems}"
    assert len(journeys) == 1


def test_every_example_has_its_own_id():
    ids = [re.search(r"^journey: (\S+)", source, re.MULTILINE).group(1)
           for _, source in examples()]
    assert len(ids) == len(set(ids))


def test_every_expression_name_step_type_key_and_word_list_is_documented():
    text = REFERENCE.read_text(encoding="utf-8")
    for root in ROOT_NAMES:
        for member in MEMBERS[root]:
            if root == "event":
                continue  # the touchpoint's own fields: the SPEC's table, named in groups
            assert f"{root}.{member}" in text, f"{root}.{member} is not in the reference"
    for step_type in ("send", "wait", "wait_until", "branch", "end"):
        assert f"### `{step_type}`" in text
    for key in ("journey", "description", "trigger", "reentry", "goal", "exit_on", "steps"):
        assert f"| `{key}` |" in text
    for word in (*INTENTS, *STAGES, *TOUCHPOINT_TYPES):
        assert f"`{word}`" in text, f"{word} is not in the reference"
