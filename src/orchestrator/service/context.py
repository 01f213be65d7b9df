"""What every route of the service is built with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import PlainTextResponse

from orchestrator.application.receiving import Receiving
from orchestrator.service.metrics import ServiceMetrics


@dataclass(frozen=True)
class Service:
    """The wired application (settings, clock), its recording use case and its metrics."""

    application: Any
    receiving: Receiving
    metrics: ServiceMetrics

    @property
    def settings(self) -> Any:
        return self.application.settings


def not_configured(variable: str) -> PlainTextResponse:
    """A provider route whose credential is not set: 503, so the provider retries later
    (once the operator has set it) instead of dropping its events."""
    return PlainTextResponse(f"not configured: set {variable}\n", status_code=503)


def forbidden() -> PlainTextResponse:
    # The same answer whatever failed (missing, forged, stale): nothing to learn from it.
    return PlainTextResponse("invalid signature\n", status_code=403)
