"""The account's circuit breaker counts outcomes without putting the account's hand-overs
in single file (pybreaker holds its lock for the whole wrapped call)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from orchestrator.application.sending import BREAKER_FAILURES, CircuitOpen, Sender
from orchestrator.channels.errors import PermanentRejection, TransientFailure
from orchestrator.channels.message import OutboundMessage, SendResult


class SlowProvider:
    """Answers after a pause; remembers how many hand-overs were in flight at once."""

    provider = "slow"
    name = "slow"
    max_per_second = None

    def __init__(self, account: str, fail_with: Exception | None = None):
        self.account = account
        self.fail_with = fail_with
        self.calls = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()
        self._all_started = threading.Barrier(4, timeout=5)

    def send(self, message: OutboundMessage) -> SendResult:
        with self._lock:
            self.calls += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.fail_with is None and self.calls <= 4:
                self._all_started.wait()  # four at once, or this times out
            if self.fail_with is not None:
                raise self.fail_with
            return SendResult(provider_id=f"id-{message.message_id}")
        finally:
            with self._lock:
                self.in_flight -= 1


def _message(i: int) -> OutboundMessage:
    return OutboundMessage(message_id=f"m{i}", channel="email", to_address=f"p{i}@example.com",
                           subject="Hi", text="Hello")


def test_hand_overs_of_one_account_run_side_by_side():
    provider = SlowProvider("side-by-side")
    sender = Sender(provider)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(sender.send, [_message(i) for i in range(8)]))
    assert [r.provider_id for r in results] == [f"id-m{i}" for i in range(8)]
    assert provider.most_in_flight == 4


def test_consecutive_transient_failures_open_the_circuit():
    provider = SlowProvider("failing", TransientFailure("HTTP 503", status_code=503,
                                                        retry_after=3600))
    sender = Sender(provider, sleep=lambda _: None)
    for i in range(BREAKER_FAILURES):
        with pytest.raises(TransientFailure) as raised:
            sender.send(_message(i))
        assert not isinstance(raised.value, CircuitOpen)
    with pytest.raises(CircuitOpen):
        sender.send(_message(99))
    assert provider.calls == BREAKER_FAILURES  # refused without calling the provider


def test_a_refused_message_says_nothing_about_the_providers_health():
    provider = SlowProvider("refusing", PermanentRejection("HTTP 400", status_code=400))
    sender = Sender(provider)
    for i in range(BREAKER_FAILURES + 2):
        with pytest.raises(PermanentRejection):
            sender.send(_message(i))
    assert provider.calls == BREAKER_FAILURES + 2
