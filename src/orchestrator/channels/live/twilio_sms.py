"""SMS through Twilio's Messages API, with the official ``twilio`` SDK.

Twilio has no idempotency key for Messages, so a send that failed in doubt (a timeout, a
5xx, a dropped connection) must be reconciled before it is sent again:
:meth:`TwilioSmsChannel.find_accepted` lists the messages sent to that number since the
attempt and answers whether ours is among them.

Each message's status callback URL carries our message id (``?message=ID``), never the
phone number: Twilio stores and logs that URL. (The webhook must check the signature
over the URL as Twilio called it, query included.)
"""

from __future__ import annotations

import json
import logging
import re
import threading
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from orchestrator.channels.capabilities import SmsCapabilities
from orchestrator.channels.errors import (
    ChannelConfigurationError,
    ChannelError,
    MessageInvalid,
    TransientFailure,
)
from orchestrator.channels.live.http_failures import (
    WithholdingFilter,
    retry_after_seconds,
    transport_failure,
)
from orchestrator.channels.live.retry_tables import TWILIO, Transport
from orchestrator.channels.live.sent_once import SentOnce
from orchestrator.channels.message import E164, OutboundMessage, SendResult
from orchestrator.domain.sms_segments import MAX_SEGMENTS, sms_segments

__all__ = ["RedirectingTwilioHttpClient", "TwilioSmsChannel"]

logger = logging.getLogger(__name__)

# Twilio's client logs query strings (a lookup's phone numbers) at INFO; it takes a
# logger, so it gets this one, which withholds them.
_SDK_LOGGER = logging.getLogger(f"{__name__}.sdk")
WithholdingFilter.install(_SDK_LOGGER, ("Query Params:", "GET Request:"))

_ACCOUNT_SID = "AC" + "[0-9a-fA-F]" * 32
# How far reconciliation looks: past this many pages we cannot prove a message absent.
_RECONCILE_PAGE_SIZE = 50
_RECONCILE_MAX_PAGES = 4


class RedirectingTwilioHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, sending every request to ``base_url`` when one is given
    (keeping the path and query the SDK built, so every Twilio domain follows), and
    remembering each thread's last response headers (for ``Retry-After``, which the
    SDK's exception drops)."""

    def __init__(self, base_url: str | None = None, *, pool_size: int = 8, **kwargs: Any):
        super().__init__(**kwargs)
        # The SDK sizes its https pool by the CPU count (six here) and leaves http:// to
        # requests' default of ten: one kept-alive connection per concurrent hand-over.
        for scheme in ("https://", "http://"):
            self.session.mount(scheme, HTTPAdapter(pool_connections=1,
                                                   pool_maxsize=max(1, pool_size)))
        self._base = urlsplit(base_url) if base_url else None
        self._last = threading.local()

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        self._last.headers = None
        if self._base is not None:
            parts = urlsplit(url)
            url = urlunsplit((self._base.scheme, self._base.netloc, parts.path, parts.query,
                              parts.fragment))
        response = super().request(method, url, *args, **kwargs)
        self._last.headers = response.headers
        return response

    def last_headers(self) -> Any:
        return getattr(self._last, "headers", None)


class TwilioSmsChannel(SmsCapabilities):
    provider: ClassVar[str] = "twilio"
    # Ten GSM-7 segments of 153: Twilio takes 1600 characters, but past ten segments
    # carriers may not reassemble the message (the segment count is checked as well).
    max_body_length: ClassVar[int | None] = 153 * MAX_SEGMENTS

    def __init__(self, account_sid: str, auth_token: str, *, from_number: str | None = None,
                 messaging_service_sid: str | None = None, base_url: str | None = None,
                 status_callback_url: str | None = None, timeout: float = 10.0,
                 pool_size: int = 8):
        if not isinstance(account_sid, str) or not re.fullmatch(_ACCOUNT_SID, account_sid):
            raise ChannelConfigurationError(
                "TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits")
        if not auth_token or not isinstance(auth_token, str):
            raise ChannelConfigurationError("Twilio needs an auth token (TWILIO_AUTH_TOKEN)")
        if not from_number and not messaging_service_sid:
            raise ChannelConfigurationError(
                "Twilio needs a sender: TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
        if from_number and not E164.fullmatch(from_number) and not from_number.isalnum():
            raise ChannelConfigurationError(
                "TWILIO_FROM must be an E.164 number such as +447700900123 (or a sender id)")
        for name, url in (("ORCHESTRATOR_TWILIO_URL", base_url),
                          ("the status callback URL", status_callback_url)):
            if url is not None and urlsplit(url).scheme not in ("http", "https"):
                raise ChannelConfigurationError(f"{name} must be an http(s):// URL")
        if timeout <= 0:
            raise ChannelConfigurationError("the Twilio timeout must be positive")
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback_url = status_callback_url
        self._http = RedirectingTwilioHttpClient(base_url, timeout=timeout, logger=_SDK_LOGGER,
                                                 pool_size=pool_size)
        # environment={}: the SDK would otherwise read TWILIO_* (region, edge) itself.
        self._client = Client(account_sid, auth_token, http_client=self._http,
                              environment={})
        self._sent = SentOnce()

    def __repr__(self) -> str:
        return f"TwilioSmsChannel(from={self.from_number or self.messaging_service_sid!r})"

    def close(self) -> None:
        """Closes the kept-alive connections of the SDK's HTTP session."""
        if self._http.session is not None:
            self._http.session.close()

    def check_kind_specific(self, message: OutboundMessage) -> None:
        segments = sms_segments(message.text or "")
        if segments.count > MAX_SEGMENTS:
            raise MessageInvalid(
                f"sms text needs {segments.count} {segments.encoding} segments; at most "
                f"{MAX_SEGMENTS} are sent")

    def send(self, message: OutboundMessage) -> SendResult:
        self.check_message(message)
        return self._sent.send(message.message_id, lambda: self._create(message))

    def status_callback_for(self, message: OutboundMessage) -> str | None:
        """The status callback URL for ``message``: ours plus ``message=ID``."""
        if self.status_callback_url is None:
            return None
        joiner = "&" if urlsplit(self.status_callback_url).query else "?"
        return f"{self.status_callback_url}{joiner}message={quote(message.message_id, safe='')}"

    def _create(self, message: OutboundMessage) -> str:
        fields: dict[str, Any] = {"to": message.to_address, "body": message.text}
        if self.messaging_service_sid:
            fields["messaging_service_sid"] = self.messaging_service_sid
        if self.from_number:
            fields["from_"] = self.from_number
        callback = self.status_callback_for(message)
        if callback:
            fields["status_callback"] = callback
        try:
            created = self._client.messages.create(**fields)
        except TwilioRestException as exc:
            raise self._refused(exc) from exc
        except requests.RequestException as exc:
            raise self._unanswered(exc) from exc
        logger.info("twilio accepted message %s (sid %s)", message.message_id, created.sid)
        return str(created.sid)

    def find_accepted(self, message: OutboundMessage, since: datetime) -> SendResult | None:
        """Whether Twilio took ``message`` since ``since`` (the attempt that failed in
        doubt): its result (``repeated=True``) if an outbound message to the same number
        with the same body was sent since then, None if provably none was. Raises
        :class:`TransientFailure` when it cannot tell (an error, or more messages than it
        reads). Twilio filters on the day and time a message was *sent*: ask a few
        minutes after the attempt, once anything it queued has gone out."""
        self.check_message(message)
        if since.tzinfo is None:
            raise ValueError("since must be an aware datetime")
        try:
            page = self._client.messages.page(to=message.to_address, date_sent_after=since,
                                              page_size=_RECONCILE_PAGE_SIZE)
            for _ in range(_RECONCILE_MAX_PAGES):
                for record in page:
                    if (record.body == message.text
                            and str(record.direction or "").startswith("outbound")):
                        found = str(record.sid)
                        self._sent.send(message.message_id, lambda sid=found: sid)
                        return SendResult(provider_id=found, repeated=True)
                page = page.next_page()
                if page is None:
                    return None
        except TwilioRestException as exc:
            raise _cannot_tell(self._refused(exc)) from exc
        except TwilioException as exc:  # a list page that is not 200 (twilio.base.page)
            raise _cannot_tell(self._refused(_rest_exception(exc))) from exc
        except requests.RequestException as exc:
            raise _cannot_tell(self._unanswered(exc)) from exc
        raise TransientFailure(
            f"twilio: more than {_RECONCILE_MAX_PAGES} pages of messages to that number "
            "since the attempt; cannot tell whether ours is one",
            maybe_accepted=True)

    def _refused(self, exc: TwilioRestException) -> ChannelError:
        status = int(exc.status)
        code = int(exc.code) if exc.code is not None else None
        # Twilio's own message may quote the phone number: only codes are repeated.
        detail = f"HTTP {status}" + (f", error {code}" if code is not None else "")
        return TWILIO.error(detail, status=status, code=code,
                            retry_after=retry_after_seconds(self._http.last_headers()))

    def _unanswered(self, exc: requests.RequestException) -> ChannelError:
        kind = transport_failure(exc) or Transport.DROPPED
        return TWILIO.error(f"no answer ({kind.value})", transport=kind)


def _rest_exception(exc: TwilioException) -> TwilioRestException:
    """The status and Twilio code of a failed page fetch, which the SDK raises as a bare
    ``TwilioException("Unable to fetch page", response)``."""
    response = exc.args[1] if len(exc.args) > 1 else None
    status = getattr(response, "status_code", 500)
    try:
        code = json.loads(getattr(response, "text", "") or "{}").get("code")
    except (ValueError, AttributeError):
        code = None
    return TwilioRestException(status, "", code=code if isinstance(code, int) else None)


def _cannot_tell(error: ChannelError) -> ChannelError:
    """Reconciling is a question, not a send: a failure to answer it is transient (try
    again later), unless the credentials are wrong."""
    if isinstance(error, ChannelConfigurationError):
        return error
    return TransientFailure(f"cannot tell whether the message was sent: {error}",
                            status_code=getattr(error, "status_code", None),
                            retry_after=getattr(error, "retry_after", None),
                            maybe_accepted=True)
