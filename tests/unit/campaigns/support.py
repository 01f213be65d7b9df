"""Helpers for the journey language tests: a real templates folder on disk, and journey
text run through the real loader."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from orchestrator.campaigns.language.problems import JourneyInvalid, Problem
from orchestrator.campaigns.language.validation import parse_journey

# Template name -> its files, covering each channel and the incomplete cases.
TEMPLATES = {
    "thanks": ("email.subject.txt", "email.txt"),
    "bundle_offer": ("email.subject.txt", "email.html"),
    "regulars_note": ("sms.txt",),
    "weekly_spotlight": ("social.txt",),
    "reply": ("social.txt",),
    "letter": ("letter.html",),
    "subject_only": ("email.subject.txt",),
    "no_files": (),
}

FILE = "journeys/j.yaml"


def make_templates(directory: Path) -> Path:
    for name, files in TEMPLATES.items():
        (directory / name).mkdir(parents=True)
        for file in files:
            # A public template gets no contact data (refused at validation).
            who = "brand.name" if file == "social.txt" else "contact.first_name"
            (directory / name / file).write_text(f"Hello {{{{ {who} }}}}\n")
    return directory


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def journey_problems(text: str, templates_dir: Path) -> list[Problem]:
    """Every problem the loader reports for the journey ``text``."""
    with pytest.raises(JourneyInvalid) as caught:
        parse_journey(dedent(text).encode(), FILE, templates_dir)
    return list(caught.value.problems)


def only_problem(text: str, templates_dir: Path) -> str:
    """The one problem reported for ``text``, as printed."""
    problems = journey_problems(text, templates_dir)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return str(problems[0])
