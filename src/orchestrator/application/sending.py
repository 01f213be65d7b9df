"""One hand-over to a provider, made robust: pacing per sender, a circuit breaker per
provider account, and short retries in the process for failures that clear up quickly.

What a provider says "later" to for longer than :data:`MAX_INLINE_WAIT` goes back to the
store as a retry time (the dispatcher records it), so a worker never sleeps on a message
for minutes while others wait. Well-kept libraries do the mechanics: ``tenacity`` the
retries (capped exponential back-off with jitter, honouring ``Retry-After``),
``pybreaker`` the breakers, ``pyrate_limiter`` the pacing.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pybreaker
import tenacity
from pyrate_limiter import Duration, Limiter, Rate

from orchestrator.channels.errors import TransientFailure
from orchestrator.channels.message import OutboundMessage, SendResult

__all__ = ["BACKOFF", "CircuitOpen", "Sender", "retry_delay"]

MAX_INLINE_WAIT = 5.0  # seconds a send may wait in the process before going back to the store
INLINE_ATTEMPTS = 3
BREAKER_FAILURES = 5  # consecutive transient failures that open an account's circuit
BREAKER_RESET = 30.0  # seconds an open circuit waits before letting one send through


@dataclass(frozen=True)
class Backoff:
    """Capped exponential back-off with full jitter, between hand-overs recorded in the
    store (attempt 1 is the first retry)."""

    first: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)

    def delay(self, attempt: int, rng: random.Random | None = None) -> timedelta:
        ceiling = min(self.cap, self.first * (2 ** max(0, attempt - 1)))
        jitter = (rng or random).uniform(0.5, 1.0)
        return ceiling * jitter


BACKOFF = Backoff()


def retry_delay(error: TransientFailure, attempt: int) -> timedelta:
    """How long to leave a message before handing it over again: the provider's own
    ``Retry-After`` (or rate-limit reset) when it gave one, never less than the back-off."""
    backoff = BACKOFF.delay(attempt)
    if error.retry_after is not None:
        return max(timedelta(seconds=error.retry_after), min(backoff, timedelta(seconds=5)))
    return backoff


class CircuitOpen(TransientFailure):
    """The provider account's circuit is open: recent hand-overs kept failing, so none is
    tried until it half-opens again."""


_BREAKERS: dict[str, pybreaker.CircuitBreaker] = {}
_LIMITERS: dict[str, Limiter] = {}
_REGISTRY_LOCK = threading.Lock()


def _breaker(key: str) -> pybreaker.CircuitBreaker:
    with _REGISTRY_LOCK:
        breaker = _BREAKERS.get(key)
        if breaker is None:
            breaker = _BREAKERS[key] = pybreaker.CircuitBreaker(
                fail_max=BREAKER_FAILURES, reset_timeout=BREAKER_RESET, name=key,
                # Only "later" counts against the account: a refused message says nothing
                # about the provider's health.
                exclude=[lambda error: not isinstance(error, TransientFailure)])
        return breaker


def _limiter(key: str, per_second: float) -> Limiter:
    with _REGISTRY_LOCK:
        limiter = _LIMITERS.get(key)
        if limiter is None:
            per_minute = max(1, round(per_second * 60))
            limiter = _LIMITERS[key] = Limiter(
                [Rate(max(1, round(per_second)), Duration.SECOND),
                 Rate(per_minute, Duration.MINUTE)],
                raise_when_fail=False, max_delay=int(MAX_INLINE_WAIT * 1000))
        return limiter


def account_key(adapter: Any) -> str:
    """The provider account an adapter sends as (its breaker and pacing are shared by
    every adapter of that account in the process)."""
    account = getattr(adapter, "account", None)
    if account:
        return f"{adapter.provider}:{account}"
    # No account named (outboxes, twins): a breaker of its own, for this adapter's life.
    return f"{adapter.provider}:{adapter.name}:{id(adapter):x}"


class Sender:
    """Hands messages to one adapter: paced, behind the account's breaker, with short
    in-process retries of failures that are safe to repeat."""

    def __init__(self, adapter: Any, *, sleep: Callable[[float], None] = time.sleep):
        self.adapter = adapter
        self.key = account_key(adapter)
        self.breaker = _breaker(self.key)
        per_second = getattr(adapter, "max_per_second", None)
        self.limiter = _limiter(self.key, per_second) if per_second else None
        # A provider that honours our idempotency key (or an outbox keyed by message id)
        # can be asked again after an answer was lost; one that does not cannot.
        self.idempotent = bool(getattr(adapter, "idempotent", True))
        self._sleep = sleep

    def send(self, message: OutboundMessage) -> SendResult:
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(self._worth_retrying_now),
            stop=tenacity.stop_after_attempt(INLINE_ATTEMPTS),
            wait=_honouring_retry_after(tenacity.wait_exponential_jitter(
                multiplier=0.2, max=MAX_INLINE_WAIT, jitter=0.2)),
            sleep=self._sleep, reraise=True)
        return retrying(self._once, message)

    def _once(self, message: OutboundMessage) -> SendResult:
        if self.limiter is not None and not self.limiter.try_acquire(self.key):
            raise TransientFailure(f"{self.key}: pacing limit reached")
        if self.breaker.current_state != pybreaker.STATE_CLOSED:
            # Open: refused at once. Half-open: one trial hand-over at a time, under the
            # breaker's own lock, which is what half-open is for.
            try:
                return self.breaker.call(self.adapter.send, message)
            except pybreaker.CircuitBreakerError:
                raise self._open() from None
        # Closed: the hand-over runs outside the breaker's lock (pybreaker holds it for
        # the whole call, which would put every provider call of the account in single
        # file); only its outcome goes through the breaker's state machine.
        try:
            result = self.adapter.send(message)
        except TransientFailure as error:
            with contextlib.suppress(TransientFailure, pybreaker.CircuitBreakerError):
                self.breaker.call(_raising, error)  # counts; opens at the threshold
            raise
        if self.breaker.current_state == pybreaker.STATE_CLOSED:
            with contextlib.suppress(pybreaker.CircuitBreakerError):
                self.breaker.call(_nothing)  # a success resets the failure count
        return result

    def _open(self) -> CircuitOpen:
        return CircuitOpen(f"{self.key}: circuit open after repeated failures; "
                           f"retrying in {BREAKER_RESET:.0f} s", retry_after=BREAKER_RESET)

    def _worth_retrying_now(self, error: BaseException) -> bool:
        if not isinstance(error, TransientFailure) or isinstance(error, CircuitOpen):
            return False
        if error.maybe_accepted and not self.idempotent:
            return False  # it may have gone out: the dispatcher reconciles, never guesses
        return error.retry_after is None or error.retry_after <= MAX_INLINE_WAIT


def _raising(error: BaseException) -> None:
    raise error


def _nothing() -> None:
    return None


def _honouring_retry_after(fallback: Any) -> Callable[[tenacity.RetryCallState], float]:
    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        hinted = getattr(error, "retry_after", None)
        return max(float(hinted), 0.0) if hinted is not None else fallback(state)
    return wait
