"""Building the RFC 5322 message every email adapter sends (or, dry-run, writes).

One builder for all email adapters, so what the dry-run outbox shows is what SMTP would
transmit: From, To, Subject, Date, a Message-ID derived from the orchestrator's message
id, the RFC 8058 one-click unsubscribe headers, and a footer with the sender's postal
address and the unsubscribe link whenever the template left them out.
"""

from __future__ import annotations

import binascii
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

__all__ = ["EmailSender", "build_email", "email_bytes", "message_id_header", "wire_email"]

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
        # The From line as the email package writes it (quoted or RFC 2047 encoded as
        # needed), worked out once: wire_email repeats it for every message.
        probe = EmailMessage(policy=_BUILD_POLICY)
        probe["From"] = self.address
        self.from_line = email_bytes(probe).split(b"\r\n", 1)[0]

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


def wire_email(message: OutboundMessage, sender: EmailSender, sent_at: datetime) -> bytes:
    """The bytes of ``build_email(...)`` on the wire, written directly: the same headers,
    MIME shape and decoded content (tests/unit/channels/test_wire_email.py parses both),
    in a fraction of the time the email package takes to build and fold a message. What
    the direct writer does not cover (a recipient or link outside ASCII) goes through the
    email package."""
    to = str(message.to_address)
    unsubscribe = message.unsubscribe_url
    if not (to.isascii() and (unsubscribe is None or unsubscribe.isascii())):
        return email_bytes(build_email(message, sender, sent_at))
    lines = [sender.from_line, b"To: " + to.encode()]
    if message.subject:
        lines.append(b"Subject: " + _header_text(message.subject))
    lines.append(b"Date: " + format_datetime(sent_at).encode())
    lines.append(b"Message-ID: " + message_id_header(message.message_id,
                                                     sender.domain).encode())
    if unsubscribe:
        lines.append(b"List-Unsubscribe: <" + unsubscribe.encode() + b">")
        lines.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    lines.append(b"MIME-Version: 1.0")
    address = message.sender_postal_address or ""
    text = message.text and with_text_footer(message.text, address, unsubscribe)
    html = message.html and with_html_footer(message.html, address, unsubscribe)
    if text and html:
        # "=_" never occurs in quoted-printable text, and a 7bit part holding the
        # boundary is written quoted-printable instead.
        boundary = b"=_" + hashlib.sha256(message.message_id.encode()).hexdigest()[:32].encode()
        lines += [b'Content-Type: multipart/alternative; boundary="' + boundary + b'"', b"",
                  b"--" + boundary, *_text_part("plain", text, boundary),
                  b"--" + boundary, *_text_part("html", html, boundary),
                  b"--" + boundary + b"--", b""]
    elif text or html:
        lines += _text_part("plain" if text else "html", text or html)
    else:
        lines += [b"", b""]  # a message with no body: headers and the blank line
    return b"\r\n".join(lines)


def _header_text(value: str) -> bytes:
    """An unstructured header's value: as is when it is plain ASCII on one line, else
    RFC 2047 encoded words (folded), as the email package writes them."""
    if value.isascii() and value.isprintable() and len(value) <= 900:
        return value.encode()
    probe = EmailMessage(policy=_BUILD_POLICY)
    probe["Subject"] = value
    return email_bytes(probe).split(b"\r\n\r\n", 1)[0].removeprefix(b"Subject: ")


def _text_part(subtype: str, content: str, boundary: bytes = b"") -> list[bytes]:
    """A text part's headers, a blank line and its body with CRLF line ends: as is when it
    is ASCII in lines of at most 78 characters (7bit, as the email package chooses), else
    quoted-printable UTF-8 (lines of at most 76, trailing blanks encoded)."""
    # Lines as the email package splits them: on CR and LF only, in the encoded bytes.
    lines = content.encode("utf-8").splitlines()
    plain = b"\r\n".join(lines) + b"\r\n"
    if (plain.isascii() and max(map(len, lines), default=0) <= _BUILD_POLICY.max_line_length
            and not (boundary and boundary in plain)):
        encoding, body = b"7bit", plain
    else:
        encoding = b"quoted-printable"
        body = binascii.b2a_qp(b"\n".join(lines) + b"\n", istext=True)
        body = body.replace(b"\n", b"\r\n")
    return [b"Content-Type: text/" + subtype.encode() + b'; charset="utf-8"',
            b"Content-Transfer-Encoding: " + encoding, b"",
            # The line break before a boundary belongs to the boundary (RFC 2046), so the
            # content's own last line break is written out before it.
            body.removesuffix(b"\r\n"), b""]


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
