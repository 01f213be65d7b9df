"""Templates pinned with a journey version (SPEC "Journeys: YAML"): ``journeys publish``
reads every file of every template folder the journey uses, and every file those
templates include or import, and stores their text with the version. A message of that
version renders from this text, never from what the folder holds today.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import jinja2
from jinja2 import BaseLoader, Environment, meta

from orchestrator.rendering.environment import ConfinedLoader
from orchestrator.rendering.layout import TEMPLATE_FILES

__all__ = ["PinnedLoader", "pin_templates", "templates_digest", "version_digest"]


def pin_templates(directory: str | Path, names: Iterable[str]) -> dict[str, str]:
    """``NAME/FILE`` -> text for every file of the templates ``names`` under ``directory``
    and every file they include, import or extend (found in their syntax trees)."""
    root = Path(directory)
    loader = ConfinedLoader(root)
    environment = Environment(loader=loader)
    pinned: dict[str, str] = {}
    pending = [f"{name}/{file}" for name in sorted(set(names)) for file in TEMPLATE_FILES
               if (root / name / file).is_file()]
    while pending:
        file = pending.pop()
        if file in pinned:
            continue
        try:
            source, _, _ = loader.get_source(environment, file)
        except jinja2.TemplateNotFound:
            continue  # validation names it; nothing to pin
        pinned[file] = source
        try:
            referenced = meta.find_referenced_templates(environment.parse(source))
        except jinja2.TemplateSyntaxError:
            continue
        pending.extend(name for name in referenced if name and name not in pinned)
    return dict(sorted(pinned.items()))


def templates_digest(templates: Mapping[str, str]) -> str:
    combined = hashlib.sha256()
    for file, source in sorted(templates.items()):
        combined.update(hashlib.sha256(f"{file}\0{source}".encode()).hexdigest().encode())
    return combined.hexdigest()


def version_digest(source_digest: str, templates: Mapping[str, str]) -> str:
    """What identifies a version: the journey file and the templates pinned with it."""
    if not templates:
        return source_digest
    return hashlib.sha256(
        f"{source_digest}\0{templates_digest(templates)}".encode()).hexdigest()


class PinnedLoader(BaseLoader):
    """Serves the pinned text of a version; a template it does not hold does not exist.
    File names look like the folder's (``DIR/NAME/FILE``), so errors read the same."""

    def __init__(self, root: Path, templates: Mapping[str, str]):
        self.root = root
        self.templates = dict(templates)
        self.served: set[str] = set()

    def has(self, template: str) -> bool:
        return template in self.templates

    def get_source(self, environment: Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        source = self.templates.get(template)
        if source is None:
            raise jinja2.TemplateNotFound(template)
        filename = str(self.root.joinpath(*template.split("/")))
        self.served.add(filename)
        return source, filename, lambda: True
