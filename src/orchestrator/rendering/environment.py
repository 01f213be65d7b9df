"""The Jinja2 environment message templates run in: a sandbox that reads only files
inside the templates folder, escapes HTML in ``.html`` files (never in ``.txt``) and
treats every missing variable as an error."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from jinja2 import BaseLoader, Environment, TemplateNotFound, select_autoescape
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment

from orchestrator.rendering.variables import NamedUndefined

__all__ = ["ConfinedLoader", "build_environment"]


class ConfinedLoader(BaseLoader):
    """Loads ``NAME/FILE`` (and whatever a template includes) from ``root`` only.

    Jinja's FileSystemLoader already refuses ``..``, but it follows symbolic links out
    of the folder; this loader resolves each path and refuses anything outside.
    """

    def __init__(self, root: Path):
        self.root = root
        self.served: set[str] = set()  # file names given to Jinja, to spot its frames

    def path_of(self, template: str) -> Path:
        return self.root.joinpath(*split_template_path(template))

    def get_source(self, environment: Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        path = self.path_of(template)
        try:
            resolved = path.resolve(strict=True)
            inside = resolved.is_relative_to(self.root.resolve(strict=True))
            if not inside or not resolved.is_file():
                raise TemplateNotFound(template)
            source = resolved.read_text(encoding="utf-8")
            modified = os.stat(resolved).st_mtime_ns
        except (OSError, UnicodeDecodeError, RuntimeError):
            raise TemplateNotFound(template) from None
        filename = str(path)
        self.served.add(filename)

        def up_to_date() -> bool:
            try:
                return os.stat(resolved).st_mtime_ns == modified
            except OSError:
                return False

        return source, filename, up_to_date


def build_environment(root: Path) -> tuple[ImmutableSandboxedEnvironment, ConfinedLoader]:
    """The environment for the templates under ``root``, and its loader."""
    loader = ConfinedLoader(root)
    # Immutable: a template has no business changing the lists and dicts it is given.
    environment = ImmutableSandboxedEnvironment(
        loader=loader,
        undefined=NamedUndefined,
        autoescape=select_autoescape(enabled_extensions=("html", "htm"),
                                     disabled_extensions=("txt",),
                                     default_for_string=False, default=False),
        # Text templates read naturally: a {% block %} line leaves no blank line behind.
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=True,
    )
    return environment, loader
