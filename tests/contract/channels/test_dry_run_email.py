"""The dry-run email outbox: real RFC 5322 messages with RFC 8058 one-click unsubscribe."""

from __future__ import annotations

import tempfile
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from tests.contract.channels.support import (
    POSTAL_ADDRESS,
    SENT_AT,
    UNSUBSCRIBE_URL,
    fixed_clock,
    message,
    read_eml,
)

from orchestrator.channels.dry_run import DryRunEmailChannel
from orchestrator.channels.errors import ChannelConfigurationError, MessageInvalid
from orchestrator.channels.message import OutboundMessage
from orchestrator.rendering import TemplateRenderer


@pytest.fixture
def email_channel(tmp_path: Path) -> DryRunEmailChannel:
    return DryRunEmailChannel(tmp_path / "outbox", clock=fixed_clock)


def sent(channel: DryRunEmailChannel, outbound: OutboundMessage):
    channel.send(outbound)
    return read_eml(channel.path_for(outbound.message_id))


def bodies(email) -> tuple[str, str]:
    return email.get_body(("plain",)).get_content(), email.get_body(("html",)).get_content()


def test_the_file_is_named_by_the_message_id(email_channel, tmp_path):
    email_channel.send(message("email", "m-42"))
    assert [path.name for path in (tmp_path / "outbox" / "email").iterdir()] == ["m-42.eml"]


def test_headers_name_sender_recipient_subject_date_and_message_id(email_channel):
    email = sent(email_channel, message("email", "m-1"))
    assert email["From"] == "The shop <hello@shop.example>"
    assert email["To"] == "ada@example.com"
    assert email["Subject"] == "Thank you, Ada"
    assert parsedate_to_datetime(email["Date"]) == SENT_AT
    assert email["Message-ID"] == "<m-1@shop.example>"


def test_one_click_unsubscribe_headers_follow_rfc_8058(email_channel):
    email = sent(email_channel, message("email"))
    assert email["List-Unsubscribe"] == f"<{UNSUBSCRIBE_URL}>"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_long_unsubscribe_url_stays_one_readable_header(email_channel):
    url = "https://shop.example/unsubscribe/" + "a" * 300 + "?token=" + "b" * 200
    email_channel.send(message("email", unsubscribe_url=url))
    raw = email_channel.path_for("m-1").read_bytes()
    assert f"List-Unsubscribe: <{url}>\r\n".encode() in raw
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


def test_the_file_is_a_wire_format_message_with_crlf_line_ends(email_channel):
    email_channel.send(message("email"))
    raw = email_channel.path_for("m-1").read_bytes()
    assert b"\r\n\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_text_and_html_are_alternatives(email_channel):
    email = sent(email_channel, message("email"))
    assert email.get_content_type() == "multipart/alternative"
    text, html = bodies(email)
    assert "Hello Ada, thanks for your order." in text
    assert "<p>Hello Ada, thanks for your order.</p>" in html


def test_postal_address_and_unsubscribe_link_are_added_when_the_template_lacks_them(
        email_channel):
    text, html = bodies(sent(email_channel, message("email")))
    assert POSTAL_ADDRESS in text
    assert UNSUBSCRIBE_URL in text
    assert str(escape(POSTAL_ADDRESS)) in html
    assert f'href="{escape(UNSUBSCRIBE_URL)}"' in html
    assert html.index("Unsubscribe") < html.index("</body>")


def test_a_template_with_its_own_footer_gets_no_second_one(email_channel):
    footer = f"{POSTAL_ADDRESS}\nUnsubscribe: {UNSUBSCRIBE_URL}"
    html = (f"<html><body><p>Hi</p><p>{escape(POSTAL_ADDRESS)}</p>"
            f'<a href="{escape(UNSUBSCRIBE_URL)}">Unsubscribe</a></body></html>')
    text, html_body = bodies(sent(email_channel,
                                  message("email", text=f"Hi\n\n{footer}", html=html)))
    assert text.count(POSTAL_ADDRESS) == 1 and text.count(UNSUBSCRIBE_URL) == 1
    assert html_body.count(str(escape(POSTAL_ADDRESS))) == 1


def test_an_html_only_email_still_carries_the_footer(email_channel):
    email = sent(email_channel, message("email", text=None))
    assert email.get_content_type() == "text/html"
    assert str(escape(POSTAL_ADDRESS)) in email.get_content()


def test_a_transactional_email_has_no_unsubscribe_headers_but_the_postal_address(
        email_channel):
    email = sent(email_channel, message("email", unsubscribe_url=None))
    assert email["List-Unsubscribe"] is None
    assert email["List-Unsubscribe-Post"] is None
    assert POSTAL_ADDRESS in bodies(email)[0]


@pytest.mark.parametrize("url", ["http://shop.example/u/1", "mailto:u@shop.example",
                                 "https://shop.example/u/<1>", "https:///nohost"])
def test_an_unsubscribe_url_unfit_for_one_click_is_refused(email_channel, url):
    with pytest.raises(MessageInvalid, match="unsubscribe URL"):
        email_channel.send(message("email", unsubscribe_url=url))
    assert not email_channel.path_for("m-1").exists()


def test_an_email_without_the_senders_postal_address_is_refused(email_channel):
    with pytest.raises(MessageInvalid, match="ORCHESTRATOR_POSTAL_ADDRESS"):
        email_channel.send(message("email", sender_postal_address=None))


def test_a_message_id_that_is_not_a_dot_atom_gets_a_stable_digest_message_id(email_channel):
    first = sent(email_channel, message("email", "journey:C1:offer"))
    assert first["Message-ID"].startswith("<m") and first["Message-ID"].endswith(
        "@shop.example>")
    other = DryRunEmailChannel(email_channel.outbox_dir / "again", clock=fixed_clock)
    assert sent(other, message("email", "journey:C1:offer"))["Message-ID"] == first[
        "Message-ID"]


def test_non_ascii_subject_and_sender_name_round_trip(tmp_path):
    channel = DryRunEmailChannel(tmp_path, sender="Café Zoë <hello@shop.example>",
                                 clock=fixed_clock)
    email = sent(channel, message("email", subject="Merci, Zoë — à bientôt"))
    assert email["Subject"] == "Merci, Zoë — à bientôt"
    assert email["From"].addresses[0].display_name == "Café Zoë"
    assert channel.path_for("m-1").read_bytes().isascii()


@pytest.mark.parametrize("sender", ["", "not an address", "a@shop.example, b@shop.example",
                                    "hello@shop.example\r\nBcc: x@evil.example"])
def test_a_bad_sender_is_a_configuration_error(tmp_path, sender):
    with pytest.raises(ChannelConfigurationError, match="ORCHESTRATOR_EMAIL_FROM"):
        DryRunEmailChannel(tmp_path, sender=sender)


def test_writes_leave_no_temporary_files(email_channel):
    for number in range(5):
        email_channel.send(message("email", f"m-{number}"))
    assert sorted(path.name for path in email_channel.folder.iterdir()) == [
        f"m-{number}.eml" for number in range(5)]


# Any first name, rendered by the real templates, gives a well-formed email.

TEMPLATES = {
    "email.subject.txt": "Thanks, {{ contact.first_name }}!",
    "email.txt": "Hello {{ contact.first_name }},\nthanks.\n",
    "email.html": "<html><body><p>Hello {{ contact.first_name }},</p></body></html>",
}


@pytest.fixture(scope="module")
def renderer(tmp_path_factory) -> TemplateRenderer:
    folder = tmp_path_factory.mktemp("templates") / "thanks"
    folder.mkdir()
    for name, source in TEMPLATES.items():
        (folder / name).write_text(source, encoding="utf-8")
    return TemplateRenderer(folder.parent)


def _lines(text: str) -> str:
    # A bare CR in a body is a line end on the wire (RFC 5322 allows no other).
    return text.replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first_name=st.text(max_size=40))
def test_any_first_name_gives_a_well_formed_escaped_email(renderer, first_name):
    rendered = renderer.render("thanks", "email", {"contact": {"first_name": first_name}})
    with tempfile.TemporaryDirectory() as outbox:
        channel = DryRunEmailChannel(outbox, clock=fixed_clock)
        email = sent(channel, message("email", subject=rendered.subject, text=rendered.text,
                                      html=rendered.html))
        raw = channel.path_for("m-1").read_bytes()
    assert raw.isascii()
    assert not email.defects
    assert email["To"] == "ada@example.com"  # a name never spills into other headers
    expected_subject = " ".join(f"Thanks, {first_name}!".split())
    assert email["Subject"] == expected_subject
    text, html = bodies(email)
    assert _lines(f"Hello {first_name},") in _lines(text)
    assert _lines(f"<p>Hello {escape(first_name)},</p>") in _lines(html)
