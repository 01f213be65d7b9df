"""Rendering a message template for one channel.

The context a template sees (the dispatcher builds it):

- ``contact``: the recipient (``first_name``, ``email``, ``locale``, ``address``...), or
  None; private templates only;
- ``brand``: the sender (``name``, ``postal_address``...);
- ``message``: this message (``id``, ``unsubscribe_url``...).

A public template (``social.txt``) is rendered for everyone to read, so it gets only
``brand``, ``message`` and ``journey``: offering it contact data, or writing one that
uses ``contact``, is a :class:`~orchestrator.rendering.errors.ContactDataRefused`.

Every render of a message (all its parts together) runs within the limits of
:mod:`orchestrator.rendering.limits`: a template that goes over one is stopped with a
:class:`~orchestrator.rendering.errors.TemplateLimitExceeded`, like any other failure.
"""

from __future__ import annotations

import hashlib
import os
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SecurityError

from orchestrator.rendering.catalog import TEMPLATE_NAME
from orchestrator.rendering.environment import build_environment
from orchestrator.rendering.errors import (
    ContactDataRefused,
    TemplateLimitExceeded,
    TemplateNotFound,
    TemplateRenderFailed,
    TemplateSyntaxInvalid,
    TemplateUnsafe,
    TemplateVariableMissing,
)
from orchestrator.rendering.layout import CHANNEL_LAYOUTS, PUBLIC_CHANNELS
from orchestrator.rendering.limits import (
    RenderBudget,
    RenderLimitExceeded,
    RenderLimits,
    budget_for,
)
from orchestrator.rendering.pinning import PinnedLoader
from orchestrator.rendering.static_checks import unreadable
from orchestrator.rendering.variables import MissingVariable, wrap

__all__ = ["PUBLIC_CONTEXT_NAMES", "RenderedMessage", "TemplateRenderer"]

PUBLIC_CONTEXT_NAMES = ("brand", "message", "journey")

# What a template's own mistakes can raise while it runs (a filter given the wrong type,
# a division by zero, a recursion without end...). MemoryError too: the limits are there
# so that it never happens, but if it does it is this template's doing, not the run's.
_RENDERING_FAILURES = (jinja2.TemplateError, TypeError, ValueError, ArithmeticError,
                       LookupError, AttributeError, RecursionError, MemoryError)


@dataclass(frozen=True)
class RenderedMessage:
    """A template rendered for one channel. ``template_digest`` is the SHA-256 of the
    files used (hex): which version of the template produced this message."""

    subject: str | None = None
    text: str | None = None
    html: str | None = None
    template_digest: str = ""


@dataclass(frozen=True)
class _SourceFacts:
    up_to_date: Callable[[], bool]
    digest: str
    contact_line: int | None  # first line reading ``contact``, None if it never does


class TemplateRenderer:
    """Renders the templates under ``templates_dir`` (``DIR/NAME/FILE``), each message
    within ``limits`` (by default those of :mod:`orchestrator.rendering.limits`)."""

    def __init__(self, templates_dir: str | os.PathLike[str], *,
                 limits: RenderLimits | None = None,
                 pinned: Mapping[str, str] | None = None):
        self.directory = Path(templates_dir)
        self.limits = limits or RenderLimits()
        # ``pinned``: the templates of a journey version (``NAME/FILE`` -> text); the
        # folder is then never read, and each file is compiled once.
        self._pinned = PinnedLoader(self.directory, pinned) if pinned is not None else None
        self._environment, self._loader = build_environment(self.directory, self.limits,
                                                            loader=self._pinned)
        self._facts: dict[str, _SourceFacts] = {}

    def for_version(self, journey: str | None, version: int | None) -> TemplateRenderer:
        """The renderer for messages of that journey version: this one, unless it
        pins its templates (see :class:`~orchestrator.campaigns.runtime.versions.
        VersionRenderers`)."""
        return self

    def _exists(self, name: str, file: str) -> bool:
        if self._pinned is not None:
            return self._pinned.has(f"{name}/{file}")
        return (self.directory / name / file).is_file()

    def channels(self, name: str) -> frozenset[str]:
        """The channels template ``name`` can go out on: those with a body file. Names
        follow the journey validator's rule (a folder name, never a path)."""
        if not TEMPLATE_NAME.fullmatch(name) or (
                self._pinned is None and not (self.directory / name).is_dir()):
            return frozenset()
        return frozenset(
            channel for channel, layout in CHANNEL_LAYOUTS.items()
            if any(self._exists(name, file) for file in layout.body_files)
        )

    def render(self, name: str, channel: str, context: Mapping[str, Any]) -> RenderedMessage:
        """Template ``name`` rendered for ``channel`` with ``context``. Raises a
        :class:`~orchestrator.rendering.errors.TemplateError` naming the file and line."""
        files = self._files(name, channel)
        if channel in PUBLIC_CHANNELS:
            values = self._public_context(files, context)
            for file in files.values():
                self._refuse_contact_use(file)
        else:
            values = dict(context)
        with budget_for(self.limits) as budget:
            rendered = {part: self._render_file(file, values, budget)
                        for part, file in files.items()}
        subject = rendered.get("subject")
        text = rendered.get("text")
        if subject is not None:
            # One line: a line break in a Subject header would end the header.
            subject = " ".join(subject.split()) or None
        if text is not None and channel in ("sms", "social"):
            text = text.strip()  # counted against a length limit; edges are noise
        return RenderedMessage(subject=subject, text=text, html=rendered.get("html"),
                               template_digest=self._digest(files.values()))

    def uses_contact(self, name: str, channel: str) -> bool:
        """Whether template ``name`` reads the contact's data on ``channel`` (what the
        channel policy calls "carries contact data")."""
        return any(self._source_facts(file).contact_line is not None
                   for file in self._files(name, channel).values())

    def _files(self, name: str, channel: str) -> dict[str, str]:
        """Part -> template file (``NAME/FILE``) for the parts that exist."""
        layout = CHANNEL_LAYOUTS.get(channel)
        if layout is None:
            raise TemplateNotFound(
                f"unknown channel {channel!r}: expected one of {', '.join(CHANNEL_LAYOUTS)}",
                file=str(self.directory / name))
        if channel not in self.channels(name):
            wanted = " or ".join(layout.body_files)
            raise TemplateNotFound(f"template {name!r} has no {wanted} for {channel}",
                                   file=str(self.directory / name))
        return {part: f"{name}/{file}" for part, file in layout.parts().items()
                if self._exists(name, file)}

    def _public_context(self, files: Mapping[str, str],
                        context: Mapping[str, Any]) -> dict[str, Any]:
        file = self._path(next(iter(files.values())))
        if context.get("contact") is not None:
            raise ContactDataRefused(
                "a public template gets no contact data: render it without 'contact'",
                file=file)
        others = sorted(set(context) - {"contact", *PUBLIC_CONTEXT_NAMES})
        if others:
            raise ContactDataRefused(
                f"a public template gets only {', '.join(PUBLIC_CONTEXT_NAMES)}; "
                f"refusing {', '.join(others)}, which may carry personal data", file=file)
        # Even None is left out, so `contact` is simply undefined in a public template.
        return {key: value for key, value in context.items() if key in PUBLIC_CONTEXT_NAMES}

    def _refuse_contact_use(self, file: str) -> None:
        line = self._source_facts(file).contact_line
        if line is not None:
            raise ContactDataRefused(
                "a public template must not use 'contact': public posts never carry "
                "personal data", file=self._path(file), line=line)

    def _render_file(self, file: str, values: Mapping[str, Any], budget: RenderBudget) -> str:
        template = self._template(file)
        context = {key: wrap(value, key) for key, value in values.items()}
        try:
            return _generate(template, context, budget)
        except RenderLimitExceeded as exc:
            raise TemplateLimitExceeded(f"{_builtin_name(exc)}: {exc}",
                                        **self._where(exc, file)) from None
        except SecurityError as exc:
            raise TemplateUnsafe(f"the sandbox refused it: {exc}",
                                 **self._where(exc, file)) from None
        except MissingVariable as exc:
            raise TemplateVariableMissing(exc.variable, **self._where(exc, file)) from None
        except _RENDERING_FAILURES as exc:
            raise TemplateRenderFailed(f"{type(exc).__name__}: {exc}",
                                       **self._where(exc, file)) from None

    def _template(self, file: str) -> jinja2.Template:
        try:
            return self._environment.get_template(file)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateSyntaxInvalid(exc.message or "syntax error",
                                        file=exc.filename or self._path(file),
                                        line=exc.lineno) from None
        except jinja2.TemplateNotFound:
            raise TemplateNotFound("cannot read the template file",
                                   file=self._path(file)) from None
        except (ValueError, RecursionError) as exc:  # a number too long, nesting too deep
            raise TemplateSyntaxInvalid(unreadable(exc), file=self._path(file)) from None

    def _source_facts(self, file: str) -> _SourceFacts:
        facts = self._facts.get(file)
        if facts is None or not facts.up_to_date():
            try:
                source, filename, up_to_date = self._loader.get_source(self._environment, file)
                tree = self._environment.parse(source, file, filename)
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateSyntaxInvalid(exc.message or "syntax error",
                                            file=self._path(file), line=exc.lineno) from None
            except jinja2.TemplateNotFound:
                raise TemplateNotFound("cannot read the template file",
                                       file=self._path(file)) from None
            except (ValueError, RecursionError) as exc:
                raise TemplateSyntaxInvalid(unreadable(exc), file=self._path(file)) from None
            contact_lines = [node.lineno for node in tree.find_all(nodes.Name)
                             if node.name == "contact"]
            facts = _SourceFacts(
                up_to_date=up_to_date,
                digest=hashlib.sha256(f"{file}\0{source}".encode()).hexdigest(),
                contact_line=min(contact_lines, default=None))
            self._facts[file] = facts
        return facts

    def _digest(self, files: Iterable[str]) -> str:
        combined = hashlib.sha256()
        for file in sorted(files):
            combined.update(self._source_facts(file).digest.encode())
        return combined.hexdigest()

    def _path(self, file: str) -> str:
        return str(self.directory.joinpath(*file.split("/")))

    def _where(self, exc: BaseException, file: str) -> dict[str, Any]:
        """The template file and line where ``exc`` was raised: the innermost frame of
        the traceback that belongs to a template (Jinja rewrites template frames to
        carry the template's file name and line number)."""
        where: dict[str, Any] = {"file": self._path(file), "line": None}
        trace: types.TracebackType | None = exc.__traceback__
        while trace is not None:
            filename = trace.tb_frame.f_code.co_filename
            if filename in self._loader.served:
                where = {"file": filename, "line": trace.tb_lineno}
            trace = trace.tb_next
        return where


def _generate(template: jinja2.Template, context: Mapping[str, Any], budget: RenderBudget) -> str:
    """The template rendered piece by piece, each piece counted against the output
    limit (and the clock) as it comes."""
    pieces = []
    stream = template.generate(context)
    for piece in stream:
        try:
            budget.emit(len(piece))
        except RenderLimitExceeded as exc:
            # Raised inside the template, where it stands, so the error has its line.
            stream.throw(exc)
            raise
        pieces.append(piece)
    return "".join(pieces)


def _builtin_name(exc: BaseException) -> str:
    """The built-in exception ``exc`` is a case of (OverflowError, TimeoutError), the way
    the other failures of a render are named."""
    return next(kind.__name__ for kind in type(exc).__mro__ if kind.__module__ == "builtins")

