"""Message templates: Jinja2 in a sandbox, one folder per template (SPEC "Templates")."""

from orchestrator.rendering.errors import (
    ContactDataRefused,
    TemplateError,
    TemplateNotFound,
    TemplateRenderFailed,
    TemplateSyntaxInvalid,
    TemplateUnsafe,
    TemplateVariableMissing,
)
from orchestrator.rendering.renderer import PUBLIC_CONTEXT_NAMES, RenderedMessage, TemplateRenderer

__all__ = [
    "PUBLIC_CONTEXT_NAMES",
    "ContactDataRefused",
    "RenderedMessage",
    "TemplateError",
    "TemplateNotFound",
    "TemplateRenderFailed",
    "TemplateRenderer",
    "TemplateSyntaxInvalid",
    "TemplateUnsafe",
    "TemplateVariableMissing",
]
