"""The email written directly (``wire_email``) is the email the email package builds
(``build_email``): parsed back, the same headers, MIME shape and content, for any text."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.channels.email_message import (
    EmailSender,
    build_email,
    email_bytes,
    wire_email,
)
from orchestrator.channels.message import OutboundMessage

SENT_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SENDERS = [EmailSender(text) for text in (
    "The shop <hello@shop.example>", '"Doe, Jane" <jane@shop.example>',
    "Crème Shop <bonjour@shop.example>", "hello@shop.example")]

one_line = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
                   min_size=1, max_size=120).filter(lambda s: s.strip())
body = st.text(st.characters(blacklist_categories=("Cs",)), max_size=600)
local = st.from_regex(r"[a-z0-9._%+-]{1,20}", fullmatch=True)
recipient = st.one_of(st.builds("{}@example.com".format, local),
                      st.builds("{}@exämple.com".format, local))
link = st.builds("https://messages.shop.example/unsubscribe/{}".format,
                 st.from_regex(r"[A-Za-z0-9_-]{1,200}", fullmatch=True))


@st.composite
def messages(draw) -> OutboundMessage:
    text, html = draw(st.one_of(body, st.none())), draw(st.one_of(body, st.none()))
    return OutboundMessage(
        message_id=draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,60}", fullmatch=True)),
        channel="email", contact_key="C1", to_address=draw(recipient),
        subject=draw(st.one_of(st.none(), one_line)), text=text, html=html,
        unsubscribe_url=draw(st.one_of(st.none(), link)),
        sender_postal_address=draw(st.one_of(st.none(), one_line)))


def _parsed(data: bytes):
    return BytesParser(policy=policy.default).parsebytes(data)


def _shape(email) -> list[tuple]:
    """Each part: its type, charset and decoded content; headers but the MIME plumbing."""
    parts = []
    for part in email.walk():
        headers = tuple((name, str(value)) for name, value in part.items()
                        if name not in ("Content-Type", "Content-Transfer-Encoding",
                                        "MIME-Version"))
        content = None if part.is_multipart() else part.get_content()
        parts.append((part.get_content_type(), part.get_content_charset(), headers, content))
    return parts


@settings(max_examples=300, deadline=None)
@given(message=messages(), sender=st.sampled_from(SENDERS))
def test_written_directly_it_parses_as_what_the_email_package_builds(message, sender):
    written = wire_email(message, sender, SENT_AT)
    reference = email_bytes(build_email(message, sender, SENT_AT))
    assert _shape(_parsed(written)) == _shape(_parsed(reference))


@settings(max_examples=200, deadline=None)
@given(message=messages(), sender=st.sampled_from(SENDERS))
def test_it_is_seven_bit_clean_with_crlf_lines_a_relay_accepts(message, sender):
    written = wire_email(message, sender, SENT_AT)
    assert written.isascii()
    assert b"\n" not in written.replace(b"\r\n", b"")
    assert max(len(line) for line in written.split(b"\r\n")) <= 998
    assert not _parsed(written).defects


def test_the_one_click_unsubscribe_headers_are_there_unfolded():
    url = "https://messages.shop.example/unsubscribe/" + "t" * 150
    message = OutboundMessage(message_id="m1", channel="email", to_address="p@example.com",
                              subject="Hi", text="Hello", unsubscribe_url=url)
    written = wire_email(message, SENDERS[0], SENT_AT)
    assert f"List-Unsubscribe: <{url}>\r\n".encode() in written
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in written
