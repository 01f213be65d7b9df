"""Which message templates exist, and which channels each one can go out on.

Template ``NAME`` is the folder ``TEMPLATES/NAME/``; a channel can carry the message
only if its file is there (SPEC "Templates"). :meth:`TemplateCatalog.problems` tells
what can be seen wrong in a template's files before any render (its syntax, and what
would go over the render limits every time: :mod:`.static_checks`).
"""

from __future__ import annotations

import re
from pathlib import Path

from orchestrator.rendering.content_checks import content_problems
from orchestrator.rendering.environment import BoundedEnvironment, ConfinedLoader, build_environment
from orchestrator.rendering.errors import TemplateError
from orchestrator.rendering.layout import CHANNEL_FILES, TEMPLATE_FILES
from orchestrator.rendering.static_checks import template_problems

# A folder name, never a path: a journey must not reach outside the templates folder.
TEMPLATE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


class TemplateCatalog:
    """The templates under one folder, looked up on demand and remembered."""

    def __init__(self, directory: Path | str):
        self.directory = Path(directory)
        self._files: dict[str, frozenset[str] | None] = {}
        self._problems: dict[str, tuple[TemplateError, ...]] = {}
        self._environment: tuple[BoundedEnvironment, ConfinedLoader] | None = None

    def folder(self, name: str) -> Path:
        return self.directory / name

    def files(self, name: str) -> frozenset[str] | None:
        """The template files of ``name``, or None if it has no folder."""
        if name not in self._files:
            folder = self.folder(name)
            self._files[name] = (
                frozenset(file for file in TEMPLATE_FILES if (folder / file).is_file())
                if TEMPLATE_NAME.fullmatch(name) and folder.is_dir()
                else None
            )
        return self._files[name]

    def channels(self, name: str) -> frozenset[str]:
        """The channels that can carry ``name`` (email, sms, mail, social)."""
        files = self.files(name) or frozenset()
        return frozenset(
            channel for channel, needed in CHANNEL_FILES.items() if files.intersection(needed)
        )

    def problems(self, name: str) -> tuple[TemplateError, ...]:
        """What is wrong in the files of template ``name`` that every render would run
        into: syntax errors, and what would go over the render limits whatever the data
        (each names the template file and line). Only files this catalog found on disk
        are read: a subclass that answers :meth:`files` without looking (a published
        version read back, whose templates were checked when it was published) has
        nothing to check."""
        self.files(name)
        found = self._files.get(name)
        if not found:
            return ()
        if name not in self._problems:
            if self._environment is None:
                self._environment = build_environment(self.directory)
            environment, loader = self._environment
            files = [f"{name}/{file}" for file in sorted(found)]
            self._problems[name] = (*template_problems(environment, loader, files),
                                    *content_problems(environment, loader, files))
        return self._problems[name]
