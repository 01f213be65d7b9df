"""What ``journeys validate`` and ``publish`` check in a template's content, beyond its
syntax and the render limits (:mod:`.static_checks`):

- every top-level name a template reads is one the renderer gives it (what
  :mod:`orchestrator.application.dispatch` passes: ``contact``, ``brand``, ``message``),
  or a Jinja global, or a name the template sets itself; and an attribute of ``contact``,
  ``brand`` or ``message`` read by a constant name is one they have (what is inside
  ``contact.attributes`` or ``contact.address`` is the producer's data, not checked);
- a public template (``social.txt``) reads no ``contact`` at all;
- an SMS body (``sms.txt``) whose constant text alone is over the channel's limit (more
  than :data:`~orchestrator.domain.sms_segments.MAX_SEGMENTS` segments, or more
  characters than ten concatenated GSM-7 segments hold);
- an email subject (``email.subject.txt``) with a line break in its text.

Only the folder's own files are read (not what they include). Each problem names the
file and line (Jinja keeps no column: 1).
"""

from __future__ import annotations

from collections.abc import Iterable

import jinja2
from jinja2 import Environment, meta, nodes

from orchestrator.domain.sms_segments import MAX_SEGMENTS, sms_segments
from orchestrator.rendering.errors import ContactDataRefused, TemplateError

__all__ = ["CONTEXT_ATTRIBUTES", "content_problems"]

# What the dispatcher gives a template (private channels; a public one gets no contact).
CONTEXT_ATTRIBUTES: dict[str, frozenset[str]] = {
    "contact": frozenset({"first_name", "locale", "attributes", "email", "phone", "address"}),
    "brand": frozenset({"name", "postal_address"}),
    "message": frozenset({"id", "unsubscribe_url"}),
}
PUBLIC_FILES = frozenset({"social.txt"})
SMS_MAX_CHARACTERS = 153 * MAX_SEGMENTS


class TemplateContentInvalid(TemplateError):
    """A template's content that would fail, or break its channel, at every send."""


def content_problems(environment: Environment, loader: jinja2.BaseLoader,
                     files: Iterable[str]) -> list[TemplateError]:
    """The problems of the files ``files`` (``NAME/FILE``) of one template."""
    problems: list[TemplateError] = []
    for file in files:
        try:
            source, filename, _ = loader.get_source(environment, file)
            tree = environment.parse(source, file, filename)
        except (jinja2.TemplateError, ValueError, RecursionError):
            continue  # the syntax checks name it
        base = file.rsplit("/", 1)[-1]
        try:
            problems.extend(_names(environment, tree, filename, public=base in PUBLIC_FILES))
        except jinja2.TemplateError:
            continue  # what the compiler refuses (an unknown filter): the syntax checks
        if base == "sms.txt":
            problems.extend(_sms(tree, filename))
        if base == "email.subject.txt":
            problems.extend(_subject(tree, filename))
    return problems


def _names(environment: Environment, tree: nodes.Template, filename: str, *,
           public: bool) -> list[TemplateError]:
    problems: list[TemplateError] = []
    undeclared = meta.find_undeclared_variables(tree)
    first_line = {}
    for node in tree.find_all(nodes.Name):
        if node.ctx == "load":
            first_line.setdefault(node.name, node.lineno)
    for name in sorted(undeclared, key=lambda n: (first_line.get(n, 0), n)):
        line = first_line.get(name)
        if public and name == "contact":
            problems.append(ContactDataRefused(
                "a public template must not use 'contact': public posts never carry "
                "personal data", file=filename, line=line))
        elif name not in CONTEXT_ATTRIBUTES and name not in environment.globals:
            known = ", ".join(sorted(CONTEXT_ATTRIBUTES if not public
                                     else set(CONTEXT_ATTRIBUTES) - {"contact"}))
            problems.append(TemplateContentInvalid(
                f"unknown variable {name!r}: a template gets {known}", file=filename,
                line=line))
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = node.node
        if not isinstance(target, nodes.Name) or target.name not in undeclared:
            continue
        attribute = node.attr if isinstance(node, nodes.Getattr) else (
            node.arg.value if isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str) else None)
        known = CONTEXT_ATTRIBUTES.get(target.name)
        if attribute is None or known is None or attribute in known:
            continue
        if public and target.name == "contact":
            continue  # said once already
        problems.append(TemplateContentInvalid(
            f"unknown variable '{target.name}.{attribute}': {target.name} has "
            f"{', '.join(sorted(known))}", file=filename, line=node.lineno))
    return problems


def _constant_text(tree: nodes.Template) -> list[nodes.TemplateData]:
    return list(tree.find_all(nodes.TemplateData))


def _sms(tree: nodes.Template, filename: str) -> list[TemplateError]:
    text = "".join(data.data for data in _constant_text(tree)).strip()
    segments = sms_segments(text)
    if segments.count <= MAX_SEGMENTS and len(text) <= SMS_MAX_CHARACTERS:
        return []
    return [TemplateContentInvalid(
        f"the SMS text is {len(text)} characters, {segments.count} {segments.encoding} "
        f"segments, before any data: at most {MAX_SEGMENTS} segments "
        f"({SMS_MAX_CHARACTERS} GSM-7 characters) are sent", file=filename, line=1)]


def _subject(tree: nodes.Template, filename: str) -> list[TemplateError]:
    for data in _constant_text(tree):
        for index, character in enumerate(data.data):
            if character in "\r\n":
                return [TemplateContentInvalid(
                    "an email subject is one line: remove the line break (CR/LF)",
                    file=filename, line=data.lineno + data.data[:index].count("\n"))]
    return []
