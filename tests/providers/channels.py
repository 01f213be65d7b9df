"""The live HTTP adapters pointed at the provider mocks, with recognisable fake secrets,
and readers that turn what a mock received back into plain data."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.providers.mocks import ProviderMock

from orchestrator.channels.email_message import EmailSender
from orchestrator.channels.live.mastodon import MastodonChannel, MastodonMentions
from orchestrator.channels.live.sendgrid import SendGridChannel
from orchestrator.channels.live.twilio_sms import TwilioSmsChannel

# Fake, but shaped like the real thing where the specs check the shape; each one is
# easy to grep for in a log or a traceback.
SENDGRID_API_KEY = "SG.FAKE-SECRET-SENDGRID"
TWILIO_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TWILIO_AUTH_TOKEN = "FAKESECRETTWILIO0123456789abcdef"
TWILIO_FROM = "+15017122661"
MASTODON_ACCESS_TOKEN = "FAKE-SECRET-MASTODON-TOKEN"
SECRETS = (SENDGRID_API_KEY, TWILIO_AUTH_TOKEN, MASTODON_ACCESS_TOKEN)
EMAIL_FROM = "The shop <hello@shop.example>"
STATUS_CALLBACK_URL = "https://orchestrator.example/webhooks/twilio/status"

SENDGRID_SEND = "/v3/mail/send"
TWILIO_MESSAGES = f"/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json"
MASTODON_STATUSES = "/api/v1/statuses"
MASTODON_NOTIFICATIONS = "/api/v1/notifications"


def sendgrid_channel(mock: ProviderMock, **overrides: Any) -> SendGridChannel:
    options: dict[str, Any] = {"host": mock.url, "timeout": 5.0, **overrides}
    return SendGridChannel(SENDGRID_API_KEY, EmailSender(EMAIL_FROM), **options)


def twilio_channel(mock: ProviderMock, **overrides: Any) -> TwilioSmsChannel:
    options: dict[str, Any] = {"from_number": TWILIO_FROM, "base_url": mock.url,
                               "status_callback_url": STATUS_CALLBACK_URL, "timeout": 5.0,
                               **overrides}
    return TwilioSmsChannel(TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, **options)


def mastodon_channel(mock: ProviderMock, **overrides: Any) -> MastodonChannel:
    return MastodonChannel(mock.url, MASTODON_ACCESS_TOKEN, **{"timeout": 5.0, **overrides})


def mastodon_mentions(mock: ProviderMock) -> MastodonMentions:
    return MastodonMentions(mock.url, MASTODON_ACCESS_TOKEN, timeout=5.0)


def live_environment(mocks: Any) -> dict[str, str]:
    """The SPEC's environment variables for ``--channels live`` against the mocks
    (``mocks``: the ``provider_mocks`` fixture)."""
    return {
        "SENDGRID_API_KEY": SENDGRID_API_KEY,
        "ORCHESTRATOR_SENDGRID_URL": mocks["sendgrid"].url,
        "ORCHESTRATOR_EMAIL_FROM": EMAIL_FROM,
        "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
        "TWILIO_FROM": TWILIO_FROM,
        "ORCHESTRATOR_TWILIO_URL": mocks["twilio"].url,
        "MASTODON_BASE_URL": mocks["mastodon"].url,
        "MASTODON_ACCESS_TOKEN": MASTODON_ACCESS_TOKEN,
    }


def _unique(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Message id -> record; a message the provider received twice fails the test."""
    seen: dict[str, str] = {}
    for message_id, record in pairs:
        assert message_id not in seen, f"message {message_id} reached the provider twice"
        seen[message_id] = record
    return seen


def sent_mails(mock: ProviderMock) -> dict[str, str]:
    """Message id (from custom_args) -> the mail body SendGrid received, as JSON text."""
    return _unique([(e.json()["custom_args"]["message"], _json_text(e.json()))
                    for e in mock.requests(SENDGRID_SEND, "POST") if e.reached_provider])


def sent_sms(mock: ProviderMock) -> dict[str, str]:
    """Message id (from the status callback) -> the form Twilio received, as JSON text."""
    pairs = []
    for exchange in mock.requests(TWILIO_MESSAGES, "POST"):
        if exchange.reached_provider:
            form = exchange.form()
            pairs.append((callback_message_id(form.get("StatusCallback", "")),
                          _json_text(form)))
    return _unique(pairs)


def callback_message_id(url: str) -> str:
    """Our message id, from a status callback URL's ``message`` parameter."""
    return parse_qs(urlsplit(url).query)["message"][0]


def posted_statuses(mock: ProviderMock) -> dict[str, str]:
    """Idempotency-Key -> the JSON body Mastodon received, as text."""
    return _unique([(e.header("Idempotency-Key") or "", _json_text(e.json()))
                    for e in mock.requests(MASTODON_STATUSES, "POST") if e.reached_provider])


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
