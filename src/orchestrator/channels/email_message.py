"""Building the RFC 5322 message every email adapter sends (or, dry-run, writes).

One builder for all email adapters, so what the dry-run outbox shows is what SMTP would
transmit: From, To, Subject, Date, a Message-ID derived from the orchestrator's message
id, the RFC 8058 one-click unsubscribe headers, and a footer with the sender's postal
address and the unsubscribe link whenever the template left them out.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from markupsafe import escape

from orchestrator.channels.errors import ChannelConfigurationError
from orchestrator.channels.message import EMAIL_ADDRESS, OutboundMessage

__all__ = ["EmailSender", "build_email", "email_bytes", "message_id_header"]

# 7-bit clean (quoted-printable or base64 bodies, RFC 2047 headers), so the message
# passes any relay. Bodies are encoded with 78-character lines as they are added;
# headers are written out with RFC 5322's hard limit of 998 instead, because folding a
# long List-Unsubscribe URL at 78 turns it into encoded words no client reads as a URL.
_BUILD_POLICY = policy.SMTP.clone(cte_type="7bit")
_WRITE_POLICY = _BUILD_POLICY.clone(max_line_length=998)

_DOT_ATOM = re.compile(r"[A-Za-z0-9+=_-]+(?:\.[A-Za-z0-9+=_-]+)*")


class EmailSender:
    """The From address, e.g. ``The shop <hello@shop.example>``, checked once."""

    def __init__(self, from_address: str):
        addresses: tuple[Address, ...] = ()
        if isinstance(from_address, str) and len(from_address.splitlines()) == 1:
            header = policy.default.header_factory("From", from_address)
            if not header.defects:
                addresses = header.addresses
        if len(addresses) != 1 or not EMAIL_ADDRESS.fullmatch(addresses[0].addr_spec):
            raise ChannelConfigurationError(
                f"sender {from_address!r} is not one email address such as "
                "'The shop <hello@shop.example>' (ORCHESTRATOR_EMAIL_FROM)")
        self.address = addresses[0]

    @property
    def domain(self) -> str:
        return self.address.domain


def message_id_header(message_id: str, domain: str) -> str:
    """The Message-ID for the orchestrator's ``message_id``: the id itself when it is a
    valid dot-atom (so an auditor can read it), otherwise a digest of it. The same
    message always gets the same Message-ID, which lets receivers drop duplicates."""
    local = message_id if _DOT_ATOM.fullmatch(message_id) else (
        "m" + hashlib.sha256(message_id.encode()).hexdigest()[:32])
    return f"<{local}@{domain}>"


def build_email(message: OutboundMessage, sender: EmailSender, sent_at: datetime) -> EmailMessage:
    """The email for ``message`` (checked by the email capabilities beforehand)."""
    email = EmailMessage(policy=_BUILD_POLICY)
    email["From"] = sender.address
    email["To"] = str(message.to_address)
    if message.subject:
        email["Subject"] = message.subject
    email["Date"] = format_datetime(sent_at)
    email["Message-ID"] = message_id_header(message.message_id, sender.domain)
    if message.unsubscribe_url:
        # RFC 8058: the HTTPS URI plus the POST marker make it a one-click unsubscribe.
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    address = message.sender_postal_address or ""
    text = message.text and with_text_footer(message.text, address, message.unsubscribe_url)
    html = message.html and with_html_footer(message.html, address, message.unsubscribe_url)
    if text:
        email.set_content(text)
        if html:
            email.add_alternative(html, subtype="html")
    elif html:
        email.set_content(html, subtype="html")
    return email


def email_bytes(email: EmailMessage) -> bytes:
    """The message as it goes on the wire (CRLF line ends)."""
    return email.as_bytes(policy=_WRITE_POLICY)


def with_text_footer(text: str, postal_address: str, unsubscribe_url: str | None) -> str:
    """``text`` with the postal address and unsubscribe link added below a signature
    separator, each only if the template did not already include it."""
    missing = []
    if postal_address and not _contains(text, postal_address):
        missing.append(postal_address)
    if unsubscribe_url and unsubscribe_url not in text:
        missing.append(f"Unsubscribe: {unsubscribe_url}")
    if not missing:
        return text
    return text.rstrip("\n") + "\n\n-- \n" + "\n".join(missing) + "\n"


def with_html_footer(html: str, postal_address: str, unsubscribe_url: str | None) -> str:
    """``html`` with the postal address and unsubscribe link added before ``</body>`` (or
    at the end), each only if the template did not already include it."""
    missing = []
    if postal_address and not (_contains(html, postal_address)
                               or _contains(html, str(escape(postal_address)))):
        missing.append(str(escape(postal_address)))
    if unsubscribe_url and not (unsubscribe_url in html or str(escape(unsubscribe_url)) in html):
        missing.append(f'<a href="{escape(unsubscribe_url)}">Unsubscribe</a>')
    if not missing:
        return html
    footer = '<p class="footer">' + "<br>\n".join(missing) + "</p>\n"
    body_end = html.lower().rfind("</body>")
    if body_end == -1:
        return html.rstrip("\n") + "\n" + footer
    return html[:body_end] + footer + html[body_end:]


def _contains(haystack: str, needle: str) -> bool:
    # Templates may wrap or indent the address differently; compare words, not layout.
    return " ".join(needle.split()) in " ".join(haystack.split())
