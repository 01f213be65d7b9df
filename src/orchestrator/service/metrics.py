"""Prometheus metrics, in a registry of each app's own (two apps in one process, as in
tests, never share counters), and the middleware that counts every request."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator.application.receiving import Receipt

log = logging.getLogger(__name__)


class ServiceMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, live_status: Callable[[], dict[str, Any]] | None = None) -> None:
        self.registry = CollectorRegistry()
        if live_status is not None:
            self.registry.register(LiveServiceCollector(live_status))
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


class LiveServiceCollector(Collector):
    """The figures of ``orchestrator status``, read from the store at each scrape (never
    cached: a scrape shows the service as it is). A store that cannot be read makes
    ``orchestrator_live_status_up`` 0 and the other gauges absent, never a failed scrape."""

    def __init__(self, live_status: Callable[[], dict[str, Any]]):
        self.live_status = live_status

    def describe(self) -> list[Any]:
        return []  # computed at scrape time; nothing to check at registration

    def collect(self) -> Iterator[Any]:
        up = GaugeMetricFamily("orchestrator_live_status_up",
                               "1 when the live service's figures could be read")
        try:
            status = self.live_status()
        except Exception as error:
            log.warning("live status not readable: %s", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield _gauge("orchestrator_log_head", "Position of the newest recorded event",
                     status["head"])
        yield _gauge("orchestrator_leader", "1 when a scheduler leads and beats, else 0",
                     1 if status["leader"] else 0)
        workers = GaugeMetricFamily("orchestrator_workers", "Worker processes by state "
                                    "(running, stopping, stopped, gone)", labels=["state"])
        states: dict[str, int] = {"running": 0, "stopping": 0, "stopped": 0, "gone": 0}
        for worker in status["workers"]:
            states[worker["state"]] = states.get(worker["state"], 0) + 1
        for state, count in sorted(states.items()):
            workers.add_metric([state], count)
        yield workers
        done = GaugeMetricFamily("orchestrator_worker_messages", "What each worker alive "
                                 "has done since it started (its last beat)",
                                 labels=["worker", "kind"])
        for worker in status["workers"]:
            if worker["state"] in ("running", "stopping"):
                for kind in ("sent", "failed", "in_flight", "claimed"):
                    if kind in worker["detail"]:
                        done.add_metric([worker["member"], kind], worker["detail"][kind])
        yield done
        lag = GaugeMetricFamily("orchestrator_consumer_lag_events", "Events recorded after "
                                "each consumer's position (read model: its tracking; "
                                "engine: its high-water mark)", labels=["consumer"])
        for consumer, figures in sorted(status["lag"].items()):
            if figures["behind"] is not None:
                lag.add_metric([consumer], figures["behind"])
        yield lag
        for key, name, text in (
                ("due", "orchestrator_messages_due", "Chosen, unsent messages due now"),
                ("in_flight", "orchestrator_messages_in_flight",
                 "Messages claimed or taken by a worker, outcome not yet recorded"),
                ("in_doubt", "orchestrator_messages_in_doubt",
                 "Messages whose claim lapsed without an outcome (or left for a person)"),
                ("retry_later", "orchestrator_messages_retry_later",
                 "Messages waiting for a provider's retry time"),
                ("held", "orchestrator_messages_held",
                 "Chosen messages of a paused or archived journey"),
                ("dead_letters", "orchestrator_dead_letters",
                 "Messages dead-lettered after every attempt failed")):
            if status[key] is not None:
                yield _gauge(name, text, status[key])


def _gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, text)
    gauge.add_metric([], value)
    return gauge
