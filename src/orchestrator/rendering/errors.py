"""What can go wrong when a message template is rendered.

OrchestratorError
└── TemplateError                  every error names the template file and, when known,
    │                              the line: ``FILE:LINE: message``
    ├── TemplateNotFound           no such template, or no file for that channel
    ├── TemplateSyntaxInvalid      the file is not valid Jinja2
    ├── TemplateVariableMissing    the template uses a variable the context lacks
    ├── TemplateUnsafe             the sandbox refused an attribute or call
    ├── TemplateRenderFailed       anything else that failed while rendering
    │   └── TemplateLimitExceeded  the render went over a limit (time, output, loop
    │                              iterations, string, list, range or integer size:
    │                              rendering.limits); also what validation reports
    │                              when a template would go over one every time
    └── ContactDataRefused         contact data was offered to (or used by) a public
                                   template; public posts never carry personal data
"""

from __future__ import annotations

from orchestrator.errors import OrchestratorError

__all__ = [
    "ContactDataRefused",
    "TemplateError",
    "TemplateLimitExceeded",
    "TemplateNotFound",
    "TemplateRenderFailed",
    "TemplateSyntaxInvalid",
    "TemplateUnsafe",
    "TemplateVariableMissing",
]


class TemplateError(OrchestratorError):
    """A template that cannot be rendered; fix the template (or the context)."""

    exit_code = 2

    def __init__(self, message: str, *, file: str, line: int | None = None):
        self.message = message
        self.file = file
        self.line = line
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")


class TemplateNotFound(TemplateError):
    pass


class TemplateSyntaxInvalid(TemplateError):
    pass


class TemplateVariableMissing(TemplateError):
    """``variable`` is the dotted name the template used, such as ``contact.first_name``."""

    def __init__(self, variable: str, *, file: str, line: int | None = None):
        self.variable = variable
        super().__init__(f"variable '{variable}' is undefined", file=file, line=line)


class TemplateUnsafe(TemplateError):
    pass


class TemplateRenderFailed(TemplateError):
    pass


class TemplateLimitExceeded(TemplateRenderFailed):
    """The template went over one of the limits of :mod:`orchestrator.rendering.limits`
    (the message names which): it is stopped, and the message fails."""


class ContactDataRefused(TemplateError):
    pass
