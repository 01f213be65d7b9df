"""In-process memory of the messages a live adapter has sent, so that sending the same
message id again answers ``repeated=True`` without a second provider request.

This only guards one process against repeating itself (a retry loop, a duplicate in a
batch). The durable guard is the dispatcher's record of sent messages plus the
provider's idempotency key; so the memory is bounded and forgets the oldest ids.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from orchestrator.channels.message import SendResult

__all__ = ["SentOnce"]


class SentOnce:
    """Message id -> provider id of what this adapter sent, the newest ``capacity``."""

    def __init__(self, capacity: int = 100_000):
        self._capacity = capacity
        self._sent: OrderedDict[str, str] = OrderedDict()
        # Per message id being sent: its lock and how many threads hold or await it.
        self._in_flight: dict[str, tuple[threading.Lock, int]] = {}
        self._lock = threading.Lock()

    def send(self, message_id: str, send: Callable[[], str]) -> SendResult:
        """``send()`` (which returns the provider id) unless ``message_id`` was sent.
        Two threads sending the same id at once: the second waits for the first, so
        the provider is called once. Sends of different ids run in parallel."""
        with self._lock:
            lock, users = self._in_flight.get(message_id, (threading.Lock(), 0))
            self._in_flight[message_id] = (lock, users + 1)
        try:
            with lock:
                with self._lock:
                    if message_id in self._sent:
                        return SendResult(provider_id=self._sent[message_id], repeated=True)
                provider_id = send()  # raises on failure: nothing is remembered
                with self._lock:
                    self._sent[message_id] = provider_id
                    while len(self._sent) > self._capacity:
                        self._sent.popitem(last=False)
                return SendResult(provider_id=provider_id)
        finally:
            with self._lock:
                lock, users = self._in_flight[message_id]
                if users == 1:
                    del self._in_flight[message_id]
                else:
                    self._in_flight[message_id] = (lock, users - 1)
