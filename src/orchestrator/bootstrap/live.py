"""The live adapters, built from the provider settings (SPEC "Configuration of live
channels"), and the one-line description of each that ``run`` prints at start.

Each adapter is also told how the dispatcher may use it: ``account`` (its circuit breaker
and pacing are per provider account), ``max_concurrency`` (hand-overs at once),
``idempotent`` (whether asking the provider again after a lost answer is safe) and
``max_per_second`` (pacing per sender).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from orchestrator.errors import UsageError

Clock = Callable[[], datetime]

SENDGRID_DEFAULT_URL = "https://api.sendgrid.com"
TWILIO_DEFAULT_URL = "https://api.twilio.com"
HTTP_CONCURRENCY = 16
# Provider defaults a sender may exceed only by agreement: SendGrid takes far more, Twilio
# queues a long code at about one message a second, so it paces itself; we stay polite.
SENDGRID_PER_SECOND = 1000.0
TWILIO_PER_SECOND = 100.0
MASTODON_PER_SECOND = 5.0
MASTODON_CONCURRENCY = 4
# Each may be changed by the operator (ORCHESTRATOR_SENDGRID_PER_SECOND,
# ORCHESTRATOR_TWILIO_PER_SECOND, ORCHESTRATOR_MASTODON_PER_SECOND,
# ORCHESTRATOR_HTTP_CONCURRENCY; read in bootstrap/providers.py).


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def live_channels(settings: Any, stamp: Clock) -> dict[str, Any]:
    """An adapter for each channel in force (the configured ones)."""
    providers = settings.providers
    builders = {"email": _email, "sms": _sms, "mail": _mail, "social": _social}
    return {channel: builders[channel](settings, providers, stamp)
            for channel in sorted(settings.channels_in_force)}


def describe_live(settings: Any) -> list[str]:
    """What ``run --channels live`` says it will use: provider, endpoint and sender,
    never a credential."""
    p = settings.providers
    lines = []
    for channel in sorted(settings.channels_in_force):
        if channel == "email" and p.sendgrid_api_key:
            lines.append(f"email via SendGrid at {p.sendgrid_url or SENDGRID_DEFAULT_URL}, "
                         f"from {settings.email_from}")
        elif channel == "email" and p.smtp_url:
            lines.append(f"email via SMTP at {_redacted_smtp(p.smtp_url.reveal())}, "
                         f"from {settings.email_from}")
        elif channel == "sms":
            sender = (f"from {p.twilio_from}" if p.twilio_from
                      else f"messaging service {p.twilio_messaging_service_sid}")
            lines.append(f"sms via Twilio at {p.twilio_url or TWILIO_DEFAULT_URL}, account "
                         f"{p.twilio_account_sid}, {sender}")
        elif channel == "mail":
            lines.append(f"mail as print-house batches in {p.mail_dir}")
        elif channel == "social":
            lines.append(f"social via Mastodon at {p.mastodon_base_url}")
    return lines


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def _tune(adapter: Any, *, account: str, concurrency: int, idempotent: bool,
          per_second: float | None) -> Any:
    adapter.account = account
    adapter.max_concurrency = concurrency
    adapter.idempotent = idempotent
    adapter.max_per_second = per_second
    return adapter


def _sender(settings: Any) -> Any:
    from orchestrator.channels.email_message import EmailSender
    if not settings.email_from:
        raise UsageError("ORCHESTRATOR_EMAIL_FROM: the sender address is required for email")
    return EmailSender(settings.email_from)


def _email(settings: Any, p: Any, stamp: Clock) -> Any:
    if p.sendgrid_api_key:
        from orchestrator.channels.live.sendgrid import SendGridChannel
        adapter = SendGridChannel(p.sendgrid_api_key.reveal(), _sender(settings),
                                  host=p.sendgrid_url)
        return _tune(adapter, account=_fingerprint(p.sendgrid_api_key.reveal()),
                     concurrency=_or(p.http_concurrency, HTTP_CONCURRENCY), idempotent=False,
                     per_second=_or(p.sendgrid_per_second, SENDGRID_PER_SECOND))
    from orchestrator.channels.live.smtp import SmtpChannel
    adapter = SmtpChannel(p.smtp_url.reveal(), _sender(settings), clock=stamp)
    return _tune(adapter, account=_fingerprint(p.smtp_url.reveal()), concurrency=1,
                 idempotent=False, per_second=None)


def _sms(settings: Any, p: Any, stamp: Clock) -> Any:
    from orchestrator.channels.live.twilio_sms import TwilioSmsChannel
    concurrency = _or(p.http_concurrency, HTTP_CONCURRENCY)
    adapter = TwilioSmsChannel(
        p.twilio_account_sid, p.twilio_auth_token.reveal(), from_number=p.twilio_from,
        messaging_service_sid=None if p.twilio_from else p.twilio_messaging_service_sid,
        base_url=p.twilio_url,
        status_callback_url=f"{settings.public_url}/webhooks/twilio/status",
        pool_size=concurrency)
    return _tune(adapter, account=p.twilio_account_sid, concurrency=concurrency,
                 idempotent=False,
                 per_second=_or(p.twilio_per_second, TWILIO_PER_SECOND))


def _mail(settings: Any, p: Any, stamp: Clock) -> Any:
    from orchestrator.channels.live.print_batch import PrintBatchChannel
    adapter = PrintBatchChannel(p.mail_dir, settings.postal_address, clock=stamp,
                                brand_name=settings.brand_name)
    adapter.recover()  # a manifest a crash left one letter behind is rebuilt first
    return _tune(adapter, account=f"print:{p.mail_dir}", concurrency=1, idempotent=True,
                 per_second=None)


def _social(settings: Any, p: Any, stamp: Clock) -> Any:
    from orchestrator.channels.live.mastodon import MastodonChannel
    adapter = MastodonChannel(p.mastodon_base_url, p.mastodon_access_token.reveal())
    # Mastodon honours Idempotency-Key: asking again after a lost answer is safe.
    return _tune(adapter, account=f"mastodon:{_fingerprint(p.mastodon_access_token.reveal())}",
                 concurrency=_or(p.http_concurrency, MASTODON_CONCURRENCY), idempotent=True,
                 per_second=_or(p.mastodon_per_second, MASTODON_PER_SECOND))


def mentions_reader(settings: Any) -> Any:
    """Reads the mentions of the brand's Mastodon account (the live service records them)."""
    from orchestrator.channels.live.mastodon import MastodonMentions
    p = settings.providers
    return MastodonMentions(p.mastodon_base_url, p.mastodon_access_token.reveal())


def _redacted_smtp(url: str) -> str:
    parts = urlsplit(url)
    user = f"{parts.username}:***@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{parts.hostname}{port}"


