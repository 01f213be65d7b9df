"""Email through SendGrid's v3 Mail Send API, with the official ``sendgrid`` SDK.

The mail carries what the dry-run .eml shows: the same footers (postal address,
unsubscribe link), the RFC 8058 one-click headers, and a Message-ID derived from our
message id. Our message id also travels in ``custom_args.message``: SendGrid returns
custom args on every Event Webhook event, which is how events find their message
(SPEC "HTTP endpoint"). Nothing else goes in custom args: they are stored and echoed
by SendGrid, so they must hold no personal data.
"""

from __future__ import annotations

import http.client
import json
import logging
from typing import Any, ClassVar

import python_http_client.exceptions
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import CustomArg, From, Header, Mail, To

from orchestrator.channels.capabilities import EmailCapabilities
from orchestrator.channels.email_message import (
    EmailSender,
    message_id_header,
    with_html_footer,
    with_text_footer,
)
from orchestrator.channels.errors import ChannelConfigurationError, ChannelError
from orchestrator.channels.live.http_failures import (
    WithholdingFilter,
    header,
    retry_after_seconds,
    scrub,
    transport_failure,
)
from orchestrator.channels.live.retry_tables import SENDGRID, Transport
from orchestrator.channels.live.sent_once import SentOnce
from orchestrator.channels.message import OutboundMessage, SendResult

__all__ = ["DEFAULT_SENDGRID_HOST", "SendGridChannel"]

logger = logging.getLogger(__name__)

DEFAULT_SENDGRID_HOST = "https://api.sendgrid.com"

# python-http-client logs each request's headers (the API key) and body (the recipient)
# at DEBUG, with no switch to turn it off: those two records are withheld.
WithholdingFilter.install(logging.getLogger("python_http_client.client"),
                          ("HEADERS:", "PAYLOAD:"))


class SendGridChannel(EmailCapabilities):
    provider: ClassVar[str] = "sendgrid"

    def __init__(self, api_key: str, sender: EmailSender, *, host: str | None = None,
                 timeout: float = 10.0):
        if not api_key or not isinstance(api_key, str):
            # Never fall back to the SDK's own os.environ lookup: settings come from the
            # composition root only.
            raise ChannelConfigurationError("SendGrid needs an API key (SENDGRID_API_KEY)")
        if not isinstance(sender, EmailSender):
            raise ChannelConfigurationError(
                "SendGrid needs the sender as an EmailSender (ORCHESTRATOR_EMAIL_FROM)")
        if timeout <= 0:
            raise ChannelConfigurationError("the SendGrid timeout must be positive")
        self.sender = sender
        self.timeout = timeout
        self._api_key = api_key  # kept only to scrub it from any text we repeat
        self._client = SendGridAPIClient(api_key=api_key, host=host or DEFAULT_SENDGRID_HOST)
        self._sent = SentOnce()

    def __repr__(self) -> str:
        return f"SendGridChannel(host={self._client.host!r})"

    def send(self, message: OutboundMessage) -> SendResult:
        self.check_message(message)
        return self._sent.send(message.message_id, lambda: self._post(message))

    def _post(self, message: OutboundMessage) -> str:
        body = self._mail(message).get()
        try:
            response = self._client.client.mail.send.post(request_body=body,
                                                          timeout=self.timeout)
        except python_http_client.exceptions.HTTPError as exc:
            raise self._refused(exc, message) from exc
        except (OSError, http.client.HTTPException) as exc:
            kind = transport_failure(exc) or Transport.DROPPED
            raise SENDGRID.error(f"no answer ({kind.value})", transport=kind) from exc
        provider_id = header(response.headers, "X-Message-Id") or message.message_id
        logger.info("sendgrid accepted message %s (X-Message-Id %s)", message.message_id,
                    provider_id)
        return provider_id

    def _mail(self, message: OutboundMessage) -> Mail:
        address = message.sender_postal_address or ""
        text = message.text and with_text_footer(message.text, address, message.unsubscribe_url)
        html = message.html and with_html_footer(message.html, address, message.unsubscribe_url)
        mail = Mail(
            from_email=From(self.sender.address.addr_spec,
                            self.sender.address.display_name or None),
            to_emails=To(str(message.to_address)),
            subject=message.subject or None,
            plain_text_content=text or None,
            html_content=html or None,
        )
        # The same Message-ID on every attempt lets receivers drop a duplicate delivery.
        mail.header = Header("Message-ID",
                             message_id_header(message.message_id, self.sender.domain))
        if message.unsubscribe_url:
            mail.header = Header("List-Unsubscribe", f"<{message.unsubscribe_url}>")
            mail.header = Header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
        mail.custom_arg = CustomArg("message", message.message_id)
        return mail

    def _refused(self, exc: python_http_client.exceptions.HTTPError,
                 message: OutboundMessage) -> ChannelError:
        status = int(exc.status_code)
        detail = f"HTTP {status}"
        reasons = _error_messages(exc.body)
        if reasons:
            detail += ": " + scrub(reasons, self._api_key, str(message.to_address))[:300]
        return SENDGRID.error(detail, status=status,
                              retry_after=retry_after_seconds(exc.headers))


def _error_messages(body: Any) -> str:
    """SendGrid's ``{"errors": [{"message", "field"}]}`` as one line, or ""."""
    try:
        errors = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)["errors"]
        return "; ".join(
            f"{error.get('field')}: {error.get('message')}" if error.get("field")
            else str(error.get("message")) for error in errors)
    except (TypeError, ValueError, KeyError, AttributeError):
        return ""
