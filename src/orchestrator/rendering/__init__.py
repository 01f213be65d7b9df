"""Message templates: Jinja2 in a sandbox, one folder per template (SPEC "Templates")."""

from orchestrator.rendering.errors import (
    ContactDataRefused,
    TemplateError,
    TemplateLimitExceeded,
    TemplateNotFound,
    TemplateRenderFailed,
    TemplateSyntaxInvalid,
    TemplateUnsafe,
    TemplateVariableMissing,
)
from orchestrator.rendering.limits import RenderLimits
from orchestrator.rendering.renderer import PUBLIC_CONTEXT_NAMES, RenderedMessage, TemplateRenderer

__all__ = [
    "PUBLIC_CONTEXT_NAMES",
    "ContactDataRefused",
    "RenderLimits",
    "RenderedMessage",
    "TemplateError",
    "TemplateLimitExceeded",
    "TemplateNotFound",
    "TemplateRenderFailed",
    "TemplateRenderer",
    "TemplateSyntaxInvalid",
    "TemplateUnsafe",
    "TemplateVariableMissing",
]
