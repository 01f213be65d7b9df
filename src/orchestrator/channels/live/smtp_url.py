"""The SMTP server URL, ``smtp://user:pass@host:port`` or ``smtps://...``, parsed once.

The password lives in one private field: the parsed server's ``repr``, its redacted URL
(for the ``run`` banner) and every error message leave it out, so neither a log line nor
a traceback can show it. A bad URL is never echoed back, not even in part, because the
part that is wrong may be the password (an unencoded ``/`` or ``#`` in it splits the URL
in the wrong place).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from orchestrator.channels.errors import ChannelConfigurationError

__all__ = ["DEFAULT_PORTS", "SmtpServer"]

# Submission with STARTTLS (RFC 6409) and submission over implicit TLS (RFC 8314).
DEFAULT_PORTS = {"smtp": 587, "smtps": 465}

_EXPECTED = ("expected smtp://user:pass@host:port (STARTTLS) or smtps://user:pass@host:port "
             "(implicit TLS), with the user and password percent-encoded "
             "(ORCHESTRATOR_SMTP_URL)")


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to reach the SMTP server. ``implicit_tls`` for ``smtps://``; for
    ``smtp://`` the adapter upgrades with STARTTLS (see ``plaintext_allowed``)."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        if not isinstance(url, str) or not url.isascii() or any(
                ch.isspace() for ch in url):
            raise ChannelConfigurationError(f"the SMTP URL is not a URL: {_EXPECTED}")
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise ChannelConfigurationError(f"the SMTP URL has an unknown scheme: {_EXPECTED}")
        if not parts.hostname:
            raise ChannelConfigurationError(f"the SMTP URL names no host: {_EXPECTED}")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ChannelConfigurationError(
                f"the SMTP URL has a path, query or fragment (a password holding / ? or # "
                f"must be percent-encoded): {_EXPECTED}")
        try:
            port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError:
            raise ChannelConfigurationError(
                f"the SMTP URL's port is not a number from 1 to 65535: {_EXPECTED}") from None
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        if (username is None) != (password is None):
            raise ChannelConfigurationError(
                f"the SMTP URL needs both a user and a password, or neither: {_EXPECTED}")
        return cls(scheme=scheme, host=parts.hostname, port=port, username=username,
                   password=password)

    @property
    def implicit_tls(self) -> bool:
        return self.scheme == "smtps"

    @property
    def plaintext_allowed(self) -> bool:
        """Whether ``smtp://`` may go on unencrypted when the server offers no STARTTLS:
        only to this machine (a local relay such as Postfix on 127.0.0.1), where nothing
        travels over a network. Anywhere else credentials and letters would cross it in
        the clear, so the adapter refuses."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:  # a host name other than localhost: it may resolve anywhere
            return False

    @property
    def redacted_url(self) -> str:
        """The URL without the password, e.g. ``smtp://user:***@host:587``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        credentials = f"{self.username}:***@" if self.username is not None else ""
        return f"{self.scheme}://{credentials}{host}:{self.port}"
