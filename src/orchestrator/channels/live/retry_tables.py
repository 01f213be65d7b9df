"""What each provider's failures mean for the dispatcher: one table per provider.

A row names a condition (a transport failure, an HTTP status or status class, or the
provider's own error code) and its outcome. The adapters look their failure up here and
raise the error the row builds, so the tables *are* the behaviour, and docs/providers.md
lists the same rows. Each table carries a version: bump it whenever a row changes, so an
error recorded with "[sendgrid table 1]" can be traced to the rules that classified it.

Lookup order: the provider's error code, then the exact HTTP status, then its class
(4xx/5xx), then the transport condition. A failure no row matches is transient and in
doubt: retrying carefully is the safe default when we cannot tell what happened.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from orchestrator.channels.errors import (
    ChannelConfigurationError,
    ChannelError,
    PermanentRejection,
    RecipientOptedOut,
    TransientFailure,
)

__all__ = [
    "MASTODON",
    "SENDGRID",
    "TABLES",
    "TWILIO",
    "Outcome",
    "RetryTable",
    "Row",
    "Transport",
]


class Outcome(enum.Enum):
    RETRY = "retry"
    """Transient, and the provider certainly did not take the message: resend freely."""
    RETRY_IN_DOUBT = "retry, in doubt"
    """Transient, but the provider may have taken it (``maybe_accepted``)."""
    REJECT = "reject"
    """Permanent: the same message fails the same way; record it as failed."""
    OPTED_OUT = "opted out"
    """Permanent, and the recipient opted out of the channel: record a suppression."""
    CONFIGURATION = "configuration"
    """The credentials or sender are wrong: nothing goes out until the settings change."""


class Transport(enum.Enum):
    """A failure with no HTTP answer, told apart by how far the request got."""

    CONNECT = "connect"
    """No connection (refused, DNS, connect timeout): the request never left."""
    READ_TIMEOUT = "read timeout"
    """The request was sent and no answer came in time: it may have been processed."""
    DROPPED = "dropped"
    """The connection closed or reset after the request was sent, before an answer."""


@dataclass(frozen=True)
class Row:
    """One rule. Exactly one of ``code``, ``status``, ``status_class`` and ``transport``
    is set; ``why`` is the reason shown in docs/providers.md."""

    outcome: Outcome
    why: str
    code: int | None = None
    status: int | None = None
    status_class: int | None = None
    transport: Transport | None = None

    @property
    def condition(self) -> str:
        if self.code is not None:
            return f"error code {self.code}"
        if self.status is not None:
            return f"HTTP {self.status}"
        if self.status_class is not None:
            return f"other HTTP {self.status_class}xx"
        assert self.transport is not None
        return self.transport.value


@dataclass(frozen=True)
class RetryTable:
    provider: str
    version: int
    rows: tuple[Row, ...]

    def lookup(self, *, status: int | None = None, code: int | None = None,
               transport: Transport | None = None) -> Row:
        """The row for a failure: by provider code, exact status, status class, transport."""
        candidates = (
            (code is not None, lambda row: row.code == code),
            (status is not None, lambda row: row.status == status),
            (status is not None, lambda row: status is not None
             and row.status_class == status // 100),
            (transport is not None, lambda row: row.transport == transport),
        )
        for applies, matches in candidates:
            if applies:
                for row in self.rows:
                    if matches(row):
                        return row
        return _UNKNOWN

    def markdown(self) -> str:
        """The table as docs/providers.md shows it (a test keeps the two the same)."""
        lines = ["| condition | outcome | why |", "|---|---|---|"]
        lines += [f"| {row.condition} | {row.outcome.value} | {row.why} |" for row in self.rows]
        return "\n".join(lines)

    def error(self, detail: str, *, status: int | None = None, code: int | None = None,
              transport: Transport | None = None,
              retry_after: float | None = None) -> ChannelError:
        """The channel error for a failure, its reason tagged with this table's version.
        ``detail`` must already be free of credentials and personal data."""
        row = self.lookup(status=status, code=code, transport=transport)
        reason = f"{self.provider}: {detail} [{self.provider} table {self.version}]"
        provider_code = None if code is None else str(code)
        if row.outcome is Outcome.CONFIGURATION:
            return ChannelConfigurationError(
                f"{reason}; the provider refused the credentials or sender, check the "
                "environment")
        if row.outcome is Outcome.OPTED_OUT:
            return RecipientOptedOut(reason, status_code=status, provider_code=provider_code)
        if row.outcome is Outcome.REJECT:
            return PermanentRejection(reason, status_code=status, provider_code=provider_code)
        return TransientFailure(reason, status_code=status, retry_after=retry_after,
                                maybe_accepted=row.outcome is Outcome.RETRY_IN_DOUBT,
                                provider_code=provider_code)


_UNKNOWN = Row(Outcome.RETRY_IN_DOUBT, "a failure no row describes: retry, reconcile first")

# Rows every table shares: how far a request got when no HTTP answer came back.
_TRANSPORT_ROWS = (
    Row(Outcome.RETRY, "no connection was made: the request never left",
        transport=Transport.CONNECT),
    Row(Outcome.RETRY_IN_DOUBT, "sent, no answer in time: the provider may have taken it",
        transport=Transport.READ_TIMEOUT),
    Row(Outcome.RETRY_IN_DOUBT, "sent, then the connection closed without an answer",
        transport=Transport.DROPPED),
)

SENDGRID = RetryTable("sendgrid", 1, (
    Row(Outcome.RETRY, "rate limited; wait for X-RateLimit-Reset / Retry-After", status=429),
    Row(Outcome.RETRY, "request timeout: the API did not take the request", status=408),
    Row(Outcome.REJECT, "the mail body is invalid", status=400),
    Row(Outcome.REJECT, "the mail is too large", status=413),
    Row(Outcome.CONFIGURATION, "the API key is missing or wrong", status=401),
    Row(Outcome.CONFIGURATION, "the API key lacks mail.send or the sender is not verified",
        status=403),
    Row(Outcome.REJECT, "any other refusal of this request", status_class=4),
    Row(Outcome.RETRY_IN_DOUBT, "server error after the body was sent: may be queued",
        status_class=5),
    *_TRANSPORT_ROWS,
))

TWILIO = RetryTable("twilio", 1, (
    Row(Outcome.RETRY, "too many requests (Twilio 20429)", code=20429),
    Row(Outcome.OPTED_OUT, "the recipient replied STOP (Twilio 21610)", code=21610),
    Row(Outcome.REJECT, "the To number is not valid (Twilio 21211)", code=21211),
    Row(Outcome.REJECT, "the number cannot receive SMS (Twilio 21614)", code=21614),
    Row(Outcome.CONFIGURATION, "authentication failed (Twilio 20003)", code=20003),
    Row(Outcome.CONFIGURATION, "the From number is not ours (Twilio 21606)", code=21606),
    Row(Outcome.RETRY, "rate limited", status=429),
    Row(Outcome.CONFIGURATION, "the account SID or auth token is wrong", status=401),
    Row(Outcome.CONFIGURATION, "the account may not do this", status=403),
    Row(Outcome.REJECT, "any other refusal of this message", status_class=4),
    Row(Outcome.RETRY_IN_DOUBT, "server error: the message may have been queued",
        status_class=5),
    *_TRANSPORT_ROWS,
))

MASTODON = RetryTable("mastodon", 1, (
    Row(Outcome.RETRY, "rate limited; wait for X-RateLimit-Reset", status=429),
    Row(Outcome.CONFIGURATION, "the access token is missing, wrong or revoked", status=401),
    Row(Outcome.CONFIGURATION, "the token lacks the write:statuses scope", status=403),
    Row(Outcome.REJECT, "the status is invalid (too long, empty...)", status=422),
    Row(Outcome.REJECT, "the status replied to does not exist (any more)", status=404),
    Row(Outcome.REJECT, "any other refusal of this status", status_class=4),
    Row(Outcome.RETRY_IN_DOUBT, "server error: the status may have been posted",
        status_class=5),
    *_TRANSPORT_ROWS,
))

TABLES = (SENDGRID, TWILIO, MASTODON)
