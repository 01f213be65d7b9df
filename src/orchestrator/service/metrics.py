"""Prometheus metrics, in a registry of each app's own (two apps in one process, as in
tests, never share counters), and the middleware that counts every request."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator.application.receiving import Receipt


class ServiceMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "orchestrator_http_requests", "HTTP requests by route and response status",
            ["route", "outcome"], registry=self.registry)
        self.events = Counter(
            "orchestrator_received_events", "Provider events, inbound SMS and unsubscribes, "
            "by what became of them (recorded, duplicate, ignored)", ["source", "outcome"],
            registry=self.registry)
        self.signature_failures = Counter(
            "orchestrator_webhook_signature_failures", "Webhooks refused with 403, by why "
            "(missing, invalid, stale)", ["provider", "reason"], registry=self.registry)

    def received(self, source: str, receipt: Receipt, *, ignored_before: int = 0) -> None:
        """Count a receipt; ``ignored_before``: items dropped before the use case saw
        them (an event kind we do not record, an event without our message key)."""
        for outcome, count in (("recorded", receipt.recorded),
                               ("duplicate", receipt.duplicates),
                               ("ignored", receipt.ignored + ignored_before)):
            if count:
                self.events.labels(source, outcome).inc(count)

    def refused(self, provider: str, reason: str) -> None:
        self.signature_failures.labels(provider, reason).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class CountRequests:
    """Counts each request under its route's template (``/unsubscribe/{token}``, never
    the token itself) and the status it got; ``unmatched`` for paths we do not serve."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, routes: list[Any]):
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            self.metrics.requests.labels(self._route(scope), str(status)).inc()

    def _route(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                return route.path
        return "unmatched"
