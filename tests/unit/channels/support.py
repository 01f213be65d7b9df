"""Helpers for the rendering tests: template folders written from a dict."""

from __future__ import annotations

from pathlib import Path


def write_templates(directory: Path, files: dict[str, str]) -> Path:
    """Write ``{"NAME/FILE": source}`` under ``directory``; returns ``directory``."""
    for relative, source in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return directory
