"""The Starlette app of ``orchestrator serve``, built from the wired application."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from orchestrator.application.receiving import Receiving
from orchestrator.bootstrap import LINK_SECRET_ENV
from orchestrator.errors import OrchestratorError, UsageError
from orchestrator.service import health, sendgrid_events, twilio_webhooks, unsubscribe
from orchestrator.service.body_limit import BodySizeLimit
from orchestrator.service.context import Service
from orchestrator.service.metrics import CountRequests, ServiceMetrics

log = logging.getLogger(__name__)


def create_app(application: Any) -> Starlette:
    """The app; refuses (UsageError, exit 2) what cannot serve: no link secret (no
    unsubscribe link could be checked), or a SendGrid key that is not a key."""
    if application.settings.link_secret is None:
        raise UsageError(f"{LINK_SECRET_ENV} is not set; serve needs it to check "
                         "unsubscribe links (at least 32 random characters)")
    receiving = Receiving(application)
    service = Service(application, receiving, ServiceMetrics(receiving.live_status))
    routes = [*sendgrid_events.routes(service), *twilio_webhooks.routes(service),
              *unsubscribe.routes(service), *health.routes(service)]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            service.receiving.close()

    app = Starlette(
        routes=routes, lifespan=lifespan,
        middleware=[Middleware(CountRequests, metrics=service.metrics, routes=routes),
                    Middleware(BodySizeLimit)],
        exception_handlers={OrchestratorError: _unavailable})
    app.state.service = service
    return app


async def _unavailable(request: Request, error: Exception) -> Response:
    # e.g. the store cannot be opened: providers retry on 5xx. The message is already
    # free of secrets (the store redacts its URL); the client gets none of it.
    log.error("%s: %s", request.url.path, error)
    return PlainTextResponse("temporarily unavailable\n", status_code=503)
