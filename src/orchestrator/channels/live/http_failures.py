"""Reading a failed HTTP call the same way for every SDK: how far the request got, the
provider's wait hint, and keeping credentials and addresses out of what we repeat.

The SDKs use two HTTP stacks: SendGrid's python-http-client is urllib, Twilio and
Mastodon.py are requests. Both are read here so the adapters can share one answer to
"could the provider have taken this message?".
"""

from __future__ import annotations

import http.client
import logging
import urllib.error
from collections.abc import Iterable, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import urllib3.exceptions

from orchestrator.channels.live.retry_tables import Transport

__all__ = ["WithholdingFilter", "header", "retry_after_seconds", "scrub", "transport_failure"]


def transport_failure(exc: BaseException) -> Transport | None:
    """How far a request got when ``exc`` (or an exception it wraps) ended it without an
    HTTP answer; None when ``exc`` is no transport failure."""
    for cause in _chain(exc):
        kind = _transport_kind(cause)
        if kind is not None:
            return kind
    return None


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _transport_kind(exc: BaseException) -> Transport | None:
    # requests (Twilio, Mastodon.py). ConnectTimeout is also a ConnectionError: first.
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Transport.CONNECT
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return Transport.READ_TIMEOUT
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)  # urllib3 MaxRetryError wraps it
        if isinstance(reason, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
            return Transport.CONNECT
        if isinstance(reason, urllib3.exceptions.ReadTimeoutError):
            return Transport.READ_TIMEOUT
        return Transport.DROPPED  # e.g. ProtocolError("Connection aborted."): after sending
    # urllib (SendGrid): URLError wraps what failed while connecting or writing the
    # request, so the provider never had a whole request; what fails while reading the
    # answer comes through raw.
    if isinstance(exc, urllib.error.HTTPError):
        return None
    if isinstance(exc, urllib.error.URLError):
        return Transport.CONNECT
    if isinstance(exc, TimeoutError):
        return Transport.READ_TIMEOUT
    if isinstance(exc, ConnectionError | http.client.HTTPException):
        return Transport.DROPPED
    return None


def header(headers: Any, name: str) -> str | None:
    """A response header by name, case-insensitively, from any SDK's header object."""
    if headers is None:
        return None
    value = headers.get(name) if hasattr(headers, "get") else None
    if value is None and isinstance(headers, Mapping | http.client.HTTPMessage):
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return None if value is None else str(value)


def retry_after_seconds(headers: Any) -> float | None:
    """The provider's "wait this long" hint, in seconds, from ``Retry-After`` (seconds or
    an HTTP date) or ``X-RateLimit-Reset`` (a Unix time, as SendGrid sends it, or an ISO
    time, as Mastodon does). Times are measured against the response's own ``Date``, not
    our clock: the provider's clock decides when its limit resets."""
    retry_after = header(headers, "Retry-After")
    if retry_after is not None:
        seconds = _number(retry_after)
        if seconds is not None:
            return max(seconds, 0.0)
        return _until(_http_date(retry_after), headers)
    reset = header(headers, "X-RateLimit-Reset")
    if reset is None:
        return None
    epoch = _number(reset)
    if epoch is not None:
        served = _http_date(header(headers, "Date"))
        return None if served is None else max(epoch - served.timestamp(), 0.0)
    try:
        moment = datetime.fromisoformat(reset.replace("Z", "+00:00"))
    except ValueError:
        return None
    return _until(moment if moment.tzinfo else None, headers)


def _number(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


def _http_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None


def _until(moment: datetime | None, headers: Any) -> float | None:
    served = _http_date(header(headers, "Date"))
    if moment is None or served is None:
        return None
    return max((moment - served).total_seconds(), 0.0)


def scrub(text: str, *private: str | None) -> str:
    """``text`` with every occurrence of each ``private`` value (a credential, the
    recipient's address) replaced by ``***``: for provider messages we repeat."""
    for value in private:
        if value:
            text = text.replace(value, "***")
    return text


class WithholdingFilter(logging.Filter):
    """Rewrites an SDK's log records that would show a credential or an address.

    SendGrid's client logs every request's headers (the API key) and body (the
    recipient) at DEBUG; Twilio's logs query strings (the phone numbers of a lookup) at
    INFO. Neither offers a switch, so the records are rewritten as they are made: a
    record starting with one of ``prefixes`` keeps its prefix and loses the rest."""

    def __init__(self, prefixes: tuple[str, ...]):
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        for prefix in self.prefixes:
            if message.startswith(prefix):
                record.msg, record.args = f"{prefix} (withheld: may hold private data)", ()
                break
        return True

    @classmethod
    def install(cls, logger: logging.Logger, prefixes: tuple[str, ...]) -> None:
        """Add the filter to ``logger`` once, however many adapters are built."""
        if not any(isinstance(f, cls) and f.prefixes == prefixes for f in logger.filters):
            logger.addFilter(cls(prefixes))
