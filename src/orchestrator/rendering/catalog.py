"""Which message templates exist, and which channels each one can go out on.

Template ``NAME`` is the folder ``TEMPLATES/NAME/``; a channel can carry the message
only if its file is there (SPEC "Templates").
"""

from __future__ import annotations

import re
from pathlib import Path

from orchestrator.rendering.layout import CHANNEL_FILES, TEMPLATE_FILES

# A folder name, never a path: a journey must not reach outside the templates folder.
TEMPLATE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


class TemplateCatalog:
    """The templates under one folder, looked up on demand and remembered."""

    def __init__(self, directory: Path | str):
        self.directory = Path(directory)
        self._files: dict[str, frozenset[str] | None] = {}

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
