"""What can go wrong when a channel sends a message.

OrchestratorError
└── ChannelError                    anything a channel adapter raises
    ├── ChannelConfigurationError   the adapter cannot work as configured (missing or bad
    │                               credentials, sender, outbox folder); fix the settings
    ├── PermanentRejection          this message will never go out as it is: sending it
    │   │                           again fails the same way; record it as failed
    │   ├── MessageInvalid          refused before any provider saw it (bad address,
    │   │                           too long, contact data on a public channel...)
    │   └── RecipientOptedOut       the provider says the recipient opted out of this
    │                               channel (Twilio 21610): a suppression, not just a failure
    └── TransientFailure            worth retrying later with the same idempotency key:
                                    timeouts, connection errors, HTTP 429 and 5xx;
                                    ``maybe_accepted`` when the provider may have taken it

Live adapters translate their vendor's exceptions into this tree at one boundary
(``raise TransientFailure(...) from exc``), so the dispatcher never sees an SDK type.
"""

from __future__ import annotations

from orchestrator.errors import OrchestratorError

__all__ = [
    "ChannelConfigurationError",
    "ChannelError",
    "MessageInvalid",
    "PermanentRejection",
    "RecipientOptedOut",
    "TransientFailure",
    "error_for_http_status",
]


class ChannelError(OrchestratorError):
    """Base of every channel error. ``retryable`` tells the dispatcher whether sending
    the same message again later may succeed."""

    retryable = False


class ChannelConfigurationError(ChannelError):
    """The adapter is misconfigured; no message can go out until the settings change."""

    exit_code = 2


class PermanentRejection(ChannelError):
    """The message was refused for good. ``status_code`` is the provider's HTTP status
    when there was one."""

    def __init__(self, reason: str, *, status_code: int | None = None,
                 provider_code: str | None = None):
        self.reason = reason
        self.status_code = status_code
        self.provider_code = provider_code
        super().__init__(reason)


class RecipientOptedOut(PermanentRejection):
    """The provider refuses because the recipient opted out of the channel (e.g. replied
    STOP to an SMS: Twilio error 21610). The dispatcher records a suppression of that
    channel for the contact, so the policy stops choosing it."""


class MessageInvalid(PermanentRejection, ValueError):
    """The message cannot be sent on this channel as built; no provider was called."""


class TransientFailure(ChannelError):
    """A failure that may clear up: retry later (with back-off) using the same
    idempotency key. ``retry_after`` is the provider's hint in seconds, if it gave one.

    ``maybe_accepted`` is True when the request may have reached the provider and been
    accepted before the failure (a read timeout, a connection dropped after the request
    was written, a 5xx after the body was sent): sending again could send twice, so the
    dispatcher treats the message as in doubt and reconciles it before any resend on a
    channel whose provider has no idempotency key (SMS)."""

    retryable = True

    def __init__(self, reason: str, *, status_code: int | None = None,
                 retry_after: float | None = None, maybe_accepted: bool = False,
                 provider_code: str | None = None):
        self.reason = reason
        self.status_code = status_code
        self.retry_after = retry_after
        self.maybe_accepted = maybe_accepted
        self.provider_code = provider_code
        super().__init__(reason)


# 408 Request Timeout and 425 Too Early say "try again", unlike the rest of the 4xx range.
_RETRYABLE_CLIENT_STATUSES = frozenset({408, 425, 429})


def error_for_http_status(status_code: int, detail: str, *,
                          retry_after: float | None = None) -> ChannelError:
    """The error for a provider's failed HTTP response: 429, 408, 425 and 5xx are
    transient; 401 and 403 mean the credentials are wrong (configuration); any other 4xx
    is a permanent rejection of this message."""
    reason = f"HTTP {status_code}: {detail}"
    if status_code in _RETRYABLE_CLIENT_STATUSES or 500 <= status_code <= 599:
        return TransientFailure(reason, status_code=status_code, retry_after=retry_after)
    if status_code in (401, 403):
        return ChannelConfigurationError(
            f"{reason} (the provider refused the credentials; check the environment)")
    return PermanentRejection(reason, status_code=status_code)
