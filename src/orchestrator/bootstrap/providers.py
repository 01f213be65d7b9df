"""The live channels' provider settings, read from the environment by the composition root
with the providers' usual variable names (SPEC "Configuration of live channels").

Credentials are held as :class:`Secret`, whose ``repr`` and ``str`` never show the value,
so a settings object printed by accident (a traceback's locals, a debug log) leaks nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from orchestrator.errors import UsageError

__all__ = ["ProviderSettings", "Secret", "read_provider_settings"]


class Secret:
    """A credential: ``reveal()`` hands the value to the one client that needs it."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class ProviderSettings:
    """What each live adapter and each webhook check needs; None where not configured."""

    sendgrid_api_key: Secret | None = None
    sendgrid_url: str | None = None
    sendgrid_webhook_public_key: str | None = None
    smtp_url: Secret | None = None  # the whole URL: it may hold the password
    twilio_account_sid: str | None = None
    twilio_auth_token: Secret | None = None
    twilio_from: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_url: str | None = None
    mastodon_base_url: str | None = None
    mastodon_access_token: Secret | None = None
    mail_dir: str | None = None
    # Pacing and hand-overs at once (None: the defaults in bootstrap/live.py).
    sendgrid_per_second: float | None = None
    twilio_per_second: float | None = None
    mastodon_per_second: float | None = None
    http_concurrency: int | None = None


def read_provider_settings(env: Mapping[str, str]) -> ProviderSettings:
    """The provider settings in ``env`` (empty values count as unset); base URLs checked."""

    def secret(name: str) -> Secret | None:
        return Secret(env[name]) if env.get(name) else None

    return ProviderSettings(
        sendgrid_api_key=secret("SENDGRID_API_KEY"),
        sendgrid_url=_base_url("ORCHESTRATOR_SENDGRID_URL", env.get("ORCHESTRATOR_SENDGRID_URL")),
        sendgrid_webhook_public_key=env.get("SENDGRID_WEBHOOK_PUBLIC_KEY") or None,
        smtp_url=_smtp_url(env.get("ORCHESTRATOR_SMTP_URL")),
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
        twilio_auth_token=secret("TWILIO_AUTH_TOKEN"),
        twilio_from=env.get("TWILIO_FROM") or None,
        twilio_messaging_service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID") or None,
        twilio_url=_base_url("ORCHESTRATOR_TWILIO_URL", env.get("ORCHESTRATOR_TWILIO_URL")),
        mastodon_base_url=_base_url("MASTODON_BASE_URL", env.get("MASTODON_BASE_URL")),
        mastodon_access_token=secret("MASTODON_ACCESS_TOKEN"),
        mail_dir=env.get("ORCHESTRATOR_MAIL_DIR") or None,
        sendgrid_per_second=_rate(env, "ORCHESTRATOR_SENDGRID_PER_SECOND"),
        twilio_per_second=_rate(env, "ORCHESTRATOR_TWILIO_PER_SECOND"),
        mastodon_per_second=_rate(env, "ORCHESTRATOR_MASTODON_PER_SECOND"),
        http_concurrency=_count(env, "ORCHESTRATOR_HTTP_CONCURRENCY"),
    )


def _rate(env: Mapping[str, str], name: str) -> float | None:
    """Messages a second to one provider account: a positive number."""
    text = env.get(name)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise UsageError(f"{name}: expected a positive number of messages a second "
                         f"such as 100, got {text!r}")
    return value


def _count(env: Mapping[str, str], name: str) -> int | None:
    """Hand-overs at once to one HTTP provider: a whole number from 1 to 256."""
    text = env.get(name)
    if not text:
        return None
    # ASCII digits only: str.isdigit() also takes '¹', which int() refuses.
    if not re.fullmatch(r"[0-9]{1,3}", text) or not 1 <= int(text) <= 256:
        raise UsageError(f"{name}: expected a whole number from 1 to 256, got {text!r}")
    return int(text)


def _base_url(name: str, text: str | None) -> str | None:
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        # Never echo it: a base URL with credentials in it would be a secret.
        raise UsageError(f"{name}: expected an http(s):// base URL such as "
                         "https://api.example.com, without credentials in it")
    return text.rstrip("/")


def _smtp_url(text: str | None) -> Secret | None:
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise UsageError("ORCHESTRATOR_SMTP_URL: expected smtp://user:pass@host:port or "
                         "smtps://user:pass@host:port")
    return Secret(text)
