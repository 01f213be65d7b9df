"""Use case: record what providers and recipients tell ``orchestrator serve``.

Provider feedback (delivered, bounced, opened, ...), inbound SMS and one-click
unsubscribes become touchpoints, checked and recorded exactly as ``ingest`` records them
(same validation, same idempotency by touchpoint id), in ONE transaction per call, then
the write tail. The HTTP layer (``orchestrator.service``) only verifies signatures and
translates each provider's payload into the plain records below.

A touchpoint id already recorded counts as a duplicate even when its content differs:
providers retry, and a retry of a Twilio callback or an unsubscribe is stamped with the
moment it arrived; the first report stands.

The server handles requests on many threads at once. A ``Store`` (with its key cache) is
used by one thread at a time, so each call borrows one from a small pool; two threads
recording the same touchpoint serialise on the store's writer lock and the second finds
it recorded.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select

from orchestrator.application.stores import store_of
from orchestrator.application.tail import finish_write
from orchestrator.domain import journey_events as je
from orchestrator.domain import subjects
from orchestrator.domain.vocabulary import sms_keyword
from orchestrator.ingest.service import check_touchpoint, record_touchpoints
from orchestrator.ingest.touchpoints import ValidTouchpoint
from orchestrator.projections import tables
from orchestrator.projections.runner import read_directory
from orchestrator.store import Store
from orchestrator.store.reader import stream_events

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Feedback:
    """A provider's word about one of our messages. ``message`` is our message id when the
    provider echoed it; else ``provider_id`` (the provider's id recorded at send)."""

    id: str
    type: str  # message.delivered, message.bounced, ...
    at: datetime
    message: str | None = None
    provider_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class InboundSms:
    """An SMS a person sent us. ``opt_out_type`` is the provider's own reading of it
    (Twilio Advanced Opt-Out: STOP, START, HELP), which wins over our reading of the body:
    the provider has already acted on it."""

    id: str
    at: datetime
    phone: str
    body: str
    opt_out_type: str | None = None


@dataclass(frozen=True)
class Receipt:
    """What one call recorded. ``ignored``: not about a message of ours, or not a valid
    touchpoint (logged by field name, never by value)."""

    recorded: int = 0
    duplicates: int = 0
    ignored: int = 0


class Receiving:
    """The recording side of ``serve``, for the lifetime of the server."""

    def __init__(self, app: Any):
        self.app = app
        self._stores = _StorePool(app)

    def feedback(self, items: Sequence[Feedback], *, source: str) -> Receipt:
        """Record provider feedback, all of it or none of it."""
        with self._stores.borrowed() as store:
            ours: dict[str, bool] = {}
            checked: list[ValidTouchpoint] = []
            ignored = 0
            for item in items:
                message = item.message
                if message is not None:
                    if message not in ours:
                        ours[message] = _is_our_message(store, message)
                    if not ours[message]:
                        ignored += 1
                        continue
                elif item.provider_id is not None:
                    # Without our id, the provider's id recorded at send finds the message;
                    # when it does not (yet), the fact is kept under the provider's id.
                    message = _message_sent_as(store, item.provider_id)
                touchpoint = _checked(source, {
                    "id": item.id, "type": item.type, "at": item.at.isoformat(),
                    "message": message, "provider_id": item.provider_id,
                    "reason": item.reason})
                if touchpoint is None:
                    ignored += 1
                else:
                    checked.append(touchpoint)
            return self._record(store, checked, source, ignored)

    def inbound_sms(self, sms: InboundSms, *, source: str) -> Receipt:
        touchpoint = _checked(source, {"id": sms.id, "type": "sms.inbound",
                                       "at": sms.at.isoformat(), "phone": sms.phone,
                                       "body": sms.body})
        if touchpoint is None:
            return Receipt(ignored=1)
        keyword = sms_keyword(sms.opt_out_type) if sms.opt_out_type else None
        if keyword is not None:
            touchpoint = replace(touchpoint, fields={**touchpoint.fields, "keyword": keyword})
        with self._stores.borrowed() as store:
            return self._record(store, [touchpoint], source, 0)

    def unsubscribe(self, message: str) -> Receipt | None:
        """The recipient of ``message`` unsubscribes (idempotent); None when ``message`` is
        not a message of ours, and then nothing is recorded."""
        with self._stores.borrowed() as store:
            if not _is_our_message(store, message):
                return None
            touchpoint = _checked("unsubscribe", {
                "id": f"unsubscribe:{message}", "type": "message.unsubscribed",
                "at": self.app.now().isoformat(), "message": message,
                "reason": "unsubscribe link"})
            if touchpoint is None:  # a message id we made is always a valid key
                return None
            return self._record(store, [touchpoint], "unsubscribe", 0)

    def is_our_message(self, message: str) -> bool:
        with self._stores.borrowed() as store:
            return _is_our_message(store, message)

    def store_reachable(self) -> bool:
        try:
            with self._stores.borrowed() as store:
                store.max_position()
        except Exception as error:
            log.warning("store not reachable: %s", type(error).__name__)
            return False
        return True

    def live_status(self) -> dict[str, Any]:
        """``orchestrator status``'s figures, for ``/metrics`` (read at each scrape)."""
        from orchestrator.application.status import status_of
        with self._stores.borrowed() as store:
            return status_of(store, self.app.now())

    def close(self) -> None:
        self._stores.close()

    def _record(self, store: Store, touchpoints: list[ValidTouchpoint], source: str,
                ignored: int) -> Receipt:
        if not touchpoints:
            return Receipt(ignored=ignored)
        with store.write() as unit:
            report = record_touchpoints(unit, touchpoints, recorded_at=self.app.now(),
                                        source=source, first_wins=True)
        if report.recorded:
            finish_write(self.app, store)
        return Receipt(report.recorded, report.duplicates, ignored)


def _checked(source: str, touchpoint: dict[str, Any]) -> ValidTouchpoint | None:
    checked = check_touchpoint(touchpoint)
    if isinstance(checked, list):
        # Field names only: a problem's reason may quote the value (a phone number...).
        log.warning("%s: %s ignored: invalid %s", source, touchpoint["type"],
                    ", ".join(sorted({problem.field for problem in checked})))
        return None
    return checked


def _is_our_message(store: Store, message: str) -> bool:
    """Whether the engine scheduled ``message`` in this store."""
    return any(isinstance(event, je.MessageScheduled)
               for event in stream_events(store, subjects.message_stream(message)))


def _message_sent_as(store: Store, provider_id: str) -> str | None:
    """Our message the provider knows as ``provider_id``, from the messages read model
    (every write brings it up to date)."""
    model = read_directory(store)
    if model.directory is None:
        return None
    messages = tables.messages
    with model.directory.view.engine.connect() as connection:
        return connection.execute(select(messages.c.message).where(
            messages.c.provider_id == provider_id).limit(1)).scalar()


class _StorePool:
    """Open stores kept for reuse, each lent to one request at a time: opening a store
    costs a connection pool on PostgreSQL, too much for every webhook."""

    def __init__(self, app: Any):
        self.app = app
        self._idle: queue.SimpleQueue[Store] = queue.SimpleQueue()
        self._opened: list[Store] = []
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def borrowed(self) -> Iterator[Store]:
        try:
            store = self._idle.get_nowait()
        except queue.Empty:
            store = store_of(self.app)
            with self._lock:
                self._opened.append(store)
        try:
            yield store
        finally:
            with self._lock:
                if self._closed:
                    store.close()
                else:
                    self._idle.put(store)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            opened, self._opened = self._opened, []
        for store in opened:
            store.close()
